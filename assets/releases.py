"""Releases: a manifest pinning each gold table's Delta version, a dataset card, and an
optional export in the Hub layout."""

import hashlib
import json
import os
import subprocess
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
    multi_asset,
)

from assets.leakage import NEAR, PROMPTS, is_current, update_index
from assets.leakage import report as leakage_tables
from assets.release_report import write_report
from storage.keys import GOLD_TABLES, view_key
from storage.lake import Lake
from transforms.catalogue import DatasetSpec
from transforms.gold import evaluation_datasets
from transforms.leakage import LEAKAGE_TITLES, leakage_page, overlap_markdown, overlap_svg
from transforms.release import (
    SPLIT,
    checksums_file,
    content_tag,
    dataset_card,
    hub_features,
    pin_columns,
    shard_name,
    sources_read,
    table_pin,
)
from transforms.views import ViewSpec

EXPORT_FORMATS = ("jsonl",)
EXPORT_BATCH_ROWS = 20_000


class ReleaseConfig(Config):
    tag: str = ""
    """Release name; empty means a tag derived from the pinned content (r-<hash>)."""
    export: list[str] = []
    """Also write each table as JSON Lines beside its Parquet shards: ["jsonl"]."""
    leakage_report: bool = True
    """Write leakage.md / leakage_*.svg: how the ingested datasets' prompts overlap each
    other and the pinned benchmarks, exactly and nearly (from gold/leakage_prompts)."""


class LeakageIndexConfig(Config):
    batch_rows: int = 20_000
    """Prompts read at a time."""


class ReleaseTagConflict(ValueError):
    """A tag names a release already; releases are immutable."""


