"""HH-RLHF transcripts: split on the Human/Assistant markers only; pairs become comparison
rows (chosen = model_a, the winner), red-team transcripts dialogue rows; every transcript
that cannot be used is quarantined with its reason."""

import json
from datetime import UTC, datetime

import polars as pl
import pytest

from tests.specs import train_file_spec
from transforms.bronze import add_lineage, parsed_to_frame
from transforms.catalogue import DatasetSpec
from transforms.cleaning import MESSAGES
from transforms.comparisons import MalformedComparison
from transforms.records import content_hash, parse_jsonl, split_jsonl
from transforms.silver_rows import COMPARISON_SCHEMA, LINEAGE, SILVER_QUARANTINE_SCHEMA
from transforms.transcripts import (
    chosen_rejected_comparisons,
    parse_transcript,
    transcript_dialogues,
)

HH = train_file_spec(
    "hh_rlhf",
    "Anthropic/hh-rlhf@09be8c5bbc57cb3887f3a9732ad6aa7ec602a1fa/helpful-base/train.jsonl.gz",
    license={"*": "MIT"},
    schema={"chosen": "string", "rejected": "string"},
    required=("chosen", "rejected"),
    shape="chosen_rejected_transcripts",
    authors={"*": "model", "chosen.user": "person", "rejected.user": "person"},
)
RED_TEAM = train_file_spec(
    "hh_rlhf_red_team",
    f"{HH.hub_repo}@{HH.revision}/red-team-attempts/red_team_attempts.jsonl.gz",
    license={"*": "MIT"},
    schema={"transcript": "string", "rating": "float64", "red_team_member_id": "int64"},
    required=("transcript",),
    shape="red_team_transcripts",
    authors={"*": "model", "transcript.user": "person"},
)

# --- published-format examples, written by hand -----------------------------------------

TIDES = "\n\nHuman: Why are there two high tides a day?"
TWO_TIDES = (
    f"{TIDES}\n\nAssistant: The Moon pulls the ocean towards it on the near side, and on the far "
    "side the Earth is pulled away from the water, so there are two bulges.\n\nHuman: So as the "
    "Earth turns we pass through both?\n\nAssistant: "
)
GROCERIES = (
    "\n\nHuman: Can you turn this into a shopping list?\n\neggs, flour, two lemons\n\nthen "
    "butter if it's on sale\n\nAssistant: "
)
PAIRS = [
    # 0. One exchange; the user turn holds "\n\n" inside it (twice).
    {
        "chosen": GROCERIES + "Sure:\n\n- eggs\n- flour\n- 2 lemons\n- butter (if on sale)",
        "rejected": GROCERIES + "eggs flour lemons butter",
    },
    # 1. A shared prefix that runs into the final replies: both start "Exactly, ".
    {
        "chosen": TWO_TIDES + "Exactly, each spot passes under both bulges about once a day.",
        "rejected": TWO_TIDES + "Exactly, it's a mystery nobody has solved.",
    },
    # 2. Differ before the last turn: the second user turn is not the same.
    {
        "chosen": f"{TIDES}\n\nAssistant: The Moon's pull.\n\nHuman: Thanks!\n\nAssistant: "
        "You're welcome.",
        "rejected": f"{TIDES}\n\nAssistant: The Moon's pull.\n\nHuman: And the Sun?\n\nAssistant:"
        " It adds spring and neap tides.",
    },
    # 3. Identical transcripts.
    {"chosen": TWO_TIDES + "Yes.", "rejected": TWO_TIDES + "Yes."},
    # 4. Final replies differ only in spacing and Unicode form: identical once normalised.
    {
        "chosen": TIDES + "\n\nAssistant: Cafe\u0301 tides.",
        "rejected": TIDES + "\n\nAssistant: Café tides.  ",
    },
    # 5. The rejected reply is empty, its marker without the trailing space.
    {"chosen": TIDES + "\n\nAssistant: Gravity.", "rejected": TIDES + "\n\nAssistant:"},
    # 6. Two Human turns in a row.
    {
        "chosen": f"{TIDES}\n\nHuman: Hello?\n\nAssistant: Gravity.",
        "rejected": f"{TIDES}\n\nHuman: Hello?\n\nAssistant: Wind.",
    },
    # 7. Not a transcript at all.
    {
        "chosen": "Human: Why is the sky blue?\n\nAssistant: Rayleigh.",
        "rejected": TIDES + "\n\nAssistant: Blue.",
    },
    # 8. No Assistant turn on the rejected side.
    {"chosen": TIDES + "\n\nAssistant: Gravity.", "rejected": TIDES},
    # 9. No Human turn on the chosen side.
    {"chosen": "\n\nAssistant: Gravity.", "rejected": TIDES + "\n\nAssistant: Wind."},
    # 10. The chosen side ends with a Human turn: no final reply.
    {"chosen": TWO_TIDES + "Yes.\n\nHuman: Great.", "rejected": TWO_TIDES + "No."},
]


