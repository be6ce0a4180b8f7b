"""Official weights by name: `load(name, weights=TAG)` finds the file in the
catalogue (the presets' `OfficialWeights`), downloads it once, verifies it,
converts it and caches both the file and the converted Keras weights.

Where things live (`$SKELETON_ZOO_HOME`, default `~/.keras/skeleton_zoo`):

    weights/<family>/<file>                    the authors' file, as published
    weights/sha256.json                        SHA-256 recorded at first download
                                               (files without a pinned hash)
    converted/<preset>/<tag>-<key>.weights.h5  the converted model, per options

A download goes through `gdown` (Google Drive confirmation pages, progress
bar, resuming an interrupted transfer) or `huggingface_hub` ("hf://" URLs),
into a staging file that only becomes the cached file after its hash checks
out: a pinned SHA-256 or git object id, else the SHA-256 recorded at the
first download (trust on first use). A mismatch is an error naming the URL
and both hashes, and the file is not kept.

`$SKELETON_ZOO_WEIGHTS_MIRROR` (a base URL, or a local folder for air-gapped
sites) replaces every host: the file is read as `<mirror>/<file>`, with the
same hash check. Folder shares (OneDrive, Drive folders) cannot be fetched by
a program; the error then says which file is needed, where it is published
and where to put it.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import pathlib
import shutil
import sys
import urllib.parse

__all__ = ["HOME_VARIABLE", "MIRROR_VARIABLE", "WeightsDownloadError", "home", "is_tag", "resolve_tag",
           "tag_options", "fetch", "fetch_tag", "file_sha256", "verify", "load_tagged", "available", "how_to_get"]

HOME_VARIABLE = "SKELETON_ZOO_HOME"
MIRROR_VARIABLE = "SKELETON_ZOO_WEIGHTS_MIRROR"
# Version of the converted-weights cache layout: bump to invalidate old entries.
_CONVERTED_FORMAT = 1
_FOLDER_SHARES = ("drive.google.com/drive/folders", "1drv.ms/f/", "onedrive.live.com", "pan.baidu.com")


class WeightsDownloadError(OSError):
    """Official weights that could not be fetched or did not verify."""


def home() -> pathlib.Path:
    """The cache root: `$SKELETON_ZOO_HOME`, default `~/.keras/skeleton_zoo`."""
    return pathlib.Path(os.environ.get(HOME_VARIABLE) or pathlib.Path("~/.keras/skeleton_zoo")).expanduser()


def is_tag(value) -> bool:
    """Whether `value` names catalogue weights ("official" or a tag) rather
    than a file: a string without a folder or suffix that names no existing
    file. Whether the preset has that tag is `resolve_tag`'s question."""
    return (isinstance(value, str) and bool(value) and not os.path.exists(value)
            and "/" not in value and os.sep not in value and "." not in value)


def resolve_tag(preset, tag: str) -> tuple[str, list]:
    """(tag, catalogue entries) of `tag`; "official" is the preset's first tag.

    Raises:
        ValueError: the preset publishes no weights, or not under this tag
            (the message lists its tags).
    """
    from skeleton_zoo import registry

    tags = registry.weights_tags(preset)
    if not tags:
        raise ValueError(f"load('{preset.name}'): the catalogue has no official weights for this preset; "
                         f"pass a weights file, or pick a preset that `python -m skeleton_zoo list` shows with tags.")
    if tag == registry.OFFICIAL_TAG:
        tag = tags[0]
    entries = [w for w in preset.official_weights if w.tag == tag]
    if not entries:
        raise ValueError(f"load('{preset.name}'): weights={tag!r} is neither a file nor one of its tags "
                         f"{tags} (or '{registry.OFFICIAL_TAG}' for '{tags[0]}').")
    return tag, entries


def tag_options(preset, tag: str, entries, overrides) -> dict:
    """`overrides` with the options the tag's files need.

    Raises:
        ValueError: an override that contradicts them.
    """
    merged = dict(overrides)
    for entry in entries:
        for key, value in entry.options.items():
            if key in merged and merged[key] != value:
                raise ValueError(f"load('{preset.name}', weights={tag!r}): the weights need {key}={value!r} "
                                 f"('{entry.file}', {entry.dataset or 'as published'}), found {key}={merged[key]!r}.")
            merged[key] = value
    return merged


# === Hashes ===

def file_sha256(path) -> str:
    """The SHA-256 (hex) of a file, read in 1 MiB blocks."""
    return _hashes(path, git_blob=False)[0]


