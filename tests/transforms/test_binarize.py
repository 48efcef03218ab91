"""Binarization policies: each policy's exact picks on hand-computed cases, ties included."""

import polars as pl
import pytest

from transforms.binarize import (
    binarize_arena,
    binarize_mt_bench,
    binarize_ultrafeedback,
    mean_rating,
    pairs_with_margin,
    pick_max_mean_rating_drop_ties,
    pick_max_overall_random_other,
    seeded_rng,
)
from transforms.silver import COMPARISON_SCHEMA


def completion(model, overall, ratings=(None, None, None, None)):
    aspects = ("helpfulness", "honesty", "instruction_following", "truthfulness")
    return {
        "model": model,
        "principle": "helpfulness",
        "custom_system_prompt": None,
        "response": f"answer from {model}",
        "critique": None,
        "overall_score": overall,
        "fine_grained_score": None,
        "ratings": dict(zip(aspects, ratings, strict=True)),
    }


def uf_row(source_id, completions, prompt_source="sharegpt"):
    return {
        "dataset": "ultrafeedback",
        "split": "train",
        "source_file": "openbmb/UltraFeedback/sharegpt.jsonl",
        "source_row": 0,
        "source_id": source_id,
        "comparison_id": f"c-{source_id}",
        "prompt": [{"role": "user", "content": "Explain photosynthesis."}],
        "completions": completions,
        "prompt_source": prompt_source,
        "license": "MIT",
        "lang": "en",
    }


def frame(rows):
    full = [{name: row.get(name) for name in COMPARISON_SCHEMA.names()} for row in rows]
    return pl.DataFrame(full, schema=COMPARISON_SCHEMA, orient="row").with_columns(
        lang=pl.lit("en"), license_class=pl.lit("by")
    )


def test_max_overall_takes_the_highest_and_a_seeded_random_other():
    completions = [
        completion("a", 6.0),
        completion("b", 9.0),
        completion("c", 7.5),
        completion("d", 3.0),
    ]
    chosen, rejected = pick_max_overall_random_other(completions, seeded_rng(42, "p1"))
    assert chosen == 1
    assert rejected in (0, 2, 3)
    # The pick depends on the seed and the prompt id only: the same on every run.
    again = pick_max_overall_random_other(completions, seeded_rng(42, "p1"))
    assert again == (chosen, rejected)


def test_max_overall_keeps_ties_and_takes_the_first_of_equal_best():
    completions = [completion("a", 8.0), completion("b", 8.0), completion("c", 2.0)]
    chosen, _ = pick_max_overall_random_other(completions, seeded_rng(42, "p"))
    assert chosen == 0
    only_two_equal = [completion("a", 8.0), completion("b", 8.0)]
    assert pick_max_overall_random_other(only_two_equal, seeded_rng(42, "p")) == (0, 1)


def test_max_overall_ignores_completions_without_a_score():
    completions = [completion("a", None), completion("b", 5.0)]
    assert pick_max_overall_random_other(completions, seeded_rng(42, "p")) is None


def test_mean_rating_ignores_missing_aspects_not_counting_them_as_zero():
    assert (
        mean_rating(
            {
                "helpfulness": 4.0,
                "honesty": None,
                "instruction_following": 2.0,
                "truthfulness": None,
            }
        )
        == 3.0
    )
    assert mean_rating({"helpfulness": None}) is None


def test_mean_rating_policy_drops_a_tie_for_the_top():
    tied = [
        completion("a", 0, (5, 5, 5, 5)),
        completion("b", 0, (5, 5, 5, 5)),
        completion("c", 0, (1, 1, 1, 1)),
    ]
    assert pick_max_mean_rating_drop_ties(tied, seeded_rng(42, "p")) is None
    clear = [
        completion("a", 0, (4, 4, 4, 4)),
        completion("b", 0, (5, 5, 5, None)),
        completion("c", 0, (4, 4, 4, 4)),
    ]
    chosen, rejected = pick_max_mean_rating_drop_ties(clear, seeded_rng(42, "p"))
    assert chosen == 1 and rejected in (0, 2)
    only_one_rated = [
        completion("a", 0, (5, 5, 5, 5)),
        completion("b", 0, (None, None, None, None)),
    ]
    assert pick_max_mean_rating_drop_ties(only_one_rated, seeded_rng(42, "p")) is None


def test_all_pairs_margin_makes_every_pair_at_least_margin_apart():
    completions = [
        completion("a", 9.0),
        completion("b", 8.0),
        completion("c", 7.5),
        completion("d", 9.0),
    ]
    # a and d tie at 9.0: equal scores never make a pair, in either direction.
    assert sorted(pairs_with_margin(completions, 1.0)) == [(0, 1), (0, 2), (3, 1), (3, 2)]
    assert sorted(pairs_with_margin(completions, 1.5)) == [(0, 2), (3, 2)]