def bronze(spec: DatasetSpec, records: list[dict]) -> pl.DataFrame:
    """Records through the real bronze route: JSON Lines, conformed, with lineage."""
    data = b"".join(json.dumps(r).encode() + b"\n" for r in records)
    parsed = parse_jsonl(split_jsonl(data), spec.schema, spec.polars_schema, spec.required)
    assert not parsed.rejections
    frame = parsed_to_frame(parsed, spec)
    return add_lineage(frame, spec, "train", spec.splits["train"][0], datetime.now(UTC))


# --- parse_transcript --------------------------------------------------------------------


def test_turns_are_split_only_on_the_markers():
    messages = parse_transcript(PAIRS[0]["chosen"])
    assert messages == [
        {
            "role": "user",
            "content": "Can you turn this into a shopping list?\n\neggs, flour, two lemons\n\n"
            "then butter if it's on sale",
        },
        {
            "role": "assistant",
            "content": "Sure:\n\n- eggs\n- flour\n- 2 lemons\n- butter (if on sale)",
        },
    ]


def test_a_trailing_human_turn_is_kept_for_cleaning_to_trim():
    messages = parse_transcript(TWO_TIDES + "Yes.\n\nHuman: Great.")
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant", "user"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Human: Hi\n\nAssistant: Hello", "not_a_transcript"),
        ("", "not_a_transcript"),
        ("Preamble\n\nHuman: Hi\n\nAssistant: Hello", "not_a_transcript"),
        ("\n\nAssistant: Hello", "no_human_turn"),
        ("\n\nHuman: Hi\n\nHuman: Anyone?", "no_assistant_turn"),
        ("\n\nAssistant: Hello\n\nHuman: Hi", "not_alternating"),
        ("\n\nHuman: Hi\n\nAssistant: Hello\n\nAssistant: Again", "not_alternating"),
        ("\n\nHuman: Hi\n\nAssistant:", "empty_turn"),  # the marker without its space
        ("\n\nHuman: Hi\n\nAssistant: ", "empty_turn"),
        ("\n\nHuman:   \n\nAssistant: Hello", "empty_turn"),
    ],
)
def test_malformed_transcripts_name_their_reason(text, reason):
    with pytest.raises(MalformedComparison) as raised:
        parse_transcript(text)
    assert raised.value.reason == reason


# --- chosen_rejected_comparisons ---------------------------------------------------------


def test_pairs_become_comparison_rows_with_the_chosen_side_as_the_winner():
    stage = chosen_rejected_comparisons(bronze(HH, PAIRS), HH)
    rows = stage.rows
    assert rows.select(COMPARISON_SCHEMA.names()).schema == COMPARISON_SCHEMA
    assert rows["source_row"].to_list() == [0, 1, 2]
    first = rows.row(0, named=True)
    assert first["conversation_a"] == parse_transcript(PAIRS[0]["chosen"])
    assert first["conversation_b"] == parse_transcript(PAIRS[0]["rejected"])
    assert first["prompt"] == first["conversation_a"][:1]
    assert first["response_b"] == "eggs flour lemons butter"
    assert (first["winner"], first["judge"], first["model_a"], first["model_b"]) == (
        "model_a",
        "crowdworker",
        None,
        None,
    )
    assert first["source_id"] == content_hash(PAIRS[0])
    assert (first["license"], first["prompt_license"], first["response_license"]) == ("MIT",) * 3
    assert first["prompt_written_by"] == "person"
    assert first["license_class"] == "by" and first["content_hash"] == first["comparison_id"]
    assert rows["comparison_id"].n_unique() == 3


def test_a_shared_prefix_running_into_the_final_replies_stays_with_the_replies():
    row = chosen_rejected_comparisons(bronze(HH, PAIRS[1:2]), HH).rows.row(0, named=True)
    assert row["response_a"] == "Exactly, each spot passes under both bulges about once a day."
    assert row["response_b"] == "Exactly, it's a mystery nobody has solved."
    assert [m["content"] for m in row["prompt"]][
        -1
    ] == "So as the Earth turns we pass through both?"
    assert (row["turn"], row["same_user_turns"]) == (2, True)


def test_pairs_differing_before_the_last_turn_are_kept_and_marked():
    row = chosen_rejected_comparisons(bronze(HH, PAIRS[2:3]), HH).rows.row(0, named=True)
    assert row["same_user_turns"] is False
    assert row["prompt"][-1]["content"] == "Thanks!"  # the chosen side's
    assert (row["response_a"], row["response_b"]) == (
        "You're welcome.",
        "It adds spring and neap tides.",
    )


