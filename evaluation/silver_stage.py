"""The whole silver stage on external text, run as a user runs it.

The engine sections of ``make eval`` (evaluation/pii.py) score the PII engine alone. This
one scores what reaches silver: every text of the two external sets (presidio-research's
labelled synthetic sentences, and the person-written Chatbot Arena prompts of
``real_text`` with their labels) becomes the user turn of one Chatbot Arena vote, written
into a Hub-layout mirror that holds only ``lmsys/chatbot_arena_conversations`` in the exact
schema the catalogue declares. The lake is then built from it as a user would, with
``LAKE_SOURCES=<mirror>``, a temporary ``LAKE_ROOT`` and a temporary ``DAGSTER_HOME``:
bronze and ``silver/comparisons`` are materialized for that dataset, with their asset
checks, through the real Dagster and Delta code. The scrubbed user turn of each vote is
read back from ``silver/comparisons`` by its ``question_id`` (``eval-<text id>``).

Scoring rule (:func:`outcome`): a labelled value is *removed* when no occurrence of its
text remains in the scrubbed user turn, *kept* (intact) when as many occurrences remain as
the cleaned input had, and *partly removed* in between. An occurrence is the value's text
(Unicode NFC, as silver normalises) not preceded or followed by a letter or digit where the
value itself starts or ends with one, so ``Li`` is not found inside ``Linux``. A value
replaced in part (``+1 <PHONE_NUMBER_1>``) no longer appears, so it counts as removed.
"""

from __future__ import annotations

import os
import tempfile
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import regex

from evaluation.pii import (
    CONTACT,
    TARGETED,
    EntityRecall,
    _cell,
    _pct,
    _recall_rows,
    _recall_table,
    load_labels,
    load_samples,
    load_texts,
    our_label,
    share,
)

DATASET = "chatbot_arena_conversations"
SPLIT = "train"
# The only file of the mirror: the dataset's one split glob (data/train-*.parquet) in the
# Hub's layout, `<org>/<name>/<path>`.
MIRROR_FILE = "lmsys/chatbot_arena_conversations/data/train-00000-of-00001-evaluation.parquet"
MARKER = "eval-"  # question_id = MARKER + the external text's id
SILVER_KEY = ("silver", "comparisons")
BRONZE_KEY = ("bronze", DATASET)

# Benign values for every field that is not the user turn (the sample's first row has the
# shape; votes differ only by question_id, judge and timestamp, as real votes do, so two
# equal texts are two votes, not a duplicate).
MODEL_A, MODEL_B = "vicuna-13b", "koala-13b"
ANSWER_A = "Thank you for the question. Here is a short, general answer."
ANSWER_B = "I can help with that. Here is a brief overview."
FIRST_TSTAMP = 1_684_927_777.0
MODERATION_CATEGORIES = (
    "harassment", "harassment/threatening", "hate", "hate/threatening", "self-harm",
    "self-harm/instructions", "self-harm/intent", "sexual", "sexual/minors", "violence",
    "violence/graphic",
)  # fmt: skip

REMOVED, KEPT, PARTLY, ABSENT = "removed", "kept", "partly removed", "not in input"


# --------------------------------------------------------------------------------------------
# Cases: one external text, one Arena vote
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GoldValue:
    """A labelled value of an external text: its text, type, and whether it is personal."""

    value: str
    entity_type: str
    personal: bool
    why: str = ""

    @property
    def kind(self) -> str:
        """The kind of value, the label's reason up to its colon (``private IP``)."""
        return self.why.split(":", 1)[0].strip()


@dataclass(frozen=True)
class Case:
    """One external text placed as the user turn of one Arena vote."""

    question_id: str
    text: str
    source: str  # "synthetic" or "real"
    values: tuple[GoldValue, ...]


def synthetic_cases() -> list[Case]:
    """Every sample of presidio-research's synthetic set; every labelled span is a value
    that must go (the set labels only PII), typed in this project's vocabulary."""
    return [
        Case(
            MARKER + sample.id,
            sample.text,
            "synthetic",
            tuple(
                GoldValue(sample.text[s.start : s.end], our_label(s.label), True)
                for s in sample.spans
            ),
        )
        for sample in load_samples()
    ]


