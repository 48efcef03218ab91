"""Silver: one clean, language-tagged, PII-scrubbed shape for conversations and comparisons."""

import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl
from dagster import (
    AssetDep,
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    AssetSpec,
    AutomationCondition,
    Config,
    DagsterLogManager,
    MaterializeResult,
    MetadataValue,
    StaticPartitionMapping,
    StaticPartitionsDefinition,
    asset,
)

from assets.bronze import preview_markdown
from assets.lake import Lake, TableWrite
from transforms.bronze import bronze_schema
from transforms.catalogue import DatasetSpec
from transforms.language import LanguageSettings
from transforms.pii import PiiSettings
from transforms.scrub import FINDINGS, TextField, apply_scan, distinct_texts, findings_series
from transforms.silver import (
    SILVER_QUARANTINE_SCHEMA,
    Stage,
    clean_conversations,
    deduplicate_across_datasets,
    language_agreement,
    pairwise_comparisons,
    ultrachat_200k_dialogues,
    ultrachat_dialogues,
    ultrafeedback_comparisons,
    user_text,
)
from transforms.text_engines import (
    cache_keys,
    detect,
    find_pii,
    redaction_results,
    settings_fingerprint,
)

DIALOGUES = ("silver", "dialogues")
CONVERSATIONS = ("silver", "conversations")
COMPARISONS = ("silver", "comparisons")
PII_AUDIT = ("silver", "pii_audit")
QUARANTINE = ("silver", "quarantine")
TEXT_CACHE = ("silver", "text_cache")
TEXT_CACHE_SCHEMA = pl.Schema(
    {
        "cache_key": pl.String,
        "engine": pl.String,
        "findings": FINDINGS,
        "lang": pl.String,
        "lang_prob": pl.Float64,
        "cached_at": pl.Datetime("us", "UTC"),
    }
)

ledger_specs = [
    AssetSpec(
        key=list(PII_AUDIT),
        group_name="silver",
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
        kinds={"delta"},
        description=(
            "Text-engine results by content. Grain: one row per (engine configuration, "
            "distinct text), keyed by sha256. Holds findings offsets and language labels, "
            "never text. A rerun on unchanged input analyses nothing. Licence: holds no "
            "source text."
        ),
    ),
]


class SilverConfig(Config):
    """Text-engine settings; the defaults are the documented behaviour."""

    language_user_turns: int = 1
    """How many user turns the language is detected on."""
    language_max_chars: int = 200
    """Only this many characters of that text are examined."""
    language_min_chars: int = 20
    """Shorter text is `und` (undetermined)."""
    pii_entities: list[str] = list(PiiSettings().entities)
    pii_score_threshold: float = PiiSettings().score_threshold
    pii_allow_list: list[str] = []
    """Exact strings never treated as PII."""
    pii_deny_list: list[str] = []
    """Exact strings always redacted (as DENY_LIST)."""
    pii_ner_model: str | None = None
    """An installed spaCy pipeline (e.g. en_core_web_lg) adding NER for PERSON and LOCATION;
    never downloaded. Without one, PERSON comes from self-introduction patterns."""
    workers: int = 0
    """Processes for the text engines; 0 means one per core."""

    def language(self) -> LanguageSettings:
        return LanguageSettings(
            min_chars=self.language_min_chars, max_chars=self.language_max_chars
        )

    def pii(self) -> PiiSettings:
        return PiiSettings(
            entities=tuple(self.pii_entities),
            score_threshold=self.pii_score_threshold,
            allow_list=tuple(self.pii_allow_list),
            deny_list=tuple(self.pii_deny_list),
            ner_model=self.pii_ner_model,
        )

    def worker_count(self) -> int:
        return self.workers or os.cpu_count() or 1


@dataclass(frozen=True)
class SilverTable:
    key: tuple[str, str]
    row_key: str
    fields: tuple[TextField, ...]
    language_column: str


