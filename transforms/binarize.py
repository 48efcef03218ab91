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
- mt_bench_position_consistent: as mt_bench_majority_drop_ties, except that GPT-4's votes
  on a (question, model pair, turn), made in either answer order, count as ONE ballot: the
  model every one of them names, else a tie. This is MT-bench's own conservative rule
  (arXiv 2306.05685 §3.4: "only declare a win when an answer is preferred in both orders.
  If the results are inconsistent after swapping, we can call it a tie"; FastChat
  fastchat/llm_judge/common.py, load_pairwise_model_judgments: g1_winner != g2_winner is
  "inconsistent", which show_result.py counts as a tie). A group judged by GPT-4 alone
  whose verdict flips with the order is dropped as `dropped_position_inconsistent`; human
  votes each stay one ballot under the majority rule, the GPT-4 ballot beside them.
  Note: the published lmsys/mt_bench_human_judgments `gpt4_pair` split has one row per
  unordered pair and turn (2,400 = 80 questions x 15 pairs x 2 turns): the two orders were
  already reduced to one verdict upstream (FastChat's compute_agreement.py asserts exactly
  one GPT-4 vote per group of its gpt4_pair_judgments.json; how an inconsistent pair was
  written there is not documented, a tie by FastChat's own rule). On that split this
  policy picks the same chosen and rejected as the majority one (and never counts
  `gpt4_position_inconsistent`). It differs on data with one GPT-4 row per order
  (FastChat's gpt-4_pair.jsonl, g1_winner and g2_winner, as two rows): there GPT-4 is
  one judge, not two, and an order-dependent verdict decides nothing.

Judge agreement (`judge_agreement`) follows FastChat's compute_agreement.py and the
paper's §4.2 setups S1 (ties counted; an order-inconsistent GPT-4 verdict counts as a
tie) and S2 (only votes where neither judge says tie).
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
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
MT_BENCH_POSITION_POLICY = "mt_bench_position_consistent"
MT_BENCH_POLICIES = (MT_BENCH_POLICY, MT_BENCH_POSITION_POLICY)


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

        def score(i: int, completions: Sequence[Mapping] = completions) -> float | None:
            if policy == "max_mean_rating_drop_ties":
                return mean_rating(completions[i]["ratings"])
            return completions[i]["overall_score"]

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
            pairs.append(
                {
                    **pair_lineage(row),
                    "policy": policy,
                    **completion_pair(row, policy, completions, chosen, rejected, score),
                }
            )
    return pl.DataFrame(pairs, schema=PAIR_SCHEMA, orient="row"), counts


def completion_pair(
    row: Mapping[str, Any],
    policy: str,
    completions: Sequence[Mapping],
    chosen: int,
    rejected: int,
    score: Callable[[int], float | None],
) -> dict[str, Any]:
    """The pair of two of a row's completions (`chosen` over `rejected`), scored by `score`."""
    return {
        "pair_id": pair_id(row["comparison_id"], policy, chosen, rejected),
        "prompt": row["prompt"],
        "chosen": [reply(completions[chosen]["response"])],
        "rejected": [reply(completions[rejected]["response"])],
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
                **pair_lineage(row),
                "pair_id": pair_id(row["comparison_id"], ARENA_POLICY, 0, 1),
                "policy": ARENA_POLICY,
                "prompt": row[f"conversation_{win}"][:-1],
                "chosen": [reply(row[f"response_{win}"])],
                "rejected": [reply(row[f"response_{lose}"])],
                "score_chosen": 1.0,
                "score_rejected": 0.0,
                "model_chosen": row[f"model_{win}"],
                "model_rejected": row[f"model_{lose}"],
                "judge_count": 1,
                "agreement": 1.0,
            }
        )
    return pl.DataFrame(pairs, schema=PAIR_SCHEMA, orient="row"), counts


