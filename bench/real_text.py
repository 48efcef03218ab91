"""Real chat text for the benchmark corpus: what people typed and what models answered.

The texts are the evaluation's vendored real set (evaluation/data/real_text/, provenance in
its SOURCE.md): ShareGPT turns people typed and ChatGPT answered, and GPT-4's answers from
Arena-Hard-Auto, with code, logs, maths, letters and many languages, as published.
Arena-Hard's questions are left out: they are a benchmark. A user turn is drawn from the
texts people wrote, an assistant turn from those models wrote; each draw gets a unique
marker word, so that neither deduplication nor the text cache can shortcut the work the
engines do. Lengths and languages are the real texts' own: the `langs` and turn shapes a
template corpus asks for are ignored.
"""

from __future__ import annotations

import json
import string
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from bench.text_pools import TurnShape
from transforms.language import LanguageSettings, detect_language
from transforms.pii import PiiSettings, candidate_entities

REAL_TEXTS = (
    Path(__file__).resolve().parents[1] / "evaluation" / "data" / "real_text" / "texts.jsonl"
)
BENCHMARK_QUESTIONS = "ah-q-"
"""Arena-Hard's questions: a benchmark the lake decontaminates against, so not corpus text
(drawn at their share of the set, a fifth of all prompts would be removed as leaks)."""
MARKER_LETTERS = np.array(list(string.ascii_lowercase))
MARKER_LENGTH = 12


def real_texts(path: Path = REAL_TEXTS) -> dict[str, np.ndarray]:
    """The vendored texts by who wrote them ("person", "model")."""
    by_author: dict[str, list[str]] = {"person": [], "model": []}
    with path.open(encoding="utf-8") as lines:  # by "\n" only: texts hold U+2028 and the like
        records = [json.loads(line) for line in lines if line.strip()]
    for record in records:
        if record["id"].startswith(BENCHMARK_QUESTIONS):
            continue
        by_author[record["written_by"]].append(record["text"])
    return {author: np.array(texts, dtype=object) for author, texts in by_author.items()}


class RealTextFactory:
    """Turns drawn from real chat text, each made unique; the interface of
    bench.text_pools.TextFactory (`rng`, `turns`, `planted`)."""

    def __init__(self, seed: int, texts: dict[str, np.ndarray] | None = None) -> None:
        self.rng = np.random.default_rng(seed)
        self.texts = texts if texts is not None else real_texts()
        self.planted: Counter[str] = Counter()  # nothing is planted: the text is as written

    def turns(self, langs: np.ndarray, shape: TurnShape) -> list[str]:
        """One real turn per entry of `langs`: a model's text for an assistant shape, a
        person's otherwise, followed by a marker word no other turn has."""
        pool = self.texts["model" if shape.assistant else "person"]
        picks = pool[self.rng.integers(0, len(pool), len(langs))].tolist()
        letters = MARKER_LETTERS[self.rng.integers(0, 26, (len(langs), MARKER_LENGTH))]
        markers = ["".join(row) for row in letters.tolist()]
        return [f"{text}\n\n{marker}" for text, marker in zip(picks, markers, strict=True)]


def text_character(texts: list[str]) -> dict[str, Any]:
    """What makes text costly for the engines: the share of texts that trip the PII
    pre-filter (transforms/pii.py `candidate_entities`: the only texts Presidio sees) and
    the language mix (transforms/language.py with its default settings)."""
    settings, language = PiiSettings(), LanguageSettings()
    tripped = sum(1 for text in texts if candidate_entities(text, settings.entities))
    languages = Counter(detect_language(text, language)[0] for text in texts)
    return {
        "texts": len(texts),
        "prefilter_trip_rate": round(tripped / len(texts), 4) if texts else None,
        "languages": dict(languages.most_common(12)),
    }


def character_of_corpus_and_real(corpus_texts: list[str], sample: int, seed: int = 0) -> dict:
    """`text_character` of a sample of the corpus's texts beside the vendored real texts'."""
    rng = np.random.default_rng(seed)
    picked = [corpus_texts[i] for i in rng.permutation(len(corpus_texts))[:sample].tolist()]
    real = [text for pool in real_texts().values() for text in pool.tolist()]
    return {"corpus": text_character(picked), "real": text_character(real)}