def release_assets(catalogue: dict[str, DatasetSpec], views: dict[str, ViewSpec]) -> list:
    @asset(
        key=["releases", "manifest"],
        group_name="releases",
        deps=[AssetKey(["gold", t]) for t in GOLD_TABLES]
        + [AssetKey(list(view_key(name))) for name in views]
        + [AssetKey(list(PROMPTS)), AssetKey(list(NEAR))],
        kinds={"json"},
    )
    def manifest(
        context: AssetExecutionContext, config: ReleaseConfig, lake: Lake
    ) -> MaterializeResult:
        """A versioned, immutable view of the gold tables.

        Grain: one release per tag, at <LAKE_ROOT>/releases/<tag>/: manifest.json (tag,
        time, git commit, configuration, and per gold table and view its Delta version,
        rows, schema and content hash), README.md (a Hugging Face dataset card), Parquet
        shards per config and split with checksums.sha256, and report.md with its PNG
        plots (changes since the previous release, language, length and licence mix, PII
        and decontamination counts; also in this asset's metadata). Reading a release
        returns the pinned versions, whatever was materialized since. Licence: each table
        keeps its class; the card lists every licence and attribution.
        """
        pins = {}
        for name in GOLD_TABLES:
            table = lake.table(("gold", name))
            if table is None:
                raise FileNotFoundError(f"gold/{name} has not been materialized")
            version = table.version()
            rows = lake.scan(("gold", name), version)
            schema = rows.collect_schema()
            pins[name] = table_pin(
                lake.uri(("gold", name)),
                version,
                schema,
                rows.select(pin_columns(schema)).collect(),
            )
            pins[name]["decontaminated"] = json.loads(
                table.history(1)[0].get("decontaminated", "{}")
            )
        view_pins = {name: view_pin(lake, name) for name in views}
        tag = config.tag or content_tag({**pins, **{f"views/{k}": p for k, p in view_pins.items()}})
        policies = sorted(
            set(lake.scan(("gold", "prefs_by")).select("policy").collect()["policy"])
            | set(lake.scan(("gold", "prefs_by_nc")).select("policy").collect()["policy"])
        )
        document = {
            "tag": tag,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "git_commit": git_commit(),
            "configuration": {
                "export": config.export,
                "sources": {k: s.revision for k, s in catalogue.items()},
            },
            "policies": policies,
            "sources_read": sources_read(pins),
            "tables": pins,
            "views": view_pins,
        }
        folder = f"{lake.root.rstrip('/')}/releases/{tag}"
        filesystem, path = pafs.FileSystem.from_uri(folder)
        existing = read_text(filesystem, f"{path}/manifest.json")
        if existing is not None:
            previous = json.loads(existing)
            if content_of({**previous["tables"], **previous.get("views", {})}) != content_of(
                {**pins, **view_pins}
            ):
                raise ReleaseTagConflict(f"release {tag!r} exists and holds other rows")
            context.log.info(f"release {tag} already exists with the same pins: nothing written")
            return MaterializeResult(metadata={"tag": tag, "status": "unchanged", "path": folder})

        shards, checksums = {}, {}
        configs = [(name, ("gold", name), pins[name]["version"], [SPLIT]) for name in GOLD_TABLES]
        configs += [
            (name, view_key(name), pin["version"], list(pin["splits"]))
            for name, pin in view_pins.items()
        ]
        for name, key, version, splits in configs:
            shards[name] = write_shards(lake, filesystem, path, name, key, version, splits)
            checksums.update(shards[name].pop("sha256"))
        for name in GOLD_TABLES:
            for fmt in config.export:
                if fmt not in EXPORT_FORMATS:
                    raise ValueError(f"unknown export format {fmt!r}; choose from {EXPORT_FORMATS}")
                export(
                    filesystem,
                    path,
                    name,
                    fmt,
                    lake.batches(("gold", name), EXPORT_BATCH_ROWS, version=pins[name]["version"]),
                )
        document["files"] = checksums
        write_text(filesystem, f"{path}/checksums.sha256", checksums_file(checksums))
        report_metadata = write_report(lake, filesystem, path.rsplit("/", 1)[0], document)
        sources = [
            {
                "dataset": k,
                "hub_repo": s.hub_repo,
                "revision": s.revision,
                "read": ", ".join(document["sources_read"].get(k, [])) or "not in this release",
                "license": " AND ".join(sorted(set(s.license.values()))),
            }
            for k, s in catalogue.items()
        ]
        leakage_metadata: dict = {}
        if config.leakage_report and not is_current(lake):
            leakage_metadata = {
                "leakage_report": "not written: gold/leakage_prompts is not up to date with "
                "silver (materialize it with the release)"
            }
        elif config.leakage_report:
            pairs, benchmarks = leakage_tables(lake)
            report = {
                "pairs": overlap_markdown(pairs, "other"),
                "benchmarks": overlap_markdown(benchmarks, "benchmark"),
            }
            document["leakage"] = {"pairs": pairs.to_dicts(), "benchmarks": benchmarks.to_dicts()}
            write_text(filesystem, f"{path}/leakage.md", leakage_page(report))
            for name, frame, key in (
                ("pairs", pairs, "other"),
                ("benchmarks", benchmarks, "benchmark"),
            ):
                title = LEAKAGE_TITLES[name]
                write_text(filesystem, f"{path}/leakage_{name}.svg", overlap_svg(frame, key, title))
            leakage_metadata = {
                "leakage_between_datasets": MetadataValue.md(report["pairs"]),
                "leakage_into_benchmarks": MetadataValue.md(report["benchmarks"]),
            }
        write_text(filesystem, f"{path}/README.md", dataset_card(document, sources, shards))
        write_text(
            filesystem, f"{path}/manifest.json", json.dumps(document, indent=2, ensure_ascii=False)
        )
        return MaterializeResult(
            metadata={
                "tag": tag,
                "status": "written",
                "path": MetadataValue.path(folder),
                **{f"{name}_version": pin["version"] for name, pin in pins.items()},
                **{f"{name}_rows": pin["rows"] for name, pin in pins.items()},
                **leakage_metadata,
                **report_metadata,
            }
        )

    @multi_asset(
        specs=[
            AssetSpec(
                list(PROMPTS),
                group_name="gold",
                deps=[AssetKey(["silver", "conversations"]), AssetKey(["silver", "comparisons"])],
                kinds={"delta", "polars"},
                description=(
                    "The leakage report's index. Grain: one row per distinct (dataset, "
                    "normalised first user turn) of silver, with the pinned benchmark it "
                    "matches (exact / near) and, once per prompt, its MinHash signature. "
                    "Licence: hashes, signatures and names only, no text."
                ),
            ),
            AssetSpec(
                list(NEAR),
                group_name="gold",
                deps=[AssetKey(list(PROMPTS))],
                kinds={"delta", "polars"},
                description=(
                    "Near-copy pairs of prompts (keys of gold/leakage_prompts, estimated "
                    "Jaccard >= 0.8). Grain: one row per pair. Licence: keys only."
                ),
            ),
        ],
    )
    def leakage_index(
        context: AssetExecutionContext, config: LeakageIndexConfig, lake: Lake
    ) -> Iterator[MaterializeResult]:
        """Bring the leakage index up to date: only silver's new prompts when silver only
        grew since, else everything."""
        status = update_index(lake, config.batch_rows, evaluation_datasets(catalogue))
        for key in (PROMPTS, NEAR):
            yield MaterializeResult(
                asset_key=AssetKey(list(key)),
                metadata={
                    "status": status,
                    "rows": lake.scan(key).select(pl.len()).collect().item(),
                    "delta_version": lake.version(key),
                    "path": MetadataValue.path(lake.uri(key)),
                },
            )

    return [manifest, leakage_index]


