"""Apply text-engine results to frames: redact PII in every text field, and say where it was.

The engines see each distinct text once. This module gathers the texts of the named
fields (plain strings, dialogue turns, completion responses), and puts the redacted
texts back in place, producing the audit rows (type, offsets, score; never the value).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import polars as pl
import pyarrow as pa
import regex

from transforms.person_names import names_an_organisation
from transforms.pii import MODEL_WRITTEN, PERSON_WRITTEN, PiiFinding, PiiSettings, redact

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
_AUTHOR = "__written_by"
_REPLY_AUTHOR = "__reply_written_by"
_FINDINGS_ARROW = pl.DataFrame(schema={"findings": FINDINGS}).to_arrow().schema.field(0).type
# Entity types whose values get numbered placeholders and are redacted wherever else they
# occur in the same row (conversation).
CONSISTENT_ENTITIES = (
    "PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS",
    "US_SSN", "LOCATION", "DENY_LIST",
)  # fmt: skip


def findings_series(values: Sequence[Sequence[dict] | None], name: str = "findings") -> pl.Series:
    """Lists of finding dicts as a Series, built through Arrow: tens of times faster than
    letting Polars infer nested Python objects row by row."""
    return pl.Series(name, pa.array(list(values), type=_FINDINGS_ARROW))


@dataclass(frozen=True)
class TextField:
    """A column holding text: `text` (a string), or a list of structs whose `part` is text.

    Who wrote each text (`written_by`: "person" or "model"), as the catalogue declares
    and silver carries it: a user's turn, or a whole plain field, by whoever the row's
    `author_column` names (else `author`); in a dialogue (structs with a `role`), every
    other turn by whoever the row's `reply_author_column` names (else a model: oasst1's
    volunteers wrote replies, most datasets' replies are models').
    """

    column: str
    part: str | None = None  # "content" for dialogues, "response" for completions
    author: str = PERSON_WRITTEN
    author_column: str | None = None
    reply_author_column: str | None = None


def field_texts(frame: pl.DataFrame, field: TextField) -> pl.DataFrame:
    """One row per text in `field`: (__row, turn_index, text, written_by); null texts are
    skipped."""
    author = (
        pl.col(field.author_column).fill_null(field.author)
        if field.author_column in frame.columns
        else pl.lit(field.author)
    )
    reply_author = (
        pl.col(field.reply_author_column).fill_null(MODEL_WRITTEN)
        if field.reply_author_column in frame.columns
        else pl.lit(MODEL_WRITTEN)
    )
    indexed = frame.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias(_ROW),
        field.column,
        author.alias(_AUTHOR),
        reply_author.alias(_REPLY_AUTHOR),
    )
    if field.part is None:
        texts = indexed.select(
            _ROW, pl.lit(None, pl.Int64).alias("turn_index"), text=field.column, written_by=_AUTHOR
        )
    else:
        exploded = (
            indexed.filter(pl.col(field.column).list.len() > 0)
            .with_columns(turn_index=pl.int_ranges(pl.col(field.column).list.len(), dtype=pl.Int64))
            .explode(field.column, "turn_index")
        )
        turn = pl.col(field.column).struct
        has_roles = "role" in {f.name for f in frame.schema[field.column].inner.fields}
        written_by = (
            pl.when(turn.field("role") == "user").then(_AUTHOR).otherwise(_REPLY_AUTHOR)
            if has_roles
            else pl.col(_AUTHOR)
        )
        texts = exploded.select(
            _ROW, "turn_index", text=turn.field(field.part), written_by=written_by
        )
    return texts.filter(pl.col("text").is_not_null())


def distinct_texts(frame: pl.DataFrame, fields: Sequence[TextField]) -> pl.DataFrame:
    """Every distinct (text, written_by) in the fields, in first-seen order: what the
    engines must see (names are looked for in what people wrote only)."""
    parts = [field_texts(frame, f).select("text", "written_by") for f in fields]
    if not parts:
        return pl.DataFrame(schema={"text": pl.String, "written_by": pl.String})
    return pl.concat(parts).unique(maintain_order=True)


Analysis = Callable[[pl.Series, PiiSettings], pl.DataFrame]


def scrub_frame(
    frame: pl.DataFrame,
    fields: Sequence[TextField],
    settings: PiiSettings,
    analyse: Analysis,
    *,
    table: str,
    row_key: str,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Find and redact PII in every text field of `frame`: each author's distinct texts go
    to `analyse` (distinct texts and engine settings -> settled (text, redacted, findings))
    with `settings` for that author; then `apply_scan`. Silver passes its cached engine,
    the `no_pii` check's canaries an uncached one: the same path either way."""
    texts = distinct_texts(frame, fields)
    results = [
        analyse(
            texts.filter(pl.col("written_by") == author)["text"],
            replace(settings, written_by=author),
        )
        .select("text", "redacted", "findings")
        .with_columns(written_by=pl.lit(author))
        for author in texts["written_by"].unique(maintain_order=True).to_list()
    ]
    scanned = (
        pl.concat(results)
        if results
        else pl.DataFrame(schema=SCAN_RESULTS_SCHEMA | {"written_by": pl.String})
    )
    return apply_scan(frame, fields, scanned, table=table, row_key=row_key)


