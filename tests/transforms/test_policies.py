"""Every policy behind one name and one signature; the tie rules of the chosen/rejected
and ranked-replies policies."""

import polars as pl
import pytest

from transforms.catalogue import parse_catalogue
from transforms.comparisons import COMPLETION
from transforms.policies import (
    BEST_VS_REST_POLICY,
    HH_POLICY,
    POLICIES,
    RANK_PAIRS_POLICY,
    BinarizeSettings,
    binarize,
    ranked_pairs,
    selected_policies,
    unknown_policies,
)
from transforms.silver_rows import COMPARISON_SCHEMA

SETTINGS = BinarizeSettings()
LINEAGE = {
    "dataset": "d", "split": "train", "source_file": "f", "source_row": 0,
    "license": "MIT",
}  # fmt: skip


def frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(
        [{**LINEAGE, **row} for row in rows], schema=COMPARISON_SCHEMA, orient="row"
    ).with_columns(lang=pl.lit("en"), license_class=pl.lit("by"))


def transcript_pair(i: int, chosen: str, rejected: str, same_turns: bool = True) -> dict:
    prompt = [{"role": "user", "content": f"question {i}"}]
    return {
        "source_id": f"s{i}", "comparison_id": f"c{i}", "prompt": prompt,
        "response_a": chosen, "response_b": rejected, "same_user_turns": same_turns,
        "conversation_a": [*prompt, {"role": "assistant", "content": chosen}],
        "conversation_b": [*prompt, {"role": "assistant", "content": rejected}],
        "winner": "model_a",
    }  # fmt: skip


def ranked(i: int, ranks: list[int | None]) -> dict:
    completions = [
        {"response": f"reply {i}.{n}", "rank": rank, "model": None} for n, rank in enumerate(ranks)
    ]
    return {
        "source_id": f"s{i}", "comparison_id": f"c{i}",
        "prompt": [{"role": "user", "content": f"question {i}"}],
        "completions": pl.Series([completions], dtype=pl.List(COMPLETION)).to_list()[0],
    }  # fmt: skip


def test_chosen_over_rejected_keeps_the_annotators_choice_and_drops_ties():
    pairs, counts = binarize(
        frame(
            [
                transcript_pair(0, "Sure, here is how.", "No."),
                transcript_pair(1, "Same reply.", "Same reply. "),  # equal once normalised
                transcript_pair(2, "A", "B", same_turns=False),
            ]
        ),
        HH_POLICY,
        SETTINGS,
    )
    assert pairs["source_id"].to_list() == ["s0"]
    assert pairs["chosen"][0].to_list() == [{"role": "assistant", "content": "Sure, here is how."}]
    assert pairs["rejected"][0].to_list() == [{"role": "assistant", "content": "No."}]
    assert pairs["policy"].to_list() == [HH_POLICY]
    assert counts == {"dropped_tie": 1, "dropped_user_turns_differ": 1}


def test_rank_pairs_make_every_pair_of_different_ranks_better_one_chosen():
    assert ranked_pairs([1, 0, 2], RANK_PAIRS_POLICY) == [(0, 2), (1, 0), (1, 2)]
    assert ranked_pairs([0, 0, 1], RANK_PAIRS_POLICY) == [(0, 2), (1, 2)]  # equal: no pair


def test_best_vs_rest_drops_a_prompt_whose_best_rank_is_shared():
    assert ranked_pairs([1, 0, 2], BEST_VS_REST_POLICY) == [(1, 0), (1, 2)]
    assert ranked_pairs([0, 0, 1], BEST_VS_REST_POLICY) is None


@pytest.mark.parametrize(("policy", "expected"), [(RANK_PAIRS_POLICY, 3), (BEST_VS_REST_POLICY, 2)])
def test_ranked_replies_become_pairs_scored_by_rank(policy, expected):
    pairs, counts = binarize(
        frame([ranked(0, [1, 0, 2]), ranked(1, [0, None]), ranked(2, [0, 0])]), policy, SETTINGS
    )
    assert pairs.height == expected
    assert (pairs["score_chosen"] > pairs["score_rejected"]).all()
    best = pairs.filter(pl.col("score_chosen") == pairs["score_chosen"].max())
    assert best["chosen"][0].to_list()[0]["content"] == "reply 0.1"
    assert counts["dropped_no_pair"] == 1  # one ranked reply: nothing to compare
    assert counts["dropped_tie"] == 1  # two replies of the same rank


def test_a_dataset_uses_the_policies_asked_for_else_its_first():
    base = {
        "hub_repo": "o/n", "revision": "r", "format": "jsonl", "splits": {"t": ["*"]},
        "license": {"*": "MIT"}, "schema": {"x": "string"}, "shape": "message_trees",
        "gold": ["prefs"], "policies": [RANK_PAIRS_POLICY, BEST_VS_REST_POLICY],
    }  # fmt: skip
    spec = parse_catalogue({"datasets": {"d": base}})["d"]
    assert selected_policies(spec, []) == [RANK_PAIRS_POLICY]
    assert selected_policies(spec, [BEST_VS_REST_POLICY, "arena_winner_drop_ties"]) == [
        BEST_VS_REST_POLICY
    ]
    odd = parse_catalogue({"datasets": {"d": {**base, "policies": ["vibes"]}}})
    assert unknown_policies(odd) == {"d": ["vibes"]}


def test_every_policy_any_dataset_declares_has_its_function():
    from orchestration.catalogue import load_catalogue

    declared = {p for spec in load_catalogue().values() for p in spec.policies}
    assert declared <= set(POLICIES)
    with pytest.raises(ValueError, match="unknown policy"):
        binarize(frame([]), "vibes", SETTINGS)
