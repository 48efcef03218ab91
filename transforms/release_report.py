"""A release's changes since the previous release and its quality report: pure functions
of what the two manifests pin and what the release's Parquet shards hold.

- `text_chars`: the characters a row trains on, for the length distributions.
- `length_histogram` / `histogram_quantiles`: lengths per file, kept in the manifest so
  the next release reads only the files that changed (`unmatched`).
- `release_changes` / `changes_markdown`: rows added and removed per config and split,
  declaration (policy, filter, format) changes per view, policies and source revisions.
- `*_png`: the report's plots (language mix, lengths, licence mix, PII and
  decontamination counts) as PNG bytes; `report_markdown` the page that shows them.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl
from matplotlib import colormaps
from matplotlib.figure import Figure

LENGTH_BINS = np.logspace(0, 6, 121)
"""Histogram edges, characters per row: 1 to 10^6 on a log scale, 20 bins per decade
(each bin 12 % wide: the precision of the quantiles read from it); longer rows count in
the last bin."""
PLOT_BINS = 5
"""Bins drawn as one step of the length plot (4 per decade)."""
TOP_CATEGORIES = 8
"""Bars show this many languages / licences per config; the rest is `other`."""
PLOTS = {
    "languages": "Language mix (share of rows)",
    "lengths": "Characters per row",
    "licences": "Licence mix (share of rows)",
    "pii_and_decontamination": "Personal data redacted and rows decontaminated",
}


def text_column(columns: Sequence[str]) -> str:
    """The column holding the text a row trains on: the `chosen` side of a preference
    pair, else the dialogue (`messages`), else the `prompt`."""
    return next(c for c in ("chosen", "messages", "prompt") if c in columns)


def text_chars(frame: pl.DataFrame) -> pl.Series:
    """Characters of the text a row trains on (`text_column`). Message lists count their
    contents."""
    column = text_column(frame.columns)
    values = pl.col(column)
    if isinstance(frame.schema[column], pl.List):
        chars = values.list.eval(pl.element().struct.field("content").str.len_chars()).list.sum()
    else:
        chars = values.str.len_chars()
    return frame.select(chars.fill_null(0).cast(pl.Int64))[column]


def length_histogram(chars: pl.Series) -> np.ndarray:
    """Rows per length bin."""
    clipped = np.clip(chars.to_numpy(), LENGTH_BINS[0], LENGTH_BINS[-2])
    return np.histogram(clipped, LENGTH_BINS)[0]


def sparse(counts: np.ndarray) -> dict[str, int]:
    """A histogram as {bin index: rows} without the empty bins (for a manifest)."""
    return {str(i): int(n) for i, n in enumerate(counts) if n}


def dense(counts: Mapping[str, int]) -> np.ndarray:
    histogram = np.zeros(len(LENGTH_BINS) - 1, dtype=np.int64)
    for index, rows in counts.items():
        histogram[int(index)] = rows
    return histogram


def histogram_quantiles(counts: np.ndarray) -> dict[str, int]:
    """p10, p50, p90 and max of the lengths, each the upper edge of its bin (so within
    12 % above the exact value); {} without rows."""
    total = counts.sum()
    if not total:
        return {}
    cumulative = np.cumsum(counts)
    edges = np.rint(LENGTH_BINS[1:]).astype(int)
    described = {
        f"p{round(q * 100)}": int(edges[np.searchsorted(cumulative, q * total)])
        for q in (0.1, 0.5, 0.9)
    }
    return described | {"max": int(edges[np.flatnonzero(counts)[-1]])}


def unmatched(before: Sequence[str], after: Sequence[str]) -> tuple[list[str], list[str]]:
    """The files (by content digest) of `before` and of `after` that the other does not
    also hold: identical files hold identical rows, so only these need reading to count
    the rows added and removed."""
    left, right = Counter(before), Counter(after)
    return sorted((left - right).elements()), sorted((right - left).elements())


def added_removed(before: pl.Series, after: pl.Series) -> tuple[int, int]:
    """Rows in `after` and not in `before`, and the reverse, counting repeats (multisets
    of row hashes)."""

    def counted(hashes: pl.Series) -> pl.DataFrame:
        return hashes.alias("hash").to_frame().group_by("hash").agg(n=pl.len().cast(pl.Int64))

    joined = counted(before).join(counted(after), on="hash", how="full", coalesce=True)
    joined = joined.fill_null(0)
    added = (joined["n_right"] - joined["n"]).clip(lower_bound=0).sum()
    removed = (joined["n"] - joined["n_right"]).clip(lower_bound=0).sum()
    return int(added), int(removed)


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list]:
    """The keys whose values differ (a view's declaration fields, the datasets' source
    revisions): {key: [before, after]}."""
    return {
        key: [before.get(key), after.get(key)]
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


def release_changes(
    previous: Mapping[str, Any] | None,
    current: Mapping[str, Any],
    rows: Mapping[str, Mapping[str, tuple[int, int]]],
) -> dict[str, Any]:
    """What changed since `previous` (a manifest; None for a first release): `rows` holds,
    per config and split, (added, removed) counted on the rows themselves."""
    if previous is None:
        return {"previous": None}
    before_views = previous.get("views", {})
    after_views = current.get("views", {})
    sources_before = previous.get("configuration", {}).get("sources", {})
    sources_after = current.get("configuration", {}).get("sources", {})
    configs_before = set(previous.get("tables", {})) | set(before_views)
    configs_after = set(current["tables"]) | set(after_views)
    return {
        "previous": previous["tag"],
        "previous_created_at": previous.get("created_at"),
        "rows": {name: dict(splits) for name, splits in rows.items()},
        "configs_added": sorted(configs_after - configs_before),
        "configs_removed": sorted(configs_before - configs_after),
        "declarations": {
            name: changed
            for name in sorted(set(before_views) & set(after_views))
            if (
                changed := changed_fields(
                    before_views[name].get("declaration", {}),
                    after_views[name].get("declaration", {}),
                )
            )
        },
        "policies_added": sorted(
            set(current.get("policies", [])) - set(previous.get("policies", []))
        ),
        "policies_removed": sorted(
            set(previous.get("policies", [])) - set(current.get("policies", []))
        ),
        "source_revisions": changed_fields(sources_before, sources_after),
        "code": [previous.get("git_commit"), current.get("git_commit")]
        if previous.get("git_commit") != current.get("git_commit")
        else None,
    }


def changes_markdown(changes: Mapping[str, Any]) -> str:
    if changes["previous"] is None:
        return "First release of this lake: nothing to compare with."
    lines = [
        f"Compared with release `{changes['previous']}` ({changes['previous_created_at']}), "
        "row by row (a row whose text changed counts as removed and added).",
        "",
        "| config | split | added | removed |",
        "|---|---|---|---|",
    ]
    for name, splits in changes["rows"].items():
        for split, (added, removed) in splits.items():
            lines.append(f"| {name} | {split} | {added} | {removed} |")
    notes = []
    if changes["configs_added"]:
        notes.append(f"New configs: {', '.join(changes['configs_added'])}.")
    if changes["configs_removed"]:
        notes.append(f"Configs no longer released: {', '.join(changes['configs_removed'])}.")
    for name, fields in changes["declarations"].items():
        described = "; ".join(
            f"`{k}` {before!r} → {after!r}" for k, (before, after) in fields.items()
        )
        notes.append(f"View `{name}` declaration changed: {described}.")
    if changes["policies_added"] or changes["policies_removed"]:
        notes.append(
            f"Binarization policies added: {', '.join(changes['policies_added']) or 'none'}; "
            f"removed: {', '.join(changes['policies_removed']) or 'none'}."
        )
    for name, (before, after) in changes["source_revisions"].items():
        notes.append(f"Source `{name}` revision {before} → {after}.")
    if changes["code"]:
        notes.append(f"Code commit {changes['code'][0]} → {changes['code'][1]}.")
    if not notes:
        notes.append("Declarations, policies, source revisions and code are unchanged.")
    return "\n".join([*lines, "", *notes])


def shares(counts: Mapping[str, int], top: int = TOP_CATEGORIES) -> dict[str, float]:
    """Shares of the `top` largest categories, the rest summed as `other`."""
    total = sum(counts.values())
    if not total:
        return {}
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    kept = {k: v / total for k, v in ranked[:top]}
    rest = sum(v for _, v in ranked[top:])
    return kept | ({"other": rest / total} if rest else {})


def _png(figure: Figure) -> bytes:
    """A figure as PNG bytes (Matplotlib's object API: no pyplot state, no display)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    return buffer.getvalue()


def mix_png(mixes: Mapping[str, Mapping[str, int]], title: str) -> bytes:
    """Stacked horizontal bars, one per config: the share of its rows in each category."""
    names = [n for n, counts in mixes.items() if sum(counts.values())]
    per_config = {n: shares(mixes[n]) for n in names}
    categories = sorted(
        {c for s in per_config.values() for c in s},
        key=lambda c: (c == "other", -sum(s.get(c, 0) for s in per_config.values()), c),
    )
    figure = Figure(figsize=(8, 0.45 * max(len(names), 1) + 1.6))
    axes = figure.subplots()
    left = np.zeros(len(names))
    colours = colormaps["tab20"]
    for index, category in enumerate(categories):
        widths = np.array([per_config[n].get(category, 0.0) for n in names])
        axes.barh(names, widths, left=left, label=category, color=colours(index % 20))
        left += widths
    axes.set_xlim(0, 1)
    axes.invert_yaxis()
    axes.set_title(title)
    if categories:
        axes.legend(
            ncol=min(len(categories), 6),
            fontsize=7,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.12),
        )
    return _png(figure)


