"""The content-hash text cache (silver/text_cache): each text-engine result stored once
per (engine settings, distinct text), so a rerun, an increment or a check analyses no
text twice. It holds offsets and language labels, never text."""

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import polars as pl

from storage.code_digest import module_digest, settings_digest
from storage.keys import TEXT_CACHE
from storage.lake import Lake
from transforms.language import LanguageSettings
from transforms.pii import PiiSettings
from transforms.scrub import FINDINGS, findings_series, settle_redactions
from transforms.text_engines import (
    cache_keys,
    detect,
    find_pii,
    redaction_results,
    settings_fingerprint,
)


class Log(Protocol):
    """Where progress goes (a Dagster log manager or a `logging.Logger`)."""

    def info(self, msg: str) -> object: ...


TEXT_CACHE_SCHEMA = pl.Schema(
    {
        "cache_key": pl.Binary,
        "engine": pl.String,
        "findings": FINDINGS,
        "lang": pl.String,
        "lang_prob": pl.Float64,
        "cached_at": pl.Datetime("us", "UTC"),
    }
)


def cached_engine_results(
    log: Log,
    lake: Lake,
    texts: pl.Series,
    settings: PiiSettings | LanguageSettings,
    workers: int,
) -> tuple[pl.DataFrame, dict[str, float]]:
    """Engine results for distinct `texts`, analysing only those the cache lacks.

    PII settings return (text, redacted, findings), redaction settled so that a redacted
    text scanned again shows nothing (transforms/scrub.py `settle_redactions`); language
    settings return (text, lang, lang_prob). New results are appended to the cache, keyed
    by settings and text; the re-scans of redacted texts are not (few, and quick to redo).
    """
    engine = CachedEngine(log, lake, settings, workers)
    results, stats = engine.analyse(texts)
    if isinstance(settings, LanguageSettings):
        return results.select("text", "lang", "lang_prob"), stats
    rescanned = 0

    def rescan(redacted: pl.Series) -> pl.DataFrame:
        # Not through the cache: a few hundred redacted texts a batch, where a lookup and an
        # append (a Delta commit) per round cost seconds and the engine a fraction of one.
        nonlocal rescanned
        rescanned += redacted.len()
        found = find_pii(redacted.to_list(), settings, workers)
        return pl.DataFrame({"text": redacted, "findings": findings_series(found)})

    settled, added = settle_redactions(
        redaction_results(results["text"], results["findings"].to_list()), rescan
    )
    return settled, {
        **stats,
        "pii_redacted_texts_rescanned": rescanned,
        "pii_found_by_rescan": added,
    }


@dataclass(frozen=True)
class CachedEngine:
    """One text engine (its settings) behind the lake's text cache."""

    log: Log
    lake: Lake
    settings: PiiSettings | LanguageSettings
    workers: int

    def analyse(self, texts: pl.Series) -> tuple[pl.DataFrame, dict[str, float]]:
        """The cache's rows for `texts` (text, cache_key, findings, lang, lang_prob, ...),
        running the engine on the texts it lacks and adding their results."""
        engine = "pii" if isinstance(self.settings, PiiSettings) else "language"
        keyed = pl.DataFrame({"text": texts}).with_columns(
            cache_keys(texts, engine_fingerprint(self.settings))
        )
        cached = cached_rows(self.lake, engine, keyed["cache_key"])
        keyed = keyed.join(cached, on="cache_key", how="left")
        missing = keyed.filter(pl.col("cached_at").is_null())
        self.log.info(f"{engine}: {missing.height} of {keyed.height} distinct texts to analyse")
        started = time.monotonic()

        def progress(done: int, total: int) -> None:
            rate = done / max(time.monotonic() - started, 1e-9)
            self.log.info(f"{engine}: {done:,}/{total:,} texts analysed ({rate:,.0f} texts/s)")

        texts_to_run = missing["text"].to_list()
        engine_started = time.monotonic()
        if engine == "pii":
            found = find_pii(texts_to_run, self.settings, self.workers, progress)
            new = missing.select("cache_key").with_columns(
                engine=pl.lit("pii"),
                findings=findings_series(found),
                lang=pl.lit(None, pl.String),
                lang_prob=pl.lit(None, pl.Float64),
            )
        else:
            labels = detect(texts_to_run, self.settings, self.workers, progress)
            new = missing.select("cache_key").with_columns(
                engine=pl.lit("language"),
                findings=pl.lit(None, FINDINGS),
                lang=pl.Series([lang for lang, _ in labels], dtype=pl.String),
                lang_prob=pl.Series([prob for _, prob in labels], dtype=pl.Float64),
            )
        engine_seconds = time.monotonic() - engine_started
        new = new.with_columns(
            cached_at=pl.lit(datetime.now(UTC), pl.Datetime("us", "UTC"))
        ).select(TEXT_CACHE_SCHEMA.names())
        if new.height:
            self.lake.append(TEXT_CACHE, new)
        results = keyed.select("text", "cache_key").join(
            pl.concat([cached.select(TEXT_CACHE_SCHEMA.names()), new]), on="cache_key", how="left"
        )
        stats = {
            f"{engine}_texts_analysed": missing.height,
            f"{engine}_texts_reused": keyed.height - missing.height,
            f"{engine}_engine_seconds": round(engine_seconds, 3),
        }
        return results, stats


def engine_fingerprint(settings: PiiSettings | LanguageSettings) -> str:
    """Names what computes an engine's cached results: its settings, the library versions
    behind it, and the code of its module and the `transforms` modules that one uses. A
    changed rule (a new name cue, a pattern) re-analyses every text once, instead of leaving
    results of the old rule on the texts the cache has seen."""
    module = "transforms.pii" if isinstance(settings, PiiSettings) else "transforms.language"
    return settings_digest(settings_fingerprint(settings) + module_digest(module))[:16]


_CURRENT_FORMAT: set[str] = set()
"""The caches this process has seen in the current format (no need to look again)."""


def replace_earlier_format(lake: Lake) -> bool:
    """Replace a text cache of an earlier format (hex string keys, before 2026-12-07) by an
    empty one, once: its results were computed by earlier engine code and no key of the
    current format can match them. True when it replaced one.

    Two processes may both replace it; the later then drops what the earlier added since.
    That costs re-analysis, never a wrong result: a text the cache lacks is analysed."""
    uri = lake.uri(TEXT_CACHE)
    if uri in _CURRENT_FORMAT:
        return False
    table = lake.table(TEXT_CACHE)
    earlier = (
        table is not None
        and lake.scan(TEXT_CACHE).collect_schema()["cache_key"] != TEXT_CACHE_SCHEMA["cache_key"]
    )
    if earlier:
        lake.write(TEXT_CACHE, pl.DataFrame(schema=TEXT_CACHE_SCHEMA))
    _CURRENT_FORMAT.add(uri)
    return earlier


def cached_rows(lake: Lake, engine: str, keys: pl.Series) -> pl.DataFrame:
    replace_earlier_format(lake)
    found = None
    if not keys.is_empty():
        found = lake.rows_by_key(TEXT_CACHE, "cache_key", keys, pl.col("engine") == engine)
    return pl.DataFrame(schema=TEXT_CACHE_SCHEMA) if found is None else found
