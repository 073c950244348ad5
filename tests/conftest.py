"""Shared fixtures: a fresh SQLite store per test and the valid example dataset."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from symbiosis.store import open_store

TESTS = Path(__file__).resolve().parent
VALID = TESTS / "data" / "valid"
BAD = TESTS / "data" / "bad"
SHARED = TESTS.parents[1] / "shared"


@pytest.fixture
def store(tmp_path):
    return open_store(f"sqlite:///{tmp_path / 'test.db'}")


@pytest.fixture
def valid_dir(tmp_path) -> Path:
    target = tmp_path / "valid"
    shutil.copytree(VALID, target)
    return target