DIALOGUES_TABLE = SilverTable(
    DIALOGUES, "conversation_id", (TextField("messages", "content"),), "messages"
)
COMPARISONS_TABLE = SilverTable(
    COMPARISONS,
    "comparison_id",
    (
        TextField("prompt", "content"),
        TextField("response_a"),
        TextField("response_b"),
        TextField("conversation_a", "content"),
        TextField("conversation_b", "content"),
        TextField("completions", "response"),
    ),
    "prompt",
)


CONVERSATION_SOURCES: dict[str, Callable[[pl.DataFrame], pl.DataFrame]] = {
    "ultrachat": ultrachat_dialogues,
    "ultrachat_200k": ultrachat_200k_dialogues,
}
COMPARISON_SOURCES: dict[str, Callable[[pl.DataFrame, DatasetSpec], Stage]] = {
    "ultrafeedback": ultrafeedback_comparisons,
    "chatbot_arena_conversations": pairwise_comparisons,
    "mt_bench_human_judgments": pairwise_comparisons,
}


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
        partitions_def=StaticPartitionsDefinition(list(CONVERSATION_SOURCES)),
        deps=bronze_deps(catalogue, list(CONVERSATION_SOURCES)),
        kinds={"delta", "polars"},
        automation_condition=AutomationCondition.eager(),
    )
    def dialogues(
        context: AssetExecutionContext, config: SilverConfig, lake: Lake
    ) -> MaterializeResult:
        """SFT dialogues of one dataset (the partition), cleaned, tagged and scrubbed.

        Grain: one row per distinct dialogue within its dataset (conversation_id = hash of
        the cleaned messages, before PII redaction). Columns: messages
        list<struct<role, content>> with PII replaced by typed placeholders, lineage,
        source_id, lang/lang_prob, pii_count. This is where the text engines run; a change
        to one dataset re-runs only its partition. Licence: MIT (both sources), in
        `license` / `license_class` on every row.
        """
        dataset = context.partition_key
        bronze = read_bronze(lake, catalogue[dataset])
        stage = clean_conversations(CONVERSATION_SOURCES[dataset](bronze), rank)
        return finish(context, config, lake, DIALOGUES_TABLE, stage, bronze.height, dataset)

    @asset(
        key=list(CONVERSATIONS),
        group_name="silver",
        deps=[AssetKey(list(DIALOGUES))],
        kinds={"delta", "polars"},
        automation_condition=AutomationCondition.eager(),
    )
    def conversations(context: AssetExecutionContext, lake: Lake) -> MaterializeResult:
        """Every SFT dialogue in one table, each exactly once across datasets.

        Grain: one row per distinct dialogue (conversation_id); a dialogue present in
        several datasets keeps the row of the first by catalogue order, then split, file
        and row: the same survivor on every run. Columns as silver/dialogues. Licence:
        MIT, per row in `license` / `license_class`.
        """
        rows = lake.scan(DIALOGUES).collect()
        survivors, dropped = deduplicate_across_datasets(rows, rank)
        written = lake.write(CONVERSATIONS, survivors)
        return MaterializeResult(
            metadata={
                "rows_in": rows.height,
                "rows_out": survivors.height,
                "dropped_duplicate_across_datasets": dropped,
                "by_dataset": MetadataValue.json(dict(Counter(survivors["dataset"].to_list()))),
                "languages": MetadataValue.md(bar_chart(Counter(survivors["lang"].to_list()))),
                **write_metadata(written),
            }
        )

    @asset(
        key=list(COMPARISONS),
        group_name="silver",
        partitions_def=StaticPartitionsDefinition(list(COMPARISON_SOURCES)),
        deps=bronze_deps(catalogue, list(COMPARISON_SOURCES)),
        kinds={"delta", "polars"},
        automation_condition=AutomationCondition.eager(),
    )
    def comparisons(
        context: AssetExecutionContext, config: SilverConfig, lake: Lake
    ) -> MaterializeResult:
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
        dataset = context.partition_key
        bronze = read_bronze(lake, catalogue[dataset])
        stage = COMPARISON_SOURCES[dataset](bronze, catalogue[dataset])
        return finish(context, config, lake, COMPARISONS_TABLE, stage, bronze.height, dataset)

    return [dialogues, conversations, comparisons, *ledger_specs]


