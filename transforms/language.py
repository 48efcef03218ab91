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
* langdetect's scoring loop multiplies 55 probabilities per drawn n-gram in Python; we run
  the same draws with the same arithmetic on NumPy rows
  (:mod:`transforms.langdetect_sampling`): the same probabilities to the last bit, 2.7x
  faster on the chat texts that reach langdetect (1.33 ms against 3.6 ms per text).
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

Short texts (the short-text path, ``LanguageSettings.short_text_path``):

* Chat prompts are often two or three words, and texts under ``min_chars`` (20) letters used
  to be ``"und"``. Measured on lingua's test data (vendored in ``evaluation/data/language``,
  scored by ``evaluation/language.py``; docs/quality.md has the tables): on 2,700 two-word
  texts of 27 languages that left 87 % unanswered, and plain langdetect is right on only
  78 % of them (it is over-sure on short texts: "hi" is Swahili at p=0.99999).
* So texts of ``short_min_chars`` (6) to 19 letters are scored by lingua (n-gram models
  trained on the Leipzig corpora; restricted to the 51 languages langdetect also knows, so
  that every answer is a label the long-text path could give, Bokmål labelled "no") *and*
  langdetect, combined by a weighted geometric mean (:func:`combine_scores`, lingua weight
  ``short_lingua_weight`` = 0.7): a language needs both detectors' support to win. The
  winner is the answer if its share of the combined score is at least ``short_min_share``
  (0.46), else ``"und"``. On the two-word texts: 92.4 % answered, 86.7 % of them right
  (80.2 % of all texts right); on sentences nothing changes except that sentences under 20
  letters get answers (98.3 % right of those answered, as plain langdetect).
* How the values were chosen: weight and share were tuned on the first 50 word pairs of each
  of the first 24 languages (the highest accuracy with coverage >= 92 %) and checked on the
  other 50 (coverage 92.8 %, accuracy 86.4 % there); de/fr/it were added afterwards and
  behaved the same (coverage 91-94 %, accuracy 84-91 %). The share trades accuracy for
  coverage: 0.40 answers 94.7 % with 85.5 % right, 0.50 answers 90.7 % with 87.5 % right;
  0.46 keeps both about two points clear of the targets (>= 90 % answered, >= 85 % right).
  lingua alone in this mode reaches only ~84 % accuracy at 90 % coverage, langdetect alone
  78 % at 100 %.
* lingua runs in *low-accuracy* mode (trigram models only). High-accuracy mode is better
  alone (90.6 % right on all 2,400 two-word texts of the first 24 languages; 93.4 % of the
  92.9 % it is >= 0.3 confident on) but its models for 51 languages cost ~860 MB of RSS per
  process once loaded (the pipeline runs one detector per worker, plus the main process),
  against ~50 MB in low-accuracy mode. Nothing is preloaded: the detector is built on the
  first short text, behind a lock, and lingua loads a language's models when a text needs
  them.
* Cost: lingua takes ~0.1-0.2 ms per short text, but the path also runs langdetect, which
  costs about as much on two words as on a sentence (~2-5 ms): a short text costs about one
  langdetect call, what the naive per-text loop pays for every text. Short texts are rare in
  the corpora (1 of 150 Arena first turns, 1 of 500 Arena-Hard prompts), so the stage's speed
  is unchanged within noise.
* Junk: below ``short_min_chars`` letters a text is ``"und"`` whatever the detectors say
  ("hi", "ok?", "Danke!"; "Hola" would be called Turkish); so is text whose letters are one
  unit repeated (:func:`repeats_one_unit`: "hahaha", "okay okay", which both detectors find
  Somali or Tagalog in). Keyboard mashes and placeholders can still get a label when the
  combination is sure enough ("asdfghjkl" -> sw, "foo bar" -> so).
* Not used for texts of 20+ letters on which langdetect is unsure (< ``min_prob``): measured,
  it changed no answer on the sentences.
