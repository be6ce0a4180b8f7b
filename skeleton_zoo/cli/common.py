"""What every command shares: its flags are defined when it runs (never on
import, so command modules import side by side), the shared flags are
defined here once, and `run_command` is the one place that turns the
package's errors into `error: ...` on stderr and an exit status:

- 0: success (and `--help`);
- 1: a bad model, option, weights file or output (and absl usage errors);
- 2: a bad input file (keypoints, clips) or a training run whose loss became NaN.

`--verbosity 1` prints the traceback too. TensorFlow's native start-up lines
(oneDNN, CUDA probing), which its log level cannot silence, are dropped, so
a command's output is its own. Commands can run one after another in one
process (their flags are redefined each time).
"""

from __future__ import annotations

import importlib
import os
import re
import sys
import tempfile
import traceback

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # hide CUDA-probe noise on CPU machines

from absl import app, flags, logging

__all__ = ["FLAGS", "COMMANDS", "run_command", "start", "parse_options", "define_model_flags",
           "define_dataset_flags", "define_option_flag", "define_overwrite_flag", "preset_weights",
           "check_output_files", "check_output_folder", "import_quietly"]

FLAGS = flags.FLAGS

# command -> (module, one line)
COMMANDS = {
    "list": ("skeleton_zoo.cli.listing", "the presets, from their declared data"),
    "train": ("skeleton_zoo.cli.train", "train a preset with its paper's recipe"),
    "evaluate": ("skeleton_zoo.cli.evaluate", "evaluate a preset the way its paper does"),
    "convert": ("skeleton_zoo.cli.convert", "official PyTorch checkpoint -> Keras weights"),
    "export": ("skeleton_zoo.cli.export", "SavedModel / ONNX / TFLite, verified"),
    "lift": ("skeleton_zoo.cli.lift", "2D keypoint file -> 3D poses"),
    "classify": ("skeleton_zoo.cli.classify", "skeleton clips -> action classes"),
    "benchmark": ("skeleton_zoo.cli.benchmark", "speed against the hardware peak and the originals"),
    "demo": ("skeleton_zoo.cli.demo", "the offline pose-lifting demo"),
}


HELP_FLAGS = ("-h", "-?", "--help", "--helpshort", "--helpfull", "--helpxml")
# TensorFlow's native start-up lines, printed before its logging is set up.
_STARTUP_NOISE = re.compile(r"^(WARNING: All log messages before absl::InitializeLog\(\) is called"
                            r"|[IWE]\d{4} [\d:. ]+\d+ (port|cudart_stub|cpu_feature_guard|cuda_\w+)\.cc:\d+\]"
                            r"|To enable the following instructions:)")
_command_flags: set = set()


def import_quietly(module: str) -> None:
    """Imports `module` (e.g. "keras", which imports TensorFlow) with the
    native start-up lines dropped from stderr; anything else is kept."""
    if module in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            importlib.import_module(module)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            lines = capture.read().decode(errors="replace").splitlines()
            for line in lines:
                if not _STARTUP_NOISE.search(line):
                    print(line, file=sys.stderr)


def _error_classes() -> tuple[tuple, tuple]:
    """(exit-2 errors, exit-1 errors), imported when an error happens."""
    from skeleton_zoo.formats.clip_files import InputFileError
    from skeleton_zoo.formats.keypoint_files import InputError

    status_2 = (InputError, InputFileError)
    if "skeleton_zoo.training.trainer" in sys.modules:
        status_2 += (sys.modules["skeleton_zoo.training.trainer"].NaNLossError,)
    return status_2, (ValueError, TypeError, OSError, RuntimeError)


def _guarded(main):
    def run(argv):
        try:
            return main(argv) or 0
        except app.UsageError:
            raise
        except Exception as error:  # noqa: BLE001 (sorted below; anything else keeps its traceback)
            status_2, status_1 = _error_classes()
            if not isinstance(error, status_2 + status_1):
                raise
            if FLAGS["verbosity"].value >= 1:
                traceback.print_exc()
            print(f"error: {error}", file=sys.stderr)
            return 2 if isinstance(error, status_2) else 1

    return run


def run_command(name: str, argv=None) -> int:
    """Defines the flags of command `name` and runs it (absl parses `argv`,
    default `sys.argv`, whose first entry is the program)."""
    module = importlib.import_module(COMMANDS[name][0])
    argv = list(sys.argv if argv is None else argv)
    for flag in _command_flags & set(FLAGS):  # a previous command of this process
        delattr(FLAGS, flag)
    FLAGS.unparse_flags()
    before = set(FLAGS)
    module.define_flags()
    _command_flags.clear()
    _command_flags.update(set(FLAGS) - before)
    for flag in _command_flags:  # `--help` lists the command's flags
        FLAGS.register_key_flag_for_module(sys.argv[0], FLAGS[flag])
    main_module = sys.modules.get("__main__")
    if main_module is not None and module.__doc__:
        main_module.__doc__ = module.__doc__  # absl's usage text
    if name != "list" and not any(a in HELP_FLAGS for a in argv):
        import_quietly("keras")
    try:
        app.run(_guarded(module.main), argv=argv)
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        return 0 if code == 1 and any(a in HELP_FLAGS for a in argv[1:]) else code  # help is success
    return 0


