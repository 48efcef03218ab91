"""Silver: one clean, language-tagged, PII-scrubbed shape for conversations and comparisons.

The assets read and report; the build itself is in storage (silver_slice: one dataset's
slice in two passes over bounded batches, with its ledger rows; silver_union: the
cross-dataset union) and its rules in transforms.
"""

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import dagster as dg

from assets.markdown import bar_chart, preview_markdown
from assets.silver_plan import bronze_input_mapping, fanned_out, silver_code
from storage import silver_slice, silver_union
from storage.keys import (
    COMPARISONS,
    CONVERSATIONS,
    DIALOGUES,
    GOLD_TABLES,
    PII_AUDIT,
    PII_REVIEW_CACHE,
    QUARANTINE,
    TEXT_CACHE,
    Key,
    gold_key,
)
from storage.lake import Lake, TableWrite
from storage.silver_tables import (
    COMPARISONS_TABLE,
    DIALOGUES_TABLE,
    BatchConfig,
    SilverConfig,
    SilverTable,
)
from transforms.catalogue import SHAPES, DatasetSpec
from transforms.silver import WHOLE_SPLIT_SHAPES, slice_shape


def ledger_spec(
    key: Sequence[str], writers: Sequence[Sequence[str]], description: str
) -> dg.AssetSpec:
    """A side table silver writes beside its tables: downstream of its writers in lineage."""
    return dg.AssetSpec(
        key=list(key),
        group_name="silver",
        deps=[dg.AssetKey(list(writer)) for writer in writers],
        kinds={"delta"},
        description=description,
    )


ledger_specs = [
    ledger_spec(
        PII_AUDIT,
        [DIALOGUES, COMPARISONS],
        "Where PII was found. Grain: one row per detected entity: table, row_key, "
        "dataset, field, turn_index, entity_type, start, end (offsets in the cleaned, "
        "unredacted text), score, recognizer. Never the matched value, so it holds no "
        "licensed text. Written by each silver table, replacing its own slice.",
    ),
    ledger_spec(
        QUARANTINE,
        [DIALOGUES, COMPARISONS],
        "Bronze rows silver rejected. Grain: one row per rejected row: table, dataset, "
        "split, source_file, source_row, reason (the rule), detail and the raw payload. "
        "Payloads are unscrubbed source text under the source's licence: read access "
        "as for bronze.",
    ),
    ledger_spec(
        ("silver", "pii_review"),
        [DIALOGUES, CONVERSATIONS, COMPARISONS, *(gold_key(table) for table in GOLD_TABLES)],
        "What the blocking no_pii check's independent detector found in the tables it "
        "checks. Grain: one row per hit above its confidence threshold: table, row_key, "
        "dataset, field, turn_index, start, end, entity_type, confidence, rule, "
        "checked_version. Never the value, so it holds no licensed text (licence: none). "
        "Written by the no_pii checks.",
    ),
    ledger_spec(
        PII_REVIEW_CACHE,
        [DIALOGUES, CONVERSATIONS, COMPARISONS, *(gold_key(table) for table in GOLD_TABLES)],
        "The no_pii review's hits by content, so that a text several tables hold is read "
        "by its rules once. Grain: one row per (review rules, distinct text the rules "
        "read), keyed by 128 bits of sha256: the hits' types, offsets, confidences and "
        "rules, never text (licence: none). Shares nothing with silver/text_cache. "
        "Written by the no_pii checks.",
    ),
]


TEXT_CACHE_LEDGER = ledger_spec(
    TEXT_CACHE,
    [DIALOGUES, COMPARISONS],
    "Text-engine results by content. Grain: one row per (engine configuration, "
    "distinct text), keyed by 128 bits of sha256. Holds findings offsets and language labels, "
    "never text. A rerun on unchanged input analyses nothing. Licence: holds no "
    "source text.",
)
"""silver/text_cache as a side table, when no dataset fans its text work out
(assets/silver_fan_out.py makes it an asset otherwise)."""


def datasets_shaped_into(catalogue: dict[str, DatasetSpec], table: str) -> list[str]:
    """The datasets whose declared shape fills silver table `table` (dialogues or
    comparisons), in catalogue order: the partitions of that table."""
    return [key for key, spec in catalogue.items() if table in SHAPES[spec.shape]]


def bronze_deps(catalogue: dict[str, DatasetSpec], datasets: Sequence[str]) -> list[dg.AssetDep]:
    """Each silver partition (a dataset) depends on every split of that dataset's bronze only."""
    return [
        dg.AssetDep(
            dg.AssetKey(["bronze", dataset]),
            partition_mapping=bronze_input_mapping(catalogue, dataset),
        )
        for dataset in datasets
    ]


