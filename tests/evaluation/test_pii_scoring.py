"""The PII scoring functions on hand-computed examples, and the vendored evaluation data."""

import math
from dataclasses import dataclass

import pytest

from evaluation.pii import (
    CONTACT_ROW,
    Label,
    RealText,
    Sample,
    Span,
    best_label,
    broad_candidates,
    conversation_of,
    covered,
    findings_in_conversations,
    is_found,
    load_labels,
    load_samples,
    load_texts,
    markdown,
    model_settings,
    score_real_text,
    score_synthetic,
    unlabelled_candidates,
)


@dataclass(frozen=True)
class F:
    """A finding as an engine reports it."""

    entity_type: str
    start: int
    end: int


def at(text: str, value: str) -> tuple[int, int]:
    start = text.index(value)
    return start, start + len(value)


# ------------------------------------------------------------------------- the matching rule


def test_a_span_is_found_when_at_least_half_its_characters_are_covered():
    assert covered(0, 4, [F("X", 0, 2)]) == 0.5
    assert is_found(0, 4, [F("X", 0, 2)])  # exactly half
    assert not is_found(0, 4, [F("X", 0, 1)])  # a quarter
    assert is_found(0, 4, [F("X", 0, 1), F("Y", 3, 9)])  # two findings, any types: 2 of 4
    assert not is_found(0, 4, [F("X", 0, 1), F("X", 0, 1)])  # covered once, counted once
    assert not is_found(0, 4, [F("X", 4, 8)])  # touching is not covering
    assert not is_found(3, 3, [F("X", 0, 9)])  # an empty span is never found


def test_a_finding_takes_the_label_it_overlaps_most():
    first = Label("t", 0, 4, "abcd", "PERSON", True, "private individual: a")
    second = Label("t", 4, 10, "efghij", "PERSON", False, "public figure: b")
    assert best_label(F("PERSON", 2, 8), [first, second]) is second  # 2 chars vs 4
    assert best_label(F("PERSON", 3, 5), [first, second]) is first  # a tie: the first
    assert best_label(F("PERSON", 10, 12), [first, second]) is None


# ------------------------------------------------------------------------- synthetic set


def test_recall_and_precision_on_the_synthetic_set():
    text = "Ann Lee: ann@corp.io, 212-555-0100"
    person, email, phone = at(text, "Ann Lee"), at(text, "ann@corp.io"), at(text, "212-555-0100")
    samples = [
        Sample("s1", text, (Span(*person, "PERSON"), Span(*email, "EMAIL_ADDRESS"),
                            Span(*phone, "PHONE_NUMBER"))),
        Sample("s2", "Version 1.2.3.4 of GPE Paris", (Span(23, 28, "GPE"),)),
    ]  # fmt: skip
    findings = [
        [
            F("PERSON", 0, 3),  # "Ann": 3 of 7 characters -> missed
            F("EMAIL_ADDRESS", *email),  # whole -> found
            F("PHONE_NUMBER", phone[0] + 4, phone[1]),  # "555-0100": 8 of 12 -> found
        ],
        [F("IP_ADDRESS", 8, 15)],  # "1.2.3.4" overlaps no labelled value -> false positive
    ]
    score = score_synthetic(samples, findings)
    rows = {row.entity: (row.targeted, row.gold, row.found) for row in score.rows}
    assert rows == {
        "PERSON": (True, 1, 0),
        "EMAIL_ADDRESS": (True, 1, 1),
        "PHONE_NUMBER": (True, 1, 1),
        "LOCATION": (False, 1, 0),  # presidio's GPE, not targeted but counted
    }
    assert [row.entity for row in score.rows][-1] == "LOCATION"  # not targeted last
    assert (score.contact.entity, score.contact.gold, score.contact.found) == (CONTACT_ROW, 2, 2)
    assert score.findings == 4
    assert [(fp.sample_id, fp.entity_type, fp.value) for fp in score.false_positives] == [
        ("s2", "IP_ADDRESS", "1.2.3.4")
    ]
    assert score.precision == 0.75


def test_no_findings_is_no_precision_and_zero_recall():
    score = score_synthetic([Sample("s", "Bob", (Span(0, 3, "PERSON"),))], [[]])
    assert math.isnan(score.precision)
    assert score.rows[0].recall == 0.0
    assert math.isnan(score.contact.recall)  # no contact data labelled


# ------------------------------------------------------------------------- real text


