"""The text cache (storage/text_cache.py): each engine result stored once per engine and
text, and never reused once the engine's settings, libraries or code change."""

import logging

import polars as pl

import storage.text_cache
from storage.code_digest import PROJECT_ROOT, reached_modules
from storage.keys import TEXT_CACHE
from storage.lake import Lake
from storage.text_cache import (
    TEXT_CACHE_SCHEMA,
    cached_engine_results,
    engine_fingerprint,
    replace_earlier_format,
)
from transforms.language import LanguageSettings
from transforms.pii import PiiSettings

LOG = logging.getLogger(__name__)
TEXTS = pl.Series(
    "text",
    [
        "Please send the invoice to maria.lopez@gmail.com before Friday.",
        "Dear Hannah, thanks for the notes on the draft.",
        "What is the derivative of x^2 + 3x?",
    ],
)


def analysed(lake: Lake) -> float:
    return cached_engine_results(LOG, lake, TEXTS, PiiSettings(), workers=1)[1][
        "pii_texts_analysed"
    ]


def test_a_text_seen_once_is_not_analysed_again(lake):
    assert analysed(lake) == TEXTS.len()
    assert analysed(lake) == 0


def test_changed_engine_code_analyses_every_text_again(lake, monkeypatch):
    """A new rule in transforms/ must reach the texts the cache has already seen."""
    assert analysed(lake) == TEXTS.len()
    monkeypatch.setattr(storage.text_cache, "module_digest", lambda name: f"edited {name}")
    assert analysed(lake) == TEXTS.len()


def test_each_engine_is_named_by_the_code_of_every_module_it_uses():
    pii = {path.name for path in reached_modules(["transforms.pii"], PROJECT_ROOT)}
    assert {"pii.py", "person_names.py", "not_personal.py"} <= pii
    language = {path.name for path in reached_modules(["transforms.language"], PROJECT_ROOT)}
    assert {"language.py", "langdetect_sampling.py"} <= language
    assert "pii.py" not in language
    assert engine_fingerprint(PiiSettings()) != engine_fingerprint(LanguageSettings())
    assert engine_fingerprint(PiiSettings()) == engine_fingerprint(PiiSettings())


def test_a_cache_of_the_earlier_format_is_replaced_once_and_then_filled(lake):
    """Hex string keys (before 2026-12-07): results of earlier engine code, which no key of
    the current format matches. The first lookup replaces the table by an empty one."""
    earlier = pl.DataFrame(
        {"cache_key": ["ab" * 32], "engine": ["pii"]},
        schema_overrides={"cache_key": pl.String},
    ).with_columns(
        pl.lit(None, dtype).alias(name)
        for name, dtype in TEXT_CACHE_SCHEMA.items()
        if name not in ("cache_key", "engine")
    )
    lake.append(TEXT_CACHE, earlier)
    assert analysed(lake) == TEXTS.len()
    cache = lake.scan(TEXT_CACHE).collect()
    assert cache.schema["cache_key"] == pl.Binary and cache.height == TEXTS.len()
    assert cache["cache_key"].bin.size().unique().to_list() == [16]
    assert analysed(lake) == 0
    assert replace_earlier_format(lake) is False
