"""A release's changes since the previous release and its quality report, read from the
release folders themselves (their manifests and Parquet shards) and the lake's PII audit.
The numbers and plots are made by transforms/release_report.py."""

import base64
import json
from collections.abc import Mapping
from typing import Any

import polars as pl
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from dagster import MetadataValue

from assets.lake import Lake
from assets.silver import PII_AUDIT
from transforms.release_report import (
    PLOTS,
    RowProfile,
    added_removed,
    changes_markdown,
    counts_png,
    decontaminated_totals,
    lengths_png,
    mix_png,
    png_markdown,
    release_changes,
    report_markdown,
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


def shard_files(manifest: Mapping[str, Any]) -> dict[str, dict[str, list[str]]]:
    """{config: {split: [relative paths]}} from a manifest's checksummed files."""
    configs: dict[str, dict[str, list[str]]] = {}
    for relative in sorted(manifest.get("files", {})):
        _, config, filename = relative.split("/")
        split = filename.rsplit("-", 3)[0]
        configs.setdefault(config, {}).setdefault(split, []).append(relative)
    return configs


def profile(
    filesystem: pafs.FileSystem,
    root: str,
    files: Mapping[str, list[str]],
    with_hashes: bool,
    with_lengths: bool,
) -> RowProfile:
    """One pass over a config's shards: row hashes per split (for the diff) and lengths.
    Without hashes only the text column is read."""
    rows = RowProfile(with_lengths=with_lengths)
    for split, paths in files.items():
        for relative in paths:
            with filesystem.open_input_file(f"{root}/{relative}") as handle:
                parquet = pq.ParquetFile(handle)
                names = parquet.schema_arrow.names
                text = next(c for c in ("chosen", "messages", "prompt") if c in names)
                columns = None if with_hashes else [text]
                for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=columns):
                    rows.add(split, pl.from_arrow(batch), with_hashes)  # type: ignore[arg-type]
    return rows


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
    rows: dict[str, dict[str, tuple[int, int]]] = {}
    quantiles, histograms = {}, {}
    for name, files in current_files.items():
        with_hashes = name in previous_files
        now = profile(filesystem, root, files, with_hashes, with_lengths=True)
        histograms[name] = now.histogram
        quantiles[name] = now.quantiles()
        if with_hashes and previous is not None:
            before_root = f"{releases}/{previous['tag']}"
            before = profile(filesystem, before_root, previous_files[name], True, False)
            rows[name] = {
                split: added_removed(before.split_hashes(split), now.split_hashes(split))
                for split in sorted(set(files) | set(previous_files[name]))
            }
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
