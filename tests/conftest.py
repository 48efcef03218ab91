"""Shared fixtures: a temporary lake, the bundled samples, an ephemeral Dagster instance."""

import json
from pathlib import Path

import pytest
from dagster import DagsterInstance

from orchestration.catalogue import load_catalogue
from orchestration.config import SAMPLES_DIR
from storage.lake import Lake, Sources


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


def model_written_datasets() -> set[str]:
    """Datasets a model wrote every field of, by the catalogue (UltraChat simulated users)."""
    return {
        key
        for key, spec in load_catalogue().items()
        if all(author == "model" for author in spec.authors.values())
    }


@pytest.fixture(scope="session")
def personal_planted(manifest) -> list[dict]:
    """The planted values that are personal data by the lake's rules: every contact value,
    and names only where a person wrote them (a name UltraChat's simulated user gives is a
    model's invention, kept like any name in a model's text)."""
    simulated = model_written_datasets()
    return [
        p
        for p in manifest["pii"]
        if not (p["entity_type"] == "PERSON" and p["dataset"] in simulated)
    ]


def strings_in(value) -> list[str]:
    """Every string inside a row value (nested lists and structs included)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list | tuple):
        return [s for item in value for s in strings_in(item)]
    return []
