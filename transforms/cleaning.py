"""Cleaning rules for dialogues: one normal form for every conversation in the lake.

Each rule either repairs a dialogue (and is counted) or rejects it with a named reason.
Order matters and is fixed: normalise text, map roles, drop empty turns, check system
placement, merge repeated roles, reject an assistant opening, trim a trailing user
turn, require an assistant reply.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import pyarrow as pa

from transforms.records import content_hash, normalise_text, normalised_content_hash

MESSAGE = pl.Struct({"role": pl.String, "content": pl.String})
MESSAGES = pl.List(MESSAGE)

# Role names seen in public chat datasets, mapped to the three the lake uses.
ROLE_NAMES = {
    "user": "user",
    "human": "user",
    "prompter": "user",
    "assistant": "assistant",
    "gpt": "assistant",
    "bot": "assistant",
    "model": "assistant",
    "chatgpt": "assistant",
    "system": "system",
}
MERGED_TURN_SEPARATOR = "\n\n"


@dataclass
class CleanedDialogue:
    """A dialogue after the rules: its messages, or the reason it was rejected."""

    messages: list[dict[str, str]] | None
    rejection: str | None = None
    detail: str = ""
    repairs: Counter[str] = field(default_factory=Counter)


def clean_dialogue(messages: Sequence[dict[str, Any] | None]) -> CleanedDialogue:
    """Apply every cleaning rule to one dialogue (a list of {role, content})."""
    repairs: Counter[str] = Counter()
    turns: list[dict[str, str]] = []
    for index, message in enumerate(messages):
        raw_role = (message or {}).get("role")
        role = ROLE_NAMES.get(str(raw_role).strip().lower()) if raw_role is not None else None
        if role is None:
            return CleanedDialogue(None, "unknown_role", f"turn {index}: role {raw_role!r}")
        content = normalise_text((message or {}).get("content") or "")
        if not content:
            repairs["empty_turns_dropped"] += 1
            continue
        turns.append({"role": role, "content": content})

    if not turns:
        return CleanedDialogue(None, "empty_dialogue", "no non-empty turn", repairs)
    first_non_system = next((i for i, t in enumerate(turns) if t["role"] != "system"), len(turns))
    if any(t["role"] == "system" for t in turns[first_non_system:]):
        return CleanedDialogue(
            None, "misplaced_system_turn", "system turn after the dialogue began", repairs
        )

    merged: list[dict[str, str]] = []
    for turn in turns:
        if merged and merged[-1]["role"] == turn["role"]:
            merged[-1] = {
                "role": turn["role"],
                "content": merged[-1]["content"] + MERGED_TURN_SEPARATOR + turn["content"],
            }
            repairs["repeated_role_turns_merged"] += 1
        else:
            merged.append(turn)

    dialogue = [t for t in merged if t["role"] != "system"]
    if dialogue and dialogue[0]["role"] == "assistant":
        return CleanedDialogue(
            None, "starts_with_assistant", "first turn is the assistant's", repairs
        )
    if merged[-1]["role"] == "user" and len(dialogue) > 1:
        merged.pop()
        repairs["trailing_user_turns_dropped"] += 1
    if not any(t["role"] == "assistant" for t in merged):
        return CleanedDialogue(None, "no_assistant_reply", "no assistant turn", repairs)
    return CleanedDialogue(merged, None, "", repairs)


def alternating_messages_column(turns: pl.Expr) -> pl.Expr:
    """UltraChat's original `data`, turns alternating user, assistant, user, ..., as
    `MESSAGES` (a missing list is an empty dialogue)."""
    role = (
        pl.when(pl.int_range(pl.len()) % 2 == 0).then(pl.lit("user")).otherwise(pl.lit("assistant"))
    )
    return (
        turns.list.eval(pl.struct(role.alias("role"), pl.element().alias("content")))
        .fill_null(pl.lit([], dtype=MESSAGES))
        .cast(MESSAGES)
    )


def conversation_id(messages: Sequence[dict[str, str]]) -> str:
    """A dialogue's id is the hash of its cleaned messages: equal dialogues share it."""
    return content_hash([[m["role"], m["content"]] for m in messages])


def cleaned_conversation_id(messages: Sequence[dict[str, str]]) -> str:
    """`conversation_id` of messages `clean_dialogue` returned, whose text is already in
    normal form (normalising it again would change nothing and cost a third of cleaning)."""
    return normalised_content_hash([[m["role"], m["content"]] for m in messages])


def messages_series(name: str, dialogues: Sequence[Sequence[dict[str, str | None]]]) -> pl.Series:
    """A `MESSAGES` column of `dialogues`, built through Arrow from flat lists (Polars'
    constructor from Python dicts took a third of cleaning's time)."""
    lengths = [len(dialogue) for dialogue in dialogues]
    offsets = [0]
    for length in lengths:
        offsets.append(offsets[-1] + length)
    turns = pa.StructArray.from_arrays(
        [
            pa.array([m["role"] for d in dialogues for m in d], pa.large_string()),
            pa.array([m["content"] for d in dialogues for m in d], pa.large_string()),
        ],
        names=["role", "content"],
    )
    column = pa.LargeListArray.from_arrays(pa.array(offsets, pa.int64()), turns)
    return pl.Series(name, column).cast(MESSAGES)


@dataclass
class CleanedFrame:
    rows: pl.DataFrame  # input columns with `messages` replaced by the cleaned dialogue
    rejected: pl.DataFrame  # input columns plus `reason`, `detail`
    repairs: Counter[str]
    messages: list[list[dict[str, str]]]  # the cleaned dialogues of `rows`, as Python lists


def clean_messages_column(frame: pl.DataFrame, column: str = "messages") -> CleanedFrame:
    """Clean `column` (list of {role, content}) of every row; reject rows that fail a rule."""
    cleaned = [clean_dialogue(m or []) for m in frame[column].to_list()]
    repairs: Counter[str] = Counter()
    for result in cleaned:
        repairs.update(result.repairs)
    ok = pl.Series([c.rejection is None for c in cleaned], dtype=pl.Boolean)
    kept = [c.messages for c in cleaned if c.messages is not None]
    rows = frame.filter(ok).with_columns(messages_series(column, kept))
    rejected = frame.filter(~ok).with_columns(
        reason=pl.Series([c.rejection for c in cleaned if c.rejection], dtype=pl.String),
        detail=pl.Series([c.detail for c in cleaned if c.rejection], dtype=pl.String),
    )
    return CleanedFrame(rows, rejected, repairs, kept)


def deduplicate(frame: pl.DataFrame, key: str, order: Sequence[str]) -> tuple[pl.DataFrame, int]:
    """Keep one row per `key`: the first by `order` (a deterministic survivor)."""
    survivors = frame.sort(order).unique(subset=[key], keep="first", maintain_order=True)
    return survivors, frame.height - survivors.height
