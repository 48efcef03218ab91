"""Bronze, end to end on the bundled samples: every source row lands once, faithfully,
or in quarantine with its reason; reruns on unchanged sources write nothing."""

import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from orchestration.config import SAMPLES_DIR
from storage.hub import HubUnavailable
from storage.lake import Sources, hub_file
from tests.e2e.conftest import run_bronze
from tests.orchestration.fake_hub import FakeHub, FakeRepo

PARQUET_DATASETS = ("ultrachat_200k", "chatbot_arena_conversations", "mt_bench_human_judgments")
JSONL_DATASETS = ("ultrachat", "ultrafeedback")


def test_every_split_lands_with_exactly_the_schema_valid_rows(
    catalogue, lake, sample_sources, instance, manifest
):
    metadata = run_bronze(catalogue, lake, sample_sources, instance)
    for dataset, splits in manifest["rows"].items():
        table = lake.scan(("bronze", dataset)).collect()
        for split, counts in splits.items():
            rows = table.filter(pl.col("split") == split)
            assert rows.height == counts["schema_valid"], (dataset, split)
            meta = metadata[(dataset, split)]
            assert meta["rows_in"] == counts["lines"] - meta["blank_lines_skipped"]
            assert meta["rows_in"] == meta["rows_written"] + meta["rows_quarantined"]
            assert meta["rows_quarantined"] == counts["lines"] - counts["schema_valid"]


def test_broken_lines_are_quarantined_at_their_exact_position(
    catalogue, lake, sample_sources, instance, manifest
):
    run_bronze(catalogue, lake, sample_sources, instance)
    quarantine = lake.scan(("bronze", "quarantine")).collect()
    expected = {
        (m["dataset"], m["source_file"], m["source_row"])
        for m in manifest["malformed"]
        if m["kind"] in ("broken_json", "data_not_list")
    }
    found = set(quarantine.select("dataset", "source_file", "source_row").iter_rows())
    assert found == expected
    assert set(quarantine["reason"]) == {"invalid_json", "schema_mismatch"}
    assert quarantine["payload"].str.len_chars().min() > 0


def test_rows_are_copied_without_any_text_change(catalogue, lake, sample_sources, instance):
    run_bronze(catalogue, lake, sample_sources, instance, datasets=["ultrachat"])
    raw = (SAMPLES_DIR / "stingning/ultrachat/train_0.jsonl").read_bytes().split(b"\n")
    bronze = (
        lake.scan(("bronze", "ultrachat"))
        .filter(pl.col("source_file") == "stingning/ultrachat/train_0.jsonl")
        .collect()
    )
    for row in bronze.iter_rows(named=True):
        record = json.loads(raw[row["source_row"]])
        assert row["data"] == record["data"]
        assert row["id"] == str(record["id"])
    assert bronze["license"].unique().to_list() == ["MIT"]
    assert bronze["content_hash"].str.len_chars().unique().to_list() == [64]


def test_arena_keeps_its_hub_types_and_its_field_level_licence(
    catalogue, lake, sample_sources, instance
):
    run_bronze(catalogue, lake, sample_sources, instance, datasets=["chatbot_arena_conversations"])
    arena = lake.scan(("bronze", "chatbot_arena_conversations")).collect()
    assert (
        arena.schema["openai_moderation"]
        == catalogue["chatbot_arena_conversations"].polars_schema["openai_moderation"]
    )
    assert arena.schema["tstamp"] == pl.Float64 and arena.schema["turn"] == pl.Int64
    assert arena["license"].unique().to_list() == ["CC-BY-4.0 AND CC-BY-NC-4.0"]
    assert arena["license_class"].unique().to_list() == ["by_nc"]


def test_a_second_run_on_unchanged_sources_writes_no_new_version(
    catalogue, lake, sample_sources, instance
):
    run_bronze(catalogue, lake, sample_sources, instance, datasets=["ultrachat_200k"])
    version = lake.table(("bronze", "ultrachat_200k")).version()
    rows = lake.scan(("bronze", "ultrachat_200k")).collect().height
    again = run_bronze(catalogue, lake, sample_sources, instance, datasets=["ultrachat_200k"])
    assert {m["status"] for m in again.values()} == {"unchanged"}
    assert lake.table(("bronze", "ultrachat_200k")).version() == version
    forced = run_bronze(
        catalogue,
        lake,
        sample_sources,
        instance,
        datasets=["ultrachat_200k"],
        run_config={"ops": {"bronze__ultrachat_200k": {"config": {"force": True}}}},
    )
    assert {m["status"] for m in forced.values()} == {"written"}
    assert lake.scan(("bronze", "ultrachat_200k")).collect().height == rows