def _hashes(path, git_blob: bool = True) -> tuple[str, str]:
    """(SHA-256, git blob SHA-1) of a file, in one read."""
    sha256 = hashlib.sha256()
    blob = hashlib.sha1(f"blob {os.path.getsize(path)}\0".encode()) if git_blob else None
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha256.update(block)
            if blob is not None:
                blob.update(block)
    return sha256.hexdigest(), blob.hexdigest() if blob is not None else ""


def _records_path() -> pathlib.Path:
    return home() / "weights" / "sha256.json"


def _records() -> dict:
    path = _records_path()
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise WeightsDownloadError(f"{path}: unreadable record of downloaded weights ({error}); delete it to "
                                   f"record the files' hashes afresh.") from None


def _record(key: str, sha256: str, source: str) -> None:
    from skeleton_zoo.utils.files import atomic_write

    records = _records()
    records[key] = {"sha256": sha256, "source": source,
                    "recorded": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    with atomic_write(_records_path()) as f:
        json.dump(records, f, indent=1, sort_keys=True)


def verify(path, entry, family: str, source: str) -> str:
    """Checks the file at `path` against `entry`'s pinned hash, else the
    SHA-256 recorded at its first download (recording it when there is none).

    Returns:
        The file's SHA-256.

    Raises:
        WeightsDownloadError: a mismatch, naming `source` and both hashes.
    """
    sha256, blob = _hashes(path)
    key = f"{family}/{entry.file}"
    if entry.sha256 or entry.git_blob_sha1:
        kind, expected, found = (("SHA-256", entry.sha256, sha256) if entry.sha256
                                 else ("git object id", entry.git_blob_sha1, blob))
        if found != expected.lower():
            raise WeightsDownloadError(f"{source}: '{entry.file}' has {kind} {found}, but the catalogue pins "
                                       f"{expected}; the file is corrupt or not the published one.")
        return sha256
    recorded = _records().get(key)
    if recorded is None:
        _record(key, sha256, source)
    elif recorded["sha256"] != sha256:
        raise WeightsDownloadError(f"{source}: '{entry.file}' has SHA-256 {sha256}, but its first download "
                                   f"({recorded['source']}, {recorded['recorded']}) had {recorded['sha256']}; the "
                                   f"file changed. If the authors republished it, delete its entry from "
                                   f"{_records_path()}.")
    return sha256


# === Fetching ===

def _sources(entry) -> list[str]:
    mirror = os.environ.get(MIRROR_VARIABLE, "").strip()
    if mirror:
        if "://" in mirror:
            return [mirror.rstrip("/") + "/" + urllib.parse.quote(entry.file)]
        return [str(pathlib.Path(mirror).expanduser() / entry.file)]
    return [entry.url, *entry.mirrors]


def _is_folder_share(url: str) -> bool:
    return any(marker in url for marker in _FOLDER_SHARES)


def _download(url: str, staging: pathlib.Path, progress: bool) -> None:
    """`url` into `staging` (resuming a partial transfer left by an earlier try)."""
    if url.startswith("hf://"):
        from huggingface_hub import hf_hub_download

        parts = url[len("hf://"):].split("/")
        if len(parts) < 3:
            raise ValueError(f"expected hf://ORG/REPO/PATH, found '{url}'")
        cached = hf_hub_download("/".join(parts[:2]), "/".join(parts[2:]))
        shutil.copyfile(cached, staging)
        return
    import gdown

    gdown.download(url, output=str(staging), quiet=not progress, resume=True, retries=3, timeout=(20, 120))


def fetch(entry, family: str, progress: bool = True) -> tuple[pathlib.Path, str]:
    """The local file of a catalogue entry, downloaded and verified if needed.

    Args:
        entry: an `OfficialWeights` of the catalogue.
        family: its family name (the cache folder).
        progress: show the download's progress bar (stderr).

    Returns:
        (path, SHA-256). The path is in the cache, or in a local-folder mirror.

    Raises:
        WeightsDownloadError: every source failed or did not verify; the
            message says which file is needed, where it is published and
            where to put it by hand.
    """
    target = home() / "weights" / family / entry.file
    if target.exists():
        try:
            return target, verify(target, entry, family, f"'{target}' (cached)")
        except WeightsDownloadError as error:
            target.unlink(missing_ok=True)
            raise WeightsDownloadError(f"{error} The cached file was removed; the next load downloads it "
                                       f"again.") from None
    failures = []
    for source in _sources(entry):
        if "://" not in source:  # a local mirror folder: used in place
            if os.path.exists(source):
                return pathlib.Path(source), verify(source, entry, family, f"'{source}'")
            failures.append(f"{source}: no such file")
            continue
        if _is_folder_share(source):
            failures.append(f"{source}: a folder share, which only a browser can download from")
            continue
        staging = target.with_name(target.name + ".download")
        staging.parent.mkdir(parents=True, exist_ok=True)
        try:
            if progress:
                print(f"Downloading '{entry.file}' from {source}", file=sys.stderr)
            _download(source, staging, progress)
            sha256 = verify(staging, entry, family, source)
        except WeightsDownloadError:
            staging.unlink(missing_ok=True)
            raise
        except Exception as error:  # noqa: BLE001 (network, HTTP or library errors: try the next source)
            failures.append(f"{source}: {type(error).__name__}: {error}")
            continue
        os.replace(staging, target)
        return target, sha256
    published = ", ".join([entry.url, *entry.mirrors])
    raise WeightsDownloadError(
        f"Cannot fetch the official weights '{entry.file}' ({entry.dataset or family}).\n"
        + "".join(f"  {failure}\n" for failure in failures)
        + f"It is published at {published}. Download it by hand and put it at {target} (or set "
          f"${MIRROR_VARIABLE} to a folder or URL holding '{entry.file}'), then run this again.")


def _family(preset, entry) -> str:
    """The family whose cache folder holds `entry` (an ensemble's: its stream's)."""
    if not preset.streams:
        return preset.family
    from skeleton_zoo import registry

    return registry.get_preset(preset.streams[entry.stream]).family


def fetch_tag(preset, entries, progress: bool = True) -> list[tuple]:
    """`fetch` for each of a tag's entries (ensembles: in stream order):
    [(entry, path, SHA-256)]."""
    if preset.streams:
        order = list(preset.streams)
        entries = sorted(entries, key=lambda entry: order.index(entry.stream))
    return [(entry, *fetch(entry, _family(preset, entry), progress)) for entry in entries]


def available(preset, tag: str = "official") -> bool:
    """Whether the tag's files are on this machine already (in the cache or a
    local `$SKELETON_ZOO_WEIGHTS_MIRROR` folder), so loading needs no network."""
    try:
        _, entries = resolve_tag(preset, tag)
    except ValueError:
        return False
    for entry in entries:
        local = [home() / "weights" / _family(preset, entry) / entry.file]
        local += [pathlib.Path(s) for s in _sources(entry) if "://" not in s]
        if not any(path.exists() for path in local):
            return False
    return True


def how_to_get(preset, tag: str = "official") -> str:
    """One sentence: the command that fetches the tag's weights, and where they are published."""
    tag, entries = resolve_tag(preset, tag)
    hosts = ", ".join(dict.fromkeys(entry.url for entry in entries))
    return (f"python -m skeleton_zoo convert --model {preset.name} --weights {tag} fetches "
            f"{', '.join(entry.file for entry in entries)} (published at {hosts}) into the cache")


# === Converted weights ===

def _converted_path(preset, tag: str, overrides: dict, sha256s: list[str]) -> pathlib.Path:
    key = json.dumps({"format": _CONVERTED_FORMAT, "options": {k: repr(v) for k, v in sorted(overrides.items())},
                      "files": sha256s}, sort_keys=True)
    return home() / "converted" / preset.name / f"{tag}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.weights.h5"


def load_tagged(model, preset, tag: str, entries, overrides: dict, progress: bool = True) -> pathlib.Path:
    """Fills `model` (built from `preset` with `overrides`, the tag's options
    included) with the tag's official weights; the first load converts and
    caches them, later loads read the cached `.weights.h5`.

    Returns:
        The cached `.weights.h5` the model now holds.
    """
    from skeleton_zoo.utils.files import atomic_path
    from skeleton_zoo.weights import load_weights

    files = fetch_tag(preset, entries, progress)
    converted = _converted_path(preset, tag, overrides, [sha for _, _, sha in files])
    if converted.exists():
        try:
            model.load_weights(converted)
            return converted
        except Exception:  # noqa: BLE001 (a damaged cache entry: convert again)
            converted.unlink(missing_ok=True)
    weights = ({entry.stream: str(path) for entry, path, _ in files} if preset.streams else str(files[0][1]))
    load_weights(model, preset, weights, overrides)
    with atomic_path(converted) as tmp:
        model.save_weights(tmp)
    return converted
