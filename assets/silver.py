"""Silver: one clean, language-tagged, PII-scrubbed shape for conversations and comparisons."""

import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    AssetSpec,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.bronze import preview_markdown
from assets.lake import Lake
from transforms.bronze import bronze_schema
from transforms.catalogue import DatasetSpec
from transforms.language import LanguageSettings
from transforms.pii import PiiSettings
from transforms.scrub import FINDINGS, TextField, apply_scan, distinct_texts
from transforms.silver import (
    SILVER_QUARANTINE_SCHEMA,
    Stage,
    clean_conversations,
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
            "unredacted text), score, recognizer. Never the matched value. Written by each "
            "silver table, replacing its own slice."
        ),
    ),
    AssetSpec(
        key=list(QUARANTINE),
        group_name="silver",
        kinds={"delta"},
        description=(
            "Bronze rows silver rejected. Grain: one row per rejected row: table, dataset, "
            "split, source_file, source_row, reason (the rule), detail and the raw payload. "
            "Payloads are unscrubbed source text: read access as for bronze."
        ),
    ),
    AssetSpec(
        key=list(TEXT_CACHE),
        group_name="silver",
        kinds={"delta"},
        description=(
            "Text-engine results by content: one row per (engine configuration, distinct "
            "text), keyed by sha256. Holds findings offsets and language labels, never text. "
            "A rerun on unchanged input analyses nothing."
        ),
    ),
]


class SilverConfig(Config):
    """Text-engine settings; the defaults are the documented behaviour."""

    language_user_turns: int = 1
    """How many user turns the language is detected on."""
    language_max_chars: int = 400
    """Only this many characters of that text are examined."""
    language_min_chars: int = 20
    """Shorter text is `und` (undetermined)."""
    pii_entities: list[str] = list(PiiSettings().entities)
    pii_score_threshold: float = PiiSettings().score_threshold
    pii_allow_list: list[str] = []
    """Exact strings never treated as PII."""
    pii_deny_list: list[str] = []
    """Exact strings always redacted (as DENY_LIST)."""
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
        )

    def worker_count(self) -> int:
        return self.workers or os.cpu_count() or 1


@dataclass(frozen=True)
class SilverTable:
    key: tuple[str, str]
    row_key: str
    fields: tuple[TextField, ...]
    language_column: str


