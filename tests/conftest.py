"""Shared test data and helpers. Test files are mirrored by area of the
package (tests/models, tests/weights, ...); `helpers.py` holds the checks
every model family runs (round trip, config completeness)."""

import atexit
import importlib.util
import json
import os
import pathlib
import shutil
import tempfile
import zipfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Tests never read or fill the user's weights cache, nor a site's weights mirror (subprocesses inherit this).
_ZOO_HOME = tempfile.mkdtemp(prefix="skeleton_zoo_home_")
atexit.register(shutil.rmtree, _ZOO_HOME, ignore_errors=True)
os.environ["SKELETON_ZOO_HOME"] = _ZOO_HOME
os.environ.pop("SKELETON_ZOO_WEIGHTS_MIRROR", None)


def _jax_cache_dir(run_pid):
    """The JAX pass's compilation cache of the pytest run whose (controller) process is `run_pid`."""
    return os.path.join(tempfile.gettempdir(), f"skeleton_zoo_jax_{run_pid}")


if os.environ.get("KERAS_BACKEND") == "jax":
    # The JAX pass compiles every new shape of every op once (eager ops, variable initialisers); the tests' models
    # are tiny, so compile time is what they spend. Cheaper XLA code generation halves it; results stay float32-exact
    # within the parity tolerances.
    os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true")
    # And the two pytest-xdist workers build the same shapes: one compilation cache for the run (the workers' parent
    # names it and removes it, see pytest_sessionfinish) saves a fifth of the pass.
    os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", _jax_cache_dir(
        os.getppid() if os.environ.get("PYTEST_XDIST_WORKER") else os.getpid()))
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

FIXTURES = pathlib.Path(__file__).parent / "fixtures"
# The builders' dummy data, found without importing tfds_builders (TFDS is not needed everywhere).
BUILDERS = pathlib.Path(list(importlib.util.find_spec("tfds_builders").submodule_search_locations)[0])
NTU_DUMMY = BUILDERS / "ntu_rgbd" / "dummy_data"
H36M_DUMMY = BUILDERS / "human36m" / "dummy_data"
HUMANEVA_DUMMY = BUILDERS / "humaneva" / "dummy_data"

requires_tensorflow = pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                                         reason="TensorFlow graph behaviour (tf.function)")
# Checks whose subject does not depend on the backend (command lines, file conversion, numpy graph code) run on
# TensorFlow only; the JAX pass (.ci/run) is for the models' numerics.
backend_independent = pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                                         reason="backend-independent; run on TensorFlow")


def load_gast_fixture(name):
    """Returns (config, official state dict, arrays) of tests/fixtures/gast/<name>.npz."""
    data = np.load(FIXTURES / "gast" / f"{name}.npz")
    config = json.loads(str(data["config"]))
    state = {k[len("state/"):]: data[k] for k in data.files if k.startswith("state/")}
    arrays = {k: data[k] for k in data.files if not k.startswith("state/") and k != "config"}
    return config, state, arrays


def gast_fixture_model(config, variant):
    """A `GASTNet` of a GAST fixture's configuration."""
    from skeleton_zoo.models.gast.model import GASTNet

    layout = {17: "h36m17", 15: "humaneva15"}[config["num_joints"]]
    return GASTNet(filter_widths=config["filter_widths"], channels=config["channels"], layout=layout,
                   variant=variant, causal=config["causal"])


def load_sttr_fixture(name):
    """(model args, official state dict, input (N, T, V, M, C), logits) of tests/fixtures/sttr/<name>.npz."""
    data = np.load(FIXTURES / "sttr" / f"{name}.npz")
    args = json.loads(str(data["config"]))["model_args"]
    state = {k[len("state/"):]: data[k] for k in data.files if k.startswith("state/")}
    x = np.transpose(data["input"], (0, 2, 3, 4, 1))  # official (N, C, T, V, M) -> ours
    return args, state, x, data["logits"]


def sttr_fixture_model(args):
    """An `STTR` of an ST-TR fixture's configuration."""
    from skeleton_zoo.models.sttr.model import STTR

    stream = "spatial" if args["attention"] else "temporal"
    layout = {"st_gcn.graph.NTU_RGB_D": "ntu25", "st_gcn.graph.Kinetics": "openpose18"}[args["graph"]]
    return STTR(stream, in_channels=args["channel"], num_classes=args["num_class"],
                num_persons=args["num_person"], backbone=args["backbone_config"],
                concat_original=args["concat_original"], layout=layout,
                double_channel=args["double_channel"], adaptive_graph=args["agcn"])


