"""Arena filters: each policy's verdict on hand-computed cases (FastChat's thresholds, their
boundaries, ties in frequency), the documented order, and silver's ToxicChat scores."""

import random
from datetime import UTC, datetime

import polars as pl
import pytest

from orchestration.catalogue import load_catalogue
from transforms.arena_filters import (
    DEFAULT_POLICIES,
    POLICY_ORDER,
    ArenaFilterSettings,
    filter_arena,
    linear_quantile,
)
from transforms.bronze import add_lineage, conform_frame
from transforms.silver import pairwise_comparisons
from transforms.silver_rows import COMPARISON_SCHEMA

ARENA = "chatbot_arena_conversations"


def vote(row, *prompts, reply="A reply.", **fields):
    """One Arena vote whose user turns are `prompts` (the same on both sides)."""

    def side(model):
        messages = []
        for prompt in prompts:
            messages += [
                {"role": "user", "content": prompt},
                {"role": "assistant", "content": f"{reply} ({model})"},
            ]
        return messages

    return {
        "dataset": ARENA,
        "split": "train",
        "source_file": "data/train.parquet",
        "source_row": row,
        "source_id": f"q{row}",
        "comparison_id": f"c{row}",
        "conversation_a": side("a"),
        "conversation_b": side("b"),
        "model_a": "vicuna-13b",
        "model_b": "koala-13b",
        "winner": "model_a",
        "moderation_flagged": False,
        "moderation_categories": [],
        "toxic_chat_flagged": False,
        "toxic_chat_roberta_probability": 0.01,
        "toxic_chat_t5_score": 0.01,
        **fields,
    }


def frame(rows):
    full = [{name: row.get(name) for name in COMPARISON_SCHEMA.names()} for row in rows]
    return pl.DataFrame(full, schema=COMPARISON_SCHEMA, orient="row")


def reasons(rows, policies, settings=None):
    """source_row -> filter reason (None: kept)."""
    kept, filtered, counts = filter_arena(frame(rows), policies, settings)
    assert kept.height + filtered.height == len(rows)
    assert "filter_reason" not in kept.columns
    assert sum(counts.values()) == filtered.height
    out = dict.fromkeys(kept["source_row"].to_list())
    out.update(zip(filtered["source_row"], filtered["filter_reason"], strict=True))
    return out


LONG = "Explain how vaccines train the immune system."


def test_short_prompt_is_fastchats_one_exchange_under_16_characters():
    rows = [
        vote(0, "Hi!"),
        vote(1, "fifteen chars!!"),  # 15 characters: short
        vote(2, "sixteen chars!!!"),  # 16: not short (< 16 is)
        vote(3, "   padded     "),  # stripped first: "padded", 6
        vote(4, "hi", "ok"),  # two exchanges: never short, however brief
        vote(5, LONG),
    ]
    assert reasons(rows, ["short_prompt"]) == {
        0: "short_prompt",
        1: "short_prompt",
        2: None,
        3: "short_prompt",
        4: None,
        5: None,
    }
    two_turns = ArenaFilterSettings(short_prompt_max_turns=2)
    assert reasons(rows, ["short_prompt"], two_turns)[4] == "short_prompt"
    assert reasons(rows, ["short_prompt"], ArenaFilterSettings(short_prompt_max_chars=17))[2] == (
        "short_prompt"
    )


def test_frequent_prompt_drops_every_copy_of_the_top_k_after_lowercasing_and_stripping():
    rows = [
        vote(0, "What is AI?"),
        vote(1, "what is ai?"),
        vote(2, "  WHAT IS AI?  "),
        vote(3, "Tell me a joke"),
        vote(4, "Tell me a joke"),
        vote(5, "What is AI?", "And machine learning?"),  # not every prompt is frequent
        vote(6, LONG),
    ]
    # "what is ai?" 4 times (x2 sides = 8), "tell me a joke" 2 (x2 = 4): top-1 is the first.
    top_one = ArenaFilterSettings(frequent_prompt_top_k=1)
    assert reasons(rows, ["frequent_prompt"], top_one) == {
        0: "frequent_prompt",
        1: "frequent_prompt",
        2: "frequent_prompt",
        3: None,
        4: None,
        5: None,
        6: None,
    }
    top_two = ArenaFilterSettings(frequent_prompt_top_k=2)
    assert reasons(rows, ["frequent_prompt"], top_two)[3] == "frequent_prompt"


def test_frequent_prompt_ties_go_to_the_prompt_first_in_source_order_whatever_the_row_order():
    rows = [vote(0, "beta"), vote(1, "alpha"), vote(2, "alpha"), vote(3, "beta")]
    shuffled = [rows[3], rows[1], rows[2], rows[0]]  # frame order differs from source order
    top_one = ArenaFilterSettings(frequent_prompt_top_k=1)
    for order in (rows, shuffled):
        # beta and alpha both appear twice; beta is seen first (source_row 0).
        assert reasons(order, ["frequent_prompt"], top_one) == {
            0: "frequent_prompt",
            1: None,
            2: None,
            3: "frequent_prompt",
        }


