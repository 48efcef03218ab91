"""Decontamination: keep evaluation prompts (MT-bench's questions) out of training views.

A training example is contaminated when any of its user turns, normalised, equals an
evaluation question, or shares a run of `n` consecutive words with one (long n-gram
overlap: a question pasted inside a longer prompt still matches).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_WORD = re.compile(r"\w+")
DEFAULT_NGRAM = 13


def normalise_for_match(text: str) -> str:
    """NFKC, case-folded, punctuation dropped, whitespace collapsed."""
    return " ".join(words(text))


def words(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def ngrams(tokens: Sequence[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


@dataclass(frozen=True)
class EvaluationIndex:
    questions: frozenset[str]
    grams: frozenset[tuple[str, ...]]
    n: int

    def matches(self, text: str) -> bool:
        tokens = words(text)
        if " ".join(tokens) in self.questions:
            return True
        return len(tokens) >= self.n and not ngrams(tokens, self.n).isdisjoint(self.grams)


def evaluation_index(questions: Iterable[str], n: int = DEFAULT_NGRAM) -> EvaluationIndex:
    """Index evaluation questions; questions shorter than n words match only exactly."""
    tokenised = [words(q) for q in questions]
    return EvaluationIndex(
        questions=frozenset(" ".join(t) for t in tokenised if t),
        grams=frozenset(g for t in tokenised for g in ngrams(t, n)),
        n=n,
    )


def is_contaminated(messages: Sequence[dict] | None, index: EvaluationIndex) -> bool:
    return any(m["role"] == "user" and index.matches(m["content"]) for m in messages or [])
