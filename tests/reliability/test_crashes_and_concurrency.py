"""Crashes and concurrent runs: a killed write leaves the table readable at its previous
version; the next run, or two runs at once, end with exactly the expected rows."""

import base64
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

from storage.lake import Lake

ROOT = Path(__file__).resolve().parents[2]
DATA = "HuggingFaceH4/ultrachat_200k/data"
KEY = ("bronze", "ultrachat_200k")


def big_split(mirror: Path, split: str, rows: int) -> int:
    """A split file of `rows` distinct dialogues, large enough that writing it takes a while:
    each prompt carries 1,500 random base64 characters, which the lake's zstd cannot shrink
    much (a repeated sentence compressed so well that a 60,000-row write could commit
    between two polls of the test that kills it midway)."""
    (mirror / DATA).mkdir(parents=True, exist_ok=True)
    noise = random.Random(f"{split}:{rows}")
    prompts = [
        f"{i}: Explain this. {base64.b64encode(noise.randbytes(1_125)).decode()}"
        for i in range(rows)
    ]
    pl.DataFrame(
        {
            "prompt": prompts,
            "prompt_id": [str(i) for i in range(rows)],
            "messages": [
                [{"content": p, "role": "user"}, {"content": "Sure.", "role": "assistant"}]
                for p in prompts
            ],
        }
    ).write_parquet(mirror / DATA / f"{split}-00000-of-00001-dddddddddddddddd.parquet")
    return rows


def start(mirror: Path, lake: Lake, split: str) -> subprocess.Popen:
    """Materialize `split` in a child process whose temporary files (the write's spool)
    go under the mirror's folder, so a child killed mid-write leaves nothing in /tmp."""
    spool_dir = mirror.parent / "child-tmp"
    spool_dir.mkdir(exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "tests.reliability.materialize_split",
        str(mirror),
        lake.root,
        "ultrachat_200k",
        split,
    ]
    return subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, "TMPDIR": str(spool_dir)},
    )


def data_files(lake: Lake) -> set[Path]:
    """Every file under the table's partitions, including ones still being written
    (the local object store writes `<name>#<n>` and renames it when complete)."""
    return {
        p for p in Path(lake.root, *KEY).rglob("*") if p.is_file() and "_delta_log" not in p.parts
    }


def rows_by_split(lake: Lake, version: int | None = None) -> dict[str, int]:
    frame = lake.scan(KEY, version=version).group_by("split").len().collect()
    return dict(frame.iter_rows())


def test_a_write_killed_midway_leaves_the_previous_version_and_the_rerun_is_exact(mirror, lake):
    expected_small = big_split(mirror, "train_sft", 50)
    assert start(mirror, lake, "train_sft").wait(timeout=300) == 0
    version = lake.table(KEY).version()
    before = data_files(lake)

    expected = big_split(mirror, "train_sft", 60_000)
    child = start(mirror, lake, "train_sft")
    deadline = time.monotonic() + 300
    while not (data_files(lake) - before) and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    os.killpg(child.pid, signal.SIGKILL)  # data files are being written; no commit yet
    child.wait()
    assert lake.table(KEY).version() == version, "the killed run must not have committed"
    assert data_files(lake) - before, "the kill must have come in the middle of writing"
    assert rows_by_split(lake) == {"train_sft": expected_small}

    assert start(mirror, lake, "train_sft").wait(timeout=300) == 0
    table = lake.scan(KEY).collect()
    assert table.height == expected
    assert table["source_row"].n_unique() == expected  # no duplicates, no gaps
    assert rows_by_split(lake, version) == {"train_sft": expected_small}  # history intact


def test_two_runs_writing_the_same_table_at_once_lose_nothing(mirror, lake):
    sizes = {"train_sft": 20_000, "test_sft": 15_000}
    for split, rows in sizes.items():
        big_split(mirror, split, rows)
    # Four runs at once: two per split, both splits being replaced in the same table.
    children = [start(mirror, lake, split) for split in sizes for _ in range(2)]
    assert [child.wait(timeout=600) for child in children] == [0, 0, 0, 0]
    assert rows_by_split(lake) == sizes
    table = lake.scan(KEY).collect()
    for split, rows in sizes.items():
        assert table.filter(pl.col("split") == split)["source_row"].n_unique() == rows
    assert table["content_hash"].null_count() == 0


