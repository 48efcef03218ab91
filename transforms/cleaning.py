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

from transforms.records import content_hash, normalise_text

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


def alternating_messages(turns: Sequence[str | None]) -> list[dict[str, str | None]]:
    """UltraChat's original `data`: turns alternate user, assistant, user, ..."""
    return [
        {"role": "user" if i % 2 == 0 else "assistant", "content": t} for i, t in enumerate(turns)
    ]


def conversation_id(messages: Sequence[dict[str, str]]) -> str:
    """A dialogue's id is the hash of its cleaned messages: equal dialogues share it."""
    return content_hash([[m["role"], m["content"]] for m in messages])


@dataclass
class CleanedFrame:
    rows: pl.DataFrame  # input columns with `messages` replaced by the cleaned dialogue
    rejected: pl.DataFrame  # input columns plus `reason`, `detail`
    repairs: Counter[str]


def clean_messages_column(frame: pl.DataFrame, column: str = "messages") -> CleanedFrame:
    """Clean `column` (list of {role, content}) of every row; reject rows that fail a rule."""
    cleaned = [clean_dialogue(m or []) for m in frame[column].to_list()]
    repairs: Counter[str] = Counter()
    for result in cleaned:
        repairs.update(result.repairs)
    ok = pl.Series([c.rejection is None for c in cleaned], dtype=pl.Boolean)
    rows = frame.filter(ok).with_columns(
        pl.Series(column, [c.messages for c in cleaned if c.rejection is None], dtype=MESSAGES)
    )
    rejected = frame.filter(~ok).with_columns(
        reason=pl.Series([c.rejection for c in cleaned if c.rejection], dtype=pl.String),
        detail=pl.Series([c.detail for c in cleaned if c.rejection], dtype=pl.String),
    )
    return CleanedFrame(rows, rejected, repairs)


def deduplicate(frame: pl.DataFrame, key: str, order: Sequence[str]) -> tuple[pl.DataFrame, int]:
    """Keep one row per `key`: the first by `order` (a deterministic survivor)."""
    survivors = frame.sort(order).unique(subset=[key], keep="first", maintain_order=True)
    return survivors, frame.height - survivors.height
