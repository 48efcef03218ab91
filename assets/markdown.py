"""Markdown for the metadata Dagster shows on an asset's page: a preview of rows, and a
distribution drawn with text bars. Presentation, not row code: no table's code version
(storage/code_digest.py) includes it. Defines no asset."""

from collections import Counter

import polars as pl


def preview_markdown(frame: pl.DataFrame, rows: int = 5, width: int = 60) -> str:
    """A few rows as a markdown table, long values cut, for the asset's page in the UI."""
    head = frame.head(rows)
    header = "| " + " | ".join(head.columns) + " |"
    rule = "|" + "---|" * len(head.columns)
    body = ["| " + " | ".join(_cell(v, width) for v in row) + " |" for row in head.iter_rows()]
    return "\n".join([header, rule, *body])


def _cell(value: object, width: int) -> str:
    return str(value)[:width].replace("|", "\\|").replace("\n", " ")


def bar_chart(counts: Counter[str], width: int = 30) -> str:
    """A distribution as a markdown table with text bars (most common first)."""
    total = sum(counts.values()) or 1
    top = max(counts.values(), default=1)
    lines = ["| value | rows | share | |", "|---|---:|---:|---|"]
    for value, n in counts.most_common():
        bar = "█" * max(1, round(width * n / top))
        lines.append(f"| {value} | {n} | {n / total:.1%} | {bar} |")
    return "\n".join(lines)