def binarize_mt_bench(
    comparisons: pl.DataFrame, policy: str = MT_BENCH_POLICY
) -> tuple[pl.DataFrame, Counter[str]]:
    """MT-bench votes pooled per (question, model pair, turn), decided by majority; under
    `mt_bench_position_consistent` GPT-4's votes in both answer orders are one ballot."""
    if policy not in MT_BENCH_POLICIES:
        raise ValueError(f"unknown MT-bench policy {policy!r}; choose from {MT_BENCH_POLICIES}")
    counts: Counter[str] = Counter()
    groups = _mt_bench_groups(comparisons)
    pairs = []
    for (_question, first, second, _turn), votes in groups.items():
        ballots = _ballots(votes, policy)
        verdicts = Counter(verdict for verdict, _ in ballots)
        (top, top_votes), *rest = verdicts.most_common()
        split_vote = bool(rest) and rest[0][1] == top_votes
        inconsistent = _gpt4_inconsistent(votes) if policy == MT_BENCH_POSITION_POLICY else False
        if inconsistent:
            counts["gpt4_position_inconsistent"] += 1
        if top == "tie" or split_vote:
            if inconsistent and len(ballots) == 1:
                counts["dropped_position_inconsistent"] += 1
            else:
                counts["dropped_split_vote" if split_vote else "dropped_tie"] += 1
            continue
        winner, loser = (first, second) if top == first else (second, first)
        winning = {id(row) for verdict, rows in ballots if verdict == winner for row in rows}
        example = next(v for v in votes if id(v) in winning)
        win = "a" if example["model_a"] == winner else "b"
        lose = "b" if win == "a" else "a"
        pairs.append(
            {
                **pair_lineage(example),
                "pair_id": pair_id(
                    "|".join(sorted(v["comparison_id"] for v in votes)), policy, 0, 1
                ),
                "policy": policy,
                "prompt": example[f"conversation_{win}"][:-1],
                "chosen": [reply(example[f"response_{win}"])],
                "rejected": [reply(example[f"response_{lose}"])],
                "score_chosen": top_votes / len(ballots),
                "score_rejected": verdicts.get(loser, 0) / len(ballots),
                "model_chosen": winner,
                "model_rejected": loser,
                "judge_count": len(ballots),
                "agreement": top_votes / len(ballots),
            }
        )
    counts["votes_pooled"] = sum(len(v) for v in groups.values())
    return pl.DataFrame(pairs, schema=PAIR_SCHEMA, orient="row"), counts


def is_gpt4_judge(judge: str | None) -> bool:
    """A GPT-4 judge: a name starting with `gpt4` (or `gpt-4`), as in the `gpt4_pair` split."""
    return (judge or "").lower().replace("-", "").startswith("gpt4")


def pooled_gpt4_verdict(votes: Sequence[Mapping[str, Any]]) -> tuple[str, bool]:
    """GPT-4's verdict on one (question, turn, model pair), its votes in both answer orders
    pooled (winner mapped to a model name, so the order no longer matters): the model
    every vote names, or "tie" when all say tie; when they disagree, a tie and the flag
    `inconsistent` set (MT-bench's conservative rule). Returns (verdict, inconsistent)."""
    verdicts = {_voted_model(v) for v in votes}
    if len(verdicts) == 1:
        return verdicts.pop(), False
    return "tie", True


AGREEMENT_SCHEMA = pl.Schema(
    {
        "turn": pl.Int64,
        "votes_with_ties": pl.Int64,
        "agree_with_ties": pl.Int64,
        "agreement_with_ties": pl.Float64,
        "votes_without_ties": pl.Int64,
        "agree_without_ties": pl.Int64,
        "agreement_without_ties": pl.Float64,
    }
)


