import json
import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

FIXTURES = pathlib.Path(__file__).parent / "fixtures"


def load_gast_fixture(name):
    """Returns (config, official state dict, arrays) of tests/fixtures/gast/<name>.npz."""
    data = np.load(FIXTURES / "gast" / f"{name}.npz")
    config = json.loads(str(data["config"]))
    state = {k[len("state/"):]: data[k] for k in data.files if k.startswith("state/")}
    arrays = {k: data[k] for k in data.files if not k.startswith("state/") and k != "config"}
    return config, state, arrays


@pytest.fixture(scope="session")
def gast_param_counts():
    return json.loads((FIXTURES / "gast" / "gast_param_counts.json").read_text())