def content_of(pins: dict) -> dict[str, str]:
    return {name: pin["content_hash"] for name, pin in pins.items()}


def export(
    filesystem: pafs.FileSystem, root: str, name: str, fmt: str, frames: Iterable[pl.DataFrame]
) -> None:
    """One table, streamed a frame at a time, as Hub-layout files:
    data/<table>/train-00000-of-00001.<fmt>."""
    folder = f"{root}/data/{name}"
    filesystem.create_dir(folder, recursive=True)
    with filesystem.open_output_stream(f"{folder}/train-00000-of-00001.{fmt}") as stream:
        for frame in frames:
            frame.write_ndjson(stream)


def view_pin(lake: Lake, name: str) -> dict:
    """A view at its current version, described by the commit that wrote it."""
    table = lake.table(view_key(name))
    if table is None:
        raise FileNotFoundError(f"views/{name} has not been materialized")
    commit = table.history(1)[0]
    splits = json.loads(commit["splits"])
    return {
        "uri": lake.uri(view_key(name)),
        "version": table.version(),
        "rows": sum(splits.values()),
        "splits": splits,
        "content_hash": commit["inputs"],
        "gold_versions": json.loads(commit["gold_versions"]),
        "licenses": json.loads(commit["licenses"]),
        "license_rows": json.loads(commit.get("license_rows", "{}")),
        "declaration": json.loads(commit.get("declaration", "{}")),
        "languages": json.loads(commit["languages"]),
        "datasets": json.loads(commit["datasets"]),
    }


def write_shards(
    lake: Lake,
    filesystem: pafs.FileSystem,
    root: str,
    name: str,
    key: tuple[str, str],
    version: int,
    splits: list[str],
) -> dict:
    """Table `key` at `version` as data/<name>/<split>-0000i-of-0000n.parquet: its Delta
    data files themselves (hard links on a local disk, copies elsewhere; a table
    partitioned by split gives each partition's files, which hold every column but the
    split). A split without rows has no files and is left out of the card (`datasets`
    cannot load an empty split). Returns the card's `features`, per split `num_bytes`
    (uncompressed) and `num_examples`, `download_size`, and each file's sha256."""
    folder = f"{root}/data/{name}"
    filesystem.create_dir(folder, recursive=True)
    found = lake.files_at(key, version)
    by_split = {splits[0]: found[None]} if None in found else found
    described: dict = {"features": None, "splits": {}, "download_size": 0, "sha256": {}}
    for split in splits:
        sources = by_split.get(split, [])
        targets = [f"{folder}/{shard_name(split, i, len(sources))}" for i in range(len(sources))]
        for source, target in zip(sources, targets, strict=True):
            link_or_copy(filesystem, source.split("://", 1)[-1], target)
        counted = {"num_bytes": 0, "num_examples": 0}
        for target in targets:
            with filesystem.open_input_file(target) as handle:
                metadata = pq.ParquetFile(handle).metadata
            if described["features"] is None:
                described["features"] = hub_features(metadata.schema.to_arrow_schema())
            counted["num_examples"] += metadata.num_rows
            counted["num_bytes"] += sum(
                metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups)
            )
            digest, size = file_digest(filesystem, target)
            described["download_size"] += size
            described["sha256"][target.removeprefix(f"{root}/")] = digest
        if counted["num_examples"]:  # `datasets` cannot load a split without rows
            described["splits"][split] = counted
    return described


def link_or_copy(filesystem: pafs.FileSystem, source: str, target: str) -> None:
    """A hard link on a local disk (Delta data files are never rewritten), else a copy."""
    if isinstance(filesystem, pafs.LocalFileSystem):
        Path(target).unlink(missing_ok=True)
        try:
            os.link(source, target)
            return
        except OSError:
            pass
    filesystem.copy_file(source, target)


def file_digest(filesystem: pafs.FileSystem, path: str) -> tuple[str, int]:
    """sha256 and size of a file, read in 8 MB blocks."""
    digest, size = hashlib.sha256(), 0
    with filesystem.open_input_stream(path) as stream:
        while block := stream.read(8 * 2**20):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def read_text(filesystem: pafs.FileSystem, path: str) -> str | None:
    if filesystem.get_file_info(path).type == pafs.FileType.NotFound:
        return None
    with filesystem.open_input_stream(path) as stream:
        return stream.read().decode("utf-8")


def write_text(filesystem: pafs.FileSystem, path: str, text: str) -> None:
    filesystem.create_dir(path.rsplit("/", 1)[0], recursive=True)
    with filesystem.open_output_stream(path) as stream:
        stream.write(text.encode("utf-8"))


def git_commit() -> str:
    """The code's commit: from git, else GIT_COMMIT (set in the image), else `unknown`."""
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return os.environ.get("GIT_COMMIT", "unknown")
