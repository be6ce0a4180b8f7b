"""The registry: every model family and named preset of the zoo, and `load`.

A model family (GAST-Net, ST-TR, a plug-in of yours) is a folder with its
layers, model, official-weight key rules and presets, plus one registration:

    from skeleton_zoo import registry

    registry.register_family(registry.Family(
        name="mylifter", title="My lifter", task="pose_lifting",
        build="mypackage.model:build",          # build(preset, **overrides) -> keras.Model
        overrides=("layout", "dropout")),
        presets=[registry.Preset(
            name="mylifter_27", family="mylifter", description="...", config={"frames": 27},
            layout="h36m17", parameters={"h36m17": 123_456}, receptive_field=27)])

Everything a preset says about itself is declared data (task, layout,
receptive field or clip length, parameter counts, official weights, the
paper's results), so listing the zoo builds no model and imports no
framework. `load(name, ...)` is the one entry point that builds one.

Families are found without importing them by hand: the built-in ones
(`skeleton_zoo.models`), packages that declare an entry point in the group
`skeleton_zoo.families`, and the modules named in the environment variable
`SKELETON_ZOO_PLUGINS` (comma-separated, e.g. "mypackage.zoo_family"), so the
command lines (`python -m skeleton_zoo train ...`) see plug-ins too.

Ensemble presets (ST-TR's 2s-ST-TR, the multi-stream models of PYSKL) name
their stream presets in `streams`; `load` builds each stream with its own
family and fuses them with `skeleton_zoo.tasks.ensemble.Ensemble`.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import os
from typing import Any, Callable, Iterable, Mapping

__all__ = ["Family", "Preset", "Recipe", "OfficialWeights", "PaperResult", "register_family",
           "register_preset", "get_preset", "get_family", "preset_names", "list_models", "load",
           "parse_overrides", "resolve", "PLUGINS_VARIABLE", "ENTRY_POINT_GROUP"]

BUILTIN_FAMILIES = ("skeleton_zoo.models.gast", "skeleton_zoo.models.sttr", "skeleton_zoo.models.videopose3d",
                    "skeleton_zoo.models.motionbert", "skeleton_zoo.models.motionagformer",
                    "skeleton_zoo.models.tcpformer", "skeleton_zoo.models.pyskl", "skeleton_zoo.models.motionbert_action")
PLUGINS_VARIABLE = "SKELETON_ZOO_PLUGINS"
ENTRY_POINT_GROUP = "skeleton_zoo.families"


def resolve(target):
    """A callable, or "module:attribute" imported on first use (so that
    registrations stay free of framework imports)."""
    if not isinstance(target, str):
        return target
    module, sep, attribute = target.partition(":")
    if not sep:
        raise ValueError(f"expected 'module:attribute', found {target!r}.")
    value = importlib.import_module(module)
    for part in attribute.split("."):
        value = getattr(value, part)
    return value


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A family's published training procedure: the defaults of
    `python -m skeleton_zoo train` (see `skeleton_zoo.training.recipes`).

    Attributes:
        epochs: int. batch_size: int (global). learning_rate: float (initial).
        default_dataset: TFDS name used when `--dataset` is not given.
        optimizer: "adam" (amsgrad, as VideoPose3D / GAST-Net), "adamw"
            (decoupled weight decay, as MotionBERT) or "sgd_nesterov"
            (momentum, PyTorch-style coupled L2 weight decay).
        schedule: "exponential" (x `lr_decay` per epoch), "steps" (x0.1 at
            each fraction of the epochs in `lr_drops`) or "cosine" (per step,
            to 0).
        lr_decay: float, per-epoch factor of the exponential schedule.
        lr_drops: fractions of the epochs where the step schedule drops.
        momentum: SGD momentum. weight_decay: SGD's L2 or AdamW's decay.
        model_options: preset options applied for training unless given,
            e.g. {"dropout": 0.05}.
        bn_momentum_decay: (initial, final) torch BatchNorm momenta of
            VideoPose3D's exponential decay over the run, or None (fixed).
        loss_weights: extra loss terms of the task's loss, e.g. MotionBERT's
            {"scale": 0.5, "velocity": 20.0}; empty: the task's plain loss.
        lr_multipliers: variable-path prefix (whole components, e.g. "fc1"
            for "fc1/kernel") -> factor on the learning rate and on AdamW's
            decoupled weight decay of those variables: torch's parameter
            groups, e.g. {"head": 10.0}; empty: one rate.
    """

    epochs: int
    batch_size: int
    learning_rate: float
    default_dataset: str
    optimizer: str = "adam"
    schedule: str = "exponential"
    lr_decay: float = 1.0
    lr_drops: tuple = ()
    momentum: float = 0.9
    weight_decay: float = 0.0
    model_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    bn_momentum_decay: tuple | None = None
    loss_weights: Mapping[str, float] = dataclasses.field(default_factory=dict)
    lr_multipliers: Mapping[str, float] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        for prefix, factor in dict(self.lr_multipliers).items():
            if not isinstance(prefix, str) or not prefix.strip("/") or isinstance(factor, bool) \
                    or not isinstance(factor, (int, float)) or not 0 < factor < float("inf"):
                raise ValueError(f"Recipe: lr_multipliers expects non-empty variable-path prefixes -> positive "
                                 f"finite factors, found {prefix!r}: {factor!r}.")


