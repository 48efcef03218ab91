"""Settings from the environment, read when asked for (never at import time)."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CATALOGUE_PATH = PROJECT_ROOT / "sources" / "catalogue.yaml"
VIEWS_PATH = PROJECT_ROOT / "sources" / "views.yaml"
SAMPLES_DIR = PROJECT_ROOT / "sources" / "samples"

# Storage credentials are read from these variables only, and never logged.
_STORAGE_OPTION_PREFIXES = ("AWS_", "AZURE_", "GOOGLE_")


def lake_root() -> str:
    """LAKE_ROOT: a local directory (default ./lake) or any deltalake URI (s3://, az://, gs://)."""
    root = os.environ.get("LAKE_ROOT", "lake")
    if "://" in root:
        return root.rstrip("/")
    return str(Path(root).resolve())


def lake_sources() -> str:
    """LAKE_SOURCES: `sample` (default), `hub`, or a directory mirroring the Hub layout."""
    return os.environ.get("LAKE_SOURCES", "sample")


def storage_options() -> dict[str, str]:
    """Object-store options for deltalake, from AWS_*/AZURE_*/GOOGLE_* variables."""
    return {
        key: value for key, value in os.environ.items() if key.startswith(_STORAGE_OPTION_PREFIXES)
    }


def executor_name() -> str:
    """LAKE_EXECUTOR: `multiprocess` (default) or `k8s` (steps as Kubernetes jobs; needs the
    `distributed` extra)."""
    return os.environ.get("LAKE_EXECUTOR", "multiprocess")
