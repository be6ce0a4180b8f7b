import os
import subprocess
import sys


def _run(*args):
    return subprocess.run([sys.executable, "-m", "skeleton_zoo", *args], capture_output=True, text=True, timeout=600)


def test_list_prints_presets_with_parameter_counts():
    result = _run("list", "--layout", "humaneva15")
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.startswith("gast_")}
    assert len(lines) == 8
    assert "7,081,528" in lines["gast_243"] and "243" in lines["gast_243"]
    assert "1,613,196" in lines["gast_9_causal"]


def test_unknown_command_is_a_usage_error():
    result = _run("lsit")
    assert result.returncode != 0
    assert "expected one command out of ['list', 'train', 'evaluate', 'convert', 'export', 'lift', 'classify', " \
           "'benchmark', 'demo'], found ['lsit']" in result.stderr


def test_console_script_runs_every_command():
    import shutil

    script = shutil.which("skeleton-zoo", path=os.path.dirname(sys.executable))
    assert script, "the skeleton-zoo console script is installed beside the interpreter"
    result = subprocess.run([script, "list", "--task", "action_recognition"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    names = [line.split()[0] for line in result.stdout.splitlines() if line.startswith("st_")]
    assert "st_tr_2s_joint" in names and not any(n.startswith("gast") for n in names)
    result = subprocess.run([script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "commands:" in result.stderr and "benchmark" in result.stderr


def test_a_command_prints_only_its_own_lines(tmp_path):
    import numpy as np

    clip = tmp_path / "clip.npz"
    np.savez(clip, keypoints=np.random.default_rng(0).uniform(100, 500, (10, 17, 2)).astype("float32"),
             width=640, height=480)
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run([sys.executable, "-m", "skeleton_zoo", "lift", str(clip), "--model", "gast_9",
                             "--option", "channels=8", "--out", str(tmp_path / "poses.npz")],
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "warning: no --weights: the model is randomly initialised, the poses are meaningless."]
    assert result.stdout.startswith("Lifted 1 person(s) x 10 frames")
