"""Helpers for whole-pipeline runs on a temporary lake."""

from collections.abc import Iterable

import pytest
from dagster import AssetKey, AssetRecordsFilter, DagsterInstance, materialize

from assets.bronze import bronze_asset, bronze_quarantine_spec
from orchestration.config import SAMPLES_DIR
from storage.lake import Lake, Sources


def run_bronze(
    catalogue,
    lake: Lake,
    sources: Sources,
    instance: DagsterInstance,
    datasets: Iterable[str] | None = None,
    run_config: dict | None = None,
) -> dict[tuple[str, str], dict]:
    """Materialize every split of the named datasets; returns each run's asset metadata."""
    assets = [bronze_asset(spec) for spec in catalogue.values()]
    metadata = {}
    for assets_def in assets:
        dataset = assets_def.key.path[1]
        if datasets is not None and dataset not in datasets:
            continue
        for split in catalogue[dataset].splits:
            result = materialize(
                [*assets, bronze_quarantine_spec(catalogue)],
                selection=[assets_def.key],
                partition_key=split,
                resources={"lake": lake, "sources": sources},
                instance=instance,
                run_config=run_config,
            )
            assert result.success
            metadata[(dataset, split)] = materialization_metadata(result, assets_def.key)
    return metadata


def materialization_metadata(result, key: AssetKey) -> dict:
    """The metadata a run reported for one asset key, materialized or only observed."""
    materialized = [
        e.materialization for e in result.get_asset_materialization_events() if e.asset_key == key
    ]
    observed = [
        e.asset_observation_data.asset_observation
        for e in result.get_asset_observation_events()
        if e.asset_key == key
    ]
    (event,) = materialized or observed
    return {k: v.value for k, v in event.metadata.items()}


@pytest.fixture(scope="session")
def built_lake(tmp_path_factory) -> Lake:
    """The whole lake built from the samples once, as `make demo` builds it (read-only)."""
    from orchestration.definitions import build_definitions
    from orchestration.runner import materialize_everything

    lake = Lake(root=str(tmp_path_factory.mktemp("built") / "lake"))
    sources = Sources(location="sample", samples_dir=str(SAMPLES_DIR))
    with DagsterInstance.ephemeral() as instance:
        materialize_everything(build_definitions(lake, sources), instance)
    return lake


def latest_metadata(
    instance: DagsterInstance, key: tuple[str, ...], partition: str | None = None
) -> dict:
    """The metadata of an asset's (or one partition's) latest materialization."""
    records = instance.fetch_materializations(
        AssetRecordsFilter(
            asset_key=AssetKey(list(key)), asset_partitions=[partition] if partition else None
        ),
        limit=1,
    ).records
    materialization = records[0].asset_materialization
    return {k: v.value for k, v in materialization.metadata.items()}
