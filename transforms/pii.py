"""PII detection and redaction for multilingual chat text, built on Presidio, fully offline.

What this module adds on top of a stock ``presidio_analyzer.AnalyzerEngine``, and why:

* **No model, no network.** Presidio's default NLP engine wants ``en_core_web_lg`` and
  downloads it when missing. We wrap ``spacy.blank("en")`` (tokenizer only) instead, plus one
  pipeline component that sets ``token.lemma_ = token.lower_``: Presidio's context booster
  compares *lemmas* around a match with recognizer context words, and a blank pipeline has
  empty lemmas, so without it no context word would ever count.
* **No tldextract download.** Presidio's ``EmailRecognizer.validate_result`` calls the
  module-level ``tldextract.extract``, whose default extractor fetches the public suffix list
  from the internet on first use. We never register that recognizer: our e-mail recognizer
  subclasses it and validates with our own ``TLDExtract(suffix_list_urls=(), cache_dir=None)``,
  which only reads the suffix-list snapshot bundled inside the tldextract wheel. Nothing global
  is monkeypatched, so other users of tldextract in the process are unaffected.
* **Scripts without spaces.** Presidio's patterns rely on ``\\b`` and ``\\w``, which are
  Unicode-aware: in ``メールはtaro@example.jpです`` the kana count as word characters, so there
  is no boundary at either end and the e-mail (or card number, IP, SSN) is missed. Our
  recognizers use boundaries defined on ASCII letters/digits only (CJK, Hangul, Arabic... are
  treated like spaces). Full-width forms (``０９０－１２３４``, ``＠``), common in Japanese and
  Chinese input, are mapped to ASCII before analysis with a length-preserving table, so
  offsets stay valid for the original text.
* **Speed.** Most texts contain no PII. A per-text pre-filter (a handful of ``in`` checks,
  ``str.count`` and tiny regexes) decides which entities could possibly occur, and the
  analyzer is called only for those -- or not at all. Inside, phone numbers are parsed only
  around plausible digit clusters, and the spaCy pass runs only when a context word could
  change a score (see :class:`PiiEngine`). Overlaps are resolved here, and :func:`redact` is
  a plain string splice (no ``AnonymizerEngine``). On 2,000 mixed chat texts this is 11-25x
  faster than a per-text ``AnalyzerEngine.analyze`` + ``AnonymizerEngine.anonymize`` loop.
* **Names without NER.** ``PERSON`` comes from self-introduction patterns ("my name is ...",
  "me llamo ...", "私の名前は...です", "我叫...", "меня зовут ..."); a spaCy NER model is used
  additionally when ``PiiSettings.ner_model`` names an installed pipeline (never downloaded).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar, NamedTuple

import phonenumbers
import polars as pl
import regex
import spacy
import spacy.util
import tldextract
from presidio_analyzer import (
    AnalysisExplanation,
    AnalyzerEngine,
    EntityRecognizer,
    LocalRecognizer,
    Pattern,
    PatternRecognizer,
    RecognizerRegistry,
    RecognizerResult,
)
from presidio_analyzer.context_aware_enhancers import ContextAwareEnhancer
from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngine, SpacyNlpEngine
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    PhoneRecognizer,
    SpacyRecognizer,
    UsSsnRecognizer,
)
from spacy.attrs import IDX, LEMMA, LOWER
from spacy.lang.lex_attrs import is_punct
from spacy.language import Language
from spacy.tokens import Doc

from transforms.not_personal import personal_email, personal_ip
from transforms.person_names import find_names

logger = logging.getLogger(__name__)

LANGUAGE = "en"  # every recognizer is registered for "en" and runs on text of any language

EMAIL_ADDRESS = "EMAIL_ADDRESS"
PHONE_NUMBER = "PHONE_NUMBER"
CREDIT_CARD = "CREDIT_CARD"
IBAN_CODE = "IBAN_CODE"
IP_ADDRESS = "IP_ADDRESS"
US_SSN = "US_SSN"
PERSON = "PERSON"
LOCATION = "LOCATION"  # found only by an installed NER model
DENY_LIST = "DENY_LIST"
PERSON_WRITTEN, MODEL_WRITTEN = "person", "model"
AUTHORS = (PERSON_WRITTEN, MODEL_WRITTEN)
NAMES_CUED, NAMES_BROAD = "cued", "broad"
NAME_POLICIES = (NAMES_CUED, NAMES_BROAD)
NER_ENTITIES = (PERSON, LOCATION)
# A text holding one of these identifies someone: weaker evidence of a name counts there.
CONTACT_DETAILS = frozenset((EMAIL_ADDRESS, PHONE_NUMBER, US_SSN, IBAN_CODE, CREDIT_CARD))

SUPPORTED_ENTITIES: tuple[str, ...] = (
    EMAIL_ADDRESS,
    PHONE_NUMBER,
    CREDIT_CARD,
    IBAN_CODE,
    IP_ADDRESS,
    US_SSN,
    PERSON,
    LOCATION,
)

# Regions whose national formats are recognised; "+<country code>" numbers are found whatever
# the region list. Each region costs one PhoneNumberMatcher pass over the text.
# The 20 countries most chat users write from (Chatbot Arena / WildChat user statistics),
# plus Canada and Australia, whose formats differ from their neighbours'.
DEFAULT_PHONE_REGIONS: tuple[str, ...] = (
    "US", "CN", "IN", "RU", "BR", "GB", "DE", "FR", "JP", "KR", "ES", "IT", "VN", "ID", "TR",
    "UA", "PL", "MX", "NL", "PH", "CA", "AU",
)  # fmt: skip


# --------------------------------------------------------------------------------------------
# Settings and results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PiiSettings:
    """Configuration of a :class:`PiiEngine`.

    ``score_threshold``: findings scoring below are dropped. 0.5 keeps everything validated by
    a checksum or TLD (1.0), e-mails, IPs, international phone numbers, and national phone
    numbers that are formatted with separators or have a phone-ish word nearby (in any of ~10
    languages), while dropping Presidio's "very weak" guesses (bare 9/10-digit numbers).
    ``allow_list`` / ``deny_list``: exact, case-sensitive strings; a deny-listed string is
    reported as entity ``DENY_LIST`` wherever it occurs with no ASCII letter or digit glued to
    either side.
    ``ner_model``: an installed spaCy pipeline package (e.g. ``"en_core_web_lg"``) or a saved
    pipeline directory, to also find ``PERSON`` by NER; if it is neither, patterns alone are
    used (with a warning) and nothing is downloaded.
    ``phone_regions``: ISO 3166 regions whose national number formats are recognised.
    ``written_by``: who wrote the texts this engine sees, ``"person"`` or ``"model"`` (the
    catalogue declares it per field). Personal names are looked for only in what a person
    wrote: a name in a model's answer is a public figure, a fictional character or an echo
    of the user's own words (which silver removes through the conversation, see
    transforms/scrub.py), not a name the model was given.
    ``person_names``: what counts as a private person's name in what a person wrote.
    ``"cued"`` (default): a name a personal cue introduces (``my colleague``, ``Dear``,
    ``Name:``, ``Mr.``, a letter's greeting line), and in a text that holds someone's contact
    details, any known full name or name-like evidence. ``"broad"``: that evidence
    everywhere (every known full name, ``with Anna``, ``Anna said``): about three times the
    recall on names, but in real chat text most such names are characters of stories, public
    figures and authors (docs/quality.md has both figures).
    """

    entities: tuple[str, ...] = SUPPORTED_ENTITIES
    score_threshold: float = 0.5
    allow_list: tuple[str, ...] = ()
    deny_list: tuple[str, ...] = ()
    phone_regions: tuple[str, ...] = DEFAULT_PHONE_REGIONS
    ner_model: str | None = None
    written_by: str = PERSON_WRITTEN
    person_names: str = NAMES_CUED

    def __post_init__(self) -> None:
        if self.written_by not in AUTHORS:
            raise ValueError(f"written_by must be one of {AUTHORS}, not {self.written_by!r}")
        if self.person_names not in NAME_POLICIES:
            raise ValueError(
                f"person_names must be one of {NAME_POLICIES}, not {self.person_names!r}"
            )
        unknown = set(self.entities) - set(SUPPORTED_ENTITIES)
        if unknown:
            raise ValueError(f"unsupported entities {sorted(unknown)}; use {SUPPORTED_ENTITIES}")
        if not 0.0 <= self.score_threshold <= 1.0:
            raise ValueError("score_threshold must be within [0, 1]")
        if any(not term for term in self.deny_list):
            raise ValueError("deny_list entries must be non-empty")
        unknown_regions = set(self.phone_regions) - phonenumbers.SUPPORTED_REGIONS
        if unknown_regions or not self.phone_regions:
            raise ValueError(f"unknown or no phone regions: {sorted(unknown_regions)}")
        both = set(self.allow_list) & set(self.deny_list)
        if both:
            raise ValueError(f"strings both allowed and denied: {sorted(both)}")


DEFAULT_PII_SETTINGS = PiiSettings()


@dataclass(frozen=True)
class PiiFinding:
    """One detected PII span: ``text[start:end]`` is the value."""

    entity_type: str
    start: int
    end: int
    score: float
    recognizer: str


# --------------------------------------------------------------------------------------------
# Offline NLP engine
# --------------------------------------------------------------------------------------------

_LOWER_LEMMA = "pii_lower_lemma"


def _lower_lemma(doc: Doc) -> Doc:
    """Use the lower-cased token as its lemma (a blank pipeline has no lemmatizer).

    Array-wise: iterating a Doc creates a Python Token per token, which costs more than the
    tokenizer itself.
    """
    doc.from_array([LEMMA], doc.to_array([LOWER]))
    return doc


if not Language.has_factory(_LOWER_LEMMA):  # tolerate re-import (e.g. importlib.reload)
    Language.component(_LOWER_LEMMA, func=_lower_lemma)


# spaCy refuses texts over 1,000,000 characters because parser/NER need ~1 GB per 100,000;
# a tokenizer-only pipeline needs a few hundred bytes per token, so long chat logs are fine.
_BLANK_MAX_LENGTH = 100_000_000


def blank_pipeline() -> Language:
    """A model-free English tokenizer pipeline with lower-case lemmas."""
    nlp = spacy.blank(LANGUAGE)
    nlp.add_pipe(_LOWER_LEMMA)
    nlp.max_length = _BLANK_MAX_LENGTH
    return nlp


class BlankSpacyNlpEngine(SpacyNlpEngine):
    """Presidio NLP engine over :func:`blank_pipeline`: tokens and lemmas, no NER, no I/O."""

    def __init__(self) -> None:
        super().__init__(models=[{"lang_code": LANGUAGE, "model_name": "blank"}])

    def load(self) -> None:
        # Replaces SpacyNlpEngine.load, which would spacy.load() -- or download -- a model.
        self.nlp = {LANGUAGE: blank_pipeline()}

    def get_supported_entities(self) -> list[str]:
        return []  # no NER component, so no entities come from the NLP engine

    # The three methods below give the same answers as SpacyNlpEngine's, without creating a
    # Token or Lexeme object per token (measured: process_text ~30% faster on chat text).

    def _doc_to_nlp_artifact(self, doc: Doc, language: str) -> NlpArtifacts:
        columns = doc.to_array([IDX, LEMMA])
        strings = doc.vocab.strings
        return NlpArtifacts(
            entities=[],
            tokens=doc,
            tokens_indices=columns[:, 0].tolist(),
            lemmas=[strings[key] for key in columns[:, 1].tolist()],
            nlp_engine=self,
            language=language,
            scores=[],
        )

    def is_stopword(self, word: str, language: str) -> bool:
        return word.lower() in self.nlp[language].Defaults.stop_words

    def is_punct(self, word: str, language: str) -> bool:
        return is_punct(word)


def _ner_available(model: str | None) -> bool:
    # An installed pipeline package, or a directory written by ``Language.to_disk``. Never a
    # download: SpacyNlpEngine.load only downloads names that are neither.
    return bool(model) and (spacy.util.is_package(model) or Path(model).is_dir())


def build_nlp_engine(ner_model: str | None) -> NlpEngine:
    """The blank engine, or a full spaCy engine if ``ner_model`` is installed (never fetched)."""
    if _ner_available(ner_model):
        engine: NlpEngine = SpacyNlpEngine(
            models=[{"lang_code": LANGUAGE, "model_name": ner_model}]
        )
    else:
        if ner_model:
            logger.warning("spaCy model %r is not installed; PERSON uses patterns only", ner_model)
        engine = BlankSpacyNlpEngine()
    engine.load()
    return engine


# --------------------------------------------------------------------------------------------
# Boundary helpers (why: see module docstring, "Scripts without spaces")
# --------------------------------------------------------------------------------------------

_ASCII_WORD = "A-Za-z0-9_"
# Exactly the semantics of ``\b`` if only ASCII letters, digits and "_" were word characters.
_ASCII_BOUNDARY = (
    rf"(?:(?<=[{_ASCII_WORD}])(?![{_ASCII_WORD}])|(?<![{_ASCII_WORD}])(?=[{_ASCII_WORD}]))"
)


def ascii_boundaries(pattern: str) -> str:
    """Rewrite a Presidio regex so ``\\b`` and ``[\\w...]`` only consider ASCII word chars.

    Applied to Presidio's own IP and SSN patterns so we keep tracking their upstream logic.
    """
    return pattern.replace(r"\b", _ASCII_BOUNDARY).replace(r"[\w", f"[{_ASCII_WORD}")


def _asciified(patterns: Iterable[Pattern]) -> list[Pattern]:
    return [Pattern(p.name, ascii_boundaries(p.regex), p.score) for p in patterns]


# Full-width ASCII variants (U+FF01..U+FF5E) and the ideographic space map 1:1 onto ASCII, so
# the translated text has identical offsets.
_FULLWIDTH_TO_ASCII = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
# Only full-width digits, "＋" and "＠" can start PII; full-width "？！（）" alone, which every
# Japanese/Chinese text has, are not worth a translation pass.
_FULLWIDTH_PII_CHARS = re.compile("[\uff10-\uff19\uff0b\uff20]")


def fold_fullwidth(text: str) -> str:
    """Map full-width ASCII forms to ASCII (if any PII could be written with them).

    Offsets are unchanged, so findings on the folded text apply to the original.
    """
    if _FULLWIDTH_PII_CHARS.search(text) is None:
        return text
    return text.translate(_FULLWIDTH_TO_ASCII)


# --------------------------------------------------------------------------------------------
# Recognizers
# --------------------------------------------------------------------------------------------


def offline_tld_extractor() -> tldextract.TLDExtract:
    """A TLD extractor that never downloads and never writes a cache.

    No suffix-list URLs and no cache directory: it reads the public-suffix snapshot shipped in
    the tldextract wheel (on its first call).
    """
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)


class OfflineEmailRecognizer(EmailRecognizer):
    """E-mail addresses in any script context, validated against the bundled suffix list.

    Local part and domain labels may use Latin letters (``josé``, ``müller.de``) but not other
    scripts, so adjacent kana/hanzi/hangul never become part of the address.
    """

    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "Email (script-boundary)",
            r"(?<![\p{Latin}0-9._%+\-])"
            r"[\p{Latin}0-9_%+\-](?:[\p{Latin}0-9._%+\-]{0,62}[\p{Latin}0-9_%+\-])?"
            r"@(?:[\p{Latin}0-9](?:[\p{Latin}0-9\-]{0,61}[\p{Latin}0-9])?\.)+"
            r"(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9\-]{1,59})"
            r"(?![\p{Latin}0-9\-])",
            0.5,
        )
    ]

    def __init__(self) -> None:
        self._tld_extract = offline_tld_extractor()
        super().__init__(patterns=list(self.PATTERNS))

    def validate_result(self, pattern_text: str) -> bool:
        # Presidio's rule (a registrable domain must exist), without any download, also
        # taking a domain that is itself a public suffix of two or more labels: India's
        # government mail is `name@nic.in` / `name@gov.in`. Reserved, placeholder and
        # service addresses identify nobody (transforms/not_personal.py).
        extracted = self._tld_extract(pattern_text)
        registered = extracted.fqdn != "" or "." in extracted.suffix
        return registered and personal_email(pattern_text)


def luhn_valid(digits: str) -> bool:
    """Luhn checksum of a string of ASCII digits."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def plausible_card_prefix(digits: str) -> bool:
    """True if the issuer prefix (IIN) and length fit a major card network.

    Luhn alone passes 1 in 10 random numbers; the prefix check rejects, for instance, lists of
    years ("2019 2020 2021 2022" is 4-4-4-4 digits but no network issues "2019...").
    """
    length, two, three, four = len(digits), int(digits[:2]), int(digits[:3]), int(digits[:4])
    if digits[0] == "4":  # Visa
        return length in (13, 16, 19)
    if 51 <= two <= 55 or 2221 <= four <= 2720:  # Mastercard
        return length == 16
    if two in (34, 37):  # American Express
        return length == 15
    if 300 <= three <= 305 or two in (36, 38, 39):  # Diners Club
        return 14 <= length <= 19
    if 2200 <= four <= 2204 or 3528 <= four <= 3589:  # Mir, JCB
        return 16 <= length <= 19
    if two in (50, 56, 57, 58) or digits[0] == "6":  # Maestro, Discover, UnionPay, RuPay
        return 12 <= length <= 19
    return False


class BoundaryFreeCreditCardRecognizer(CreditCardRecognizer):
    """Card numbers written contiguously or in the usual groups, Luhn- and prefix-checked.

    Groupings are restricted to what cards print (4-4-4-4[-3], 4-6-5, 4-6-4) with one
    consistent separator and no further digit group on either side, so ISBNs
    (``978-3-16-148410-0``), dashed IDs and runs of 4-digit numbers do not qualify. A number
    that passes Luhn and carries a real issuer prefix is indistinguishable from a card number
    (about 1 in 20 random 16-digit numbers starting with 4 or 5).
    """

    _START = r"(?<![A-Za-z0-9])(?<![0-9][ \-])"
    _END = r"(?![A-Za-z0-9])(?![ \-][0-9])"
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("Card (contiguous)", rf"{_START}[2-6][0-9]{{12,18}}{_END}", 0.3),
        Pattern(
            "Card (4-4-4-4)",
            rf"{_START}[2-6][0-9]{{3}}([ \-])[0-9]{{4}}\1[0-9]{{4}}\1[0-9]{{4}}"
            rf"(?:\1[0-9]{{3}})?{_END}",
            0.3,
        ),
        Pattern(
            "Card (4-6-5/4)", rf"{_START}3[0-9]{{3}}([ \-])[0-9]{{6}}\1[0-9]{{4,5}}{_END}", 0.3
        ),
    ]

    def __init__(self) -> None:
        super().__init__(patterns=list(self.PATTERNS))

    def validate_result(self, pattern_text: str) -> bool:
        digits = "".join(char for char in pattern_text if char.isdigit())
        return plausible_card_prefix(digits) and luhn_valid(digits)


