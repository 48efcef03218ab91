"""The production Dagster instance (deploy/dagster.yaml: PostgreSQL storage from the
environment) against a real local PostgreSQL: runs and materializations are stored there,
whichever process wrote them, and every other process reads them back."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance, DagsterRunStatus, materialize

from assets.bronze import bronze_asset, bronze_quarantine_spec
from orchestration.config import PROJECT_ROOT, SAMPLES_DIR
from storage.lake import Lake, Sources
from tests.scale.conftest import Postgres

DATASET = "mt_bench_human_judgments"
KEY = AssetKey(["bronze", DATASET])
DAGSTER = [sys.executable, "-m", "dagster"]


@pytest.fixture
def dagster_home(postgres: Postgres, tmp_path: Path, monkeypatch) -> Path:
    """DAGSTER_HOME holding deploy/dagster.yaml as shipped, and the DAGSTER_PG_* variables it
    reads (the Helm chart and docs/deploy.md set the same ones from a secret)."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    # A database of its own per test: the cluster is shared by the session.
    db_name = f"dagster_{os.urandom(4).hex()}"
    import psycopg2

    connection = psycopg2.connect(
        host=postgres.host, port=postgres.port, user=postgres.user, dbname=postgres.db_name
    )
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {db_name}")
    connection.close()
    for key, value in {
        "DAGSTER_PG_HOST": postgres.host,
        "DAGSTER_PG_PORT": str(postgres.port),
        "DAGSTER_PG_USERNAME": postgres.user,
        "DAGSTER_PG_PASSWORD": "unused-with-trust-auth",
        "DAGSTER_PG_DB": db_name,
    }.items():
        monkeypatch.setenv(key, value)
    return home


@pytest.fixture
def pg_instance(dagster_home: Path) -> Iterator[DagsterInstance]:
    """The instance as the webserver, the daemon and every run worker load it."""
    with DagsterInstance.get() as instance:
        yield instance


def query(sql: str, *args) -> list[tuple]:
    """Straight from PostgreSQL, bypassing Dagster, to prove where the rows are."""
    import psycopg2

    connection = psycopg2.connect(
        host=os.environ["DAGSTER_PG_HOST"],
        port=int(os.environ["DAGSTER_PG_PORT"]),
        user=os.environ["DAGSTER_PG_USERNAME"],
        dbname=os.environ["DAGSTER_PG_DB"],
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, args)
            return cursor.fetchall()
    finally:
        connection.close()


def test_the_shipped_dagster_yaml_puts_every_storage_in_postgres(pg_instance: DagsterInstance):
    assert type(pg_instance.run_storage).__name__ == "PostgresRunStorage"
    assert type(pg_instance.event_log_storage).__name__ == "PostgresEventLogStorage"
    assert type(pg_instance.schedule_storage).__name__ == "PostgresScheduleStorage"
    assert type(pg_instance.run_coordinator).__name__ == "QueuedRunCoordinator"
    assert pg_instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 4
    tables = {name for (name,) in query("SELECT tablename FROM pg_tables")}
    assert {"runs", "event_logs", "asset_keys", "jobs"} <= tables


def test_materializations_are_stored_in_postgres_and_read_back_by_another_process(
    pg_instance: DagsterInstance, catalogue, tmp_path: Path
):
    lake_root = tmp_path / "lake"
    lake = Lake(root=str(lake_root))
    sources = Sources(location="sample", samples_dir=str(SAMPLES_DIR))
    assets = [bronze_asset(spec) for spec in catalogue.values()]

    # One split in this process, as `materialize` / the in-process executor runs it ...
    result = materialize(
        [*assets, bronze_quarantine_spec(catalogue)],
        selection=[KEY],
        partition_key="human",
        resources={"lake": lake, "sources": sources},
        instance=pg_instance,
    )
    assert result.success

    # ... and one in a separate process that loads the code location and the instance from
    # the environment, as a Kubernetes run worker does (LAKE_ROOT, DAGSTER_HOME, DAGSTER_PG_*).
    select = ["--select", KEY.to_user_string(), "--partition", "gpt4_pair"]
    worker = subprocess.run(
        [*DAGSTER, "asset", "materialize", "-m", "orchestration.definitions", *select],
        cwd=PROJECT_ROOT,
        env={**os.environ, "LAKE_ROOT": str(lake_root), "LAKE_SOURCES": "sample"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert worker.returncode == 0, worker.stderr[-3000:]

    runs = pg_instance.get_runs()
    assert len(runs) == 2
    assert {r.status for r in runs} == {DagsterRunStatus.SUCCESS}
    assert {r.tags["dagster/partition"] for r in runs} == {"human", "gpt4_pair"}
    assert pg_instance.get_materialized_partitions(KEY) == {"human", "gpt4_pair"}
    latest = pg_instance.get_latest_materialization_event(KEY)
    assert latest is not None and latest.run_id in {r.run_id for r in runs}
    metadata = {k: v.value for k, v in latest.asset_materialization.metadata.items()}
    assert metadata["rows_written"] > 0
    assert metadata["rows_in"] == metadata["rows_written"] + metadata["rows_quarantined"]

    # The rows are in PostgreSQL itself, not in a local SQLite fallback.
    assert sorted(query("SELECT run_id, status FROM runs")) == sorted(
        (r.run_id, "SUCCESS") for r in runs
    )
    (stored,) = query(
        "SELECT count(*) FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'"
        " AND asset_key = %s AND partition IN ('human', 'gpt4_pair')",
        KEY.to_string(),
    )
    assert stored[0] == 2
    assert not list(Path(os.environ["DAGSTER_HOME"]).glob("**/*.db"))

    # A second instance (another pod: the webserver, the daemon) sees the same history.
    with DagsterInstance.get() as other:
        assert {r.run_id for r in other.get_runs()} == {r.run_id for r in runs}
        assert other.get_materialized_partitions(KEY) == {"human", "gpt4_pair"}