def apply_scan(
    frame: pl.DataFrame,
    fields: Sequence[TextField],
    results: pl.DataFrame,
    *,
    table: str,
    row_key: str,
    consistent: Sequence[str] = CONSISTENT_ENTITIES,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Redact every field using `results` (text -> redacted, findings).

    Returns the frame with redacted fields and a `pii_count` column, and the audit rows.
    Every text of the fields must be in `results`: a missing one is an error, never a
    silent pass-through of unscanned text. Values of `consistent` types get numbered
    placeholders per row and are redacted wherever else they occur in that row (a name given
    in a self-introduction is also the name that signs the letter two turns later; see
    `redact_consistently`).
    """
    out = frame.with_row_index(_ROW).with_columns(pl.col(_ROW).cast(pl.Int64))
    located = []
    on = ["text", "written_by"] if "written_by" in results.columns else ["text"]
    for field in fields:
        texts = field_texts(frame, field).join(results, on=on, how="left")
        if texts["redacted"].null_count():
            raise ValueError(f"{field.column}: texts missing from the scan results")
        located.append(texts.with_columns(field=pl.lit(field.column)))
    texts = redact_consistently(pl.concat(located), consistent) if located else None
    audits, counts = [], pl.DataFrame(schema={_ROW: pl.Int64, "n": pl.UInt32})
    for field in fields:
        field_rows = texts.filter(pl.col("field") == field.column)
        audits.append(_audit_rows(field_rows, out, field, table, row_key))
        counts = pl.concat([counts, field_rows.select(_ROW, n=pl.col("findings").list.len())])
        out = _put_back(out, field_rows, field)
    pii_count = counts.group_by(_ROW).agg(pii_count=pl.col("n").sum().cast(pl.Int64))
    out = (
        out.join(pii_count, on=_ROW, how="left")
        .with_columns(pl.col("pii_count").fill_null(0))
        .sort(_ROW)
        .drop(_ROW)
    )
    audit = pl.concat(audits) if audits else pl.DataFrame(schema=AUDIT_SCHEMA)
    return out, audit


def redact_consistently(texts: pl.DataFrame, entity_types: Sequence[str]) -> pl.DataFrame:
    """Redact each row (a conversation) as one: stable numbered placeholders, and every
    occurrence of a removed value, wherever it recurs in the row.

    `texts` has one row per located text: (__row, field, turn_index, text, redacted,
    findings). In a row with findings, each distinct value of `entity_types` gets a number
    per type in order of first appearance (`<PERSON_1>`, `<PERSON_2>`, `<EMAIL_ADDRESS_1>`),
    so a dialogue that names two people stays coherent; every other occurrence of a found
    value in the row is added as a finding (an answer that echoes the user's e-mail or name),
    and a later mention of a person by one part of the name gets that person's number.
    Rows without findings are returned as they are.
    """
    has_findings = pl.col("findings").list.len() > 0
    rows = texts.filter(has_findings)[_ROW].unique()
    if rows.is_empty():
        return texts
    affected = texts.filter(pl.col(_ROW).is_in(rows.implode())).sort(_ROW, "field", "turn_index")
    extended_findings, redacted = [], []
    for row_texts in affected.partition_by(_ROW, maintain_order=True):
        pairs = list(zip(row_texts["text"].to_list(), row_texts["findings"].to_list(), strict=True))
        numbers = number_values(pairs, entity_types)
        for (text, _), merged in zip(pairs, with_recurrences(pairs, numbers), strict=True):
            extended_findings.append(merged)
            redacted.append(redact_numbered(text, merged, numbers))
    updated = affected.with_columns(
        findings_series(extended_findings),
        pl.Series("redacted", redacted, dtype=pl.String),
    )
    return pl.concat([texts.filter(~pl.col(_ROW).is_in(rows.implode())), updated]).sort(
        _ROW, "field", "turn_index"
    )


def number_values(
    pairs: Sequence[tuple[str, Sequence[dict]]], entity_types: Sequence[str]
) -> dict[tuple[str, str], int]:
    """(entity type, value) -> its number in the conversation, by first appearance.

    The parts of a person's name ("Anna", "Berg" of "Anna Berg") share the name's number, so
    that an answer saying "Sure, Anna!" is redacted as the same person.
    """
    numbers: dict[tuple[str, str], int] = {}
    counts: Counter[str] = Counter()
    for text, findings in pairs:
        for found in sorted(findings, key=lambda f: f["start"]):
            kind, value = found["entity_type"], text[found["start"] : found["end"]]
            if kind not in entity_types or (kind, value) in numbers:
                continue
            counts[kind] += 1
            numbers[kind, value] = counts[kind]
    for (kind, value), number in list(numbers.items()):
        if kind == "PERSON":
            for part in value.split():
                if len(part) > 2 and part[0].isupper():
                    numbers.setdefault((kind, part), number)
    return numbers


def with_recurrences(
    pairs: Sequence[tuple[str, Sequence[dict]]], numbers: dict[tuple[str, str], int]
) -> list[list[dict]]:
    """Each text's findings (a conversation's (text, findings) in order) with every
    occurrence of a numbered value (`number_values`) that no finding covers yet, by start.

    A person's name, or part of it, that the conversation also uses in a company's name
    ("Mr Beckhaus" of "Beckhaus Civil Pty Ltd") is not followed: its other mentions may be
    the company's (as `person_names` does within a text)."""
    companies = {
        (kind, value)
        for kind, value in numbers
        if kind == "PERSON" and any(names_an_organisation(text, value) for text, _ in pairs)
    }
    followed = {key: number for key, number in numbers.items() if key not in companies}
    return [
        sorted(
            [*findings, *_without_overlaps(_recurrences(text, findings, followed))],
            key=lambda f: f["start"],
        )
        for text, findings in pairs
    ]


def _recurrences(
    text: str, findings: Sequence[dict], numbers: dict[tuple[str, str], int]
) -> list[dict]:
    """Occurrences in `text` of numbered values that no finding covers yet."""
    extra = []
    for kind, value in sorted(numbers):
        position = text.find(value)
        while position >= 0:
            end = position + len(value)
            if _standalone(text, position, end) and not any(
                f["start"] < end and position < f["end"] for f in findings
            ):
                extra.append(
                    {
                        "entity_type": kind,
                        "start": position,
                        "end": end,
                        "score": 1.0,
                        "recognizer": "SameValueInRow",
                    }
                )
            position = text.find(value, end)
    return extra


_SPACELESS = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}\p{Thai}ー]")


