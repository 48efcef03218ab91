"""Language identification for chat/preference texts.

Thin, deterministic wrapper around ``langdetect`` (a port of Google's language-detection
library: character n-gram profiles for 55 languages, naive-Bayes scoring with random
sampling of n-grams).

Design notes (why it looks like this):

* ``langdetect`` samples n-grams with a PRNG, so without a fixed seed the same text can get a
  different answer on every call. Every detector we create gets ``settings.seed``; we set it
  on the detector instance rather than on the ``DetectorFactory`` class so that two callers
  with different seeds cannot interfere (and no global state of the library is touched).
* Loading the 55 profiles takes ~0.3 s and ~60 MB, so it happens once per process, lazily,
  behind a lock (safe in threads; in a ``ProcessPoolExecutor`` each worker loads its own copy
  on first use, or inherits the parent's if it was loaded before a fork).
* Creating detectors from our own loaded factory costs the same per call as
  ``langdetect.detect_langs`` (measured: ~2.0 ms for a 330-char English text either way); we
  use the factory directly because it lets us seed per detector and avoid the library's
  unlocked global factory.
* Detection cost grows with text length, so only a bounded prefix is examined.
* URLs, e-mail addresses and code (fenced blocks and inline spans) are ASCII-heavy and pull
  every text towards English, so they are removed first. Digits, punctuation, symbols and
  emoji carry no language signal, so they do not count towards ``min_chars`` (but are still
  handed to the detector: see :func:`clean_for_detection`).
* English fast path: langdetect costs ~1.7 ms per text and ~90 % of the corpus is English, so
  a text that is *plainly* English (:func:`plainly_english`: ASCII letters only, 8+ words, 20 %+
  of them very frequent English function words, some of them not also Romance/Germanic words)
  is answered ``"en"`` without langdetect. Measured with bench/whatif.py (before the
  English-only-words guard, which changes no labelled English decision): it answers 87.5 % of
  the corpus, langdetect says "en" for 100 % of those, and labelled accuracy is unchanged.
  ``LanguageSettings.english_fast_path=False`` restores the langdetect-only behaviour.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import regex
from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.lang_detect_exception import LangDetectException

UNDETERMINED = "und"
_UNDETERMINED_RESULT: tuple[str, float] = (UNDETERMINED, 0.0)

# langdetect labels Chinese by script variant; downstream wants ISO 639-1, where both are "zh".
# Every other langdetect label is already an ISO 639-1 code.
_LANGDETECT_TO_ISO = {"zh-cn": "zh", "zh-tw": "zh"}

# Cleaning scans at most this many raw characters per examined character. A text that opens
# with a long code block or URL list still gets its prose examined, while a pathological
# multi-megabyte text costs no more than a few kilobytes of regex work.
_SCAN_FACTOR = 4

_CODE_FENCE = regex.compile(r"```.*?(?:```|\Z)|~~~.*?(?:~~~|\Z)", regex.DOTALL)
_INLINE_CODE = regex.compile(r"`[^`\n]+`")
_URL = regex.compile(r"(?:https?|ftp)://\S+|www\.\S+", regex.IGNORECASE)
_EMAIL = regex.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Runs of anything that is neither a letter nor a combining mark (Devanagari vowel signs and
# Vietnamese tone marks are marks, and are part of words).
_NON_LETTERS = regex.compile(r"[^\p{L}\p{M}]+")
_HAN = regex.compile(r"\p{Han}")
_HANGUL = regex.compile(r"\p{Hangul}")

# The English fast path (see plainly_english). These are 37 of the most frequent English
# words, all function words: they occur in English prose whatever its topic, so 20 % or more
# of the words of almost any English text of 8+ words are among them (92.6 % of the labelled
# English texts). No Spanish, German, French, Italian, Portuguese or Dutch labelled text
# reaches 15 % (most: 11.8 %, Dutch; texts with an accent never get this far).
ENGLISH_FUNCTION_WORDS = frozenset(
    (
        "the", "and", "of", "to", "a", "in", "is", "that", "it", "for", "you", "on", "with",
        "as", "are", "this", "be", "or", "was", "can", "i", "your", "have", "not", "but", "by",
        "from", "at", "an", "they", "we", "what", "how", "will", "do", "if", "my",
    )
)  # fmt: skip
# ...but 10 of them are also frequent words of those languages: "a" (es/fr/it/pt), "i" (it),
# "in" (de/it/nl), "is" (nl), "an" (de), "on" (fr), "was" (de/nl), "will" (de), "do" and "as"
# (pt). People often type without accents, and accent-free Italian or Portuguese made of
# these can pass 20 % ("Ho portato i bambini a scuola in macchina e poi ..." 31 %; the
# labelled pt/it texts with accents stripped reach 23.5 % / 17.6 %). So at least 5 % of the
# words must also be English-only ones (the other 27): every labelled English text over 20 %
# has 6.5 %+, and no accent-stripped labelled non-English text has more than 3.4 %.
_ALSO_FOREIGN_WORDS = frozenset(("a", "i", "in", "is", "an", "on", "was", "will", "do", "as"))
_ENGLISH_ONLY_WORDS = ENGLISH_FUNCTION_WORDS - _ALSO_FOREIGN_WORDS
ENGLISH_MIN_WORDS = 8
ENGLISH_MIN_FUNCTION_WORD_SHARE = 0.2
ENGLISH_MIN_ENGLISH_ONLY_SHARE = 0.05
# The probability reported with a fast-path answer. It is a fast-path answer, not a
# langdetect average (langdetect itself says ~0.99999 for such texts); a fixed value keeps
# results deterministic and lets callers tell the two apart.
ENGLISH_FAST_PATH_PROB = 0.99
_ENGLISH_FAST_PATH_RESULT: tuple[str, float] = ("en", ENGLISH_FAST_PATH_PROB)
_WORD = regex.compile(r"[a-z]+(?:'[a-z]+)?")
# Any letter or combining mark other than A-Z/a-z: an accent (precomposed "é" or "e" plus a
# combining U+0301), "ß", "ñ", or a letter of another script.
_NON_ASCII_LETTER = regex.compile(r"(?![A-Za-z])[\p{L}\p{M}]")


@dataclass(frozen=True)
class LanguageSettings:
    """Knobs for :func:`detect_language`.

    ``min_chars``: texts with fewer letters-and-word-spaces than this (after removing URLs,
    e-mails, code, digits, punctuation and emoji) are ``"und"``: below ~20 characters
    n-gram statistics are noise (``"ok?"``, ``"hi"``, ``"12345"``). A consequence is that very
    short CJK messages (``"你好"``) are ``"und"`` too.

    ``max_chars``: only the first ``max_chars`` cleaned characters are given to the detector
    (cost is linear in length; 200 characters keep full accuracy on the labelled set at
    half the cost of 400).

    ``min_prob``: if the winning language's probability is below this, the result is
    ``"und"``. langdetect's probability is an average over 7 randomised trials, so a top value
    under 0.5 means the trials disagreed -- typically a genuinely mixed-language text or a
    near-tie between close languages. A wrong label is worse than ``"und"`` for filtering, so
    we decline rather than guess.

    ``seed``: the PRNG seed for langdetect's n-gram sampling; fixed for reproducibility.

    ``english_fast_path``: answer plainly English texts (:func:`plainly_english`) with
    ``("en", ENGLISH_FAST_PATH_PROB)`` without running langdetect (~10x faster on English).
    Not taken when ``min_prob`` exceeds ``ENGLISH_FAST_PATH_PROB``: such texts go to
    langdetect as before. ``False`` gives exactly the langdetect-only behaviour. Being a
    field, it is part of the engine cache's settings fingerprint.
    """

    min_chars: int = 20
    max_chars: int = 200
    min_prob: float = 0.5
    seed: int = 0
    english_fast_path: bool = True

    def __post_init__(self) -> None:
        if self.min_chars < 1 or self.max_chars < self.min_chars:
            raise ValueError("need 1 <= min_chars <= max_chars")
        if not 0.0 <= self.min_prob <= 1.0:
            raise ValueError("min_prob must be within [0, 1]")


DEFAULT_LANGUAGE_SETTINGS = LanguageSettings()

_factory: DetectorFactory | None = None
_factory_lock = threading.Lock()


def _get_factory() -> DetectorFactory:
    """Return the process-wide factory, loading the profiles on first use."""
    global _factory
    if _factory is None:
        with _factory_lock:
            if _factory is None:  # another thread may have loaded it while we waited
                factory = DetectorFactory()
                factory.load_profile(PROFILES_DIRECTORY)
                _factory = factory
    return _factory


def to_iso639_1(langdetect_code: str) -> str:
    """Map a langdetect label to ISO 639-1 (only the Chinese variants differ)."""
    return _LANGDETECT_TO_ISO.get(langdetect_code, langdetect_code)


def clean_for_detection(text: str, max_chars: int) -> str:
    """Remove code, URLs and e-mails from a bounded prefix of ``text``; keep ``max_chars``.

    Punctuation is deliberately kept: langdetect maps ASCII/Latin punctuation and digits to
    spaces itself, but its CJK profiles were trained with CJK punctuation ("，", "。") in the
    n-grams. Replacing those with spaces measurably turned Chinese into Korean (spaces next to
    ideographs are a Korean feature): 7 of 10 Chinese samples flipped.
    """
    window = text[: max_chars * _SCAN_FACTOR]
    for pattern in (_CODE_FENCE, _INLINE_CODE, _URL, _EMAIL):
        window = pattern.sub(" ", window)
    return window.strip()[:max_chars]


def letter_count(text: str) -> int:
    """Length of ``text`` reduced to letters, combining marks and single word spaces.

    This is the amount of language signal: digits, punctuation, symbols and emoji carry none.
    """
    return len(_NON_LETTERS.sub(" ", text).strip())


def plainly_english(cleaned: str) -> bool:
    """True if ``cleaned`` (from :func:`clean_for_detection`) is plainly English.

    That is: no letter outside A-Z/a-z, at least ``ENGLISH_MIN_WORDS`` words, at least
    ``ENGLISH_MIN_FUNCTION_WORD_SHARE`` of them in ``ENGLISH_FUNCTION_WORDS`` (ignoring case)
    and at least ``ENGLISH_MIN_ENGLISH_ONLY_SHARE`` of them English-only function words. The
    first condition excludes every text with an accent or a non-Latin script; the others need
    enough words and enough of English's commonest ones (see the lists' comments).
    """
    if _NON_ASCII_LETTER.search(cleaned):
        return False
    words = _WORD.findall(cleaned.lower())
    if len(words) < ENGLISH_MIN_WORDS:
        return False
    common = sum(word in ENGLISH_FUNCTION_WORDS for word in words) / len(words)
    english_only = sum(word in _ENGLISH_ONLY_WORDS for word in words) / len(words)
    return (
        common >= ENGLISH_MIN_FUNCTION_WORD_SHARE and english_only >= ENGLISH_MIN_ENGLISH_ONLY_SHARE
    )


def _korean_is_impossible(cleaned: str) -> bool:
    """True for ideographic text without a single Hangul character.

    langdetect's Korean profile is full of Han n-grams (from Hanja), and it labels traditional
    Chinese as Korean surprisingly often: with seed 0, raw langdetect calls 2 of the 5
    traditional-Chinese test samples and ``TRADITIONAL_CHINESE`` "ko" (p=0.57-0.86), although
    modern Korean is never written without Hangul. For such texts Korean gets a zero prior
    (langdetect's own ``set_prior_map``) instead of a guess being corrected afterwards.
    """
    return _HAN.search(cleaned) is not None and _HANGUL.search(cleaned) is None


def _merged_probabilities(cleaned: str, seed: int) -> dict[str, float]:
    """Run langdetect on ``cleaned`` and sum probabilities per ISO 639-1 code.

    Summing matters for Chinese: a text can split e.g. 0.55 zh-cn / 0.45 zh-tw, which is a
    confident "zh" but would fail ``min_prob`` if the variants were compared separately.
    """
    factory = _get_factory()
    detector = factory.create()
    detector.seed = seed  # per instance: see the module docstring
    if _korean_is_impossible(cleaned):
        detector.set_prior_map({lang: 1.0 for lang in factory.langlist if lang != "ko"})
    detector.append(cleaned)
    merged: dict[str, float] = {}
    for candidate in detector.get_probabilities():
        code = to_iso639_1(candidate.lang)
        merged[code] = merged.get(code, 0.0) + candidate.prob
    return merged


def detect_language(
    text: str, settings: LanguageSettings = DEFAULT_LANGUAGE_SETTINGS
) -> tuple[str, float]:
    """Return ``(iso639_1_code, probability)`` for ``text``, or ``("und", 0.0)``.

    ``"und"`` (undetermined) covers: too little text after cleaning, only digits /
    punctuation / emoji / code, a top probability below ``settings.min_prob``, and any
    langdetect failure. Deterministic for a given ``settings.seed``. Plainly English texts
    get ``("en", ENGLISH_FAST_PATH_PROB)`` without langdetect (``settings.english_fast_path``).
    """
    cleaned = clean_for_detection(text, settings.max_chars)
    if letter_count(cleaned) < settings.min_chars:
        return _UNDETERMINED_RESULT
    if (
        settings.english_fast_path
        and settings.min_prob <= ENGLISH_FAST_PATH_PROB
        and plainly_english(cleaned)
    ):
        return _ENGLISH_FAST_PATH_RESULT
    try:
        merged = _merged_probabilities(cleaned, settings.seed)
    except LangDetectException:  # e.g. letters of a script no profile knows: no features
        return _UNDETERMINED_RESULT
    if not merged:
        return _UNDETERMINED_RESULT
    # Ties are broken by code so the answer never depends on dict ordering.
    code, prob = max(merged.items(), key=lambda item: (item[1], item[0]))
    if prob < settings.min_prob:
        return _UNDETERMINED_RESULT
    return code, min(prob, 1.0)


def detect_languages(
    texts: Sequence[str], settings: LanguageSettings = DEFAULT_LANGUAGE_SETTINGS
) -> list[tuple[str, float]]:
    """Batch convenience over :func:`detect_language` (same result per text, in order)."""
    return [detect_language(text, settings) for text in texts]
