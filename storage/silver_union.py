"""silver/conversations: every dialogue of silver/dialogues exactly once across datasets,
the first copy by catalogue order, then split, file and row. Streamed in batches: the
survivors are chosen from the ids alone. Nothing here knows about Dagster."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import polars as pl

from storage.build_plan import BuildPlan, plan_build
from storage.code_digest import settings_digest
from storage.keys import CONVERSATIONS, DIALOGUES
from storage.lake import AddedFile, Lake, TableWrite
from storage.text_cache import Log
from transforms.survivors import (
    UNION_POSITION,
    KeptRowReplaced,
    deduplicate_across_datasets,
    losers,
    new_union_survivors,
)

UNION_COUNTS = ("rows_in", "dropped_duplicate_across_datasets")
"""Running counts of the union, in its commit metadata (an append continues from them)."""


def union_settings(rank: dict[str, int], code: str) -> str:
    """What decides the union's rows besides silver/dialogues: the catalogue order (the
    survivor of a copy across datasets) and `code`, the version of silver's code."""
    described = json.dumps({"rank": rank, "transforms": code})
    return settings_digest(described)


def plan_union(lake: Lake, rank: dict[str, int], code: str) -> tuple[BuildPlan, dict | None]:
    """The build plan of the union (storage/build_plan.py) and its last commit it was
    decided from; `code`: the version of silver's code."""
    if lake.table(DIALOGUES) is None:
        raise RuntimeError("silver/dialogues does not exist yet: materialize it first")
    union = lake.table(CONVERSATIONS)
    previous = union.history(1)[0] if union is not None else None
    settings = union_settings(rank, code)
    return plan_build(lake, previous, settings, [DIALOGUES], required=UNION_COUNTS), previous


@dataclass(frozen=True)
class UnionBuild:
    """What one build of the union wrote: its write, its running counts, and whether it
    appended (else rebuilt the table whole)."""

    written: TableWrite
    totals: dict[str, int]
    appended: bool


def build_union(
    lake: Lake,
    plan: BuildPlan,
    previous: dict | None,
    rank: dict[str, int],
    batch_rows: int,
    log: Log,
) -> UnionBuild:
    """Write the union as `plan` (not unchanged) says: append the survivors among the
    dialogues added, or, when a new one displaces a kept copy or the plan says so, rebuild
    it whole."""
    union = UnionOfDialogues(lake, plan, rank, batch_rows)
    if plan.action == "append":
        try:
            written, totals = union.append(previous, plan.added[DIALOGUES])  # type: ignore[arg-type]
            return UnionBuild(written, totals, appended=True)
        except KeptRowReplaced as reason:
            log.info(f"silver/conversations: {reason}; rebuilding the union whole")
    written, totals = union.rebuild()
    return UnionBuild(written, totals, appended=False)


class UnionOfDialogues:
    """Writes silver/conversations from silver/dialogues at the version `plan` read: whole,
    or by appending the survivors among the dialogues added since the union was last
    built."""

    def __init__(self, lake: Lake, plan: BuildPlan, rank: dict[str, int], batch_rows: int) -> None:
        self.lake = lake
        self.plan = plan
        self.version = plan.versions[DIALOGUES]
        self.rank = rank
        self.batch_rows = batch_rows

    def _write(
        self,
        keys: pl.DataFrame,
        survivors: pl.DataFrame,
        batches: Iterator[pl.DataFrame],
        base: Counter[str],
        append: bool,
    ) -> tuple[TableWrite, dict[str, int]]:
        # The few rows that lose to a copy in another dataset: an anti-join against them
        # per batch is far lighter than a semi-join against every survivor.
        lost = losers(keys, survivors, UNION_POSITION)
        schema = self.lake.scan(DIALOGUES, version=self.version).collect_schema()

        def surviving_rows() -> Iterator[pl.DataFrame]:
            yield pl.DataFrame(schema=schema)
            for batch in batches:
                yield batch.join(lost, on=UNION_POSITION, how="anti", maintain_order="left")

        totals = base + Counter(rows_in=keys.height, dropped_duplicate_across_datasets=lost.height)
        written = self.lake.write_batches(
            CONVERSATIONS,
            surviving_rows(),
            commit_metadata={
                **self.plan.commit(),
                **{k: str(totals[k]) for k in UNION_COUNTS},
            },
            append=append,
        )
        return written, {k: totals[k] for k in UNION_COUNTS}

    def rebuild(self) -> tuple[TableWrite, dict[str, int]]:
        keys = (
            self.lake.scan(DIALOGUES, version=self.version)
            .select("conversation_id", *UNION_POSITION)
            .collect()
        )
        survivors, _ = deduplicate_across_datasets(keys, self.rank)
        batches = self.lake.batches(DIALOGUES, self.batch_rows, version=self.version)
        return self._write(keys, survivors, batches, Counter(), append=False)

    def append(self, previous: dict, files: list[AddedFile]) -> tuple[TableWrite, dict[str, int]]:
        """Append the survivors among the rows of `files`, what the dialogues gained since
        the union's last build (its commit `previous`). Raises KeptRowReplaced when a new
        dialogue comes before a copy the union keeps."""
        columns = ["conversation_id", *UNION_POSITION]
        keys = pl.concat(
            [
                self.lake.scan(DIALOGUES).select(columns).head(0).collect(),
                *self.lake.read_added(DIALOGUES, files, self.batch_rows, columns=columns),
            ]
        )
        kept = (
            self.lake.scan(CONVERSATIONS)
            .select(columns)
            .join(keys.lazy().select("conversation_id"), on="conversation_id", how="semi")
            .collect()
        )
        survivors = new_union_survivors(kept, keys, self.rank)
        batches = self.lake.read_added(DIALOGUES, files, self.batch_rows)
        base = Counter({k: int(previous[k]) for k in UNION_COUNTS})
        return self._write(keys, survivors, batches, base, append=True)