_EXTRACTED = []


def ntu_skeleton(name: str) -> pathlib.Path:
    """An NTU `.skeleton` file of the ntu_rgbd builder's dummy data: a loose
    file, or one extracted (once per session) from its sample zip."""
    loose = NTU_DUMMY / "nturgb+d_skeletons" / f"{name}.skeleton"
    if loose.exists():
        return loose
    if not _EXTRACTED:
        folder = pathlib.Path(tempfile.mkdtemp(prefix="ntu_skeletons_"))
        atexit.register(shutil.rmtree, folder, True)
        with zipfile.ZipFile(NTU_DUMMY / "nturgbd_skeletons_s017_s019_sample.zip") as archive:
            for member in archive.namelist():
                if member.endswith(".skeleton"):
                    (folder / member.rsplit("/", 1)[-1]).write_bytes(archive.read(member))
        _EXTRACTED.append(folder)
    return _EXTRACTED[0] / f"{name}.skeleton"


def ntu_skeleton_files() -> list:
    """Every NTU sample of the dummy data (5 files), sorted by name."""
    names = [p.stem for p in (NTU_DUMMY / "nturgb+d_skeletons").glob("*.skeleton")]
    with zipfile.ZipFile(NTU_DUMMY / "nturgbd_skeletons_s017_s019_sample.zip") as archive:
        names += [m.rsplit("/", 1)[-1][:-len(".skeleton")] for m in archive.namelist() if m.endswith(".skeleton")]
    return [ntu_skeleton(name) for name in sorted(names)]


@pytest.fixture(scope="session")
def ntu_expected():
    """Official NTU preprocessing outputs, channels-last (N, T, V, M, C)."""
    data = np.load(FIXTURES / "ntu" / "ntu_expected.npz")
    meta = json.loads(str(data["meta"]))
    return {"meta": meta, **{k: np.transpose(data[k], (0, 2, 3, 4, 1)) for k in ("raw", "joints", "bones")}}


@pytest.fixture(scope="session")
def gast_param_counts():
    return json.loads((FIXTURES / "gast" / "gast_param_counts.json").read_text())


@pytest.fixture(scope="session")
def h36m_ntu_data_dir(tmp_path_factory):
    """Human3.6M (gt) and NTU-60 X-Sub built from the builders' dummy data, prepared once."""
    import tensorflow_datasets as tfds

    import tfds_builders  # noqa: F401  (registers the builders)

    folder = tmp_path_factory.mktemp("tfds")
    for name, manual in (("human36m/gt", H36M_DUMMY), ("ntu_rgbd/xsub60", NTU_DUMMY)):
        tfds.builder(name, data_dir=str(folder)).download_and_prepare(
            download_config=tfds.download.DownloadConfig(manual_dir=manual))
    return str(folder)


@pytest.fixture(scope="session")
def pyskl_data_dir(tmp_path_factory):
    """The `pyskl_skeleton` NTU-60 X-Sub dummy datasets (3D and HRNet), prepared once."""
    import tensorflow_datasets as tfds

    import tfds_builders  # noqa: F401  (registers the builders)
    from tfds_builders.pyskl_skeleton import pyskl_skeleton

    folder = tmp_path_factory.mktemp("tfds_pyskl")
    for config in ("ntu60_3d_xsub", "ntu60_hrnet_xsub"):
        tfds.builder(f"pyskl_skeleton/{config}", data_dir=str(folder)).download_and_prepare(
            download_config=tfds.download.DownloadConfig(manual_dir=str(pyskl_skeleton._HERE / "dummy_data")))
    return str(folder)


def pytest_sessionfinish(session):
    """The JAX pass's compilation cache goes with the run that named it (not with a worker)."""
    if os.environ.get("KERAS_BACKEND") == "jax" and not os.environ.get("PYTEST_XDIST_WORKER"):
        shutil.rmtree(_jax_cache_dir(os.getpid()), ignore_errors=True)
