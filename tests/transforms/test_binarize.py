"""Binarization policies: each policy's exact picks on hand-computed cases, ties included."""

import polars as pl
import pytest

from transforms.binarize import (
    binarize_arena,
    binarize_mt_bench,
    binarize_ultrafeedback,
    is_gpt4_judge,
    judge_agreement,
    mean_rating,
    pairs_with_margin,
    pick_max_mean_rating_drop_ties,
    pick_max_overall_random_other,
    pooled_gpt4_verdict,
    seeded_rng,
)
from transforms.silver_rows import COMPARISON_SCHEMA


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


# --- MT-bench: GPT-4's two answer orders, and agreement with humans ----------------------

GPT4, CLAUDE, LLAMA = "gpt-4", "claude-v1", "llama-13b"
ALPACA, VICUNA = "alpaca-13b", "vicuna-13b-v1.2"


def mt_vote(question, model_a, model_b, winner, judge="gpt4_pair", turn=1, row=0):
    return vote(
        winner, judge, source_id=question, model_a=model_a, model_b=model_b, turn=turn, row=row
    )


def mt_frame(rows):
    return frame(rows).with_columns(
        dataset=pl.lit("mt_bench_human_judgments"), license=pl.lit("CC-BY-4.0")
    )


def test_is_gpt4_judge():
    assert is_gpt4_judge("gpt4_pair") and is_gpt4_judge("gpt-4") and is_gpt4_judge("GPT4")
    assert not is_gpt4_judge("expert_12") and not is_gpt4_judge("author_3")
    assert not is_gpt4_judge(None)


def test_gpt4_votes_in_both_orders_pool_into_one_verdict_or_an_inconsistent_tie():
    # The same model in both orders: consistent (winner maps to the model, not the slot).
    same = [mt_vote("81", GPT4, CLAUDE, "model_a"), mt_vote("81", CLAUDE, GPT4, "model_b")]
    assert pooled_gpt4_verdict(same) == (GPT4, False)
    # Each order prefers the answer shown first: position bias, a tie.
    flipped = [mt_vote("82", GPT4, LLAMA, "model_a"), mt_vote("82", LLAMA, GPT4, "model_a")]
    assert pooled_gpt4_verdict(flipped) == ("tie", True)
    # A win in one order and a tie in the other is inconsistent too (FastChat: g1 != g2).
    half = [mt_vote("84", GPT4, LLAMA, "model_a"), mt_vote("84", LLAMA, GPT4, "tie")]
    assert pooled_gpt4_verdict(half) == ("tie", True)
    assert pooled_gpt4_verdict([mt_vote("83", GPT4, LLAMA, "tie")] * 2) == ("tie", False)
    # One row per pair (the published gpt4_pair split): nothing to pool.
    assert pooled_gpt4_verdict([mt_vote("85", LLAMA, GPT4, "model_b")]) == (GPT4, False)


def position_cases():
    return mt_frame(
        [
            # 81: GPT-4 prefers gpt-4 in both orders.
            mt_vote("81", GPT4, CLAUDE, "model_a", row=0),
            mt_vote("81", CLAUDE, GPT4, "model_b", row=1),
            # 82: GPT-4 prefers whichever answer comes first.
            mt_vote("82", GPT4, LLAMA, "model_a", row=2),
            mt_vote("82", LLAMA, GPT4, "model_a", row=3),
            # 83: a tie in both orders.
            mt_vote("83", GPT4, LLAMA, "tie", row=4),
            mt_vote("83", LLAMA, GPT4, "tie", row=5),
            # 84: a win in one order, a tie in the other.
            mt_vote("84", GPT4, LLAMA, "model_a", row=6),
            mt_vote("84", LLAMA, GPT4, "tie", row=7),
            # 85: GPT-4 flips; two experts both prefer vicuna.
            mt_vote("85", ALPACA, VICUNA, "model_a", row=8),
            mt_vote("85", VICUNA, ALPACA, "model_a", row=9),
            mt_vote("85", ALPACA, VICUNA, "model_b", "expert_1", row=10),
            mt_vote("85", VICUNA, ALPACA, "model_a", "expert_2", row=11),
            # 86: GPT-4 prefers alpaca in both orders; one expert prefers vicuna.
            mt_vote("86", ALPACA, VICUNA, "model_a", row=12),
            mt_vote("86", VICUNA, ALPACA, "model_b", row=13),
            mt_vote("86", ALPACA, VICUNA, "model_b", "expert_1", row=14),
        ]
    )


def test_position_consistent_policy_counts_gpt4_once_and_drops_order_dependent_verdicts():
    pairs, counts = binarize_mt_bench(position_cases(), "mt_bench_position_consistent")
    decided = {
        r["source_id"]: (r["model_chosen"], r["model_rejected"], r["judge_count"])
        for r in pairs.iter_rows(named=True)
    }
    # 81: GPT-4's two votes are one ballot. 85: vicuna 2 ballots, GPT-4's tie 1: 2/3.
    assert decided == {"81": (GPT4, CLAUDE, 1), "85": (VICUNA, ALPACA, 3)}
    by_question = {r["source_id"]: r for r in pairs.iter_rows(named=True)}
    assert by_question["81"]["agreement"] == 1.0
    assert round(by_question["85"]["agreement"], 3) == 0.667
    assert round(by_question["85"]["score_rejected"], 3) == 0.0  # nobody's ballot is alpaca
    assert by_question["85"]["chosen"] == [{"role": "assistant", "content": f"reply of {VICUNA}"}]
    assert dict(counts) == {
        "gpt4_position_inconsistent": 3,  # 82, 84, 85
        "dropped_position_inconsistent": 2,  # 82, 84: GPT-4 alone, so nothing decides
        "dropped_tie": 1,  # 83: a consistent tie
        "dropped_split_vote": 1,  # 86: GPT-4 (one ballot) against one expert
        "votes_pooled": 15,
    }
    assert set(pairs["policy"]) == {"mt_bench_position_consistent"}


