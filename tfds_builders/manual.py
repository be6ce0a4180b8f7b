"""What every builder of manually downloaded files shares: the manual
directory with a clear error, and Beam only when the user asked for it."""

from __future__ import annotations

import functools
import threading
import zipfile

from etils import epath

__all__ = ["manual_dir", "beam_requested", "read_zip_member"]


def manual_dir(dl_manager, dataset: str, expected: str = "", instructions: str = "") -> epath.Path:
    """`dl_manager.manual_dir`, or a FileNotFoundError naming the dataset, the
    directory looked in, what it should hold and how to get it.

    Args:
        dataset: e.g. "ntu_rgbd/xsub60". expected: e.g. "ntu60_3danno.pkl".
        instructions: the builder's MANUAL_DOWNLOAD_INSTRUCTIONS.
    """
    try:
        return epath.Path(dl_manager.manual_dir)
    except AssertionError:  # TFDS: the directory does not exist or is empty
        where = getattr(dl_manager, "_manual_dir", None)
        raise FileNotFoundError(
            f"{dataset}: the manual directory '{where}' does not exist or is empty"
            + (f"; expected {expected} in it." if expected else ".") + (f" {instructions}" if instructions else "")
        ) from None


def beam_requested(download_config) -> bool:
    """Whether the user configured an Apache Beam runner (plain generation otherwise)."""
    return download_config.beam_runner is not None or download_config.beam_options is not None


@functools.lru_cache(maxsize=8)
def _open_zip(file: str, thread: int) -> zipfile.ZipFile:
    # Archives of tens of thousands of members (NTU's 56,880): parse each
    # central directory once per thread, not once per member.
    return zipfile.ZipFile(epath.Path(file).open("rb"))


def read_zip_member(file: str, member: str) -> bytes:
    """The bytes of `member` in the zip `file`, read in place (thread-safe)."""
    return _open_zip(file, threading.get_ident()).read(member)
