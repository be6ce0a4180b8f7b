"""The command lines: one module per command, one dispatcher.

    skeleton-zoo <command> [flags]           (the console script)
    python -m skeleton_zoo <command> [flags]
    python -m skeleton_zoo.<command> [flags] (train, evaluate, convert, lift, classify, benchmark)
    python -m export [flags]                 (the export command)

Every command defines its flags when it runs (`define_flags`) and returns
its exit status from `main(argv)`; `common.run_command` reports errors.
"""

from __future__ import annotations

import sys

from skeleton_zoo.cli.common import COMMANDS, run_command

__all__ = ["main", "run_command", "exit_with", "COMMANDS", "usage"]


def usage(program: str = "python -m skeleton_zoo") -> str:
    width = max(map(len, COMMANDS))
    lines = [f"usage: {program} <command> [--flags]   ({program} <command> --help for its flags)", "",
             "commands:"]
    lines += [f"  {name.ljust(width)}  {text}" for name, (_, text) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv=None) -> int:
    """`python -m skeleton_zoo <command> ...` / `skeleton-zoo <command> ...`."""
    argv = list(sys.argv if argv is None else argv)
    args = argv[1:]
    words = [a for a in args if not a.startswith("-")]
    name = next((w for w in words if w in COMMANDS), None)
    if name is None:
        if args and all(a in ("-h", "--help", "-?", "--helpfull") for a in args):
            print(usage())
            return 0
        print(usage(), file=sys.stderr)
        print(f"\nerror: expected one command out of {list(COMMANDS)}, found {words or 'none'}.",
              file=sys.stderr)
        return 1
    rest = list(args)
    rest.remove(name)
    return run_command(name, [argv[0], *rest])


def exit_with(name: str) -> None:
    """Runs command `name` with `sys.argv` and exits with its status (the
    `python -m skeleton_zoo.<command>` modules)."""
    sys.exit(run_command(name))
