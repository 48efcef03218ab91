"""Automation: the mirror sensor ingests exactly the splits whose files changed, the daily
refresh on unchanged sources makes no new versions, and silver and gold follow upstream
changes by themselves (declarative automation), one dataset's partitions at a time."""

import shutil
from datetime import UTC, datetime

import polars as pl
import pytest
from dagster import (
    AssetKey,
    DagsterInstance,
    build_schedule_context,
    build_sensor_context,
    evaluate_automation_conditions,
)

from orchestration.config import SAMPLES_DIR
from orchestration.definitions import build_definitions
from orchestration.runner import materialize_everything
from storage.lake import Lake, Sources
from tests.orchestration.runs import materialize_tables

MT_BENCH = "lmsys/mt_bench_human_judgments/data"


@pytest.fixture
def mirror(tmp_path):
    shutil.copytree(SAMPLES_DIR / "lmsys", tmp_path / "mirror" / "lmsys")
    return tmp_path / "mirror"


@pytest.fixture
def lake_on_mirror(tmp_path, mirror):
    lake = Lake(root=str(tmp_path / "lake"))
    sources = Sources(location=str(mirror), samples_dir=str(SAMPLES_DIR))
    defs = build_definitions(lake, sources)
    with DagsterInstance.ephemeral() as instance:
        materialize_everything(defs, instance)
        yield lake, sources, defs, instance


def sensor_requests(defs, sources, cursor):
    sensor = defs.get_sensor_def("mirror_files")
    context = build_sensor_context(cursor=cursor, resources={"sources": sources}, definitions=defs)
    result = sensor.evaluate_tick(context)
    requested = sorted((r.job_name, r.partition_key) for r in result.run_requests or [])
    return requested, result.cursor


def defs_splits(defs, job_name):
    return defs.resolve_job_def(job_name).partitions_def.get_partition_keys()


def run_request(defs, instance, job_name, partition):
    job = defs.resolve_job_def(job_name)
    result = job.execute_in_process(partition_key=partition, instance=instance)
    assert result.success
    return result


def test_the_sensor_asks_for_exactly_the_splits_whose_files_changed(lake_on_mirror, mirror):
    lake, sources, defs, instance = lake_on_mirror
    first, cursor = sensor_requests(defs, sources, None)
    assert first == [
        ("ingest_chatbot_arena_conversations", "train"),
        ("ingest_mt_bench_human_judgments", "gpt4_pair"),
        ("ingest_mt_bench_human_judgments", "human"),
    ]
    assert sensor_requests(defs, sources, cursor)[0] == []
    automation = evaluate_automation_conditions(defs=defs, instance=instance)
    assert automation.total_requested == 0  # everything is built and up to date

    existing = next((mirror / MT_BENCH).glob("human-*.parquet"))
    new_rows = pl.read_parquet(existing).head(7)
    new_rows.write_parquet(mirror / MT_BENCH / "human-00001-of-00002-0123456789abcdef.parquet")
    requested, cursor = sensor_requests(defs, sources, cursor)
    assert requested == [("ingest_mt_bench_human_judgments", "human")]

    before = lake.scan(("bronze", "mt_bench_human_judgments")).collect()
    run_request(defs, instance, *requested[0])
    after = lake.scan(("bronze", "mt_bench_human_judgments")).collect()
    assert (
        after.filter(pl.col("split") == "human").height
        == before.filter(pl.col("split") == "human").height + 7
    )
    assert (
        after.filter(pl.col("split") == "gpt4_pair").height
        == before.filter(pl.col("split") == "gpt4_pair").height
    )

    # Silver follows by itself, for that dataset's partition only; gold waits for silver.
    automation = evaluate_automation_conditions(
        defs=defs, instance=instance, cursor=automation.cursor
    )
    requested = automation.get_requested_partitions
    assert requested(AssetKey(["silver", "comparisons"])) == {"mt_bench_human_judgments"}
    assert requested(AssetKey(["silver", "dialogues"])) == set()
    assert automation.get_num_requested(AssetKey(["gold", "prefs_by"])) == 0  # waits for silver


def test_the_daily_refresh_on_unchanged_sources_creates_no_new_versions(lake_on_mirror):
    lake, _, defs, instance = lake_on_mirror
    cursor = evaluate_automation_conditions(defs=defs, instance=instance).cursor
    versions = {
        key: lake.table(key).version()
        for key in [
            ("bronze", "mt_bench_human_judgments"),
            ("bronze", "chatbot_arena_conversations"),
        ]
    }
    for name in ("refresh_mt_bench_human_judgments", "refresh_chatbot_arena_conversations"):
        schedule = defs.get_schedule_def(name)
        context = build_schedule_context(
            instance=instance,
            scheduled_execution_time=datetime(2026, 11, 24, 3, tzinfo=UTC),
            repository_def=defs.get_repository_def(),
        )
        requests = schedule.evaluate_tick(context).run_requests
        dataset = name.removeprefix("refresh_")
        assert sorted(r.run_key for r in requests) == sorted(
            f"{dataset}/{split}/2026-11-24" for split in defs_splits(defs, schedule.job_name)
        )
        for request in requests:
            result = run_request(defs, instance, schedule.job_name, request.partition_key)
            assert result.get_asset_materialization_events() == []
            (observation,) = result.get_asset_observation_events()
            assert (
                observation.asset_observation_data.asset_observation.metadata["status"].value
                == "unchanged"
            )
    assert {key: lake.table(key).version() for key in versions} == versions
    # Nothing was updated, so nothing downstream is asked for.
    assert (
        evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor).total_requested
        == 0
    )


def test_a_backfill_of_one_dataset_touches_only_that_dataset(lake_on_mirror):
    lake, _, defs, instance = lake_on_mirror
    arena = "dataset = 'chatbot_arena_conversations'"
    arena_commit = lake.last_commit_metadata(("silver", "comparisons"), {"slice": arena})
    arena_bronze = lake.table(("bronze", "chatbot_arena_conversations")).version()
    force = {"ops": {"bronze__mt_bench_human_judgments": {"config": {"force": True}}}}
    job = defs.resolve_job_def("ingest_mt_bench_human_judgments")
    for split in job.partitions_def.get_partition_keys():
        assert job.execute_in_process(
            partition_key=split, instance=instance, run_config=force
        ).success
    rebuilt = materialize_tables(
        defs, instance, ("silver", "comparisons"), partition="mt_bench_human_judgments"
    )
    assert rebuilt.success
    assert lake.table(("bronze", "chatbot_arena_conversations")).version() == arena_bronze
    assert lake.last_commit_metadata(("silver", "comparisons"), {"slice": arena}) == arena_commit