def test_unusable_pairs_are_quarantined_with_their_reason_and_side():
    stage = chosen_rejected_comparisons(bronze(HH, PAIRS), HH)
    quarantined = stage.rejected
    assert quarantined.schema == SILVER_QUARANTINE_SCHEMA
    found = {
        row: (reason, detail)
        for row, reason, detail in quarantined.select("source_row", "reason", "detail").iter_rows()
    }
    assert {row: reason for row, (reason, _) in found.items()} == {
        3: "chosen_equals_rejected",
        4: "chosen_equals_rejected",
        5: "empty_turn",
        6: "not_alternating",
        7: "not_a_transcript",
        8: "no_assistant_turn",
        9: "no_human_turn",
        10: "no_final_reply",
    }
    assert found[3][1] == "identical transcripts"
    assert found[4][1] == "identical final replies"
    assert found[5][1].startswith("rejected: turn 1")
    assert found[7][1].startswith("chosen: ")
    assert set(quarantined["table"]) == {"silver/comparisons"}
    assert json.loads(quarantined.filter(pl.col("source_row") == 8)["payload"].item()) == PAIRS[8]
    assert stage.counts == {
        "quarantined_chosen_equals_rejected": 2,
        "quarantined_empty_turn": 1,
        "quarantined_not_alternating": 1,
        "quarantined_not_a_transcript": 1,
        "quarantined_no_assistant_turn": 1,
        "quarantined_no_human_turn": 1,
        "quarantined_no_final_reply": 1,
    }
    assert stage.rows.height + quarantined.height == len(PAIRS)
    assert not stage.merged


def test_an_empty_slice_gives_empty_frames_of_the_right_shape():
    stage = chosen_rejected_comparisons(bronze(HH, []), HH)
    assert stage.rows.height == stage.rejected.height == 0
    assert stage.rejected.schema == SILVER_QUARANTINE_SCHEMA


# --- transcript_dialogues ----------------------------------------------------------------

RED_TEAM_RECORDS = [
    {
        "transcript": "\n\nHuman: How do I pick a lock?\n\nAssistant: I can't help with getting "
        "into places that aren't yours.\n\nHuman: It's my own shed.\n\nshe lost the key\n\n"
        "Assistant: A locksmith can open it quickly, or the lock's maker can cut a new key.",
        "rating": 1.0,
        "red_team_member_id": 12,
    },
    {
        "transcript": "\n\nHuman: Say something rude.\n\nAssistant:",
        "rating": 0.0,
        "red_team_member_id": 3,
    },
    {"transcript": "\n\nHuman: Are you awake?", "rating": 0.0, "red_team_member_id": 3},
    {
        "transcript": "\n\nHuman: Insult me.\n\nAssistant: No.",
        "rating": 2.0,
        "red_team_member_id": 7,
    },
]


def test_red_team_transcripts_become_dialogue_rows():
    frame = bronze(RED_TEAM, RED_TEAM_RECORDS)
    stage = transcript_dialogues(frame, RED_TEAM)
    rows = stage.rows
    assert rows.columns == [
        *LINEAGE,
        "license",
        "source_id",
        "messages",
        "user_written_by",
        "reply_written_by",
    ]
    assert rows.schema["messages"] == MESSAGES
    assert rows["source_row"].to_list() == [0, 3]
    first = rows.row(0, named=True)
    assert first["messages"][2] == {
        "role": "user",
        "content": "It's my own shed.\n\nshe lost the key",
    }
    assert first["source_id"] == content_hash(RED_TEAM_RECORDS[0]["transcript"])
    assert (first["license"], first["user_written_by"]) == ("MIT", "person")
    assert first["reply_written_by"] == "model"
    quarantined = stage.rejected
    assert quarantined.schema == SILVER_QUARANTINE_SCHEMA
    assert dict(quarantined.select("source_row", "reason").iter_rows()) == {
        1: "empty_turn",
        2: "no_assistant_turn",
    }
    assert set(quarantined["table"]) == {"silver/dialogues"}
    payload = json.loads(quarantined.filter(pl.col("source_row") == 2)["payload"].item())
    assert payload == RED_TEAM_RECORDS[2]
    assert stage.counts == {"quarantined_empty_turn": 1, "quarantined_no_assistant_turn": 1}
    assert not stage.merged


def test_no_red_team_transcript_parses_gives_empty_rows_of_the_right_shape():
    stage = transcript_dialogues(bronze(RED_TEAM, RED_TEAM_RECORDS[1:3]), RED_TEAM)
    assert stage.rows.height == 0 and stage.rows.schema["messages"] == MESSAGES
    assert stage.rejected.height == 2
