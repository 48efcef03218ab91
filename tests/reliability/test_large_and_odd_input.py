"""Large and odd input through bronze and silver: a 10 MB message, a 5,000-turn dialogue,
unknown roles, and duplicate ids with different content."""

import json

import polars as pl
from dagster import DagsterInstance

from orchestration.config import SAMPLES_DIR
from orchestration.definitions import build_definitions
from orchestration.runner import materialize_everything
from storage.lake import Lake, Sources

UC = "stingning/ultrachat"
UC200K = "HuggingFaceH4/ultrachat_200k/data"
SECRET = "zelda.quartermaine@fastmail.com"


def build(mirror, lake: Lake) -> None:
    defs = build_definitions(lake, Sources(location=str(mirror), samples_dir=str(SAMPLES_DIR)))
    with DagsterInstance.ephemeral() as instance:
        materialize_everything(defs, instance)


def dialogues(lake: Lake) -> pl.DataFrame:
    return lake.scan(("silver", "conversations")).collect()


def test_a_10_mb_message_and_a_5000_turn_dialogue_flow_through_whole(mirror, lake):
    huge = ("Tides rise and fall twice a day because of the Moon. " * 200_000)[:10_000_000]
    many_turns = [
        f"turn {i}: what comes next?" if i % 2 == 0 else f"answer {i}" for i in range(5000)
    ]
    records = [
        {"id": "big", "data": ["Summarise this please.", huge + f" Write to {SECRET}."]},
        {"id": "long", "data": many_turns},
    ]
    (mirror / UC).mkdir(parents=True)
    (mirror / UC / "train_0.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    build(mirror, lake)
    rows = {r["source_id"]: r for r in dialogues(lake).iter_rows(named=True)}
    assert len(rows["big"]["messages"][1]["content"]) > 9_900_000
    assert SECRET not in rows["big"]["messages"][1]["content"]
    assert rows["big"]["messages"][1]["content"].endswith("Write to <EMAIL_ADDRESS_1>.")
    assert len(rows["long"]["messages"]) == 5000
    assert rows["long"]["lang"] == "en"


def test_unknown_roles_are_quarantined_in_silver_and_the_rest_is_kept(mirror, lake):
    (mirror / UC200K).mkdir(parents=True)
    messages = [
        [
            {"content": "Hi there, how are you today?", "role": "user"},
            {"content": "Fine!", "role": "assistant"},
        ],
        [
            {"content": "Once upon a time", "role": "narrator"},
            {"content": "Go on", "role": "assistant"},
        ],
    ]
    pl.DataFrame(
        {
            "prompt": ["Hi there, how are you today?", "Once upon a time"],
            "prompt_id": ["a", "b"],
            "messages": messages,
        }
    ).write_parquet(mirror / UC200K / "train_sft-00000-of-00001-cccccccccccccccc.parquet")
    build(mirror, lake)
    assert dialogues(lake)["source_id"].to_list() == ["a"]
    rejected = lake.scan(("silver", "quarantine")).collect()
    assert rejected.select("dataset", "source_row", "reason").rows() == [
        ("ultrachat_200k", 1, "unknown_role")
    ]
    assert "narrator" in rejected["detail"][0] and "narrator" in rejected["payload"][0]


def test_duplicate_ids_with_different_content_are_both_kept(mirror, lake):
    (mirror / UC).mkdir(parents=True)
    records = [
        {"id": "7", "data": ["What is the capital of France?", "Paris."]},
        {"id": "7", "data": ["What is the capital of Peru?", "Lima."]},
    ]
    (mirror / UC / "train_0.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    build(mirror, lake)
    kept = dialogues(lake)
    assert kept["source_id"].to_list() == ["7", "7"]
    assert kept["conversation_id"].n_unique() == 2  # identity is content, not the source's id
