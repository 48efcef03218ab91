"""From raw source records to bronze rows: parse, conform to the declared schema, or reject.

Every record ends in exactly one place: a bronze row, or a rejection with its reason and
raw payload (which becomes a bronze/quarantine row). Nothing is dropped silently.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from transforms.catalogue import JSON

# Bronze rows carry these besides the source's own columns.
EXTRA_FIELDS = "extra_fields"  # JSON of top-level keys the catalogue does not declare
LINEAGE_SCHEMA = pl.Schema(
    {
        "dataset": pl.String(),
        "split": pl.String(),
        "source_file": pl.String(),
        "source_row": pl.Int64(),
        "ingested_at": pl.Datetime("us", "UTC"),
        "content_hash": pl.String(),
        "license": pl.String(),
        "license_class": pl.String(),
    }
)
QUARANTINE_SCHEMA = pl.Schema(
    {
        "dataset": pl.String(),
        "split": pl.String(),
        "source_file": pl.String(),
        "source_row": pl.Int64(),  # null when the whole file is rejected
        "reason": pl.String(),
        "detail": pl.String(),
        "payload": pl.String(),
        "ingested_at": pl.Datetime("us", "UTC"),
    }
)


class SchemaMismatch(ValueError):
    """A value does not fit its declared type; the message names the field path."""


@dataclass(frozen=True)
class Rejection:
    source_row: int | None
    reason: str
    detail: str
    payload: str


@dataclass
class ParsedFile:
    """The outcome of reading one source file: conformed rows and rejections."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    row_positions: list[int] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    blank_lines: int = 0

    @property
    def records_in(self) -> int:
        return len(self.rows) + len(self.rejections)


def normalise_text(text: str) -> str:
    """The normal form content is compared and hashed in: Unicode NFC, outer whitespace trimmed."""
    return unicodedata.normalize("NFC", text).strip()


