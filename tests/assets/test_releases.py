"""The release asset against a temporary lake holding only gold tables: it pins each
table's version, writes a dataset folder whose card credits every dataset with its
licence, and refuses to reuse a tag for other rows."""

import json
from pathlib import Path

import polars as pl
import pytest
from dagster import materialize

from assets.releases import release_assets
from storage.lake import Lake
from transforms.binarize import PAIR_SCHEMA
from transforms.gold import PROMPT_SCHEMA, SFT_SCHEMA

LINEAGE = {"split": "train", "source_file": "f", "source_row": 0, "lang": "en"}


def sft_row(i: int, dataset: str, licence: str, cls: str) -> dict:
    return {
        **LINEAGE, "example_id": f"e{i}", "dataset": dataset, "source_id": f"s{i}",
        "messages": [
            {"role": "user", "content": f"How do I sort list number {i}?"},
            {"role": "assistant", "content": "Call sorted() on it."},
        ],
        "license": licence, "license_class": cls,
    }  # fmt: skip


def pair_row(i: int, dataset: str, policy: str, licence: str, cls: str) -> dict:
    return {
        **LINEAGE, "pair_id": f"p{i}", "dataset": dataset, "source_id": f"s{i}",
        "policy": policy, "prompt": [{"role": "user", "content": f"Question {i}?"}],
        "chosen": [{"role": "assistant", "content": "A careful answer."}],
        "rejected": [{"role": "assistant", "content": "No."}],
        "score_chosen": 1.0, "score_rejected": 0.0, "license": licence, "license_class": cls,
    }  # fmt: skip


def gold(lake: Lake, sft_rows: int = 3) -> None:
    tables = {
        "sft_by": pl.DataFrame(
            [sft_row(i, "oasst1", "Apache-2.0", "by") for i in range(sft_rows)], schema=SFT_SCHEMA
        ),
        "sft_by_nc": pl.DataFrame(schema=SFT_SCHEMA),
        "prefs_by": pl.DataFrame(
            [pair_row(0, "hh_rlhf", "hh_rlhf_chosen_drop_ties", "MIT", "by")], schema=PAIR_SCHEMA
        ),
        "prefs_by_nc": pl.DataFrame(
            [
                pair_row(
                    1,
                    "chatbot_arena_conversations",
                    "arena_winner_drop_ties",
                    "CC-BY-4.0 AND CC-BY-NC-4.0",
                    "by_nc",
                )
            ],
            schema=PAIR_SCHEMA,
        ),
        "prompts_by": pl.DataFrame(
            [
                {
                    **LINEAGE,
                    "prompt_id": "q0",
                    "dataset": "hh_rlhf",
                    "source_id": "s0",
                    "prompt": "Question 0?",
                    "license": "MIT",
                    "license_class": "by",
                }
            ],
            schema=PROMPT_SCHEMA,
        ),
    }
    for name, frame in tables.items():
        lake.write(("gold", name), frame, commit_metadata={"decontaminated": "{}"})


def release(catalogue, lake: Lake, tag: str, export: tuple[str, ...] = ()) -> dict:
    assets = release_assets(catalogue, {})
    result = materialize(
        assets,
        selection=[assets[0].key],
        resources={"lake": lake},
        run_config={
            "ops": {"releases__manifest": {"config": {"tag": tag, "export": list(export)}}}
        },
    )
    assert result.success
    (event,) = result.get_asset_materialization_events()
    return {k: v.value for k, v in event.materialization.metadata.items()}


def test_a_release_pins_each_table_and_credits_each_dataset(catalogue, lake):
    gold(lake)
    release(catalogue, lake, "r1")
    folder = Path(lake.root, "releases", "r1")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert {name: pin["rows"] for name, pin in manifest["tables"].items()} == {
        "sft_by": 3, "sft_by_nc": 0, "prefs_by": 1, "prefs_by_nc": 1, "prompts_by": 1,
    }  # fmt: skip
    assert manifest["policies"] == ["arena_winner_drop_ties", "hh_rlhf_chosen_drop_ties"]
    card = (folder / "README.md").read_text(encoding="utf-8")
    for repo, licence in (("Anthropic/hh-rlhf", "MIT"), ("OpenAssistant/oasst1", "Apache-2.0")):
        assert f"https://huggingface.co/datasets/{repo}" in card and licence in card
    shards = sorted(p.relative_to(folder).parts[:2] for p in folder.glob("data/*/*.parquet"))
    assert ("data", "sft_by") in shards and ("data", "prefs_by_nc") in shards


def test_a_release_exports_every_row_as_json_lines_when_asked(catalogue, lake, monkeypatch):
    monkeypatch.setattr("assets.releases.EXPORT_BATCH_ROWS", 2)  # several frames per table
    gold(lake, sft_rows=5)
    release(catalogue, lake, "r1", export=("jsonl",))
    folder = Path(lake.root, "releases", "r1", "data")
    exported = pl.read_ndjson(folder / "sft_by" / "train-00000-of-00001.jsonl", schema=SFT_SCHEMA)
    assert exported.sort("example_id").equals(
        lake.scan(("gold", "sft_by")).collect().sort("example_id")
    )
    assert (folder / "sft_by_nc" / "train-00000-of-00001.jsonl").read_text() == ""


def test_a_tag_is_never_reused_for_other_rows(catalogue, lake):
    gold(lake)
    release(catalogue, lake, "r1")
    release(catalogue, lake, "r1")  # the same rows: the same release
    gold(lake, sft_rows=4)
    with pytest.raises(Exception, match="exists and holds other rows"):
        release(catalogue, lake, "r1")
