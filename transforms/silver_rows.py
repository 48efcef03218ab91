"""What every silver shape builds on: lineage columns, the comparison row schema, the
quarantine row shape, and one step's outcome (`Stage`).

Shape functions (transforms/silver.py and the per-format modules it registers) import
from here, so that no shape module imports another.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from transforms.catalogue import DatasetSpec, author_of, license_class
from transforms.cleaning import MESSAGES
from transforms.comparisons import COMPLETIONS, comparison_id, split_last_reply, user_turns

LINEAGE = ["dataset", "split", "source_file", "source_row", "ingested_at"]
SILVER_QUARANTINE_SCHEMA = pl.Schema(
    {
        "table": pl.String,
        "dataset": pl.String,
        "split": pl.String,
        "source_file": pl.String,
        "source_row": pl.Int64,
        "reason": pl.String,
        "detail": pl.String,
        "payload": pl.String,
    }
)


@dataclass
class Stage:
    """One silver step's outcome: kept rows, rejected rows, and what each rule did."""

    rows: pl.DataFrame
    rejected: pl.DataFrame
    counts: Counter[str] = field(default_factory=Counter)
    merged: Counter[str] = field(default_factory=Counter)
    """Bronze rows that became no silver row of their own, by reason: folded into another
    row (a message into its thread) or left out by the shape's rule (a reply on no
    best-ranked path). A slice's rows in = rows out + duplicates + quarantined + merged."""


def rejected_rows(frame: pl.DataFrame, table: str, payload_columns: Sequence[str]) -> pl.DataFrame:
    """Rejected rows in the quarantine shape; the payload is the row's source content as JSON."""
    payloads = [
        json.dumps(row, ensure_ascii=False, default=str)
        for row in frame.select(payload_columns).iter_rows(named=True)
    ]
    return frame.select(
        pl.lit(table).alias("table"),
        *[pl.col(c) for c in ["dataset", "split", "source_file", "source_row"]],
        "reason",
        "detail",
        pl.Series("payload", payloads, dtype=pl.String),
    ).cast(dict(SILVER_QUARANTINE_SCHEMA))


COMPARISON_SCHEMA = pl.Schema(
    {
        "dataset": pl.String,
        "split": pl.String,
        "source_file": pl.String,
        "source_row": pl.Int64,
        "ingested_at": pl.Datetime("us", "UTC"),
        "source_id": pl.String,
        "comparison_id": pl.String,
        "prompt": MESSAGES,
        "response_a": pl.String,
        "response_b": pl.String,
        "conversation_a": MESSAGES,
        "conversation_b": MESSAGES,
        "same_user_turns": pl.Boolean,
        "model_a": pl.String,
        "model_b": pl.String,
        "winner": pl.String,
        "judge": pl.String,
        "turn": pl.Int64,
        "completions": COMPLETIONS,
        "prompt_source": pl.String,
        "prompt_written_by": pl.String,
        "reply_written_by": pl.String,
        "correct_answers": pl.List(pl.String),
        "incorrect_answers": pl.List(pl.String),
        "source_language": pl.String,
        "moderation_flagged": pl.Boolean,
        "moderation_categories": pl.List(pl.String),
        "toxic_chat_flagged": pl.Boolean,
        "toxic_chat_roberta_probability": pl.Float64,
        "toxic_chat_t5_score": pl.Float64,
        "license": pl.String,
        "prompt_license": pl.String,
        "response_license": pl.String,
    }
)


def author_column(
    bronze: pl.DataFrame, spec: DatasetSpec, field: str, role: str | None = None
) -> pl.Series:
    """Who wrote `field` (one role's turns of it), row by row, as the catalogue declares."""
    declared = spec.field_author(field, role)
    if isinstance(declared, str):
        authors = [declared] * bronze.height
    else:
        authors = [
            author_of(declared, row) for row in bronze.select(declared["column"]).rows(named=True)
        ]
    return pl.Series("written_by", authors, dtype=pl.String)


def lineage_of(record: Mapping[str, Any]) -> dict[str, Any]:
    """A bronze record's lineage columns, as a silver row starts."""
    return {c: record[c] for c in LINEAGE}


def comparison_stage(
    rows: list[dict], rejected: list[dict], bronze: pl.DataFrame, payload: Sequence[str]
) -> Stage:
    """Comparison rows (COMPARISON_SCHEMA) and the bronze records rejected beside them
    (each with `reason` and `detail`) as one silver stage; `payload` names the source
    columns kept in quarantine."""
    frame = pl.DataFrame(rows, schema=COMPARISON_SCHEMA, orient="row")
    rejects = pl.DataFrame(
        rejected, schema={**bronze.schema, "reason": pl.String, "detail": pl.String}, orient="row"
    )
    counts: Counter[str] = Counter()
    counts.update(f"quarantined_{r}" for r in rejects["reason"].to_list())
    return Stage(
        frame.with_columns(
            content_hash=pl.col("comparison_id"),
            license_class=pl.col("license").map_elements(license_class, return_dtype=pl.String),
        ),
        rejected_rows(rejects, "silver/comparisons", payload),
        counts,
    )


def two_sides(
    conversation_a: list[dict[str, str]], conversation_b: list[dict[str, str]]
) -> dict[str, Any]:
    """The columns of a pairwise row that come from its two dialogues: both dialogues, the
    prompt (the messages before side a's final reply), both final replies, and whether the
    two share their user turns."""
    prompt, response_a = split_last_reply(conversation_a)
    _, response_b = split_last_reply(conversation_b)
    return {
        "prompt": prompt,
        "response_a": response_a,
        "response_b": response_b,
        "conversation_a": conversation_a,
        "conversation_b": conversation_b,
        "same_user_turns": user_turns(conversation_a) == user_turns(conversation_b),
    }


VOTE_IDENTITY = ("conversation_a", "conversation_b", "model_a", "model_b", "winner", "judge")


def vote_id(row: Mapping[str, Any]) -> str:
    """A pairwise row's comparison_id: its two dialogues, models, verdict and judge."""
    return comparison_id({key: row[key] for key in VOTE_IDENTITY})