def real_cases() -> list[Case]:
    """Every person-written text of ``real_text`` with its labels (personal or not)."""
    by_text: dict[str, list[GoldValue]] = defaultdict(list)
    for label in load_labels():
        by_text[label.id].append(
            GoldValue(label.value, label.entity_type, label.personal, label.why)
        )
    return [
        Case(MARKER + text.id, text.text, "real", tuple(by_text.get(text.id, ())))
        for text in load_texts()
        if text.written_by == "person"
    ]


def arena_row(question_id: str, prompt: str, index: int) -> dict[str, Any]:
    """One Chatbot Arena vote whose user turn is ``prompt``: every field the catalogue
    declares, with benign values (no moderation flag, no toxicity, a one-turn vote)."""
    moderation = {
        "categories": dict.fromkeys(MODERATION_CATEGORIES, False),
        "category_scores": dict.fromkeys(MODERATION_CATEGORIES, 0.0),
        "flagged": False,
    }
    return {
        "question_id": question_id,
        "model_a": MODEL_A,
        "model_b": MODEL_B,
        "winner": "model_a",
        "judge": f"arena_user_{index}",
        "conversation_a": [
            {"content": prompt, "role": "user"},
            {"content": ANSWER_A, "role": "assistant"},
        ],
        "conversation_b": [
            {"content": prompt, "role": "user"},
            {"content": ANSWER_B, "role": "assistant"},
        ],
        "turn": 1,
        "anony": True,
        "language": "English",
        "tstamp": FIRST_TSTAMP + index,
        "openai_moderation": moderation,
        "toxic_chat_tag": {
            "roberta-large": {"flagged": False, "probability": 0.0},
            "t5-large": {"flagged": False, "score": 0.0},
        },
    }


def arena_schema() -> pl.Schema:
    """The schema the catalogue declares for Chatbot Arena (sources/catalogue.yaml)."""
    from orchestration.catalogue import load_catalogue

    return load_catalogue()[DATASET].polars_schema


def mirror_frame(cases: Sequence[Case]) -> pl.DataFrame:
    """The mirror file's rows, row ``i`` being ``cases[i]``, in the catalogue's schema."""
    rows = [arena_row(case.question_id, case.text, i) for i, case in enumerate(cases)]
    return pl.DataFrame(rows, schema=arena_schema(), orient="row")


def write_mirror(root: Path, cases: Sequence[Case]) -> Path:
    """Write the Hub-layout mirror under ``root`` (only the Arena file); returns the file."""
    path = root / MIRROR_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    mirror_frame(cases).write_parquet(path)
    return path


# --------------------------------------------------------------------------------------------
# The scoring rule
# --------------------------------------------------------------------------------------------


def normal(text: str) -> str:
    """Text in silver's normal form for comparison: Unicode NFC."""
    return unicodedata.normalize("NFC", text)


def occurrences(value: str, text: str) -> int:
    """Occurrences of ``value`` in ``text`` (both NFC), not inside a longer word or number:
    where the value starts (ends) with a letter or digit, the character before (after) an
    occurrence must not be one."""
    value, text = normal(value), normal(text)
    if not value:
        return 0
    before = r"(?<![\p{L}\p{N}])" if regex.match(r"[\p{L}\p{N}]", value[0]) else ""
    after = r"(?![\p{L}\p{N}])" if regex.match(r"[\p{L}\p{N}]", value[-1]) else ""
    return len(regex.findall(before + regex.escape(value) + after, text, overlapped=True))


def outcome(value: str, original: str, scrubbed: str) -> str:
    """What silver did to ``value``: :data:`REMOVED` (no occurrence is left), :data:`KEPT`
    (every occurrence of the input is left), :data:`PARTLY` (some are), or :data:`ABSENT`
    (the input has none: it cannot be scored)."""
    before = occurrences(value, original)
    if before == 0:
        return ABSENT
    after = occurrences(value, scrubbed)
    if after == 0:
        return REMOVED
    return KEPT if after >= before else PARTLY


# --------------------------------------------------------------------------------------------
# Scores
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Judged:
    """One labelled value and what silver did to it."""

    question_id: str
    value: GoldValue
    outcome: str


