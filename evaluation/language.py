"""How well language identification does on text this project did not write.

Data: the test data of lingua (Peter M. Stahl's language detector), vendored under
``evaluation/data/language`` with its provenance in SOURCE.md. It is three kinds of text per
language, cut from web pages of the Leipzig Wortschatz corpora: whole sentences, pairs of
adjacent words and single words. The word pairs (~16 characters) stand in for the two- and
three-word prompts of chat data, which langdetect alone cannot be trusted with.

Three detectors are compared on the same texts, in this process, each timed after a warm-up:

* ``ours``: :func:`transforms.language.detect_languages` with the default settings
  (langdetect for ordinary text, the lingua + langdetect short-text path below
  ``min_chars`` letters, ``"und"`` when unsure);
* ``langdetect``: plain langdetect as a naive job would call it, ``detect_langs`` with the
  factory seed fixed, its top label mapped to ISO 639-1, on the raw text; it always answers
  unless it raises;
* ``ours_short_off``: ours with ``short_text_path=False``, i.e. ``"und"`` below
  ``min_chars`` letters (the behaviour before the short-text path).

Scores (:func:`score`): *coverage* is the share of texts answered (not ``"und"``),
*accuracy* the share of answered texts answered correctly, *accuracy over all* the share of
all texts answered correctly (``"und"`` counts as wrong). The memory the short-text path
costs is measured in a fresh process (:func:`measure_memory`).

Caveat, stated in the report too: lingua's models were trained on other documents of the
same Leipzig corpora, so this data is lingua's home ground; langdetect was trained on
Wikipedia. It is the only openly licensed per-language test set we found with word pairs,
single words and sentences for most of langdetect's languages.
"""

from __future__ import annotations

import multiprocessing
import resource
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

from langdetect import DetectorFactory, detect_langs
from langdetect.lang_detect_exception import LangDetectException

from transforms.language import (
    DEFAULT_LANGUAGE_SETTINGS,
    LanguageSettings,
    detect_languages,
    lingua_confidences,
    to_iso639_1,
)

DATA_DIR = Path(__file__).resolve().parent / "data" / "language"
UNDETERMINED = "und"

# kind -> file; each file is "lang<TAB>text" lines under a header line.
KINDS: dict[str, str] = {
    "sentences": "sentences.tsv",
    "word_pairs": "word_pairs.tsv",
    "single_words": "single_words.tsv",
}
KIND_TITLES: dict[str, str] = {
    "sentences": "Sentences",
    "word_pairs": "Word pairs",
    "single_words": "Single words",
}
DETECTORS: tuple[str, ...] = ("ours", "langdetect", "ours_short_off")
DETECTOR_TITLES: dict[str, str] = {
    "ours": "ours (default settings)",
    "langdetect": "plain langdetect",
    "ours_short_off": "ours, short-text path off",
}

# Where the vendored data comes from (evaluation/data/language/SOURCE.md has the details).
SOURCES: tuple[dict[str, str], ...] = (
    {
        "texts": "all sentences and single words; word pairs except de, fr, it",
        "repo": "pemistahl/lingua-go",
        "commit": "c3c2a93d29c7ae5556331c062fac4c4cf15c76a8",
        "path": "language-testdata/{sentences,word-pairs,single-words}/<iso>.txt",
        "licence": "Apache-2.0",
        "copyright": "Copyright © 2021-today Peter M. Stahl",
    },
    {
        "texts": "word pairs de, fr, it",
        "repo": "pemistahl/lingua",
        "commit": "1daa6da86f11d7fc11c275a2fbc6438c5e48c751",
        "path": "src/test/resources/language-testdata/word-pairs/{de,fr,it}.txt",
        "licence": "Apache-2.0",
        "copyright": "Copyright © 2018-today Peter M. Stahl",
    },
)

Detector = Callable[[Sequence[str]], list[str]]

# The memory probe classifies this many texts of every language of every kind (~700 texts:
# every language's models get loaded, in a fraction of the time of the whole set).
MEMORY_TEXTS_PER_LANGUAGE = 10


def load_texts(kind: str, data_dir: Path = DATA_DIR) -> list[tuple[str, str]]:
    """``(iso639_1, text)`` pairs of one kind, in file order."""
    lines = (data_dir / KINDS[kind]).read_text(encoding="utf-8").split("\n")
    pairs = []
    for line in lines[1:]:  # the first line is the header
        if line:
            lang, text = line.split("\t", 1)
            pairs.append((lang, text))
    return pairs


def _ratios(n: int, answered: int, correct: int) -> dict[str, float | int]:
    return {
        "n": n,
        "answered": answered,
        "correct": correct,
        "coverage": answered / n if n else 0.0,
        "accuracy": correct / answered if answered else 0.0,
        "accuracy_all": correct / n if n else 0.0,
    }