@dataclasses.dataclass(frozen=True)
class OfficialWeights:
    """A weights file the paper's authors publish for a preset: one entry of
    the weights catalogue (`load(name, weights=TAG)` downloads, verifies,
    converts and caches it; see `skeleton_zoo.weights.hub`).

    Attributes:
        file: the file name as published, unique within the family (the
            cache and `$SKELETON_ZOO_WEIGHTS_MIRROR` use it), e.g.
            "27_frame_model.bin" or "stgcnpp_ntu60_xsub_3dkp/j.pth".
        url: where the authors host it: a direct download, a Google Drive
            file, "hf://org/repo/path" (Hugging Face), or a folder share
            (OneDrive, a Drive folder) that only a browser can fetch.
        dataset: what it was trained on, e.g. "Human3.6M (CPN 2D)".
        note: how to load it by hand, when it needs more than the preset
            name, e.g. "layout='h36m19'" or "weights={'spatial': FILE, ...}".
        tag: the name of this file for `load(name, weights=TAG)`, e.g.
            "h36m_cpn" or "ntu60_xsub"; "" leaves it out of the catalogue.
            Ensembles: one entry per stream under the same tag.
        stream: ensembles only: the stream this file fills.
        options: `load` options the file needs, applied with the tag (a
            contradicting option is an error), e.g. {"num_classes": 120}.
        mirrors: other URLs publishing the same file, tried in order.
        sha256: the file's SHA-256 (hex), where it is known beforehand.
        git_blob_sha1: the file's git object id in the authors' repository
            (SHA-1 of b"blob <size>\\0" + content), where it lives in git.
        metric: the published result of these weights, e.g. "top-1 89.9 %".
        licence: the licence the weights are released under.
    """

    file: str
    url: str
    dataset: str = ""
    note: str = ""
    tag: str = ""
    stream: str = ""
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    mirrors: tuple[str, ...] = ()
    sha256: str = ""
    git_blob_sha1: str = ""
    metric: str = ""
    licence: str = ""


@dataclasses.dataclass(frozen=True)
class PaperResult:
    """A result the paper reports for a preset's configuration.

    Attributes:
        dataset: e.g. "Human3.6M, CPN 2D" or "NTU RGB+D 60 X-Sub".
        metric: e.g. "MPJPE (P1)" or "top-1".
        value: float. unit: e.g. "mm" or "%".
    """

    dataset: str
    metric: str
    value: float
    unit: str


@dataclasses.dataclass(frozen=True)
class Family:
    """How to build and fill the models of one family.

    Attributes:
        name: family id, e.g. "gast".
        title: e.g. "GAST-Net".
        task: "pose_lifting" or "action_recognition": which pipelines apply.
        build: `build(preset, **overrides) -> keras.Model`, or "module:attr".
        overrides: keyword arguments `load` accepts for this family.
        official_rules: `official_rules(model) -> list[skeleton_zoo.weights.state_dict.Rule]`
            (or "module:attr"): the official PyTorch keys every variable is made
            from. None: no official checkpoints.
        ignored_official_keys: predicate (or "module:attr") for official keys
            that are accepted and dropped.
        recipe: the published training recipe; None: the task's default.
        variants: pose lifting: the model variants the family builds
            (`load(..., variant=...)`), e.g. ("sequence", "single_frame").
        keras_modules: modules whose import registers the family's Keras
            classes (imported before a `.keras` file is read).
        keypoint_normalization: pose lifting: how `lift` normalises detector
            pixels by default, as the family's in-the-wild code: "screen"
            (x / w * 2 - [1, h / w]), "crop" (MotionBERT's box around the
            body) or "pixel" (MotionBERT's `--pixel`).
    """

    name: str
    title: str
    task: str
    build: Callable | str
    overrides: tuple[str, ...] = ()
    official_rules: Callable | str | None = None
    ignored_official_keys: Callable | str | None = None
    recipe: Recipe | None = None
    variants: tuple[str, ...] = ()
    keras_modules: tuple[str, ...] = ()
    keypoint_normalization: str = "screen"