@dataclass(frozen=True)
class RealScore:
    """Labelled values of the person-written real texts, by what silver did to them."""

    judged: tuple[Judged, ...]

    def count(self, personal: bool, result: str | None = None) -> int:
        """Values labelled ``personal`` (with outcome ``result``, or any)."""
        return sum(
            1
            for j in self.judged
            if j.value.personal == personal and (result is None or j.outcome == result)
        )

    @property
    def removed_share(self) -> float:
        """Of the personal values, the share removed."""
        return share(self.count(True, REMOVED), self.count(True) - self.count(True, ABSENT))

    @property
    def kept_share(self) -> float:
        """Of the values that are not personal, the share kept intact."""
        return share(self.count(False, KEPT), self.count(False) - self.count(False, ABSENT))

    @property
    def wrongly_removed(self) -> int:
        """Values that are not personal with at least one occurrence removed."""
        return self.count(False, REMOVED) + self.count(False, PARTLY)

    @property
    def precision(self) -> float:
        """removed personal / (removed personal + removed not-personal)."""
        removed = self.count(True, REMOVED)
        return share(removed, removed + self.wrongly_removed)


def score_cases(
    cases: Iterable[Case], scrubbed: Mapping[str, str]
) -> dict[str, tuple[Judged, ...]]:
    """Judge every labelled value of every case found in ``scrubbed`` (question_id -> the
    scrubbed user turn), by source; cases not there are left to :func:`account_rows`."""
    judged: dict[str, list[Judged]] = defaultdict(list)
    for case in cases:
        if case.question_id not in scrubbed:
            continue
        after = scrubbed[case.question_id]
        original = normal(case.text).strip()
        for value in case.values:
            judged[case.source].append(
                Judged(case.question_id, value, outcome(value.value, original, after))
            )
    return {source: tuple(rows) for source, rows in judged.items()}


def recall_rows(judged: Iterable[Judged]) -> tuple[tuple[EntityRecall, ...], EntityRecall]:
    """Recall per entity type (found = removed) and pooled contact data, as evaluation/pii
    lays it out; values absent from the input are left out."""
    return _recall_rows(
        (j.value.entity_type, j.outcome == REMOVED) for j in judged if j.outcome != ABSENT
    )


# --------------------------------------------------------------------------------------------
# Rows: where every input went
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowAccount:
    """Every input row accounted for: in silver, quarantined (where, why), or dropped."""

    rows_in: int
    in_silver: int
    quarantined: tuple[tuple[str, str, str], ...]  # (layer, reason, question_id)
    dropped_duplicate: int  # as silver reports it
    missing: tuple[str, ...]  # question_ids neither in silver nor quarantined

    @property
    def unaccounted(self) -> int:
        """Rows missing beyond the duplicates silver reports dropping."""
        return max(0, len(self.missing) - self.dropped_duplicate)


WHOLE_FILE = "(the whole file)"


def account_rows(
    cases: Sequence[Case],
    in_silver: Iterable[str],
    quarantine: Iterable[tuple[str, str, int | None]],
    dropped_duplicate: int,
) -> RowAccount:
    """Which input rows reached silver. ``quarantine`` holds (layer, reason, source_row) of
    the rows bronze or silver rejected; source_row is the row's position in the mirror
    file, i.e. its index in ``cases`` (None: the whole file was rejected)."""
    present = set(in_silver)
    rejected = [
        (layer, reason, cases[row].question_id if row is not None else WHOLE_FILE)
        for layer, reason, row in quarantine
    ]
    placed = present | {qid for _, _, qid in rejected}
    return RowAccount(
        len(cases),
        sum(1 for c in cases if c.question_id in present),
        tuple(rejected),
        dropped_duplicate,
        tuple(c.question_id for c in cases if c.question_id not in placed),
    )


# --------------------------------------------------------------------------------------------
# The build
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckOutcome:
    """One asset check evaluated on silver/comparisons."""

    name: str
    passed: bool
    blocking: bool
    detail: str


@dataclass(frozen=True)
class Build:
    """What building bronze and silver from the mirror did."""

    bronze: dict[str, Any]
    silver: dict[str, Any]
    checks: tuple[CheckOutcome, ...]
    failures: tuple[str, ...]  # step failures other than failed checks
    bronze_seconds: float
    silver_seconds: float

    @property
    def seconds(self) -> float:
        return self.bronze_seconds + self.silver_seconds


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the block, restoring the previous values after."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


CHECK_DETAIL_KEYS = (
    "review_hits", "hits_allowed", "canaries_surviving", "texts_scanned", "rows",
    "duplicated_ids", DATASET, "unreconciled", "rows_before", "datasets_dropping",
    "top_languages_now",
)  # fmt: skip


