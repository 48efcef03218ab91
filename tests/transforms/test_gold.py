"""Licence split: a row's class is its most restrictive field's, and no non-commercial text
ever reaches a `_by` table, whatever mix of sources comes in (property-based).
Decontamination: removed rows are counted per (dataset, benchmark)."""

from collections import Counter

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.binarize import binarize_arena, binarize_ultrafeedback
from transforms.decontaminate import benchmark_index
from transforms.gold import (
    decontaminate,
    decontaminate_text,
    decontamination_metadata,
    prompts_from_silver,
    sft_from_conversations,
    sft_from_votes,
    split_by_license,
)
from transforms.silver_rows import COMPARISON_SCHEMA

NC_MARK = "NC-OUTPUT"


def message(role, content):
    return {"role": role, "content": content}


def arena_vote(i: int, winner: str) -> dict:
    user = f"arena prompt {i}"
    return {
        "dataset": "chatbot_arena_conversations",
        "split": "train",
        "source_file": "arena",
        "source_row": i,
        "source_id": f"q{i}",
        "comparison_id": f"arena-{i}",
        "prompt": [message("user", user)],
        "response_a": f"{NC_MARK} a{i}",
        "response_b": f"{NC_MARK} b{i}",
        "conversation_a": [message("user", user), message("assistant", f"{NC_MARK} a{i}")],
        "conversation_b": [message("user", user), message("assistant", f"{NC_MARK} b{i}")],
        "same_user_turns": True,
        "model_a": "vicuna-13b",
        "model_b": "koala-13b",
        "winner": winner,
        "judge": "arena_user_1",
        "turn": 1,
        "license": "CC-BY-4.0 AND CC-BY-NC-4.0",
        "prompt_license": "CC-BY-4.0",
        "response_license": "CC-BY-NC-4.0",
        "lang": "en",
        "license_class": "by_nc",
    }


def uf_prompt(i: int) -> dict:
    def completion(k, score):
        return {
            "model": f"m{k}",
            "principle": "helpfulness",
            "custom_system_prompt": None,
            "response": f"mit answer {i}.{k}",
            "critique": None,
            "overall_score": score,
            "fine_grained_score": None,
            "ratings": {
                "helpfulness": 3.0,
                "honesty": 3.0,
                "instruction_following": 3.0,
                "truthfulness": 3.0,
            },
        }

    return {
        "dataset": "ultrafeedback",
        "split": "train",
        "source_file": "uf",
        "source_row": i,
        "source_id": f"uf{i}",
        "comparison_id": f"uf-{i}",
        "prompt": [message("user", f"uf prompt {i}")],
        "completions": [completion(k, float(k + 1)) for k in range(4)],
        "prompt_source": "sharegpt",
        "license": "MIT",
        "prompt_license": "MIT",
        "response_license": "MIT",
        "lang": "en",
        "license_class": "by",
    }


def conversation(i: int) -> dict:
    return {
        "conversation_id": f"c{i}",
        "dataset": "ultrachat",
        "split": "train",
        "source_file": "uc",
        "source_row": i,
        "source_id": str(i),
        "lang": "en",
        "license": "MIT",
        "license_class": "by",
        "messages": [message("user", f"uc prompt {i}"), message("assistant", f"mit reply {i}")],
    }


CONVERSATION_SCHEMA = {
    "conversation_id": pl.String,
    "dataset": pl.String,
    "split": pl.String,
    "source_file": pl.String,
    "source_row": pl.Int64,
    "source_id": pl.String,
    "lang": pl.String,
    "license": pl.String,
    "license_class": pl.String,
    "messages": COMPARISON_SCHEMA["prompt"],
}


def comparisons_frame(rows: list[dict]) -> pl.DataFrame:
    schema = {**COMPARISON_SCHEMA, "lang": pl.String, "license_class": pl.String}
    return pl.DataFrame([{k: r.get(k) for k in schema} for r in rows], schema=schema, orient="row")


def all_text(frame: pl.DataFrame) -> str:
    return frame.write_ndjson()


