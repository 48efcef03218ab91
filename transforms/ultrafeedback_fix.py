"""UltraFeedback's `overall_score` bug, and the correction its authors published, as one
pure step on the silver comparisons frame.

The bug. OpenBMB/UltraFeedback issue #8 (https://github.com/OpenBMB/UltraFeedback/issues/8)
points at `src/data_annotation/annotate_critique.py` line 81 at commit
e662fd291e5bdf9103a70c2496dc8f1fbcaefe7b, which stored

    example["completions"][i]["overall_score"] = score if score > 1 else 10*score

so a critique score of 1 was stored as 10. The authors agreed (lifan-yuan, 2023-12-01):
"Yes, it seems to be a bug, and the ">" should be ">=". Intuitively, a true `10` score
should correspond to high fine-grained scores while a mistaken `10` relates to low ones."

The published correction. `src/data_annotation/fix_overall_score_issue.py`, added to
github.com/OpenBMB/UltraFeedback in commit 9e5b078c64584dc9f77c813aa4b01b6abb0b510b
(2023-12-29; the README "Update" section that describes it was reworded in
bf80fd46a8c6ceecc86e8babb1ae8771f26a3cbb), whose output replaced the openbmb/UltraFeedback
dataset on the Hub the same day. For every completion whose `overall_score == 10` it
recomputes the fine-grained score as the mean of the aspect ratings that are not "N/A"
(`calculate_average_rating`) and, by `check_score`:

- fine-grained score <= 2: `overall_score` is set to 1 ("should flip");
- 2 < fine-grained score <= 4: re-annotated: gpt-4-0613 (temperature 0, one output token)
  is asked for a new 1-10 score from the instruction, the completion and its critique;
- fine-grained score > 4: left at 10.

The README counts 2,628 completions scored 10 in the initial release.

What this step does: exactly the deterministic part of that script (the flip), and it
counts what it cannot reproduce offline (the GPT-4 re-annotation) instead of guessing.
On a copy taken from the Hub after 2023-12-29 the flip finds nothing (every 10 with a
fine-grained score <= 2 was already set to 1, and re-annotated scores are the authors'
own), so the step is safe to run on any copy: it only changes pre-fix copies (older
downloads, translations, Parquet conversions made from the first release).

Deviations, stated: a completion scored 10 with no aspect rating at all is left alone
(the script would fail on it: `None <= 2`); the stored `fine_grained_score` is not
rewritten (the script also overwrote it with the recomputed mean); the rule is applied
to `overall_score == 10.0` only, as the script does.

Argilla and HuggingFaceH4 published no score correction of their own: Argilla's
argilla/ultrafeedback-binarized-preferences(-cleaned) avoids `overall_score` and binarizes
on the mean of the aspect ratings (here: `max_mean_rating_drop_ties` in binarize.py).
"""

from __future__ import annotations

from collections import Counter
from typing import Literal

import polars as pl

from transforms.comparisons import ASPECTS

BUGGY_SCORE = 10.0  # what a critique score of 1 became
CORRECTED_SCORE = 1.0  # what the authors set it back to
FLIP_AT_MOST = 2.0  # fine-grained score <= this: flipped to 1
KEEP_ABOVE = 4.0  # fine-grained score > this: the 10 is genuine

# Outcomes for a completion scored 10 (the Counter's keys):
CORRECTED = "corrected"  # 10 -> 1: fine-grained score <= 2
KEPT = "kept"  # stays 10: fine-grained score > 4
UNRESOLVED = "unresolved"  # 2 < fine-grained <= 4: upstream re-asked GPT-4; we cannot
UNRATED = "unrated"  # no aspect rating to decide with: left alone


def fix_overall_score(
    comparisons: pl.DataFrame, *, unresolved: Literal["keep", "clear"] = "keep"
) -> tuple[pl.DataFrame, Counter[str]]:
    """Apply the authors' correction to every UltraFeedback completion scored 10.

    `comparisons` is silver's comparisons frame (rows without completions, such as
    Arena votes, pass through unchanged). Returns the frame, same schema and row order,
    with `overall_score` set to 1 where the fine-grained score is <= 2, and a Counter of
    outcomes over the completions scored 10: `corrected` (10 -> 1), `kept`, `unresolved`,
    `unrated`.

    `unresolved` says what happens to a 10 the authors re-annotated with GPT-4 (fine-grained
    score in (2, 4]): "keep" (default) leaves it at 10, which on a post-fix copy is the
    authors' own re-annotated score; "clear" sets it to None, so that the overall-score
    policies leave the completion out (for pre-fix copies, where that 10 is unverified).
    """
    if unresolved not in ("keep", "clear"):
        raise ValueError(f"unresolved must be 'keep' or 'clear', not {unresolved!r}")
    score = pl.field("overall_score")
    mean = pl.mean_horizontal([pl.field("ratings").struct.field(a) for a in ASPECTS])
    outcome = (
        pl.when(score.is_null() | (score != BUGGY_SCORE))
        .then(pl.lit(None, dtype=pl.String))
        .when(mean.is_null())
        .then(pl.lit(UNRATED))
        .when(mean <= FLIP_AT_MOST)
        .then(pl.lit(CORRECTED))
        .when(mean <= KEEP_ABOVE)
        .then(pl.lit(UNRESOLVED))
        .otherwise(pl.lit(KEPT))
    )
    outcomes = (
        comparisons.select(
            pl.col("completions").list.eval(pl.element().struct.with_fields(outcome=outcome))
        )
        .explode("completions")
        .select(pl.col("completions").struct.field("outcome"))
        .drop_nulls()
    )
    counts: Counter[str] = Counter(outcomes["outcome"].to_list())
    fixed = (
        pl.when(outcome == CORRECTED)
        .then(pl.lit(CORRECTED_SCORE))
        .when((outcome == UNRESOLVED) & pl.lit(unresolved == "clear"))
        .then(pl.lit(None, dtype=pl.Float64))
        .otherwise(score)
    )
    column = pl.col("completions").list.eval(pl.element().struct.with_fields(overall_score=fixed))
    return comparisons.with_columns(column.cast(comparisons.schema["completions"])), counts