# A dotted quad directly after one of these words is a version number ("Python 3.11.7.1",
# "version 1.2.3.4"), not an address.
_VERSION_BEFORE = regex.compile(r"(?i)(?:\bversion|\bver\.?|\brelease|\bbuild|\bpython|\bv)\s*$")


# Four numbers inside a longer dotted run are an OID or a version ("1.3.6.1.4.1.9"), not an
# address.
_LONGER_DOTTED = regex.compile(r"[0-9]\.[0-9]+(?:\.[0-9]+){3}|[0-9]+(?:\.[0-9]+){3}\.[0-9]")


class _RescoresEachResult:
    """Presidio's per-recognizer context hook (``enhance_using_context``) as one rule per
    result: :meth:`rescore` sets its score in place, and a score of 0 drops it."""

    def rescore(self, text: str, result: RecognizerResult) -> None:
        raise NotImplementedError

    def enhance_using_context(
        self,
        text: str,
        raw_recognizer_results: list[RecognizerResult],
        other_raw_recognizer_results: list[RecognizerResult],
        nlp_artifacts: NlpArtifacts | None,
        context: list[str] | None = None,
    ) -> list[RecognizerResult]:
        for result in raw_recognizer_results:
            self.rescore(text, result)
        return raw_recognizer_results


class BoundaryFreeIpRecognizer(_RescoresEachResult, IpRecognizer):
    """Presidio's IPv4/IPv6 patterns with ASCII-only boundaries, minus labelled versions and
    addresses that belong to no one (loopback, private, documentation... and network
    prefixes: :func:`transforms.not_personal.personal_ip`).

    A global dotted quad without a version label ("upgrade to 1.2.3.4") is indistinguishable
    from an IPv4 address and is reported as one.
    """

    def __init__(self) -> None:
        super().__init__(patterns=_asciified(IpRecognizer.PATTERNS))

    def rescore(self, text: str, result: RecognizerResult) -> None:
        value = text[result.start : result.end]
        is_ipv4 = ":" not in value
        if (
            is_ipv4
            and (
                _VERSION_BEFORE.search(text, max(0, result.start - 16), result.start)
                or _LONGER_DOTTED.search(text, max(0, result.start - 2), result.end + 2)
            )
        ) or not personal_ip(
            value,
            text[result.end : result.end + 4],
            text[max(0, result.start - 12) : result.start],
        ):
            result.score = 0.0