sources = st.lists(
    st.tuples(
        st.sampled_from(["arena", "uf", "uc"]), st.sampled_from(["model_a", "model_b", "tie"])
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(sources)
def test_no_non_commercial_text_reaches_a_by_table(mix):
    arena = [arena_vote(i, w) for i, (kind, w) in enumerate(mix) if kind == "arena"]
    uf = [uf_prompt(i) for i, (kind, _) in enumerate(mix) if kind == "uf"]
    uc = [conversation(i) for i, (kind, _) in enumerate(mix) if kind == "uc"]
    comparisons = comparisons_frame(arena + uf)
    conversations = pl.DataFrame(
        [[r[k] for k in CONVERSATION_SCHEMA] for r in uc], schema=CONVERSATION_SCHEMA, orient="row"
    )

    pairs = pl.concat(
        [
            binarize_ultrafeedback(
                comparisons.filter(pl.col("dataset") == "ultrafeedback"), "all_pairs_margin"
            )[0],
            binarize_arena(comparisons.filter(pl.col("dataset") == "chatbot_arena_conversations"))[
                0
            ],
        ]
    )
    sft_parts = [sft_from_votes(comparisons)]
    if uc:
        sft_parts.append(sft_from_conversations(conversations))
    prompts = prompts_from_silver(
        conversations
        if uc
        else pl.DataFrame(
            schema={
                **{
                    c: pl.String
                    for c in ("dataset", "split", "source_file", "source_id", "lang", "license")
                },
                "source_row": pl.Int64,
                "messages": COMPARISON_SCHEMA["prompt"],
            }
        ),
        comparisons,
    )
    for table in (pairs, pl.concat(sft_parts), prompts):
        parts = split_by_license(table)
        assert parts["by"].height + parts["by_nc"].height == table.height
        assert NC_MARK not in all_text(parts["by"])
        assert not parts["by"]["license"].str.contains("NC").any()
    # Arena prompts are the user's words: CC-BY, so they are commercially usable prompts.
    arena_prompts = prompts.filter(pl.col("dataset") == "chatbot_arena_conversations")
    assert arena_prompts["license_class"].to_list() == ["by"] * len(arena)


def test_an_unknown_licence_class_is_an_error_not_a_guess():
    frame = pl.DataFrame({"license_class": ["by", "mystery"], "dataset": ["a", "b"]})
    with pytest.raises(ValueError, match="unknown licence class"):
        split_by_license(frame)


ALPHA = "Explain how a lighthouse keeper in the eighteenth century kept the lamp burning all night."
BETA = "Write a limerick about a cat who learns to play the violin in a small village band."
BENCHMARKS = benchmark_index({"beta": [BETA], "alpha": [ALPHA]})


def dialogue(*turns):
    return [message(role, text) for role, text in turns]


def test_removed_rows_are_counted_per_dataset_and_benchmark():
    frame = pl.DataFrame(
        {
            "dataset": ["uc", "uc", "uc", "uf", "uf", "uf"],
            "messages": [
                dialogue(("user", ALPHA), ("assistant", "ok")),
                dialogue(("user", "hello there"), ("assistant", "hi")),
                dialogue(("user", BETA.upper()), ("assistant", "ok")),
                dialogue(("user", f"My homework says: {ALPHA} Please help."), ("assistant", "ok")),
                # two benchmarks in one row: counted once, under the first by name (alpha)
                dialogue(("user", BETA), ("assistant", "ok"), ("user", ALPHA)),
                dialogue(("user", "thanks"), ("assistant", ALPHA)),  # assistant only: kept
            ],
        },
        schema={"dataset": pl.String, "messages": COMPARISON_SCHEMA["prompt"]},
    )
    kept, removed = decontaminate(frame, ("messages",), BENCHMARKS)
    assert removed == Counter({("uc", "alpha"): 1, ("uc", "beta"): 1, ("uf", "alpha"): 2})
    rows = frame["messages"].to_list()
    assert kept["messages"].to_list() == [rows[1], rows[5]]


def test_any_of_several_message_columns_can_mark_a_row():
    frame = pl.DataFrame(
        {
            "dataset": ["a", "a"],
            "prompt": [dialogue(("user", "hi")), dialogue(("user", "hi"))],
            "chosen": [dialogue(("user", BETA)), dialogue(("user", "bye"))],
        },
        schema={
            "dataset": pl.String,
            "prompt": COMPARISON_SCHEMA["prompt"],
            "chosen": COMPARISON_SCHEMA["prompt"],
        },
    )
    kept, removed = decontaminate(frame, ("prompt", "chosen"), BENCHMARKS)
    assert removed == Counter({("a", "beta"): 1})
    assert kept.height == 1


def test_prompts_are_counted_per_dataset_and_benchmark():
    frame = pl.DataFrame(
        {
            "dataset": ["arena", "arena", "uf", "uf"],
            "prompt": [BETA, "What is 2+2?", f"{ALPHA} Answer briefly.", ALPHA.lower()],
        }
    )
    kept, removed = decontaminate_text(frame, "prompt", BENCHMARKS)
    assert removed == Counter({("arena", "beta"): 1, ("uf", "alpha"): 2})
    assert kept["prompt"].to_list() == ["What is 2+2?"]


def test_nothing_to_remove_gives_an_empty_count():
    frame = pl.DataFrame({"dataset": ["uf"], "prompt": ["hello"]})
    kept, removed = decontaminate_text(frame, "prompt", BENCHMARKS)
    assert removed == Counter()
    assert kept.equals(frame)


def test_removed_counts_become_flat_metadata_with_totals():
    removed = Counter({("uc", "alpha"): 1, ("uc", "beta"): 1, ("uf", "alpha"): 2, ("uf", "x"): 0})
    assert decontamination_metadata(removed) == {
        "decontaminated_uc": 2,
        "decontaminated_uf": 2,
        "decontaminated_all__alpha": 3,
        "decontaminated_all__beta": 1,
        "decontaminated_uc__alpha": 1,
        "decontaminated_uc__beta": 1,
        "decontaminated_uf__alpha": 2,
    }
    assert decontamination_metadata(Counter()) == {}
