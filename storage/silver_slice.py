"""One dataset's slice of a silver table (dialogues or comparisons), built from its bronze
table in two passes over bounded batches, with its rows in the shared ledger tables
(silver/pii_audit, silver/quarantine). Nothing here knows about Dagster: progress and the
ledger slices written go to a `SliceLog`.

Pass 1 shapes and cleans each batch of bronze rows and spools the result to local disk,
keeping only ids and source positions in memory; the duplicate survivors are then chosen
over the whole dataset. Pass 2 runs language and PII on each spooled batch and streams
the scrubbed rows into one atomic write. The ledger slices are written first and the
table's commit records its inputs, so a slice whose inputs are unchanged is skipped and a
run stopped half-way is redone in full.

When bronze only gained rows since the slice was built (a new source file) and the
settings and transforms are the same, only those rows are processed and appended (the
build plan, storage/build_plan.py); if one of them would replace a row the slice keeps (an
earlier copy of a kept row), the slice is rebuilt whole instead.

Every bronze row is accounted for: rows in = rows out + duplicates + quarantined + merged
(bronze rows a shape folded into another row or left out by its rule, by reason).
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import polars as pl

from storage.build_plan import BuildPlan, plan_build
from storage.code_digest import settings_digest
from storage.keys import PII_AUDIT, QUARANTINE, Key, bronze_key
from storage.lake import AddedFile, Lake, TableWrite, increment_tag
from storage.silver_spool import CleanedSpool, SliceTally, tag_and_scrub
from storage.silver_tables import SilverConfig, SilverTable
from storage.text_cache import Log
from transforms.bronze import bronze_schema
from transforms.catalogue import DatasetSpec
from transforms.silver_rows import SILVER_QUARANTINE_SCHEMA, Stage
from transforms.survivors import (
    SOURCE_POSITION,
    KeptRowReplaced,
    duplicate_survivors,
    losers,
    new_survivors,
)
from transforms.text_engines import settings_fingerprint

SLICE_COUNTS = ("rows_in", "rows_out", "dropped_duplicate", "rows_quarantined")
"""Running counts of a slice, in its commit metadata (an append continues from them)."""
MERGED = "merged"
"""Commit metadata key of a slice's merged rows: JSON {reason: count}, carried on too."""

Shape = Callable[[pl.DataFrame], Stage]
"""A dataset's bronze rows -> its silver rows (shaped and cleaned), rejects, counts."""


class SliceLog(Log, Protocol):
    """Where a slice build reports: progress lines, and each ledger slice it wrote."""

    def ledger(
        self, key: Key, table: str, dataset: str, rows: int, written: TableWrite
    ) -> None: ...


@dataclass(frozen=True)
class SliceIncrement:
    """Rows to add to a silver slice: its last commit and the bronze files added since."""

    previous: dict
    files: list[AddedFile]

    def count(self, name: str) -> int:
        return int(self.previous[name])

    def merged(self) -> Counter[str]:
        return Counter({k: int(v) for k, v in json.loads(self.previous[MERGED]).items()})


@dataclass(frozen=True)
class SliceBuild:
    """What one slice build wrote. Counts (`totals`, `merged`) describe the whole slice;
    `batches`, `counts` and `tally` the rows processed in this run (all of them, or those
    appended)."""

    appended: int | None
    """Rows appended, for an increment; None for a build of the whole slice."""
    totals: Counter[str]
    merged: Counter[str]
    batches: int
    counts: Counter[str]
    tally: SliceTally
    written: TableWrite

    @property
    def status(self) -> str:
        return "rebuilt" if self.appended is None else "appended"


def engine_inputs(config: SilverConfig, code: str) -> str:
    """Names how a silver row is computed from its bronze row: the text-engine settings
    and `code`, the version of the code silver uses (storage/code_digest.py). Rows added
    under equal engine inputs can be appended to a slice built under them."""
    described = json.dumps(
        {
            "language": settings_fingerprint(config.language()),
            "language_user_turns": config.language_user_turns,
            "pii": settings_fingerprint(config.pii()),
            "transforms": code,
        },
        sort_keys=True,
    )
    return settings_digest(described)


