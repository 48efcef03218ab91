"""A release's changes since the previous release and its quality report, read from the
release folders themselves (their manifests and Parquet shards) and the lake's PII audit.
The numbers and plots are made by transforms/release_report.py."""

import base64
import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from dagster import MetadataValue

from storage.keys import PII_AUDIT
from storage.lake import Lake
from transforms.release_report import (
    LENGTH_BINS,
    PLOTS,
    added_removed,
    changes_markdown,
    counts_png,
    decontaminated_totals,
    dense,
    histogram_quantiles,
    length_histogram,
    lengths_png,
    mix_png,
    png_markdown,
    release_changes,
    report_markdown,
    sparse,
    text_chars,
    text_column,
    unmatched,
)

BATCH_ROWS = 20_000


def previous_manifest(filesystem: pafs.FileSystem, releases: str, tag: str) -> dict | None:
    """The latest release other than `tag` (by creation time, then tag), or None."""
    selector = pafs.FileSelector(releases, allow_not_found=True)
    found = []
    for info in filesystem.get_file_info(selector):
        if info.type != pafs.FileType.Directory or info.base_name == tag:
            continue
        path = f"{info.path}/manifest.json"
        if filesystem.get_file_info(path).type == pafs.FileType.NotFound:
            continue  # a release being written, or not a release
        with filesystem.open_input_stream(path) as stream:
            manifest = json.loads(stream.read())
        found.append(((manifest.get("created_at", ""), manifest["tag"]), manifest))
    return max(found, key=lambda item: item[0])[1] if found else None


def shard_files(manifest: Mapping[str, Any]) -> dict[str, dict[str, dict[str, str]]]:
    """{config: {split: {relative path: sha256}}} from a manifest's checksummed files."""
    configs: dict[str, dict[str, dict[str, str]]] = {}
    for relative, digest in sorted(manifest.get("files", {}).items()):
        _, config, filename = relative.split("/")
        split = filename.rsplit("-", 3)[0]
        configs.setdefault(config, {}).setdefault(split, {})[relative] = digest
    return configs


def file_lengths(filesystem: pafs.FileSystem, path: str) -> np.ndarray:
    """The length histogram of one shard (only its text column is read)."""
    histogram = np.zeros(len(LENGTH_BINS) - 1, dtype=np.int64)
    with filesystem.open_input_file(path) as handle:
        parquet = pq.ParquetFile(handle)
        text = text_column(parquet.schema_arrow.names)
        for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=[text]):
            histogram += length_histogram(text_chars(pl.from_arrow(batch)))  # type: ignore[arg-type]
    return histogram


def row_hashes(filesystem: pafs.FileSystem, paths: list[str]) -> pl.Series:
    """A hash of every row (all columns) of the shards at `paths`."""
    hashes = [pl.Series(dtype=pl.UInt64)]
    for path in paths:
        with filesystem.open_input_file(path) as handle:
            for batch in pq.ParquetFile(handle).iter_batches(batch_size=BATCH_ROWS):
                hashes.append(pl.from_arrow(batch).hash_rows())  # type: ignore[union-attr]
    return pl.concat(hashes)


def split_changes(
    filesystem: pafs.FileSystem,
    roots: tuple[str, str],
    before: Mapping[str, str],
    after: Mapping[str, str],
) -> tuple[int, int]:
    """(rows added, rows removed) between two releases' shards of one split, reading only
    the files the two do not share (by sha256)."""
    paths = [{d: p for p, d in files.items()} for files in (before, after)]
    only_before, only_after = unmatched(list(before.values()), list(after.values()))
    return added_removed(
        row_hashes(filesystem, [f"{roots[0]}/{paths[0][d]}" for d in only_before]),
        row_hashes(filesystem, [f"{roots[1]}/{paths[1][d]}" for d in only_after]),
    )


def pii_counts(lake: Lake) -> dict[str, int]:
    """Values redacted by silver, per entity type (silver/pii_audit at its current version)."""
    if lake.table(PII_AUDIT) is None:
        return {}
    counted = lake.scan(PII_AUDIT).group_by("entity_type").len().collect()
    return dict(zip(counted["entity_type"], counted["len"], strict=True))


def write_report(
    lake: Lake, filesystem: pafs.FileSystem, releases: str, document: dict
) -> dict[str, Any]:
    """Compare the release in `document` (its shards written, its manifest not yet) with
    the previous one and write report.md and its PNG plots beside the manifest. Records
    `changes` and `report` in `document`; returns the Dagster metadata."""
    tag = document["tag"]
    root = f"{releases}/{tag}"
    previous = previous_manifest(filesystem, releases, tag)
    current_files = shard_files(document)
    previous_files = shard_files(previous) if previous else {}
    known = {
        digest: dense(counts)
        for digest, counts in (previous or {}).get("report", {}).get("file_lengths", {}).items()
    }
    rows: dict[str, dict[str, tuple[int, int]]] = {}
    histograms, file_histograms = {}, {}
    for name, splits in current_files.items():
        histograms[name] = np.zeros(len(LENGTH_BINS) - 1, dtype=np.int64)
        for files in splits.values():
            for relative, digest in files.items():
                if digest not in known:
                    known[digest] = file_lengths(filesystem, f"{root}/{relative}")
                file_histograms[digest] = known[digest]
                histograms[name] += known[digest]
        if previous is not None and name in previous_files:
            roots = (f"{releases}/{previous['tag']}", root)
            before = previous_files[name]
            rows[name] = {
                split: split_changes(
                    filesystem, roots, before.get(split, {}), splits.get(split, {})
                )
                for split in sorted(set(splits) | set(before))
            }
    quantiles = {name: histogram_quantiles(counts) for name, counts in histograms.items()}
    changes = release_changes(previous, document, rows)
    configs = {**document["tables"], **document.get("views", {})}
    languages = {name: pin["languages"] for name, pin in configs.items()}
    licences = {name: pin.get("license_rows", {}) for name, pin in configs.items()}
    pii = pii_counts(lake)
    decontaminated = decontaminated_totals(
        {name: pin.get("decontaminated", {}) for name, pin in document["tables"].items()}
    )
    plots = {
        "languages": mix_png(languages, PLOTS["languages"]),
        "lengths": lengths_png(histograms),
        "licences": mix_png(licences, PLOTS["licences"]),
        "pii_and_decontamination": counts_png(pii, decontaminated),
    }
    for name, png in plots.items():
        with filesystem.open_output_stream(f"{root}/report_{name}.png") as stream:
            stream.write(png)
    changed = changes_markdown(changes)
    page = report_markdown(tag, languages, licences, quantiles, pii, decontaminated, changed)
    with filesystem.open_output_stream(f"{root}/report.md") as stream:
        stream.write(page.encode("utf-8"))
    document["changes"] = changes
    document["report"] = {
        "plots": [f"report_{name}.png" for name in plots],
        "lengths": quantiles,
        "file_lengths": {digest: sparse(counts) for digest, counts in file_histograms.items()},
        "pii_redacted": pii,
        "decontaminated": decontaminated,
    }
    totals = [counts for splits in rows.values() for counts in splits.values()]
    return {
        "previous_release": changes["previous"] or "none",
        "rows_added": sum(added for added, _ in totals),
        "rows_removed": sum(removed for _, removed in totals),
        "changes": MetadataValue.md(changed),
        "report": MetadataValue.path(f"{root}/report.md"),
        **{
            f"plot_{name}": MetadataValue.md(
                png_markdown(PLOTS[name], base64.b64encode(png).decode("ascii"))
            )
            for name, png in plots.items()
        },
    }