def _standalone(text: str, start: int, end: int) -> bool:
    """Not part of a longer word or number ("Ann" in "Annual", "555" in "5551"). In scripts
    written without spaces (山田太郎さん) any neighbour will do."""
    before = text[start - 1] if start else " "
    after = text[end] if end < len(text) else " "
    return not _glued(before, text[start]) and not _glued(after, text[end - 1])


def _glued(neighbour: str, edge: str) -> bool:
    if not (neighbour.isalnum() or neighbour == "_"):
        return False
    return not (_SPACELESS.match(neighbour) or _SPACELESS.match(edge))


def redact_numbered(
    text: str, findings: Sequence[dict], numbers: dict[tuple[str, str], int]
) -> str:
    """Replace each finding with `<TYPE_n>` (its value's number), or `<TYPE>` if unnumbered."""
    parts, cursor = [], 0
    for found in sorted(findings, key=lambda f: f["start"]):
        kind = found["entity_type"]
        number = numbers.get((kind, text[found["start"] : found["end"]]))
        parts += [text[cursor : found["start"]], f"<{kind}_{number}>" if number else f"<{kind}>"]
        cursor = found["end"]
    parts.append(text[cursor:])
    return "".join(parts)


def _without_overlaps(findings: list[dict]) -> list[dict]:
    kept: list[dict] = []
    for finding in sorted(findings, key=lambda f: (f["start"], -(f["end"] - f["start"]))):
        if not kept or finding["start"] >= kept[-1]["end"]:
            kept.append(finding)
    return kept