def score(expected: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    """Coverage and accuracy of ``predicted`` labels against ``expected``, overall and per
    expected language. ``"und"`` is an abstention: it lowers coverage, not accuracy."""
    if len(expected) != len(predicted):
        raise ValueError("expected and predicted differ in length")
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # n, answered, correct
    for want, got in zip(expected, predicted, strict=True):
        row = totals[want]
        row[0] += 1
        row[1] += got != UNDETERMINED
        row[2] += got == want
    overall = [sum(row[i] for row in totals.values()) for i in range(3)]
    return {
        "overall": _ratios(*overall),
        "per_language": {lang: _ratios(*totals[lang]) for lang in sorted(totals)},
    }


def plain_langdetect(texts: Sequence[str]) -> list[str]:
    """langdetect as a naive job calls it: seeded ``detect_langs``, top label, ISO 639-1."""
    DetectorFactory.seed = 0
    labels = []
    for text in texts:
        try:
            labels.append(to_iso639_1(detect_langs(text)[0].lang))
        except LangDetectException:
            labels.append(UNDETERMINED)
    return labels


def detectors() -> dict[str, Detector]:
    """The compared detectors by name (see the module docstring)."""
    short_off = LanguageSettings(short_text_path=False)
    return {
        "ours": lambda texts: [code for code, _ in detect_languages(texts)],
        "langdetect": plain_langdetect,
        "ours_short_off": lambda texts: [code for code, _ in detect_languages(texts, short_off)],
    }


def first_texts(data: Mapping[str, list[tuple[str, str]]], per_language: int = 1) -> list[str]:
    """The first ``per_language`` texts of every language of every kind. Classifying them
    loads every model a detector loads lazily (so a timed pass after them measures
    steady-state speed, and a memory probe sees every language's models)."""
    picked: list[str] = []
    taken: Counter[tuple[str, str]] = Counter()
    for kind, pairs in data.items():
        for lang, text in pairs:
            if taken[kind, lang] < per_language:
                taken[kind, lang] += 1
                picked.append(text)
    return picked


def _timed(detector: Detector, texts: Sequence[str]) -> tuple[list[str], dict[str, float]]:
    start = time.perf_counter()
    labels = detector(texts)
    seconds = time.perf_counter() - start
    chars = sum(len(text) for text in texts)
    return labels, {
        "seconds": seconds,
        "texts_per_second": len(texts) / seconds if seconds else float("inf"),
        "chars_per_second": chars / seconds if seconds else float("inf"),
    }


def _rss_mb() -> float:
    """Resident memory of this process in MB (peak RSS where /proc is not available)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _memory_probe(texts: list[str]) -> dict[str, float]:
    """Run in a fresh process: RSS after langdetect only, then after the short-text path."""
    start = _rss_mb()
    detect_languages(texts, LanguageSettings(short_text_path=False))
    langdetect_only = _rss_mb()
    detect_languages(texts)
    with_lingua = _rss_mb()
    short = [text for text in texts if len(text) < 40]
    began = time.perf_counter()
    for text in short:
        lingua_confidences(text)
    lingua_ms = (time.perf_counter() - began) * 1000 / max(len(short), 1)
    return {
        "rss_start_mb": start,
        "rss_langdetect_mb": langdetect_only,
        "rss_with_short_path_mb": with_lingua,
        "short_path_extra_mb": with_lingua - langdetect_only,
        "lingua_ms_per_short_text": lingua_ms,
        "short_texts_timed": len(short),
    }


def measure_memory(texts: list[str]) -> dict[str, float]:
    """RSS cost of the short-text path (lingua's models, loaded lazily) in a fresh process,
    after classifying ``texts`` (texts of every language) with it off and then on; and
    lingua's steady-state cost per short text there."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(_memory_probe, texts).result(timeout=600)


def evaluate(data_dir: Path = DATA_DIR) -> dict[str, Any]:
    """Scores, throughput and memory for the three detectors on the vendored lingua data."""
    data = {kind: load_texts(kind, data_dir) for kind in KINDS}
    warm_up = first_texts(data)
    kinds: dict[str, Any] = {}
    by_name = detectors()
    for name in DETECTORS:
        by_name[name](warm_up)
    for kind, pairs in data.items():
        expected = [lang for lang, _ in pairs]
        texts = [text for _, text in pairs]
        results = {}
        for name in DETECTORS:
            labels, speed = _timed(by_name[name], texts)
            results[name] = {**score(expected, labels), "throughput": speed}
        kinds[kind] = {
            "texts": len(pairs),
            "languages": sorted(Counter(expected)),
            "chars": sum(len(text) for text in texts),
            "detectors": results,
        }
    return {
        "sources": [dict(source) for source in SOURCES],
        "settings": asdict(DEFAULT_LANGUAGE_SETTINGS),
        "kinds": kinds,
        "memory": measure_memory(first_texts(data, MEMORY_TEXTS_PER_LANGUAGE)),
    }


def _pct(value: float) -> str:
    return f"{value:.1%}"


def _summary_table(result: Mapping[str, Any]) -> list[str]:
    rows = [
        "| texts | detector | coverage | accuracy (answered) | accuracy (all) | texts/s "
        "| chars/s |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for kind, found in result["kinds"].items():
        for name in DETECTORS:
            got = found["detectors"][name]
            overall, speed = got["overall"], got["throughput"]
            rows.append(
                f"| {KIND_TITLES[kind]}, {found['texts']:,} | {DETECTOR_TITLES[name]} "
                f"| {_pct(overall['coverage'])} | {_pct(overall['accuracy'])} "
                f"| {_pct(overall['accuracy_all'])} | {speed['texts_per_second']:,.0f} "
                f"| {speed['chars_per_second']:,.0f} |"
            )
    return rows


def _per_language_table(found: Mapping[str, Any]) -> list[str]:
    rows = [
        "| language | texts | ours: coverage | ours: accuracy | plain langdetect: accuracy "
        "| short path off: coverage | short path off: accuracy |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    ours = found["detectors"]["ours"]["per_language"]
    plain = found["detectors"]["langdetect"]["per_language"]
    off = found["detectors"]["ours_short_off"]["per_language"]
    for lang in found["languages"]:
        rows.append(
            f"| {lang} | {ours[lang]['n']} | {_pct(ours[lang]['coverage'])} "
            f"| {_pct(ours[lang]['accuracy'])} | {_pct(plain[lang]['accuracy'])} "
            f"| {_pct(off[lang]['coverage'])} | {_pct(off[lang]['accuracy'])} |"
        )
    return rows


def markdown(result: Mapping[str, Any]) -> str:
    """The language section of docs/quality.md (self-contained, with its sources)."""
    settings = result["settings"]
    memory = result["memory"]
    out = [
        "## Language",
        "",
        "Language identification (`transforms/language.py`) on lingua's test data: sentences, "
        "two-word texts and single words, labelled by the corpus they were cut from. "
        "Coverage is the share of texts answered (not `und`); accuracy is over the answered "
        "texts, *accuracy (all)* over all texts (`und` counts as wrong). Plain langdetect is "
        "`detect_langs` with a fixed seed, its top label mapped to ISO 639-1, on the raw "
        "text. Throughput is one process, after a warm-up, on these texts (it varies with the "
        "machine's load).",
        "",
        f"Settings: `min_chars={settings['min_chars']}` letters for langdetect alone; texts "
        f"of `short_min_chars={settings['short_min_chars']}` to {settings['min_chars'] - 1} "
        "letters take the short-text path (lingua, low-accuracy mode, and langdetect "
        f"combined, lingua weight {settings['short_lingua_weight']}) and are answered when "
        f"the winner's share is at least `short_min_share={settings['short_min_share']}`.",
        "",
        *_summary_table(result),
        "",
        f"Memory: the short-text path (lingua's models, loaded lazily) added "
        f"{memory['short_path_extra_mb']:.0f} MB of RSS to a fresh process that had "
        f"classified {MEMORY_TEXTS_PER_LANGUAGE} texts of every language and kind with "
        f"langdetect only ({memory['rss_langdetect_mb']:.0f} MB "
        f"-> {memory['rss_with_short_path_mb']:.0f} MB). lingua's steady-state cost: "
        f"{memory['lingua_ms_per_short_text']:.2f} ms per short text "
        f"({memory['short_texts_timed']} texts under 40 characters).",
    ]
    for kind, found in result["kinds"].items():
        out += [
            "",
            f"### {KIND_TITLES[kind]}: per language",
            "",
            *_per_language_table(found),
        ]
    out += [
        "",
        "### Sources",
        "",
        "| texts | repository | path | commit | licence |",
        "|---|---|---|---|---|",
    ]
    for source in result["sources"]:
        out.append(
            f"| {source['texts']} | [{source['repo']}](https://github.com/{source['repo']}) "
            f"| `{source['path']}` | `{source['commit'][:12]}` | {source['licence']}, "
            f"{source['copyright']} |"
        )
    out += [
        "",
        "lingua's test data, for the languages that both langdetect and lingua know and that "
        "the copy we could read holds; the first lines of each file (sentences 30, word pairs "
        "and single words 100; de/fr/it word pairs, from alphabetically sorted files, four runs "
        "of 25 lines spread over the file); see `evaluation/data/language/SOURCE.md`. lingua "
        "states that its models and its test data come from separate documents of the "
        "Wortschatz corpora of Leipzig University (news sites for training, arbitrary websites "
        "for testing). That makes this data lingua's home ground, while langdetect was "
        "trained on Wikipedia: the short-text path may gain less on chat text. The files also "
        "carry the corpora's noise (Spanish without accented letters, some mis-encoded "
        "Romanian and Turkish, alphabetically sorted sentence files).",
        "",
    ]
    return "\n".join(out)