def plan_slice(
    lake: Lake, table: SilverTable, dataset: str, settings: str, force: bool
) -> tuple[BuildPlan, dict | None]:
    """The build plan of one dataset's slice of `table` (storage/build_plan.py) and the
    slice's last commit it was decided from."""
    source = bronze_key(dataset)
    if lake.table(source) is None:
        raise RuntimeError(f"bronze/{dataset} does not exist yet: materialize it first")
    previous = lake.last_slice_commit(table.key, {"dataset": dataset})
    plan = plan_build(
        lake,
        previous,
        settings,
        [source],
        force=force,
        required=(*SLICE_COUNTS, MERGED),
        interrupted=lambda: any(
            lake.increment_interrupted(k, table.key, previous)  # type: ignore[arg-type]
            for k in (PII_AUDIT, QUARANTINE)
        ),
    )
    return plan, previous


@dataclass(frozen=True)
class SliceJob:
    """One dataset's slice of a silver table: what is built, from what, reporting where.
    `whole_splits`: the shape must see each split in one frame."""

    lake: Lake
    config: SilverConfig
    table: SilverTable
    spec: DatasetSpec
    shape: Shape
    log: SliceLog
    whole_splits: bool = False

    def build(self, plan: BuildPlan, previous: dict | None) -> SliceBuild:
        """Build the slice as `plan` (not unchanged) says: append what bronze gained, or,
        when that cannot be done (a new row displaces a kept one), or the plan says so,
        rebuild it whole."""
        name, dataset, log = "/".join(self.table.key), self.spec.key, self.log
        if plan.action == "append":
            increment = SliceIncrement(previous, plan.added[bronze_key(dataset)])  # type: ignore[arg-type]
            log.info(
                f"{name}/{dataset}: bronze gained {len(increment.files)} file(s): processing "
                "only their rows"
            )
            try:
                return write_slice(self, plan, increment)
            except KeptRowReplaced as reason:
                log.info(f"{name}/{dataset}: {reason}; rebuilding the slice whole")
                plan = plan.displaced(str(reason))
        else:
            log.info(f"{name}/{dataset}: {plan.reason}: building the slice whole")
        return write_slice(self, plan, None)


def bronze_frames(
    lake: Lake,
    dataset: str,
    plan: BuildPlan,
    increment: SliceIncrement | None,
    batch_rows: int,
    whole_splits: bool,
) -> Iterator[pl.DataFrame]:
    """The bronze rows a slice build reads: the table at the plan's version, or the rows of
    the files an increment adds; in frames of at most `batch_rows` rows, or, with
    `whole_splits`, one frame per split holding all of that split's rows read."""
    source = bronze_key(dataset)
    version = plan.versions[source]

    def read(batch: int, **kwargs) -> Iterator[pl.DataFrame]:
        if increment is not None:
            return lake.read_added(source, increment.files, batch, **kwargs)
        return lake.batches(source, batch, version=version, **kwargs)

    if not whole_splits:
        yield from read(batch_rows)
        return
    found = [frame["split"] for frame in read(batch_rows, columns=["split"])]
    splits = pl.concat(found).unique().sort().to_list() if found else []
    for split in splits:
        yield pl.concat(list(read(batch_rows, where={"split": split})))