def redact_dicts(text: str, findings: Sequence[dict]) -> str:
    """Replace each finding's span with `<ENTITY_TYPE>` (findings must not overlap)."""
    if not findings:
        return text
    return redact(text, [PiiFinding(**f) for f in findings])


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


class RedactionDidNotSettle(RuntimeError):
    """Redacted text kept showing new PII after every allowed re-scan."""


def settle_redactions(
    results: pl.DataFrame,
    rescan: Callable[[pl.Series], pl.DataFrame],
    max_rounds: int = 5,
) -> tuple[pl.DataFrame, int]:
    """Make redaction a fixpoint: a redacted text, scanned again, shows no PII.

    Redacting can create PII where there was none: "Call me on +1 212 555 0100 ...
    Call random.seed(1096837719)" becomes "Call me on <PHONE_NUMBER> ... Call
    random.seed(1096837719)", and the number, now the only one near "Call", scores as a
    phone. `results` is (text, redacted, findings); `rescan` gives the findings of each
    given (distinct) text, as (text, findings). Every redacted text that differs from its
    original is scanned again; new findings are mapped back to the original's offsets and
    merged (spans that overlap become one), and the original redacted again, until
    nothing new is found. Returns the settled results and how many findings the re-scans
    added.
    """
    added = 0
    # Round 1 scans every redacted text; later rounds only those redacted again in the last
    # one (a redacted text once scanned clean stays clean: the scan is deterministic).
    pending = results.filter(pl.col("redacted") != pl.col("text"))
    for _ in range(max_rounds):
        if pending.is_empty():
            return results, added
        rescanned = (
            rescan(pending["redacted"].unique(maintain_order=True))
            .rename({"text": "redacted", "findings": "new"})
            .filter(pl.col("new").list.len() > 0)
        )
        if rescanned.is_empty():
            return results, added
        hits = pending.join(rescanned, on="redacted", how="inner")
        settled_findings, settled_redacted = [], []
        for text, findings, new in hits.select("text", "findings", "new").iter_rows():
            merged = merge_findings(findings, [to_original(findings, f) for f in new])
            added += len(merged) - len(findings)
            settled_findings.append(merged)
            settled_redacted.append(redact_dicts(text, merged))
        fixed = pl.DataFrame(
            {
                "text": hits["text"],
                "redacted": pl.Series(settled_redacted, dtype=pl.String),
                "findings": findings_series(settled_findings),
            },
            schema=SCAN_RESULTS_SCHEMA,
        )
        results = pl.concat([results.join(fixed.select("text"), on="text", how="anti"), fixed])
        pending = fixed
    raise RedactionDidNotSettle(f"PII still found after {max_rounds} re-scans of redacted text")


def to_original(findings: Sequence[dict], found: dict) -> dict:
    """A finding in the redacted text, at the offsets of the original text. A span that
    starts or ends inside a placeholder covers that placeholder's original span."""
    shift = 0  # redacted offset minus original offset, left of the current placeholder
    start = end = None
    for original in sorted(findings, key=lambda f: f["start"]):
        placeholder_start = original["start"] + shift
        placeholder_end = placeholder_start + len(original["entity_type"]) + 2
        if start is None and found["start"] < placeholder_end:
            start = (
                found["start"] - shift if found["start"] < placeholder_start else original["start"]
            )
        if end is None and found["end"] <= placeholder_end:
            end = found["end"] - shift if found["end"] <= placeholder_start else original["end"]
        shift = placeholder_end - original["end"]
    return {
        **found,
        "start": found["start"] - shift if start is None else start,
        "end": found["end"] - shift if end is None else end,
    }


def merge_findings(findings: Sequence[dict], extra: Sequence[dict]) -> list[dict]:
    """Findings plus extra ones, overlapping spans joined into one (the type and score of
    the one that starts first): a valid input to `redact_dicts`."""
    merged: list[dict] = []
    for finding in sorted([*findings, *extra], key=lambda f: (f["start"], -f["end"])):
        if merged and finding["start"] < merged[-1]["end"]:
            merged[-1] = {**merged[-1], "end": max(merged[-1]["end"], finding["end"])}
        else:
            merged.append(dict(finding))
    return merged
