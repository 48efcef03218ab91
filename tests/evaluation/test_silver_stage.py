"""evaluation.silver_stage, its pure parts: the mirror row in the catalogue's schema, and the
removed / kept scoring on hand-made examples in both directions (no lake is built here)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from evaluation.silver_stage import (
    ABSENT,
    DATASET,
    KEPT,
    MIRROR_FILE,
    PARTLY,
    REMOVED,
    WHOLE_FILE,
    Build,
    Case,
    CheckOutcome,
    GoldValue,
    Judged,
    RealScore,
    SilverStageEvaluation,
    account_rows,
    arena_row,
    markdown,
    mirror_frame,
    occurrences,
    outcome,
    recall_rows,
    score_cases,
    summary,
    write_mirror,
)
from orchestration.catalogue import load_catalogue
from orchestration.config import SAMPLES_DIR
from transforms.bronze import add_lineage, conform_frame
from transforms.silver import pairwise_comparisons

PROMPT = "Dear Anna Berg, call me on +44 20 7946 0958. Thanks, Jim"


def case(qid: str, text: str, *values: GoldValue, source: str = "real") -> Case:
    return Case(qid, text, source, values)


def personal(value: str, entity: str = "PERSON") -> GoldValue:
    return GoldValue(value, entity, True, "private individual: test")


def not_personal(value: str, entity: str = "PERSON") -> GoldValue:
    return GoldValue(value, entity, False, "historical person: test")


# --- the mirror ----------------------------------------------------------------------------


def test_a_mirror_row_has_exactly_the_catalogue_schema_and_the_sample_shape(tmp_path: Path):
    spec = load_catalogue()[DATASET]
    path = write_mirror(tmp_path, [case("eval-x", PROMPT)])
    assert path == tmp_path / MIRROR_FILE
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [path.name]
    frame = pl.read_parquet(path)
    assert frame.schema == spec.polars_schema
    sample = next((SAMPLES_DIR / "lmsys/chatbot_arena_conversations/data").glob("*.parquet"))
    assert pl.read_parquet(sample).schema == frame.schema
    # Bronze takes the fast path: no column is missing, extra or mistyped.
    assert isinstance(conform_frame(frame, spec), pl.DataFrame)
    row = frame.row(0, named=True)
    assert row["question_id"] == "eval-x" and row["turn"] == 1
    for side in ("conversation_a", "conversation_b"):
        assert [m["role"] for m in row[side]] == ["user", "assistant"]
        assert row[side][0]["content"] == PROMPT
    assert row["openai_moderation"]["flagged"] is False
    assert not any(row["openai_moderation"]["categories"].values())


def test_the_prompt_reaches_silver_as_the_person_written_user_turn():
    spec = load_catalogue()[DATASET]
    frame = mirror_frame([case("eval-a", PROMPT), case("eval-b", PROMPT)])
    bronze = add_lineage(conform_frame(frame, spec), spec, "train", MIRROR_FILE, datetime.now(UTC))
    stage = pairwise_comparisons(bronze, spec)
    assert stage.rejected.height == 0
    assert stage.rows["source_id"].to_list() == ["eval-a", "eval-b"]
    assert stage.rows["prompt"].to_list()[0] == [{"role": "user", "content": PROMPT}]
    assert set(stage.rows["prompt_written_by"]) == {"person"}
    # Equal texts are two votes (judges differ), not one duplicate.
    assert stage.rows["comparison_id"].n_unique() == 2


def test_votes_differ_only_by_marker_judge_and_time():
    first, second = arena_row("eval-1", "a", 0), arena_row("eval-2", "a", 1)
    differing = {k for k in first if first[k] != second[k]}
    assert differing == {"question_id", "judge", "tstamp"}


# --- the rule ------------------------------------------------------------------------------


def test_occurrences_ignore_a_value_inside_a_longer_word_or_number():
    assert occurrences("Li", "Li uses Linux; ask Li.") == 2
    assert occurrences("12345", "123456 and 12345") == 1
    assert occurrences("+1 555", "call +1 555") == 1  # starts with a symbol: no boundary needed
    assert occurrences("Jim", "Jim's") == 1
    assert occurrences("Zoë", "Zoe\u0308 said") == 1  # NFC on both sides


@pytest.mark.parametrize(
    ("value", "scrubbed", "expected"),
    [
        ("Anna Berg", "Dear <PERSON_1>, call me on <PHONE_NUMBER_1>. Thanks, <PERSON_2>", REMOVED),
        ("+44 20 7946 0958", "Dear <PERSON_1>, call me on +44 <PHONE_NUMBER_1>.", REMOVED),
        ("Anna Berg", PROMPT, KEPT),
        ("Jim", PROMPT.replace("Anna Berg", "<PERSON_1>"), KEPT),
        ("Nobody", PROMPT, ABSENT),
    ],
)
def test_outcome_of_one_value(value: str, scrubbed: str, expected: str):
    assert outcome(value, PROMPT, scrubbed) == expected


def test_a_value_removed_in_one_place_and_left_in_another_is_partly_removed():
    original = "Ann wrote to Ann."
    assert outcome("Ann", original, "<PERSON_1> wrote to Ann.") == PARTLY
    assert outcome("Ann", original, "<PERSON_1> wrote to <PERSON_1>.") == REMOVED
    assert outcome("Ann", original, original) == KEPT


# --- the scores ----------------------------------------------------------------------------


def test_real_text_scores_in_both_directions():
    cases = [
        case("q1", "Dear Anna Berg, sincerely Jim", personal("Anna Berg"), personal("Jim")),
        case("q2", "Euler and Gauss", not_personal("Euler"), not_personal("Gauss")),
    ]
    scrubbed = {"q1": "Dear <PERSON_1>, sincerely Jim", "q2": "<PERSON_1> and Gauss"}
    judged = score_cases(cases, scrubbed)
    assert set(judged) == {"real"}
    real = RealScore(judged["real"])
    assert [j.outcome for j in real.judged] == [REMOVED, KEPT, REMOVED, KEPT]
    assert real.removed_share == 0.5  # of personal: Anna Berg removed, Jim kept
    assert real.kept_share == 0.5  # of not personal: Gauss kept, Euler removed
    assert real.precision == 0.5  # 1 removed personal / (1 + 1 removed not personal)


def test_real_text_all_right_and_all_wrong():
    good = RealScore((Judged("q", personal("A"), REMOVED), Judged("q", not_personal("B"), KEPT)))
    assert (good.removed_share, good.kept_share, good.precision) == (1.0, 1.0, 1.0)
    bad = RealScore((Judged("q", personal("A"), KEPT), Judged("q", not_personal("B"), PARTLY)))
    assert (bad.removed_share, bad.kept_share, bad.precision) == (0.0, 0.0, 0.0)
    assert bad.wrongly_removed == 1
    assert math.isnan(RealScore(()).precision)


def test_recall_by_type_pools_contact_data_and_skips_values_not_in_the_input():
    judged = [
        Judged("q", personal("a@b.org", "EMAIL_ADDRESS"), REMOVED),
        Judged("q", personal("+1 555 0100", "PHONE_NUMBER"), KEPT),
        Judged("q", personal("Ann"), REMOVED),
        Judged("q", personal("Zed"), ABSENT),
    ]
    rows, contact = recall_rows(judged)
    assert {r.entity: (r.gold, r.found) for r in rows} == {
        "EMAIL_ADDRESS": (1, 1),
        "PHONE_NUMBER": (1, 0),
        "PERSON": (1, 1),
    }
    assert (contact.gold, contact.found) == (2, 1)


def test_every_row_is_accounted_for():
    cases = [case(f"q{i}", "text") for i in range(5)]
    account = account_rows(
        cases, ["q0", "q1"], [("bronze", "schema_mismatch", 2), ("silver", "x", None)], 1
    )
    assert account.in_silver == 2
    assert account.quarantined == (
        ("bronze", "schema_mismatch", "q2"),
        ("silver", "x", WHOLE_FILE),
    )
    assert account.missing == ("q3", "q4")
    assert account.unaccounted == 1  # silver reports one duplicate dropped, two are missing


def test_markdown_reports_a_failed_blocking_check_as_a_finding():
    cases = [
        case("s1", "Mail ann@example.net", personal("ann@example.net", "EMAIL_ADDRESS"),
             source="synthetic"),
        case("r1", "Dear Anna Berg", personal("Anna Berg")),
    ]  # fmt: skip
    judged = score_cases(cases, {"s1": "Mail <EMAIL_ADDRESS_1>", "r1": "Dear Anna Berg"})
    build = Build(
        {"rows_in": 2, "rows_written": 2, "rows_quarantined": 0},
        {"rows_in": 2, "rows_out": 2, "rows_quarantined": 0, "dropped_duplicate": 0},
        (CheckOutcome("no_pii", False, True, "review_hits=1"),),
        (),
        0.5,
        1.5,
    )
    result = SilverStageEvaluation(
        1, 1, build, account_rows(cases, ["s1", "r1"], [], 0), judged["synthetic"],
        RealScore(judged["real"]), 0, {"EMAIL_ADDRESS": 1},
    )  # fmt: skip
    figures = summary(result)
    assert figures["no_pii_passed"] is False and figures["seconds"] == 2.0
    assert figures["contact_recall"] == 1.0 and figures["real_personal_removed"] == 0.0
    text = markdown(figures)
    assert "## The silver stage on external data" in text
    assert "| no_pii | yes | **failed** |" in text
    assert "Blocking check(s) failed: no_pii" in text
    assert "`r1` PERSON `Anna Berg` (kept)" in text
