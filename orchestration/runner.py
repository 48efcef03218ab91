"""Materialize the whole lake in dependency order: what `make demo` and the e2e tests run.

Partitioned assets run one partition per run (Dagster runs a single partition key at a
time); every unpartitioned asset then runs together in one run.
"""

from __future__ import annotations

from dagster import AssetKey, AssetsDefinition, DagsterInstance, Definitions, materialize


def materialize_everything(defs: Definitions, instance: DagsterInstance) -> list[str]:
    """Run every materializable asset; returns a line per run, raising on a failed run."""
    graph = defs.resolve_asset_graph()
    assets = [
        a for a in defs.assets or [] if isinstance(a, AssetsDefinition) and a.is_materializable
    ]
    resources = defs.resources or {}
    runs: list[str] = []
    for assets_def in assets:
        if assets_def.partitions_def is None:
            continue
        for partition in assets_def.partitions_def.get_partition_keys():
            _run(assets, [assets_def.key], resources, instance, partition)
            runs.append(f"{assets_def.key.to_user_string()} [{partition}]")
    unpartitioned = [
        key
        for key in graph.toposorted_asset_keys
        if graph.get(key).is_materializable and graph.get(key).partitions_def is None
    ]
    if unpartitioned:
        _run(assets, unpartitioned, resources, instance, None)
        runs.append(", ".join(k.to_user_string() for k in unpartitioned))
    return runs


def _run(
    assets: list[AssetsDefinition],
    selection: list[AssetKey],
    resources: dict,
    instance: DagsterInstance,
    partition: str | None,
) -> None:
    result = materialize(
        assets,
        selection=selection,
        resources=resources,
        instance=instance,
        partition_key=partition,
        raise_on_error=True,
    )
    if not result.success:
        raise RuntimeError(f"run {result.run_id} failed for {selection} [{partition}]")