def _metadata(result: Any, key: tuple[str, ...]) -> dict[str, Any]:
    """The metadata a run reported for one asset (materialized, else observed)."""
    events = [
        e.materialization
        for e in result.get_asset_materialization_events()
        if tuple(e.asset_key.path) == key
    ] or [
        e.asset_observation_data.asset_observation
        for e in result.get_asset_observation_events()
        if tuple(e.asset_key.path) == key
    ]
    if not events:
        return {}
    return {k: v.value for k, v in events[-1].metadata.items()}


def _checks(result: Any) -> tuple[CheckOutcome, ...]:
    outcomes = []
    for evaluation in result.get_asset_check_evaluations():
        meta = {k: v.value for k, v in evaluation.metadata.items()}
        detail = ", ".join(
            f"{k}={meta[k]}"
            for k in (*CHECK_DETAIL_KEYS, *sorted(k for k in meta if k.startswith("found_")))
            if k in meta
        )
        blocking = evaluation.severity.value == "ERROR"
        outcomes.append(CheckOutcome(evaluation.check_name, evaluation.passed, blocking, detail))
    return tuple(sorted(outcomes, key=lambda c: c.name))


def build_lake(mirror: Path, lake_root: Path, dagster_home: Path) -> Build:
    """Materialize bronze and silver/comparisons for Chatbot Arena from ``mirror``, as a
    user would: the environment names the sources, the lake and the Dagster home."""
    dagster_home.mkdir(parents=True, exist_ok=True)
    (dagster_home / "dagster.yaml").write_text(
        "telemetry:\n  enabled: false\nnux:\n  enabled: false\n", encoding="utf-8"
    )
    env = {
        "LAKE_SOURCES": str(mirror),
        "LAKE_ROOT": str(lake_root),
        "DAGSTER_HOME": str(dagster_home),
    }
    with environment(env):
        from dagster import AssetKey, DagsterInstance, materialize

        from orchestration.definitions import build_definitions

        defs = build_definitions()
        definitions = [*(defs.assets or []), *(defs.asset_checks or [])]
        quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
        with DagsterInstance.get() as instance:

            def timed_run(
                key: tuple[str, ...], partition: str, raise_on_error: bool = True
            ) -> tuple[Any, float]:
                """Materialize one partition of one asset (with its checks); the run and
                its seconds."""
                started = time.perf_counter()
                result = materialize(
                    definitions,
                    selection=[AssetKey(list(key))],
                    partition_key=partition,
                    resources=defs.resources,
                    instance=instance,
                    run_config=quiet,
                    raise_on_error=raise_on_error,
                )
                return result, time.perf_counter() - started

            bronze, bronze_seconds = timed_run(BRONZE_KEY, SPLIT)
            # A failed blocking check is a finding, not a crash: the run is not raised.
            silver, silver_seconds = timed_run(SILVER_KEY, DATASET, raise_on_error=False)
    failures = tuple(
        f"{event.step_key}: {event.event_specific_data.error.message.strip()}"
        for event in silver.get_step_failure_events()
        if event.event_specific_data is not None and event.event_specific_data.error is not None
    )
    return Build(
        _metadata(bronze, BRONZE_KEY),
        _metadata(silver, SILVER_KEY),
        _checks(silver),
        failures,
        bronze_seconds,
        silver_seconds,
    )


def user_turn(prompt: Sequence[Mapping[str, str]] | None) -> str:
    """The user turns of a silver prompt (messages before the judged reply), joined."""
    return "\n\n".join(m["content"] for m in prompt or () if m["role"] == "user")


def read_silver(lake_root: Path) -> tuple[dict[str, str], int]:
    """(question_id -> scrubbed user turn, rows whose conversation_a/b user turn differs
    from it) for the evaluation's rows of silver/comparisons."""
    path = lake_root.joinpath(*SILVER_KEY)
    if not (path / "_delta_log").is_dir():
        return {}, 0
    rows = (
        pl.scan_delta(str(path))
        .filter(pl.col("dataset") == DATASET)
        .select("source_id", "prompt", "conversation_a", "conversation_b")
        .collect()
    )
    scrubbed, differing = {}, 0
    for row in rows.iter_rows(named=True):
        turn = user_turn(row["prompt"])
        scrubbed[row["source_id"]] = turn
        sides = (user_turn(row["conversation_a"]), user_turn(row["conversation_b"]))
        differing += any(side != turn for side in sides)
    return scrubbed, differing


