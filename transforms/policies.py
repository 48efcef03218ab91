"""Every binarization policy by name, with one signature, and the rules for the two
preference formats that are not votes or ratings.

A dataset declares the policies that apply to it (sources/catalogue.yaml `policies`); gold
runs the ones the config picks (`selected_policies`) through `binarize`, so a new dataset
needs no code in gold. The tie rules of the policies here:
- hh_rlhf_chosen_drop_ties: the annotator's chosen transcript against the rejected one
  (silver's conversation_a / conversation_b): prompt = the messages before the final
  reply, chosen and rejected = the two final replies. A pair whose final replies are the
  same text (after scrubbing) is a tie and dropped, and so is a pair whose two transcripts
  differ before the last turn (no single prompt).
- oasst_rank_pairs_drop_ties: every two sibling replies of different rank (rank 0 is the
  best) make a pair, the better one chosen, as Open-Assistant's reward-model loader does;
  replies of equal rank make no pair.
- oasst_best_vs_rest_drop_ties: the best-ranked reply against each other one; a prompt
  whose best rank is shared by two replies makes no pair.
Scores of ranked replies: score = (number of ranked replies) - rank, so the best is
highest and a chosen reply always scores above its rejected one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from transforms.binarize import (
    ARENA_POLICY,
    MT_BENCH_POLICIES,
    PAIR_SCHEMA,
    UF_POLICIES,
    binarize_arena,
    binarize_mt_bench,
    binarize_ultrafeedback,
    completion_pair,
    pair_id,
    pair_lineage,
    reply,
)
from transforms.catalogue import DatasetSpec
from transforms.records import normalise_text

HH_POLICY = "hh_rlhf_chosen_drop_ties"
RANK_PAIRS_POLICY = "oasst_rank_pairs_drop_ties"
BEST_VS_REST_POLICY = "oasst_best_vs_rest_drop_ties"


@dataclass(frozen=True)
class BinarizeSettings:
    """What the policies read from the gold config."""

    seed: int = 42
    exclude_sources: Sequence[str] = field(default_factory=lambda: ("truthful_qa",))
    margin: float = 1.0


Binarizer = Callable[[pl.DataFrame, str, BinarizeSettings], tuple[pl.DataFrame, Counter[str]]]


def _ultrafeedback(
    rows: pl.DataFrame, policy: str, settings: BinarizeSettings
) -> tuple[pl.DataFrame, Counter[str]]:
    return binarize_ultrafeedback(
        rows,
        policy,
        seed=settings.seed,
        exclude_sources=settings.exclude_sources,
        margin=settings.margin,
    )


def _arena(
    rows: pl.DataFrame, policy: str, settings: BinarizeSettings
) -> tuple[pl.DataFrame, Counter[str]]:
    return binarize_arena(rows)


def _mt_bench(
    rows: pl.DataFrame, policy: str, settings: BinarizeSettings
) -> tuple[pl.DataFrame, Counter[str]]:
    return binarize_mt_bench(rows, policy)


def pairs_row_by_row(
    rows: pl.DataFrame, policy: str, pairs_of: Callable[[dict[str, Any], str], list[dict] | str]
) -> tuple[pl.DataFrame, Counter[str]]:
    """Pairs made one comparison row at a time: `pairs_of` gives a row's pairs, or the
    reason it makes none (counted `dropped_<reason>`)."""
    counts: Counter[str] = Counter()
    pairs: list[dict] = []
    for row in rows.iter_rows(named=True):
        made = pairs_of(row, policy)
        if isinstance(made, str):
            counts[f"dropped_{made}"] += 1
        else:
            pairs.extend({**pair_lineage(row), "policy": policy, **pair} for pair in made)
    return pl.DataFrame(pairs, schema=PAIR_SCHEMA, orient="row"), counts


def chosen_over_rejected(row: dict[str, Any], policy: str) -> list[dict] | str:
    """The pair of a row whose chosen side is conversation_a (hh-rlhf's annotator choice)."""
    if not row["same_user_turns"]:
        return "user_turns_differ"
    if normalise_text(row["response_a"] or "") == normalise_text(row["response_b"] or ""):
        return "tie"
    return [
        {
            "pair_id": pair_id(row["comparison_id"], policy, 0, 1),
            "prompt": row["prompt"],
            "chosen": [reply(row["response_a"])],
            "rejected": [reply(row["response_b"])],
            "score_chosen": 1.0,
            "score_rejected": 0.0,
            "judge_count": 1,
            "agreement": 1.0,
        }
    ]


def ranked_pairs(ranks: Sequence[int], policy: str) -> list[tuple[int, int]] | None:
    """(chosen, rejected) positions among replies of the given ranks; None when the
    policy's tie rule drops the prompt."""
    if policy == RANK_PAIRS_POLICY:
        return [(a, b) for a, ra in enumerate(ranks) for b, rb in enumerate(ranks) if ra < rb]
    best = min(ranks)
    leaders = [i for i, r in enumerate(ranks) if r == best]
    if len(leaders) > 1:
        return None
    return [(leaders[0], i) for i, r in enumerate(ranks) if r > best]


def rank_pairs(row: dict[str, Any], policy: str) -> list[dict] | str:
    """The pairs of replies ranked against each other (oasst1's sibling replies)."""
    ranked = [c for c in row["completions"] or [] if c.get("rank") is not None]
    if len(ranked) < 2:
        return "no_pair"
    picks = ranked_pairs([c["rank"] for c in ranked], policy)
    if not picks:  # every ranked reply shares one rank, or the best rank is shared
        return "tie"

    def score(i: int) -> float:
        return float(len(ranked) - ranked[i]["rank"])

    return [
        completion_pair(row, policy, ranked, chosen, rejected, score) for chosen, rejected in picks
    ]


def _row_by_row(
    pairs_of: Callable[[dict[str, Any], str], list[dict] | str],
) -> Binarizer:
    return lambda rows, policy, settings: pairs_row_by_row(rows, policy, pairs_of)


POLICIES: dict[str, Binarizer] = {
    **{name: _ultrafeedback for name in UF_POLICIES},
    ARENA_POLICY: _arena,
    **{name: _mt_bench for name in MT_BENCH_POLICIES},
    HH_POLICY: _row_by_row(chosen_over_rejected),
    RANK_PAIRS_POLICY: _row_by_row(rank_pairs),
    BEST_VS_REST_POLICY: _row_by_row(rank_pairs),
}
"""Policy name -> the function that makes its pairs from silver/comparisons rows."""


def binarize(
    rows: pl.DataFrame, policy: str, settings: BinarizeSettings
) -> tuple[pl.DataFrame, Counter[str]]:
    """One dataset's comparison rows to pairs under `policy`, with `dropped_<reason>` counts."""
    if policy not in POLICIES:
        raise ValueError(f"unknown policy {policy!r}; choose from {sorted(POLICIES)}")
    return POLICIES[policy](rows, policy, settings)


def selected_policies(spec: DatasetSpec, wanted: Sequence[str]) -> list[str]:
    """The policies a dataset's pairs are made with: those it declares that are `wanted`
    (the gold config and the declared views), else its first declared one."""
    chosen = [policy for policy in spec.policies if policy in wanted]
    return chosen or list(spec.policies[:1])


def unknown_policies(catalogue: Mapping[str, DatasetSpec]) -> dict[str, list[str]]:
    """Declared policies no function makes, per dataset (empty when all are known)."""
    unknown = {
        key: [p for p in spec.policies if p not in POLICIES] for key, spec in catalogue.items()
    }
    return {key: names for key, names in unknown.items() if names}


def declared_policies(catalogue: Mapping[str, DatasetSpec]) -> list[str]:
    """Every policy some dataset declares, in catalogue order."""
    return list(dict.fromkeys(p for spec in catalogue.values() for p in spec.policies))
