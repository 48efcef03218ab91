"""Materialize the whole lake in dependency order: what `make demo` and the e2e tests run.

Dagster runs one partition key per run, so each partition of a partitioned asset gets its
own run; each unpartitioned computation (a multi-asset's keys together) gets its own too,
so that the memory a step leaves is given back before the next one starts.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from collections.abc import Callable, Iterable

import pyarrow as pa
from dagster import AssetKey, DagsterInstance, Definitions, materialize


def materialize_everything(
    defs: Definitions, instance: DagsterInstance, log_level: str = "INFO"
) -> list[str]:
    """Run every materializable asset (and its checks); returns a line per run. The console
    shows step logs at `log_level` (INFO: progress and counts; DEBUG: every event).

    Raises on the first failed run, so a half-built lake is never reported as built.
    """
    graph = defs.resolve_asset_graph()
    definitions = [*(defs.assets or []), *(defs.asset_checks or [])]
    runs: list[str] = []
    batch: list[AssetKey] = []

    def run(selection: list[AssetKey], partition: str | None) -> None:
        materialize(
            definitions,
            selection=selection,
            resources=defs.resources,
            instance=instance,
            partition_key=partition,
            raise_on_error=True,
            run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
        )
        names = ", ".join(k.to_user_string() for k in selection)
        runs.append(f"{names} [{partition}]" if partition else names)
        release_memory()

    def run_unpartitioned(keys: list[AssetKey]) -> None:
        for selection in computations_in_order(
            keys,
            lambda key: graph.get(key).execution_set_asset_keys,
            lambda key: graph.get(key).parent_keys,
        ):
            run(selection, None)

    try:
        for key in graph.toposorted_asset_keys:
            node = graph.get(key)
            if not node.is_materializable:
                continue
            if node.partitions_def is None:
                batch.append(key)
                continue
            if batch:
                run_unpartitioned(batch)
                batch = []
            for partition in node.partitions_def.get_partition_keys():
                run([key], partition)
        if batch:
            run_unpartitioned(batch)
    finally:
        gc.unfreeze()
    return runs


def computations_in_order(
    keys: list[AssetKey],
    together: Callable[[AssetKey], Iterable[AssetKey]],
    parents: Callable[[AssetKey], Iterable[AssetKey]],
) -> list[list[AssetKey]]:
    """`keys` (consecutive unpartitioned assets, their upstreams outside `keys` built) as
    one selection per computation (`together`: the keys a multi-asset materializes with a
    key), each after the computations it reads from (`parents`). Each is then its own
    run, so the memory one leaves is released before the next (`release_memory`) instead
    of adding up over a whole gold layer. Computations that read each other's keys (a
    cycle between multi-assets) stay one run, which Dagster orders step by step."""
    wanted = set(keys)
    pending = list(dict.fromkeys(frozenset(together(key)) & wanted | {key} for key in keys))
    ordered: list[list[AssetKey]] = []
    done: set[AssetKey] = set()
    while pending:
        ready = next(
            (
                members
                for members in pending
                if all(
                    parent in done or parent in members or parent not in wanted
                    for key in members
                    for parent in parents(key)
                )
            ),
            None,
        )
        if ready is None:  # computations that read each other's keys: one run, as Dagster orders
            return [keys]
        ordered.append([key for key in keys if key in ready])
        done |= ready
        pending.remove(ready)
    return ordered


def release_memory() -> None:
    """Give the memory a finished run freed back to the operating system: one process runs
    every run here, and allocators otherwise keep freed pages for the next (Arrow's pool
    and glibc's heaps, where the Delta writer allocates), so each run's peak would add to
    what the runs before it left behind.

    What survives the collection is then frozen (`gc.freeze`): it is what lives across runs
    (definitions, the instance, imported modules), and a full collection that walks it
    again after every run cost ~0.15 s a run, most of an unchanged run's time. Frozen
    objects are still freed when their last reference goes, and `materialize_everything`
    unfreezes them when it returns, so a cycle among them is collected after all."""
    gc.collect()
    gc.freeze()
    pa.default_memory_pool().release_unused()
    libc = ctypes.util.find_library("c")
    if libc:
        trim = getattr(ctypes.CDLL(libc), "malloc_trim", None)
        if trim is not None:
            trim(0)
