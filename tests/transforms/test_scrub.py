"""Redaction is applied to every text field in place, and audited without the values."""

import polars as pl

from transforms.cleaning import MESSAGES
from transforms.pii import PiiEngine, PiiSettings
from transforms.scrub import (
    SCAN_RESULTS_SCHEMA,
    TextField,
    apply_scan,
    distinct_texts,
    findings_series,
    merge_findings,
    settle_redactions,
    to_original,
)
from transforms.text_engines import redaction_results

EMAIL = "mail a.b@example.com now"
FRAME = pl.DataFrame(
    {
        "id": ["c1", "c2"],
        "dataset": ["ultrachat", "ultrachat"],
        "title": [EMAIL, None],
        "messages": [
            [{"role": "user", "content": "hi"}, {"role": "assistant", "content": EMAIL}],
            [],
        ],
    },
    schema_overrides={"messages": MESSAGES},
)
RESULTS = pl.DataFrame(
    {
        "text": ["hi", EMAIL],
        "redacted": ["hi", "mail <EMAIL_ADDRESS> now"],
        "findings": [
            [],
            [
                {
                    "entity_type": "EMAIL_ADDRESS",
                    "start": 5,
                    "end": 20,
                    "score": 1.0,
                    "recognizer": "Email",
                }
            ],
        ],
    },
    schema=SCAN_RESULTS_SCHEMA,
)
FIELDS = [TextField("title"), TextField("messages", "content")]


def dialogues(dataset: str, *texts: list[str]) -> pl.DataFrame:
    """One row a dialogue (ids c1, c2, ...), each given as the texts of its turns,
    alternately the user's and the assistant's."""
    roles = ("user", "assistant")
    return pl.DataFrame(
        {
            "id": [f"c{number}" for number in range(1, len(texts) + 1)],
            "dataset": [dataset] * len(texts),
            "messages": [
                [{"role": roles[i % 2], "content": turn} for i, turn in enumerate(turns)]
                for turns in texts
            ],
        },
        schema_overrides={"messages": MESSAGES},
    )


def test_each_distinct_text_is_listed_once_per_author():
    # The title is a plain field (person-written by default); a dialogue's assistant turns
    # are a model's, its user turns the person's.
    assert distinct_texts(FRAME, FIELDS).rows() == [
        (EMAIL, "person"),
        ("hi", "person"),
        (EMAIL, "model"),
    ]


def test_who_wrote_a_user_turn_comes_from_the_rows_author_column():
    frame = FRAME.with_columns(user_written_by=pl.Series(["model", None]))
    fields = [TextField("messages", "content", author_column="user_written_by")]
    # "model" for c1's simulated user; a missing declaration counts as a person.
    assert distinct_texts(frame, fields).rows() == [("hi", "model"), (EMAIL, "model")]


def test_every_field_is_redacted_in_place_and_counted():
    scrubbed, _ = apply_scan(FRAME, FIELDS, RESULTS, table="silver/conversations", row_key="id")
    # One value in one conversation: one number, in every field it appears in.
    assert scrubbed["title"].to_list() == ["mail <EMAIL_ADDRESS_1> now", None]
    assert scrubbed["messages"][0].to_list() == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "mail <EMAIL_ADDRESS_1> now"},
    ]
    assert scrubbed["messages"][1].to_list() == []
    assert scrubbed["pii_count"].to_list() == [2, 0]
    assert scrubbed.columns == [*FRAME.columns, "pii_count"]


def test_audit_rows_say_where_and_what_but_never_the_value():
    _, audit = apply_scan(FRAME, FIELDS, RESULTS, table="silver/conversations", row_key="id")
    assert audit.select("row_key", "field", "turn_index", "start", "end").rows() == [
        ("c1", "title", None, 5, 20),
        ("c1", "messages", 1, 5, 20),
    ]
    assert "a.b@example.com" not in str(audit.rows())


