"""Bronze: one asset per catalogue dataset, generated from sources/catalogue.yaml."""

import json
from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from itertools import islice

import polars as pl
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    AssetObservation,
    AssetsDefinition,
    AssetSpec,
    Config,
    MaterializeResult,
    MetadataValue,
    StaticPartitionsDefinition,
    asset,
)

from assets.markdown import preview_markdown
from storage.build_plan import plan_build
from storage.code_digest import asset_code_digest, settings_digest
from storage.keys import BRONZE_QUARANTINE
from storage.lake import (
    Lake,
    SourceFile,
    Sources,
    file_stats,
    increment_tag,
)
from transforms.bronze import (
    add_lineage,
    bronze_schema,
    conform_frame,
    parsed_to_frame,
    quarantine_frame,
    row_license,
    unreadable_file,
)
from transforms.catalogue import DatasetSpec, license_class
from transforms.records import QUARANTINE_SCHEMA, ParsedFile, parse_jsonl

PREVIEW_COLUMNS = ["dataset", "split", "source_file", "source_row", "content_hash"]


def bronze_quarantine_spec(catalogue: Mapping[str, DatasetSpec]) -> AssetSpec:
    """bronze/quarantine, downstream of the bronze assets that write it (in the UI's
    lineage); written by them, never materialized on its own."""
    return AssetSpec(
        key=list(BRONZE_QUARANTINE),
        group_name="bronze",
        deps=[AssetKey(["bronze", spec.key]) for spec in catalogue.values()],
        description=(
            "Source records that could not be parsed or do not fit the catalogue's schema. "
            "Grain: one row per rejected record (or per unreadable file, source_row null), with "
            "dataset, split, source_file, source_row, reason, detail and the raw payload. "
            "Written by the bronze assets, one (dataset, split) slice at a time. Licence: as the "
            "source dataset; payloads may hold personal data and are never copied further."
        ),
        kinds={"delta"},
    )


class BronzeConfig(Config):
    force: bool = False
    """Re-ingest even when the source files are unchanged since the last write."""
    batch_rows: int = 20_000
    """Parquet rows read at a time: memory holds one batch, whatever the size of a file."""


def bronze_asset(spec: DatasetSpec) -> AssetsDefinition:
    """The bronze asset of one dataset: its raw files, copied row by row, with lineage."""
    licence = row_license(spec)

    @asset(
        key=["bronze", spec.key],
        group_name="bronze",
        partitions_def=StaticPartitionsDefinition(list(spec.splits)),
        kinds={"delta", "polars"},
        output_required=False,
        metadata={
            "hub_repo": spec.hub_repo,
            "revision": spec.revision,
            "license": licence,
            "license_class": license_class(licence),
            "field_licenses": MetadataValue.json(dict(spec.license)),
        },
        description=(
            f"Faithful copy of {spec.hub_repo} ({spec.format}). Grain: one row per source "
            "record, partitioned by split; text unchanged, plus lineage (dataset, split, "
            "source_file, source_row, ingested_at, content_hash). Licence: "
            f"{licence} (per field: {dict(spec.license)}), carried in `license` / "
            "`license_class` on every row. Rejected records go to bronze/quarantine."
        ),
    )
    def _bronze(
        context: AssetExecutionContext, config: BronzeConfig, lake: Lake, sources: Sources
    ) -> Iterator[MaterializeResult]:
        # Nothing new to ingest is an observation, not a materialization: downstream assets
        # that follow their upstreams see no update and do not run.
        result = ingest_split(
            context, spec, context.partition_key, lake, sources, config.force, config.batch_rows
        )
        if isinstance(result, AssetObservation):
            context.log_event(result)
        else:
            yield result

    return _bronze


def bronze_settings(revision: str) -> str:
    """What decides a bronze split's rows besides its files' contents: the Hub commit the
    files are read at (it is in every row's lineage) and the code of the parsers."""
    described = json.dumps({"revision": revision, "code": asset_code_digest(__file__)})
    return settings_digest(described)


