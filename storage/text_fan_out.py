"""One dataset's text-engine work spread over hash buckets of its rows (silver/text_cache).

The language and PII engines are most of a silver slice's time. A dataset that declares
`buckets: N` in the catalogue has that work done first by N independent steps (run
workers, or pods with a step-per-pod executor): step k reads the dataset's bronze rows from
the lake, keeps the rows of bucket k (transforms/buckets.py), shapes and cleans them as
the slice will, and runs the same engine calls the slice runs (`tag_and_scrub`), so each
result lands in the content-keyed text cache. The slice is then built as ever and finds
every text analysed: what it holds does not depend on the buckets, their number or the
order the steps ran in, because the cache is keyed by engine settings and text.

Each step reads what the slice will read next: nothing when the slice is unchanged, the
bronze files an increment adds, or the whole table for a rebuild (the slice's build plan,
storage/build_plan.py). Nothing here knows about Dagster.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import polars as pl

from storage.keys import bronze_key
from storage.lake import Lake
from storage.silver_slice import SliceIncrement, bronze_frames, engine_inputs, plan_slice
from storage.silver_spool import tag_and_scrub
from storage.silver_tables import COMPARISONS_TABLE, DIALOGUES_TABLE, SilverConfig, SilverTable
from storage.text_cache import Log
from transforms.buckets import rows_in_bucket
from transforms.catalogue import SHAPES, DatasetSpec
from transforms.silver import WHOLE_SPLIT_SHAPES, slice_shape
from transforms.survivors import SOURCE_POSITION

SILVER_TABLES = {"dialogues": DIALOGUES_TABLE, "comparisons": COMPARISONS_TABLE}


@dataclass(frozen=True)
class BucketWork:
    """What one bucket's step did for one silver table of its dataset."""

    table: str
    plan: str
    """The slice's build plan the step followed: unchanged, append or rebuild."""
    rows: int
    """Shaped rows of the bucket whose texts went through the engines."""
    seconds: float
    stats: dict[str, float]
    """Texts each engine analysed or found in the cache, and its seconds."""


def slice_tables(spec: DatasetSpec) -> list[tuple[str, SilverTable]]:
    """The silver tables `spec`'s shape fills, by name."""
    return [(name, SILVER_TABLES[name]) for name in SHAPES[spec.shape]]


def analyse_bucket(
    lake: Lake, config: SilverConfig, spec: DatasetSpec, bucket: int, code: str, log: Log
) -> list[BucketWork]:
    """Run the text engines on the rows of `bucket` (of `spec.buckets`) that each of the
    dataset's silver slices will process next, adding the results to the text cache.
    `code`: silver's code version, part of the slices' build plans."""
    settings = engine_inputs(config, code)
    done = []
    for name, table in slice_tables(spec):
        started = time.monotonic()
        plan, previous = plan_slice(lake, table, spec.key, settings, config.force)
        if plan.unchanged:
            done.append(BucketWork(name, plan.action, 0, 0.0, {}))
            continue
        increment = (
            SliceIncrement(previous, plan.added[bronze_key(spec.key)])  # type: ignore[arg-type]
            if plan.action == "append"
            else None
        )
        frames = bronze_frames(
            lake, spec.key, plan, increment, config.batch_rows, spec.shape in WHOLE_SPLIT_SHAPES
        )
        rows, stats = 0, Counter[str]()
        for batch in rebatch(bucket_rows(frames, spec, name, table, bucket), config.batch_rows):
            _, _, found = tag_and_scrub(log, config, lake, table, batch, config.worker_count())
            stats.update(found)
            rows += batch.height
            log.info(f"{name}/{spec.key} bucket {bucket}: {rows:,} rows analysed")
        done.append(
            BucketWork(name, plan.action, rows, round(time.monotonic() - started, 3), dict(stats))
        )
    return done


def bucket_rows(
    frames: Iterable[pl.DataFrame], spec: DatasetSpec, name: str, table: SilverTable, bucket: int
) -> Iterator[pl.DataFrame]:
    """The shaped, cleaned rows of `bucket` from bronze `frames`. Rows are bucketed by
    their source position before shaping, so a step shapes only its own share; a shape
    that reads whole splits (message trees) is shaped whole and bucketed by row key."""
    shape = slice_shape(name, spec)
    for frame in frames:
        if spec.shape in WHOLE_SPLIT_SHAPES:
            yield rows_in_bucket(shape(frame).rows, [table.row_key], bucket, spec.buckets)
        else:
            yield shape(rows_in_bucket(frame, SOURCE_POSITION, bucket, spec.buckets)).rows


def rebatch(frames: Iterable[pl.DataFrame], rows: int) -> Iterator[pl.DataFrame]:
    """`frames` regrouped into frames of `rows` rows (the last may be shorter), so that a
    bucket's share of many bronze batches meets the engines and the cache in full ones."""
    pending: list[pl.DataFrame] = []
    held = 0
    for frame in frames:
        if frame.is_empty():
            continue
        pending.append(frame)
        held += frame.height
        while held >= rows:
            merged = pl.concat(pending, how="vertical_relaxed")
            yield merged.head(rows)
            rest = merged.slice(rows)
            pending, held = ([rest] if rest.height else []), rest.height
    if held:
        yield pl.concat(pending, how="vertical_relaxed")
