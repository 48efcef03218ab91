"""Binarization policies: from judged comparisons to (prompt, chosen, rejected) pairs.

Each policy is a named, pure function; its name is written into every pair it makes
(`policy` column). Random choices are seeded per prompt (seed + the prompt's id), so a
pair never depends on row order or on which other rows are present.

Tie rules, written down:
- max_overall_random_other: chosen = the completion with the highest overall_score (the
  first such, in source order, when several share it); rejected = a random other scored
  completion, even if its score equals the chosen one (ties are NOT dropped: this is the
  recipe of HuggingFaceH4/ultrafeedback_binarized). Completions without an
  overall_score take no part. Source `truthful_qa` is excluded by default.
- max_mean_rating_drop_ties: score = mean of the four aspect ratings present ("N/A" is
  missing, not zero); chosen = the single highest; if two or more share the highest
  score the prompt is dropped (tie); rejected = a random completion scoring strictly lower.
- all_pairs_margin: every ordered pair (a, b) with score(a) - score(b) >= margin, on
  overall_score; equal scores never make a pair.
- arena_winner_drop_ties: winner against loser; `tie` and `tie (bothbad)` are dropped, and
  so are votes whose two dialogues do not share identical user turns.
- mt_bench_majority_drop_ties: votes on the same (question, model pair, turn) are pooled
  (model order normalised); the verdict with the most votes wins if it names a model and
  no other verdict has as many; otherwise (a tie verdict, or a split) it is dropped.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from transforms.cleaning import MESSAGES
from transforms.comparisons import ASPECTS

PAIR_SCHEMA = pl.Schema(
    {
        "pair_id": pl.String,
        "dataset": pl.String,
        "split": pl.String,
        "source_file": pl.String,
        "source_row": pl.Int64,
        "source_id": pl.String,
        "policy": pl.String,
        "prompt": MESSAGES,
        "chosen": MESSAGES,
        "rejected": MESSAGES,
        "score_chosen": pl.Float64,
        "score_rejected": pl.Float64,
        "model_chosen": pl.String,
        "model_rejected": pl.String,
        "judge_count": pl.Int64,
        "agreement": pl.Float64,
        "lang": pl.String,
        "license": pl.String,
        "license_class": pl.String,
    }
)

UF_POLICIES = ("max_overall_random_other", "max_mean_rating_drop_ties", "all_pairs_margin")
ARENA_POLICY = "arena_winner_drop_ties"
MT_BENCH_POLICY = "mt_bench_majority_drop_ties"


def seeded_rng(seed: int, key: str) -> random.Random:
    """A random stream that depends only on the seed and one prompt's id."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def mean_rating(ratings: Mapping[str, float | None]) -> float | None:
    present = [ratings[a] for a in ASPECTS if ratings.get(a) is not None]
    return sum(present) / len(present) if present else None


def pick_max_overall_random_other(
    completions: Sequence[Mapping[str, Any]], rng: random.Random
) -> tuple[int, int] | None:
    scored = [i for i, c in enumerate(completions) if c["overall_score"] is not None]
    if len(scored) < 2:
        return None
    best = max(scored, key=lambda i: (completions[i]["overall_score"], -i))
    return best, rng.choice([i for i in scored if i != best])


def pick_max_mean_rating_drop_ties(
    completions: Sequence[Mapping[str, Any]], rng: random.Random
) -> tuple[int, int] | None:
    scores = {i: mean_rating(c["ratings"]) for i, c in enumerate(completions)}
    scored = {i: s for i, s in scores.items() if s is not None}
    if len(scored) < 2:
        return None
    top = max(scored.values())
    best = [i for i, s in scored.items() if s == top]
    lower = [i for i, s in scored.items() if s < top]
    if len(best) > 1 or not lower:
        return None
    return best[0], rng.choice(lower)


def pairs_with_margin(
    completions: Sequence[Mapping[str, Any]], margin: float
) -> list[tuple[int, int]]:
    scores = [c["overall_score"] for c in completions]
    return [
        (a, b)
        for a, sa in enumerate(scores)
        for b, sb in enumerate(scores)
        if sa is not None and sb is not None and sa - sb >= margin and a != b
    ]


def binarize_ultrafeedback(
    comparisons: pl.DataFrame,
    policy: str,
    *,
    seed: int = 42,
    exclude_sources: Sequence[str] = ("truthful_qa",),
    margin: float = 1.0,
) -> tuple[pl.DataFrame, Counter[str]]:
    """UltraFeedback prompts (silver comparisons rows) to pairs under `policy`."""
    if policy not in UF_POLICIES:
        raise ValueError(f"unknown UltraFeedback policy {policy!r}; choose from {UF_POLICIES}")
    counts: Counter[str] = Counter()
    pairs = []
    for row in comparisons.iter_rows(named=True):
        if row["prompt_source"] in exclude_sources:
            counts["dropped_excluded_source"] += 1
            continue
        completions = row["completions"]
        rng = seeded_rng(seed, row["source_id"])
        if policy == "all_pairs_margin":
            picks = pairs_with_margin(completions, margin)
        else:
            pick = (
                pick_max_overall_random_other(completions, rng)
                if policy == "max_overall_random_other"
                else pick_max_mean_rating_drop_ties(completions, rng)
            )
            picks = [pick] if pick else []
        if not picks:
            counts["dropped_no_pair"] += 1
        for chosen, rejected in picks:
            pairs.append(_uf_pair(row, policy, completions, chosen, rejected))
    return pl.DataFrame(pairs, schema=PAIR_SCHEMA, orient="row"), counts


