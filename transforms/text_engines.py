"""Run the text engines (PII, language) over many distinct texts, on every core.

Callers pass distinct texts only (identical texts are analysed once). Small batches run
in this process; large ones are spread over worker processes, each building its engine
once. Results are in input order and identical either way.
"""

from __future__ import annotations

import atexit
import hashlib
import multiprocessing
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import asdict
from importlib.metadata import version
from typing import Any

import polars as pl

from transforms.language import LanguageSettings, detect_languages
from transforms.pii import PiiSettings, analyze_chunk
from transforms.scrub import SCAN_RESULTS_SCHEMA, findings_series, redact_dicts

# Below this many characters in a batch, handing it to the worker processes costs more
# than it saves. langdetect spends ~5x more time per character than the PII patterns.
PARALLEL_MIN_CHARS = 2_000_000
LANGUAGE_PARALLEL_MIN_CHARS = 400_000
CHUNK_TEXTS = 2_000
CHUNKS_PER_WORKER = 4

Progress = Callable[[int, int], None]  # (texts done, texts in all)


def settings_fingerprint(settings: PiiSettings | LanguageSettings) -> str:
    """Names an engine configuration: its settings and the library versions behind it."""
    libraries = (
        ("presidio-analyzer", "phonenumbers", "spacy", "faker", "tldextract")
        if isinstance(settings, PiiSettings)
        else ("langdetect", "lingua-language-detector")
    )
    described = repr(sorted(asdict(settings).items())) + repr([version(lib) for lib in libraries])
    return hashlib.sha256(described.encode("utf-8")).hexdigest()[:16]


CACHE_KEY_BYTES = 16


def cache_keys(texts: pl.Series, fingerprint: str) -> pl.Series:
    """A text's cache key: the first 16 bytes (128 bits) of sha256 of the engine fingerprint
    and the text. Binary, not hex: a lookup reads and compares a quarter of the bytes."""
    prefix = fingerprint.encode("utf-8") + b"\0"
    keys = [
        hashlib.sha256(prefix + t.encode("utf-8")).digest()[:CACHE_KEY_BYTES]
        for t in texts.to_list()
    ]
    return pl.Series("cache_key", keys, dtype=pl.Binary)


def find_pii(
    texts: Sequence[str], settings: PiiSettings, workers: int, progress: Progress | None = None
) -> list[list[dict]]:
    """Findings per text, as plain dicts (entity_type, start, end, score, recognizer)."""
    return _run(texts, workers, analyze_chunk, settings, progress, PARALLEL_MIN_CHARS)


def detect(
    texts: Sequence[str], settings: LanguageSettings, workers: int, progress: Progress | None = None
) -> list[tuple[str, float]]:
    """(ISO 639-1 code or "und", probability) per text."""
    return _run(texts, workers, detect_languages, settings, progress, LANGUAGE_PARALLEL_MIN_CHARS)


def redaction_results(texts: pl.Series, findings: Sequence[Sequence[dict]]) -> pl.DataFrame:
    """text -> (redacted text, findings): the frame transforms/scrub.py applies."""
    redacted = [
        redact_dicts(text, found) for text, found in zip(texts.to_list(), findings, strict=True)
    ]
    return pl.DataFrame(
        {
            "text": texts,
            "redacted": redacted,
            "findings": findings_series(findings),
        },
        schema=SCAN_RESULTS_SCHEMA,
    )


def _run(
    texts: Sequence[str],
    workers: int,
    chunk_fn: Callable[[list[str], Any], list],
    settings: Any,
    progress: Progress | None,
    parallel_min_chars: int,
) -> list:
    """`chunk_fn` over chunks of `texts`, in worker processes when the batch is large."""
    texts = list(texts)
    # At most CHUNK_TEXTS per chunk, and at least CHUNKS_PER_WORKER chunks per worker, so
    # that no worker idles while another finishes a long last chunk.
    size = max(1, min(CHUNK_TEXTS, -(-len(texts) // (max(workers, 1) * CHUNKS_PER_WORKER))))
    chunks = [texts[i : i + size] for i in range(0, len(texts), size)]
    if workers <= 1 or sum(len(t) for t in texts) < parallel_min_chars:
        return _collect((chunk_fn(chunk, settings) for chunk in chunks), len(texts), progress)
    with _pool_in_use(workers) as pool:
        try:
            outputs = pool.map(chunk_fn, chunks, [settings] * len(chunks))
            return _collect(outputs, len(texts), progress)
        except BrokenProcessPool:  # a worker died (e.g. killed): start afresh once
            with _lock:
                _pools.pop(workers, None)
                pool = worker_pool(workers)
            outputs = pool.map(chunk_fn, chunks, [settings] * len(chunks))
            return _collect(outputs, len(texts), progress)


POOL_IDLE_SECONDS = 60.0
"""A pool left unused this long is shut down: its workers hold their engines and models
(~0.5 GB each), which the steps that use no text engine (gold, checks) need more. The
next batch starts a new one (seconds), so steps that follow each other keep theirs."""
_pools: dict[int, ProcessPoolExecutor] = {}
_lock = threading.Lock()
_in_use = 0
_idle_timer: threading.Timer | None = None


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """One pool per process, kept for every later batch while it is used: starting workers
    costs seconds (each imports its engine), so a run pays it once, not once per table and
    engine."""
    if workers not in _pools:
        context = multiprocessing.get_context("spawn")  # no fork of a threaded parent
        _pools[workers] = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    return _pools[workers]


@contextmanager
def _pool_in_use(workers: int) -> Iterator[ProcessPoolExecutor]:
    """The pool, not shut down while any caller uses it; idle, it is after
    POOL_IDLE_SECONDS."""
    global _in_use, _idle_timer
    with _lock:
        _in_use += 1
        if _idle_timer is not None:
            _idle_timer.cancel()
            _idle_timer = None
        pool = worker_pool(workers)
    try:
        yield pool
    finally:
        with _lock:
            _in_use -= 1
            if _in_use == 0:
                _idle_timer = threading.Timer(POOL_IDLE_SECONDS, _shutdown_if_idle)
                _idle_timer.daemon = True
                _idle_timer.start()


def _shutdown_if_idle() -> None:
    with _lock:
        if _in_use == 0:
            _close_pools()


@atexit.register
def _shutdown_pools() -> None:
    """At exit: no idle timer may close the pools while this does."""
    with _lock:
        if _idle_timer is not None:
            _idle_timer.cancel()
        _close_pools()


def _close_pools() -> None:
    """Shut every pool down (the caller holds `_lock`)."""
    pools = list(_pools.values())
    _pools.clear()
    for pool in pools:
        pool.shutdown(cancel_futures=True)


def _collect(outputs: Iterable[list], total: int, progress: Progress | None) -> list:
    results: list = []
    for output in outputs:
        results.extend(output)
        if progress is not None:
            progress(len(results), total)
    return results
