"""Shared fixtures: a temporary lake, the bundled samples, an ephemeral Dagster instance."""

import json
from pathlib import Path

import pytest
from dagster import DagsterInstance

from assets.lake import Lake, Sources
from orchestration.catalogue import load_catalogue
from orchestration.config import SAMPLES_DIR


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(root=str(tmp_path / "lake"))


@pytest.fixture
def sample_sources() -> Sources:
    return Sources(location="sample", samples_dir=str(SAMPLES_DIR))


@pytest.fixture(scope="session")
def catalogue():
    return load_catalogue()


@pytest.fixture
def instance():
    with DagsterInstance.ephemeral() as ephemeral:
        yield ephemeral


@pytest.fixture(scope="session")
def manifest() -> dict:
    """What the sample generator planted (sources/samples/manifest.json)."""
    return json.loads((SAMPLES_DIR / "manifest.json").read_text(encoding="utf-8"))


def strings_in(value) -> list[str]:
    """Every string inside a row value (nested lists and structs included)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list | tuple):
        return [s for item in value for s in strings_in(item)]
    return []