@dataclasses.dataclass(frozen=True)
class Preset:
    """A named model configuration, with everything known about it as data.

    Attributes:
        name: preset id, e.g. "gast_243".
        family: family id.
        description: one line for listings.
        config: keyword arguments of the family's model (empty for ensembles).
        layout: the skeleton layout it is built for by default.
        parameters: trainable parameters per layout name (declared; a test
            checks them against the built models).
        receptive_field: pose lifting: input frames per output frame.
        clip_frames: action recognition: the clip length it was trained on;
            sequence-to-sequence lifters: the clip length of one call.
        num_classes: action recognition: classes of the default build.
        official_weights: the authors' published weights that fit it.
        paper: the paper's results for this configuration.
        streams: ensembles only: stream name -> stream preset name.
        stream_options: ensembles only: stream name -> options of that
            stream's build, e.g. {"b": {"stream": "b"}}.
        stream_weights: ensembles only: stream name -> fusion weight (1 if
            not given), e.g. PYSKL's {"j": 2, "b": 2, "jm": 1, "bm": 1}.
        fusion: ensembles only: "logits" or "softmax".
        task: filled from the family at registration.
    """

    name: str
    family: str
    description: str
    config: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    layout: str = ""
    parameters: Mapping[str, int] = dataclasses.field(default_factory=dict)
    receptive_field: int | None = None
    clip_frames: int | None = None
    num_classes: int | None = None
    official_weights: tuple[OfficialWeights, ...] = ()
    paper: tuple[PaperResult, ...] = ()
    streams: Mapping[str, str] = dataclasses.field(default_factory=dict)
    stream_options: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    stream_weights: Mapping[str, float] = dataclasses.field(default_factory=dict)
    fusion: str | None = None
    task: str = ""


_FAMILIES: dict[str, Family] = {}
_PRESETS: dict[str, Preset] = {}
_discovered = False


def _discover() -> None:
    """Imports the built-in families, entry-point plug-ins and the modules of
    `$SKELETON_ZOO_PLUGINS` once."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    modules = list(BUILTIN_FAMILIES)
    from importlib.metadata import entry_points

    modules += [entry.value for entry in entry_points(group=ENTRY_POINT_GROUP)]
    modules += [m.strip() for m in os.environ.get(PLUGINS_VARIABLE, "").split(",") if m.strip()]
    for module in modules:
        try:
            importlib.import_module(module.partition(":")[0])
        except ImportError as error:
            raise ImportError(f"skeleton_zoo: cannot import the model family module '{module}' "
                              f"(from ${PLUGINS_VARIABLE} or the '{ENTRY_POINT_GROUP}' entry points): "
                              f"{error}") from error


def register_family(family: Family, presets: Iterable[Preset] = ()) -> Family:
    """Adds a family (see `Family`) and then its `presets` (see
    `register_preset`). Registering the same definition again is a no-op; a
    different one under a taken name is an error."""
    from skeleton_zoo.tasks import TASK_MODULES

    if family.task not in TASK_MODULES:
        raise ValueError(f"Family '{family.name}': `task` must be one of {list(TASK_MODULES)}, "
                         f"found {family.task!r}.")
    known = _FAMILIES.get(family.name)
    if known is not None and known != family:
        raise ValueError(f"Family '{family.name}' is registered already, with another definition.")
    _FAMILIES[family.name] = family
    for preset in presets:
        register_preset(preset)
    return family


def register_preset(preset: Preset) -> Preset:
    """Adds a preset of a registered family (see `Preset`); its `task` is the family's."""
    family = _FAMILIES.get(preset.family)
    if family is None:
        raise ValueError(f"Preset '{preset.name}': unknown family '{preset.family}'; register it first.")
    preset = dataclasses.replace(preset, task=family.task)
    for stream, name in preset.streams.items():
        stream_preset = _PRESETS.get(name)
        if stream_preset is None or stream_preset.task != family.task or stream_preset.streams:
            raise ValueError(f"Ensemble preset '{preset.name}': stream '{stream}' names '{name}', which is not "
                             f"a registered single-model {family.task} preset.")
    for field in ("stream_options", "stream_weights"):
        unknown = sorted(set(getattr(preset, field)) - set(preset.streams))
        if unknown:
            raise ValueError(f"Ensemble preset '{preset.name}': `{field}` names {unknown}, which are not among "
                             f"its streams {list(preset.streams)}.")
    _check_catalogue(preset)
    known = _PRESETS.get(preset.name)
    if known is not None and known != preset:
        raise ValueError(f"Preset '{preset.name}' is registered already, with another definition.")
    _PRESETS[preset.name] = preset
    return preset