def test_ultrafeedback_pairs_carry_policy_scores_and_drop_truthful_qa():
    rows = frame(
        [
            uf_row(
                "p1",
                [
                    completion("a", 6.0),
                    completion("b", 9.0),
                    completion("c", 7.5),
                    completion("d", 3.0),
                ],
            ),
            uf_row("p2", [completion("a", 6.0), completion("b", 9.0)], prompt_source="truthful_qa"),
        ]
    )
    pairs, counts = binarize_ultrafeedback(rows, "max_overall_random_other")
    assert pairs["policy"].to_list() == ["max_overall_random_other"]
    assert pairs["chosen"][0].to_list() == [{"role": "assistant", "content": "answer from b"}]
    assert pairs["score_chosen"][0] == 9.0
    assert pairs["prompt"][0].to_list() == [{"role": "user", "content": "Explain photosynthesis."}]
    assert counts["dropped_excluded_source"] == 1
    kept, _ = binarize_ultrafeedback(rows, "max_overall_random_other", exclude_sources=())
    assert kept.height == 2
    with pytest.raises(ValueError, match="unknown UltraFeedback policy"):
        binarize_ultrafeedback(rows, "best_of_vibes")


def vote(
    winner,
    judge="arena_user_1",
    same=True,
    source_id="q1",
    model_a="vicuna-13b",
    model_b="koala-13b",
    turn=1,
    row=0,
):
    def conversation(reply):
        return [
            {"role": "user", "content": "Hi?"},
            {"role": "assistant", "content": reply},
        ]

    return {
        "dataset": "chatbot_arena_conversations",
        "split": "train",
        "source_file": "f",
        "source_row": row,
        "source_id": source_id,
        "comparison_id": f"{source_id}-{judge}-{row}",
        "prompt": conversation("A")[:1],
        "response_a": f"reply of {model_a}",
        "response_b": f"reply of {model_b}",
        "conversation_a": conversation(f"reply of {model_a}"),
        "conversation_b": conversation(f"reply of {model_b}"),
        "same_user_turns": same,
        "model_a": model_a,
        "model_b": model_b,
        "winner": winner,
        "judge": judge,
        "turn": turn,
        "license": "CC-BY-4.0 AND CC-BY-NC-4.0",
    }


def test_arena_winner_against_loser_and_every_tie_dropped():
    rows = frame([vote("model_b"), vote("tie"), vote("tie (bothbad)"), vote("model_a", same=False)])
    pairs, counts = binarize_arena(rows.with_columns(license_class=pl.lit("by_nc")))
    assert pairs.height == 1
    assert pairs["chosen"][0].to_list() == [{"role": "assistant", "content": "reply of koala-13b"}]
    assert pairs["rejected"][0].to_list() == [
        {"role": "assistant", "content": "reply of vicuna-13b"}
    ]
    assert pairs["model_chosen"].to_list() == ["koala-13b"]
    assert pairs["prompt"][0].to_list() == [{"role": "user", "content": "Hi?"}]
    assert dict(counts) == {
        "dropped_tie": 1,
        "dropped_tie_bothbad": 1,
        "dropped_user_turns_differ": 1,
    }
    assert pairs["license_class"].to_list() == ["by_nc"]


def test_mt_bench_votes_are_pooled_by_majority_and_ties_dropped():
    rows = frame(
        [
            # q81: 2 judges for gpt-4 (one with the models swapped), 1 for claude: gpt-4 wins 2/3
            vote(
                "model_a", "expert_1", source_id="81", model_a="gpt-4", model_b="claude-v1", row=0
            ),
            vote(
                "model_b", "expert_2", source_id="81", model_a="claude-v1", model_b="gpt-4", row=1
            ),
            vote(
                "model_b", "expert_3", source_id="81", model_a="gpt-4", model_b="claude-v1", row=2
            ),
            # q82: one vote each way: a split, dropped
            vote(
                "model_a", "expert_1", source_id="82", model_a="gpt-4", model_b="llama-13b", row=3
            ),
            vote(
                "model_b", "expert_2", source_id="82", model_a="gpt-4", model_b="llama-13b", row=4
            ),
            # q83: most judges say tie: dropped
            vote("tie", "expert_1", source_id="83", row=5),
            vote("tie", "expert_2", source_id="83", row=6),
            vote("model_a", "expert_3", source_id="83", row=7),
            # q81 turn 2 is its own group
            vote(
                "model_a",
                "expert_1",
                source_id="81",
                model_a="gpt-4",
                model_b="claude-v1",
                turn=2,
                row=8,
            ),
        ]
    ).with_columns(dataset=pl.lit("mt_bench_human_judgments"), license=pl.lit("CC-BY-4.0"))
    pairs, counts = binarize_mt_bench(rows)
    decided = {
        (r["source_id"], r["model_chosen"], r["judge_count"], round(r["agreement"], 3))
        for r in pairs.iter_rows(named=True)
    }
    assert decided == {("81", "gpt-4", 3, 0.667), ("81", "gpt-4", 1, 1.0)}
    assert counts["dropped_split_vote"] == 1 and counts["dropped_tie"] == 1
    assert set(pairs["policy"]) == {"mt_bench_majority_drop_ties"}
