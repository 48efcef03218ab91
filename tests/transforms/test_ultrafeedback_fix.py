"""UltraFeedback's overall_score correction (the authors' fix_overall_score_issue.py):
a 10 whose aspect ratings average <= 2 was a critique score of 1 and becomes 1 again."""

import polars as pl
import pytest

from transforms.binarize import pick_max_overall_random_other, seeded_rng
from transforms.silver_rows import COMPARISON_SCHEMA
from transforms.ultrafeedback_fix import (
    CORRECTED,
    KEPT,
    UNRATED,
    UNRESOLVED,
    fix_overall_score,
)

ASPECTS = ("helpfulness", "honesty", "instruction_following", "truthfulness")
NA = None  # an "N/A" rating, as silver parses it


def completion(model, overall, ratings):
    return {
        "model": model,
        "principle": "helpfulness",
        "custom_system_prompt": None,
        "response": f"answer from {model}",
        "critique": "critique",
        "overall_score": overall,
        "fine_grained_score": None,
        "ratings": dict(zip(ASPECTS, ratings, strict=True)),
    }


def frame(rows):
    full = [{name: row.get(name) for name in COMPARISON_SCHEMA.names()} for row in rows]
    return pl.DataFrame(full, schema=COMPARISON_SCHEMA, orient="row")


def uf_row(source_id, completions):
    return {
        "dataset": "ultrafeedback",
        "split": "train",
        "source_file": "openbmb/UltraFeedback/sharegpt.jsonl",
        "source_id": source_id,
        "comparison_id": f"c-{source_id}",
        "prompt": [{"role": "user", "content": "Explain photosynthesis."}],
        "completions": completions,
        "prompt_source": "sharegpt",
    }


@pytest.mark.parametrize(
    ("overall", "ratings", "outcome"),
    [
        # Only a 10 is examined.
        (9.0, (1, 1, 1, 1), None),
        (1.0, (5, 5, 5, 5), None),
        (None, (1, 1, 1, 1), None),
        # fine-grained <= 2: the 10 was a critique score of 1.
        (10.0, (1, 1, 1, 1), CORRECTED),
        (10.0, (1, 2, 2, 3), CORRECTED),  # mean exactly 2.0: still flipped (<= 2)
        (10.0, (2, NA, NA, NA), CORRECTED),  # one rated aspect decides
        # 2 < fine-grained <= 4: upstream re-asked GPT-4; offline we cannot.
        (10.0, (3, 3, 2, NA), UNRESOLVED),  # 8 / 3 = 2.67
        (10.0, (4, 4, 4, 4), UNRESOLVED),  # mean exactly 4.0: re-annotated, not kept
        # fine-grained > 4: a genuine 10.
        (10.0, (5, 4, 5, NA), KEPT),  # 14 / 3 = 4.67
        (10.0, (5, 5, 4, 4), KEPT),  # 4.5
        # No rating at all: nothing to decide with.
        (10.0, (NA, NA, NA, NA), UNRATED),
    ],
)
def test_the_authors_rule_for_a_completion_scored_10(overall, ratings, outcome):
    # The fine-grained score is the mean of the rated aspects: "N/A" is missing, not zero.
    rows = frame([uf_row("p", [completion("a", overall, ratings), completion("b", 5.0, (5,) * 4)])])
    fixed, counts = fix_overall_score(rows)
    assert counts == ({outcome: 1} if outcome else {})
    expected = 1.0 if outcome == CORRECTED else overall
    assert fixed["completions"][0][0]["overall_score"] == expected


def test_fix_sets_only_the_flipped_tens_to_1_and_counts_every_ten():
    rows = frame(
        [
            uf_row(
                "p1",
                [
                    completion("bad", 10.0, (1, 2, 1, NA)),  # 1.33: -> 1
                    completion("good", 10.0, (5, 5, 4, 5)),  # 4.75: stays 10
                    completion("middling", 10.0, (3, 3, 3, 3)),  # 3.0: unresolved, stays 10
                    completion("plain", 7.5, (1, 1, 1, 1)),  # not a 10: untouched
                ],
            ),
            uf_row("p2", [completion("a", 10.0, (NA,) * 4), completion("b", 6.0, (3,) * 4)]),
            # An Arena vote has no completions: it passes through.
            {"dataset": "chatbot_arena_conversations", "source_id": "q", "comparison_id": "v"},
        ]
    )
    fixed, counts = fix_overall_score(rows)
    assert fixed.schema == rows.schema
    assert fixed["source_id"].to_list() == ["p1", "p2", "q"]
    scores = [
        [c["overall_score"] for c in completions] if completions is not None else None
        for completions in fixed["completions"].to_list()
    ]
    assert scores == [[1.0, 10.0, 10.0, 7.5], [10.0, 6.0], None]
    assert dict(counts) == {CORRECTED: 1, KEPT: 1, UNRESOLVED: 1, UNRATED: 1}
    # Nothing else about a completion changes.
    before, after = rows["completions"][0][0], fixed["completions"][0][0]
    assert {k: v for k, v in after.items() if k != "overall_score"} == {
        k: v for k, v in before.items() if k != "overall_score"
    }


def test_clear_removes_the_unresolved_tens_from_the_overall_score_policies():
    rows = frame(
        [uf_row("p", [completion("x", 10.0, (3, 3, 3, 3)), completion("y", 8.0, (5,) * 4)])]
    )
    fixed, counts = fix_overall_score(rows, unresolved="clear")
    assert [c["overall_score"] for c in fixed["completions"][0]] == [None, 8.0]
    assert counts == {UNRESOLVED: 1}
    with pytest.raises(ValueError, match="unresolved"):
        fix_overall_score(rows, unresolved="guess")


def test_the_fix_is_idempotent_so_a_post_fix_copy_is_left_as_it_is():
    rows = frame(
        [uf_row("p", [completion("x", 10.0, (1, 1, 2, 2)), completion("y", 10.0, (5,) * 4)])]
    )
    once, first = fix_overall_score(rows)
    twice, second = fix_overall_score(once)
    assert once.equals(twice)
    assert first[CORRECTED] == 1 and second[CORRECTED] == 0
    assert second == {KEPT: 1}


def test_the_fix_changes_which_completion_the_overall_score_policy_chooses():
    # The buggy 10 (ratings all 1) outranks an honest 8 until it is corrected.
    completions = [completion("buggy", 10.0, (1, 1, 1, 1)), completion("honest", 8.0, (5,) * 4)]
    before = frame([uf_row("p", completions)])
    after, _ = fix_overall_score(before)
    pick = pick_max_overall_random_other
    assert pick(before["completions"][0].to_list(), seeded_rng(42, "p")) == (0, 1)
    assert pick(after["completions"][0].to_list(), seeded_rng(42, "p")) == (1, 0)