def content_hash(value: Any) -> str:
    """sha256 of the canonical JSON of `value` with every string in normal form."""
    canonical = json.dumps(
        _normalise_nested(value), ensure_ascii=False, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _normalise_nested(value: Any) -> Any:
    if isinstance(value, str):
        return normalise_text(value)
    if isinstance(value, Mapping):
        return {k: _normalise_nested(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise_nested(v) for v in value]
    return value


def conform(
    value: Any, dtype: pl.DataType, path: str, *, json_text: bool = False, top_level: bool = False
) -> Any:
    """Return `value` as the declared type would hold it, or raise SchemaMismatch.

    Tolerated on purpose (DATASETS.md): a number in a top-level string field becomes its
    text (UltraChat's integer ids). Nothing else is coerced: a number inside a dialogue
    is not text, and a list where a string is declared, a string where a list is, or a
    bool where a number is, is a mismatch.
    """
    if value is None:
        return None
    if isinstance(dtype, type):  # polars accepts both `pl.String` and `pl.String()`
        dtype = dtype()
    if json_text:
        return json.dumps(value, ensure_ascii=False)
    if isinstance(dtype, pl.String):
        if isinstance(value, str):
            return value
        if top_level and isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise SchemaMismatch(f"{path}: expected string, got {type(value).__name__}")
    if isinstance(dtype, pl.Int64):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise SchemaMismatch(f"{path}: expected int64, got {type(value).__name__}")
    if isinstance(dtype, pl.Float64):
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise SchemaMismatch(f"{path}: expected float64, got {type(value).__name__}")
    if isinstance(dtype, pl.Boolean):
        if isinstance(value, bool):
            return value
        raise SchemaMismatch(f"{path}: expected bool, got {type(value).__name__}")
    if isinstance(dtype, pl.List):
        if not isinstance(value, list):
            raise SchemaMismatch(f"{path}: expected list, got {type(value).__name__}")
        return [conform(v, dtype.inner, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(dtype, pl.Struct):
        if not isinstance(value, Mapping):
            raise SchemaMismatch(f"{path}: expected object, got {type(value).__name__}")
        names = {f.name for f in dtype.fields}
        unknown = sorted(set(value) - names)
        if unknown:
            raise SchemaMismatch(f"{path}: unexpected fields {unknown}")
        return {
            f.name: conform(value.get(f.name), f.dtype, f"{path}.{f.name}") for f in dtype.fields
        }
    raise SchemaMismatch(f"{path}: unsupported declared type {dtype}")


def conform_record(
    record: Any, schema: Mapping[str, str], polars_schema: pl.Schema, required: Sequence[str]
) -> dict[str, Any]:
    """Conform one top-level record; undeclared keys are kept, as JSON, in `extra_fields`."""
    if not isinstance(record, Mapping):
        raise SchemaMismatch(f"record: expected object, got {type(record).__name__}")
    row = {
        name: conform(record.get(name), dtype, name, json_text=schema[name] == JSON, top_level=True)
        for name, dtype in polars_schema.items()
    }
    for name in required:
        if row[name] is None:
            raise SchemaMismatch(f"{name}: required field is missing or null")
    extras = {k: v for k, v in record.items() if k not in polars_schema}
    row[EXTRA_FIELDS] = json.dumps(extras, ensure_ascii=False, default=str) if extras else None
    return row


def split_jsonl(data: bytes) -> Iterator[tuple[int, bytes]]:
    """Physical lines with their 0-based index; a BOM and CRLF endings are tolerated."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the final newline ends the last line; it does not start a new one
    for index, line in enumerate(lines):
        yield index, line.removesuffix(b"\r")


def parse_jsonl(
    lines: Iterable[tuple[int, bytes]],
    schema: Mapping[str, str],
    polars_schema: pl.Schema,
    required: Sequence[str],
) -> ParsedFile:
    """Parse JSON Lines: each non-blank line is a row or a rejection with its reason."""
    parsed = ParsedFile()
    for index, raw in lines:
        if not raw.strip():
            parsed.blank_lines += 1
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            payload = raw.decode("utf-8", errors="backslashreplace")
            parsed.rejections.append(Rejection(index, "invalid_utf8", str(error), payload))
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as error:
            parsed.rejections.append(Rejection(index, "invalid_json", str(error), text))
            continue
        _conform_into(parsed, index, record, text, schema, polars_schema, required)
    return parsed


def parse_records(
    records: Iterable[tuple[int, Mapping[str, Any]]],
    schema: Mapping[str, str],
    polars_schema: pl.Schema,
    required: Sequence[str],
) -> ParsedFile:
    """Conform already-decoded records (rows of a Parquet file whose types differ)."""
    parsed = ParsedFile()
    for index, record in records:
        payload = json.dumps(record, ensure_ascii=False, default=str)
        _conform_into(parsed, index, record, payload, schema, polars_schema, required)
    return parsed


def _conform_into(
    parsed: ParsedFile,
    index: int,
    record: Any,
    payload: str,
    schema: Mapping[str, str],
    polars_schema: pl.Schema,
    required: Sequence[str],
) -> None:
    try:
        row = conform_record(record, schema, polars_schema, required)
    except SchemaMismatch as error:
        reason = "missing_required" if "required field" in str(error) else "schema_mismatch"
        parsed.rejections.append(Rejection(index, reason, str(error), payload))
        return
    except RecursionError:
        parsed.rejections.append(Rejection(index, "schema_mismatch", "nesting too deep", payload))
        return
    parsed.rows.append(row)
    parsed.row_positions.append(index)


def hash_rows(frame: pl.DataFrame, columns: Sequence[str]) -> pl.Series:
    """content_hash of each row over `columns` (the source's declared fields)."""
    hashes = [content_hash(row) for row in frame.select(columns).iter_rows(named=True)]
    return pl.Series("content_hash", hashes, dtype=pl.String)
