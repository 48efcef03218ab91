"""The text cache (storage/text_cache.py): each engine result stored once per engine and
text, and never reused once the engine's settings, libraries or code change."""

import logging

import polars as pl

import storage.text_cache
from storage.code_digest import PROJECT_ROOT, reached_modules
from storage.lake import Lake
from storage.text_cache import cached_engine_results, engine_fingerprint
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