def real_example() -> tuple[list[RealText], list[Label], list[list[F]]]:
    t1 = "Call Ann at 212-555-0100 or 127.0.0.1, ann@corp.io"
    t2 = "pi is 3.14159265 and x"
    texts = [RealText("t1", "src", "person", t1), RealText("t2", "src", "model", t2)]

    def label(text_id: str, text: str, value: str, entity: str, personal: bool, why: str):
        return Label(text_id, *at(text, value), value, entity, personal, why)

    labels = [
        label("t1", t1, "Ann", "PERSON", True, "private individual: the caller"),
        label("t1", t1, "212-555-0100", "PHONE_NUMBER", True, "private individual: her phone"),
        label("t1", t1, "127.0.0.1", "IP_ADDRESS", False, "loopback IP: localhost"),
        label("t1", t1, "ann@corp.io", "EMAIL_ADDRESS", True, "private individual: her mail"),
        label("t2", t2, "3.14159265", "PHONE_NUMBER", False, "decimal: pi"),
    ]
    phone = at(t1, "212-555-0100")
    findings = [
        [
            F("PERSON", 0, 4),  # "Call": overlaps no label -> unlabelled
            F("PERSON", *at(t1, "Ann")),  # personal
            F("PHONE_NUMBER", phone[0] + 4, phone[1]),  # personal, 8 of 12 -> found
            F("IP_ADDRESS", *at(t1, "127.0.0.1")),  # not personal: loopback IP
        ],  # the e-mail is not found
        [F("PHONE_NUMBER", *at(t2, "3.14159265"))],  # not personal: decimal
    ]
    return texts, labels, findings


def test_precision_on_real_text_counts_personal_not_personal_and_unlabelled():
    texts, labels, findings = real_example()
    score = score_real_text(texts, labels, findings)
    assert (score.personal, score.not_personal, len(score.unlabelled)) == (2, 2, 1)
    assert score.precision == 0.5  # 2 / (2 + 2): unlabelled findings are not guessed
    assert [(j.text_id, j.entity_type, j.value) for j in score.unlabelled] == [
        ("t1", "PERSON", "Call")
    ]
    assert score.by_author("person") == (2, 1, 1)
    assert score.by_author("model") == (0, 1, 0)


def test_errors_are_grouped_by_the_kind_of_value_and_the_entity_type():
    texts, labels, findings = real_example()
    errors = score_real_text(texts, labels, findings).errors
    assert [(e.kind, e.entity_type, e.count, e.examples) for e in errors] == [
        ("decimal", "PHONE_NUMBER", 1, ("3.14159265",)),
        ("loopback IP", "IP_ADDRESS", 1, ("127.0.0.1",)),
    ]


def test_recall_of_personal_values_on_real_text():
    texts, labels, findings = real_example()
    score = score_real_text(texts, labels, findings)
    rows = {row.entity: (row.gold, row.found) for row in score.recall_rows}
    assert rows == {"EMAIL_ADDRESS": (1, 0), "PERSON": (1, 1), "PHONE_NUMBER": (1, 1)}
    assert [label.value for label in score.missed] == ["ann@corp.io"]


# ------------------------------------------------------------------------- candidates, runner


def test_the_broad_candidate_finder_is_deliberately_over_inclusive():
    text = "Dear Anna Smith, mail a@b.co or git@github.com; 10.0.0.0/8 and ::1; pi 3.1415926"
    found = {(text[start:end], kind) for start, end, kind in broad_candidates(text)}
    assert found == {
        ("Anna Smith", "PERSON"),
        ("a@b.co", "EMAIL_ADDRESS"),
        ("git@github.com", "EMAIL_ADDRESS"),
        ("10.0.0.0/8", "IP_ADDRESS"),
        ("::1", "IP_ADDRESS"),
        ("3.1415926", "PHONE_NUMBER"),
    }
    assert broad_candidates("version 1.2.3 of 123456 items") == []
    assert broad_candidates("at 12:30:45") == [(3, 11, "IP_ADDRESS")]  # IPv6-shaped, on purpose


def test_candidates_without_a_label_are_listed():
    texts = [RealText("t", "src", "person", "at 10.1.2.3 and 10.9.9.9")]
    labels = [Label("t", 3, 11, "10.1.2.3", "IP_ADDRESS", False, "private IP: a host")]
    assert unlabelled_candidates(texts, labels) == [("t", 16, 24, "IP_ADDRESS", "10.9.9.9")]


def test_model_settings_use_written_by_when_the_settings_have_it():
    @dataclass(frozen=True)
    class WithAuthor:
        written_by: str = "person"

    @dataclass(frozen=True)
    class Without:
        threshold: float = 0.5

    assert model_settings(WithAuthor) == WithAuthor("model")
    assert model_settings(Without) == Without()