def _check_catalogue(preset: Preset) -> None:
    """Tags name one file per stream (single models: one file), and an
    ensemble's tag covers every stream."""
    seen = {}
    for entry in preset.official_weights:
        if not entry.tag:
            continue
        if entry.tag == OFFICIAL_TAG or not entry.tag.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"Preset '{preset.name}': weights tag {entry.tag!r} of '{entry.file}' must be letters, "
                             f"digits, '_' and '-', and not '{OFFICIAL_TAG}'.")
        if bool(entry.stream) != bool(preset.streams) or (entry.stream and entry.stream not in preset.streams):
            raise ValueError(f"Preset '{preset.name}': weights '{entry.file}' (tag '{entry.tag}') names stream "
                             f"{entry.stream!r}; expected one of {list(preset.streams)}" if preset.streams else
                             f"Preset '{preset.name}': weights '{entry.file}' names a stream, but the preset has none.")
        key = (entry.tag, entry.stream)
        if key in seen:
            raise ValueError(f"Preset '{preset.name}': weights tag '{entry.tag}'"
                             f"{f' (stream {entry.stream})' if entry.stream else ''} names both '{seen[key]}' "
                             f"and '{entry.file}'.")
        seen[key] = entry.file
    if preset.streams:
        for tag in {t for t, _ in seen}:
            missing = [s for s in preset.streams if (tag, s) not in seen]
            if missing:
                raise ValueError(f"Ensemble preset '{preset.name}': weights tag '{tag}' has no file for stream(s) "
                                 f"{missing}.")


OFFICIAL_TAG = "official"


def weights_tags(preset: Preset) -> list[str]:
    """The preset's weights tags in catalogue order; the first is what
    `weights="official"` loads."""
    tags = []
    for entry in preset.official_weights:
        if entry.tag and entry.tag not in tags:
            tags.append(entry.tag)
    return tags


def parse_overrides(pairs) -> dict:
    """Command-line preset options `["channels=16", "layout=h36m19"]` ->
    `{"channels": 16, "layout": "h36m19"}` (values as Python literals, else text)."""
    import ast

    options = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.isidentifier():
            raise ValueError(f"--option expects KEY=VALUE, found '{pair}'.")
        try:
            options[key] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            options[key] = text  # a bare word, e.g. layout=h36m19
    return options


def get_family(name: str) -> Family:
    _discover()
    if name not in _FAMILIES:
        raise ValueError(f"Unknown model family '{name}'. Registered: {', '.join(_FAMILIES)}.")
    return _FAMILIES[name]


def families() -> list[Family]:
    _discover()
    return list(_FAMILIES.values())


def preset_names(task: str | None = None) -> list[str]:
    _discover()
    return [p.name for p in _PRESETS.values() if task is None or p.task == task]


def get_preset(name: str) -> Preset:
    """Looks a preset up; an unknown name lists the valid ones and the closest."""
    _discover()
    if name in _PRESETS:
        return _PRESETS[name]
    close = difflib.get_close_matches(str(name), list(_PRESETS), n=1, cutoff=0.5)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise ValueError(f"Unknown model '{name}'.{hint} Valid names: {', '.join(_PRESETS)}.")


def register_keras_objects() -> None:
    """Imports every family's Keras classes (and the package's own serialisable
    objects), so that `keras.models.load_model` can read any `.keras` file of
    the zoo."""
    for family in families():
        for module in family.keras_modules:
            importlib.import_module(module)
    for module in ("skeleton_zoo.tasks.ensemble", "skeleton_zoo.training.recipes",
                   "skeleton_zoo.evaluation.metrics"):
        importlib.import_module(module)


def build(preset: Preset, overrides: Mapping[str, Any]):
    """The preset's model, randomly initialised (see `load`)."""
    family = get_family(preset.family)
    if preset.streams:
        from skeleton_zoo.tasks.ensemble import build_ensemble

        return build_ensemble(preset, overrides)
    if "fusion" in overrides and "fusion" not in family.overrides:
        raise TypeError(f"load('{preset.name}'): `fusion` applies to ensemble (multi-stream) presets only.")
    unknown = sorted(set(overrides) - set(family.overrides))
    if unknown:
        raise TypeError(f"load('{preset.name}'): unexpected option(s) {unknown}; {family.title} models "
                        f"accept {list(family.overrides)}.")
    return resolve(family.build)(preset, **overrides)