* Determinism: lingua has no randomness, but its confidence values differ between calls in
  the last bit, so they are rounded (:func:`lingua_confidences`); scores are combined in code
  order and ties broken by code.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import regex
from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.lang_detect_exception import LangDetectException
from lingua import Language, LanguageDetector, LanguageDetectorBuilder

from transforms.langdetect_sampling import SamplingProfiles, sampled_probabilities

T = TypeVar("T")
UNDETERMINED = "und"
_UNDETERMINED_RESULT: tuple[str, float] = (UNDETERMINED, 0.0)

# langdetect labels Chinese by script variant; downstream wants ISO 639-1, where both are "zh".
# Every other langdetect label is already an ISO 639-1 code.
_LANGDETECT_TO_ISO = {"zh-cn": "zh", "zh-tw": "zh"}
# lingua calls Norwegian Bokmål "nb"; langdetect's profile (and so our label) is "no".
_LINGUA_TO_ISO = {"nb": "no"}
# The short-text combination gives a language that one detector does not name this
# probability rather than zero, so that one detector alone cannot veto a language.
_SHORT_TEXT_FLOOR = 1e-3
# lingua's confidence values are rounded to this many decimals (see lingua_confidences).
_LINGUA_DECIMALS = 10

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
# ...but 12 of them are also frequent words of those languages: "a" (es/fr/it/pt), "i" (it),
# "in" (de/it/nl), "is" (nl), "an" (de), "on" (fr), "was" (de/nl), "will" (de), "do" and "as"
# (pt), "to" and "by" (cs/sk/sl: "A ako by to bolo", "Ali je to konec", typed without
# diacritics). People often type without accents, and accent-free Italian or Portuguese made of
# these can pass 20 % ("Ho portato i bambini a scuola in macchina e poi ..." 31 %; the
# labelled pt/it texts with accents stripped reach 23.5 % / 17.6 %). So at least 5 % of the
# words must also be English-only ones (the other 25): with 27 of them every labelled English
# text over 20 % had 6.5 %+, and no accent-stripped labelled non-English text more than 3.4 %
# (an English text that now falls short only misses the fast path: langdetect answers it).
_ALSO_FOREIGN_WORDS = frozenset(
    ("a", "i", "in", "is", "an", "on", "was", "will", "do", "as", "to", "by")
)
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
    e-mails, code, digits, punctuation and emoji) do not go to langdetect alone: below ~20
    characters its n-gram statistics are unreliable. They take the short-text path (below)
    or are ``"und"``. A consequence is that very short CJK messages (``"你好"``, 2 letters)
    are ``"und"``.

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
    field, it is part of the engine cache's settings fingerprint (as are all fields).

    ``short_text_path``: texts with fewer than ``min_chars`` letters but at least
    ``short_min_chars`` get a language from lingua and langdetect together
    (:func:`short_text_scores`), answered only if the winner's share reaches
    ``short_min_share``; ``False`` makes every such text ``"und"`` again. Chat prompts are
    often two or three words, which the n-gram statistics of langdetect alone get wrong about
    one time in five (see the module docstring for the measurements and the chosen values).

    ``short_min_chars``: the letter floor of the short path. Below it a text is ``"und"``
    whatever the detectors say: greetings and acknowledgements of 2-5 letters ("hi",
    "ok", "Hola", "Danke!") carry too little signal (the combined detector calls "Hola"
    Turkish and "Danke!" Danish) and their language rarely matters.

    ``short_min_share``: the smallest share of the combined score the winning language must
    have. ``short_lingua_weight``: lingua's weight in the combination (langdetect gets the
    rest). Both were tuned on half of the vendored lingua word pairs and checked on the other
    half (module docstring).
    """

    min_chars: int = 20
    max_chars: int = 200
    min_prob: float = 0.5
    seed: int = 0
    english_fast_path: bool = True
    short_text_path: bool = True
    short_min_chars: int = 6
    short_min_share: float = 0.46
    short_lingua_weight: float = 0.7

    def __post_init__(self) -> None:
        if self.min_chars < 1 or self.max_chars < self.min_chars:
            raise ValueError("need 1 <= min_chars <= max_chars")
        if not 0.0 <= self.min_prob <= 1.0:
            raise ValueError("min_prob must be within [0, 1]")
        if self.short_min_chars < 1:
            raise ValueError("short_min_chars must be at least 1")
        if not 0.0 < self.short_min_share <= 1.0:
            raise ValueError("short_min_share must be within (0, 1]")
        if not 0.0 <= self.short_lingua_weight <= 1.0:
            raise ValueError("short_lingua_weight must be within [0, 1]")


DEFAULT_LANGUAGE_SETTINGS = LanguageSettings()


def _built_once(build: Callable[[], T]) -> Callable[[], T]:
    """`build`, called by the first caller only (threads arriving meanwhile wait for it),
    its result kept for the process: the profiles and models load once per process."""
    lock = threading.Lock()
    built: list[T] = []

    def get() -> T:
        if not built:
            with lock:
                if not built:  # another thread may have built it while we waited
                    built.append(build())
        return built[0]

    get.__doc__ = build.__doc__
    return get


@_built_once
def _get_factory() -> DetectorFactory:
    """The process-wide factory, its profiles loaded."""
    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    return factory


@_built_once
def _get_profiles() -> SamplingProfiles:
    """The process-wide profile matrix of langdetect's sampling."""
    return SamplingProfiles.of(_get_factory())