def judge_agreement(
    comparisons: pl.DataFrame, *, human_prefixes: Sequence[str] = ("expert",)
) -> pl.DataFrame:
    """Agreement between GPT-4 and human judges on MT-bench, per turn.

    Votes are grouped by (turn, question, unordered model pair), winners mapped to model
    names. GPT-4's votes in a group are pooled into one verdict (`pooled_gpt4_verdict`:
    order-inconsistent is a tie); every human vote in a group GPT-4 also judged is one
    comparison with it (FastChat compute_agreement.py, get_mt_bench_agreement). Two
    setups (arXiv 2306.05685 §4.2, Table 5): S1 "includes non-tie, tie, and inconsistent
    (due to position bias) votes and counts inconsistent as tie" (`*_with_ties`), S2
    "only includes non-tie votes" (`*_without_ties`: a comparison where either side says
    tie is left out). Humans are judges whose name starts with one of `human_prefixes`:
    compute_agreement.py counts `expert_*` only (`author_*` is a judge of its own).

    One row per turn (1 and 2 always, any other turn present too): votes and agreeing
    votes under each setup, and their ratio (null when nothing was compared)."""
    groups: dict[tuple, dict[str, list[dict]]] = {}
    for row in comparisons.sort("split", "source_file", "source_row").iter_rows(named=True):
        if is_gpt4_judge(row["judge"]):
            kind = "gpt4"
        elif (row["judge"] or "").startswith(tuple(human_prefixes)):
            kind = "human"
        else:
            continue
        key = (row["turn"], row["source_id"], *sorted((row["model_a"], row["model_b"])))
        groups.setdefault(key, {"gpt4": [], "human": []})[kind].append(row)
    tally: dict[int, Counter[str]] = {1: Counter(), 2: Counter()}
    for (turn, *_), kinds in groups.items():
        if not kinds["gpt4"] or not kinds["human"]:
            continue
        gpt4, _ = pooled_gpt4_verdict(kinds["gpt4"])
        counts = tally.setdefault(turn, Counter())
        for vote in kinds["human"]:
            human = _voted_model(vote)
            counts["votes_with_ties"] += 1
            counts["agree_with_ties"] += human == gpt4
            if "tie" not in (human, gpt4):
                counts["votes_without_ties"] += 1
                counts["agree_without_ties"] += human == gpt4
    rows = []
    for turn in sorted(tally):
        counts = tally[turn]
        row: dict[str, Any] = {"turn": turn}
        for setup in ("with_ties", "without_ties"):
            votes, agree = counts[f"votes_{setup}"], counts[f"agree_{setup}"]
            row |= {
                f"votes_{setup}": votes,
                f"agree_{setup}": agree,
                f"agreement_{setup}": agree / votes if votes else None,
            }
        rows.append(row)
    return pl.DataFrame(rows, schema=AGREEMENT_SCHEMA, orient="row")


def _mt_bench_groups(comparisons: pl.DataFrame) -> dict[tuple, list[dict]]:
    groups: dict[tuple, list[dict]] = {}
    for row in comparisons.sort("split", "source_file", "source_row").iter_rows(named=True):
        first, second = sorted((row["model_a"], row["model_b"]))
        groups.setdefault((row["source_id"], first, second, row["turn"]), []).append(row)
    return groups


def _ballots(votes: Sequence[dict], policy: str) -> list[tuple[str, list[dict]]]:
    """(verdict, the votes behind it), one per ballot: every vote under the majority
    policy; under the position-consistent one, GPT-4's votes pooled into one ballot."""
    if policy == MT_BENCH_POLICY:
        return [(_voted_model(v), [v]) for v in votes]
    gpt4 = [v for v in votes if is_gpt4_judge(v["judge"])]
    ballots = [(_voted_model(v), [v]) for v in votes if not is_gpt4_judge(v["judge"])]
    if gpt4:
        ballots.append((pooled_gpt4_verdict(gpt4)[0], gpt4))
    return ballots


def _gpt4_inconsistent(votes: Sequence[dict]) -> bool:
    gpt4 = [v for v in votes if is_gpt4_judge(v["judge"])]
    return bool(gpt4) and pooled_gpt4_verdict(gpt4)[1]


def _voted_model(row: Mapping[str, Any]) -> str:
    if row["winner"] == "model_a":
        return row["model_a"]
    if row["winner"] == "model_b":
        return row["model_b"]
    return "tie"


def _reason(winner: str | None) -> str:
    return (winner or "missing_winner").replace(" ", "_").replace("(", "").replace(")", "")


def reply(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


def pair_id(source: str, policy: str, chosen: int, rejected: int) -> str:
    return hashlib.sha256(f"{source}:{policy}:{chosen}:{rejected}".encode()).hexdigest()


def pair_lineage(row: Mapping[str, Any]) -> dict[str, Any]:
    keep = ("dataset", "split", "source_file", "source_row", "source_id", "lang", "license")
    return {k: row[k] for k in keep} | {"license_class": row["license_class"]}
