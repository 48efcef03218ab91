"""Bronze: a faithful copy of each source file's rows plus ingestion lineage.

Text is never changed here. A row either fits the catalogue's declared schema (then it
is copied, with lineage) or is rejected with its reason and raw payload.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

import polars as pl

from transforms.catalogue import DatasetSpec, join_licenses, license_class
from transforms.records import (
    EXTRA_FIELDS,
    LINEAGE_SCHEMA,
    QUARANTINE_SCHEMA,
    ParsedFile,
    Rejection,
    hash_rows,
    parse_records,
)


def bronze_schema(spec: DatasetSpec) -> pl.Schema:
    """Declared source columns, then `extra_fields`, then lineage: the bronze table's schema."""
    return pl.Schema({**spec.polars_schema, EXTRA_FIELDS: pl.String(), **LINEAGE_SCHEMA})


def row_license(spec: DatasetSpec) -> str:
    """The SPDX expression covering a whole row: every field's licence, joined by AND."""
    return join_licenses(spec.license.values())


def conform_frame(
    frame: pl.DataFrame, spec: DatasetSpec, first_row: int = 0
) -> ParsedFile | pl.DataFrame:
    """A Parquet file's rows (from row `first_row` of the file) as the declared schema, with
    their `source_row`, or a per-row parse when they differ.

    Fast path: the file already has exactly the declared columns and types, and no
    required value is null. Anything else (missing, extra or mistyped columns) takes
    the row-by-row path, which keeps the good rows and rejects the rest with reasons.
    """
    declared = spec.polars_schema
    if frame.schema == declared and not _has_null_required(frame, spec.required):
        return frame.with_columns(
            pl.lit(None, pl.String).alias(EXTRA_FIELDS),
            source_row=pl.int_range(first_row, first_row + frame.height, dtype=pl.Int64),
        )
    records = enumerate(frame.iter_rows(named=True), start=first_row)
    return parse_records(records, spec.schema, declared, spec.required)


def _has_null_required(frame: pl.DataFrame, required: Sequence[str]) -> bool:
    return (
        bool(required)
        and frame.select(pl.any_horizontal(pl.col(c).is_null() for c in required).any()).item()
    )


def parsed_to_frame(parsed: ParsedFile, spec: DatasetSpec) -> pl.DataFrame:
    schema = pl.Schema({**spec.polars_schema, EXTRA_FIELDS: pl.String()})
    frame = pl.DataFrame(parsed.rows, schema=schema, orient="row")
    return frame.with_columns(source_row=pl.Series(parsed.row_positions, dtype=pl.Int64))


def add_lineage(
    frame: pl.DataFrame,
    spec: DatasetSpec,
    split: str,
    source_file: str,
    ingested_at: datetime,
) -> pl.DataFrame:
    """Attach lineage to conformed rows; `source_row` is taken from the frame if present."""
    if "source_row" not in frame.columns:
        frame = frame.with_row_index("source_row").with_columns(pl.col("source_row").cast(pl.Int64))
    hashes = hash_rows(frame, list(spec.schema))
    return frame.with_columns(
        dataset=pl.lit(spec.key),
        split=pl.lit(split),
        source_file=pl.lit(source_file),
        ingested_at=pl.lit(ingested_at, pl.Datetime("us", "UTC")),
        content_hash=hashes,
        license=pl.lit(row_license(spec)),
        license_class=pl.lit(license_class(row_license(spec))),
    ).select(bronze_schema(spec).names())


def quarantine_frame(
    rejections: Sequence[Rejection],
    dataset: str,
    split: str,
    source_file: str,
    ingested_at: datetime,
) -> pl.DataFrame:
    rows = [
        {
            "dataset": dataset,
            "split": split,
            "source_file": source_file,
            "source_row": r.source_row,
            "reason": r.reason,
            "detail": r.detail,
            "payload": r.payload,
            "ingested_at": ingested_at,
        }
        for r in rejections
    ]
    return pl.DataFrame(rows, schema=QUARANTINE_SCHEMA, orient="row")


def unreadable_file(error: Exception, size: int | None) -> Rejection:
    """A file that cannot be opened at all (corrupt Parquet, unreadable bytes) is one rejection."""
    detail = f"{type(error).__name__}: {error}"
    return Rejection(None, "unreadable_file", detail, json.dumps({"bytes": size}))
