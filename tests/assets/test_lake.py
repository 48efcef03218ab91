"""The lake's Delta IO (docs/decisions/0001-delta-io.md): the properties it was chosen for."""

import duckdb
import polars as pl
import pyarrow.dataset as pds

from assets.lake import Lake

KEY = ("bronze", "example")


def frame(split: str, texts: list[str]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "split": [split] * len(texts),
            "text": texts,
            "messages": [[{"content": t, "role": "user"}] for t in texts],
        }
    )


def test_partitioned_write_read_replace_and_time_travel(lake: Lake):
    v0 = lake.write(
        KEY, frame("train", ["a", "b"]), partition_by=["split"], replace={"split": "train"}
    )
    v1 = lake.write(KEY, frame("test", ["c"]), partition_by=["split"], replace={"split": "test"})
    # Version 0 is the empty table, created first so racing writers never erase each other.
    assert (v0.version, v1.version) == (1, 2)
    assert lake.scan(KEY, version=0).collect().height == 0
    assert sorted(lake.scan(KEY).collect()["text"]) == ["a", "b", "c"]

    # Replacing one partition leaves the other alone and never duplicates rows.
    v2 = lake.write(KEY, frame("train", ["a2"]), partition_by=["split"], replace={"split": "train"})
    assert sorted(lake.scan(KEY).collect()["text"]) == ["a2", "c"]

    # Time travel: each earlier version reads back exactly as it was.
    assert sorted(lake.scan(KEY, version=1).collect()["text"]) == ["a", "b"]
    assert sorted(lake.scan(KEY, version=2).collect()["text"]) == ["a", "b", "c"]
    assert v2.version == 3


def test_tables_are_readable_through_pyarrow_dataset_filters_and_duckdb(lake: Lake):
    lake.write(KEY, frame("train", ["a", "b"]), partition_by=["split"], replace={"split": "train"})
    dataset = lake.table(KEY).to_pyarrow_dataset()
    assert dataset.to_table(filter=pds.field("text") == "b").num_rows == 1
    arrow = dataset.to_table()
    rows = duckdb.sql("select count(*) from arrow where text = 'a'").fetchall()
    assert rows == [(1,)]
    assert not any("view" in str(f.type) for f in arrow.schema)


def test_commit_metadata_records_what_a_partition_was_built_from(lake: Lake):
    lake.write(
        KEY,
        frame("train", ["a"]),
        partition_by=["split"],
        replace={"split": "train"},
        commit_metadata={"partition": "split=train", "sources": "fp1"},
    )
    lake.write(
        KEY,
        frame("test", ["b"]),
        partition_by=["split"],
        replace={"split": "test"},
        commit_metadata={"partition": "split=test", "sources": "fp2"},
    )
    assert lake.last_commit_metadata(KEY, {"partition": "split=train"})["sources"] == "fp1"
    assert lake.last_commit_metadata(KEY, {"partition": "split=none"}) is None
