"""Silver: one clean, language-tagged, PII-scrubbed shape for conversations and comparisons."""

import hashlib
import json
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from dagster import (
    AssetDep,
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    AssetObservation,
    AssetSpec,
    AutomationCondition,
    DagsterLogManager,
    MaterializeResult,
    MetadataValue,
    StaticPartitionMapping,
    StaticPartitionsDefinition,
    asset,
)

from assets.markdown import bar_chart, preview_markdown
from storage.build_plan import BuildPlan, plan_build
from storage.code_digest import asset_code_digest
from storage.keys import (
    COMPARISONS,
    CONVERSATIONS,
    DIALOGUES,
    GOLD_TABLES,
    PII_AUDIT,
    QUARANTINE,
    TEXT_CACHE,
    gold_key,
)
from storage.lake import AddedFile, Lake, TableWrite, compact, increment_tag
from storage.silver_tables import (
    COMPARISONS_TABLE,
    DIALOGUES_TABLE,
    BatchConfig,
    SilverConfig,
    SilverTable,
)
from storage.text_cache import cached_engine_results
from transforms.bronze import bronze_schema
from transforms.catalogue import SHAPES, DatasetSpec
from transforms.pii import PiiSettings
from transforms.scrub import (
    AUDIT_SCHEMA,
    scrub_frame,
)
from transforms.silver import (
    COMPARISON_SHAPES,
    DIALOGUE_SHAPES,
    SOURCE_POSITION,
    clean_conversations,
    deduplicate_across_datasets,
    duplicate_survivors,
    language_agreement,
    user_text,
)
from transforms.silver_rows import SILVER_QUARANTINE_SCHEMA, Stage
from transforms.text_engines import (
    settings_fingerprint,
)

ledger_specs = [
    AssetSpec(
        key=list(PII_AUDIT),
        group_name="silver",
        deps=[AssetKey(list(DIALOGUES)), AssetKey(list(COMPARISONS))],
        kinds={"delta"},
        description=(
            "Where PII was found. Grain: one row per detected entity: table, row_key, "
            "dataset, field, turn_index, entity_type, start, end (offsets in the cleaned, "
            "unredacted text), score, recognizer. Never the matched value, so it holds no "
            "licensed text. Written by each silver table, replacing its own slice."
        ),
    ),
    AssetSpec(
        key=list(QUARANTINE),
        group_name="silver",
        deps=[AssetKey(list(DIALOGUES)), AssetKey(list(COMPARISONS))],
        kinds={"delta"},
        description=(
            "Bronze rows silver rejected. Grain: one row per rejected row: table, dataset, "
            "split, source_file, source_row, reason (the rule), detail and the raw payload. "
            "Payloads are unscrubbed source text under the source's licence: read access "
            "as for bronze."
        ),
    ),
    AssetSpec(
        key=list(TEXT_CACHE),
        group_name="silver",
        deps=[AssetKey(list(DIALOGUES)), AssetKey(list(COMPARISONS))],
        kinds={"delta"},
        description=(
            "Text-engine results by content. Grain: one row per (engine configuration, "
            "distinct text), keyed by sha256. Holds findings offsets and language labels, "
            "never text. A rerun on unchanged input analyses nothing. Licence: holds no "
            "source text."
        ),
    ),
    AssetSpec(
        key=["silver", "pii_review"],
        group_name="silver",
        deps=[AssetKey(list(k)) for k in (DIALOGUES, CONVERSATIONS, COMPARISONS)]
        + [AssetKey(list(gold_key(table))) for table in GOLD_TABLES],
        kinds={"delta"},
        description=(
            "What the blocking no_pii check's independent detector found in the tables it "
            "checks. Grain: one row per hit above its confidence threshold: table, row_key, "
            "dataset, field, turn_index, start, end, entity_type, confidence, rule, "
            "checked_version. Never the value, so it holds no licensed text (licence: none). "
            "Written by the no_pii checks."
        ),
    ),
]


