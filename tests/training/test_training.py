"""Training and evaluation: the recipes on tiny datasets (the builders' dummy
data), resuming after a kill, NaN handling, MirroredStrategy equivalence,
multi-worker training and the two command lines."""

import json
import os
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow_datasets as tfds

from skeleton_zoo import registry
from skeleton_zoo.datasets import common as datasets
from skeleton_zoo.datasets import poses
from skeleton_zoo.training import recipes, trainer as training

import tfds_builders  # noqa: F401  (registers the builders)
from conftest import FIXTURES, HUMANEVA_DUMMY

HERE = os.path.dirname(__file__)
SMALL_BACKBONE = [[16, 16, 1], [16, 16, 1], [16, 32, 2]]
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")


def gast_config(out, data_dir, **kwargs):
    defaults = dict(model="gast_9", dataset="human36m/gt", data_dir=data_dir, out=str(out), epochs=3,
                    batch_size=32, downsample=1, options={"channels": 16}, verbose=0)
    return training.TrainConfig(**{**defaults, **kwargs})


def _run(module, *args):
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                          timeout=900, env=ENV)


@pytest.fixture(scope="module")
def data_dir(h36m_ntu_data_dir):
    return h36m_ntu_data_dir


# --- the recipes -------------------------------------------------------------------
def test_gast_trains_evaluates_and_writes_the_run_directory(data_dir, tmp_path):
    result = training.train(gast_config(tmp_path, data_dir))
    losses = [e["loss"] for e in result["history"]]
    assert len(losses) == 3 and losses[-1] < 0.7 * losses[0]
    # lr 1e-3 x0.95 per epoch, logged as used during the epoch
    np.testing.assert_allclose([e["learning_rate"] for e in result["history"]], [1e-3, 9.5e-4, 9.025e-4], rtol=1e-5)
    for name in ("best.weights.h5", "last.weights.h5", "history.csv", "history.json", "metrics.json",
                 "pose_metrics.md", "pose_metrics.csv", "pose_metrics.json"):
        assert (tmp_path / name).exists(), name
    assert any((tmp_path / "logs").rglob("events.out.tfevents.*"))
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert set(metrics) >= {"mpjpe", "p_mpjpe", "n_mpjpe", "mpjve", "per_action"}
    assert 0 < metrics["p_mpjpe"] < metrics["mpjpe"]
    assert "Protocol #1 (MPJPE)" in (tmp_path / "pose_metrics.md").read_text()


def test_a_clip_lifter_trains_on_clips_with_its_recipe_and_evaluates(data_dir, tmp_path):
    """MotionBERT: AdamW, clips of max_frames (stride n / 3), confidence 1 appended to the 2D input."""
    options = {"dim_feat": 16, "dim_rep": 16, "depth": 1, "num_heads": 2, "max_frames": 9}
    config = training.TrainConfig(model="motionbert", dataset="human36m/gt", data_dir=data_dir, out=str(tmp_path),
                                  epochs=2, batch_size=8, options=options, verbose=0)
    result = training.train(config)
    losses = [e["loss"] for e in result["history"]]
    assert len(losses) == 2 and np.isfinite(losses).all() and losses[-1] < losses[0]
    np.testing.assert_allclose([e["learning_rate"] for e in result["history"]], [2e-4, 2e-4 * 0.99], rtol=1e-5)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert 0 < metrics["p_mpjpe"] < metrics["mpjpe"]
    sequences = poses.load_pose_sequences("human36m/gt", "train", data_dir=data_dir)
    batch = next(iter(poses.pose_clips(sequences, 9, 3, batch_size=4, in_features=3, shuffle=False, flip=False)))
    assert batch[0].shape == (4, 9, 17, 3) and batch[1].shape == (4, 9, 17, 3)
    np.testing.assert_array_equal(batch[0].numpy()[..., 2], 1.0)
    np.testing.assert_array_equal(batch[0].numpy()[1, :6, :, :2], batch[0].numpy()[0, 3:, :, :2])  # stride 3
    assert recipes.make_optimizer(registry.get_family("motionbert").recipe, 1e-3).__class__.__name__ == "AdamW"