def ingest_split(
    context: AssetExecutionContext,
    spec: DatasetSpec,
    split: str,
    lake: Lake,
    sources: Sources,
    force: bool,
    batch_rows: int = 20_000,
) -> MaterializeResult | AssetObservation:
    """Ingest one split: a MaterializeResult when the table changed, else an observation.

    The split's files are read in batches and streamed into one atomic write: memory holds
    one batch. The quarantine slice is written just before the table's commit, which
    records the files' fingerprint and so marks the split done."""
    key = ("bronze", spec.key)
    partition = {"partition": f"split={split}"}
    previous = lake.last_commit_metadata(key, partition)
    known = None if force or previous is None else json.loads(previous.get("file_stats", "{}"))
    files = sources.files(spec, split, known)
    if not files:
        context.log.warning(f"{spec.key}/{split}: no source files in {sources.describe()}")
        missing = {"status": "source files missing", "sources": sources.describe()}
        if lake.table(key) is None:  # an empty table, so downstream assets can still read it
            lake.write(key, pl.DataFrame(schema=bronze_schema(spec)), partition_by=["split"])
            return MaterializeResult(metadata=missing)
        return AssetObservation(asset_key=list(key), partition=split, metadata=missing)

    revision = sources.revision_read(spec) or ""
    plan = plan_build(
        lake,
        previous,
        bronze_settings(revision),
        [],
        sources=[(f.path, f.version) for f in files],
        force=force,
        interrupted=lambda: lake.increment_interrupted(BRONZE_QUARANTINE, key, previous),  # type: ignore[arg-type]
    )
    if plan.unchanged:
        table = lake.table(key)
        context.log.info(f"{spec.key}/{split}: sources unchanged, nothing written")
        return AssetObservation(
            asset_key=list(key),
            partition=split,
            metadata={
                "status": "unchanged",
                "delta_version": table.version() if table else -1,
                "path": lake.uri(key),
            },
        )

    # Only new files beside unchanged ones (a new shard): read just those and append.
    appending = plan.action == "append"
    to_read = [f for f in files if f.path in plan.new_sources] if appending else files
    context.log.info(f"{spec.key}/{split}: {plan.action} ({plan.reason})")
    ingested_at = datetime.now(UTC)
    rejected: list[pl.DataFrame] = []
    counts = Counter()
    preview: list[pl.DataFrame] = []

    def rows() -> Iterator[pl.DataFrame]:
        yield pl.DataFrame(schema=bronze_schema(spec))
        for file in to_read:
            # its path in the Hub layout, with the commit read when it is known
            source_file = f"{spec.hub_repo}{'@' + revision if revision else ''}/{file.path}"
            for parsed in read_file(spec, sources, file, batch_rows):
                counts["records_in"] += (
                    parsed.records_in if isinstance(parsed, ParsedFile) else parsed.height
                )
                if isinstance(parsed, ParsedFile):
                    counts["blank_lines"] += parsed.blank_lines
                    rejected.append(
                        quarantine_frame(
                            parsed.rejections, spec.key, split, source_file, ingested_at
                        )
                    )
                    parsed = parsed_to_frame(parsed, spec)
                frame = add_lineage(parsed, spec, split, source_file, ingested_at)
                counts["rows"] += frame.height
                if not preview:
                    preview.append(frame.select(PREVIEW_COLUMNS).head(5))
                yield frame
            context.log.info(f"{spec.key}/{split}: read {source_file}")

    def quarantined() -> pl.DataFrame:
        return pl.concat(rejected) if rejected else pl.DataFrame(schema=QUARANTINE_SCHEMA)

    def reconcile_and_write_quarantine() -> None:
        quarantine = quarantined()
        if counts["records_in"] != counts["rows"] + quarantine.height:
            raise RuntimeError(
                f"{spec.key}/{split}: {counts['records_in']} records in but {counts['rows']} "
                f"written + {quarantine.height} quarantined"
            )
        if appending and quarantine.is_empty():
            return
        quarantine_write = lake.write_batches(
            BRONZE_QUARANTINE,
            [quarantine],
            partition_by=["dataset"],
            replace={"dataset": spec.key, "split": split},
            append=appending,
            commit_metadata=increment_tag(key, previous) if appending else None,
        )
        log_quarantine(context, spec, split, quarantine, quarantine_write.version)

    commit = {
        **partition,
        **plan.commit(),
        "file_stats": file_stats(files),
        "source_revision": revision,
    }
    written = lake.write_batches(
        key,
        rows(),
        partition_by=["split"],
        replace={"split": split},
        commit_metadata=commit,
        before_commit=reconcile_and_write_quarantine,
        append=appending,
    )
    quarantine = quarantined()
    reasons = Counter(quarantine["reason"].to_list())
    return MaterializeResult(
        metadata={
            # appended: only files new beside unchanged ones were read, their rows added
            "status": "appended" if appending else "written",
            "rows_in": counts["records_in"],
            "rows_written": counts["rows"],
            "rows_quarantined": quarantine.height,
            **{f"quarantined_{r}": n for r, n in sorted(reasons.items())},
            "blank_lines_skipped": counts["blank_lines"],
            "files": len(to_read),
            "bytes": sum(f.size or 0 for f in to_read),
            "delta_version": written.version,
            "path": MetadataValue.path(written.uri),
            "sources": sources.describe(),
            # Lineage only: bronze text may hold personal data, and metadata is shown to everyone.
            "preview": MetadataValue.md(preview_markdown(pl.concat(preview))),
        }
    )


def log_quarantine(
    context: AssetExecutionContext,
    spec: DatasetSpec,
    split: str,
    quarantined: pl.DataFrame,
    version: int,
) -> None:
    reasons = Counter(quarantined["reason"].to_list())
    context.log_event(
        AssetMaterialization(
            asset_key=list(BRONZE_QUARANTINE),
            description=f"slice {spec.key}/{split}",
            metadata={
                "dataset": spec.key,
                "split": split,
                "rows_quarantined": quarantined.height,
                "delta_version": version,
                **{f"quarantined_{r}": n for r, n in sorted(reasons.items())},
            },
        )
    )


def read_file(
    spec: DatasetSpec, sources: Sources, file: SourceFile, batch_rows: int
) -> Iterator[ParsedFile | pl.DataFrame]:
    """One source file as conformed rows, `batch_rows` records at a time (memory holds one
    batch of parsed records, not a whole JSON Lines file of them); a file that cannot be
    opened is one rejection. A file that fails after its first batch was read raises: its
    rows are not half-kept (the split's write is one commit, made only if every file read)."""
    if spec.format == "jsonl":
        try:
            records = iter(sources.read_lines(file))
            batch = list(islice(records, batch_rows))
        except OSError as error:
            yield ParsedFile(rejections=[unreadable_file(error, file.size)])
            return
        while batch:
            yield parse_jsonl(batch, spec.schema, spec.polars_schema, spec.required)
            batch = list(islice(records, batch_rows))
        return
    try:
        batches = sources.parquet_batches(file, batch_rows)
        first_row, frame = next(batches, (0, None))
    except Exception as error:  # polars and pyarrow raise several types for a corrupt file
        yield ParsedFile(rejections=[unreadable_file(error, file.size)])
        return
    while frame is not None:
        yield conform_frame(frame, spec, first_row)
        first_row, frame = next(batches, (0, None))