def datasets_shaped_into(catalogue: dict[str, DatasetSpec], table: str) -> list[str]:
    """The datasets whose declared shape fills silver table `table` (dialogues or
    comparisons), in catalogue order: the partitions of that table."""
    return [key for key, spec in catalogue.items() if table in SHAPES[spec.shape]]


def bronze_deps(catalogue: dict[str, DatasetSpec], datasets: Sequence[str]) -> list[AssetDep]:
    """Each silver partition (a dataset) depends on every split of that dataset's bronze only."""
    return [
        AssetDep(
            AssetKey(["bronze", dataset]),
            partition_mapping=StaticPartitionMapping(
                {s: dataset for s in catalogue[dataset].splits}
            ),
        )
        for dataset in datasets
    ]


def silver_assets(catalogue: dict[str, DatasetSpec]) -> list:
    """Silver tables: per-dataset partitions for the heavy work, one deduplicated union."""
    rank = {key: i for i, key in enumerate(catalogue)}

    @asset(
        key=list(DIALOGUES),
        group_name="silver",
        partitions_def=StaticPartitionsDefinition(datasets_shaped_into(catalogue, "dialogues")),
        deps=bronze_deps(catalogue, datasets_shaped_into(catalogue, "dialogues")),
        kinds={"delta", "polars"},
        output_required=False,
        automation_condition=AutomationCondition.eager(),
    )
    def dialogues(
        context: AssetExecutionContext, config: SilverConfig, lake: Lake
    ) -> Iterator[MaterializeResult]:
        """SFT dialogues of one dataset (the partition), cleaned, tagged and scrubbed.

        Grain: one row per distinct dialogue within its dataset (conversation_id = hash of
        the cleaned messages, before PII redaction). Columns: messages
        list<struct<role, content>> with PII replaced by typed placeholders, lineage,
        source_id, lang/lang_prob, pii_count. This is where the text engines run, one
        batch of bronze rows at a time; a change to one dataset re-runs only its
        partition, and a partition whose inputs are unchanged writes nothing. Licence: MIT
        (both sources), in `license` / `license_class` on every row.
        """
        dataset = context.partition_key
        shape = DIALOGUE_SHAPES[catalogue[dataset].shape]
        yield from build_slice(
            context,
            config,
            lake,
            DIALOGUES_TABLE,
            catalogue[dataset],
            lambda bronze: clean_conversations(shape(bronze, catalogue[dataset])),
        )

    @asset(
        key=list(CONVERSATIONS),
        group_name="silver",
        deps=[AssetKey(list(DIALOGUES))],
        kinds={"delta", "polars"},
        automation_condition=AutomationCondition.eager(),
    )
    def conversations(
        context: AssetExecutionContext, config: BatchConfig, lake: Lake
    ) -> Iterator[MaterializeResult]:
        """Every SFT dialogue in one table, each exactly once across datasets.

        Grain: one row per distinct dialogue (conversation_id); a dialogue present in
        several datasets keeps the row of the first by catalogue order, then split, file
        and row: the same survivor on every run. Columns as silver/dialogues. Streamed in
        batches: the survivors are chosen from the ids alone. When silver/dialogues only
        gained rows since the last build, only those are read and the new survivors
        appended (rebuilt whole if one displaces a kept row); unchanged, nothing is
        written (a materialization with status "unchanged"). Licence: MIT, per row in
        `license` / `license_class`.
        """
        source = lake.table(DIALOGUES)
        if source is None:
            raise RuntimeError("silver/dialogues does not exist yet: materialize it first")
        union = lake.table(CONVERSATIONS)
        previous = union.history(1)[0] if union is not None else None
        plan = plan_build(lake, previous, union_settings(rank), [DIALOGUES], required=UNION_COUNTS)
        version = plan.versions[DIALOGUES]
        if plan.unchanged:
            # A materialization, not a skip: what follows in the same run (gold) must run
            # to judge its own inputs, which may have changed (silver/comparisons).
            context.log.info(f"silver/dialogues unchanged since version {version}")
            yield MaterializeResult(
                metadata={
                    "status": "unchanged",
                    "dialogues_version": version,
                    "delta_version": union.version() if union is not None else -1,
                    "new_version": False,
                    "path": MetadataValue.path(lake.uri(CONVERSATIONS)),
                }
            )
            return
        union_of = UnionOfDialogues(lake, plan, rank, config.batch_rows)
        written, totals = None, None
        if plan.action == "append":
            try:
                written, totals = union_of.append(previous, plan.added[DIALOGUES])  # type: ignore[arg-type]
            except KeptRowReplaced as reason:
                context.log.info(f"silver/conversations: {reason}; rebuilding the union whole")
        if written is None or totals is None:
            written, totals = union_of.rebuild()
        summary = lake.scan(CONVERSATIONS).select("dataset", "lang").collect()
        yield MaterializeResult(
            metadata={
                "status": "appended" if union_of.appended else "rebuilt",
                **totals,
                "rows_out": summary.height,
                "by_dataset": MetadataValue.json(dict(Counter(summary["dataset"].to_list()))),
                "languages": MetadataValue.md(bar_chart(Counter(summary["lang"].to_list()))),
                **write_metadata(written),
            }
        )

    @asset(
        key=list(COMPARISONS),
        group_name="silver",
        partitions_def=StaticPartitionsDefinition(datasets_shaped_into(catalogue, "comparisons")),
        deps=bronze_deps(catalogue, datasets_shaped_into(catalogue, "comparisons")),
        kinds={"delta", "polars"},
        output_required=False,
        automation_condition=AutomationCondition.eager(),
    )
    def comparisons(
        context: AssetExecutionContext, config: SilverConfig, lake: Lake
    ) -> Iterator[MaterializeResult]:
        """Judged responses: UltraFeedback prompts with their rated completions, and Arena
        and MT-bench pairwise votes; one dataset per partition.

        Grain: one row per UltraFeedback prompt (all completions and ratings kept, so any
        binarization policy can run in gold), and one row per Arena / MT-bench vote (both
        dialogues up to the judged turn, prompt = messages before the judged reply,
        response_a/response_b = the judged replies). Arena's language label, moderation and
        toxicity flags are kept as columns. Licence per row (`license`) and per field
        (`prompt_license`, `response_license`): Arena prompts are CC-BY-4.0, its model
        outputs CC-BY-NC-4.0; UltraFeedback MIT; MT-bench CC-BY-4.0.
        """
        spec = catalogue[context.partition_key]
        shape = COMPARISON_SHAPES[spec.shape]
        yield from build_slice(
            context, config, lake, COMPARISONS_TABLE, spec, lambda bronze: shape(bronze, spec)
        )

    return [dialogues, conversations, comparisons, *ledger_specs]


