"""Cleaning rules: every dialogue is repaired (and counted) or rejected with a reason."""

import polars as pl

from transforms.cleaning import (
    alternating_messages_column,
    clean_dialogue,
    clean_messages_column,
    cleaned_conversation_id,
    conversation_id,
    deduplicate,
    messages_series,
)


def msgs(*pairs):
    return [{"role": r, "content": c} for r, c in pairs]


def test_text_is_nfc_normalised_and_trimmed_but_inner_newlines_and_code_survive():
    code = "Here:\n```python\nfor i in range(3):\n    print(i)\n```"
    result = clean_dialogue(msgs(("user", "  Cafe\u0301?  "), ("assistant", code + "\n\n")))
    assert result.messages == msgs(("user", "Café?"), ("assistant", code))


def test_role_names_are_mapped_and_unknown_roles_rejected():
    result = clean_dialogue(msgs(("Human", "hi there"), ("gpt", "hello")))
    assert [m["role"] for m in result.messages] == ["user", "assistant"]
    rejected = clean_dialogue(msgs(("user", "hi"), ("narrator", "meanwhile")))
    assert rejected.rejection == "unknown_role"
    assert "narrator" in rejected.detail


def test_empty_and_whitespace_turns_are_dropped_and_counted():
    result = clean_dialogue(
        msgs(("user", "hi"), ("assistant", "   "), ("assistant", "hello"), ("user", ""))
    )
    assert result.messages == msgs(("user", "hi"), ("assistant", "hello"))
    assert result.repairs["empty_turns_dropped"] == 2


def test_repeated_roles_are_merged_in_order():
    result = clean_dialogue(msgs(("user", "a"), ("user", "b"), ("assistant", "c")))
    assert result.messages == msgs(("user", "a\n\nb"), ("assistant", "c"))
    assert result.repairs["repeated_role_turns_merged"] == 1


def test_a_leading_system_turn_is_kept_but_a_late_one_is_rejected():
    kept = clean_dialogue(msgs(("system", "Be brief."), ("user", "hi"), ("assistant", "hello")))
    assert kept.messages[0] == {"role": "system", "content": "Be brief."}
    late = clean_dialogue(msgs(("user", "hi"), ("system", "x"), ("assistant", "hello")))
    assert late.rejection == "misplaced_system_turn"


def test_dialogues_opening_with_the_assistant_or_without_a_reply_are_rejected():
    assert (
        clean_dialogue(msgs(("assistant", "hi"), ("user", "yo"))).rejection
        == "starts_with_assistant"
    )
    assert clean_dialogue(msgs(("user", "anyone?"))).rejection == "no_assistant_reply"
    assert clean_dialogue(msgs(("user", " "), ("assistant", ""))).rejection == "empty_dialogue"
    assert clean_dialogue([None]).rejection == "unknown_role"


def alternating(*turns: list[str | None] | None) -> list[list[dict]]:
    data = pl.DataFrame({"data": list(turns)}, schema={"data": pl.List(pl.String)})
    return data.select(alternating_messages_column(pl.col("data")))["data"].to_list()


def test_turns_of_a_plain_list_alternate_user_and_assistant():
    assert alternating(["q1", "a1", "q2"], None, [None, "a"]) == [
        msgs(("user", "q1"), ("assistant", "a1"), ("user", "q2")),
        [],
        msgs(("user", None), ("assistant", "a")),
    ]


def test_a_trailing_user_turn_is_trimmed_and_counted():
    result = clean_dialogue(alternating(["q1", "a1", "q2"])[0])
    assert result.messages == msgs(("user", "q1"), ("assistant", "a1"))
    assert result.repairs["trailing_user_turns_dropped"] == 1


def test_frames_split_into_clean_rows_and_rejects_that_add_up():
    frame = pl.DataFrame(
        {
            "row": [0, 1, 2],
            "messages": [
                msgs(("user", "hi"), ("assistant", "hello")),
                msgs(("assistant", "oops")),
                msgs(("user", "q"), ("assistant", " "), ("assistant", "a")),
            ],
        }
    )
    cleaned = clean_messages_column(frame)
    assert cleaned.rows["row"].to_list() == [0, 2]
    assert cleaned.rejected["reason"].to_list() == ["starts_with_assistant"]
    assert cleaned.rows.height + cleaned.rejected.height == frame.height


def test_cleaned_messages_keep_their_id_and_their_column_shape():
    """The fast paths of cleaning (no second normalisation, an Arrow-built column) give
    what the plain ones do, on text that normalisation changes."""
    raw = [
        msgs(("user", "  Cafe\u0301? "), ("assistant", "Oui\u00a0!\n")),
        msgs(("human", "x"), ("gpt", ""), ("gpt", " y")),
        msgs(("user", "q"), ("assistant", "a"), ("user", "q2")),
    ]
    cleaned = [clean_dialogue(dialogue).messages for dialogue in raw]
    assert all(m is not None for m in cleaned)
    assert [cleaned_conversation_id(m) for m in cleaned] == [conversation_id(m) for m in cleaned]
    assert cleaned_conversation_id(cleaned[0]) == conversation_id(raw[0])  # same text, normalised
    column = messages_series("messages", cleaned)
    assert column.to_list() == cleaned
    assert column.equals(pl.Series("messages", cleaned, dtype=column.dtype))


def test_duplicates_keep_one_deterministic_survivor():
    a = msgs(("user", "hi"), ("assistant", "hello"))
    frame = pl.DataFrame(
        {"id": [conversation_id(a)] * 3, "rank": [2, 0, 1], "name": ["c", "a", "b"]}
    )
    survivors, dropped = deduplicate(frame, "id", ["rank"])
    assert survivors["name"].to_list() == ["a"]
    assert dropped == 2
    assert conversation_id(a) != conversation_id(msgs(("user", "hi"), ("assistant", "hello!")))
