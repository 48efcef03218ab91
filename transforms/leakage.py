"""Leakage report: how the prompts of the ingested datasets overlap each other and the
pinned benchmarks, before curation (what the training views were protected from).

A dataset's prompts are the first user turns of its dialogues and comparisons, normalised
as decontamination normalises them (transforms/decontaminate.py: NFKC, case-folded, words
only). Counts are of distinct normalised prompts:

- `exact` (dataset pair A, B): prompts of A that B holds too, word for word.
- `near` (dataset pair): prompts of A that are not in B exactly but are a near-duplicate
  of one of B's: a verified pair (MinHash LSH over word pairs, estimated Jaccard >= the
  threshold: transforms/near_duplicates.py, prompt side only), not a chain of them.
- `exact` (dataset, benchmark): prompts equal to a benchmark turn; `near`: prompts that
  match it only by the other rules (a shared 13-word run, or a benchmark question pasted
  inside them).

Pairs are unordered: a row (A, B) counts A's prompts found in B, and its mirror (B, A)
is reported too, since the two counts differ when one side repeats a prompt.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import polars as pl

from transforms.decontaminate import BenchmarkIndex, normalise_for_match

PAIR_SCHEMA = pl.Schema(
    {"dataset": pl.String, "other": pl.String, "exact": pl.Int64, "near": pl.Int64}
)
BENCHMARK_SCHEMA = pl.Schema(
    {"dataset": pl.String, "benchmark": pl.String, "exact": pl.Int64, "near": pl.Int64}
)


def normalised_prompts(frame: pl.DataFrame) -> pl.DataFrame:
    """(dataset, prompt) -> distinct (dataset, normalised, key) rows, empty prompts left
    out; `key` is a 64-bit hash of the normalised prompt (what the pair counts compare)."""
    normalised = [normalise_for_match(p or "") for p in frame["prompt"].to_list()]
    return (
        frame.select("dataset")
        .with_columns(normalised=pl.Series(normalised, dtype=pl.String))
        .filter(pl.col("normalised") != "")
        .unique(maintain_order=True)
        .with_columns(key=pl.col("normalised").hash(seed=0).reinterpret(signed=True))
    )


def benchmark_matches_per_prompt(
    prompts: pl.DataFrame, index: BenchmarkIndex, exact_of: Mapping[str, str]
) -> pl.DataFrame:
    """`prompts` (from `normalised_prompts`) with `benchmark` and `match`: "exact" when the
    prompt equals a benchmark turn (`exact_of`: normalised turn -> benchmark, from
    `benchmark_turns_by_text`), "near" when it matches one by another rule, else null."""
    found: list[tuple[str | None, str | None]] = []
    for prompt in prompts["normalised"].to_list():
        if prompt in exact_of:
            found.append((exact_of[prompt], "exact"))
        else:
            benchmark = index.match(prompt)
            found.append((benchmark, None if benchmark is None else "near"))
    return prompts.with_columns(
        benchmark=pl.Series([b for b, _ in found], dtype=pl.String),
        match=pl.Series([m for _, m in found], dtype=pl.String),
    )


def benchmark_turns_by_text(benchmarks: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """Normalised benchmark turn -> the first benchmark (by name) holding it."""
    exact_of: dict[str, str] = {}
    for name in sorted(benchmarks):
        for text in benchmarks[name]:
            exact_of.setdefault(normalise_for_match(text), name)
    return exact_of


def benchmark_overlap(matches: pl.DataFrame) -> pl.DataFrame:
    """Rows (dataset, benchmark, exact, near) from prompts with their `match`."""
    return (
        matches.filter(pl.col("benchmark").is_not_null())
        .group_by("dataset", "benchmark")
        .agg(
            exact=(pl.col("match") == "exact").sum().cast(pl.Int64),
            near=(pl.col("match") == "near").sum().cast(pl.Int64),
        )
        .sort("dataset", "benchmark")
        .select(BENCHMARK_SCHEMA.names())
    )


def pair_overlap(keys: pl.DataFrame, near: pl.DataFrame) -> pl.DataFrame:
    """Per ordered pair of datasets (A, B): A's distinct prompts (`keys`: dataset, key)
    that B holds exactly, and those that are a near-duplicate of one of B's without being
    one of them (`near`: verified pairs as dataset, key, dataset_right, key_right; a pair
    counts in both directions)."""
    by_dataset = keys.group_by("dataset").agg(pl.col("key").unique())
    sets = {d: set(k) for d, k in by_dataset.iter_rows()}
    near_in: dict[tuple[str, str], set[int]] = {}
    both_ways = pl.concat(
        [
            near,
            near.select(
                dataset="dataset_right", key="key_right", dataset_right="dataset", key_right="key"
            ),
        ]
    )
    for a, key, b, _ in both_ways.filter(pl.col("dataset") != pl.col("dataset_right")).iter_rows():
        near_in.setdefault((a, b), set()).add(key)
    rows = []
    for a in sorted(sets):
        for b in sorted(sets):
            if a == b:
                continue
            exact = sets[a] & sets[b]
            nearly = len(near_in.get((a, b), set()) - exact)
            if exact or nearly:
                rows.append((a, b, len(exact), nearly))
    return pl.DataFrame(rows, schema=PAIR_SCHEMA, orient="row")


def overlap_markdown(frame: pl.DataFrame, key: str, width: int = 30) -> str:
    """A leakage table with a text bar per row (exact █, near ░), largest first."""
    if frame.height == 0:
        return "No overlap found."
    ordered = frame.with_columns(total=pl.col("exact") + pl.col("near")).sort(
        "total", "dataset", key, descending=[True, False, False]
    )
    top = max(ordered["total"].max() or 1, 1)
    lines = [f"| dataset | {key} | exact | near | |", "|---|---|---:|---:|---|"]
    for row in ordered.iter_rows(named=True):
        exact = round(width * row["exact"] / top)
        near = round(width * row["near"] / top)
        bar = "█" * exact + "░" * near or "▏"
        lines.append(f"| {row['dataset']} | {row[key]} | {row['exact']} | {row['near']} | {bar} |")
    return "\n".join(lines)


def overlap_svg(frame: pl.DataFrame, key: str, title: str) -> str:
    """A horizontal bar chart (exact dark, near light) of a leakage table, as SVG text."""
    rows = frame.with_columns(total=pl.col("exact") + pl.col("near")).sort(
        "total", "dataset", key, descending=[True, False, False]
    )
    label_width, bar_width, line = 360, 400, 22
    height = 50 + line * max(rows.height, 1)
    top = max(rows["total"].max() or 1, 1) if rows.height else 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_width + bar_width + 120}" '
        f'height="{height}" font-family="sans-serif" font-size="12">',
        f'<text x="8" y="20" font-size="14" font-weight="bold">{_escape(title)}</text>',
        f'<text x="{label_width}" y="38" fill="#1f4e79">■ exact</text>'
        f'<text x="{label_width + 70}" y="38" fill="#9dc3e6">■ near</text>',
    ]
    if rows.height == 0:
        parts.append('<text x="8" y="64">No overlap found.</text>')
    for i, row in enumerate(rows.iter_rows(named=True)):
        y = 48 + i * line
        exact = bar_width * row["exact"] / top
        near = bar_width * row["near"] / top
        label = _escape(f"{row['dataset']} / {row[key]}")
        parts += [
            f'<text x="8" y="{y + 14}">{label}</text>',
            f'<rect x="{label_width}" y="{y + 3}" width="{exact:.1f}" height="14" fill="#1f4e79"/>',
            f'<rect x="{label_width + exact:.1f}" y="{y + 3}" width="{near:.1f}" height="14" '
            'fill="#9dc3e6"/>',
            f'<text x="{label_width + exact + near + 6:.1f}" y="{y + 14}">'
            f"{row['exact']} + {row['near']}</text>",
        ]
    parts.append("</svg>")
    return "\n".join(parts)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


LEAKAGE_TITLES = {
    "pairs": "Prompts of one dataset found in another (exact, near)",
    "benchmarks": "Prompts matching a pinned benchmark (exact, near)",
}


def leakage_page(report: dict[str, str]) -> str:
    return "\n".join(
        [
            "# Leakage report",
            "",
            "Counted on silver's prompts (first user turns) before curation; the training "
            "views are decontaminated against the benchmarks. Distinct normalised prompts; "
            "`near` = not exact, but a near-duplicate (MinHash, word pairs) or a benchmark "
            "match by n-gram overlap. Plots: leakage_pairs.svg, leakage_benchmarks.svg.",
            "",
            "## Between datasets",
            "",
            report["pairs"],
            "",
            "## Into the pinned benchmarks",
            "",
            report["benchmarks"],
            "",
        ]
    )