_SSN_CUE = regex.compile(r"(?i)\b(?:ssn|ss#|ssid|social[ -]security|soc\.? sec)")
SSN_SCORE_CUE = 0.85


class BoundaryFreeUsSsnRecognizer(_RescoresEachResult, UsSsnRecognizer):
    """Presidio's SSN patterns and invalidation rules with ASCII-only boundaries.

    Presidio scores an undashed nine-digit number 0.05 and its context words add 0.35, so
    "SSN 536224187" never passes 0.5. An SSN cue (``SSN``, ``social security``) within 40
    characters before the number makes any of its shapes 0.85 here; without one, Presidio's
    scores stand (a dashed ``536-22-4187`` passes, a bare nine-digit number does not).
    """

    CUE_BEFORE = 40

    def __init__(self) -> None:
        super().__init__(patterns=_asciified(UsSsnRecognizer.PATTERNS))
        self.context = []  # replaced by the cue rule below

    def rescore(self, text: str, result: RecognizerResult) -> None:
        window_start = max(0, result.start - self.CUE_BEFORE)
        if result.score > 0 and _SSN_CUE.search(text, window_start, result.start):
            result.score = max(result.score, SSN_SCORE_CUE)


_CARD_CUE = regex.compile(
    r"(?i)(?:\bcard|\bcc\b|\bcredit|\bdebit|\bvisa\b|mastercard|\bamex|maestro|"
    r"tarjeta|karte|\bcarte|\bcarta|cartão|カード|卡号|信用卡|카드|карт)"
)
_DIGIT_RUN_12_19 = regex.compile(r"(?<![A-Za-z0-9.,\-])[0-9]{12,19}(?![A-Za-z0-9]|[.,][0-9])")
CARD_SCORE_CUE = 0.9


class CuedCardNumberRecognizer(LocalRecognizer):
    """Card numbers of any issuer: 12 to 19 digits that pass Luhn, with a card word shortly
    before ("my card 180016070420458", "cc 503802053770").

    :class:`BoundaryFreeCreditCardRecognizer` finds the major networks by their prefixes on
    their own; old JCB (``1800``, ``2131``), Maestro, UATP and national schemes need the cue,
    since one random digit run in ten passes Luhn.
    """

    CUE_BEFORE = 40

    def __init__(self) -> None:
        super().__init__(supported_entities=[CREDIT_CARD], supported_language=LANGUAGE)

    def load(self) -> None:
        pass

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        results = []
        for match in _DIGIT_RUN_12_19.finditer(text):
            window_start = max(0, match.start() - self.CUE_BEFORE)
            digits = match.group()
            if luhn_valid(digits) and _CARD_CUE.search(text, window_start, match.start()):
                results.append(_result(self, CREDIT_CARD, match.span(), CARD_SCORE_CUE, "card cue"))
        return results