def build_slice(
    context: AssetExecutionContext,
    config: SilverConfig,
    lake: Lake,
    table: SilverTable,
    spec: DatasetSpec,
    shape: Callable[[pl.DataFrame], Stage],
) -> Iterator[MaterializeResult]:
    """Build one dataset's slice of a silver table from its bronze table, in batches.

    Pass 1 shapes and cleans each batch of bronze rows and spools the result to local
    disk, keeping only ids and source positions in memory; the duplicate survivors are
    then chosen over the whole dataset. Pass 2 runs language and PII on each spooled
    batch and streams the scrubbed rows into one atomic write. The ledger slices are
    written first and the table's commit records its inputs, so a slice whose inputs are
    unchanged is skipped (an observation, not a materialization) and a run stopped
    half-way is redone in full.

    When bronze only gained rows since the slice was built (a new source file) and the
    settings and transforms are the same, only those rows are processed and appended
    (the build plan, storage/build_plan.py); if one of them would replace a row the slice
    keeps (an earlier copy of a kept dialogue), the slice is rebuilt whole instead.
    """
    name = "/".join(table.key)
    dataset = spec.key
    bronze_key = ("bronze", dataset)
    if lake.table(bronze_key) is None:
        raise RuntimeError(f"bronze/{dataset} does not exist yet: materialize it first")
    previous = lake.last_slice_commit(table.key, {"dataset": dataset})
    plan = plan_build(
        lake,
        previous,
        engine_inputs(config),
        [bronze_key],
        force=config.force,
        required=SLICE_COUNTS,
        interrupted=lambda: any(
            lake.increment_interrupted(k, table.key, previous)  # type: ignore[arg-type]
            for k in (PII_AUDIT, QUARANTINE)
        ),
    )
    bronze_version = plan.versions[bronze_key]
    if plan.unchanged:
        context.log.info(f"{name}/{dataset}: bronze, settings and transforms unchanged")
        context.log_event(
            AssetObservation(
                asset_key=list(table.key),
                partition=dataset,
                metadata={
                    "status": "unchanged",
                    "bronze_version": bronze_version,
                    "path": lake.uri(table.key),
                },
            )
        )
        return
    if plan.action == "append":
        increment = SliceIncrement(previous, plan.added[bronze_key])  # type: ignore[arg-type]
        context.log.info(
            f"{name}/{dataset}: bronze gained {len(increment.files)} file(s): processing only "
            "their rows"
        )
        try:
            yield write_slice(context, config, lake, table, spec, shape, plan, increment)
            return
        except KeptRowReplaced as reason:
            context.log.info(f"{name}/{dataset}: {reason}; rebuilding the slice whole")
            plan = plan.displaced(str(reason))
    else:
        context.log.info(f"{name}/{dataset}: {plan.reason}: building the slice whole")
    yield write_slice(context, config, lake, table, spec, shape, plan, None)


