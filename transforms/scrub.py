"""Apply text-engine results to frames: redact PII in every text field, and say where it was.

The engines see each distinct text once. This module gathers the texts of the named
fields (plain strings, dialogue turns, completion responses), and puts the redacted
texts back in place, producing the audit rows (type, offsets, score; never the value).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

FINDING = pl.Struct(
    {
        "entity_type": pl.String,
        "start": pl.Int64,
        "end": pl.Int64,
        "score": pl.Float64,
        "recognizer": pl.String,
    }
)
FINDINGS = pl.List(FINDING)
SCAN_RESULTS_SCHEMA = pl.Schema({"text": pl.String, "redacted": pl.String, "findings": FINDINGS})
AUDIT_SCHEMA = pl.Schema(
    {
        "table": pl.String,
        "row_key": pl.String,
        "dataset": pl.String,
        "field": pl.String,
        "turn_index": pl.Int64,
        "entity_type": pl.String,
        "start": pl.Int64,
        "end": pl.Int64,
        "score": pl.Float64,
        "recognizer": pl.String,
    }
)
_ROW = "__row"


@dataclass(frozen=True)
class TextField:
    """A column holding text: `text` (a string), or a list of structs whose `part` is text."""

    column: str
    part: str | None = None  # "content" for dialogues, "response" for completions


def field_texts(frame: pl.DataFrame, field: TextField) -> pl.DataFrame:
    """One row per text in `field`: (__row, turn_index, text); null texts are skipped."""
    indexed = frame.select(pl.int_range(pl.len(), dtype=pl.Int64).alias(_ROW), field.column)
    if field.part is None:
        texts = indexed.select(_ROW, pl.lit(None, pl.Int64).alias("turn_index"), text=field.column)
    else:
        texts = (
            indexed.filter(pl.col(field.column).list.len() > 0)
            .with_columns(turn_index=pl.int_ranges(pl.col(field.column).list.len(), dtype=pl.Int64))
            .explode(field.column, "turn_index")
            .select(_ROW, "turn_index", text=pl.col(field.column).struct.field(field.part))
        )
    return texts.filter(pl.col("text").is_not_null())


def distinct_texts(frame: pl.DataFrame, fields: Sequence[TextField]) -> pl.Series:
    """Every distinct text in the fields, in first-seen order (what the engines must see)."""
    parts = [field_texts(frame, f)["text"] for f in fields]
    if not parts:
        return pl.Series("text", [], dtype=pl.String)
    return pl.concat(parts).unique(maintain_order=True)


def apply_scan(
    frame: pl.DataFrame,
    fields: Sequence[TextField],
    results: pl.DataFrame,
    *,
    table: str,
    row_key: str,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Redact every field using `results` (text -> redacted, findings).

    Returns the frame with redacted fields and a `pii_count` column, and the audit rows.
    Every text of the fields must be in `results`: a missing one is an error, never a
    silent pass-through of unscanned text.
    """
    out = frame.with_row_index(_ROW).with_columns(pl.col(_ROW).cast(pl.Int64))
    audits: list[pl.DataFrame] = []
    counts = pl.DataFrame(schema={_ROW: pl.Int64, "n": pl.UInt32})
    for field in fields:
        texts = field_texts(frame, field).join(results, on="text", how="left")
        if texts["redacted"].null_count():
            raise ValueError(f"{field.column}: texts missing from the scan results")
        audits.append(_audit_rows(texts, out, field, table, row_key))
        counts = pl.concat([counts, texts.select(_ROW, n=pl.col("findings").list.len())])
        out = _put_back(out, texts, field)
    pii_count = counts.group_by(_ROW).agg(pii_count=pl.col("n").sum().cast(pl.Int64))
    out = (
        out.join(pii_count, on=_ROW, how="left")
        .with_columns(pl.col("pii_count").fill_null(0))
        .sort(_ROW)
        .drop(_ROW)
    )
    audit = pl.concat(audits) if audits else pl.DataFrame(schema=AUDIT_SCHEMA)
    return out, audit


def _audit_rows(
    texts: pl.DataFrame, frame: pl.DataFrame, field: TextField, table: str, row_key: str
) -> pl.DataFrame:
    keys = frame.select(_ROW, pl.col(row_key).alias("row_key"), "dataset")
    found = texts.filter(pl.col("findings").list.len() > 0).select(_ROW, "turn_index", "findings")
    return (
        found.explode("findings")
        .unnest("findings")
        .join(keys, on=_ROW, how="left")
        .with_columns(table=pl.lit(table), field=pl.lit(field.column))
        .select(AUDIT_SCHEMA.names())
        .cast(dict(AUDIT_SCHEMA))
    )


def _put_back(frame: pl.DataFrame, texts: pl.DataFrame, field: TextField) -> pl.DataFrame:
    if field.part is None:
        redacted = texts.select(_ROW, pl.col("redacted").alias("__redacted"))
        return (
            frame.join(redacted, on=_ROW, how="left")
            .with_columns(pl.coalesce("__redacted", field.column).alias(field.column))
            .drop("__redacted")
        )
    dtype = frame.schema[field.column]
    exploded = (
        frame.select(_ROW, field.column)
        .filter(pl.col(field.column).list.len() > 0)
        .with_columns(turn_index=pl.int_ranges(pl.col(field.column).list.len(), dtype=pl.Int64))
        .explode(field.column, "turn_index")
        .join(texts.select(_ROW, "turn_index", "redacted"), on=[_ROW, "turn_index"], how="left")
        .with_columns(
            pl.col(field.column).struct.with_fields(
                pl.coalesce("redacted", pl.field(field.part)).alias(field.part)
            )
        )
        .group_by(_ROW, maintain_order=True)
        .agg(pl.col(field.column).alias("__redacted"))
    )
    return (
        frame.join(exploded, on=_ROW, how="left")
        .with_columns(pl.coalesce("__redacted", field.column).cast(dtype).alias(field.column))
        .drop("__redacted")
    )