def test_a_changed_file_rewrites_only_its_split(catalogue, lake, instance, tmp_path):
    mirror = tmp_path / "mirror"
    shutil.copytree(SAMPLES_DIR / "lmsys", mirror / "lmsys")
    sources = Sources(location=str(mirror), samples_dir=str(SAMPLES_DIR))
    run_bronze(catalogue, lake, sources, instance, datasets=["mt_bench_human_judgments"])
    human = next((mirror / "lmsys/mt_bench_human_judgments/data").glob("human-*.parquet"))
    pl.read_parquet(human).head(10).write_parquet(human)
    again = run_bronze(catalogue, lake, sources, instance, datasets=["mt_bench_human_judgments"])
    assert again[("mt_bench_human_judgments", "human")]["status"] == "written"
    assert again[("mt_bench_human_judgments", "gpt4_pair")]["status"] == "unchanged"
    table = lake.scan(("bronze", "mt_bench_human_judgments")).collect()
    assert table.group_by("split").len().sort("split").rows() == [("gpt4_pair", 80), ("human", 10)]


def test_a_mirror_directory_ingests_what_it_has_and_reports_what_it_lacks(
    catalogue, lake, instance, tmp_path, manifest
):
    mirror = tmp_path / "mirror"
    shutil.copytree(SAMPLES_DIR / "lmsys", mirror / "lmsys")
    sources = Sources(location=str(mirror), samples_dir=str(SAMPLES_DIR))
    metadata = run_bronze(catalogue, lake, sources, instance)
    arena = lake.scan(("bronze", "chatbot_arena_conversations")).collect()
    assert arena.height == manifest["rows"]["chatbot_arena_conversations"]["train"]["schema_valid"]
    assert metadata[("ultrachat", "train")]["status"] == "source files missing"
    assert lake.scan(("bronze", "ultrachat")).collect().height == 0


def test_hub_mode_reads_pinned_hf_paths_once_the_hub_confirms_the_revision(catalogue):
    spec = catalogue["chatbot_arena_conversations"]
    file = hub_file(spec, spec.splits["train"][0])
    assert (
        file.uri
        == f"hf://datasets/lmsys/chatbot_arena_conversations@{spec.revision}/data/train-*.parquet"
    )
    repo = FakeRepo(commit=spec.revision, files={})
    with FakeHub({spec.hub_repo: repo}) as hub:
        sources = Sources(location="hub", samples_dir="unused", hub_endpoint=hub.url)
        assert sources.files(spec, "train") == [file]
        repo.commit = "0" * 40  # the pinned commit is gone from the Hub
        with pytest.raises(HubUnavailable, match=f"revision {spec.revision} does not exist"):
            sources.files(spec, "train")


def test_a_symlink_out_of_the_mirror_is_refused(catalogue, tmp_path):
    mirror = tmp_path / "mirror" / "stingning" / "ultrachat"
    mirror.mkdir(parents=True)
    secret = tmp_path / "secret.jsonl"
    secret.write_text('{"id": "0", "data": ["a", "b"]}\n')
    (mirror / "train_0.jsonl").symlink_to(secret)
    sources = Sources(location=str(tmp_path / "mirror"), samples_dir="unused")
    try:
        sources.files(catalogue["ultrachat"], "train")
    except ValueError as error:
        assert "outside the mirror" in str(error)
    else:
        raise AssertionError("a file outside the mirror was read")
    assert Path(secret).exists()


def test_files_are_read_in_batches_with_the_same_rows_and_positions(
    catalogue, sample_sources, instance, tmp_path
):
    """`batch_rows` bounds memory, Parquet and JSON Lines alike (a published UltraChat file
    is ~1 GB of lines); rows, source positions and rejections do not change."""
    from storage.lake import Lake

    datasets = (*PARQUET_DATASETS, *JSONL_DATASETS)

    def ingest(name: str, batch_rows: int) -> tuple[pl.DataFrame, pl.DataFrame]:
        lake = Lake(root=str(tmp_path / name))
        for dataset in datasets:
            config = {"ops": {f"bronze__{dataset}": {"config": {"batch_rows": batch_rows}}}}
            run_bronze(catalogue, lake, sample_sources, instance, [dataset], run_config=config)
        order = ["dataset", "split", "source_file", "source_row"]
        rows = pl.concat(
            lake.scan(("bronze", d)).select(*order, "content_hash").collect() for d in datasets
        )
        quarantine = lake.scan(("bronze", "quarantine")).select(*order, "reason").collect()
        return rows.sort(order), quarantine.sort(order)

    whole, whole_quarantine = ingest("whole", 1_000_000)
    batched, batched_quarantine = ingest("batched", 3)
    assert whole.height > 100
    assert set(whole["dataset"]) == set(datasets)
    assert set(whole_quarantine["dataset"]) >= set(JSONL_DATASETS)  # bad lines, in batches too
    assert batched.equals(whole)
    assert batched_quarantine.equals(whole_quarantine)