def text_cache_deps(catalogue: dict[str, DatasetSpec], datasets: Sequence[str]) -> list:
    """A silver slice of a fanned-out dataset follows that dataset's text-cache partition
    (its texts are analysed there first)."""
    fanned = [key for key in fanned_out(catalogue) if key in datasets]
    if not fanned:
        return []
    return [
        dg.AssetDep(
            dg.AssetKey(list(TEXT_CACHE)),
            partition_mapping=dg.StaticPartitionMapping({key: key for key in fanned}),
        )
    ]


def silver_assets(catalogue: dict[str, DatasetSpec]) -> list:
    """Silver tables: per-dataset partitions for the heavy work, one deduplicated union."""
    return [
        dialogues_asset(catalogue),
        conversations_asset(catalogue),
        comparisons_asset(catalogue),
        *ledger_specs,
        *([] if fanned_out(catalogue) else [TEXT_CACHE_LEDGER]),
    ]


def sliced(catalogue: dict[str, DatasetSpec], table: str) -> dict:
    """The @dg.asset arguments of a silver table built one dataset (partition) at a time."""
    datasets = datasets_shaped_into(catalogue, table)
    return {
        "key": ["silver", table],
        "group_name": "silver",
        "partitions_def": dg.StaticPartitionsDefinition(datasets),
        "deps": [*bronze_deps(catalogue, datasets), *text_cache_deps(catalogue, datasets)],
        "kinds": {"delta", "polars"},
        "output_required": False,
        "automation_condition": dg.AutomationCondition.eager(),
    }


def dialogues_asset(catalogue: dict[str, DatasetSpec]) -> dg.AssetsDefinition:
    @dg.asset(**sliced(catalogue, "dialogues"))
    def dialogues(
        context: dg.AssetExecutionContext, config: SilverConfig, lake: Lake
    ) -> Iterator[dg.MaterializeResult]:
        """SFT dialogues of one dataset (the partition), cleaned, tagged and scrubbed.

        Grain: one row per distinct dialogue within its dataset (conversation_id = hash of
        the cleaned messages, before PII redaction). Columns: messages
        list<struct<role, content>> with PII replaced by typed placeholders, lineage,
        source_id, lang/lang_prob, pii_count. This is where the text engines run, one
        batch of bronze rows at a time; a change to one dataset re-runs only its
        partition, and a partition whose inputs are unchanged writes nothing. Licence: MIT
        (both sources), in `license` / `license_class` on every row.
        """
        spec = catalogue[context.partition_key]
        yield from slice_results(
            context, config, lake, DIALOGUES_TABLE, spec, slice_shape("dialogues", spec)
        )

    return dialogues


def comparisons_asset(catalogue: dict[str, DatasetSpec]) -> dg.AssetsDefinition:
    @dg.asset(**sliced(catalogue, "comparisons"))
    def comparisons(
        context: dg.AssetExecutionContext, config: SilverConfig, lake: Lake
    ) -> Iterator[dg.MaterializeResult]:
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
        yield from slice_results(
            context, config, lake, COMPARISONS_TABLE, spec, slice_shape("comparisons", spec)
        )

    return comparisons


def conversations_asset(catalogue: dict[str, DatasetSpec]) -> dg.AssetsDefinition:
    rank = {key: i for i, key in enumerate(catalogue)}

    @dg.asset(
        key=list(CONVERSATIONS),
        group_name="silver",
        deps=[dg.AssetKey(list(DIALOGUES))],
        kinds={"delta", "polars"},
        automation_condition=dg.AutomationCondition.eager(),
    )
    def conversations(
        context: dg.AssetExecutionContext, config: BatchConfig, lake: Lake
    ) -> Iterator[dg.MaterializeResult]:
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
        yield union_result(context, config, lake, rank)

    return conversations