def lengths_png(histograms: Mapping[str, np.ndarray]) -> bytes:
    """One step line per config: the share of its rows per length bin (log scale)."""
    figure = Figure(figsize=(8, 4))
    axes = figure.subplots()
    for name, counts in histograms.items():
        total = counts.sum()
        if total:
            steps = counts.reshape(-1, PLOT_BINS).sum(axis=1)
            axes.stairs(steps / total, LENGTH_BINS[::PLOT_BINS], label=name)
    axes.set_xscale("log")
    axes.set_xlabel("characters per row (chosen side of a pair; whole dialogue; prompt)")
    axes.set_ylabel("share of rows")
    axes.set_title(PLOTS["lengths"])
    axes.legend(fontsize=7, ncol=2)
    return _png(figure)


def counts_png(pii: Mapping[str, int], decontaminated: Mapping[str, int]) -> bytes:
    """Two bar panels: redactions per entity type, rows removed per table and benchmark."""
    figure = Figure(figsize=(11, 4), layout="constrained")
    left, right = figure.subplots(1, 2)
    for axes, counts, title in (
        (left, pii, "PII redacted (silver/pii_audit), per entity type"),
        (right, decontaminated, "Rows decontaminated, per table / benchmark"),
    ):
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        axes.barh([k for k, _ in ranked], [v for _, v in ranked], color="tab:blue")
        axes.invert_yaxis()
        axes.set_title(title, fontsize=9)
        axes.tick_params(labelsize=7)
        if not ranked:
            axes.text(0.5, 0.5, "none", ha="center", va="center", transform=axes.transAxes)
    return _png(figure)


