"""The gold assets against a temporary lake holding only silver: what each dataset gives
to prefs, SFT and prompts follows its catalogue declaration, never its name."""

import polars as pl
import pytest
from dagster import materialize

from assets.gold_prefs import prefs_assets
from assets.gold_prompts import prompts_assets
from assets.gold_sft import sft_assets
from storage.keys import COMPARISONS, CONVERSATIONS
from storage.lake import Lake
from transforms.catalogue import parse_catalogue
from transforms.cleaning import conversation_id
from transforms.silver_rows import COMPARISON_SCHEMA

BASE = {
    "hub_repo": "org/name", "revision": "r", "format": "parquet",
    "splits": {"train": ["*.parquet"]}, "license": {"*": "MIT"},
    "schema": {"x": "string"}, "authors": {"*": "person"},
}  # fmt: skip
CATALOGUE = parse_catalogue(
    {
        "datasets": {
            # Votes whose dialogues are SFT rows too, and whose prompts are prompts.
            "votes": {
                **BASE,
                "shape": "pairwise_votes",
                "gold": ["prefs", "sft", "prompts"],
                "policies": ["arena_winner_drop_ties"],
            },
            # Pairs meant for reward modelling only: no SFT rows.
            "pairs_only": {
                **BASE,
                "shape": "pairwise_votes",
                "gold": ["prefs"],
                "policies": ["hh_rlhf_chosen_drop_ties"],
            },
            "judgments": {
                **BASE,
                "shape": "pairwise_votes",
                "gold": ["prefs", "sft"],
                "policies": ["mt_bench_majority_drop_ties"],
                "evaluation": True,
            },
            "dialogues": {**BASE, "shape": "chat_messages", "gold": ["sft", "prompts"]},
        }
    }
)


def messages(question: str, answer: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]


def comparison(dataset: str, row: int, question: str) -> dict:
    a = messages(question, f"A good answer {row} from {dataset}.")
    b = messages(question, f"A bad one {row} from {dataset}.")
    return {
        "dataset": dataset, "split": "train", "source_file": "f", "source_row": row,
        "source_id": f"{dataset}-{row}", "comparison_id": f"{dataset}-c{row}",
        "prompt": a[:1], "response_a": a[1]["content"], "response_b": b[1]["content"],
        "conversation_a": a, "conversation_b": b, "same_user_turns": True,
        "model_a": "m1", "model_b": "m2", "winner": "model_a", "judge": "expert_1", "turn": 1,
        "license": "MIT", "prompt_license": "MIT", "response_license": "MIT",
    }  # fmt: skip


def silver(lake: Lake) -> None:
    rows = [
        comparison(
            dataset,
            row,
            f"Question {row}: how would you explain the tides to a child, step by step?",
        )
        for dataset in ("votes", "pairs_only", "judgments")
        for row in range(3)
    ]
    lake.write(
        COMPARISONS,
        pl.DataFrame(rows, schema=COMPARISON_SCHEMA, orient="row").with_columns(
            lang=pl.lit("en"), license_class=pl.lit("by")
        ),
    )
    dialogue = messages("How do tides work, in plain words?", "The moon pulls the sea.")
    lake.write(
        CONVERSATIONS,
        pl.DataFrame(
            [
                {
                    "conversation_id": conversation_id(dialogue),
                    "dataset": "dialogues",
                    "split": "train",
                    "source_file": "f",
                    "source_row": 0,
                    "source_id": "d0",
                    "messages": dialogue,
                    "lang": "en",
                    "license": "MIT",
                    "license_class": "by",
                }
            ]
        ),
    )


def build(lake: Lake, config: dict | None = None) -> dict[str, dict]:
    assets = [*prefs_assets(CATALOGUE, {}), *sft_assets(CATALOGUE), *prompts_assets(CATALOGUE)]
    ops = {name: {"config": config or {}} for name in ("prefs", "sft", "gold__prompts_by")}
    result = materialize(assets, resources={"lake": lake}, run_config={"ops": ops})
    assert result.success
    return {
        "/".join(e.asset_key.path): {k: v.value for k, v in e.materialization.metadata.items()}
        for e in result.get_asset_materialization_events()
    }


def datasets_in(lake: Lake, name: str) -> dict[str, int]:
    frame = lake.scan(("gold", name)).collect()
    return dict(frame.group_by("dataset").len().iter_rows())


@pytest.fixture
def silver_lake(lake: Lake) -> Lake:
    silver(lake)
    return lake


def test_each_dataset_gives_what_it_declares_and_evaluation_data_stays_out(silver_lake):
    metadata = build(silver_lake, {"near_duplicates": False, "decontaminate": False})
    assert datasets_in(silver_lake, "prefs_by") == {"votes": 3, "pairs_only": 3}
    policies = silver_lake.scan(("gold", "prefs_by")).select("dataset", "policy").unique().collect()
    assert sorted(policies.iter_rows()) == [
        ("pairs_only", "hh_rlhf_chosen_drop_ties"),
        ("votes", "arena_winner_drop_ties"),
    ]
    # Each side of a vote is an SFT dialogue; the pairs-only dataset gives none.
    assert datasets_in(silver_lake, "sft_by") == {"votes": 6, "dialogues": 1}
    assert datasets_in(silver_lake, "prompts_by") == {"votes": 3, "dialogues": 1}
    assert "judgments_judge_agreement" in metadata["gold/prefs_by"]


def test_evaluation_data_enters_prefs_and_sft_only_when_asked_for(silver_lake):
    config = {"near_duplicates": False, "decontaminate": False, "include_mt_bench": True}
    config["mt_bench_policy"] = "mt_bench_majority_drop_ties"
    build(silver_lake, config)
    assert datasets_in(silver_lake, "prefs_by")["judgments"] == 3
    assert datasets_in(silver_lake, "sft_by")["judgments"] == 6
    assert "judgments" not in datasets_in(silver_lake, "prompts_by")


def test_evaluation_questions_decontaminate_the_training_tables(silver_lake):
    # The evaluation dataset asks the same questions as the others: every training row
    # holding one of them goes, the dialogue about tides stays.
    build(silver_lake, {"near_duplicates": False})
    assert silver_lake.scan(("gold", "prefs_by")).collect().height == 0
    assert datasets_in(silver_lake, "sft_by") == {"dialogues": 1}


def test_an_unchanged_silver_rebuilds_nothing(silver_lake):
    build(silver_lake)
    again = build(silver_lake)
    assert {again[k]["status"] for k in ("gold/prefs_by", "gold/sft_by", "gold/prompts_by")} == {
        "unchanged"
    }


def test_an_unknown_policy_is_a_clear_error(silver_lake):
    assets = prefs_assets(CATALOGUE, {})
    with pytest.raises(ValueError, match="unknown policy 'vibes'"):
        materialize(
            assets,
            resources={"lake": silver_lake},
            run_config={"ops": {"prefs": {"config": {"policies": ["vibes"]}}}},
        )