def read_quarantine(lake_root: Path) -> list[tuple[str, str, int | None]]:
    """(layer, reason, source_row) of the Arena rows bronze or silver quarantined."""
    found: list[tuple[str, str, int | None]] = []
    for layer, extra in (("bronze", None), ("silver", "silver/comparisons")):
        path = lake_root / layer / "quarantine"
        if not (path / "_delta_log").is_dir():
            continue
        frame = pl.scan_delta(str(path)).filter(pl.col("dataset") == DATASET)
        if extra is not None:
            frame = frame.filter(pl.col("table") == extra)
        for reason, row in frame.select("reason", "source_row").collect().iter_rows():
            found.append((layer, reason, row))
    return found


# --------------------------------------------------------------------------------------------
# Runner
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SilverStageEvaluation:
    """Everything the silver-stage part of ``make eval`` measured."""

    synthetic_cases: int
    real_cases: int
    build: Build
    rows: RowAccount
    synthetic: tuple[Judged, ...]
    real: RealScore
    turns_differing: int
    placeholders: dict[str, int] = field(default_factory=dict)
    wall_seconds: float = float("nan")  # mirror, build, read-back and scoring


PLACEHOLDER = regex.compile(r"<([A-Z][A-Z_]*?)_\d+>")


def evaluate() -> dict[str, Any]:
    """Build the lake from a mirror of the external texts and score silver's output.

    Returns ``{"result": SilverStageEvaluation}`` plus the headline figures (recall by
    type, real-text shares and precision, rows, seconds) as plain values."""
    started = time.perf_counter()
    synthetic, real = synthetic_cases(), real_cases()
    cases = [*synthetic, *real]
    with tempfile.TemporaryDirectory(prefix="eval-silver-") as scratch:
        root = Path(scratch)
        write_mirror(root / "mirror", cases)
        build = build_lake(root / "mirror", root / "lake", root / "dagster_home")
        scrubbed, differing = read_silver(root / "lake")
        quarantine = read_quarantine(root / "lake")
    rows = account_rows(
        cases, scrubbed, quarantine, int(build.silver.get("dropped_duplicate", 0) or 0)
    )
    judged = score_cases(cases, scrubbed)
    placeholders = Counter(
        match for turn in scrubbed.values() for match in PLACEHOLDER.findall(turn)
    )
    result = SilverStageEvaluation(
        len(synthetic),
        len(real),
        build,
        rows,
        judged.get("synthetic", ()),
        RealScore(judged.get("real", ())),
        differing,
        dict(placeholders),
        time.perf_counter() - started,
    )
    return summary(result)


def summary(result: SilverStageEvaluation) -> dict[str, Any]:
    """The result with its headline figures as plain values."""
    rows, contact = recall_rows(result.synthetic)
    real = result.real
    no_pii = [c for c in result.build.checks if c.name == "no_pii"]
    return {
        "result": result,
        "recall_by_entity": {r.entity: r.recall for r in rows},
        "contact_recall": contact.recall,
        "real_personal_removed": real.removed_share,
        "real_not_personal_kept": real.kept_share,
        "real_precision": real.precision,
        "rows_in": result.rows.rows_in,
        "rows_in_silver": result.rows.in_silver,
        "rows_quarantined": len(result.rows.quarantined),
        "rows_dropped_duplicate": result.rows.dropped_duplicate,
        "rows_unaccounted": result.rows.unaccounted,
        "no_pii_passed": no_pii[0].passed if no_pii else None,
        "seconds": result.build.seconds,
        "wall_seconds": result.wall_seconds,
    }


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def _build_lines(build: Build) -> list[str]:
    bronze, silver = build.bronze, build.silver
    lines = [
        "| step | rows in | rows out | quarantined | duplicates dropped | seconds |",
        "|---|---:|---:|---:|---:|---:|",
        f"| bronze/{DATASET} [{SPLIT}] | {bronze.get('rows_in', 'n/a')} "
        f"| {bronze.get('rows_written', 'n/a')} | {bronze.get('rows_quarantined', 'n/a')} "
        f"| - | {build.bronze_seconds:.1f} |",
        f"| silver/comparisons [{DATASET}], with its checks | {silver.get('rows_in', 'n/a')} "
        f"| {silver.get('rows_out', 'n/a')} | {silver.get('rows_quarantined', 'n/a')} "
        f"| {silver.get('dropped_duplicate', 'n/a')} | {build.silver_seconds:.1f} |",
        f"| **build** | | | | | **{build.seconds:.1f}** |",
        "",
        "Checks on silver/comparisons (this dataset's slice):",
        "",
        "| check | blocking | result | figures |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {c.name} | {'yes' if c.blocking else 'no'} | {'passed' if c.passed else '**failed**'} "
        f"| {_cell(c.detail, 200)} |"
        for c in build.checks
    ]
    failed = [c.name for c in build.checks if c.blocking and not c.passed]
    if failed:
        lines += [
            "",
            f"Blocking check(s) failed: {', '.join(failed)}. Gold would not be built on this "
            "slice; silver's rows are scored below all the same.",
        ]
    if build.failures:
        lines += ["", "Step failures:", ""]
        lines += [f"- {_cell(failure, 300)}" for failure in build.failures]
    return lines