def lingua_iso639_1(language: Language) -> str:
    """ISO 639-1 code of a lingua language, as langdetect spells it (Bokmål "nb" is "no")."""
    code = language.iso_code_639_1.name.lower()
    return _LINGUA_TO_ISO.get(code, code)


def lingua_languages() -> list[Language]:
    """The lingua languages langdetect also knows (51: langdetect's 55 minus kn, ml, ne, and
    its two Chinese labels as one; Norwegian as Bokmål), in a fixed order."""
    wanted = {to_iso639_1(code) for code in _get_factory().langlist}
    return sorted(
        (language for language in Language.all() if lingua_iso639_1(language) in wanted),
        key=lingua_iso639_1,
    )


@_built_once
def _get_lingua() -> LanguageDetector:
    """The process-wide lingua detector (low-accuracy mode).

    Only the detector is built here; lingua loads each language's model the first time a
    text needs it (nothing is preloaded), so a process that never sees a short text pays
    nothing.
    """
    return (
        LanguageDetectorBuilder.from_languages(*lingua_languages()).with_low_accuracy_mode().build()
    )


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
    for lang, prob in sampled_probabilities(detector, _get_profiles()):
        code = to_iso639_1(lang)
        merged[code] = merged.get(code, 0.0) + prob
    return merged


def lingua_confidences(cleaned: str) -> dict[str, float]:
    """lingua's confidence per ISO 639-1 code for ``cleaned`` (they sum to ~1, or are all 0).

    Rounded to ``_LINGUA_DECIMALS`` places: lingua's values for the same text differ between
    calls in the last bit (measured: 0.9593171094016435 vs ...436 for "december council";
    its sums run over hash maps in a per-call order), and our results must be reproducible.
    A value would have to lie within ~1e-16 of a rounding boundary to still differ.
    """
    return {
        lingua_iso639_1(value.language): round(value.value, _LINGUA_DECIMALS)
        for value in _get_lingua().compute_language_confidence_values(cleaned)
    }


