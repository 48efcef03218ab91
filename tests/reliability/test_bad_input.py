"""Bad input: every case is quarantined with its reason, or a clear error naming the file;
the other rows are unaffected and the counts reconcile."""

import json

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from storage.lake import Lake
from tests.reliability.conftest import copy_dataset, ingest

UC = "stingning/ultrachat"
MT = "lmsys/mt_bench_human_judgments"
GOOD = {"id": "1", "data": ["How do tides work?", "The Moon's gravity pulls the oceans."]}


def write_jsonl(mirror, name: str, data: bytes) -> None:
    folder = mirror / UC
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def bronze(lake: Lake, dataset: str) -> pl.DataFrame:
    return lake.scan(("bronze", dataset)).collect()


def quarantine(lake: Lake) -> pl.DataFrame:
    return lake.scan(("bronze", "quarantine")).collect()


def reconciles(meta: dict) -> bool:
    return meta["rows_in"] == meta["rows_written"] + meta["rows_quarantined"]


def test_a_truncated_parquet_file_is_quarantined_whole_and_the_other_files_load(mirror, lake):
    folder = copy_dataset(mirror, MT) / "data"
    good = next(folder.glob("human-*.parquet"))
    broken = folder / "human-00001-of-00002-ffffffffffffffff.parquet"
    broken.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    meta = ingest(mirror, lake, ["mt_bench_human_judgments"])[("mt_bench_human_judgments", "human")]
    assert bronze(lake, "mt_bench_human_judgments").filter(pl.col("split") == "human").height == 120
    (rejected,) = quarantine(lake).rows(named=True)
    assert rejected["reason"] == "unreadable_file"
    assert rejected["source_file"].endswith(broken.name) and rejected["source_row"] is None
    assert reconciles(meta)


def test_invalid_json_invalid_utf8_bom_and_crlf_lines(mirror, lake):
    lines = [
        b"\xef\xbb\xbf" + json.dumps(GOOD).encode(),
        b'{"id": "2", "data": ["unterminated',
        b'{"id": "3", "data": ["caf\xe9 au lait", "ok"]}',
        json.dumps({"id": "4", "data": ["a", "b"]}).encode(),
    ]
    write_jsonl(mirror, "train_0.jsonl", b"\r\n".join(lines) + b"\r\n")
    meta = ingest(mirror, lake, ["ultrachat"])[("ultrachat", "train")]
    assert sorted(bronze(lake, "ultrachat")["id"]) == ["1", "4"]
    reasons = dict(quarantine(lake).select("source_row", "reason").iter_rows())
    assert reasons == {1: "invalid_json", 2: "invalid_utf8"}
    assert reconciles(meta)


def test_missing_extra_mistyped_and_all_null_columns_in_parquet(mirror, lake):
    folder = copy_dataset(mirror, MT) / "data"
    original = pl.read_parquet(next(folder.glob("human-*.parquet")))
    for path in folder.glob("*.parquet"):
        path.unlink()
    frame = (
        original.head(6)
        .drop("judge")  # missing column (not required): null
        .with_columns(
            extra=pl.lit("x"),  # extra column: kept as JSON in extra_fields
            turn=pl.Series(["1", "2", "one", "1", "2", "1"]),  # wrong type
            model_b=pl.lit(None, pl.String),  # all-null column
        )
    )
    frame.write_parquet(folder / "human-00000-of-00001-aaaaaaaaaaaaaaaa.parquet")
    meta = ingest(mirror, lake, ["mt_bench_human_judgments"])[("mt_bench_human_judgments", "human")]
    rows = bronze(lake, "mt_bench_human_judgments")
    assert rows.height == 0  # a string `turn` does not fit int64: every row is quarantined
    assert set(quarantine(lake)["reason"]) == {"schema_mismatch"}
    assert reconciles(meta) and meta["rows_quarantined"] == 6


def test_extra_and_missing_columns_alone_are_tolerated(mirror, lake):
    folder = copy_dataset(mirror, MT) / "data"
    original = pl.read_parquet(next(folder.glob("human-*.parquet")))
    for path in folder.glob("*.parquet"):
        path.unlink()
    original.head(4).drop("judge").with_columns(extra=pl.lit("x")).write_parquet(
        folder / "human-00000-of-00001-aaaaaaaaaaaaaaaa.parquet"
    )
    ingest(mirror, lake, ["mt_bench_human_judgments"])
    rows = bronze(lake, "mt_bench_human_judgments")
    assert rows.height == 4
    assert rows["judge"].null_count() == 4
    assert json.loads(rows["extra_fields"][0]) == {"extra": "x"}


def test_empty_and_zero_row_files_add_nothing_and_fail_nothing(mirror, lake):
    write_jsonl(mirror, "train_0.jsonl", b"")
    write_jsonl(mirror, "train_1.jsonl", json.dumps(GOOD).encode() + b"\n")
    folder = copy_dataset(mirror, MT) / "data"
    schema = pq.read_schema(next(folder.glob("gpt4_pair-*.parquet")))
    pq.write_table(
        pa.Table.from_pylist([], schema=schema),
        folder / "gpt4_pair-00001-of-00002-bbbbbbbbbbbbbbbb.parquet",
    )
    meta = ingest(mirror, lake, ["ultrachat", "mt_bench_human_judgments"])
    assert bronze(lake, "ultrachat")["id"].to_list() == ["1"]
    assert (
        bronze(lake, "mt_bench_human_judgments").filter(pl.col("split") == "gpt4_pair").height == 80
    )
    assert all(reconciles(m) for m in meta.values())


def test_non_string_content_is_quarantined_with_the_field_named(mirror, lake):
    write_jsonl(
        mirror, "train_0.jsonl", json.dumps({"id": "9", "data": ["hi", 42]}).encode() + b"\n"
    )
    ingest(mirror, lake, ["ultrachat"])
    (rejected,) = quarantine(lake).rows(named=True)
    assert rejected["reason"] == "schema_mismatch"
    assert "data[1]: expected string, got int" in rejected["detail"]


def test_a_source_path_escaping_the_mirror_is_a_clear_error(mirror, lake, tmp_path):
    outside = tmp_path / "outside.jsonl"
    outside.write_text(json.dumps(GOOD) + "\n")
    (mirror / UC).mkdir(parents=True)
    (mirror / UC / "train_0.jsonl").symlink_to(outside)
    with pytest.raises(Exception, match="outside the mirror"):
        ingest(mirror, lake, ["ultrachat"])
    assert lake.table(("bronze", "ultrachat")) is None
