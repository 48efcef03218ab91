"""The no_pii review's own cache (silver/pii_review_cache): the hits of the review's rules
(transforms/pii_review.py) per distinct text they read, keyed by the rules' digest and the
text. silver/conversations holds silver/dialogues' texts again, and gold's tables hold
silver's: each text is read by the rules once, not once per table that holds it.

It shares nothing with silver's text cache or engine: the review stays an independent
detector, and a changed rule (a new digest) reads every text again. It holds offsets and
entity types, never text."""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from datetime import UTC, datetime

import polars as pl

from storage.keys import PII_REVIEW_CACHE
from storage.lake import Lake
from transforms.pii_review import TEXT_HIT_SCHEMA, gated_texts, review_gated
from transforms.text_engines import cache_keys

HIT_FIELDS = [name for name in TEXT_HIT_SCHEMA.names() if name != "text"]
HIT = pl.Struct({name: TEXT_HIT_SCHEMA[name] for name in HIT_FIELDS})
REVIEW_CACHE_SCHEMA = pl.Schema(
    {"cache_key": pl.Binary, "hits": pl.List(HIT), "cached_at": pl.Datetime("us", "UTC")}
)
"""One row per (rules' digest, distinct text the rules read): its hits, an empty list when
none. Texts no gate passes are never read by the rules and are not stored."""


@dataclass
class CachedReview:
    """`review_texts` of transforms/pii_review.py behind the lake's review cache: call it
    with a series of texts, get TEXT_HIT_SCHEMA rows. Counts the gated texts it read with
    the rules (`texts_read`) and those whose hits it found in the cache (`texts_reused`)."""

    lake: Lake
    detector: str
    texts_read: int = field(default=0, init=False)
    texts_reused: int = field(default=0, init=False)

    def __call__(self, texts: pl.Series) -> pl.DataFrame:
        gated = gated_texts(texts)
        keyed = gated.with_columns(cache_keys(gated["text"], review_fingerprint(self.detector)))
        known = keyed.join(cached_hits(self.lake, keyed["cache_key"]), on="cache_key", how="left")
        missing = known.filter(pl.col("hits").is_null())
        found = review_gated(missing)
        if missing.height:
            rows = cache_rows(missing.select("text", "cache_key"), found)
            self.lake.append(PII_REVIEW_CACHE, rows)
        self.texts_read += missing.height
        self.texts_reused += known.height - missing.height
        reused = (
            known.filter(pl.col("hits").is_not_null())
            .select("text", "hits")
            .explode("hits")
            .drop_nulls("hits")
            .unnest("hits")
        )
        return pl.concat([reused.select(TEXT_HIT_SCHEMA.names()), found]).cast(
            dict(TEXT_HIT_SCHEMA)
        )


def review_fingerprint(detector: str) -> str:
    """What decides the hits of a text: the rules (`detector`, their digest), Polars (the
    gates) and Python (`re`, `ipaddress`)."""
    return f"{detector}:polars-{pl.__version__}:python-{platform.python_version()}"


def cache_rows(keys: pl.DataFrame, found: pl.DataFrame) -> pl.DataFrame:
    """REVIEW_CACHE_SCHEMA rows for the texts of `keys` (text, cache_key) whose hits are
    `found` (TEXT_HIT_SCHEMA): every text gets a row, with no hits an empty list."""
    grouped = found.group_by("text").agg(hits=pl.struct(*HIT_FIELDS))
    return (
        keys.join(grouped, on="text", how="left")
        .select(
            "cache_key",
            pl.col("hits").fill_null(pl.lit([], pl.List(HIT))),
            cached_at=pl.lit(datetime.now(UTC), pl.Datetime("us", "UTC")),
        )
        .cast(dict(REVIEW_CACHE_SCHEMA))
    )


def cached_hits(lake: Lake, keys: pl.Series) -> pl.DataFrame:
    """(cache_key, hits) of the cached texts among `keys`."""
    found = None if keys.is_empty() else lake.rows_by_key(PII_REVIEW_CACHE, "cache_key", keys)
    if found is None:
        return pl.DataFrame(schema={"cache_key": pl.Binary, "hits": pl.List(HIT)})
    return found.select("cache_key", "hits")