@dataclass(frozen=True)
class SliceIncrement:
    """Rows to add to a silver slice: its last commit and the bronze files added since."""

    previous: dict
    files: list[AddedFile]

    def count(self, name: str) -> int:
        return int(self.previous[name])


class KeptRowReplaced(Exception):
    """A new bronze row is an earlier copy of a row the slice keeps: appending cannot
    express that, the slice must be rebuilt."""


SLICE_COUNTS = ("rows_in", "rows_out", "dropped_duplicate", "rows_quarantined")


def write_slice(
    context: AssetExecutionContext,
    config: SilverConfig,
    lake: Lake,
    table: SilverTable,
    spec: DatasetSpec,
    shape: Callable[[pl.DataFrame], Stage],
    plan: BuildPlan,
    increment: SliceIncrement | None,
) -> MaterializeResult:
    """Pass 1 and pass 2 over the whole bronze table, or over the rows `increment` adds
    (appended to the slice, counts carried on from its last commit)."""
    name = "/".join(table.key)
    dataset = spec.key
    bronze_key = ("bronze", dataset)
    workers = config.worker_count()
    with tempfile.TemporaryDirectory(prefix="silver-spool-") as spool_dir:
        cleaned = CleanedSpool(Path(spool_dir), table.row_key)
        bronze_rows = (
            lake.read_added(bronze_key, increment.files, config.batch_rows)
            if increment
            else lake.batches(bronze_key, config.batch_rows, version=plan.versions[bronze_key])
        )
        for bronze in bronze_rows:
            cleaned.add(bronze.height, shape(bronze))
            context.log.info(f"{name}/{dataset}: {cleaned.rows_in:,} bronze rows cleaned")
        if cleaned.batches == 0:  # an empty slice still has a schema
            cleaned.add(0, shape(pl.DataFrame(schema=bronze_schema(spec))))
        keys = cleaned.keys()
        if increment is None:
            survivors, dropped = duplicate_survivors(keys, table.row_key)
        else:
            survivors, dropped = survivors_beside_kept(lake, table, dataset, keys)
        duplicates = keys.select(SOURCE_POSITION).join(
            survivors.select(SOURCE_POSITION), on=SOURCE_POSITION, how="anti"
        )
        rejected = cleaned.rejected
        quarantined = rejected.height
        if cleaned.rows_in != survivors.height + dropped + quarantined:
            raise RuntimeError(
                f"{name}/{dataset}: {cleaned.rows_in} rows in, {survivors.height} out + "
                f"{dropped} duplicates + {quarantined} quarantined"
            )
        base = Counter({k: increment.count(k) for k in SLICE_COUNTS} if increment else {})
        totals = base + Counter(
            rows_in=cleaned.rows_in,
            rows_out=survivors.height,
            dropped_duplicate=dropped,
            rows_quarantined=quarantined,
        )
        tally = SliceTally()

        def scrubbed_batches() -> Iterator[pl.DataFrame]:
            for index, rows in enumerate(cleaned.read(), start=1):
                kept = rows.join(duplicates, on=SOURCE_POSITION, how="anti", maintain_order="left")
                scrubbed = tally.add(
                    *tag_and_scrub(context.log, config, lake, table, kept, workers)
                )
                context.log.info(
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
            log_ledger(context, lake, PII_AUDIT, tally.audit(), name, dataset, tag)
            quarantine = rejected.cast(dict(SILVER_QUARANTINE_SCHEMA))
            log_ledger(context, lake, QUARANTINE, quarantine, name, dataset, tag)

        written = lake.write_batches(
            table.key,
            scrubbed_batches(),
            partition_by=["dataset"],
            replace={"dataset": dataset},
            commit_metadata={
                **plan.commit(),
                **{k: str(totals[k]) for k in SLICE_COUNTS},
            },
            before_commit=write_ledgers,
            append=increment is not None,
        )

    return MaterializeResult(
        metadata={
            # Counts describe the whole slice; engine, language and PII figures the rows
            # processed in this run (all of them, or those appended).
            "status": "appended" if increment else "rebuilt",
            **({"rows_appended": survivors.height} if increment else {}),
            **{k: totals[k] for k in SLICE_COUNTS},
            "reconciled": (
                f"{totals['rows_in']} in = {totals['rows_out']} out + "
                f"{totals['dropped_duplicate']} duplicates + "
                f"{totals['rows_quarantined']} quarantined"
            ),
            "batches": cleaned.batches,
            **{k: v for k, v in sorted(cleaned.counts.items()) if v},
            **{
                k: round(v, 2) if isinstance(v, float) else v
                for k, v in sorted(tally.engine_stats.items())
            },
            "pii_found": tally.audit_rows,
            **{f"pii_{t.lower()}": n for t, n in sorted(tally.entities.items())},
            "languages": MetadataValue.md(bar_chart(tally.languages)),
            **tally.agreement(),
            **write_metadata(written),
            "preview": MetadataValue.md(
                preview_markdown(
                    tally.preview.select(
                        table.row_key, "dataset", "lang", "pii_count", table.language_column
                    )
                )
            ),
        }
    )


def survivors_beside_kept(
    lake: Lake, table: SilverTable, dataset: str, keys: pl.DataFrame
) -> tuple[pl.DataFrame, int]:
    """Which new rows (`keys`: id and source position) join a slice that keeps its rows:
    the first of each new id, and none whose id the slice already holds (a later copy of
    a kept row is a duplicate). Raises KeptRowReplaced when a new row comes before the
    copy the slice keeps, which would change the survivor."""
    kept = (
        lake.scan(table.key)
        .filter(pl.col("dataset") == dataset)
        .select(table.row_key, *SOURCE_POSITION)
        .join(keys.lazy().select(table.row_key), on=table.row_key, how="semi")
        .collect()
    )
    survivors, _ = duplicate_survivors(pl.concat([kept, keys.select(kept.columns)]), table.row_key)
    still_kept = survivors.join(kept, on=SOURCE_POSITION, how="semi").height
    if still_kept != kept.height:
        raise KeptRowReplaced(
            f"{kept.height - still_kept} new row(s) come before a copy the slice keeps"
        )
    new = survivors.join(kept, on=SOURCE_POSITION, how="anti")
    return new, keys.height - new.height


UNION_COUNTS = ("rows_in", "dropped_duplicate_across_datasets")
UNION_POSITION = ["dataset", *SOURCE_POSITION]


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
        self.appended = False

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
        losers = keys.select(UNION_POSITION).join(
            survivors.select(UNION_POSITION), on=UNION_POSITION, how="anti"
        )
        schema = self.lake.scan(DIALOGUES, version=self.version).collect_schema()

        def surviving_rows() -> Iterator[pl.DataFrame]:
            yield pl.DataFrame(schema=schema)
            for batch in batches:
                yield batch.join(losers, on=UNION_POSITION, how="anti", maintain_order="left")

        totals = base + Counter(
            rows_in=keys.height, dropped_duplicate_across_datasets=losers.height
        )
        written = self.lake.write_batches(
            CONVERSATIONS,
            surviving_rows(),
            commit_metadata={
                **self.plan.commit(),
                **{k: str(totals[k]) for k in UNION_COUNTS},
            },
            append=append,
        )
        self.appended = append
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
        the union's last build (its commit `previous`)."""
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
        survivors, _ = deduplicate_across_datasets(pl.concat([kept, keys]), self.rank)
        if survivors.join(kept, on=UNION_POSITION, how="semi").height != kept.height:
            raise KeptRowReplaced("a new dialogue comes before a copy the union keeps")
        survivors = survivors.join(kept, on=UNION_POSITION, how="anti")
        batches = self.lake.read_added(DIALOGUES, files, self.batch_rows)
        base = Counter({k: int(previous[k]) for k in UNION_COUNTS})
        return self._write(keys, survivors, batches, base, append=True)


def tag_and_scrub(
    log: DagsterLogManager,
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


class CleanedSpool:
    """Pass 1 of a silver slice: cleaned batches on local disk; their ids and source
    positions, rejected rows and rule counts in memory."""

    def __init__(self, directory: Path, row_key: str) -> None:
        self.directory = directory
        self.row_key = row_key
        self.rows_in = 0
        self.batches = 0
        self.counts: Counter[str] = Counter()
        self._keys: list[pl.DataFrame] = []
        self._rejected: list[pl.DataFrame] = []

    def add(self, rows_in: int, stage: Stage) -> None:
        stage.rows.write_ipc(self.directory / f"cleaned-{self.batches:06d}.arrow")
        self.batches += 1
        self.rows_in += rows_in
        self.counts.update(stage.counts)
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


def union_settings(rank: dict[str, int]) -> str:
    """What decides the union's rows besides silver/dialogues: the catalogue order (the
    survivor of a copy across datasets) and the code of silver's transforms."""
    described = json.dumps({"rank": rank, "transforms": asset_code_digest(__file__)})
    return hashlib.sha256(described.encode("utf-8")).hexdigest()[:32]


def engine_inputs(config: SilverConfig) -> str:
    """Names how a silver row is computed from its bronze row: the text-engine settings
    and the code of the transforms silver uses (storage/code_digest.py). Rows added under
    equal engine inputs can be appended to a slice built under them."""
    described = json.dumps(
        {
            "language": settings_fingerprint(config.language()),
            "language_user_turns": config.language_user_turns,
            "pii": settings_fingerprint(config.pii()),
            "transforms": asset_code_digest(__file__),
        },
        sort_keys=True,
    )
    return hashlib.sha256(described.encode("utf-8")).hexdigest()[:32]


def write_metadata(written: TableWrite) -> dict:
    return {
        "delta_version": written.version,
        "new_version": written.committed,
        "path": MetadataValue.path(written.uri),
    }


def log_ledger(
    context: AssetExecutionContext,
    lake: Lake,
    key: tuple[str, str],
    rows: pl.DataFrame,
    table: str,
    dataset: str,
    increment: dict[str, str] | None = None,
) -> None:
    """Replace the (table, dataset) slice of a shared ledger table and report it in the UI;
    for an increment (its `increment_tag`), add the rows to the slice instead."""
    if increment is not None and rows.is_empty():
        return
    written = lake.write_batches(
        key,
        [rows],
        partition_by=["table"],
        replace={"table": table, "dataset": dataset},
        commit_metadata=increment,
        append=increment is not None,
    )
    context.log_event(
        AssetMaterialization(
            asset_key=list(key),
            description=f"slice written by {table} for {dataset}",
            metadata={
                "table": table,
                "dataset": dataset,
                "rows": rows.height,
                **write_metadata(written),
            },
        )
    )