def test_an_empty_prompt_is_always_frequent():
    rows = [vote(0, "   "), vote(1, LONG), vote(2, LONG)]
    top_one = ArenaFilterSettings(frequent_prompt_top_k=1)
    assert reasons(rows, ["frequent_prompt"], top_one) == {
        0: "frequent_prompt",  # "" after stripping
        1: "frequent_prompt",
        2: "frequent_prompt",
    }
    assert reasons(rows, ["frequent_prompt"], ArenaFilterSettings(frequent_prompt_top_k=0)) == {
        0: "frequent_prompt",
        1: None,
        2: None,
    }


def test_linear_quantile_matches_numpy():
    counts = [4, 1, 1, 1, 1]  # sorted: 1 1 1 1 4
    assert linear_quantile(counts, 0.5) == 1.0  # position 2
    assert linear_quantile(counts, 0.9) == pytest.approx(2.8)  # 1 + 0.6 * 3
    assert linear_quantile(counts, 0.9999) == pytest.approx(3.9988)  # 1 + 0.9996 * 3
    assert linear_quantile(counts, 1.0) == 4.0


@pytest.mark.parametrize(("percentile", "capped"), [(0.5, 3), (0.9, 2), (0.9999, 1)])
def test_frequent_prompt_cap_keeps_int_cutoff_copies_of_each_prompt_above_the_cutoff(
    percentile, capped
):
    # Key counts: A 4, B 1, C 1, D 1, E 1. Cutoffs: 1.0, 2.8, 3.9988 (above).
    # A is above each: it keeps int(cutoff) = 1, 2, 3 copies; the singles are never capped.
    rows = [vote(i, "A") for i in range(4)] + [vote(4 + i, p) for i, p in enumerate("BCDE")]
    settings = ArenaFilterSettings(frequent_prompt_cap_percentile=percentile)
    verdicts = reasons(rows, ["frequent_prompt_cap"], settings)
    assert sum(verdicts[i] == "frequent_prompt_cap" for i in range(4)) == capped
    assert all(verdicts[i] is None for i in range(4, 8))
    # Which copies are kept depends on the seed and the votes, not on the row order.
    shuffled = random.Random(7).sample(rows, len(rows))
    assert reasons(shuffled, ["frequent_prompt_cap"], settings) == verdicts


def test_frequent_prompt_cap_keys_are_exact_text_as_in_deduplication_py():
    # No lowercasing there: "Hi there" and "hi there" are two keys of count 1 each.
    rows = [vote(0, "Hi there"), vote(1, "hi there"), vote(2, LONG), vote(3, LONG)]
    settings = ArenaFilterSettings(frequent_prompt_cap_percentile=0.5)
    # counts 1, 1, 2 -> median 1: LONG (2 > 1) keeps one copy.
    verdicts = reasons(rows, ["frequent_prompt_cap"], settings)
    assert verdicts[0] is None and verdicts[1] is None
    assert {verdicts[2], verdicts[3]} == {"frequent_prompt_cap", None}


def test_blocked_words_and_models():
    rows = [
        vote(0, LONG, reply="The PASSWORD is here."),  # in a reply, any case
        vote(1, LONG),
        vote(2, LONG, model_b="vicuna-33b"),
        vote(3, LONG, model_a="mpt-30b-chat"),
    ]
    settings = ArenaFilterSettings(blocked_words=("password",))
    assert reasons(rows, ["blocked_word", "blocked_model"], settings) == {
        0: "blocked_word",
        1: None,
        2: "blocked_model",
        3: "blocked_model",
    }
    assert set(reasons(rows, ["blocked_word"]).values()) == {None}  # no list by default
    only_koala = ArenaFilterSettings(blocked_models=("koala-13b",))  # row 2 has no koala
    assert reasons(rows, ["blocked_model"], only_koala) == {
        0: "blocked_model",
        1: "blocked_model",
        2: None,
        3: "blocked_model",
    }


def test_moderation_flag_and_optional_categories():
    rows = [
        vote(0, LONG, moderation_flagged=True, moderation_categories=["harassment"]),
        vote(1, LONG, moderation_flagged=True, moderation_categories=["sexual", "violence"]),
        vote(2, LONG, moderation_flagged=None, moderation_categories=None),  # untagged
        vote(3, LONG),
    ]
    assert reasons(rows, ["moderation_flagged"]) == {
        0: "moderation_flagged",
        1: "moderation_flagged",
        2: None,
        3: None,
    }
    sexual_only = ArenaFilterSettings(moderation_categories=("sexual",))
    assert reasons(rows, ["moderation_flagged"], sexual_only) == {
        0: None,
        1: "moderation_flagged",
        2: None,
        3: None,
    }


