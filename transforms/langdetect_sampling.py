"""langdetect's sampling detector, with its arithmetic on NumPy rows: the same answers,
several times faster.

langdetect (1.0.9, pinned in the lock file) scores a text by 7 trials; each trial starts
from the prior, multiplies the 55 language probabilities by the profile row of one
randomly drawn n-gram of the text at a time, normalises every fifth step and stops when
one language passes 0.99999 (or after 1,000 steps). Its inner loop runs over the 55
languages in Python for every drawn n-gram, which is ~80 % of its time on chat text.

`sampled_probabilities` follows the same steps with the same random generator, drawn in
the same order, and does each step's arithmetic element by element exactly as langdetect
does (the product `prob[i] * (weight + row[i])`, the left-to-right Python `sum`, then
`prob[i] / sum`), so every float is the one langdetect computes: the results are equal,
not close (tests/transforms/test_langdetect_sampling.py compares them on real text).
Text cleaning and n-gram extraction are langdetect's own (`Detector`).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from langdetect.detector import Detector
from langdetect.detector_factory import DetectorFactory
from langdetect.lang_detect_exception import ErrorCode, LangDetectException


@dataclass(frozen=True)
class SamplingProfiles:
    """langdetect's profiles as one matrix: a row of 55 language probabilities per n-gram."""

    languages: tuple[str, ...]
    row_of: dict[str, int]
    rows: np.ndarray

    @classmethod
    def of(cls, factory: DetectorFactory) -> SamplingProfiles:
        words = list(factory.word_lang_prob_map)
        rows = np.array([factory.word_lang_prob_map[w] for w in words], dtype=np.float64)
        return cls(tuple(factory.langlist), {w: i for i, w in enumerate(words)}, rows)


def _drawing(generator: random.Random, n: int) -> Callable[[], int]:
    """What `generator.choice(range(n))` returns, call after call (CPython's `choice` draws
    `_randbelow(n)`: getrandbits of n's bit length until the value is below n)."""
    bits, getrandbits = n.bit_length(), generator.getrandbits

    def draw() -> int:
        value = getrandbits(bits)
        while value >= n:
            value = getrandbits(bits)
        return value

    return draw


def sampled_probabilities(
    detector: Detector, profiles: SamplingProfiles
) -> list[tuple[str, float]]:
    """(language, probability) above langdetect's reporting floor, highest first, as
    `detector.get_probabilities()` would return them, for the text appended to `detector`
    (its seed, alpha, trial count and prior map are used)."""
    detector.cleaning_text()
    ngrams = detector._extract_ngrams()
    if not ngrams:
        raise LangDetectException(ErrorCode.CantDetectError, "No features in text.")
    drawn = profiles.rows[[profiles.row_of[w] for w in ngrams]]
    languages = len(profiles.languages)
    start = (
        np.array(detector.prior_map, dtype=np.float64)
        if detector.prior_map is not None
        else np.full(languages, 1.0 / languages)
    )
    generator = random.Random()
    generator.seed(detector.seed)
    draw = _drawing(generator, len(ngrams))
    total = np.zeros(languages)
    for _ in range(detector.n_trial):
        alpha = detector.alpha + generator.gauss(0.0, 1.0) * detector.ALPHA_WIDTH
        factors = (alpha / detector.BASE_FREQ) + drawn  # weight + lang_prob_map[i]
        # langdetect draws one n-gram per step and normalises after steps 0, 5, 10, ...
        prob = start * factors[draw()]
        step = 0
        while True:
            prob /= sum(prob.tolist())  # langdetect's own left-to-right sum
            if prob.max() > detector.CONV_THRESHOLD or step >= detector.ITERATION_LIMIT:
                break
            for _ in range(5):
                prob *= factors[draw()]
            step += 5
        total += prob / detector.n_trial
    found = [
        (language, float(p))
        for language, p in zip(profiles.languages, total, strict=True)
        if p > detector.PROB_THRESHOLD
    ]
    return sorted(found, key=lambda pair: pair[1], reverse=True)  # stable, as langdetect's
