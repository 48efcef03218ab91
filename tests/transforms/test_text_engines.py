"""The text engines give the same answers on every core as in one process, report progress,
and name their configuration so cached results are never reused across settings."""

import time

import polars as pl

from tests.transforms.multilingual_samples import LANGUAGE_SAMPLES, PII_PLANTED
from transforms import text_engines
from transforms.language import LanguageSettings
from transforms.pii import PiiSettings


def test_worker_processes_give_exactly_the_in_process_results(monkeypatch):
    texts = [text for _, text, _, _ in PII_PLANTED] + [text for _, text in LANGUAGE_SAMPLES]
    alone = text_engines.find_pii(texts, PiiSettings(), workers=1)
    languages_alone = text_engines.detect(texts, LanguageSettings(), workers=1)
    monkeypatch.setattr(text_engines, "PARALLEL_MIN_CHARS", 0)
    monkeypatch.setattr(text_engines, "LANGUAGE_PARALLEL_MIN_CHARS", 0)
    monkeypatch.setattr(text_engines, "CHUNK_TEXTS", 25)
    progress: list[tuple[int, int]] = []
    spread = text_engines.find_pii(
        texts, PiiSettings(), workers=2, progress=lambda *p: progress.append(p)
    )
    assert spread == alone
    assert text_engines.detect(texts, LanguageSettings(), workers=2) == languages_alone
    assert progress[-1] == (len(texts), len(texts)) and len(progress) > 1
    # One pool serves every later batch of the process (starting workers costs seconds).
    assert text_engines.worker_pool(2) is text_engines.worker_pool(2)


def test_an_idle_pool_is_shut_down_and_a_later_batch_starts_a_new_one(monkeypatch):
    """Idle workers hold their engines (~0.5 GB each); a step without text engines needs it."""
    texts = [text for _, text, _, _ in PII_PLANTED]
    alone = text_engines.find_pii(texts, PiiSettings(), workers=1)
    monkeypatch.setattr(text_engines, "PARALLEL_MIN_CHARS", 0)
    monkeypatch.setattr(text_engines, "CHUNK_TEXTS", 25)
    monkeypatch.setattr(text_engines, "POOL_IDLE_SECONDS", 0.5)
    assert text_engines.find_pii(texts, PiiSettings(), workers=2) == alone
    first = text_engines.worker_pool(2)
    workers = list(first._processes.values())  # the pool's own processes
    assert workers and all(w.is_alive() for w in workers)
    deadline = time.monotonic() + 30
    while any(w.is_alive() for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(w.is_alive() for w in workers)  # shut down once idle
    assert text_engines.find_pii(texts, PiiSettings(), workers=2) == alone
    assert text_engines.worker_pool(2) is not first


def test_settings_fingerprints_differ_when_settings_differ():
    assert text_engines.settings_fingerprint(PiiSettings()) == text_engines.settings_fingerprint(
        PiiSettings()
    )
    assert text_engines.settings_fingerprint(PiiSettings()) != text_engines.settings_fingerprint(
        PiiSettings(score_threshold=0.6)
    )
    keys = text_engines.cache_keys(pl.Series(["a", "b"]), "f1")
    assert keys.n_unique() == 2 and keys[0] != text_engines.cache_keys(pl.Series(["a"]), "f2")[0]