def union_result(
    context: dg.AssetExecutionContext, config: BatchConfig, lake: Lake, rank: dict[str, int]
) -> dg.MaterializeResult:
    """Build silver/conversations (storage/silver_union.py) and report it."""
    plan, previous = silver_union.plan_union(lake, rank, silver_code())
    version = plan.versions[DIALOGUES]
    if plan.unchanged:
        # A materialization, not a skip: what follows in the same run (gold) must run
        # to judge its own inputs, which may have changed (silver/comparisons).
        context.log.info(f"silver/dialogues unchanged since version {version}")
        return dg.MaterializeResult(
            metadata={
                "status": "unchanged",
                "dialogues_version": version,
                "delta_version": lake.version(CONVERSATIONS),  # unchanged: it exists
                "new_version": False,
                "path": dg.MetadataValue.path(lake.uri(CONVERSATIONS)),
            }
        )
    built = silver_union.build_union(lake, plan, previous, rank, config.batch_rows, context.log)
    summary = lake.scan(CONVERSATIONS).select("dataset", "lang").collect()
    return dg.MaterializeResult(
        metadata={
            "status": "appended" if built.appended else "rebuilt",
            **built.totals,
            "rows_out": summary.height,
            "by_dataset": dg.MetadataValue.json(dict(Counter(summary["dataset"].to_list()))),
            "languages": dg.MetadataValue.md(bar_chart(Counter(summary["lang"].to_list()))),
            **write_metadata(built.written),
        }
    )


def slice_results(
    context: dg.AssetExecutionContext,
    config: SilverConfig,
    lake: Lake,
    table: SilverTable,
    spec: DatasetSpec,
    shape: silver_slice.Shape,
) -> Iterator[dg.MaterializeResult]:
    """Build one dataset's slice of a silver table (storage/silver_slice.py) and report it:
    a slice whose inputs are unchanged is an observation, not a materialization."""
    settings = silver_slice.engine_inputs(config, silver_code())
    plan, previous = silver_slice.plan_slice(lake, table, spec.key, settings, config.force)
    if plan.unchanged:
        context.log.info(
            f"{'/'.join(table.key)}/{spec.key}: bronze, settings and transforms unchanged"
        )
        context.log_event(
            dg.AssetObservation(
                asset_key=list(table.key),
                partition=spec.key,
                metadata={
                    "status": "unchanged",
                    "bronze_version": plan.versions[("bronze", spec.key)],
                    "path": lake.uri(table.key),
                },
            )
        )
        return
    job = silver_slice.SliceJob(
        lake,
        config,
        table,
        spec,
        shape,
        ContextLog(context),
        whole_splits=spec.shape in WHOLE_SPLIT_SHAPES,
    )
    built = job.build(plan, previous)
    yield dg.MaterializeResult(metadata=slice_metadata(table, built))


def slice_metadata(table: SilverTable, built: silver_slice.SliceBuild) -> dict:
    totals, merged, tally = built.totals, built.merged, built.tally
    merged_rows = sum(merged.values())
    return {
        # Counts describe the whole slice; engine, language and PII figures the rows
        # processed in this run (all of them, or those appended).
        "status": built.status,
        **({"rows_appended": built.appended} if built.appended is not None else {}),
        **{k: totals[k] for k in silver_slice.SLICE_COUNTS},
        **{f"merged_{reason}": n for reason, n in sorted(merged.items()) if n},
        "reconciled": (
            f"{totals['rows_in']} in = {totals['rows_out']} out + "
            f"{totals['dropped_duplicate']} duplicates + "
            f"{totals['rows_quarantined']} quarantined"
            + (f" + {merged_rows} merged" if merged_rows else "")
        ),
        "batches": built.batches,
        **{k: v for k, v in sorted(built.counts.items()) if v},
        **{
            k: round(v, 2) if isinstance(v, float) else v
            for k, v in sorted(tally.engine_stats.items())
        },
        "pii_found": tally.audit_rows,
        **{f"pii_{t.lower()}": n for t, n in sorted(tally.entities.items())},
        "languages": dg.MetadataValue.md(bar_chart(tally.languages)),
        **tally.agreement(),
        **write_metadata(built.written),
        "preview": dg.MetadataValue.md(
            preview_markdown(
                tally.preview.select(
                    table.row_key, "dataset", "lang", "pii_count", table.language_column
                )
            )
        ),
    }


@dataclass(frozen=True)
class ContextLog:
    """A slice build's reports (storage/silver_slice.SliceLog) as the run's log lines and
    a materialization of each ledger slice written."""

    context: dg.AssetExecutionContext

    def info(self, msg: str) -> None:
        self.context.log.info(msg)

    def ledger(self, key: Key, table: str, dataset: str, rows: int, written: TableWrite) -> None:
        self.context.log_event(
            dg.AssetMaterialization(
                asset_key=list(key),
                description=f"slice written by {table} for {dataset}",
                metadata={
                    "table": table,
                    "dataset": dataset,
                    "rows": rows,
                    **write_metadata(written),
                },
            )
        )


def write_metadata(written: TableWrite) -> dict:
    return {
        "delta_version": written.version,
        "new_version": written.committed,
        "path": dg.MetadataValue.path(written.uri),
    }