def _uf_pair(
    row: Mapping[str, Any], policy: str, completions: Sequence[Mapping], chosen: int, rejected: int
) -> dict[str, Any]:
    def score(i: int) -> float | None:
        completion = completions[i]
        if policy == "max_mean_rating_drop_ties":
            return mean_rating(completion["ratings"])
        return completion["overall_score"]

    return {
        **_lineage(row),
        "pair_id": _pair_id(row["comparison_id"], policy, chosen, rejected),
        "policy": policy,
        "prompt": row["prompt"],
        "chosen": [_reply(completions[chosen]["response"])],
        "rejected": [_reply(completions[rejected]["response"])],
        "score_chosen": score(chosen),
        "score_rejected": score(rejected),
        "model_chosen": completions[chosen]["model"],
        "model_rejected": completions[rejected]["model"],
    }


def binarize_arena(comparisons: pl.DataFrame) -> tuple[pl.DataFrame, Counter[str]]:
    """Arena votes to pairs: the winner's last reply against the loser's."""
    counts: Counter[str] = Counter()
    pairs = []
    for row in comparisons.iter_rows(named=True):
        if row["winner"] not in ("model_a", "model_b"):
            counts[f"dropped_{_reason(row['winner'])}"] += 1
            continue
        if not row["same_user_turns"]:
            counts["dropped_user_turns_differ"] += 1
            continue
        win, lose = ("a", "b") if row["winner"] == "model_a" else ("b", "a")
        pairs.append(
            {
                **_lineage(row),
                "pair_id": _pair_id(row["comparison_id"], ARENA_POLICY, 0, 1),
                "policy": ARENA_POLICY,
                "prompt": row[f"conversation_{win}"][:-1],
                "chosen": [_reply(row[f"response_{win}"])],
                "rejected": [_reply(row[f"response_{lose}"])],
                "score_chosen": 1.0,
                "score_rejected": 0.0,
                "model_chosen": row[f"model_{win}"],
                "model_rejected": row[f"model_{lose}"],
                "judge_count": 1,
                "agreement": 1.0,
            }
        )
    return pl.DataFrame(pairs, schema=PAIR_SCHEMA, orient="row"), counts


def binarize_mt_bench(comparisons: pl.DataFrame) -> tuple[pl.DataFrame, Counter[str]]:
    """MT-bench votes pooled per (question, model pair, turn), decided by majority."""
    counts: Counter[str] = Counter()
    groups: dict[tuple, list[dict]] = {}
    for row in comparisons.sort("split", "source_file", "source_row").iter_rows(named=True):
        first, second = sorted((row["model_a"], row["model_b"]))
        groups.setdefault((row["source_id"], first, second, row["turn"]), []).append(row)
    pairs = []
    for (_question, first, second, _turn), votes in groups.items():
        verdicts = Counter(_voted_model(v) for v in votes)
        (top, top_votes), *rest = verdicts.most_common()
        split_vote = bool(rest) and rest[0][1] == top_votes
        if top == "tie" or split_vote:
            counts["dropped_split_vote" if split_vote else "dropped_tie"] += 1
            continue
        winner, loser = (first, second) if top == first else (second, first)
        example = next(v for v in votes if _voted_model(v) == winner)
        win = "a" if example["model_a"] == winner else "b"
        lose = "b" if win == "a" else "a"
        pairs.append(
            {
                **_lineage(example),
                "pair_id": _pair_id(
                    "|".join(sorted(v["comparison_id"] for v in votes)), MT_BENCH_POLICY, 0, 1
                ),
                "policy": MT_BENCH_POLICY,
                "prompt": example[f"conversation_{win}"][:-1],
                "chosen": [_reply(example[f"response_{win}"])],
                "rejected": [_reply(example[f"response_{lose}"])],
                "score_chosen": top_votes / len(votes),
                "score_rejected": verdicts.get(loser, 0) / len(votes),
                "model_chosen": winner,
                "model_rejected": loser,
                "judge_count": len(votes),
                "agreement": top_votes / len(votes),
            }
        )
    counts["votes_pooled"] = sum(len(v) for v in groups.values())
    return pl.DataFrame(pairs, schema=PAIR_SCHEMA, orient="row"), counts


def _voted_model(row: Mapping[str, Any]) -> str:
    if row["winner"] == "model_a":
        return row["model_a"]
    if row["winner"] == "model_b":
        return row["model_b"]
    return "tie"


def _reason(winner: str | None) -> str:
    return (winner or "missing_winner").replace(" ", "_").replace("(", "").replace(")", "")


def _reply(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


def _pair_id(source: str, policy: str, chosen: int, rejected: int) -> str:
    return hashlib.sha256(f"{source}:{policy}:{chosen}:{rejected}".encode()).hexdigest()


def _lineage(row: Mapping[str, Any]) -> dict[str, Any]:
    keep = ("dataset", "split", "source_file", "source_row", "source_id", "lang", "license")
    return {k: row[k] for k in keep} | {"license_class": row["license_class"]}
