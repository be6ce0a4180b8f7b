"""What a task provides to the pipelines (training, evaluation, export,
benchmark, inference): everything that is the same for every model of the
task, written once. Pipelines look a preset's task up with `get_task` and
call these methods; they never ask for a family.

A model of a task has the task's attributes (`Task.required_attributes`),
e.g. a pose lifter has `layout`, `receptive_field` and `causal`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from skeleton_zoo.registry import Recipe

__all__ = ["Task", "TrainingData", "EvaluationOptions"]


@dataclasses.dataclass
class TrainingData:
    """The task's data for one training run.

    Attributes:
        train, validation: `tf.data.Dataset`s of (input, target) batches.
        num_train: training samples per epoch.
        evaluation: what `evaluate_trained` needs (e.g. whole test sequences).
    """

    train: Any
    validation: Any
    num_train: int
    evaluation: Any


@dataclasses.dataclass
class EvaluationOptions:
    """Options of `python -m skeleton_zoo evaluate` (each task uses its own).

    Attributes:
        split: the split to evaluate; None: "test" (or "validation" when the
            dataset has no test split).
        downsample, actions, flip: pose lifting (every n-th frame; action
            prefixes to keep; test-time flip averaging).
        batch_size: action recognition: clips per batch.
        skip_empty_persons: action recognition: run all-zero (padding)
            persons once per clip length (`inference.empty_persons`).
    """

    split: str | None = None
    downsample: int = 1
    actions: tuple | None = None
    flip: bool = True
    batch_size: int = 16
    skip_empty_persons: bool = True


class Task:
    """Base class of the tasks; see `PoseLifting` and `ActionRecognition`.

    Attributes:
        name: "pose_lifting" or "action_recognition".
        default_recipe: the training recipe of families that declare none.
        monitor, monitor_mode: the validation quantity that picks the best
            checkpoint, and "min" or "max".
        required_attributes: what every model of the task exposes.
        input_name, output_names: the exported entry point's tensors.
        dataset_features: the TFDS features a dataset of the task has;
            example_datasets: some of the zoo's datasets of the task.
        benchmark_measurements: the benchmark's inference measurements.
        benchmark_trains: the benchmark also times a training step.
    """

    name: str = ""
    default_recipe: Recipe
    monitor: str = "val_loss"
    monitor_mode: str = "min"
    required_attributes: tuple[str, ...] = ()
    input_name: str = ""
    output_names: tuple[str, ...] = ()
    dataset_features: tuple[str, ...] = ()
    example_datasets: tuple[str, ...] = ()
    benchmark_measurements: tuple[str, ...] = ()
    benchmark_trains: bool = False

    def check_model(self, model, where: str = "model") -> None:
        """Raises TypeError naming the task attributes `model` lacks."""
        missing = [a for a in self.required_attributes if not hasattr(model, a)]
        if missing:
            raise TypeError(f"{where} '{getattr(model, 'name', model)}' is not a {self.name} model: it lacks "
                            f"{missing} (every {self.name} model has {list(self.required_attributes)}).")

    def check_dataset(self, builder, name: str) -> None:
        """Raises ValueError unless the TFDS dataset `name` has the task's features."""
        features = sorted(builder.info.features.keys())
        missing = [f for f in self.dataset_features if f not in features]
        if missing:
            raise ValueError(f"--dataset '{name}' is not a {self.name.replace('_', ' ')} dataset: the models of the "
                             f"task need its features {list(self.dataset_features)}, it has {features}. "
                             f"Datasets of the task: {', '.join(self.example_datasets)}.")

    def describe(self, model) -> dict:
        """A few words about a built model, for command-line summaries."""
        raise NotImplementedError

    def build(self, preset, weights=None, options=None, builder=None, training: bool = False):
        """The preset as it runs on `builder`'s dataset (skeleton layout,
        classes from the data), with `weights` and preset `options`."""
        raise NotImplementedError

    def training_data(self, model, config, builder, batch_size: int) -> TrainingData:
        raise NotImplementedError

    def loss(self, recipe=None):
        """The training loss (a `keras.losses.Loss`), with the recipe's extra terms."""
        raise NotImplementedError

    def metrics(self) -> list:
        """The metrics logged during training (names become history keys)."""
        return []

    def compile(self, model, optimizer, recipe=None) -> None:
        """Compiles `model` with the task's loss (for `recipe`) and metrics."""
        model.compile(optimizer=optimizer, loss=self.loss(recipe), metrics=self.metrics())

    def evaluate_trained(self, model, data: TrainingData, builder, out: str) -> dict:
        """The paper's evaluation at the end of training."""
        raise NotImplementedError

    def evaluate(self, model, preset, dataset: str, builder, options: EvaluationOptions, out: str) -> dict:
        """The paper's evaluation of `model` on `dataset` (see `EvaluationOptions`)."""
        raise NotImplementedError

    def export_specs(self, preset, weights=None, variants=None, frames=None, options=None) -> list:
        """`export.common.ExportSpec`s of the preset's exported entry points."""
        raise NotImplementedError

    def export_outputs(self, spec, y) -> dict:
        """The named outputs of an exported entry point from the model output `y`."""
        raise NotImplementedError

    def benchmark_spec_options(self, sizes: dict, preset) -> dict:
        """`export.common.build_specs` options of the benchmark's specs of `preset`."""
        return {}

    def benchmark_measurements_for(self, preset) -> tuple[str, ...]:
        """The inference measurements of `preset` (default: the task's)."""
        return self.benchmark_measurements

    def benchmark_jobs(self, specs, sizes: dict, rng) -> list:
        """The timed calls: [(measurement, spec, input array, work per call,
        outputs per call)] (work: frames or clips; a latency: 1)."""
        raise NotImplementedError

    def random_targets(self, model, batch: int, rng):
        """Random training targets of `batch` samples, for a timed training step."""
        raise NotImplementedError

    def recipe(self, preset) -> Recipe:
        """The preset's family recipe, or the task's default."""
        from skeleton_zoo import registry

        return registry.get_family(preset.family).recipe or self.default_recipe

    def options_for(self, preset, options: dict, defaults: dict) -> dict:
        """`options` plus those `defaults` the preset's family accepts (an
        ensemble: any of its streams)."""
        from skeleton_zoo import registry

        presets = [registry.get_preset(p) for p in preset.streams.values()] or [preset]
        accepted = set().union(*(registry.get_family(p.family).overrides for p in presets))
        return {**{k: v for k, v in defaults.items() if k in accepted and v is not None}, **options}
