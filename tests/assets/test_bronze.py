"""The bronze asset against a temporary lake, on the two datasets whose files are not plain
JSON Lines or plainly typed Parquet: hh-rlhf (gzipped JSON Lines, and one gzipped JSON
array) and oasst1 (Parquet with int32 columns). Every record lands once with its lineage,
a corrupt file is one rejection, and an unchanged source writes nothing."""

import shutil
from pathlib import Path

import polars as pl
from dagster import materialize

from assets.bronze import bronze_asset, bronze_quarantine_spec
from orchestration.config import SAMPLES_DIR
from storage.lake import Lake, Sources
from tests.e2e.conftest import materialization_metadata

HH = "Anthropic/hh-rlhf"


def build(catalogue, lake: Lake, sources: Sources, dataset: str, split: str) -> dict:
    assets = [bronze_asset(catalogue[dataset]), bronze_quarantine_spec(catalogue)]
    result = materialize(
        assets,
        selection=[assets[0].key],
        partition_key=split,
        resources={"lake": lake, "sources": sources},
    )
    assert result.success
    return materialization_metadata(result, assets[0].key)


def test_gzipped_lines_and_a_gzipped_array_land_row_for_row(catalogue, lake, sample_sources):
    build(catalogue, lake, sample_sources, "hh_rlhf", "train")
    build(catalogue, lake, sample_sources, "hh_rlhf_red_team", "train")
    pairs = lake.scan(("bronze", "hh_rlhf")).collect()
    files = dict(pairs.group_by("source_file").len().iter_rows())
    assert files == {
        f"{HH}/harmless-base/train.jsonl.gz": 6,
        f"{HH}/helpful-base/train.jsonl.gz": 8,
        f"{HH}/helpful-online/train.jsonl.gz": 7,
        f"{HH}/helpful-rejection-sampled/train.jsonl.gz": 6,
    }
    assert pairs["chosen"].str.starts_with("\n\nHuman: ").sum() >= 26
    attempts = lake.scan(("bronze", "hh_rlhf_red_team")).collect()
    assert attempts["source_row"].to_list() == list(range(6))  # the array's elements, in order
    assert attempts.schema["tags"] == pl.List(pl.String)
    assert attempts["num_params"].to_list()[0].endswith("B")


def test_int32_columns_conform_as_published(catalogue, lake, sample_sources):
    build(catalogue, lake, sample_sources, "oasst1", "train")
    messages = lake.scan(("bronze", "oasst1")).collect()
    assert messages.height == 43
    assert messages.schema["rank"] == pl.Int32
    assert messages.schema["emojis"] == pl.Struct(
        {"name": pl.List(pl.String), "count": pl.List(pl.Int32)}
    )


def test_a_corrupt_gzip_is_one_rejection_and_an_unchanged_source_writes_nothing(
    catalogue, lake, tmp_path
):
    mirror = tmp_path / "mirror"
    shutil.copytree(Path(SAMPLES_DIR) / HH, mirror / HH)
    broken = mirror / HH / "helpful-online" / "train.jsonl.gz"
    broken.write_bytes(broken.read_bytes()[:40])  # cut short
    sources = Sources(location=str(mirror), samples_dir=str(SAMPLES_DIR))
    first = build(catalogue, lake, sources, "hh_rlhf", "train")
    assert first["rows_quarantined"] == 1
    (rejected,) = lake.scan(("bronze", "quarantine")).collect().iter_rows(named=True)
    assert rejected["reason"] == "unreadable_file"
    assert rejected["source_file"].endswith("helpful-online/train.jsonl.gz")
    assert lake.scan(("bronze", "hh_rlhf")).collect().height == 6 + 8 + 6
    version = lake.version(("bronze", "hh_rlhf"))
    again = build(catalogue, lake, sources, "hh_rlhf", "train")
    assert again["status"] == "unchanged" and lake.version(("bronze", "hh_rlhf")) == version
