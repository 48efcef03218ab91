"""The runner behind `make demo`: one run per partition and one per unpartitioned
computation (a multi-asset's keys together), in dependency order; it stops at the first
failure; and what it does to keep memory low between runs (freezing what lives across
them) does not outlast it."""

import gc

import pytest
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    DagsterInstance,
    Definitions,
    MaterializeResult,
    StaticPartitionsDefinition,
    asset,
    multi_asset,
)

from orchestration.runner import computations_in_order, materialize_everything

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


@multi_asset(specs=[AssetSpec("index", deps=[union]), AssetSpec("pairs", deps=["index"])])
def index_and_pairs():
    built.append("index_and_pairs")
    yield MaterializeResult(asset_key="index")
    yield MaterializeResult(asset_key="pairs")


@asset(deps=["pairs"])
def report() -> None:
    built.append("report")


@pytest.fixture(autouse=True)
def nothing_built():
    built.clear()


def test_each_partition_and_each_unpartitioned_computation_is_a_run_in_dependency_order():
    with DagsterInstance.ephemeral() as instance:
        runs = materialize_everything(
            Definitions(assets=[report, index_and_pairs, summary, union, shards]), instance
        )
    assert runs[:3] == ["shards [first]", "shards [second]", "union"]
    assert sorted(runs[3:]) == ["index, pairs", "report", "summary"]
    assert runs.index("report") > runs.index("index, pairs")
    assert built[:3] == ["shards[first]", "shards[second]", "union"]
    assert gc.get_freeze_count() == 0


def test_computations_reading_each_others_keys_stay_one_run():
    a, b, c, d = (AssetKey(n) for n in "abcd")
    together = {a: {a, b}, b: {a, b}, c: {c, d}, d: {c, d}}
    parents = {a: set(), b: {d}, c: {a}, d: set()}  # ab reads cd and cd reads ab
    assert computations_in_order([a, c, d, b], together.__getitem__, parents.__getitem__) == [
        [a, c, d, b]
    ]
    parents[b] = set()
    assert computations_in_order([a, c, d, b], together.__getitem__, parents.__getitem__) == [
        [a, b],
        [c, d],
    ]


def test_a_failed_run_raises_and_leaves_nothing_frozen():
    with DagsterInstance.ephemeral() as instance, pytest.raises(Exception, match="bad input"):
        materialize_everything(Definitions(assets=[shards, union, broken]), instance)
    assert built == ["shards[first]", "shards[second]", "union"]
    assert gc.get_freeze_count() == 0
