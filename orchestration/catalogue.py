"""Loads sources/catalogue.yaml (the only place the catalogue file is read)."""

from __future__ import annotations

from pathlib import Path

import yaml

from orchestration.config import CATALOGUE_PATH
from transforms.catalogue import DatasetSpec, parse_catalogue


def load_catalogue(path: Path = CATALOGUE_PATH) -> dict[str, DatasetSpec]:
    with path.open(encoding="utf-8") as handle:
        return parse_catalogue(yaml.safe_load(handle))
