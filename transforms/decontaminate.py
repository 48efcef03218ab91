"""Decontamination: keep benchmark prompts out of training views.

The index is built from pinned reference lists of the lake's own, vendored under
`sources/benchmarks/` (one JSONL per benchmark: MT-bench, Arena-Hard-Auto v0.1 and v2.0,
TruthfulQA; provenance in its SOURCE.md), whatever was ingested, plus any further named
lists a caller adds (the MT-bench questions found in the ingested judgments). Every turn of
every question is indexed, so MT-bench's second turns are too.

A user turn matches a benchmark when, both normalised (NFKC, case-folded, words only:
case, punctuation and spacing ignored):

1. it equals one of the benchmark's turns, whatever their length; or
2. it shares a run of `n` consecutive words (default 13) with one of them; or
3. one of them, `min_words` (default 8) to `n - 1` words long, occurs whole inside it as
   consecutive words (a short question pasted inside a longer prompt).

A turn shorter than `min_words` words matches only exactly: "Why do veins appear blue?"
(TruthfulQA) is too likely to be part of unrelated text. A row is counted once, under the
first benchmark by name that one of its user turns matches.

Words are runs of word characters (`\w+`), so an unspaced run of CJK text is one word:
in those scripts the rules compare whole clauses.

Why these figures: GPT-3 (Brown et al. 2020, "Language Models are Few-Shot Learners",
arXiv:2005.14165, section 4 and appendix C) flagged a benchmark example as leaked when it
had "a 13-gram overlap with anything in the pretraining set (or that overlap with the
whole example when it is shorter than 13-grams)": rules 2 and 3 here, in words. Rule 3
adds a floor that GPT-3 did not have, 8 words, the n-gram length PaLM (Chowdhery et al.
2022, arXiv:2204.02311) counted overlaps in. Llama 2 (Touvron et al. 2023,
arXiv:2307.09288, appendix A.6) counts tokens in shared n-grams of more than 10 *tokens*
instead, a measure of how much of a sample leaked, not a word-run rule.

Lookups are hash lookups, not a scan over the questions: every indexed word run (an
n-gram, or a whole short question) is filed under its first `min(min_words, n)` words, so
a text costs one dict lookup per word, and a comparison per run filed under a key it holds.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

_WORD = re.compile(r"\w+")
DEFAULT_NGRAM = 13
DEFAULT_MIN_WORDS = 8
JUDGMENTS_BENCHMARK = "mt_bench_judgments"
"""The name `evaluation_index` gives questions found in the ingested MT-bench judgments."""

Run = tuple[str, ...]
"""Consecutive normalised words."""


def normalise_for_match(text: str) -> str:
    """NFKC, case-folded, punctuation dropped, whitespace collapsed."""
    return " ".join(words(text))


def words(text: str) -> list[str]:
    """The words of `text` (runs of word characters), NFKC-normalised and case-folded."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def windows(tokens: Sequence[str], size: int) -> Iterator[Run]:
    """Every run of `size` consecutive tokens, in order (none when there are fewer)."""
    return zip(*(tokens[i:] for i in range(size)), strict=False)


def benchmark_turns(lines: Iterable[str], where: str) -> list[str]:
    """Every turn of a benchmark list's lines, each `{"id": ..., "turns": [text, ...]}`.

    A malformed line is a ValueError naming `where` and the line: a question silently
    skipped would stay in the training data.
    """
    return [turn for number, line in enumerate(lines, 1) for turn in _turns(line, where, number)]


def _turns(line: str, where: str, number: int) -> list[str]:
    """The turns of one benchmark line, or a ValueError saying where it is malformed."""
    where = f"{where}, line {number}"
    try:
        row = json.loads(line)
    except json.JSONDecodeError as error:
        raise ValueError(f"{where}: not JSON ({error.msg})") from error
    turns = row.get("turns") if isinstance(row, dict) else None
    if not (
        isinstance(turns, list)
        and turns
        and "id" in row
        and all(isinstance(t, str) and words(t) for t in turns)
    ):
        raise ValueError(f'{where}: expected {{"id": ..., "turns": [text with words, ...]}}')
    return turns


@dataclass(frozen=True)
class BenchmarkIndex:
    """Benchmark turns indexed for lookup, each entry naming its benchmark (the first by
    name among those holding it). Build one with `benchmark_index`."""

    exact: Mapping[str, str]
    """Normalised turn -> benchmark (rule 1)."""
    runs: Mapping[Run, tuple[tuple[Run, str], ...]]
    """The first `key_words` words of a run -> its (run, benchmark) pairs; the runs are the
    n-grams of turns of n words or more (rule 2) and whole turns of min_words to n - 1
    words (rule 3)."""
    key_words: int
    n: int
    min_words: int

    def match(self, text: str) -> str | None:
        """The benchmark `text` matches (the first by name when several do), or None."""
        tokens = words(text)
        found = set()
        if (name := self.exact.get(" ".join(tokens))) is not None:
            found.add(name)
        for start, key in enumerate(windows(tokens, self.key_words)):
            if (candidates := self.runs.get(key)) is not None:
                found.update(
                    name
                    for run, name in candidates
                    if tuple(tokens[start : start + len(run)]) == run
                )
        return min(found, default=None)

    def matches(self, text: str) -> bool:
        """Whether `text` matches any benchmark."""
        return self.match(text) is not None


def benchmark_index(
    benchmarks: Mapping[str, Iterable[str]],
    n: int = DEFAULT_NGRAM,
    min_words: int = DEFAULT_MIN_WORDS,
) -> BenchmarkIndex:
    """Index named lists of benchmark turns ({name: turns}) into one index.

    Several sources merge by putting them in one mapping, e.g.
    `{**load_benchmarks(BENCHMARKS_DIR), JUDGMENTS_BENCHMARK: questions}`.
    """
    if n < 1 or min_words < 1:
        raise ValueError(f"n ({n}) and min_words ({min_words}) must be at least 1")
    key_words = min(min_words, n)
    exact: dict[str, str] = {}
    runs: dict[Run, dict[Run, str]] = {}
    for name in sorted(benchmarks):
        for turn in benchmarks[name]:
            tokens = words(turn)
            if not tokens:
                continue
            exact.setdefault(" ".join(tokens), name)
            if len(tokens) >= n:
                indexed = list(windows(tokens, n))
            elif len(tokens) >= min_words:
                indexed = [tuple(tokens)]
            else:
                continue
            for run in indexed:
                runs.setdefault(run[:key_words], {}).setdefault(run, name)
    return BenchmarkIndex(
        exact=exact,
        runs={key: tuple(filed.items()) for key, filed in runs.items()},
        key_words=key_words,
        n=n,
        min_words=min_words,
    )


def evaluation_index(questions: Iterable[str], n: int = DEFAULT_NGRAM) -> BenchmarkIndex:
    """Index one list of evaluation questions, named `JUDGMENTS_BENCHMARK`."""
    return benchmark_index({JUDGMENTS_BENCHMARK: questions}, n)


def contamination(messages: Sequence[dict] | None, index: BenchmarkIndex) -> str | None:
    """The benchmark a user turn of `messages` matches (the first by name), or None."""
    found = {index.match(m["content"]) for m in messages or [] if m["role"] == "user"}
    return min(found - {None}, default=None)