def combine_scores(
    lingua: Mapping[str, float], langdetect: Mapping[str, float], lingua_weight: float
) -> dict[str, float]:
    """Weighted geometric mean of two detectors' scores per language, normalised to sum 1.

    ``exp(w * ln(lingua + f) + (1 - w) * ln(langdetect + f))`` with ``f = 1e-3``. A language
    wins only if both detectors give it weight: each one alone is wrong on roughly a fifth of
    two-word texts, mostly in different ways (langdetect is over-sure: it says 0.99999 for
    "hi" = Swahili), so agreement is what makes an answer trustworthy. Empty if both are.
    """
    codes = sorted(set(lingua) | set(langdetect))
    if not codes:
        return {}
    raw = {
        code: math.exp(
            lingua_weight * math.log(lingua.get(code, 0.0) + _SHORT_TEXT_FLOOR)
            + (1.0 - lingua_weight) * math.log(langdetect.get(code, 0.0) + _SHORT_TEXT_FLOOR)
        )
        for code in codes
    }
    total = sum(raw.values())
    return {code: value / total for code, value in raw.items()}


def short_text_scores(cleaned: str, settings: LanguageSettings) -> dict[str, float]:
    """The short-text path's score per ISO 639-1 code (see :func:`combine_scores`)."""
    try:
        langdetect = _merged_probabilities(cleaned, settings.seed)
    except LangDetectException:  # no n-gram langdetect knows: lingua decides alone
        langdetect = {}
    return combine_scores(lingua_confidences(cleaned), langdetect, settings.short_lingua_weight)


def _best_at_least(scores: Mapping[str, float], floor: float) -> tuple[str, float]:
    """Highest-scoring code and its score (at most 1.0), or ``("und", 0.0)`` when there are
    no scores or the highest is below ``floor``. Ties are broken by code so dict ordering
    never matters."""
    if not scores:
        return _UNDETERMINED_RESULT
    code, score = max(scores.items(), key=lambda item: (item[1], item[0]))
    if score < floor:
        return _UNDETERMINED_RESULT
    return code, min(score, 1.0)


def repeats_one_unit(cleaned: str) -> bool:
    """True if the letters of ``cleaned`` are one shorter unit repeated ("hahaha", "okay okay",
    "xoxoxo"): laughter, filler and keyboard play, whose n-grams look like some language to
    the detectors (those three would be answered "so", "tl" and "so", with shares of 0.48 to
    0.70).
    Real short texts rarely do this: 4 of the 2,700 vendored word pairs ("musik musik") and 2
    of the 2,300 single words ("keekee") are turned into ``"und"`` by it."""
    letters = _NON_LETTERS.sub("", cleaned).lower()
    return len(letters) >= 2 and letters in (letters + letters)[1:-1]


def _detect_short(cleaned: str, settings: LanguageSettings) -> tuple[str, float]:
    """The short-text path: combined scores, or ``"und"`` for repetitions and when unsure."""
    if repeats_one_unit(cleaned):
        return _UNDETERMINED_RESULT
    return _best_at_least(short_text_scores(cleaned, settings), settings.short_min_share)


def detect_language(
    text: str, settings: LanguageSettings = DEFAULT_LANGUAGE_SETTINGS
) -> tuple[str, float]:
    """Return ``(iso639_1_code, probability)`` for ``text``, or ``("und", 0.0)``.

    ``"und"`` (undetermined) covers: too little text after cleaning, only digits /
    punctuation / emoji / code, a top probability below ``settings.min_prob``, and any
    langdetect failure. Deterministic for a given ``settings.seed``. Plainly English texts
    get ``("en", ENGLISH_FAST_PATH_PROB)`` without langdetect (``settings.english_fast_path``).
    Texts with ``short_min_chars`` to ``min_chars - 1`` letters take the short-text path
    (``settings.short_text_path``): the probability is then the winner's combined share.
    """
    cleaned = clean_for_detection(text, settings.max_chars)
    letters = letter_count(cleaned)
    if letters < settings.min_chars:
        if settings.short_text_path and letters >= settings.short_min_chars:
            return _detect_short(cleaned, settings)
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
    return _best_at_least(merged, settings.min_prob)


def detect_languages(
    texts: Sequence[str], settings: LanguageSettings = DEFAULT_LANGUAGE_SETTINGS
) -> list[tuple[str, float]]:
    """Batch convenience over :func:`detect_language` (same result per text, in order)."""
    return [detect_language(text, settings) for text in texts]