def read_bronze(lake: Lake, spec: DatasetSpec) -> pl.DataFrame:
    key = ("bronze", spec.key)
    if lake.table(key) is None:
        return pl.DataFrame(schema=bronze_schema(spec))
    return lake.scan(key).collect()


def finish(
    context: AssetExecutionContext,
    config: SilverConfig,
    lake: Lake,
    table: SilverTable,
    stage: Stage,
    rows_in: int,
    dataset: str,
) -> MaterializeResult:
    """Language, PII, then write the dataset's slice and its ledger slices; reconcile."""
    name = "/".join(table.key)
    rows = stage.rows
    language_texts = rows.select(
        user_text(table.language_column, config.language_user_turns, config.language_max_chars)
    ).to_series()
    workers = config.worker_count()
    languages, language_stats = cached_engine_results(
        context.log, lake, language_texts.unique(maintain_order=True), config.language(), workers
    )
    rows = (
        rows.with_columns(__lang_text=language_texts)
        .join(languages.rename({"text": "__lang_text"}), on="__lang_text", how="left")
        .drop("__lang_text")
    )

    texts = distinct_texts(rows, table.fields)
    findings, pii_stats = cached_engine_results(context.log, lake, texts, config.pii(), workers)
    scrubbed, audit = apply_scan(rows, table.fields, findings, table=name, row_key=table.row_key)

    dropped = stage.counts["dropped_duplicate"]
    quarantined = stage.rejected.height
    if rows_in != scrubbed.height + dropped + quarantined:
        raise RuntimeError(
            f"{name}/{dataset}: {rows_in} rows in, {scrubbed.height} out + {dropped} "
            f"duplicates + {quarantined} quarantined"
        )
    slice_of = {"dataset": dataset}
    written = lake.write(table.key, scrubbed, partition_by=["dataset"], replace=slice_of)
    log_ledger(context, lake, PII_AUDIT, audit, name, dataset)
    rejected = stage.rejected.cast(dict(SILVER_QUARANTINE_SCHEMA))
    log_ledger(context, lake, QUARANTINE, rejected, name, dataset)

    return MaterializeResult(
        metadata={
            "rows_in": rows_in,
            "rows_out": scrubbed.height,
            "rows_quarantined": quarantined,
            "reconciled": (
                f"{rows_in} in = {scrubbed.height} out + {dropped} duplicates "
                f"+ {quarantined} quarantined"
            ),
            **{k: v for k, v in sorted(stage.counts.items()) if v},
            **language_stats,
            **pii_stats,
            "pii_found": audit.height,
            **{f"pii_{t.lower()}": n for t, n in sorted(Counter(audit["entity_type"]).items())},
            "languages": MetadataValue.md(bar_chart(Counter(scrubbed["lang"].to_list()))),
            **source_language_agreement(scrubbed),
            **write_metadata(written),
            "preview": MetadataValue.md(
                preview_markdown(
                    scrubbed.select(
                        table.row_key, "dataset", "lang", "pii_count", table.language_column
                    )
                )
            ),
        }
    )


def write_metadata(written: TableWrite) -> dict:
    return {
        "delta_version": written.version,
        "new_version": written.committed,
        "path": MetadataValue.path(written.uri),
    }


def bar_chart(counts: Counter[str], width: int = 30) -> str:
    """A distribution as a markdown table with text bars (most common first)."""
    total = sum(counts.values()) or 1
    top = max(counts.values(), default=1)
    lines = ["| value | rows | share | |", "|---|---:|---:|---|"]
    for value, n in counts.most_common():
        bar = "█" * max(1, round(width * n / top))
        lines.append(f"| {value} | {n} | {n / total:.1%} | {bar} |")
    return "\n".join(lines)