def test_a_text_missing_from_the_results_is_an_error_not_a_leak():
    partial = RESULTS.filter(pl.col("text") == "hi")
    try:
        apply_scan(FRAME, FIELDS, partial, table="t", row_key="id")
    except ValueError as error:
        assert "missing from the scan results" in str(error)
    else:
        raise AssertionError("unscanned text passed through")


def test_a_name_found_once_in_a_row_is_redacted_wherever_it_recurs_there():
    intro = "My name is Ada Lovelace."
    letter = "Kind regards,\nAda Lovelace"
    frame = dialogues("ultrachat", [intro, letter], [letter, "ok"])
    person = {"entity_type": "PERSON", "start": 11, "end": 23, "score": 0.85, "recognizer": "Intro"}
    results = pl.DataFrame(
        {
            "text": [intro, letter, "ok"],
            "redacted": ["My name is <PERSON>.", letter, "ok"],
            "findings": [[person], [], []],
        },
        schema=SCAN_RESULTS_SCHEMA,
    )
    fields = [TextField("messages", "content")]
    scrubbed, audit = apply_scan(frame, fields, results, table="t", row_key="id")
    assert scrubbed["messages"][0][0]["content"] == "My name is <PERSON_1>."
    assert scrubbed["messages"][0][1]["content"] == "Kind regards,\n<PERSON_1>"
    # Only within the row: another dialogue's identical text has no name found in it.
    assert scrubbed["messages"][1][0]["content"] == letter
    assert audit.filter(pl.col("row_key") == "c1")["recognizer"].to_list() == [
        "Intro",
        "SameValueInRow",
    ]


CALL = "Call or mail christopher.montgomery-whitaker@fastmail.com about item 2125550187 today."


def finding_at(text: str, value: str, kind: str) -> dict:
    start = text.index(value)
    return {"entity_type": kind, "start": start, "end": start + len(value), "score": 0.9,
            "recognizer": "t"}  # fmt: skip


def test_each_value_gets_a_stable_number_per_conversation_and_echoes_are_removed():
    user = "I'm Anna Berg, write to anna@fastmail.com or ask Piotr Nowak. Anna Berg"
    answer = "Sure, Anna! I will mail anna@fastmail.com and Piotr Nowak, and Berg."
    frame = dialogues("d", [user, answer], [answer])
    results = pl.DataFrame(
        {
            "text": [user, answer],
            "redacted": ["(not used)", answer],
            "findings": [
                [
                    finding_at(user, "Anna Berg", "PERSON"),
                    finding_at(user, "anna@fastmail.com", "EMAIL_ADDRESS"),
                    finding_at(user, "Piotr Nowak", "PERSON"),
                ],
                [],
            ],
        },
        schema=SCAN_RESULTS_SCHEMA,
    )
    scrubbed, audit = apply_scan(
        frame, [TextField("messages", "content")], results, table="t", row_key="id"
    )
    assert [m["content"] for m in scrubbed["messages"][0]] == [
        "I'm <PERSON_1>, write to <EMAIL_ADDRESS_1> or ask <PERSON_2>. <PERSON_1>",
        "Sure, <PERSON_1>! I will mail <EMAIL_ADDRESS_1> and <PERSON_2>, and <PERSON_1>.",
    ]
    # Another conversation with the same answer has no value found in it: left alone.
    assert scrubbed["messages"][1][0]["content"] == answer
    assert audit.filter(pl.col("row_key") == "c1").height == 8  # 3 found + 5 echoes


