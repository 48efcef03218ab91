"""Runs of chosen assets, as an operator starts them from the UI: every asset and asset
check of the definitions at hand, so that the checks of what is built run with it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dagster import (
    AssetKey,
    DagsterInstance,
    Definitions,
    ExecuteInProcessResult,
    materialize,
)


def materialize_tables(
    defs: Definitions,
    instance: DagsterInstance,
    *tables: Sequence[str],
    partition: str | None = None,
    **options: Any,
) -> ExecuteInProcessResult:
    """Materialize `tables` (keys such as ("silver", "dialogues")), one partition of them
    if given; `options` go to dagster's `materialize` (run_config, raise_on_error...)."""
    return materialize(
        list(defs.assets) + list(defs.asset_checks),
        selection=[AssetKey(list(table)) for table in tables],
        partition_key=partition,
        resources=defs.resources,
        instance=instance,
        **options,
    )
