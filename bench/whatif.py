"""Measure proposed changes to the pipeline's text engines without changing the pipeline.

    .venv/bin/python -m bench.whatif --scale 0.1

Uses the corpus of `bench.run` at the same scale (generated first if absent). Two proposals
are measured, on the same sampled texts as the baselines:

1. Start the engines' worker processes once per process, not once per call. Until
   2026-11-23 ~20:45 transforms/text_engines.py started a spawn-context
   ProcessPoolExecutor in every find_pii / detect call whose batch reached
   PARALLEL_MIN_CHARS; every worker then imported Presidio, spaCy, langdetect (and the
   main module's imports) and built its engine. Measured here: the cost of starting such a
   pool, the same batch in one process, and two consecutive parallel calls (with a pool
   kept per process, as text_engines now does, only the first pays the start).

2. Answer English without langdetect when the text plainly is English.
   langdetect costs ~3 ms per text whatever we do (7 randomised trials over 55 language
   profiles, in pure Python), and over 90 % of the corpus is English. Prototyped here, now
   transforms/language.py's English fast path (`plainly_english`: only ASCII letters, at
   least 8 words, at least 20 % of them among 37 very frequent English function words, and
   some of them English-only). Measured against `english_fast_path=False` (langdetect
   only): share of texts it answers, agreement with langdetect, accuracy on the labelled
   sets, and speed.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from bench import baselines
from bench.generate_corpus import corpus_spec
from bench.run import OUT, corpus_dir, ensure_corpus
from bench.text_pools import TextFactory
from transforms.language import (
    LanguageSettings,
    clean_for_detection,
    detect_language,
    detect_languages,
    letter_count,
    plainly_english,
)
from transforms.pii import PiiSettings
from transforms.text_engines import PARALLEL_MIN_CHARS, detect, find_pii


def takes_fast_path(text: str, settings: LanguageSettings) -> bool:
    """Whether detect_language answers `text` without langdetect (default min_prob)."""
    cleaned = clean_for_detection(text, settings.max_chars)
    return letter_count(cleaned) >= settings.min_chars and plainly_english(cleaned)


def seconds(fn: Any) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _warm_engines(_: int) -> int:
    """What a worker does before its first chunk: import everything, build both engines."""
    find_pii(["warm-up: mail jonathan.whitaker@fastmail.com"], PiiSettings(), 1)
    detect_languages(["warm-up: this loads the language profiles once"])
    return 0


def pool_start(workers: int) -> float:
    """Seconds to start a spawn pool whose workers import and build the engines."""
    context = multiprocessing.get_context("spawn")
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        list(pool.map(_warm_engines, range(workers)))
    return time.perf_counter() - started


def over_threshold(texts: list[str]) -> list[str]:
    """The shortest run of `texts` (cycled) large enough to be given a worker pool."""
    batch, total = [], 0
    while total <= PARALLEL_MIN_CHARS:
        text = texts[len(batch) % len(texts)]
        batch.append(text)
        total += len(text)
    return batch


def pool_proposal(texts: list[str], cut: list[str], workers: int) -> dict[str, float]:
    pii_batch, lang_batch = over_threshold(texts), over_threshold(cut)
    settings, language = PiiSettings(), LanguageSettings()
    return {
        "empty_pool_start_s": pool_start(workers),
        "pii_batch_texts": len(pii_batch),
        "pii_one_process_s": seconds(lambda: find_pii(pii_batch, settings, 1)),
        "pii_first_parallel_call_s": seconds(lambda: find_pii(pii_batch, settings, workers)),
        "pii_second_parallel_call_s": seconds(lambda: find_pii(pii_batch, settings, workers)),
        "language_batch_texts": len(lang_batch),
        "language_one_process_s": seconds(lambda: detect(lang_batch, language, 1)),
        "language_parallel_call_s": seconds(lambda: detect(lang_batch, language, workers)),
    }


def english_proposal(cut: list[str], labelled: list[tuple[str, str]]) -> dict[str, Any]:
    without, settings = LanguageSettings(english_fast_path=False), LanguageSettings()
    detect_languages(["warm-up: this loads the language profiles once"], without)
    current: list[tuple[str, float]] = []
    proposed: list[tuple[str, float]] = []
    current_s = seconds(lambda: current.extend(detect_languages(cut, without)))
    proposed_s = seconds(lambda: proposed.extend(detect_languages(cut, settings)))
    fast = [takes_fast_path(t, settings) for t in cut]
    agree = sum(c[0] == p[0] for c, p in zip(current, proposed, strict=True))
    fast_current_en = sum(f and c[0] == "en" for f, c in zip(fast, current, strict=True))
    return {
        "texts": len(cut),
        "answered_by_fast_path": sum(fast),
        "fast_path_agrees_with_langdetect": fast_current_en / max(1, sum(fast)),
        "overall_agreement": agree / len(cut),
        "current_s": current_s,
        "proposed_s": proposed_s,
        "speedup": current_s / proposed_s,
        "labelled_accuracy_current": _accuracy(labelled, lambda t: detect_language(t, without)[0]),
        "labelled_accuracy_proposed": _accuracy(
            labelled, lambda t: detect_language(t, settings)[0]
        ),
    }


def _accuracy(labelled: list[tuple[str, str]], predict: Any) -> float:
    return sum(predict(text) == lang for lang, text in labelled) / len(labelled)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--ultrachat-scale", type=float, default=None)
    parser.add_argument("--workers", type=int, default=multiprocessing.cpu_count())
    parser.add_argument("--sample", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    spec = corpus_spec(args.scale, args.ultrachat_scale)
    corpus = corpus_dir(args.out, spec)
    ensure_corpus(spec, corpus, args.workers)
    samples = baselines.draw_samples(corpus, args.sample, args.sample)
    labelled = TextFactory(seed=20_231_124).labelled_languages(2_000)
    labelled += baselines.curated_language_samples()
    results = {
        "pool": pool_proposal(samples.pii, samples.language_cut, args.workers),
        "english_fast_path": english_proposal(samples.language_cut, labelled),
    }
    path = args.out / f"whatif-{spec.scale:g}.json"
    path.write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
