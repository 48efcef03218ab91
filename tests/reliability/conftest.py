"""A mirror directory to plant bad input into, and a helper to ingest it."""

import shutil
from pathlib import Path

import pytest
from dagster import DagsterInstance

from orchestration.catalogue import load_catalogue
from orchestration.config import SAMPLES_DIR
from storage.lake import Lake, Sources
from tests.e2e.conftest import run_bronze


@pytest.fixture
def mirror(tmp_path) -> Path:
    """An empty mirror directory: tests copy in or write the files they need."""
    (tmp_path / "mirror").mkdir()
    return tmp_path / "mirror"


def copy_dataset(mirror: Path, hub_repo: str) -> Path:
    shutil.copytree(SAMPLES_DIR / hub_repo, mirror / hub_repo)
    return mirror / hub_repo


def ingest(mirror: Path, lake: Lake, datasets: list[str]) -> dict:
    sources = Sources(location=str(mirror), samples_dir=str(SAMPLES_DIR))
    with DagsterInstance.ephemeral() as instance:
        return run_bronze(load_catalogue(), lake, sources, instance, datasets=datasets)
