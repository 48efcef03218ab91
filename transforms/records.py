"""From raw source records to bronze rows: parse, conform to the declared schema, or reject.

Every record ends in exactly one place: a bronze row, or a rejection with its reason and
raw payload (which becomes a bronze/quarantine row). Nothing is dropped silently.
"""

from __future__ import annotations

import hashlib
import json
import re
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
    return normalised_content_hash(_normalise_nested(value))


def normalised_content_hash(value: Any) -> str:
    """`content_hash` of a value whose strings are already in normal form (normalising is
    idempotent, so the hash is the same)."""
    canonical = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
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
    """The records of a JSON file with their 0-based index, each as its own bytes.

    JSON Lines: physical lines (a BOM and CRLF endings are tolerated). A file whose first
    non-blank byte is `[` holds one JSON array instead (Anthropic's red-team file): its
    elements are the records, in order. An array that does not parse raises
    MalformedJsonArray before any record is yielded: the file is rejected whole.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    start = _JSON_SPACE_BYTES.match(data).end()  # type: ignore[union-attr]
    if data[start : start + 1] == b"[":
        yield from split_json_array(data)
        return
    # Line by line, not data.split(): a list of every line would copy the file once more.
    index, position = 0, 0
    while position < len(data):  # the final newline ends the last line; it starts none
        end = data.find(b"\n", position)
        end = len(data) if end < 0 else end
        yield index, data[position:end].removesuffix(b"\r")
        index, position = index + 1, end + 1


class MalformedJsonArray(OSError, ValueError):
    """A file holding one JSON array that does not parse (cut short, a missing comma,
    text after it). Its records cannot be told apart, so the file is rejected whole: an
    OSError, as readers treat a file they cannot open (bronze's `unreadable_file`)."""


_JSON_SPACE = re.compile(r"[ \t\n\r]*")
_JSON_SPACE_BYTES = re.compile(rb"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def split_json_array(data: bytes) -> Iterator[tuple[int, bytes]]:
    """The elements of the top-level JSON array in `data` as (index, their bytes as
    written). Invalid UTF-8 inside an element is kept as it was, for `parse_jsonl` to
    reject that record alone (`invalid_utf8`); JSON's structure is ASCII, so it cannot
    hide a comma or a bracket."""
    text = data.decode("utf-8", errors="surrogateescape")
    spans = _array_spans(text)
    for index, (start, end) in enumerate(spans):
        yield index, text[start:end].encode("utf-8", errors="surrogateescape")


def _array_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every element of the JSON array `text` holds, or MalformedJsonArray."""
    position = _skip_space(text, 0)
    if not text.startswith("[", position):
        raise MalformedJsonArray(f"JSON array: expected '[' at char {position}")
    spans: list[tuple[int, int]] = []
    position = _skip_space(text, position + 1)
    closed = text.startswith("]", position)
    while not closed:
        try:
            _, end = _DECODER.raw_decode(text, position)
        except json.JSONDecodeError as error:
            raise MalformedJsonArray(f"JSON array, element {len(spans)}: {error}") from error
        except RecursionError as error:
            raise MalformedJsonArray(
                f"JSON array, element {len(spans)}: nesting too deep"
            ) from error
        spans.append((position, end))
        position = _skip_space(text, end)
        if text.startswith(",", position):
            position = _skip_space(text, position + 1)
        elif text.startswith("]", position):
            closed = True
        elif position == len(text):
            raise MalformedJsonArray(
                f"JSON array: the file ends after element {len(spans) - 1}, before its ']'"
            )
        else:
            raise MalformedJsonArray(
                f"JSON array, after element {len(spans) - 1}: expected ',' or ']' at char "
                f"{position}"
            )
    after = _skip_space(text, position + 1)
    if after != len(text):
        raise MalformedJsonArray(f"JSON array: text after its closing ']' at char {after}")
    return spans


def _skip_space(text: str, position: int) -> int:
    return _JSON_SPACE.match(text, position).end()  # type: ignore[union-attr]


def parse_jsonl(
    lines: Iterable[tuple[int, bytes]],
    schema: Mapping[str, str],
    polars_schema: pl.Schema,
    required: Sequence[str],
) -> ParsedFile:
    """Parse JSON Lines: each non-blank line is a row or a rejection with its reason."""
    parsed = ParsedFile()
    return _conform_all(parsed, _json_lines(lines, parsed), schema, polars_schema, required)


def _json_lines(
    lines: Iterable[tuple[int, bytes]], parsed: ParsedFile
) -> Iterator[tuple[int, Any, str]]:
    """(position, record, its text) of each line that decodes; a blank line is counted in
    ``parsed``, a line that is not UTF-8 or not JSON is rejected into it."""
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
        yield index, record, text


def parse_records(
    records: Iterable[tuple[int, Mapping[str, Any]]],
    schema: Mapping[str, str],
    polars_schema: pl.Schema,
    required: Sequence[str],
) -> ParsedFile:
    """Conform already-decoded records (rows of a Parquet file whose types differ)."""
    with_payloads = (
        (index, record, json.dumps(record, ensure_ascii=False, default=str))
        for index, record in records
    )
    return _conform_all(ParsedFile(), with_payloads, schema, polars_schema, required)


def _conform_all(
    parsed: ParsedFile,
    records: Iterable[tuple[int, Any, str]],
    schema: Mapping[str, str],
    polars_schema: pl.Schema,
    required: Sequence[str],
) -> ParsedFile:
    """Conform each (position, record, payload) into ``parsed``: a row, or a rejection that
    keeps the payload."""
    for index, record, payload in records:
        try:
            row = conform_record(record, schema, polars_schema, required)
        except SchemaMismatch as error:
            reason = "missing_required" if "required field" in str(error) else "schema_mismatch"
            parsed.rejections.append(Rejection(index, reason, str(error), payload))
            continue
        except RecursionError:
            rejection = Rejection(index, "schema_mismatch", "nesting too deep", payload)
            parsed.rejections.append(rejection)
            continue
        parsed.rows.append(row)
        parsed.row_positions.append(index)
    return parsed


def hash_rows(frame: pl.DataFrame, columns: Sequence[str]) -> pl.Series:
    """content_hash of each row over `columns` (the source's declared fields)."""
    hashes = [content_hash(row) for row in frame.select(columns).iter_rows(named=True)]
    return pl.Series("content_hash", hashes, dtype=pl.String)