def _rows_lines(rows: RowAccount, differing: int) -> list[str]:
    reasons = Counter((layer, reason) for layer, reason, _ in rows.quarantined)
    lines = [
        f"{rows.rows_in} votes in; {rows.in_silver} in silver/comparisons; "
        f"{len(rows.quarantined)} quarantined; {rows.dropped_duplicate} dropped as duplicates; "
        f"{rows.unaccounted} missing without a recorded reason.",
    ]
    if reasons:
        lines += ["", "| quarantined by | reason | votes | e.g. |", "|---|---|---:|---|"]
        for (layer, reason), n in sorted(reasons.items()):
            example = next(q for lay, r, q in rows.quarantined if (lay, r) == (layer, reason))
            lines.append(f"| {layer} | {reason} | {n} | `{example}` |")
    if rows.unaccounted:
        shown = ", ".join(f"`{q}`" for q in rows.missing[:10])
        lines += ["", f"Not in silver and not quarantined: {shown}"]
    lines += [
        "",
        f"Votes whose conversation_a/b user turn differs from the scrubbed prompt: {differing}.",
    ]
    return lines


def _real_lines(real: RealScore) -> list[str]:
    lines = [
        "| labelled | values | removed | partly removed | kept intact | not in input | figure |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for personal, figure in (
        (True, f"removed **{_pct(real.removed_share)}**"),
        (False, f"kept **{_pct(real.kept_share)}**"),
    ):
        lines.append(
            f"| {'personal' if personal else 'not personal'} | {real.count(personal)} "
            f"| {real.count(personal, REMOVED)} | {real.count(personal, PARTLY)} "
            f"| {real.count(personal, KEPT)} | {real.count(personal, ABSENT)} | {figure} |"
        )
    lines += [
        "",
        f"Precision: {_pct(real.precision)} (removed personal / (removed personal + "
        f"not-personal values removed in whole or in part) = {real.count(True, REMOVED)} / "
        f"({real.count(True, REMOVED)} + {real.wrongly_removed})).",
    ]
    wrong = Counter(
        (j.value.kind, j.value.entity_type)
        for j in real.judged
        if not j.value.personal and j.outcome in (REMOVED, PARTLY)
    )
    if wrong:
        lines += ["", "Values that are not personal but were removed:", ""]
        lines += ["| kind of value | labelled as | values | examples |", "|---|---|---:|---|"]
        for (kind, entity), n in wrong.most_common():
            examples = list(
                dict.fromkeys(
                    j.value.value
                    for j in real.judged
                    if (j.value.kind, j.value.entity_type) == (kind, entity)
                    and not j.value.personal
                    and j.outcome in (REMOVED, PARTLY)
                )
            )[:3]
            shown = ", ".join(f"`{_cell(e, 30)}`" for e in examples)
            lines.append(f"| {kind} | {entity} | {n} | {shown} |")
    missed = Counter(
        (j.question_id, j.value.entity_type, j.value.value, j.outcome, j.value.why)
        for j in real.judged
        if j.value.personal and j.outcome in (KEPT, PARTLY)
    )
    if missed:
        lines += ["", "Personal values left in silver:", ""]
        lines += [
            f"- `{qid}` {entity} `{_cell(value, 40)}` ({result}"
            f"{f', {n} labels' if n > 1 else ''}): {why}"
            for (qid, entity, value, result, why), n in missed.items()
        ]
    return lines