def test_sttr_trains_with_its_recipe(data_dir, tmp_path):
    config = training.TrainConfig(model="st_tr_temporal_joint", dataset="ntu_rgbd/xsub60", data_dir=data_dir,
                                  out=str(tmp_path), epochs=4, batch_size=2,
                                  options={"backbone": SMALL_BACKBONE}, verbose=0)
    result = training.train(config)
    history = result["history"]
    assert history[-1]["loss"] < history[0]["loss"]
    # lr 0.1, x0.1 at 50% and 75% of the epochs
    np.testing.assert_allclose([e["learning_rate"] for e in history], [0.1, 0.1, 0.01, 0.001], rtol=1e-5)
    assert {"top1", "top5", "val_top1", "val_top5"} <= set(history[0])
    assert set(result["metrics"]) == {"top1", "top5", "streams"}
    assert (tmp_path / "confusion_matrix.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sgd_with_l2_adds_coupled_weight_decay():
    variable = keras.Variable(np.array([1.0, -2.0], np.float32))
    optimizer = recipes.SGDWithL2(learning_rate=0.1, l2=0.5)
    optimizer.apply([keras.ops.convert_to_tensor(np.array([0.2, 0.2], np.float32))], [variable])
    # torch.optim.SGD(weight_decay=0.5): p -= lr * (g + wd * p)
    np.testing.assert_allclose(variable.numpy(), [1.0 - 0.1 * (0.2 + 0.5), -2.0 - 0.1 * (0.2 - 1.0)], rtol=1e-6)
    assert recipes.SGDWithL2.from_config(optimizer.get_config()).l2 == 0.5


def _torch_adamw_groups(params, grads, lrs, wd=0.01, betas=(0.9, 0.999), eps=1e-8):
    """torch.optim.AdamW (amsgrad off), written out: one parameter per group,
    `lrs[step][group]`, `grads[step][group]`."""
    params = [np.asarray(p, np.float64) for p in params]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    for t, (step_grads, step_lrs) in enumerate(zip(grads, lrs), start=1):
        for i, (g, lr) in enumerate(zip(step_grads, step_lrs)):
            params[i] = params[i] * (1 - lr * wd)
            m[i] = betas[0] * m[i] + (1 - betas[0]) * g
            v[i] = betas[1] * v[i] + (1 - betas[1]) * g * g
            denom = np.sqrt(v[i]) / np.sqrt(1 - betas[1] ** t) + eps
            params[i] = params[i] - lr / (1 - betas[0] ** t) * m[i] / denom
    return params


def test_lr_multipliers_give_adamw_torch_parameter_groups():
    with keras.name_scope("backbone"):
        backbone = keras.Variable(np.array([1.0, -2.0, 0.5], np.float32), name="kernel")
    with keras.name_scope("head"):
        head = keras.Variable(np.array([[0.3, -1.5]], np.float32), name="kernel")
    assert (backbone.path, head.path) == ("backbone/kernel", "head/kernel")
    start = [backbone.numpy(), head.numpy()]
    # A schedule, as in training: x0.99 after the first step.
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-4, decay_steps=1, decay_rate=0.99, staircase=True)
    optimizer = recipes.AdamWWithMultipliers(schedule, weight_decay=0.01, epsilon=1e-8, lr_multipliers={"head": 10.0})
    grads = [[np.array([0.2, -0.4, 1.0]), np.array([[-0.7, 0.05]])],
             [np.array([-0.1, 0.3, 0.6]), np.array([[0.2, -0.9]])]]
    for step_grads in grads:
        optimizer.apply([keras.ops.convert_to_tensor(g.astype(np.float32)) for g in step_grads], [backbone, head])
    expected = _torch_adamw_groups(start, grads, [[1e-4, 1e-3], [0.99e-4, 0.99e-3]])
    np.testing.assert_allclose(backbone.numpy(), expected[0], rtol=1e-6)
    np.testing.assert_allclose(head.numpy(), expected[1], rtol=1e-6)

    restored = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert type(restored) is recipes.AdamWWithMultipliers
    assert restored.get_config() == optimizer.get_config()
    assert restored.lr_multipliers == {"head": 10.0} and restored.weight_decay == 0.01


