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
    assert "expected one command out of ['list', 'demo'], found ['lsit']" in result.stderr
