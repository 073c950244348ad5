"""Locate the data files shipped with the package.

In a source checkout they live in ``<repo>/data``; in an installed wheel setuptools
maps the same folder to the ``symbiosis._data`` package.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path


@cache
def data_dir() -> Path:
    """Return the folder that holds ``catalogue/``, ``schema/``, ``parameters/`` …"""
    checkout = Path(__file__).resolve().parents[1] / "data"
    if (checkout / "schema").is_dir():
        return checkout
    spec = importlib.util.find_spec("symbiosis._data")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("symbiosis data files are not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def data_path(*parts: str) -> Path:
    """Path of a shipped data file, e.g. ``data_path("catalogue", "materials.csv")``."""
    return data_dir().joinpath(*parts)