def test_the_majority_policy_on_the_same_votes_lets_gpt4_vote_once_per_order():
    pairs, counts = binarize_mt_bench(position_cases())
    decided = {
        r["source_id"]: (r["model_chosen"], r["judge_count"], round(r["agreement"], 3))
        for r in pairs.iter_rows(named=True)
    }
    # 85: vicuna 3 of 4 (GPT-4's flip counts once each way); 86: alpaca 2 of 3, GPT-4
    # outvoting the expert by voting twice.
    assert decided == {"81": (GPT4, 2, 1.0), "85": (VICUNA, 4, 0.75), "86": (ALPACA, 3, 0.667)}
    assert counts["dropped_split_vote"] == 2 and counts["dropped_tie"] == 1  # 82, 84; 83
    assert "gpt4_position_inconsistent" not in counts
    with pytest.raises(ValueError, match="unknown MT-bench policy"):
        binarize_mt_bench(position_cases(), "mt_bench_vibes")


def agreement_cases():
    return mt_frame(
        [
            # Turn 1, q81 gpt-4 vs claude: GPT-4 says gpt-4.
            mt_vote("81", GPT4, CLAUDE, "model_a", row=0),
            mt_vote("81", GPT4, CLAUDE, "model_a", "expert_1", row=1),  # agrees
            mt_vote("81", CLAUDE, GPT4, "model_a", "expert_2", row=2),  # claude: disagrees
            mt_vote("81", GPT4, CLAUDE, "tie", "expert_3", row=3),  # tie vs a win
            mt_vote("81", GPT4, CLAUDE, "model_a", "author_1", row=4),  # not an expert
            # Turn 1, q82: GPT-4 says tie.
            mt_vote("82", GPT4, LLAMA, "tie", row=5),
            mt_vote("82", GPT4, LLAMA, "tie", "expert_1", row=6),  # tie = tie: agrees
            mt_vote("82", LLAMA, GPT4, "model_b", "expert_2", row=7),  # gpt-4 vs tie
            # Turn 1, q83: GPT-4 flips with the order: counts as a tie.
            mt_vote("83", GPT4, LLAMA, "model_a", row=8),
            mt_vote("83", LLAMA, GPT4, "model_a", row=9),
            mt_vote("83", GPT4, LLAMA, "tie", "expert_4", row=10),  # agrees (with ties)
            # Turn 1, q84: no GPT-4 vote: nothing to compare.
            mt_vote("84", GPT4, LLAMA, "model_a", "expert_1", row=11),
            # Turn 2, q81: GPT-4 says claude.
            mt_vote("81", CLAUDE, GPT4, "model_a", turn=2, row=12),
            mt_vote("81", GPT4, CLAUDE, "model_b", "expert_1", turn=2, row=13),  # agrees
            mt_vote("81", CLAUDE, GPT4, "model_a", "expert_2", turn=2, row=14),  # agrees
            mt_vote("81", GPT4, CLAUDE, "tie", "expert_3", turn=2, row=15),  # tie vs a win
            # Turn 2, q82: GPT-4 only.
            mt_vote("82", GPT4, LLAMA, "model_a", turn=2, row=16),
        ]
    )


def test_judge_agreement_with_and_without_ties_per_turn():
    agreement = judge_agreement(agreement_cases())
    assert agreement.rows(named=True) == [
        {
            # With ties: q81 3 votes (1 agrees), q82 2 (1), q83 1 (1): 3 of 6.
            # Without: only q81's expert_1 (agrees) and expert_2 (not): 1 of 2.
            "turn": 1,
            "votes_with_ties": 6,
            "agree_with_ties": 3,
            "agreement_with_ties": 0.5,
            "votes_without_ties": 2,
            "agree_without_ties": 1,
            "agreement_without_ties": 0.5,
        },
        {
            "turn": 2,
            "votes_with_ties": 3,
            "agree_with_ties": 2,
            "agreement_with_ties": 2 / 3,
            "votes_without_ties": 2,
            "agree_without_ties": 2,
            "agreement_without_ties": 1.0,
        },
    ]


def test_judge_agreement_can_count_the_authors_and_reports_empty_turns_as_null():
    with_authors = judge_agreement(agreement_cases(), human_prefixes=("expert", "author"))
    turn_one = with_authors.row(0, named=True)
    # author_1 agrees with GPT-4 on q81 (gpt-4): one more vote and agreement in both setups.
    assert (turn_one["votes_with_ties"], turn_one["agree_with_ties"]) == (7, 4)
    assert (turn_one["votes_without_ties"], turn_one["agree_without_ties"]) == (3, 2)
    turn_one_only = judge_agreement(agreement_cases().filter(pl.col("turn") == 1))
    assert turn_one_only["turn"].to_list() == [1, 2]
    empty = turn_one_only.row(1, named=True)
    assert empty["votes_with_ties"] == 0 and empty["agreement_with_ties"] is None
    assert empty["votes_without_ties"] == 0 and empty["agreement_without_ties"] is None