_IBAN_ANY_CASE = regex.compile(
    r"(?<![A-Za-z0-9])[A-Za-z]{2}[0-9]{2}(?:[ ]?[A-Za-z0-9]{4}){2,7}(?:[ ]?[A-Za-z0-9]{1,3})?"
    r"(?![A-Za-z0-9])"
)


class AnyCaseIbanRecognizer(IbanRecognizer):
    """Presidio's IBAN recognizer, plus IBANs typed in lower or mixed case
    (``gb42nawi04454264788619``), validated on their upper-case form (country, length,
    mod-97 checksum)."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        results = super().analyze(text, entities, nlp_artifacts)
        for match in _IBAN_ANY_CASE.finditer(text):
            value = match.group()
            if value.upper() != value and self.validate_result(value.upper()):
                results.append(_result(self, IBAN_CODE, match.span(), 1.0, "IBAN, any case"))
        return EntityRecognizer.remove_duplicates(results)


def _result(
    recognizer: EntityRecognizer, entity: str, span: tuple[int, int], score: float, why: str
) -> RecognizerResult:
    return RecognizerResult(
        entity_type=entity,
        start=span[0],
        end=span[1],
        score=score,
        analysis_explanation=AnalysisExplanation(
            recognizer=recognizer.name, original_score=score, textual_explanation=why
        ),
        recognition_metadata={
            RecognizerResult.RECOGNIZER_NAME_KEY: recognizer.name,
            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: recognizer.id,
        },
    )


PHONE_CONTEXT: tuple[str, ...] = (
    # Matched at the start of a word (or anywhere, for scripts without spaces), so a stem
    # covers inflections ("telefon" -> "telefono", "telefonnummer"). Bare "number" words
    # (number, número, Nummer, номер, 番号...) are deliberately absent: in maths and coding
    # chats "the number 1048576" is common, and many 7-10 digit integers are valid phone
    # numbers somewhere.
    "phone", "telephone", "tel", "ph.", "mobile", "mob.", "cell", "call", "ring me", "text me",
    "whatsapp", "sms", "fax", "contact", "reach me", "hotline", "office", "desk", "dial",
    "answering", "messages to", "registered number", "my registered",
    "teléfono", "telefono", "telefone", "telefon", "téléphone", "tél", "móvil", "movil",
    "celular", "llámame", "llamar", "handy", "anrufen", "ruf", "portable", "appelle",
    "appeler", "cellulare", "chiamami", "ligar", "ligue", "telepon", "telp", "no hp",
    "nomor hp", "sđt", "điện thoại", "cep tel", "gsm", "komórk", "numer tel",
    "電話", "携帯", "連絡", "电话", "手机", "手機", "联系", "聯繫", "전화", "휴대폰", "연락",
    "телефон", "тел", "звон", "мобильн", "هاتف", "جوال", "اتصل", "फ़ोन", "फोन", "telefonu",
)  # fmt: skip
_PHONE_CUE = regex.compile(
    "(?<![a-zà-ÿ])(?:" + "|".join(regex.escape(cue) for cue in PHONE_CONTEXT) + ")"
)
_CUE_BEFORE, _CUE_AFTER = 48, 24  # characters searched for a phone word around a number
# A digit run passed to a function ("seed(1096837719)") or assigned is code, not a phone.
_CODE_BEFORE = regex.compile(r"(?:[A-Za-z0-9_]\(|=\s*|[A-Za-z_]\[)$")
_DIGIT_RUN = re.compile(r"[0-9]+")

PHONE_SCORE_CUE = 0.85  # a valid number with a phone word nearby, in any layout
PHONE_SCORE_CUE_ANY_LAYOUT = 0.75  # 8-15 digits valid nowhere, with a phone word nearby
_MIN_CUED_DIGITS = 8
PHONE_SCORE_INTERNATIONAL = 0.7  # "+CC ..." and valid
PHONE_SCORE_NATIONAL_LAYOUT = 0.6  # grouped as the country prints its numbers, and valid
PHONE_SCORE_BARE = 0.3  # valid somewhere, but nothing says it is a phone number


# "call" words of programming, blanked before looking for a phone word.
_CALL_IN_CODE = regex.compile(r"recent call last|call(?:back|ed\b|er\b|able|graph|_|\()")
# Numbers that a word before them names as something else: a registry or document number.
_OTHER_NUMBER_BEFORE = regex.compile(
    r"(?i)(?:company|registration|reg\.|vat|order|invoice|ticket|tracking|case|serial|"
    r"patent|isbn|issn|doi|pmid|arxiv|article|record)[ \t]*(?:no\.?|number|nr\.?|#|id)?"
    r"[ \t]*[:#]?[ \t]*$"
)
# Two numbers of equal length, the second larger: a range ("4501 - 5000", "pp. 4004-4011").
_PAIR = regex.compile(r"([0-9]+)[ ]?[-–][ ]?([0-9]+)")


# "Text 2125550616", "text me at ...": the verb right before the number (alone, "text" is
# too common a word to count anywhere in the window).
_TEXT_RIGHT_BEFORE = regex.compile(r"(?i)\b(?:text|txt)(?: (?:me|us|him|her))?(?: at| on)?[ :]*$")


def phone_cue_near(text: str, start: int, end: int) -> bool:
    """True if a phone word (:data:`PHONE_CONTEXT`) stands shortly before or after a span
    (``call`` in a traceback or an identifier does not count), or ``text`` right before it."""
    window = text[max(0, start - _CUE_BEFORE) : end + _CUE_AFTER].lower()
    return (
        _PHONE_CUE.search(_CALL_IN_CODE.sub(" ", window)) is not None
        or _TEXT_RIGHT_BEFORE.search(text, max(0, start - 16), start) is not None
    )


def other_number(text: str, start: int, end: int) -> bool:
    """True if the digit cluster ``text[start:end]`` is shaped or named as something other
    than a phone number: an ascending range of two equal-length numbers, a bracket closed
    that it never opened (``3000) / 1000``), a file name (``3827873343.py``), or a number
    a word names (``company No: 10382813``, ``order #...``), or an offset in a listing
    (``00000093  50  push eax``: no phone number starts with three zeros)."""
    cluster = text[start:end]
    if cluster.startswith("000"):
        return True
    pair = _PAIR.fullmatch(cluster)
    if pair and len(pair[1]) == len(pair[2]) and int(pair[2]) > int(pair[1]):
        return True
    if ")" in cluster and "(" not in cluster and text[start - 1 : start] != "(":
        return True
    if text[end : end + 1] == "." and text[end + 1 : end + 2].isalpha():
        return True
    return _OTHER_NUMBER_BEFORE.search(text, max(0, start - 32), start) is not None


def digit_groups(text: str) -> list[int]:
    """Lengths of the digit runs in ``text``: ``"(212) 555-0187"`` -> ``[3, 3, 4]``."""
    return [len(run) for run in _DIGIT_RUN.findall(text)]


def printed_layout(raw: str, number: phonenumbers.PhoneNumber) -> bool:
    """True if ``raw`` groups its digits as the number's country prints them.

    People write their own number the way their country formats it (``030 1234567``,
    ``090-1234-5678``, ``(212) 555-0187``, ``06 12 34 56 78``); ranges, ratios and table
    rows that happen to be valid numbers somewhere rarely do (``10923-16383``). The groups
    are compared from the right, so a dropped trunk prefix or country code does not matter.
    """
    groups = digit_groups(raw)
    if len(groups) < 2:
        return False
    if raw.lstrip("( ").startswith("+"):
        groups = groups[1:]  # the country code
        printed = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        expected = digit_groups(printed)[1:]
    else:
        printed = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        expected = digit_groups(printed)
    if len(groups) != len(expected) or not groups:
        return False
    # The first group may carry or drop a trunk prefix ("0"/"8") or the area bracket's "1".
    return groups[1:] == expected[1:] and abs(groups[0] - expected[0]) <= 1


def phone_score(text: str, start: int, end: int, number: phonenumbers.PhoneNumber) -> float:
    """Confidence that the valid number ``text[start:end]`` is a phone number.

    A phone word nearby settles it, whatever the layout. Otherwise "+CC ..." is unmistakable,
    and a national number needs to be grouped as its country prints numbers: timestamps,
    IDs, ranges and table rows are often valid national numbers somewhere, but are not
    written that way.
    """
    raw = text[start:end]
    if phone_cue_near(text, start, end):
        return PHONE_SCORE_CUE
    if raw.lstrip("( ").startswith("+"):
        return PHONE_SCORE_INTERNATIONAL
    if printed_layout(raw, number):
        return PHONE_SCORE_NATIONAL_LAYOUT
    return PHONE_SCORE_BARE


class MultilingualPhoneRecognizer(PhoneRecognizer):
    """Phone numbers of the configured regions, with phone words in many languages.

    Presidio runs one ``PhoneNumberMatcher`` per region over the whole text, so every digit
    run is parsed once per region, and relies on its context enhancer (words before the
    number only, English lemmas). We parse only the digit clusters that
    :func:`phone_clusters` lets through, once per region until one validates (a cluster
    starting with "+" once: an international number parses identically whatever the
    region), and score each number ourselves (:func:`phone_score`). A cluster that is an
    argument in code (``seed(1096837719)``, ``x = 5551234567``) is skipped.
    """

    def __init__(self, regions: Sequence[str]) -> None:
        super().__init__(supported_regions=tuple(regions))
        self.context = []  # Presidio's default context (incl. "number") is replaced by ours

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        results = []
        for start, end in phone_clusters(text):
            if _CODE_BEFORE.search(text, max(0, start - 3), start) or other_number(
                text, start, end
            ):
                continue
            number = self._valid_number(text[start:end])
            if number is not None:
                score = phone_score(text, start, end, number)
            elif digit_count(text[start:end]) >= _MIN_CUED_DIGITS and phone_cue_near(
                text, start, end
            ):
                score = PHONE_SCORE_CUE_ANY_LAYOUT  # numbering plans change; the word says it
            else:
                continue
            if start > 0 and text[start - 1] == "(" and ")" in text[start:end]:
                start -= 1  # "(212) 555-0187": the area code's bracket belongs to the number
            extension = _EXTENSION.match(text, end)
            span = (start, extension.end() if extension else end)
            results.append(_result(self, PHONE_NUMBER, span, score, "phone number, phone_score"))
        return results

    def _valid_number(self, cluster: str) -> phonenumbers.PhoneNumber | None:
        regions = self.supported_regions[:1] if cluster.startswith("+") else self.supported_regions
        for region in regions:
            try:
                number = phonenumbers.parse(cluster, region)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number(number):
                return number
        return None


class DenyListRecognizer(PatternRecognizer):
    """Exact (case-sensitive) strings, found even when glued to CJK text."""

    def __init__(self, terms: Sequence[str]) -> None:
        # Longest first, so "Acme Corp" wins over "Acme" at the same position.
        alternation = "|".join(regex.escape(term) for term in sorted(terms, key=len, reverse=True))
        pattern = rf"(?<![A-Za-z0-9])(?:{alternation})(?![A-Za-z0-9])"
        super().__init__(
            supported_entity=DENY_LIST,
            patterns=[Pattern("deny_list", pattern, 1.0)],
            global_regex_flags=regex.DOTALL | regex.MULTILINE,
        )


class IntroRule(NamedTuple):
    """A self-introduction pattern; group ``name`` is the PERSON span."""

    pattern: regex.Pattern[str]
    score: float


# A capitalised name token in any cased script: "Anna", "O'Brien", "Jean-Luc", "Müller", "Иван".
_CAP = r"\p{Lu}[\p{Ll}\p{M}]+(?:[-'’]\p{Lu}?[\p{Ll}\p{M}]+)*"
_NAME_1_3 = rf"(?P<name>{_CAP}(?:[ ]{_CAP}){{0,2}})"
_NAME_2_3 = rf"(?P<name>{_CAP}(?:[ ]{_CAP}){{1,2}})"
# Words that follow "I'm" capitalised without being a name (sentence-case, headings, emphasis).
_NOT_NAMES = (
    "Not|So|Very|Just|Also|Still|Really|Here|There|From|In|At|On|The|A|An|Going|Trying|"
    "Looking|Using|Working|Sorry|Sure|Glad|Happy|Fine|Good|Okay|Ok|Done|Back|Ready|New|"
    "Currently|Actually|Always|Never|Getting|Having|Doing|Feeling|Learning|Writing|Building|"
    "Planning|Thinking|Interested|Curious|Confused|Stuck|Sick|Tired|Excited|Afraid|Able|"
    "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|English|American|British|"
    # German capitalises pronouns and nouns: "Ich heiße Sie herzlich willkommen".
    "Sie|Ihnen|Euch|Dich|Du|Alle|Herzlich|Willkommen"
)
_NAME_START = rf"(?!(?:{_NOT_NAMES})\b)"
_CJK_NAME = r"[\p{Han}\p{Katakana}ー・]{1,12}?"


def _rule(pattern: str, score: float) -> IntroRule:
    return IntroRule(regex.compile(pattern, regex.MULTILINE), score)


INTRO_RULES: tuple[IntroRule, ...] = (
    # English; "I'm"/"I am" need first + last name and skip common non-name words.
    _rule(rf"(?i:\bmy name is|\bmy name's)[ ]+{_NAME_START}{_NAME_1_3}", 0.85),
    _rule(rf"\b(?i:i['’]m|i am)[ ]+{_NAME_START}{_NAME_2_3}", 0.7),
    # Spanish, Portuguese, Italian, French, German, Dutch, Russian.
    _rule(rf"(?i:\bme llamo|\bmi nombre es)[ ]+{_NAME_START}{_NAME_1_3}", 0.85),
    _rule(rf"(?i:\bmeu nome é|\beu me chamo|\bme chamo)[ ]+{_NAME_START}{_NAME_1_3}", 0.85),
    _rule(rf"(?i:\bmi chiamo|\bil mio nome è)[ ]+{_NAME_START}{_NAME_1_3}", 0.85),
    _rule(rf"(?i:\bje m['’]appelle|\bmon nom est)[ ]+{_NAME_START}{_NAME_1_3}", 0.85),
    _rule(rf"(?i:\bich hei(?:ß|ss)e|\bmein name ist)[ ]+{_NAME_START}{_NAME_1_3}", 0.85),
    _rule(rf"(?i:\bmijn naam is|\bik heet)[ ]+{_NAME_START}{_NAME_1_3}", 0.85),
    _rule(rf"(?i:\bменя зовут|\bмо[её] имя)[ ]+{_NAME_START}{_NAME_1_3}", 0.85),
    # Japanese: 私の名前は山田太郎です / 私の名前はTaro Yamadaです. Hiragana is not accepted in
    # the name ("私の名前はまだない" is a famous non-name).
    _rule(
        rf"(?:私|僕|俺|わたし|わたくし|ぼく)の名前は\s*(?P<name>{_CJK_NAME})"
        r"(?=\s*(?:です|と申します|といいます|と言います|[。、！!,.\s]|$))",
        0.85,
    ),
    _rule(rf"(?:私|僕|俺|わたし|わたくし|ぼく)の名前は\s*{_NAME_1_3}", 0.85),
    # Chinese: 我叫李明 / 我的名字是王小明. The name is 2-4 hanzi, ending at punctuation,
    # a non-Han character, or a common continuation; pronouns and particles are excluded.
    _rule(
        r"(?:我叫|我的名字是|我的名字叫|我名叫)(?![你他她它您们大什了])"
        r"(?P<name>\p{Han}{2,4}?)(?<![了的吗呢吧啊])"
        r"(?=[^\p{Han}]|$|今年|来自|來自|是|在|住|，)",
        0.7,
    ),
    # Korean: 제 이름은 김민수입니다.
    _rule(
        r"(?:제|내|저의|나의)\s*이름은\s*(?P<name>\p{Hangul}{2,4}?)"
        r"(?=입니다|이에요|예요|이고|이야|야|[\s\p{P}]|$)",
        0.8,
    ),
    # Arabic: اسمي محمد أحمد (the second word must not be a conjunction or common word).
    _rule(
        r"(?<!\p{Arabic})اسمي\s+(?P<name>\p{Arabic}{2,}"
        r"(?:\s+(?!و|من\b|في\b|أنا\b|عمري\b|هو\b)\p{Arabic}{2,})?)",
        0.75,
    ),
)  # fmt: skip

# Cheap gate for each rule above, in order: one of its words must be in the lower-cased text
# (substring tests in C; most texts then run no rule at all).
_INTRO_TRIGGERS: tuple[tuple[str, ...], ...] = (
    ("name",), ("i'm", "i’m", "i am"), ("llamo", "nombre"), ("nome", "chamo"),
    ("chiamo", "nome"), ("appelle", "nom est"), ("heiße", "heisse", "name ist"),
    ("naam", "heet"), ("зовут", "имя"), ("名前",), ("名前",), ("我叫", "名字", "名叫"),
    ("이름",), ("اسمي",),
)  # fmt: skip
_GATED_INTRO_RULES = tuple(zip(INTRO_RULES, _INTRO_TRIGGERS, strict=True))


class SelfIntroductionRecognizer(LocalRecognizer):
    """PERSON from self-introductions; only the name itself is the entity span."""

    def __init__(self, rules: Sequence[IntroRule] = INTRO_RULES) -> None:
        self.rules = tuple(rules)
        super().__init__(supported_entities=[PERSON], supported_language=LANGUAGE)

    def load(self) -> None:
        pass  # patterns are compiled at import time

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        results = []
        for rule in self.rules:
            for match in rule.pattern.finditer(text):
                start, end = match.span("name")
                explanation = AnalysisExplanation(
                    recognizer=self.name,
                    original_score=rule.score,
                    pattern=rule.pattern.pattern,
                    textual_explanation="self-introduction",
                )
                results.append(
                    RecognizerResult(
                        entity_type=PERSON,
                        start=start,
                        end=end,
                        score=rule.score,
                        analysis_explanation=explanation,
                        recognition_metadata={
                            RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                        },
                    )
                )
        return EntityRecognizer.remove_duplicates(results)


def build_recognizers(settings: PiiSettings, ner_active: bool) -> list[EntityRecognizer]:
    """One recognizer per requested pattern entity, plus spaCy NER for PERSON and LOCATION
    when a model is installed (without one, LOCATION is not looked for)."""
    factories = {
        EMAIL_ADDRESS: OfflineEmailRecognizer,
        PHONE_NUMBER: lambda: MultilingualPhoneRecognizer(settings.phone_regions),
        CREDIT_CARD: BoundaryFreeCreditCardRecognizer,
        IBAN_CODE: AnyCaseIbanRecognizer,
        IP_ADDRESS: BoundaryFreeIpRecognizer,
        US_SSN: BoundaryFreeUsSsnRecognizer,
        PERSON: SelfIntroductionRecognizer,
    }
    recognizers: list[EntityRecognizer] = [
        factories[entity]() for entity in settings.entities if entity in factories
    ]
    if CREDIT_CARD in settings.entities:
        recognizers.append(CuedCardNumberRecognizer())
    by_ner = [entity for entity in NER_ENTITIES if entity in settings.entities]
    if ner_active and by_ner:
        recognizers.append(SpacyRecognizer(supported_entities=by_ner))
    if settings.deny_list:
        recognizers.append(DenyListRecognizer(settings.deny_list))
    return recognizers


# --------------------------------------------------------------------------------------------
# Pre-filter: which entities can possibly occur in a text?
# --------------------------------------------------------------------------------------------
# Each hint is implied by every pattern of the corresponding recognizer, so skipping an entity
# whose hint is absent can never lose a finding; a present hint only means "worth a look".
# Engines were chosen per pattern by measurement: ``regex`` is 4-5x faster than ``re`` on the
# fixed-shape digit patterns, ``re`` is faster for the cluster scan and the trigger words.

_DIGIT_CHARS = "0123456789"
# A run of digits joined by what phone numbers use between digits (spaces, dashes, dots,
# slashes, brackets), optionally starting with "+": "+1 (212) 555-0187", "090-1234-5678".
_PHONE_CLUSTER = re.compile(
    r"\+?[0-9](?:[\s().\-/\[\]~\u00ad\u200b\u2010-\u2015\u2053\u2060\u2212\u223c\u30fc]{0,4}[0-9])*"
)
_LIST_SEPARATOR = regex.compile(r"\s*/\s*|\s{2,}")
_MIN_PHONE_DIGITS, _MAX_PHONE_DIGITS = 7, 15
# Clusters of these shapes are dates, dotted quads (IPs, versions) or decimals, never phones.
_NOT_PHONE_SHAPE = regex.compile(
    r"[0-9]{4}[-/.][0-9]{1,2}[-/.][0-9]{1,2}"  # 2023-04-25
    r"|[0-9]{1,2}[-/.][0-9]{1,2}[-/.][0-9]{2,4}"  # 25/04/2023, 04.25.23
    r"|[0-9]{1,3}(?:\.[0-9]{1,3}){3}(?:/[0-9]{1,3})?"  # 192.168.1.10, 1.2.3.4, 81.2.69.0/24
    r"|[0-9]+\.[0-9]+"  # 3.14159265
    r"|97[89](?:-[0-9]+){3}-[0-9]"  # ISBN-13 978-3-16-148410-0
)
# A date followed by a time ("2023-01-08 20:51:59" reaches the cluster as "2023-01-08 20").
_DATE_TIME_OPENING = regex.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}[ T]")
# The union of Presidio's five SSN shapes (5-4, 3-6, 3-2-4, 9 digits), with their boundaries.
_SSN_HINT = regex.compile(
    r"(?<![A-Za-z0-9_])[0-9]{3}(?:[0-9]{2}-[0-9]{4}|-[0-9]{6}|[- .]?[0-9]{2}[- .]?[0-9]{4})"
    r"(?![A-Za-z0-9_])"
)
_CARD_HINT = regex.compile(r"(?<![A-Za-z0-9])[0-9](?:[ \-]?[0-9]){11}")
_IBAN_HINT = regex.compile(r"[A-Za-z]{2}[0-9]{2}")
_IPV4_HINT = regex.compile(r"[0-9]\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]")
# An IPv6 address either compresses zeros next to a hex group ("2606:4700::1111", "::1") or
# has four groups in a row; C++ scopes ("std::vector") and Python slices ("a[::2]") do not
# look like either.
_IPV6_HINT = re.compile(
    r"(?<![\w.])[0-9A-Fa-f]{1,4}::|::[0-9A-Fa-f]{1,4}(?!\w)"
    r"|(?<![\w:.])(?:[0-9A-Fa-f]{1,4}:){3}[0-9A-Fa-f]{1,4}(?!\w)"
)


_EXTENSION = re.compile(r"x[0-9]{1,5}(?![A-Za-z0-9])")


def _glued_to_latin(text: str, start: int, end: int) -> bool:
    # phonenumbers (leniency VALID) rejects a number directly preceded or followed by a Latin
    # letter unless it starts with "+"; this is what keeps hex hashes and identifiers out.
    # An extension written "555-0187x123" is not glue.
    before = text[start - 1] if start > 0 else ""
    after = text[end] if end < len(text) else ""
    return (text[start] != "+" and before.isascii() and before.isalpha()) or (
        after.isascii() and after.isalpha() and _EXTENSION.match(text, end) is None
    )


def phone_clusters(text: str) -> Iterator[tuple[int, int]]:
    """Spans of digit clusters that could be phone numbers.

    A cluster qualifies with 7 to 15 digits (E.164 allows at most 15), if it is not
    date/IP/decimal-shaped and not glued to a Latin letter. Longer clusters are split where
    numbers are usually listed ("030 1234567 / 030 7654321", double spaces); what is still
    longer -- card numbers, long IDs, digit sequences -- is not a phone number.
    """
    for match in _PHONE_CLUSTER.finditer(text):
        pieces = [match.span()]
        if digit_count(match.group()) > _MAX_PHONE_DIGITS:
            pieces = _split_cluster(match.start(), match.group())
        for start, end in pieces:
            cluster = text[start:end]
            if (
                _MIN_PHONE_DIGITS <= digit_count(cluster) <= _MAX_PHONE_DIGITS
                and _NOT_PHONE_SHAPE.fullmatch(cluster) is None
                and _DATE_TIME_OPENING.match(cluster) is None
                and not _glued_to_latin(text, start, end)
            ):
                yield start, end


def _split_cluster(offset: int, cluster: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for separator in _LIST_SEPARATOR.finditer(cluster):
        spans.append((offset + start, offset + separator.start()))
        start = separator.end()
    spans.append((offset + start, offset + len(cluster)))
    return spans


def phone_hint(text: str) -> bool:
    return next(phone_clusters(text), None) is not None


def person_hint(text: str) -> bool:
    """True if a self-introduction rule matches (a trigger-word scan first, then the rules)."""
    lowered = text.lower()
    return any(
        any(word in lowered for word in words) and rule.pattern.search(text) is not None
        for rule, words in _GATED_INTRO_RULES
    )


def digit_count(text: str) -> int:
    """Number of ASCII digits (ten C-level scans; faster than any per-character loop)."""
    return sum(map(text.count, _DIGIT_CHARS))


class Hints(NamedTuple):
    """What a batch pass found in one text: its ASCII digits, and for each exact hint below
    whether a looser form of it (the same regex without look-around) matches. False means
    the exact hint cannot match, so `candidate_entities` need not search for it."""

    digits: int
    ipv4: bool
    ipv6: bool
    ssn: bool
    card: bool
    iban: bool
    phone: bool


# The hints without look-around: Polars runs them (Rust, every core) over a batch at once.
_LOOSE_HINTS = {
    "ipv4": _IPV4_HINT.pattern,
    "ipv6": r"[0-9A-Fa-f]{1,4}::|::[0-9A-Fa-f]{1,4}|(?:[0-9A-Fa-f]{1,4}:){3}[0-9A-Fa-f]{1,4}",
    "ssn": r"[0-9]{3}(?:[0-9]{2}-[0-9]{4}|-[0-9]{6}|[- .]?[0-9]{2}[- .]?[0-9]{4})",
    "card": r"[0-9](?:[ \-]?[0-9]){11}",
    "iban": _IBAN_HINT.pattern,
    # 7 digits of one `_PHONE_CLUSTER` (Python's \s also takes \x1c-\x1f, Rust's does not).
    "phone": r"[0-9](?:[\s\x1c-\x1f().\-/\[\]~\x{ad}\x{200b}\x{2010}-\x{2015}\x{2053}\x{2060}"
    r"\x{2212}\x{223c}\x{30fc}]{0,4}[0-9]){6}",
}


def batch_hints(texts: Sequence[str]) -> list[Hints]:
    """`Hints` of each text, computed column-wise: the Python searches of
    `candidate_entities` then run only on the few texts where a loose form matched."""
    column = pl.col("text")
    frame = pl.DataFrame({"text": texts}, schema={"text": pl.String}).select(
        digits=column.str.count_matches("[0-9]"),
        **{name: column.str.contains(pattern) for name, pattern in _LOOSE_HINTS.items()},
    )
    return [Hints(*row) for row in frame.iter_rows()]


def candidate_entities(
    text: str, entities: Iterable[str], ner_active: bool = False, hints: Hints | None = None
) -> set[str]:
    """The subset of ``entities`` that could occur in ``text`` (cheap, conservative);
    ``hints`` (`batch_hints`), when given, spare the searches they rule out."""
    wanted = set(entities)
    found: set[str] = set()
    if EMAIL_ADDRESS in wanted and "@" in text:
        found.add(EMAIL_ADDRESS)
    if PERSON in wanted and (ner_active or person_hint(text)):
        found.add(PERSON)
    if LOCATION in wanted and ner_active:
        found.add(LOCATION)
    digits = digit_count(text) if hints is None else hints.digits
    if IP_ADDRESS in wanted and (
        (
            ("::" in text or text.count(":") >= 7)
            and (hints is None or hints.ipv6)
            and _IPV6_HINT.search(text)
        )
        or (
            digits >= 4
            and text.count(".") >= 3
            and (hints is None or hints.ipv4)
            and _IPV4_HINT.search(text)
        )
    ):
        found.add(IP_ADDRESS)
    if digits < 7:
        return found
    if PHONE_NUMBER in wanted and (hints is None or hints.phone) and phone_hint(text):
        found.add(PHONE_NUMBER)
    if digits >= 9 and US_SSN in wanted and (hints is None or hints.ssn) and _SSN_HINT.search(text):
        found.add(US_SSN)
    if (
        digits >= 12
        and CREDIT_CARD in wanted
        and (hints is None or hints.card)
        and _CARD_HINT.search(text)
    ):
        found.add(CREDIT_CARD)
    if IBAN_CODE in wanted and (hints is None or hints.iban) and _IBAN_HINT.search(text):
        found.add(IBAN_CODE)
    return found


# --------------------------------------------------------------------------------------------
# Overlaps and redaction
# --------------------------------------------------------------------------------------------


def _priority(finding: PiiFinding) -> tuple[float, int, int, str, str]:
    length = finding.end - finding.start
    return (-finding.score, -length, finding.start, finding.entity_type, finding.recognizer)


def resolve_overlaps(findings: Iterable[PiiFinding]) -> list[PiiFinding]:
    """Keep a non-overlapping subset, sorted by start.

    Greedy by priority: higher score, then longer span, then earlier start (then entity type
    and recognizer name, so the result never depends on input order).
    """
    kept: list[PiiFinding] = []
    for finding in sorted(findings, key=_priority):
        if all(finding.end <= other.start or finding.start >= other.end for other in kept):
            kept.append(finding)
    return sorted(kept, key=lambda finding: (finding.start, finding.end))


def redact(text: str, findings: Sequence[PiiFinding]) -> str:
    """Replace each finding's span with ``<ENTITY_TYPE>``.

    Findings must not overlap (as returned by :meth:`PiiEngine.analyze`); order is irrelevant.
    """
    parts: list[str] = []
    cursor = 0
    for finding in sorted(findings, key=lambda finding: finding.start):
        if finding.start < cursor:
            raise ValueError(f"overlapping findings at offset {finding.start}")
        parts.append(text[cursor : finding.start])
        parts.append(f"<{finding.entity_type}>")
        cursor = finding.end
    parts.append(text[cursor:])
    return "".join(parts)


# --------------------------------------------------------------------------------------------
# Engine
# --------------------------------------------------------------------------------------------


# Stands in for the NLP pass in the first analysis phase: no tokens, so no context boosting.
_NO_NLP = NlpArtifacts(
    entities=[], tokens=[], tokens_indices=[], lemmas=[], nlp_engine=None, language=LANGUAGE
)


class _BoostOnlyWithTokens(ContextAwareEnhancer):
    """Presidio's context enhancer, skipped in the first phase: with :data:`_NO_NLP` there
    are no words to find, and the enhancer would only deep-copy every result."""

    def __init__(self, inner: ContextAwareEnhancer) -> None:
        super().__init__(
            inner.context_similarity_factor,
            inner.min_score_with_context_similarity,
            inner.context_prefix_count,
            inner.context_suffix_count,
        )
        self.inner = inner

    def enhance_using_context(
        self,
        text: str,
        raw_results: list[RecognizerResult],
        nlp_artifacts: NlpArtifacts,
        recognizers: list[EntityRecognizer],
        context: list[str] | None = None,
    ) -> list[RecognizerResult]:
        if nlp_artifacts is _NO_NLP and not context:
            return raw_results
        return self.inner.enhance_using_context(
            text, raw_results, nlp_artifacts, recognizers, context
        )


class PiiEngine:
    """Build once, then call :meth:`analyze` on many texts (it keeps no per-call state).

    Each text is analysed in up to two phases that skip the most expensive step of an ordinary
    ``AnalyzerEngine.analyze`` call -- the spaCy pass, which only serves context-word
    boosting -- unless it can matter:

    1. ``analyzer.analyze`` runs the candidate recognizers with empty NLP artifacts and no
       threshold;
    2. only results whose score a context word could still raise (their recognizer has context
       words and they score below 1.0) get the spaCy pass and Presidio's context enhancer, then
       the threshold. NER-based PERSON (``ner_model``) needs the NLP pass itself and is
       analysed again in full.

    Most texts that reach Presidio only hold dates, IDs or checksum-validated values, so they
    never need the spaCy pass. The result equals a single ``analyze`` call over all entities
    (verified by the tests).
    """

    def __init__(self, settings: PiiSettings = DEFAULT_PII_SETTINGS) -> None:
        self.settings = settings
        self.ner_active = _ner_available(settings.ner_model)
        recognizers = build_recognizers(settings, self.ner_active)
        registry = RecognizerRegistry(recognizers=recognizers, supported_languages=[LANGUAGE])
        self.analyzer = AnalyzerEngine(
            registry=registry,
            nlp_engine=build_nlp_engine(settings.ner_model),
            supported_languages=[LANGUAGE],
        )
        self.analyzer.context_aware_enhancer = _BoostOnlyWithTokens(
            self.analyzer.context_aware_enhancer
        )
        self._contextual = frozenset(
            entity for recognizer in recognizers if recognizer.context
            for entity in recognizer.supported_entities
        )  # fmt: skip
        self._needs_nlp = frozenset(NER_ENTITIES if self.ner_active else ())
        self._allow_list = list(settings.allow_list) or None
        self._names = PERSON in settings.entities and settings.written_by == PERSON_WRITTEN
        # What a model wrote is not searched for names or places: not even their hints.
        self._candidate_types = frozenset(settings.entities) - (
            set() if settings.written_by == PERSON_WRITTEN else {PERSON, LOCATION}
        )

    def __reduce__(self) -> tuple[type[PiiEngine], tuple[PiiSettings]]:
        # Pickle as settings only, so an engine can be sent to ProcessPoolExecutor workers;
        # each worker rebuilds its own analyzer (spaCy/Presidio objects do not pickle well).
        return (PiiEngine, (self.settings,))

    def candidates(self, text: str, hints: Hints | None = None) -> set[str]:
        """Entities worth running the analyzer for on ``text`` (DENY_LIST included).

        Names are looked for in what a person wrote only (``PiiSettings.written_by``).
        """
        found = candidate_entities(text, self._candidate_types, self.ner_active, hints)
        if self.settings.deny_list and any(term in text for term in self.settings.deny_list):
            found.add(DENY_LIST)
        return found

    def analyze(self, text: str) -> list[PiiFinding]:
        """Non-overlapping findings in ``text``, sorted by start offset."""
        return self._analyze(text, fold_fullwidth(text), None)

    def _analyze(self, text: str, folded: str, hints: Hints | None) -> list[PiiFinding]:
        entities = self.candidates(folded, hints)
        found = (
            [_finding(result) for result in self.analyze_raw(folded, entities)] if entities else []
        )
        if self._names:
            contact = any(finding.entity_type in CONTACT_DETAILS for finding in found)
            found += self.person_names(folded, contact)
        return resolve_overlaps(
            finding
            for finding in found
            # Presidio's allow-list saw the folded text; full-width originals are checked here.
            if text[finding.start : finding.end] not in self.settings.allow_list
        )

    def person_names(self, text: str, holds_contact_details: bool = False) -> list[PiiFinding]:
        """PERSON findings of :func:`transforms.person_names.find_names` above the threshold;
        ``holds_contact_details``: ``text`` carries someone's e-mail address or phone number."""
        return [
            PiiFinding(PERSON, name.start, name.end, name.score, f"PersonName:{name.rule}")
            for name in find_names(
                text, holds_contact_details or self.settings.person_names == NAMES_BROAD
            )
            if name.score >= self.settings.score_threshold
        ]

    def analyze_raw(self, text: str, entities: Iterable[str]) -> list[RecognizerResult]:
        """Presidio results for ``entities`` in ``text`` (thresholded, overlaps not resolved)."""
        entities = sorted(entities)
        threshold = self.settings.score_threshold
        first = self.analyzer.analyze(
            text,
            language=LANGUAGE,
            entities=entities,
            score_threshold=0.0,
            allow_list=self._allow_list,
            nlp_artifacts=_NO_NLP,
            return_decision_process=True,  # the context enhancer annotates explanations
        )
        rerun = sorted(set(entities) & self._needs_nlp)
        kept: list[RecognizerResult] = []
        boostable: list[RecognizerResult] = []
        for result in first:
            if result.entity_type in rerun:
                continue
            if result.entity_type in self._contextual and result.score < EntityRecognizer.MAX_SCORE:
                boostable.append(result)
            elif result.score >= threshold:
                kept.append(result)
        if boostable:
            kept += self._boost_with_context(text, boostable)
        if rerun:
            kept += self.analyzer.analyze(
                text,
                language=LANGUAGE,
                entities=rerun,
                score_threshold=threshold,
                allow_list=self._allow_list,
            )
        return kept

    def _boost_with_context(
        self, text: str, results: list[RecognizerResult]
    ) -> list[RecognizerResult]:
        """Presidio's context enhancement and threshold, as inside ``AnalyzerEngine.analyze``."""
        artifacts = self.analyzer.nlp_engine.process_text(text, LANGUAGE)
        recognizers = self.analyzer.registry.get_recognizers(
            language=LANGUAGE, entities=sorted({result.entity_type for result in results})
        )
        enhanced = self.analyzer.context_aware_enhancer.enhance_using_context(
            text=text, raw_results=results, nlp_artifacts=artifacts, recognizers=recognizers
        )
        passing = [result for result in enhanced if result.score >= self.settings.score_threshold]
        return EntityRecognizer.remove_duplicates(passing)

    def analyze_many(self, texts: Sequence[str]) -> list[list[PiiFinding]]:
        """:meth:`analyze` for each text (same results, in order), the pre-filter's searches
        narrowed for the whole batch first (`batch_hints`)."""
        folded = [fold_fullwidth(text) for text in texts]
        hints = batch_hints(folded)
        return [
            self._analyze(text, fold, hint)
            for text, fold, hint in zip(texts, folded, hints, strict=True)
        ]


def _finding(result: RecognizerResult) -> PiiFinding:
    metadata = result.recognition_metadata or {}
    return PiiFinding(
        entity_type=result.entity_type,
        start=result.start,
        end=result.end,
        score=float(result.score),
        recognizer=str(metadata.get(RecognizerResult.RECOGNIZER_NAME_KEY, "")),
    )


_engines: dict[PiiSettings, PiiEngine] = {}


def analyze_chunk(texts: list[str], settings: PiiSettings) -> list[list[dict]]:
    """Findings of each text as plain dicts: what worker processes send back. The engine
    is built once per process and settings."""
    if settings not in _engines:
        _engines[settings] = PiiEngine(settings)
    return [[asdict(f) for f in found] for found in _engines[settings].analyze_many(texts)]