def test_lr_multipliers_reject_unknown_prefixes():
    with keras.name_scope("head"):
        variable = keras.Variable(np.zeros(2, np.float32), name="kernel")
    optimizer = recipes.AdamWWithMultipliers(1e-4, weight_decay=0.01, lr_multipliers={"hea": 10.0})
    with pytest.raises(ValueError, match=r"lr_multipliers prefixes \['hea'\] match no variable path.*head/kernel"):
        optimizer.build([variable])
    with pytest.raises(ValueError, match="lr_multipliers expects .* positive finite factors, found 'head': 0"):
        registry.Recipe(epochs=1, batch_size=1, learning_rate=1e-3, default_dataset="x", lr_multipliers={"head": 0})


def test_motionbert_action_recipe_multiplies_exactly_the_head():
    import skeleton_zoo

    model = skeleton_zoo.load("motionbert_action", depth=1, dim_feat=16, dim_rep=16, num_heads=2, max_frames=16,
                              hidden_dim=16)
    recipe = registry.get_family("motionbert_action").recipe
    assert recipe.learning_rate == 1e-4
    optimizer = recipes.make_optimizer(recipe, recipes.make_schedule(recipe, recipe.learning_rate, 10, 300))
    optimizer.build(model.trainable_variables)
    factors = {v.path: optimizer._lr_factors.get(optimizer._var_key(v), 1.0) for v in model.trainable_variables}
    head = {path for path, factor in factors.items() if factor == 10.0}
    # The official head (ActionHeadClassification): fc1, bn (weight, bias), fc2; the rest is the backbone.
    assert head == {"fc1/kernel", "fc1/bias", "bn/gamma", "bn/beta", "fc2/kernel", "fc2/bias"}
    assert set(factors.values()) == {1.0, 10.0} and len(factors) - len(head) == 58


def test_two_stream_presets_are_trained_per_stream(data_dir, tmp_path):
    config = training.TrainConfig(model="st_tr_2s_joint", dataset="ntu_rgbd/xsub60", data_dir=data_dir,
                                  out=str(tmp_path), verbose=0)
    with pytest.raises(ValueError, match="trained separately.*--weights SPATIAL,TEMPORAL"):
        training.train(config)


# --- resuming and NaN --------------------------------------------------------------------
class _Killed(Exception):
    pass


class _KillAt(keras.callbacks.Callback):
    """Raises like a killed process: after epoch `epoch` ends (its state saved)
    or inside it at `batch`."""

    def __init__(self, epoch, batch=None):
        super().__init__()
        self.kill_epoch, self.kill_batch, self.epochs_run = epoch, batch, []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs_run.append(epoch + 1)
        self._epoch = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        if self.kill_batch is not None and self._epoch == self.kill_epoch and batch + 1 == self.kill_batch:
            raise _Killed()

    def on_epoch_end(self, epoch, logs=None):
        if self.kill_batch is None and epoch + 1 == self.kill_epoch:
            raise _Killed()


def test_rerun_resumes_after_a_kill_with_a_complete_unique_history(data_dir, tmp_path):
    first = _KillAt(epoch=2)
    with pytest.raises(_Killed):
        training.train(gast_config(tmp_path, data_dir, epochs=4, evaluate=False, callbacks=[first]))
    after_first = json.loads((tmp_path / "history.json").read_text())
    assert [e["epoch"] for e in after_first] == [1, 2]
    second = _KillAt(epoch=3, batch=5)  # killed in the middle of epoch 3
    with pytest.raises(_Killed):
        training.train(gast_config(tmp_path, data_dir, epochs=4, evaluate=False, callbacks=[second]))
    assert second.epochs_run == [3]
    third = _KillAt(epoch=99)
    result = training.train(gast_config(tmp_path, data_dir, epochs=4, evaluate=False, callbacks=[third]))
    assert third.epochs_run == [3, 4]
    history = result["history"]
    assert [e["epoch"] for e in history] == [1, 2, 3, 4]
    assert history[:2] == after_first
    rows = (tmp_path / "history.csv").read_text().strip().splitlines()
    assert [row.split(",")[0] for row in rows[1:]] == ["1", "2", "3", "4"]
    # The optimizer resumed too: the learning rate continues the per-epoch decay.
    np.testing.assert_allclose([e["learning_rate"] for e in history], [1e-3 * 0.95 ** k for k in range(4)], rtol=1e-5)