CONVERSATIONS_TABLE = SilverTable(
    CONVERSATIONS, "conversation_id", (TextField("messages", "content"),), "messages"
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


def silver_assets(catalogue: dict[str, DatasetSpec]) -> list:
    """The two silver tables, reading the bronze tables of the datasets they cover."""
    rank = {key: i for i, key in enumerate(catalogue)}

    @asset(
        key=list(CONVERSATIONS),
        group_name="silver",
        deps=[AssetKey(["bronze", k]) for k in ("ultrachat", "ultrachat_200k")],
        kinds={"delta", "polars"},
    )
    def conversations(
        context: AssetExecutionContext, config: SilverConfig, lake: Lake
    ) -> MaterializeResult:
        """SFT dialogues from UltraChat and UltraChat 200k in one shape.

        Grain: one row per distinct dialogue (conversation_id = hash of the cleaned
        messages; duplicates within and across datasets keep the first by catalogue order,
        split, file, row). Columns: messages list<struct<role, content>> (PII replaced by
        typed placeholders), lineage, source_id, lang/lang_prob, pii_count. Licence: MIT
        (both sources), `license` and `license_class` on every row.
        """
        frames = [
            ultrachat_dialogues(read_bronze(lake, catalogue["ultrachat"])),
            ultrachat_200k_dialogues(read_bronze(lake, catalogue["ultrachat_200k"])),
        ]
        rows_in = sum(f.height for f in frames)
        stage = clean_conversations(pl.concat(frames), rank)
        return finish(context, config, lake, CONVERSATIONS_TABLE, stage, rows_in)

    @asset(
        key=list(COMPARISONS),
        group_name="silver",
        deps=[
            AssetKey(["bronze", k])
            for k in ("ultrafeedback", "chatbot_arena_conversations", "mt_bench_human_judgments")
        ],
        kinds={"delta", "polars"},
    )
    def comparisons(
        context: AssetExecutionContext, config: SilverConfig, lake: Lake
    ) -> MaterializeResult:
        """Judged responses: UltraFeedback prompts with their rated completions, and Arena
        and MT-bench pairwise votes.

        Grain: one row per UltraFeedback prompt (all completions and ratings kept, so any
        binarization policy can run in gold), and one row per Arena / MT-bench vote (both
        dialogues up to the judged turn, prompt = messages before the judged reply,
        response_a/response_b = the judged replies). Arena's language label, moderation and
        toxicity flags are kept as columns. Licence per row (`license`) and per field
        (`prompt_license`, `response_license`): Arena prompts are CC-BY-4.0, its model
        outputs CC-BY-NC-4.0; UltraFeedback MIT; MT-bench CC-BY-4.0.
        """
        stages: list[tuple[int, Stage]] = []
        for key, build in (
            ("ultrafeedback", ultrafeedback_comparisons),
            ("chatbot_arena_conversations", pairwise_comparisons),
            ("mt_bench_human_judgments", pairwise_comparisons),
        ):
            bronze = read_bronze(lake, catalogue[key])
            stages.append((bronze.height, build(bronze, catalogue[key])))
        stage = merge_stages([s for _, s in stages], row_key="comparison_id")
        return finish(context, config, lake, COMPARISONS_TABLE, stage, sum(n for n, _ in stages))

    return [conversations, comparisons, *ledger_specs]


def read_bronze(lake: Lake, spec: DatasetSpec) -> pl.DataFrame:
    key = ("bronze", spec.key)
    if lake.table(key) is None:
        return pl.DataFrame(schema=bronze_schema(spec))
    return lake.scan(key).collect()


def merge_stages(stages: Sequence[Stage], row_key: str) -> Stage:
    """Stages of several datasets as one (ids do not collide across datasets' shapes)."""
    counts: Counter[str] = Counter()
    for stage in stages:
        counts.update(stage.counts)
    rows = pl.concat([s.rows for s in stages])
    if rows[row_key].n_unique() != rows.height:
        raise ValueError(f"{row_key} repeats across datasets")
    return Stage(rows, pl.concat([s.rejected for s in stages]), counts)


def finish(
    context: AssetExecutionContext,
    config: SilverConfig,
    lake: Lake,
    table: SilverTable,
    stage: Stage,
    rows_in: int,
) -> MaterializeResult:
    """Language, PII, then write the table and its ledger slices; reconcile the counts."""
    name = "/".join(table.key)
    rows = stage.rows
    language_texts = rows.select(
        user_text(table.language_column, config.language_user_turns, config.language_max_chars)
    ).to_series()
    languages, language_stats = cached_engine_results(
        context, lake, "language", language_texts.unique(maintain_order=True), config
    )
    rows = (
        rows.with_columns(__lang_text=language_texts)
        .join(languages.rename({"text": "__lang_text"}), on="__lang_text", how="left")
        .drop("__lang_text")
    )

    texts = distinct_texts(rows, table.fields)
    findings, pii_stats = cached_engine_results(context, lake, "pii", texts, config)
    scrubbed, audit = apply_scan(rows, table.fields, findings, table=name, row_key=table.row_key)

    dropped = stage.counts["dropped_duplicate"]
    quarantined = stage.rejected.height
    if rows_in != scrubbed.height + dropped + quarantined:
        raise RuntimeError(
            f"{name}: {rows_in} rows in, {scrubbed.height} out + {dropped} duplicates + "
            f"{quarantined} quarantined"
        )
    written = lake.write(table.key, scrubbed)
    log_ledger(context, lake, PII_AUDIT, audit, name)
    log_ledger(context, lake, QUARANTINE, stage.rejected.cast(dict(SILVER_QUARANTINE_SCHEMA)), name)

    return MaterializeResult(
        metadata={
            "rows_in": rows_in,
            "rows_out": scrubbed.height,
            "rows_quarantined": quarantined,
            **{k: v for k, v in sorted(stage.counts.items()) if v},
            **language_stats,
            **pii_stats,
            "pii_found": audit.height,
            **{f"pii_{t.lower()}": n for t, n in sorted(Counter(audit["entity_type"]).items())},
            "languages": MetadataValue.json(
                dict(Counter(scrubbed["lang"].to_list()).most_common())
            ),
            **source_language_agreement(scrubbed),
            "delta_version": written.version,
            "path": MetadataValue.path(written.uri),
            "preview": MetadataValue.md(
                preview_markdown(
                    scrubbed.select(
                        table.row_key, "dataset", "lang", "pii_count", table.language_column
                    )
                )
            ),
        }
    )


def source_language_agreement(rows: pl.DataFrame) -> dict[str, float | int]:
    """For tables with a source language label (Arena): how often it agrees with ours."""
    if "source_language" not in rows.columns:
        return {}
    rate, compared = language_agreement(rows.filter(pl.col("source_language").is_not_null()))
    if rate is None:
        return {}
    return {"arena_language_agreement": round(rate, 4), "arena_language_compared": compared}


def log_ledger(
    context: AssetExecutionContext, lake: Lake, key: tuple[str, str], rows: pl.DataFrame, table: str
) -> None:
    """Replace `table`'s slice of a shared ledger table and report it in the UI."""
    written = lake.write(key, rows, partition_by=["table"], replace={"table": table})
    context.log_event(
        AssetMaterialization(
            asset_key=list(key),
            description=f"slice written by {table}",
            metadata={"table": table, "rows": rows.height, "delta_version": written.version},
        )
    )


def cached_engine_results(
    context: AssetExecutionContext,
    lake: Lake,
    engine: str,
    texts: pl.Series,
    config: SilverConfig,
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Engine results for distinct `texts`, analysing only those the cache lacks.

    `pii` returns (text, redacted, findings); `language` returns (text, lang, lang_prob).
    """
    settings = config.pii() if engine == "pii" else config.language()
    keyed = pl.DataFrame({"text": texts}).with_columns(
        cache_keys(texts, settings_fingerprint(settings))
    )
    cached = cached_rows(lake, engine, keyed["cache_key"])
    keyed = keyed.join(cached, on="cache_key", how="left")
    missing = keyed.filter(pl.col("cached_at").is_null())
    context.log.info(f"{engine}: {missing.height} of {keyed.height} distinct texts to analyse")
    now = datetime.now(UTC)
    if engine == "pii":
        found = find_pii(missing["text"].to_list(), config.pii(), config.worker_count())
        new = missing.select("cache_key").with_columns(
            engine=pl.lit("pii"),
            findings=pl.Series(found, dtype=FINDINGS),
            lang=pl.lit(None, pl.String),
            lang_prob=pl.lit(None, pl.Float64),
        )
    else:
        labels = detect(missing["text"].to_list(), config.language(), config.worker_count())
        new = missing.select("cache_key").with_columns(
            engine=pl.lit("language"),
            findings=pl.lit(None, FINDINGS),
            lang=pl.Series([lang for lang, _ in labels], dtype=pl.String),
            lang_prob=pl.Series([prob for _, prob in labels], dtype=pl.Float64),
        )
    new = new.with_columns(cached_at=pl.lit(now, pl.Datetime("us", "UTC"))).select(
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
