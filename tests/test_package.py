"""Package-wide rules: pipelines ask the task, never the family; importing
the package is cheap; commands are reachable every documented way."""

import pathlib
import re
import subprocess
import sys

import skeleton_zoo

ROOT = pathlib.Path(skeleton_zoo.__file__).parent.parent
# A family name compared or looked up as a literal, or a family's attributes asked for.
FAMILY_CHECK = re.compile(r"""family\s*(==|!=|in)\s*[("'\[]|["']\s*(==|!=)\s*[\w.]*family\b|get_family\(\s*["']"""
                          r"""|(spatial|temporal)_stream\b""")
# A family's modules imported anywhere but the public API and the registry's list of built-ins.
FAMILY_MODULES = re.compile(r"""^\s*(from|import)\s+skeleton_zoo\.models\.(gast|sttr)\b|["']skeleton_zoo\.models\.(gast|sttr)""")
API = ("skeleton_zoo/__init__.py", "skeleton_zoo/registry.py")


def test_no_module_outside_models_compares_a_family_name():
    offenders = []
    sources = [*(ROOT / "skeleton_zoo").rglob("*.py"), *(ROOT / "export").rglob("*.py"),
               *(ROOT / "tfds_builders").rglob("*.py")]
    for path in sources:
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith("skeleton_zoo/models/"):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if FAMILY_CHECK.search(line) or (FAMILY_MODULES.search(line) and relative not in API):
                offenders.append(f"{relative}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_the_family_check_finds_what_it_looks_for():
    for line in ('if preset.family == "gast":', 'if "sttr" == family:', 'registry.get_family("gast")',
                 'model.spatial_stream(x)', "from skeleton_zoo.models.gast import GASTNet"):
        assert FAMILY_CHECK.search(line) or FAMILY_MODULES.search(line), line
    for line in ('if fmt == "gast" or fmt is None:', "if family == 0x19:", "other.family == preset.family"):
        assert not FAMILY_CHECK.search(line), line


def test_import_defers_frameworks():
    code = "import sys, skeleton_zoo; print(sorted(m for m in ('keras', 'tensorflow', 'jax') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_keras_classes_register_when_keras_is_imported_after_the_package(tmp_path):
    path = tmp_path / "g.keras"
    skeleton_zoo.load("gast_9", channels=8).save(path)
    code = (f"import skeleton_zoo, keras\nm = keras.models.load_model({str(path)!r})\n"
            "print(type(m).__name__)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "GASTNet"


def test_every_command_is_reachable_three_ways():
    from skeleton_zoo.cli import COMMANDS

    for command in COMMANDS:
        for args in (["-m", "skeleton_zoo", command, "--help"],
                     ["-m", f"skeleton_zoo.{command}", "--help"] if command not in ("list", "demo", "export") else None,
                     ["-m", "export", "--help"] if command == "export" else None):
            if args is None:
                continue
            result = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=120)
            assert "--" in result.stdout and "Traceback" not in result.stderr, (args, result.stderr[-1000:])


def test_list_and_every_help_answer_without_the_frameworks():
    """Startup: `list` and each command's --help never import TensorFlow, Keras or JAX (each would
    cost seconds); here they cannot be imported at all."""
    from skeleton_zoo.cli import COMMANDS

    blocked = "import sys\nfor m in ('tensorflow', 'keras', 'jax'): sys.modules[m] = None\n"
    for args in (["list"], ["--help"], *([command, "--help"] for command in COMMANDS)):
        code = blocked + f"from skeleton_zoo.cli import main\nsys.exit(main(['skeleton_zoo', *{args!r}]))"
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0 and "Traceback" not in result.stderr, (args, result.stderr[-1500:])
        assert result.stdout.strip(), args


def test_command_modules_import_side_by_side_without_defining_flags():
    code = ("import importlib\nfrom absl import flags\nfrom skeleton_zoo.cli import COMMANDS\n"
            "before = set(flags.FLAGS)\n"
            "for module, _ in COMMANDS.values(): importlib.import_module(module)\n"
            "print(sorted(set(flags.FLAGS) - before))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"
