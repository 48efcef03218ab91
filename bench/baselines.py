"""The naive ways, our way, on the same texts; and the quality of both on labelled texts.

Naive PII: a loop calling Presidio's ``AnalyzerEngine.analyze`` (its default recognizer
registry, the same entities and score threshold as the lake) then
``AnonymizerEngine.anonymize`` per text. It uses the lake's offline NLP engine
(transforms.pii.build_nlp_engine: a blank spaCy tokenizer, no model download), and
tldextract is pointed at its bundled suffix list, in this process only, because Presidio's
e-mail recognizer would otherwise fetch one from the internet.

Naive language: a loop calling ``langdetect.detect`` per text with ``DetectorFactory.seed``
fixed, on each row's full first user turn (what a naive job would pass).

Ours: transforms.text_engines.find_pii / detect with the pipeline's worker count (its
worker pool, which the pipeline runs before have usually started already), on the texts
exactly as the pipeline gives them (distinct texts; for language the first user turn cut
to `max_chars`), plus the content-hash cache of assets.silver (cold, then warm).

Engines are built before timing starts, for both sides.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from bench.text_pools import LabelledText
from transforms import text_engines
from transforms.language import LanguageSettings, detect_languages, to_iso639_1
from transforms.pii import PiiEngine, PiiSettings, build_nlp_engine, offline_tld_extractor
from transforms.scrub import redact_dicts
from transforms.text_engines import CHUNK_TEXTS, PARALLEL_MIN_CHARS, detect, find_pii

Span = tuple[str, int, int]


@dataclass
class Timing:
    texts: int
    chars: int
    seconds: float

    @property
    def texts_per_second(self) -> float:
        return self.texts / self.seconds if self.seconds else float("inf")

    @property
    def mb_per_second(self) -> float:
        return self.chars / 1e6 / self.seconds if self.seconds else float("inf")


def timed(fn: Callable[[], object], texts: Sequence[str]) -> Timing:
    started = time.perf_counter()
    fn()
    return Timing(len(texts), sum(map(len, texts)), time.perf_counter() - started)


# ----------------------------------------------------------------------------- samples


def _rows(corpus: Path) -> pl.DataFrame:
    """Per source row: all its texts, and its first user turn (what language is detected on)."""
    h4 = pl.scan_parquet(corpus / "HuggingFaceH4/ultrachat_200k/data/train_sft-*.parquet")
    arena = pl.scan_parquet(corpus / "lmsys/chatbot_arena_conversations/data/*.parquet")
    frames = [
        h4.select(_dialogue_columns("messages")).collect(),
        arena.select(_dialogue_columns("conversation_a")).collect(),
        arena.select(_dialogue_columns("conversation_b")).collect(),
    ]
    rows: list[tuple[list[str], str]] = []
    for record in _jsonl(sorted((corpus / "stingning/ultrachat").glob("train_*.jsonl"))[:1]):
        turns = [str(t) for t in record["data"]]
        if turns:
            rows.append((turns, turns[0]))
    for record in _jsonl(sorted((corpus / "openbmb/UltraFeedback").glob("*.jsonl"))):
        responses = [c["response"] for c in record["completions"]]
        rows.append(([record["instruction"], *responses], record["instruction"]))
    frames.append(pl.DataFrame(rows, schema=frames[0].schema, orient="row"))
    return pl.concat(frames)


def _dialogue_columns(column: str) -> list[pl.Expr]:
    turn = pl.element().struct
    return [
        pl.col(column).list.eval(turn.field("content")).alias("texts"),
        pl.col(column)
        .list.eval(pl.element().filter(turn.field("role") == "user").struct.field("content"))
        .list.first()
        .alias("first_user"),
    ]


def _jsonl(paths: Sequence[Path]) -> list[dict]:
    records = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and isinstance(record.get("data", []), list):
                records.append(record)
    return records


@dataclass
class Samples:
    pii: list[str]  # distinct texts of every turn
    language_full: list[str]  # a row's first user turn, whole (naive input)
    language_cut: list[str]  # the same, as the pipeline detects it (cut to max_chars)


def draw_samples(corpus: Path, pii_n: int, language_n: int, seed: int = 0) -> Samples:
    rows = _rows(corpus)
    rng = np.random.default_rng(seed)
    texts = rows["texts"].explode().drop_nulls().unique(maintain_order=True)
    texts = texts.filter(texts.str.len_chars() > 0)
    pii = texts.gather(rng.permutation(texts.len())[:pii_n]).to_list()
    firsts = rows.select(full="first_user").drop_nulls().unique(maintain_order=True)
    picked = firsts[rng.permutation(firsts.height)[:language_n].tolist()]
    max_chars = LanguageSettings().max_chars
    cut = picked.select(pl.col("full").str.slice(0, max_chars))["full"].to_list()
    return Samples(pii, picked["full"].to_list(), cut)


# ----------------------------------------------------------------------------- PII


class NaivePresidio:
    """Stock Presidio, the obvious way: analyze then anonymize, one text at a time."""

    def __init__(self, settings: PiiSettings) -> None:
        import tldextract
        from presidio_analyzer import AnalyzerEngine
        from presidio_anonymizer import AnonymizerEngine

        # Presidio's EmailRecognizer calls tldextract.extract, whose default extractor
        # downloads the public suffix list: use the bundled snapshot (this process only).
        tldextract.tldextract.TLD_EXTRACTOR = offline_tld_extractor()
        self.entities = list(settings.entities)
        self.threshold = settings.score_threshold
        self.analyzer = AnalyzerEngine(
            nlp_engine=build_nlp_engine(None), supported_languages=["en"]
        )
        self.anonymizer = AnonymizerEngine()
        self.scrub("warm-up: mail jonathan.whitaker@fastmail.com or call +1 212-555-0100")

    def analyze(self, text: str) -> list[Span]:
        results = self.analyzer.analyze(
            text, language="en", entities=self.entities, score_threshold=self.threshold
        )
        return [(r.entity_type, r.start, r.end) for r in results]

    def scrub(self, text: str) -> str:
        results = self.analyzer.analyze(
            text, language="en", entities=self.entities, score_threshold=self.threshold
        )
        return self.anonymizer.anonymize(text=text, analyzer_results=results).text


def ours_scrub(texts: list[str], settings: PiiSettings, workers: int) -> list[str]:
    findings = find_pii(texts, settings, workers)
    return [redact_dicts(t, f) for t, f in zip(texts, findings, strict=True)]


def pii_throughput(texts: list[str], workers: int) -> dict[str, Timing]:
    settings = PiiSettings()
    naive = NaivePresidio(settings)
    engine = PiiEngine(settings)
    engine.analyze("warm-up: mail jonathan.whitaker@fastmail.com or call +1 212-555-0100")
    return {
        "naive": timed(lambda: [naive.scrub(t) for t in texts], texts),
        "ours_engine_1_process": timed(
            lambda: [redact_dicts(t, _dicts(engine.analyze(t))) for t in texts], texts
        ),
        pipeline_call_label(texts, workers): timed(
            lambda: ours_scrub(texts, settings, workers), texts
        ),
        **cache_effect(texts, workers),
    }


def pipeline_call_label(texts: Sequence[str], workers: int) -> str:
    """Names the text_engines call: is this batch large enough to go to the worker pool?"""
    if workers > 1 and sum(map(len, texts)) >= PARALLEL_MIN_CHARS:
        return f"ours_pipeline_call ({workers} workers)"
    return "ours_pipeline_call (1 process: batch below PARALLEL_MIN_CHARS)"


def _dicts(findings: Sequence) -> list[dict]:
    return [vars(f) for f in findings]


def cache_effect(texts: list[str], workers: int) -> dict[str, Timing]:
    """The pipeline's content-hash cache (storage.text_cache.cached_engine_results) on these
    texts: first with an empty cache, then again with every text cached."""
    from storage.lake import Lake
    from storage.text_cache import cached_engine_results

    series = pl.Series("text", texts, dtype=pl.String)
    log = logging.getLogger("bench.cache")
    out: dict[str, Timing] = {}
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as root:
        lake = Lake(root=root)
        for label in ("cache_cold", "cache_warm"):
            try:
                out[label] = timed(
                    lambda: cached_engine_results(log, lake, series, PiiSettings(), workers),
                    texts,
                )
            except TypeError as error:  # the asset module's signature moved on
                logging.getLogger(__name__).warning("cache effect not measured: %s", error)
                return {}
    return out


def pii_quality(
    labelled: Sequence[LabelledText], predict: Callable[[str], list[Span]]
) -> dict[str, object]:
    """Recall of planted spans and precision of findings (same type, overlapping span)."""
    planted: Counter[str] = Counter()
    recalled: Counter[str] = Counter()
    found = correct = 0
    for item in labelled:
        predicted = predict(item.text)
        found += len(predicted)
        correct += sum(_matches(p, item.spans) for p in predicted)
        for span in item.spans:
            planted[span[0]] += 1
            recalled[span[0]] += _matches(span, predicted)
    return {
        "planted": sum(planted.values()),
        "found": found,
        "recall": sum(recalled.values()) / max(1, sum(planted.values())),
        "precision": correct / found if found else 1.0,
        "recall_by_type": {t: recalled[t] / planted[t] for t in sorted(planted)},
    }


def _matches(span: Span, others: Sequence[Span]) -> bool:
    kind, start, end = span
    return any(k == kind and s < end and start < e for k, s, e in others)


def pii_quality_both(labelled: Sequence[LabelledText]) -> dict[str, dict[str, object]]:
    settings = PiiSettings()
    naive = NaivePresidio(settings)
    engine = PiiEngine(settings)
    return {
        "naive": pii_quality(labelled, naive.analyze),
        "ours": pii_quality(
            labelled, lambda t: [(f.entity_type, f.start, f.end) for f in engine.analyze(t)]
        ),
    }


# ----------------------------------------------------------------------------- language


def naive_detect(text: str) -> str:
    from langdetect import detect as langdetect_detect
    from langdetect.lang_detect_exception import LangDetectException

    try:
        return to_iso639_1(langdetect_detect(text))
    except LangDetectException:
        return "und"


def seed_langdetect() -> None:
    from langdetect import DetectorFactory

    DetectorFactory.seed = 0
    naive_detect("warm-up: this loads the language profiles once")


def language_throughput(samples: Samples, workers: int) -> dict[str, Timing]:
    seed_langdetect()
    settings = LanguageSettings()
    detect_languages(["warm-up: this loads the language profiles once"], settings)
    full, cut = samples.language_full, samples.language_cut
    return {
        "naive": timed(lambda: [naive_detect(t) for t in full], full),
        "naive_on_cut_text": timed(lambda: [naive_detect(t) for t in cut], cut),
        "ours_engine_1_process": timed(lambda: detect_languages(cut, settings), cut),
        pipeline_call_label(cut, workers): timed(lambda: detect(cut, settings, workers), cut),
    }


def language_quality(
    labelled: Sequence[tuple[str, str]], predict: Callable[[list[str]], list[str]]
) -> dict[str, object]:
    predicted = predict([text for _, text in labelled])
    per_lang: dict[str, list[bool]] = defaultdict(list)
    for (lang, _), guess in zip(labelled, predicted, strict=True):
        per_lang[lang].append(guess == lang)
    hits = [ok for oks in per_lang.values() for ok in oks]
    return {
        "texts": len(hits),
        "accuracy": sum(hits) / max(1, len(hits)),
        "undetermined": sum(guess == "und" for guess in predicted),
        "accuracy_by_language": {k: sum(v) / len(v) for k, v in sorted(per_lang.items())},
    }


def language_quality_both(labelled: Sequence[tuple[str, str]]) -> dict[str, dict[str, object]]:
    seed_langdetect()
    settings = LanguageSettings()
    return {
        "naive": language_quality(labelled, lambda texts: [naive_detect(t) for t in texts]),
        "ours": language_quality(
            labelled,
            lambda texts: [
                lang for lang, _ in detect_languages([t[: settings.max_chars] for t in texts])
            ],
        ),
    }


def curated_language_samples() -> list[tuple[str, str]]:
    """The hand-written multilingual test texts (tests/transforms), if present."""
    try:
        from tests.transforms.multilingual_samples import LANGUAGE_SAMPLES
    except ImportError:
        return []
    return list(LANGUAGE_SAMPLES)


# ----------------------------------------------------------------------------- fan-out


def fan_out(samples: Samples, max_workers: int) -> dict[str, dict[str, Timing]]:
    """Each text engine on the same texts in 1, 2, ... `max_workers` processes (issue 9:
    does the work spread over the cores?). 1 is the engine in this process; N > 1 goes
    through the pipeline's worker pool, started and warmed (every worker has built its
    engine) before timing, as it is during a run after its first batch. Language is
    measured with langdetect on every text (`english_fast_path=False`): the fast path
    leaves too little work per text to say anything about scaling."""
    engines: dict[str, tuple[Callable[[list[str], int], object], list[str]]] = {
        "pii": (lambda texts, n: find_pii(texts, PiiSettings(), n), samples.pii),
        "language (langdetect on every text)": (
            lambda texts, n: detect(texts, LanguageSettings(english_fast_path=False), n),
            samples.language_cut,
        ),
    }
    out: dict[str, dict[str, Timing]] = {}
    with forced_parallel():
        for name, (run, texts) in engines.items():
            out[name] = {}
            for workers in range(1, max_workers + 1):
                run(texts[: 4 * CHUNK_TEXTS * workers], workers)  # warm-up: start and build
                out[name][str(workers)] = timed(lambda r=run, t=texts, w=workers: r(t, w), texts)
    return out


@contextmanager
def forced_parallel() -> Iterator[None]:
    """Every batch goes to the worker pool, however small (the thresholds that keep small
    batches in process would otherwise decide for us)."""
    saved = text_engines.PARALLEL_MIN_CHARS, text_engines.LANGUAGE_PARALLEL_MIN_CHARS
    text_engines.PARALLEL_MIN_CHARS = text_engines.LANGUAGE_PARALLEL_MIN_CHARS = 0
    try:
        yield
    finally:
        text_engines.PARALLEL_MIN_CHARS, text_engines.LANGUAGE_PARALLEL_MIN_CHARS = saved
