"""The two passes of a silver slice (storage/silver_slice.py): pass 1 spools the cleaned
batches to local disk, pass 2 tags and scrubs each spooled batch and tallies what it
found. Nothing here knows about Dagster: progress goes to a `Log`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from storage.lake import Lake, compact
from storage.silver_tables import SilverConfig, SilverTable
from storage.text_cache import Log, cached_engine_results
from transforms.pii import PiiSettings
from transforms.scrub import AUDIT_SCHEMA, scrub_frame
from transforms.silver import language_agreement, user_text
from transforms.silver_rows import Stage
from transforms.survivors import SOURCE_POSITION


class CleanedSpool:
    """Pass 1 of a silver slice: cleaned batches on local disk; their ids and source
    positions, rejected rows, rule counts and merged rows in memory."""

    def __init__(self, directory: Path, row_key: str) -> None:
        self.directory = directory
        self.row_key = row_key
        self.rows_in = 0
        self.batches = 0
        self.counts: Counter[str] = Counter()
        self.merged: Counter[str] = Counter()
        self._keys: list[pl.DataFrame] = []
        self._rejected: list[pl.DataFrame] = []

    def add(self, rows_in: int, stage: Stage) -> None:
        stage.rows.write_ipc(self.directory / f"cleaned-{self.batches:06d}.arrow")
        self.batches += 1
        self.rows_in += rows_in
        self.counts.update(stage.counts)
        self.merged.update(stage.merged)
        self._keys.append(stage.rows.select(self.row_key, *SOURCE_POSITION))
        self._rejected.append(stage.rejected)

    def keys(self) -> pl.DataFrame:
        return pl.concat(self._keys)

    @property
    def rejected(self) -> pl.DataFrame:
        return pl.concat(self._rejected)

    def read(self) -> Iterator[pl.DataFrame]:
        for index in range(self.batches):
            yield pl.read_ipc(self.directory / f"cleaned-{index:06d}.arrow")


class SliceTally:
    """Pass 2 of a silver slice: what its scrubbed batches add up to, for the metadata."""

    def __init__(self) -> None:
        self.rows = 0
        self.audit_rows = 0
        self.entities: Counter[str] = Counter()
        self.languages: Counter[str] = Counter()
        self.engine_stats: Counter[str] = Counter()  # texts analysed / reused, seconds
        self.preview = pl.DataFrame()
        self._audits: list[pl.DataFrame] = []
        self._agreeing = 0.0
        self._compared = 0

    def add(
        self, scrubbed: pl.DataFrame, audit: pl.DataFrame, engine_stats: dict[str, float]
    ) -> pl.DataFrame:
        self.rows += scrubbed.height
        self.audit_rows += audit.height
        self._audits.append(audit)
        self.entities.update(audit["entity_type"].to_list())
        self.languages.update(scrubbed["lang"].to_list())
        self.engine_stats.update(engine_stats)
        if self.preview.is_empty():
            self.preview = compact(scrubbed.head(5))
        if "source_language" in scrubbed.columns:
            rate, compared = language_agreement(
                scrubbed.filter(pl.col("source_language").is_not_null())
            )
            self._agreeing += (rate or 0.0) * compared
            self._compared += compared
        return scrubbed

    def audit(self) -> pl.DataFrame:
        return pl.concat(self._audits) if self._audits else pl.DataFrame(schema=AUDIT_SCHEMA)

    def agreement(self) -> dict[str, float | int]:
        """For tables with a source language label (Arena): how often it agrees with ours."""
        if not self._compared:
            return {}
        return {
            "arena_language_agreement": round(self._agreeing / self._compared, 4),
            "arena_language_compared": self._compared,
        }


def tag_and_scrub(
    log: Log,
    config: SilverConfig,
    lake: Lake,
    table: SilverTable,
    rows: pl.DataFrame,
    workers: int,
) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, float]]:
    """Language and PII for one batch of cleaned rows: scrubbed rows, audit rows, and
    how many texts each engine analysed or reused from the cache."""
    language_texts = rows.select(
        user_text(table.language_column, config.language_user_turns, config.language_max_chars)
    ).to_series()
    languages, language_stats = cached_engine_results(
        log, lake, language_texts.unique(maintain_order=True), config.language(), workers
    )
    tagged = (
        rows.with_columns(__lang_text=language_texts)
        .join(languages.rename({"text": "__lang_text"}), on="__lang_text", how="left")
        .drop("__lang_text")
    )
    pii_stats: Counter[str] = Counter()

    def analyse(texts: pl.Series, settings: PiiSettings) -> pl.DataFrame:
        results, stats = cached_engine_results(log, lake, texts, settings, workers)
        pii_stats.update(stats)
        return results

    scrubbed, audit = scrub_frame(
        tagged,
        table.fields,
        config.pii(),
        analyse,
        table="/".join(table.key),
        row_key=table.row_key,
    )
    return scrubbed, audit, {**language_stats, **pii_stats}