def load(name: str, weights=None, **overrides):
    """Builds a preset model, optionally with weights.

    Args:
        name: preset name (see `list_models()`), e.g. "gast_243"; or a preset
            directory written by `save_preset`, "hf://ORG/NAME" or
            "kaggle://OWNER/MODEL/keras/VARIATION" (loaded as saved, see
            `skeleton_zoo.weights.preset_dir`).
        weights: one of
            - None: random initialisation;
            - a weights tag of the preset (`list_models()` shows them), e.g.
              "ntu60_xsub", or "official" for its first: the authors' file,
              downloaded once, verified, converted and cached (see
              `skeleton_zoo.weights.hub`); the tag's options (num_classes,
              layout, ...) are applied;
            - an official PyTorch checkpoint path (`.bin`, `.pt`, `.pth`; read
              without PyTorch, see `skeleton_zoo.weights.checkpoint`);
            - a Keras `.weights.h5` or `.keras` path;
            - a mapping of official state-dict keys to arrays;
            - for ensemble presets, a mapping of stream name to any of these,
              e.g. `{"spatial": path, "temporal": path}`.
            `list_models()` names the official files of each preset.
        **overrides: family options, e.g. for GAST-Net
            `variant="sequence"|"single_frame"`, `layout="humaneva15"` (or a
            `SkeletonLayout`), `causal`, `dropout`; `fusion` for ensembles.

    Returns:
        A `keras.Model`. Pose lifting: input (batch, frames, joints, 2),
        output (batch, frames - receptive_field + 1, joints, 3). Action
        recognition: input (batch, frames, joints, persons, channels),
        output (batch, num_classes) scores.

    Raises:
        ValueError: an unknown name (the message lists the valid ones).
        TypeError: an option the family does not accept.
        WeightsMismatchError: the weights do not fit (the message names the
            preset, the file and every differing key, and other presets the
            file fits); the model is left unchanged.
        skeleton_zoo.weights.checkpoint.CheckpointError: an unreadable,
            truncated or unsafe checkpoint file.
        skeleton_zoo.weights.hub.WeightsDownloadError: tagged weights that
            could not be fetched or did not verify.
    """
    from skeleton_zoo.tasks import get_task

    from skeleton_zoo.weights import hub, preset_dir

    if preset_dir.is_preset_uri(name):
        if weights is not None:
            raise TypeError(f"load('{os.fspath(name)}'): a preset directory holds its weights; `weights` must be "
                            f"None, found {weights!r}.")
        return preset_dir.load_preset(name, **overrides)
    preset = get_preset(name)
    tagged = hub.is_tag(weights)
    if tagged:
        tag, entries = hub.resolve_tag(preset, weights)
        overrides = hub.tag_options(preset, tag, entries, overrides)
    model = build(preset, overrides)
    get_task(preset.task).check_model(model, f"load('{name}')")  # a plug-in's model keeps its task's contract
    register_keras_objects()  # every class of the zoo, for the .keras files the user may read next
    if tagged:
        hub.load_tagged(model, preset, tag, entries, overrides)
    elif weights is not None:
        from skeleton_zoo.weights import load_weights

        load_weights(model, preset, weights, overrides)
    preset_dir.record_origin(model, preset, overrides, weights)
    return model


def list_models(family: str | None = None, layout: str | None = None, task: str | None = None) -> list[dict]:
    """Describes every preset from its declared data; builds no model.

    Args:
        family: only this family. task: only this task.
        layout: report parameter counts for this layout (None where the
            preset declares none for it). Defaults to each preset's own.

    Returns:
        One dict per preset: name, family, task, layout, receptive_field,
        clip_frames, num_classes, parameters, description, official_weights
        (the catalogue entries), weights_tags (the first is "official"),
        paper, streams.
    """
    _discover()
    if family is not None:
        get_family(family)
    if layout is not None:
        from skeleton_zoo.layouts import get_layout

        layout = get_layout(layout).name  # unknown names list the valid ones
    rows = []
    for preset in _PRESETS.values():
        if (family is not None and preset.family != family) or (task is not None and preset.task != task):
            continue
        shown = layout or preset.layout
        rows.append({
            "name": preset.name, "family": preset.family, "task": preset.task, "layout": shown,
            "receptive_field": preset.receptive_field, "clip_frames": preset.clip_frames,
            "num_classes": preset.num_classes, "parameters": preset.parameters.get(shown),
            "description": preset.description,
            "official_weights": [dataclasses.asdict(w) for w in preset.official_weights],
            "weights_tags": weights_tags(preset),
            "paper": [dataclasses.asdict(r) for r in preset.paper],
            "streams": dict(preset.streams),
        })
    return rows