def write_slice(job: SliceJob, plan: BuildPlan, increment: SliceIncrement | None) -> SliceBuild:
    """Pass 1 and pass 2 over the whole bronze table, or over the rows `increment` adds
    (appended to the slice, counts carried on from its last commit)."""
    lake, config, table, spec, shape, log = (
        job.lake,
        job.config,
        job.table,
        job.spec,
        job.shape,
        job.log,
    )
    name, dataset = "/".join(table.key), spec.key
    workers = config.worker_count()
    with tempfile.TemporaryDirectory(prefix="silver-spool-") as spool_dir:
        cleaned = CleanedSpool(Path(spool_dir), table.row_key)
        for bronze in bronze_frames(
            lake, dataset, plan, increment, config.batch_rows, job.whole_splits
        ):
            cleaned.add(bronze.height, shape(bronze))
            log.info(f"{name}/{dataset}: {cleaned.rows_in:,} bronze rows cleaned")
        if cleaned.batches == 0:  # an empty slice still has a schema
            cleaned.add(0, shape(pl.DataFrame(schema=bronze_schema(spec))))
        keys = cleaned.keys()
        if increment is None:
            survivors, dropped = duplicate_survivors(keys, table.row_key)
        else:
            survivors, dropped = survivors_beside_kept(lake, table, dataset, keys)
        duplicates = losers(keys, survivors, SOURCE_POSITION)
        rejected = cleaned.rejected
        quarantined = rejected.height
        merged = sum(cleaned.merged.values())
        if cleaned.rows_in != survivors.height + dropped + quarantined + merged:
            raise RuntimeError(
                f"{name}/{dataset}: {cleaned.rows_in} rows in, {survivors.height} out + "
                f"{dropped} duplicates + {quarantined} quarantined + {merged} merged"
            )
        base = Counter({k: increment.count(k) for k in SLICE_COUNTS} if increment else {})
        totals = base + Counter(
            rows_in=cleaned.rows_in,
            rows_out=survivors.height,
            dropped_duplicate=dropped,
            rows_quarantined=quarantined,
        )
        merged_totals = (increment.merged() if increment else Counter()) + cleaned.merged
        tally = SliceTally()

        def scrubbed_batches() -> Iterator[pl.DataFrame]:
            for index, rows in enumerate(cleaned.read(), start=1):
                kept = rows.join(duplicates, on=SOURCE_POSITION, how="anti", maintain_order="left")
                scrubbed = tally.add(*tag_and_scrub(log, config, lake, table, kept, workers))
                log.info(
                    f"{name}/{dataset}: batch {index}/{cleaned.batches} tagged and scrubbed "
                    f"({tally.rows:,} of {survivors.height:,} rows)"
                )
                yield scrubbed
            if tally.rows != survivors.height:
                raise RuntimeError(
                    f"{name}/{dataset}: {tally.rows} rows scrubbed, {survivors.height} expected"
                )

        tag = increment_tag(table.key, increment.previous) if increment else None

        def write_ledgers() -> None:
            # Before the table's commit, which is what marks the slice done.
            audit = tally.audit()
            quarantine = rejected.cast(dict(SILVER_QUARANTINE_SCHEMA))
            for key, rows in ((PII_AUDIT, audit), (QUARANTINE, quarantine)):
                ledger = write_ledger(lake, key, rows, name, dataset, tag)
                if ledger is not None:
                    log.ledger(key, name, dataset, rows.height, ledger)

        written = lake.write_batches(
            table.key,
            scrubbed_batches(),
            partition_by=["dataset"],
            replace={"dataset": dataset},
            commit_metadata={
                **plan.commit(),
                **{k: str(totals[k]) for k in SLICE_COUNTS},
                MERGED: json.dumps(dict(sorted(merged_totals.items())), separators=(",", ":")),
            },
            before_commit=write_ledgers,
            append=increment is not None,
        )
    return SliceBuild(
        appended=survivors.height if increment else None,
        totals=totals,
        merged=merged_totals,
        batches=cleaned.batches,
        counts=cleaned.counts,
        tally=tally,
        written=written,
    )


def survivors_beside_kept(
    lake: Lake, table: SilverTable, dataset: str, keys: pl.DataFrame
) -> tuple[pl.DataFrame, int]:
    """Which new rows (`keys`: id and source position) join a slice that keeps its rows,
    and how many are duplicates (transforms/survivors.py `new_survivors`). Raises
    KeptRowReplaced when a new row comes before the copy the slice keeps."""
    kept = (
        lake.scan(table.key)
        .filter(pl.col("dataset") == dataset)
        .select(table.row_key, *SOURCE_POSITION)
        .join(keys.lazy().select(table.row_key), on=table.row_key, how="semi")
        .collect()
    )
    return new_survivors(kept, keys, table.row_key)


def write_ledger(
    lake: Lake,
    key: Key,
    rows: pl.DataFrame,
    table: str,
    dataset: str,
    increment: dict[str, str] | None = None,
) -> TableWrite | None:
    """Replace the (table, dataset) slice of a shared ledger table; for an increment (its
    `increment_tag`), add the rows to the slice instead (nothing when it has none)."""
    if increment is not None and rows.is_empty():
        return None
    return lake.write_batches(
        key,
        [rows],
        partition_by=["table"],
        replace={"table": table, "dataset": dataset},
        commit_metadata=increment,
        append=increment is not None,
    )