def source_language_agreement(rows: pl.DataFrame) -> dict[str, float | int]:
    """For tables with a source language label (Arena): how often it agrees with ours."""
    if "source_language" not in rows.columns:
        return {}
    rate, compared = language_agreement(rows.filter(pl.col("source_language").is_not_null()))
    if rate is None:
        return {}
    return {"arena_language_agreement": round(rate, 4), "arena_language_compared": compared}


def log_ledger(
    context: AssetExecutionContext,
    lake: Lake,
    key: tuple[str, str],
    rows: pl.DataFrame,
    table: str,
    dataset: str,
) -> None:
    """Replace the (table, dataset) slice of a shared ledger table and report it in the UI."""
    written = lake.write(
        key, rows, partition_by=["table"], replace={"table": table, "dataset": dataset}
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


def cached_engine_results(
    log: DagsterLogManager,
    lake: Lake,
    texts: pl.Series,
    settings: PiiSettings | LanguageSettings,
    workers: int,
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Engine results for distinct `texts`, analysing only those the cache lacks.

    PII settings return (text, redacted, findings); language settings (text, lang,
    lang_prob). New results are appended to the cache, keyed by settings and text.
    """
    engine = "pii" if isinstance(settings, PiiSettings) else "language"
    keyed = pl.DataFrame({"text": texts}).with_columns(
        cache_keys(texts, settings_fingerprint(settings))
    )
    cached = cached_rows(lake, engine, keyed["cache_key"])
    keyed = keyed.join(cached, on="cache_key", how="left")
    missing = keyed.filter(pl.col("cached_at").is_null())
    log.info(f"{engine}: {missing.height} of {keyed.height} distinct texts to analyse")
    started = time.monotonic()

    def progress(done: int, total: int) -> None:
        rate = done / max(time.monotonic() - started, 1e-9)
        log.info(f"{engine}: {done:,}/{total:,} texts analysed ({rate:,.0f} texts/s)")

    texts_to_run = missing["text"].to_list()
    if engine == "pii":
        found = find_pii(texts_to_run, settings, workers, progress)
        new = missing.select("cache_key").with_columns(
            engine=pl.lit("pii"),
            findings=findings_series(found),
            lang=pl.lit(None, pl.String),
            lang_prob=pl.lit(None, pl.Float64),
        )
    else:
        labels = detect(texts_to_run, settings, workers, progress)
        new = missing.select("cache_key").with_columns(
            engine=pl.lit("language"),
            findings=pl.lit(None, FINDINGS),
            lang=pl.Series([lang for lang, _ in labels], dtype=pl.String),
            lang_prob=pl.Series([prob for _, prob in labels], dtype=pl.Float64),
        )
    new = new.with_columns(cached_at=pl.lit(datetime.now(UTC), pl.Datetime("us", "UTC"))).select(
        TEXT_CACHE_SCHEMA.names()
    )
    if new.height:
        lake.append(TEXT_CACHE, new)
    results = keyed.select("text", "cache_key").join(
        pl.concat([cached.select(TEXT_CACHE_SCHEMA.names()), new]), on="cache_key", how="left"
    )
    stats = {
        f"{engine}_texts_analysed": missing.height,
        f"{engine}_texts_reused": keyed.height - missing.height,
    }
    if engine == "pii":
        return redaction_results(results["text"], results["findings"].to_list()), stats
    return results.select("text", "lang", "lang_prob"), stats


def cached_rows(lake: Lake, engine: str, keys: pl.Series) -> pl.DataFrame:
    if lake.table(TEXT_CACHE) is None or keys.is_empty():
        return pl.DataFrame(schema=TEXT_CACHE_SCHEMA)
    wanted = pl.DataFrame({"cache_key": keys.unique()})
    return (
        lake.scan(TEXT_CACHE)
        .filter(pl.col("engine") == engine)
        .join(wanted.lazy(), on="cache_key", how="semi")
        .unique("cache_key", keep="first")
        .collect()
    )