class _PoisonAt(keras.callbacks.Callback):
    """Puts a NaN into the weights when epoch `epoch` starts."""

    def __init__(self, epoch):
        super().__init__()
        self.poison_epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch + 1 == self.poison_epoch:
            kernel = self.model.trainable_weights[0]
            kernel.assign(np.full(kernel.shape, np.nan, np.float32))


def test_nan_loss_stops_with_a_clear_message_and_keeps_the_last_good_epoch(data_dir, tmp_path):
    with pytest.raises(training.NaNLossError, match=r"loss became nan at epoch 2, batch 1.*epoch 1 are kept.*--learning_rate"):
        training.train(gast_config(tmp_path, data_dir, epochs=3, evaluate=False, callbacks=[_PoisonAt(2)]))
    history = json.loads((tmp_path / "history.json").read_text())
    assert [e["epoch"] for e in history] == [1] and np.isfinite(history[0]["loss"])
    model = training.build_training_model(gast_config(tmp_path, data_dir), registry.get_preset("gast_9"),
                                          datasets.dataset_info("human36m/gt", data_dir))
    model.load_weights(tmp_path / "last.weights.h5")
    assert all(np.isfinite(w).all() for w in model.get_weights())
    with pytest.raises(training.NaNLossError, match=r"epoch 1, batch 1.*No epoch had finished"):
        training.train(gast_config(tmp_path / "fresh", data_dir, epochs=2, evaluate=False, callbacks=[_PoisonAt(1)]))


# --- distribution --------------------------------------------------------------------------
@pytest.mark.parametrize("family", ["gast", "sttr"])
def test_one_step_on_two_replicas_equals_one_step_on_one_device(family):
    result = subprocess.run([sys.executable, os.path.join(HERE, "distributed_step.py"), family],
                            capture_output=True, text=True, timeout=600, env=ENV)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["changed"] > 1e-3  # the step did something
    assert report["difference"] < 1e-4


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_multi_worker_training_on_two_local_processes(data_dir, tmp_path):
    workers = [f"localhost:{port}" for port in _free_ports(2)]
    out = tmp_path / "run"
    args = ["-m", "skeleton_zoo.train", "--model", "gast_9", "--dataset", "human36m/gt", "--data_dir", data_dir,
            "--out", str(out), "--epochs", "1", "--steps_per_epoch", "3", "--batch_size", "16", "--downsample", "1",
            "--option", "channels=16", "--strategy", "multi_worker", "--noevaluate"]
    processes = []
    for index in range(2):
        env = dict(ENV, TF_CONFIG=json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}))
        processes.append(subprocess.Popen([sys.executable, *args], env=env, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True))
    outputs = [p.communicate(timeout=600) for p in processes]
    for process, (_, stderr) in zip(processes, outputs):
        assert process.returncode == 0, stderr[-3000:]
    history = json.loads((out / "history.json").read_text())
    assert [e["epoch"] for e in history] == [1] and np.isfinite(history[0]["loss"])
    assert (out / "last.weights.h5").exists()
    assert not [p for p in out.iterdir() if p.name.startswith("worker-")]  # worker 1 cleaned up


# --- command lines ------------------------------------------------------------------------
def test_train_help_lists_every_flag_with_its_default():
    result = _run("skeleton_zoo.train", "--help")  # absl exits 1 after --help
    for flag in ("--model", "--dataset", "--data_dir", "--manual_dir", "--epochs", "--batch_size", "--learning_rate",
                 "--out", "--strategy", "--precision", "--seed", "--downsample", "--lr_decay", "--[no]flip", "--option"):
        assert flag in result.stdout, flag
    assert "(default: 'auto')" in result.stdout and "(default: '5')" in result.stdout