def _no_pii_lines(result: SilverStageEvaluation) -> list[str]:
    """What the blocking no_pii check said, beside what this evaluation finds left."""
    no_pii = [c for c in result.build.checks if c.name == "no_pii"]
    if not no_pii:
        return ["The no_pii check did not run on this slice.", ""]
    left = (KEPT, PARTLY)
    synthetic_left = sum(
        1 for j in result.synthetic if j.value.entity_type in TARGETED and j.outcome in left
    )
    real_left = sum(1 for j in result.real.judged if j.value.personal and j.outcome in left)
    verdict = "passed" if no_pii[0].passed else "**failed**"
    return [
        f"The blocking `no_pii` check {verdict} on this slice, while {synthetic_left} "
        f"labelled values of targeted types (synthetic set) and {real_left} labelled "
        "personal values (real prompts) remain in it: its independent review counts only "
        "hits at or above its confidence threshold (orchestration/checks.py), so a pass "
        "does not mean the values listed above were removed.",
        "",
    ]


def markdown(summary_: Mapping[str, Any]) -> str:
    """The silver-stage section of docs/quality.md."""
    result: SilverStageEvaluation = summary_["result"]
    rows, contact = recall_rows(result.synthetic)
    absent = sum(1 for j in result.synthetic if j.outcome == ABSENT)
    partly = Counter(j.value.entity_type for j in result.synthetic if j.outcome == PARTLY)
    out = [
        "## The silver stage on external data",
        "",
        f"The pipeline as a user runs it, not the engine alone: each of the "
        f"{result.synthetic_cases} synthetic samples and the {result.real_cases} "
        "person-written real prompts above became the user turn of one Chatbot Arena vote "
        "(a short neutral answer on both sides; the catalogue declares Arena's user turns "
        "person-written). The votes were written in the catalogue's schema to a Hub-layout "
        f"mirror holding only `{MIRROR_FILE}` (the other datasets are missing from it and "
        "are not built), and "
        "the lake was built from it with `LAKE_SOURCES=<mirror>`, a temporary `LAKE_ROOT` and "
        f"`DAGSTER_HOME`: bronze and `silver/comparisons` for `{DATASET}`, with the asset "
        "checks, through Dagster and Delta. The scrubbed user turn of each vote was read back "
        "from `silver/comparisons` by its `question_id`.",
        "",
        "Rule: a labelled value counts as **removed** when no occurrence of its text (NFC, "
        "not inside a longer word or number) remains in the scrubbed user turn, **kept** when "
        "every occurrence of the input remains, **partly removed** in between. A value "
        "replaced in part no longer appears, so it counts as removed; this is stricter on "
        "kept values and looser on removed ones than the engine's 50 % coverage rule above.",
        "",
        "### Build",
        "",
        f"Wall time of the build (both materializations, checks included): "
        f"{result.build.seconds:.1f} s; of the whole evaluation (writing the mirror, the "
        f"build, reading silver back, scoring): {result.wall_seconds:.1f} s.",
        "",
        *_build_lines(result.build),
        "",
        "### Rows",
        "",
        *_rows_lines(result.rows, result.turns_differing),
        "",
        "### Recall on presidio-research's synthetic set, through silver",
        "",
        *_recall_table(rows, contact),
        "",
        f"Contact data is pooled over {', '.join(CONTACT)}; targeted types are "
        f"{', '.join(TARGETED)}. Partly removed (counted as not removed): "
        f"{sum(partly.values())}"
        + (f" ({', '.join(f'{t} {n}' for t, n in sorted(partly.items()))})" if partly else "")
        + f"; labelled values not found in the input text (not scored): {absent}.",
        "",
        "### Real person-written prompts, through silver",
        "",
        *_real_lines(result.real),
        "",
        *_no_pii_lines(result),
        "Placeholders in the scrubbed user turns: "
        + (
            ", ".join(f"{t} {n}" for t, n in sorted(result.placeholders.items()))
            if result.placeholders
            else "none"
        )
        + ".",
    ]
    return "\n".join(out) + "\n"
