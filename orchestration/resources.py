"""Resources, configured from the environment when Definitions are built."""

from __future__ import annotations

from orchestration import config
from storage.lake import Lake, Sources


def lake_resource() -> Lake:
    return Lake(root=config.lake_root())


def sources_resource() -> Sources:
    return Sources(location=config.lake_sources(), samples_dir=str(config.SAMPLES_DIR))
