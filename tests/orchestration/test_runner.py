"""The runner behind `make demo`: one run per partition, consecutive unpartitioned assets
together, in dependency order; it stops at the first failure; and what it does to keep
memory low between runs (freezing what lives across them) does not outlast it."""

import gc

import pytest
from dagster import (
    AssetExecutionContext,
    DagsterInstance,
    Definitions,
    StaticPartitionsDefinition,
    asset,
)

from orchestration.runner import materialize_everything

built: list[str] = []


@asset(partitions_def=StaticPartitionsDefinition(["first", "second"]))
def shards(context: AssetExecutionContext) -> None:
    built.append(f"shards[{context.partition_key}]")


@asset(deps=[shards])
def union() -> None:
    built.append("union")


@asset(deps=[union])
def summary() -> None:
    built.append("summary")


@asset(deps=[union])
def broken() -> None:
    raise ValueError("bad input")


@pytest.fixture(autouse=True)
def nothing_built():
    built.clear()


def test_each_partition_is_a_run_and_unpartitioned_assets_share_one_in_dependency_order():
    with DagsterInstance.ephemeral() as instance:
        runs = materialize_everything(Definitions(assets=[shards, union, summary]), instance)
    assert runs == ["shards [first]", "shards [second]", "union, summary"]
    assert built == ["shards[first]", "shards[second]", "union", "summary"]
    assert gc.get_freeze_count() == 0


def test_a_failed_run_raises_and_leaves_nothing_frozen():
    with DagsterInstance.ephemeral() as instance, pytest.raises(Exception, match="bad input"):
        materialize_everything(Definitions(assets=[shards, union, broken]), instance)
    assert built == ["shards[first]", "shards[second]", "union"]
    assert gc.get_freeze_count() == 0