def report_markdown(
    tag: str,
    languages: Mapping[str, Mapping[str, int]],
    licences: Mapping[str, Mapping[str, int]],
    quantiles: Mapping[str, Mapping[str, int]],
    pii: Mapping[str, int],
    decontaminated: Mapping[str, int],
    changes: str,
) -> str:
    """The release's report page: the plots (PNG files beside it) and their numbers."""
    lines = [f"# Quality report, release `{tag}`", "", "## Changes since the previous release", ""]
    lines += [changes, "", "## Language mix", "", "![language mix](report_languages.png)", ""]
    lines += _share_table(languages)
    lines += ["", "## Lengths", "", "![lengths](report_lengths.png)", ""]
    lines += [
        "Characters per row (the chosen side of a pair, the whole dialogue, the prompt); each",
        "figure is the upper edge of its 12 %-wide histogram bin.",
        "",
        "| config | p10 | p50 | p90 | max |",
        "|---|---|---|---|---|",
    ]
    for name, q in quantiles.items():
        if q:
            lines.append(f"| {name} | {q['p10']} | {q['p50']} | {q['p90']} | {q['max']} |")
    lines += ["", "## Licence mix", "", "![licence mix](report_licences.png)", ""]
    lines += _share_table(licences)
    lines += [
        "",
        "## Personal data and decontamination",
        "",
        "![PII and decontamination](report_pii_and_decontamination.png)",
        "",
        "| redacted entity type (silver) | values |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in sorted(pii.items(), key=lambda kv: -kv[1])),
        "",
        "| decontaminated (table / benchmark) | rows |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in sorted(decontaminated.items(), key=lambda kv: -kv[1])),
        "",
    ]
    return "\n".join(lines)


def _share_table(mixes: Mapping[str, Mapping[str, int]]) -> list[str]:
    lines = ["| config | rows | largest shares |", "|---|---|---|"]
    for name, counts in mixes.items():
        top = ", ".join(f"{k} {v:.1%}" for k, v in shares(counts, 4).items())
        lines.append(f"| {name} | {sum(counts.values())} | {top} |")
    return lines


def decontaminated_totals(
    recorded: Mapping[str, Mapping[str, int]],
) -> dict[str, int]:
    """{table: {"dataset/benchmark": rows}} as {"table / benchmark": rows}."""
    totals: Counter[str] = Counter()
    for table, pairs in recorded.items():
        for pair, rows in pairs.items():
            totals[f"{table} / {pair.split('/', 1)[-1]}"] += rows
    return dict(totals)


def png_markdown(title: str, encoded: str) -> str:
    """A PNG (base64) inline in Dagster's markdown metadata."""
    return f"![{title}](data:image/png;base64,{encoded})"
