"""Loads sources/catalogue.yaml (the only place the catalogue file is read)."""

from __future__ import annotations

from pathlib import Path

import yaml

from orchestration.config import CATALOGUE_PATH, VIEWS_PATH
from transforms.catalogue import CatalogueError, DatasetSpec, parse_catalogue
from transforms.policies import declared_policies, unknown_policies
from transforms.views import ViewSpec, parse_views


def load_catalogue(path: Path = CATALOGUE_PATH) -> dict[str, DatasetSpec]:
    with path.open(encoding="utf-8") as handle:
        catalogue = parse_catalogue(yaml.safe_load(handle))
    for key, names in unknown_policies(catalogue).items():
        raise CatalogueError(f"dataset {key!r}: unknown binarization policies {names}")
    return catalogue


def load_views(catalogue: dict[str, DatasetSpec], path: Path = VIEWS_PATH) -> dict[str, ViewSpec]:
    """Loads sources/views.yaml, checked against the catalogue and the policies."""
    with path.open(encoding="utf-8") as handle:
        return parse_views(
            yaml.safe_load(handle) or {}, list(catalogue), declared_policies(catalogue)
        )