def test_toxic_chat_uses_the_publishers_flags_unless_a_classifier_threshold_is_set():
    rows = [
        vote(0, LONG, toxic_chat_flagged=True, toxic_chat_roberta_probability=0.5),
        vote(1, LONG, toxic_chat_roberta_probability=0.49, toxic_chat_t5_score=0.9),
        vote(2, LONG, toxic_chat_roberta_probability=None, toxic_chat_t5_score=None),
        vote(3, LONG, toxic_chat_flagged=True, toxic_chat_roberta_probability=0.2),
    ]
    assert reasons(rows, ["toxic_chat_flagged"]) == {
        0: "toxic_chat_flagged",
        1: None,
        2: None,
        3: "toxic_chat_flagged",
    }
    # roberta-large probability >= 0.5; t5-large unused; the publisher's flag ignored.
    roberta = ArenaFilterSettings(toxic_chat_roberta_threshold=0.5)
    assert reasons(rows, ["toxic_chat_flagged"], roberta) == {
        0: "toxic_chat_flagged",
        1: None,
        2: None,
        3: None,
    }
    either = ArenaFilterSettings(toxic_chat_roberta_threshold=0.5, toxic_chat_t5_threshold=0.9)
    assert reasons(rows, ["toxic_chat_flagged"], either)[1] == "toxic_chat_flagged"


def test_the_first_matching_policy_in_the_documented_order_is_the_reason():
    everything = vote(
        0,
        "hi",
        model_a="vicuna-33b",
        moderation_flagged=True,
        toxic_chat_flagged=True,
    )
    rows = [everything, vote(1, LONG, model_a="vicuna-33b", moderation_flagged=True), vote(2, LONG)]
    # Every policy but the frequency ones (on three votes, every prompt is in the top 10).
    backwards = [p for p in reversed(POLICY_ORDER) if not p.startswith("frequent")]
    assert reasons(rows, backwards) == {0: "short_prompt", 1: "blocked_model", 2: None}
    kept, filtered, counts = filter_arena(frame(rows), backwards)
    assert counts == {"short_prompt": 1, "blocked_model": 1}
    assert kept.columns == frame(rows).columns
    assert filtered.columns == [*frame(rows).columns, "filter_reason"]
    # With no policy enabled nothing is filtered.
    kept, filtered, counts = filter_arena(frame(rows), [])
    assert kept.height == 3 and filtered.height == 0 and not counts


def test_the_default_set_and_unknown_names():
    assert DEFAULT_POLICIES == ("short_prompt", "moderation_flagged", "toxic_chat_flagged")
    rows = [
        vote(0, "hi"),
        vote(1, LONG, moderation_flagged=True),
        vote(2, LONG, toxic_chat_flagged=True),
        vote(3, LONG, model_b="vicuna-33b"),  # blocked_model is off by default
    ]
    _, _, counts = filter_arena(frame(rows))
    assert counts == {"short_prompt": 1, "moderation_flagged": 1, "toxic_chat_flagged": 1}
    with pytest.raises(ValueError, match="unknown Arena filter 'nsfw'"):
        filter_arena(frame(rows), ["short_prompt", "nsfw"])


def test_silver_keeps_each_toxic_chat_classifiers_score_beside_the_flag():
    spec = load_catalogue()[ARENA]
    conversation = [
        {"content": LONG, "role": "user"},
        {"content": "Vaccines show the body a harmless look-alike.", "role": "assistant"},
    ]
    categories = dict.fromkeys(
        spec.polars_schema["openai_moderation"].to_schema()["categories"].to_schema(), False
    )
    scores = dict.fromkeys(categories, 0.0)

    def record(qid, toxic):
        return {
            "question_id": qid,
            "model_a": "vicuna-13b",
            "model_b": "koala-13b",
            "winner": "model_a",
            "judge": "arena_user_1",
            "conversation_a": conversation,
            "conversation_b": conversation,
            "turn": 1,
            "anony": True,
            "language": "English",
            "tstamp": 1.68e9,
            "openai_moderation": {
                "categories": categories,
                "category_scores": scores,
                "flagged": False,
            },
            "toxic_chat_tag": toxic,
        }

    raw = pl.DataFrame(
        [
            record(
                "q1",
                {
                    "roberta-large": {"flagged": True, "probability": 0.93},
                    "t5-large": {"flagged": False, "score": 0.12},
                },
            ),
            record("q2", None),
        ],
        schema=spec.polars_schema,
        orient="row",
    )
    bronze = add_lineage(conform_frame(raw, spec), spec, "train", "f.parquet", datetime.now(UTC))
    rows = pairwise_comparisons(bronze, spec).rows
    got = rows.select(
        "toxic_chat_flagged", "toxic_chat_roberta_probability", "toxic_chat_t5_score"
    ).rows()
    assert got == [(True, 0.93, 0.12), (None, None, None)]
    assert rows.schema["toxic_chat_roberta_probability"] == pl.Float64
    assert rows.schema["toxic_chat_t5_score"] == pl.Float64