# --- shared flags -------------------------------------------------------------------------
def define_model_flags(default: str | None = None, model_help: str = "Preset (python -m skeleton_zoo list).",
                       weights_help: str = "Weights: a tag of the preset (python -m skeleton_zoo list; "
                                           "'official': its first), downloaded once and cached; or official "
                                           ".bin/.pt/.pth, .weights.h5 or .keras; ensemble presets take one "
                                           "file per stream, comma-separated (e.g. SPATIAL,TEMPORAL). Default: "
                                           "random initialisation.") -> None:
    """--model (required unless `default`), --weights, --option."""
    flags.DEFINE_string("model", default, model_help)
    flags.DEFINE_string("weights", None, weights_help)
    define_option_flag()
    if default is None:
        flags.mark_flag_as_required("model")


def define_option_flag() -> None:
    flags.DEFINE_multi_string("option", [], "Preset option KEY=VALUE (Python literal), e.g. channels=16, "
                                            "num_classes=120. Repeatable.")


def define_dataset_flags(downsample_help: str) -> None:
    """--dataset, --data_dir, --manual_dir, --out, --downsample, --actions."""
    flags.DEFINE_string("dataset", None, "TFDS name, e.g. human36m/cpn_ft_h36m_dbb, humaneva/gt, "
                                         "ntu_rgbd/xsub60.")
    flags.DEFINE_string("data_dir", None, "TFDS data directory (default: TFDS's, ~/tensorflow_datasets).")
    flags.DEFINE_string("manual_dir", None, "Folder with the downloaded raw files, for a dataset not yet "
                                            "prepared.")
    flags.DEFINE_string("out", None, "Output directory. Default: runs/<model> (evaluate: runs/eval-<model>).")
    flags.DEFINE_integer("downsample", 5, downsample_help)
    flags.DEFINE_list("actions", None, "Pose lifting: only actions starting with these prefixes, e.g. "
                                       "Walk,Jog,Box (the papers' HumanEva-I protocol). Default: all.")


def parse_options() -> dict:
    """The --option flags as preset overrides; a malformed one is a usage error."""
    from skeleton_zoo.registry import parse_overrides

    try:
        return parse_overrides(FLAGS.option)
    except ValueError as error:
        raise app.UsageError(str(error))


def start(argv, positional: bool = False) -> dict:
    """Checks the arguments (only flags unless `positional`), quiets INFO
    logs (TFDS logs every file it opens) unless --verbosity was set, and
    returns the parsed --option overrides."""
    if not positional and len(argv) > 1:
        raise app.UsageError(f"unexpected arguments {argv[1:]}; everything is a --flag.")
    if not FLAGS["verbosity"].present:
        logging.set_verbosity(logging.WARNING)
    return parse_options() if "option" in FLAGS else {}


def preset_weights(name: str, weights: str | None):
    """(preset, weights) for --model and --weights: unknown presets list the
    valid ones, ensembles take one file per stream."""
    from skeleton_zoo import registry
    from skeleton_zoo.weights import parse_weights_argument

    preset = registry.get_preset(name)
    return preset, parse_weights_argument(preset, weights)


def define_overwrite_flag(what: str = "output") -> None:
    flags.DEFINE_bool("overwrite", False, f"Replace an existing {what} (default: refuse, and write nothing).")


def _writable_ancestor(flag: str, path: str) -> None:
    """The nearest existing folder above `path` is a folder we may write in."""
    ancestor = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(ancestor):
        ancestor = os.path.dirname(ancestor)
    if not os.path.isdir(ancestor):
        raise ValueError(f"{flag} '{path}': '{ancestor}' is a file, not a folder.")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ValueError(f"{flag} '{path}': no permission to write in '{ancestor}'.")


def check_output_files(overwrite: bool = False, **paths) -> None:
    """Before any work: every output file (`flag=path`, None skipped) can be
    written, and none exists unless `overwrite`; `--out` style flags are
    given with their dashes replaced, e.g. `check_output_files(out=...)`."""
    for name, path in paths.items():
        if path is None:
            continue
        flag = f"--{name}"
        if os.path.isdir(path):
            raise ValueError(f"{flag} '{path}' is a folder; expected a file name.")
        if os.path.exists(path) and not overwrite:
            raise FileExistsError(f"{flag} '{path}' exists already; pass --overwrite to replace it.")
        _writable_ancestor(flag, path)


def check_output_folder(flag: str, path: str) -> None:
    """Before any work: `path` is (or can become) a folder we may write in."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"{flag} '{path}' is a file; expected a folder.")
    target = path if os.path.isdir(path) else os.path.join(path, "x")
    _writable_ancestor(flag, target)
