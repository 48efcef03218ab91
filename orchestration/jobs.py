"""Jobs: one per bronze dataset (partitioned by its splits), and the release."""

from typing import Any

from dagster import AssetSelection, define_asset_job

from transforms.catalogue import DatasetSpec

# What define_asset_job returns; dagster does not export its class.
AssetJob = Any


def bronze_jobs(catalogue: dict[str, DatasetSpec]) -> dict[str, AssetJob]:
    """dataset key -> the job that ingests its splits (one split per run)."""
    return {
        key: define_asset_job(
            f"ingest_{key}",
            selection=AssetSelection.assets(["bronze", key]),
            description=f"Ingest {spec.hub_repo} into bronze/{key}, one split per run.",
        )
        for key, spec in catalogue.items()
    }


release_job = define_asset_job(
    "release",
    selection=AssetSelection.assets(
        ["releases", "manifest"], ["gold", "leakage_prompts"], ["gold", "leakage_near"]
    )
    | AssetSelection.groups("views"),
    description="Build the declared training views and pin them with the gold tables as a "
    "release (set `tag` in the launchpad), with its leakage report.",
)