def test_evaluate_command_line_pose_lifting(data_dir, tmp_path):
    # A training run's weights file, untrained: the command's subject is the evaluation, not the weights.
    model = training.build_training_model(gast_config(tmp_path / "run", data_dir), registry.get_preset("gast_9"),
                                          datasets.dataset_info("human36m/gt", data_dir))
    model.save_weights(tmp_path / "best.weights.h5")
    result = _run("skeleton_zoo.evaluate", "--model", "gast_9", "--weights", str(tmp_path / "best.weights.h5"),
                  "--dataset", "human36m/gt", "--data_dir", data_dir, "--downsample", "1", "--option", "channels=16",
                  "--out", str(tmp_path / "eval"))
    assert result.returncode == 0, result.stderr[-3000:]
    table = (tmp_path / "eval" / "pose_metrics.md").read_text()
    assert "Protocol #2 (P-MPJPE)" in table and table.splitlines()[0].rstrip().endswith("| Avg |")
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert metrics["split"] == "test" and metrics["mpjpe"] > 0


def test_evaluate_command_line_two_stream_with_official_checkpoints(data_dir, tmp_path):
    spatial, temporal = (str(FIXTURES / "sttr" / f"sttr_{s}_joint_small.pt") for s in ("spatial", "temporal"))
    backbone = "backbone=[[16,16,1],[16,16,1],[16,16,1],[16,128,2],[128,128,1]]"
    result = _run("skeleton_zoo.evaluate", "--model", "st_tr_2s_joint", "--weights", f"{spatial},{temporal}",
                  "--dataset", "ntu_rgbd/xsub60", "--data_dir", data_dir, "--option", backbone,
                  "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "classification.json").read_text())
    assert set(report["results"]) == {"spatial", "temporal", "fused"}
    assert report["num_samples"] == 2
    assert (tmp_path / "confusion_matrix.png").exists()


def test_humaneva_detections_are_converted_to_15_joints_and_actions_filtered(tmp_path):
    from skeleton_zoo.formats.keypoints import coco17_to_humaneva15

    coco = np.arange(17 * 2, dtype=np.float32).reshape(17, 2)
    converted = coco17_to_humaneva15(coco)
    np.testing.assert_allclose(converted[0], (coco[11] + coco[12]) / 2)  # pelvis: mid-hip
    np.testing.assert_allclose(converted[1], (coco[5] + coco[6]) / 2)  # thorax: mid-shoulder
    np.testing.assert_allclose(converted[[4, 7, 10, 13, 14]], coco[[9, 10, 15, 16, 0]])

    manual = str(HUMANEVA_DUMMY)
    builder = tfds.builder("humaneva/detectron_pt_coco", data_dir=str(tmp_path))
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=manual))
    everything = poses.load_pose_sequences("humaneva/detectron_pt_coco", "validation", builder=builder)
    raw = next(iter(tfds.as_numpy(builder.as_dataset(split="validation"))))["keypoints_2d"]
    assert raw.shape[-2] == 17 and everything.layout.name == "humaneva15"
    assert {x.shape[-2] for x in everything.keypoints_2d} == {15}
    walking = poses.load_pose_sequences("humaneva/detectron_pt_coco", "validation", builder=builder,
                                            actions=("Walk",))
    assert 0 < len(walking.actions) < len(everything.actions)
    assert all(a.startswith("Walk") for a in walking.actions)


# --- runs that exist already, and datasets that do not fit ----------------------------------------
def test_a_finished_run_is_left_alone_continued_or_replaced(data_dir, tmp_path):
    first = training.train(gast_config(tmp_path, data_dir, epochs=1, evaluate=False))
    stamps = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir() if p.is_file()}
    again = training.train(gast_config(tmp_path, data_dir, epochs=1, evaluate=False))
    assert again["status"] == "complete" and "is complete (1 epochs): nothing to do" in again["message"]
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir() if p.is_file()} == stamps
    longer = training.train(gast_config(tmp_path, data_dir, epochs=2, evaluate=False))
    assert [e["epoch"] for e in longer["history"]] == [1, 2] and longer["history"][0] == first["history"][0]
    np.testing.assert_allclose([e["learning_rate"] for e in longer["history"]], [1e-3, 9.5e-4], rtol=1e-5)
    with pytest.raises(ValueError, match=r"holds a run with model 'gast_9'; this run has model 'gast_9_causal'"):
        training.train(gast_config(tmp_path, data_dir, model="gast_9_causal", epochs=3))
    fresh = training.train(gast_config(tmp_path, data_dir, epochs=1, evaluate=False, overwrite=True))
    assert [e["epoch"] for e in fresh["history"]] == [1] and fresh["status"] == "trained"