def test_the_report_states_the_rule_and_the_figures():
    from evaluation.pii import PiiEvaluation, Throughput, name_policy_score

    texts, labels, findings = real_example()
    samples = [Sample("s", "Bob", (Span(0, 3, "PERSON"),))]
    synthetic = score_synthetic(samples, [[F("PERSON", 0, 3)]])
    real = score_real_text(texts, labels, findings)
    result = PiiEvaluation(
        synthetic=synthetic,
        real=real,
        in_conversations=real,
        candidates_without_label=(),
        throughput=(Throughput("ours", 2, 1000, 0.01, "naive"), Throughput("naive", 2, 1000, 0.1)),
        name_policies=(name_policy_score("cued", synthetic, real),),
    )
    text = markdown(result)
    assert "cover at least 50%" in text
    assert "| PERSON | yes | 1 | 1 | 100.0 % |" in text
    assert "**50.0 %**" in text  # real-text precision
    assert "| decimal | PHONE_NUMBER | 1 | `3.14159265` |" in text
    assert "ours: **10.0x** the speed of the naive" in text
    assert "| `cued` | 1/1 (100.0 %) |" in text  # names per setting of person_names
    assert "Names: 1/1 (**100.0 %**) in conversations, 1/1 (100.0 %) text by text." in text


def test_texts_belong_to_their_conversations_in_turn_order():
    assert conversation_of("sg-1pDBnHA_0-0") == ("sg-1pDBnHA_0", 0)
    assert conversation_of("sg-1pDBnHA_0-2") == ("sg-1pDBnHA_0", 2)
    assert conversation_of("ah-q-26a29141") == ("ah-26a29141", 0)
    assert conversation_of("ah-a-gpt-4-0314-26a29141") == ("ah-26a29141", 1)


def test_a_name_found_in_the_users_turn_is_found_where_the_answer_echoes_it():
    asked = "Write to my colleague Anna Berg about the launch."
    answered = "Dear Anna, the launch is on Monday. Tell Bergman. Regards"
    texts = [
        RealText("sg-x_0-1", "src", "model", answered),  # listed before the question
        RealText("sg-x_0-0", "src", "person", asked),
        RealText("sg-y_0-1", "src", "model", "Dear Anna, another conversation."),
    ]
    per_text = [[], [F("PERSON", *at(asked, "Anna Berg"))], []]
    extended = findings_in_conversations(texts, per_text)
    assert [(f.start, f.end) for f in extended[0]] == [at(answered, "Anna")]  # not "Bergman"
    assert [(f.start, f.end) for f in extended[1]] == [at(asked, "Anna Berg")]
    assert extended[2] == []  # a name in another conversation is not this one's


def test_a_value_is_found_in_every_turn_of_its_conversation_earlier_ones_too():
    """Silver numbers values in turn order and redacts every occurrence in the row, earlier
    turns included: an echo in an earlier turn goes too."""
    first, second = "Call 555-0100 now.", "My number is 555-0100."
    texts = [
        RealText("sg-z_0-0", "src", "person", first),
        RealText("sg-z_0-1", "src", "person", second),
    ]
    extended = findings_in_conversations(texts, [[], [F("PHONE_NUMBER", *at(second, "555-0100"))]])
    assert [(f.entity_type, f.start) for f in extended[0]] == [("PHONE_NUMBER", 5)]


# ------------------------------------------------------------------------- vendored data


def test_the_synthetic_set_loads_with_valid_offsets():
    samples = load_samples()
    assert len(samples) == 1500
    assert len({s.id for s in samples}) == len(samples)
    for sample in samples:
        for span in sample.spans:
            value = sample.text[span.start : span.end]
            assert 0 <= span.start < span.end <= len(sample.text), sample.id
            assert value == value.strip() and span.label, sample.id
    # Values checked by hand against the upstream synth_dataset_v2.json.
    by_id = {s.id: s for s in samples}
    assert [
        (s.label, by_id["synth-0005"].text[s.start : s.end]) for s in by_id["synth-0005"].spans
    ] == [("CREDIT_CARD", "4454794511390933")]
    assert [
        (s.label, by_id["synth-0007"].text[s.start : s.end]) for s in by_id["synth-0007"].spans
    ] == [("US_SSN", "460-89-9847")]


def test_the_real_texts_and_their_labels_load_and_every_label_matches_its_value():
    texts = {t.id: t for t in load_texts()}
    labels = load_labels()
    assert len(texts) == 3784  # 524 Arena-Hard + 3,260 ShareGPT
    assert sum(t.id.startswith("sg-") for t in texts.values()) == 3260
    assert {t.written_by for t in texts.values()} == {"person", "model"}
    assert len({t.text for t in texts.values()}) == len(texts)  # distinct texts
    keys = [(lab.id, lab.start, lab.end) for lab in labels]
    assert keys == sorted(set(keys))  # sorted, one label per span
    for lab in labels:
        assert texts[lab.id].text[lab.start : lab.end] == lab.value, lab
        assert lab.kind and lab.why != lab.kind, lab  # "kind: explanation"
    assert unlabelled_candidates(list(texts.values()), labels) == []


@pytest.mark.parametrize("written_by", ["person", "model"])
def test_labels_exist_for_both_authors(written_by):
    texts = {t.id: t.written_by for t in load_texts()}
    assert any(texts[lab.id] == written_by for lab in load_labels())
