"""Lazy module attributes: a package lists what it offers without importing
Keras or TensorFlow until one of those names is used."""

from __future__ import annotations

import importlib
from typing import Mapping

__all__ = ["lazy_attributes"]


def lazy_attributes(package: str, names: Mapping[str, str]):
    """A module-level `__getattr__` (PEP 562) importing `names[attr]` (a module
    path) on first access of `attr`."""

    def __getattr__(name):
        if name in names:
            return getattr(importlib.import_module(names[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