def test_wrong_or_unknown_datasets_fail_before_a_run_folder_exists(data_dir, tmp_path):
    with pytest.raises(ValueError, match=r"--dataset 'ntu_rgbd/xsub60' is not a pose lifting dataset.*keypoints_2d"):
        training.train(gast_config(tmp_path / "a", data_dir, dataset="ntu_rgbd/xsub60"))
    for typo, close in (("humn36m/gt", "human36m/gt"), ("human36m/cpn", "human36m/cpn_ft_h36m_dbb")):
        with pytest.raises(ValueError, match=rf"--dataset '{typo}': no such dataset\. Did you mean '{close}'"):
            training.train(gast_config(tmp_path / "a", data_dir, dataset=typo))
    assert not (tmp_path / "a").exists()


def test_evaluate_warns_without_weights_and_names_bad_ones(data_dir, tmp_path, capfd):
    from skeleton_zoo.cli import main

    common = ["--dataset", "human36m/gt", "--data_dir", data_dir, "--downsample", "1", "--option", "channels=16"]
    assert main(["sz", "evaluate", "--model", "gast_9", "--out", str(tmp_path / "a"), *common]) == 0
    assert "warning: no --weights: 'gast_9' is randomly initialised" in capfd.readouterr().err
    assert main(["sz", "evaluate", "--model", "gast_9", "--out", str(tmp_path / "a"), *common]) == 1
    assert "metrics.json' exists already; pass --overwrite" in capfd.readouterr().err
    other = tmp_path / "other.weights.h5"
    registry.load("gast_27", channels=8).save_weights(other)
    for weights, problem in ((tmp_path / "missing.weights.h5", "does not exist"), (other, "does not fit")):
        assert main(["sz", "evaluate", "--model", "gast_9", "--weights", str(weights), "--out",
                     str(tmp_path / "b"), *common]) == 1
        errors = [l for l in capfd.readouterr().err.splitlines() if l.startswith("error:")]
        assert len(errors) == 1 and problem in errors[0]


def test_videopose3d_decays_the_batch_norm_momentum_as_run_py():
    """m_e = 0.1 * exp(-e / E * ln(100)); the compiled step is rebuilt so the new momentum is used."""
    from skeleton_zoo.training.callbacks import BatchNormMomentumDecay

    assert registry.get_family("videopose3d").recipe.bn_momentum_decay == (0.1, 0.001)
    decay = BatchNormMomentumDecay(0.1, 0.001, 4)
    np.testing.assert_allclose([decay.momentum(e) for e in range(5)], [0.1, 0.1 * 100 ** -0.25, 0.01,
                                                                        0.1 * 100 ** -0.75, 0.001])
    bn = keras.layers.BatchNormalization(momentum=0.9)
    model = keras.Sequential([keras.Input((2,)), bn])
    model.compile(optimizer="sgd", loss="mse")
    seen = []

    class Probe(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append((bn.momentum, float(keras.ops.convert_to_numpy(bn.moving_mean)[0])))

    x = np.full((4, 2), 10.0, "float32")
    model.fit(x, x, epochs=2, batch_size=4, verbose=0, shuffle=False, callbacks=[decay, Probe()])
    assert [m for m, _ in seen] == pytest.approx([1 - 0.1, 1 - 0.1 * 100 ** -0.25])
    # moving mean after epoch 1: 0.1 * 10 = 1; after epoch 2 with torch momentum m_1: 1 + m_1 * (10 - 1)
    np.testing.assert_allclose([v for _, v in seen], [1.0, 1.0 + 0.1 * 100 ** -0.25 * 9], rtol=1e-5)
