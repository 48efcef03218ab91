"""The lake on an S3 API (moto's server mode on 127.0.0.1): the whole pipeline, reads through
every reader, and concurrent writers to one table (no lost commits, no lost rows)."""

from __future__ import annotations

import json
import multiprocessing
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import deltalake
import polars as pl
import pytest
from dagster import DagsterInstance, Definitions

from orchestration.config import SAMPLES_DIR, storage_options
from orchestration.definitions import build_definitions
from orchestration.read import LAYERS, lake_tables, read_table, release_manifest, sql
from orchestration.runner import materialize_everything
from storage.lake import Lake, Sources
from tests.scale import writers
from tests.scale.conftest import S3
from tests.scale.writers import ROWS, batch

WRITERS = 4
ROUNDS = 3


@dataclass(frozen=True)
class BuiltLake:
    lake: Lake
    defs: Definitions
    instance: DagsterInstance
    tables: list[str]  # `<layer>/<table>` of every table the definitions declare


@pytest.fixture(scope="module")
def s3_lake(s3: S3) -> Iterator[BuiltLake]:
    """The whole lake built from the samples onto S3, as `LAKE_ROOT=s3://… make demo` would."""
    lake = Lake(root=s3.uri("lake"), storage_options=storage_options())
    defs = build_definitions(lake, Sources(location="sample", samples_dir=str(SAMPLES_DIR)))
    tables = sorted(
        "/".join(key.path)
        for key in defs.resolve_asset_graph().get_all_asset_keys()
        if key.path[0] in LAYERS
    )
    with DagsterInstance.ephemeral() as instance:
        materialize_everything(defs, instance)
        yield BuiltLake(lake, defs, instance, tables)


def test_storage_options_come_from_the_environment(s3: S3):
    options = storage_options()
    assert options["AWS_ENDPOINT_URL"] == s3.endpoint
    assert options["AWS_CONDITIONAL_PUT"] == "etag"


def test_every_table_is_a_delta_table_in_the_bucket_and_reads_back(s3: S3, s3_lake: BuiltLake):
    lake, tables = s3_lake.lake, s3_lake.tables
    assert {"bronze/quarantine", "silver/conversations", "gold/prefs_by"} <= set(tables)
    keys = set(s3.keys("lake/"))
    for table in tables:
        assert f"lake/{table}/_delta_log/00000000000000000000.json" in keys, table
        uri = f"{lake.root}/{table}"
        # The three readers a consumer uses: Polars, deltalake/Arrow, and the lake's own API.
        frame = pl.scan_delta(uri, storage_options=storage_options()).collect()
        arrow = deltalake.DeltaTable(uri, storage_options=storage_options()).to_pyarrow_table()
        assert frame.height == arrow.num_rows, table
        assert read_table(table, root=lake.root).collect().height == frame.height, table
    for table in ("silver/conversations", "silver/comparisons", "gold/sft_by", "gold/prefs_by"):
        assert read_table(table, root=lake.root).collect().height > 0, table


def test_tables_are_found_and_queried_with_sql_on_s3(s3_lake: BuiltLake):
    lake, tables = s3_lake.lake, s3_lake.tables
    found = lake_tables(lake.root)
    assert sorted(name.replace("_", "/", 1) for name in found) == tables
    counts = sql(
        "SELECT dataset, count(*) AS n FROM silver_comparisons GROUP BY dataset", root=lake.root
    )
    duck = sql(
        "SELECT dataset, count(*) AS n FROM silver_comparisons GROUP BY dataset",
        engine="duckdb",
        root=lake.root,
    )
    assert counts.sort("dataset").equals(duck.sort("dataset").cast(counts.schema))


def test_a_release_manifest_is_written_to_s3_and_resolves_pinned_versions(
    s3: S3, s3_lake: BuiltLake
):
    lake = s3_lake.lake
    manifests = [k for k in s3.keys("lake/releases/") if k.endswith("/manifest.json")]
    assert len(manifests) == 1, manifests
    tag = manifests[0].split("/")[2]
    assert f"lake/releases/{tag}/README.md" in s3.keys("lake/releases/")
    manifest = release_manifest(tag, root=lake.root)
    assert manifest["tag"] == tag
    for name, pin in manifest["tables"].items():
        assert pin["uri"] == f"{lake.root}/gold/{name}"
        pinned = read_table(f"gold/{name}", release=tag, root=lake.root).collect()
        assert pinned.height == pin["rows"], name


def test_rewriting_the_same_rows_on_s3_commits_nothing(s3: S3):
    """Unchanged input makes no new version: the content digest is read back from the commit
    history on S3 (what lets an unchanged rebuild of the lake write nothing)."""
    lake = Lake(root=s3.uri("idempotent"), storage_options=storage_options())
    first = lake.write(
        ("bronze", "t"), batch(0, 0), partition_by=["split"], replace={"split": "w0"}
    )
    again = lake.write(
        ("bronze", "t"), batch(0, 0), partition_by=["split"], replace={"split": "w0"}
    )
    assert (first.committed, again.committed) == (True, False)
    assert again.version == first.version == 1  # version 0 is the empty table's creation
    changed = lake.write(
        ("bronze", "t"), batch(0, 1), partition_by=["split"], replace={"split": "w0"}
    )
    assert changed.committed and changed.version == 2


# --- concurrent writers ---------------------------------------------------------------------
#
# Each writer is a separate process (as separate Kubernetes pods or Celery workers are), with
# the same environment; they start together on a barrier so their commits race.