def test_a_persons_name_is_not_followed_into_a_company_that_bears_it():
    # A real prompt (ShareGPT): a judgment about Beckhaus Civil Pty Ltd and its director.
    user = "Council and Beckhaus Civil Pty Ltd (“Beckhaus”) agreed. Council joined Mr Beckhaus."
    answer = "Beckhaus claimed the balance; Mr Beckhaus was joined."
    frame = dialogues("d", [user, answer])
    director = user.rindex("Beckhaus")
    found = {"entity_type": "PERSON", "start": director, "end": director + 8, "score": 0.85,
             "recognizer": "t"}  # fmt: skip
    results = pl.DataFrame(
        {"text": [user, answer], "redacted": ["(not used)", answer], "findings": [[found], []]},
        schema=SCAN_RESULTS_SCHEMA,
    )
    scrubbed, _ = apply_scan(
        frame, [TextField("messages", "content")], results, table="t", row_key="id"
    )
    assert [m["content"] for m in scrubbed["messages"][0]] == [
        "Council and Beckhaus Civil Pty Ltd (“Beckhaus”) agreed. Council joined Mr <PERSON_1>.",
        answer,  # the company's mentions, and so the director's, are not guessed at
    ]


def test_redaction_is_settled_so_that_scanning_the_redacted_text_finds_nothing():
    """Redacting the long e-mail address brings the item number within reach of the phone
    word "Call": a second scan takes it for a phone. Silver re-scans redacted texts until
    nothing new is found, so a later scan of silver's text finds nothing either."""
    engine = PiiEngine(PiiSettings())

    def scan(texts: pl.Series) -> pl.DataFrame:
        found = [[vars(f) for f in engine.analyze(t)] for t in texts.to_list()]
        return pl.DataFrame({"text": texts, "findings": findings_series(found)})

    once = redaction_results(pl.Series([CALL]), scan(pl.Series([CALL]))["findings"].to_list())
    assert engine.analyze(once["redacted"][0]) != []  # redaction created a finding

    settled, added = settle_redactions(once, scan)
    assert added == 1
    assert engine.analyze(settled["redacted"][0]) == []
    assert settled["redacted"][0] == (
        "Call or mail <EMAIL_ADDRESS> about item <PHONE_NUMBER> today."
    )
    # Audited at the offsets of the original text.
    ticket = settled["findings"][0].to_list()[1]
    assert CALL[ticket["start"] : ticket["end"]] == "2125550187"


def test_a_later_round_rescans_only_the_texts_the_last_one_redacted_again():
    engine = PiiEngine(PiiSettings())
    clean = "mail anna.berg@fastmail.com now"  # redacted once, clean on the first re-scan
    texts = pl.Series([CALL, clean])
    asked: list[list[str]] = []

    def scan(batch: pl.Series) -> pl.DataFrame:
        asked.append(batch.to_list())
        found = [[vars(f) for f in engine.analyze(t)] for t in batch.to_list()]
        return pl.DataFrame({"text": batch, "findings": findings_series(found)})

    results = redaction_results(texts, scan(texts)["findings"].to_list())
    asked.clear()
    _, added = settle_redactions(results, scan)
    assert added == 1
    assert len(asked[0]) == 2  # both redacted texts
    assert asked[1:] == [["Call or mail <EMAIL_ADDRESS> about item <PHONE_NUMBER> today."]]


def finding(kind: str, start: int, end: int) -> dict:
    return {"entity_type": kind, "start": start, "end": end, "score": 1.0, "recognizer": "t"}


def test_a_finding_in_redacted_text_maps_back_to_the_original_offsets():
    text = "a 12345 b"  # redacted: "a <X> b"
    original = [finding("X", 2, 7)]
    assert to_original(original, finding("Y", 6, 7)) == finding("Y", 8, 9)  # after it
    assert to_original(original, finding("Y", 0, 1)) == finding("Y", 0, 1)  # before it
    # A span reaching into a placeholder covers the placeholder's original span.
    assert to_original(original, finding("Y", 0, 3)) == finding("Y", 0, 7)
    assert text[2:7] == "12345"


def test_overlapping_findings_merge_into_one_span():
    merged = merge_findings([finding("PHONE_NUMBER", 5, 10)], [finding("X", 8, 14)])
    assert merged == [finding("PHONE_NUMBER", 5, 14)]
    assert merge_findings([finding("A", 0, 2)], [finding("B", 3, 4)]) == [
        finding("A", 0, 2),
        finding("B", 3, 4),
    ]