def test_a_silver_slice_that_fails_half_way_changes_nothing(tmp_path, monkeypatch):
    """Silver commits a slice once, after its last batch: a failure in the third batch
    leaves the table and its ledger slices at their versions; the rerun completes."""
    from dagster import AssetKey, DagsterInstance, materialize

    import storage.silver_slice
    from orchestration.config import SAMPLES_DIR
    from orchestration.definitions import build_definitions
    from orchestration.runner import materialize_everything
    from storage.lake import Sources

    lake = Lake(root=str(tmp_path / "lake"))
    defs = build_definitions(lake, Sources(location="sample", samples_dir=str(SAMPLES_DIR)))
    tables = [("silver", t) for t in ("dialogues", "pii_audit", "quarantine")]
    with DagsterInstance.ephemeral() as instance:
        materialize_everything(defs, instance)
        before = {key: lake.table(key).version() for key in tables}
        rows_before = lake.scan(("silver", "dialogues")).collect().sort("conversation_id")

        real = storage.silver_slice.tag_and_scrub
        calls = []

        def dies_in_the_third_batch(*args, **kwargs):
            calls.append(1)
            if len(calls) == 3:
                raise OSError("host lost")
            return real(*args, **kwargs)

        def rebuild() -> bool:
            return materialize(
                [*defs.assets, *defs.asset_checks],
                selection=[AssetKey(["silver", "dialogues"])],
                partition_key="ultrachat_200k",
                resources=defs.resources,
                instance=instance,
                raise_on_error=False,
                run_config={
                    "ops": {"silver__dialogues": {"config": {"force": True, "batch_rows": 20}}}
                },
            ).success

        monkeypatch.setattr(storage.silver_slice, "tag_and_scrub", dies_in_the_third_batch)
        assert rebuild() is False
        assert len(calls) == 3
        assert {key: lake.table(key).version() for key in tables} == before
        monkeypatch.setattr(storage.silver_slice, "tag_and_scrub", real)
        assert rebuild() is True
    rows_after = lake.scan(("silver", "dialogues")).collect().sort("conversation_id")
    assert rows_after.equals(rows_before)


def test_an_increment_stopped_between_its_ledger_rows_and_its_commit_is_rebuilt(
    tmp_path, monkeypatch
):
    """An increment appends its audit rows before the slice's commit: if it dies in
    between, the next run sees the orphaned rows' tag and rebuilds the slice whole, so the
    audit holds each finding once."""
    import deltalake
    from dagster import DagsterInstance

    import storage.lake
    from orchestration.runner import materialize_everything
    from tests.e2e.conftest import latest_metadata
    from tests.e2e.test_increments import fresh_rows, lake_on_copied_samples, new_shard

    mirror, lake, defs = lake_on_copied_samples(tmp_path)
    audit = ("silver", "pii_audit")
    finding = ["table", "dataset", "row_key", "field", "turn_index", "start"]
    real = deltalake.write_deltalake

    def commit_lost(uri, data, **kwargs):
        if uri.endswith("silver/dialogues") and kwargs.get("mode") == "append":
            raise OSError("host lost before the commit")
        return real(uri, data, **kwargs)

    with DagsterInstance.ephemeral() as instance:
        materialize_everything(defs, instance)
        new_shard(mirror, "train_sft-00001-of-00002-eeeeeeeeeeeeeeee.parquet", fresh_rows(12))
        monkeypatch.setattr(storage.lake.deltalake, "write_deltalake", commit_lost)
        try:
            materialize_everything(defs, instance)
        except Exception as error:  # the run fails, as it should
            assert "host lost" in str(error)
        else:
            raise AssertionError("the run should have failed")
        assert orphans(lake).height > 0  # audit rows of dialogues the table never got
        monkeypatch.setattr(storage.lake.deltalake, "write_deltalake", real)
        materialize_everything(defs, instance)
        meta = latest_metadata(instance, ("silver", "dialogues"), "ultrachat_200k")
    assert meta["status"] == "rebuilt"
    findings = lake.scan(audit).select(finding).collect()
    assert findings.height == findings.unique().height
    assert orphans(lake).height == 0


def orphans(lake: Lake) -> pl.DataFrame:
    """Audit rows of silver/dialogues naming a dialogue the table does not hold."""
    held = lake.scan(("silver", "dialogues")).select(
        pl.col("dataset"), pl.col("conversation_id").alias("row_key")
    )
    return (
        lake.scan(("silver", "pii_audit"))
        .filter(pl.col("table") == "silver/dialogues")
        .join(held, on=["dataset", "row_key"], how="anti")
        .collect()
    )