def _race(target, root: str, rounds: int = ROUNDS, key: tuple[str, str] | None = None) -> list[str]:
    """Run WRITERS processes of `target` at once; returns what went wrong in them."""
    # Fresh processes, not forks of this one (its Tokio runtimes and locks do not survive a
    # fork); a fork server that has imported the writers once makes them cheap to start.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["tests.scale.writers"])
    barrier = context.Barrier(WRITERS)
    errors = context.Queue()
    processes = [
        context.Process(
            target=target, args=(root, storage_options(), w, rounds, barrier, errors, key)
        )
        for w in range(WRITERS)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    problems = []
    while not errors.empty():
        problems.append(errors.get())
    for process in processes:
        if process.is_alive():
            process.kill()
            problems.append(f"{process.name} did not finish")
        elif process.exitcode != 0 and not problems:
            problems.append(f"{process.name} exited {process.exitcode}")
    return problems


def _commits(s3: S3, table_prefix: str) -> list[dict]:
    """Every commit in the table's Delta log, in version order, parsed."""
    import boto3

    client = boto3.client("s3", endpoint_url=s3.endpoint)
    names = (k.rsplit("/", 1) for k in s3.keys(f"{table_prefix}/_delta_log/"))
    keys = sorted(f"{d}/{n}" for d, n in names if n.endswith(".json") and n[:20].isdigit())
    commits = []
    for key in keys:
        body = client.get_object(Bucket=s3.bucket, Key=key)["Body"].read().decode()
        commits.append([json.loads(line) for line in body.splitlines() if line])
    return commits


def test_concurrent_writers_replacing_different_partitions_all_land(s3: S3):
    root = s3.uri("race-replace")
    lake = Lake(root=root, storage_options=storage_options())
    seed = batch(99, 0).with_columns(split=pl.lit("seed"))
    lake.write(("bronze", "racing"), seed, partition_by=["split"], replace={"split": "seed"})

    assert _race(writers.replace_partition, root) == []
    # The writers did race: some commits were refused (412) and retried on the newer version.
    assert s3.rejected_puts("race-replace/bronze/racing/_delta_log/"), "no commit ever collided"

    table = lake.table(("bronze", "racing"))
    commits = _commits(s3, "race-replace/bronze/racing")
    # One log entry per version, no gaps: the table's creation, the seed, and every writer's
    # every round, each committed exactly once.
    assert len(commits) == 2 + WRITERS * ROUNDS == table.version() + 1
    final = lake.scan(("bronze", "racing")).collect()
    assert final.filter(pl.col("split") == "seed").equals(seed.select(final.columns))
    for writer in range(WRITERS):
        rows = final.filter(pl.col("split") == f"w{writer}").sort("row")
        # Only the last round survives in each partition: replaced, never duplicated.
        assert rows.height == ROWS, writer
        assert rows["round"].unique().to_list() == [ROUNDS - 1], writer
    assert final.height == ROWS * (WRITERS + 1)
    # No data file is referenced twice or missing: the table reads through deltalake too.
    assert table.to_pyarrow_table().num_rows == final.height


def test_concurrent_first_writers_of_a_new_table_all_land(s3: S3):
    """Bronze splits fanned out over workers on an empty lake: each run's first write races
    to create the table (and bronze/quarantine, written by every split)."""
    root = s3.uri("race-create")
    lake = Lake(root=root, storage_options=storage_options())
    for attempt in range(3):  # the race is lost often, not always; each attempt a new table
        key = ("bronze", f"racing_{attempt}")
        assert _race(writers.replace_partition, root, rounds=1, key=key) == []
        final = lake.scan(key).collect()
        assert sorted(final["split"].unique()) == [f"w{w}" for w in range(WRITERS)], attempt
        assert final.height == ROWS * WRITERS


def test_concurrent_appenders_to_one_table_lose_no_rows(s3: S3):
    root = s3.uri("race-append")
    lake = Lake(root=root, storage_options=storage_options())
    lake.append(("silver", "racing_cache"), batch(99, 0))

    assert _race(writers.append_batches, root) == []
    assert s3.rejected_puts("race-append/silver/racing_cache/_delta_log/"), "no commit collided"

    commits = _commits(s3, "race-append/silver/racing_cache")
    assert len(commits) == 1 + WRITERS * ROUNDS
    final = lake.scan(("silver", "racing_cache")).collect()
    assert final.height == ROWS * (1 + WRITERS * ROUNDS)
    assert final.select("split", "round").unique().height == 1 + WRITERS * ROUNDS
    assert final.select("split", "round", "row").is_duplicated().sum() == 0


def test_threads_sharing_one_process_also_commit_safely(s3: S3):
    """Dagster's in-process executor and thread pools write from threads of one process."""
    root = s3.uri("race-threads")
    lake = Lake(root=root, storage_options=storage_options())
    lake.append(("silver", "racing_cache"), batch(99, 0))
    barrier = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def append(writer: int) -> None:
        try:
            barrier.wait()
            for round_ in range(ROUNDS):
                lake.append(("silver", "racing_cache"), batch(writer, round_))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=append, args=(w,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert lake.scan(("silver", "racing_cache")).collect().height == ROWS * (1 + WRITERS * ROUNDS)
    assert lake.table(("silver", "racing_cache")).version() == WRITERS * ROUNDS
