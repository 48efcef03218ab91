"""Judged comparisons in one shape: UltraFeedback prompts with their rated completions,
and Arena / MT-bench pairwise votes.

UltraFeedback rows keep all four completions and their ratings, so any binarization
policy can run later (gold). Pairwise votes keep both dialogues up to the judged turn.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from transforms.cleaning import CleanedDialogue, clean_dialogue
from transforms.records import content_hash, normalise_text

ASPECTS = ("helpfulness", "honesty", "instruction_following", "truthfulness")
RATINGS = pl.Struct({aspect: pl.Float64 for aspect in ASPECTS})
COMPLETION = pl.Struct(
    {
        "model": pl.String,
        "principle": pl.String,
        "custom_system_prompt": pl.String,
        "response": pl.String,
        "critique": pl.String,
        "overall_score": pl.Float64,
        "fine_grained_score": pl.Float64,
        "ratings": RATINGS,
        "rank": pl.Int64,
    }
)
"""One judged completion. `rank` is a human ranking among siblings (0 = best: OASST's
message trees); sources that rate instead of rank (UltraFeedback) leave it null."""
COMPLETIONS = pl.List(COMPLETION)


class MalformedComparison(ValueError):
    """A comparison that cannot be used; the message is the quarantine reason's detail."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def parse_rating(value: Any) -> float | None:
    """UltraFeedback ratings are strings "1".."5"; "N/A" (or anything else) is missing."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def parse_aspect(annotation: Any) -> Mapping[str, Any]:
    """An aspect annotation is an object, or (older exports) a one-element list of one."""
    if isinstance(annotation, list):
        annotation = annotation[0] if annotation else {}
    return annotation if isinstance(annotation, Mapping) else {}


def parse_score(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return parse_rating(value)


def parse_completions(completions_json: str) -> list[dict[str, Any]]:
    """UltraFeedback's `completions` JSON as typed completions; at least two are needed."""
    completions = json.loads(completions_json)
    if not isinstance(completions, list):
        raise MalformedComparison("malformed_completions", "completions is not a list")
    parsed = []
    for index, completion in enumerate(completions):
        if not isinstance(completion, Mapping) or not isinstance(completion.get("response"), str):
            raise MalformedComparison(
                "malformed_completions", f"completion {index} has no response"
            )
        annotations = completion.get("annotations") or {}
        parsed.append(
            {
                "model": _text(completion.get("model")),
                "principle": _text(completion.get("principle")),
                "custom_system_prompt": _text(completion.get("custom_system_prompt")),
                "response": normalise_text(completion["response"]),
                "critique": _text(completion.get("critique")),
                "overall_score": parse_score(completion.get("overall_score")),
                "fine_grained_score": parse_score(completion.get("fine-grained_score")),
                "ratings": {
                    aspect: parse_rating(parse_aspect(annotations.get(aspect)).get("Rating"))
                    for aspect in ASPECTS
                },
                "rank": None,
            }
        )
    if len(parsed) < 2:
        raise MalformedComparison("too_few_completions", f"{len(parsed)} completion(s)")
    return parsed


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def prompt_id(source_id: str | None, instruction: str) -> str:
    """UltraFeedback's id, or sha256 of the instruction where a copy has none."""
    return source_id or hashlib.sha256(instruction.encode("utf-8")).hexdigest()


def judged_dialogue(messages: Sequence[Mapping[str, Any]], turn: int | None) -> CleanedDialogue:
    """Clean a voted dialogue and cut it after the judged turn's assistant reply.

    MT-bench stores both exchanges even for a turn-1 vote: the vote is about the first
    answer only. Arena votes judge the whole conversation (turn = its number of turns).
    """
    cleaned = clean_dialogue(messages)
    if cleaned.messages is None or turn is None:
        return cleaned
    kept, assistant_turns = [], 0
    for message in cleaned.messages:
        kept.append(message)
        if message["role"] == "assistant":
            assistant_turns += 1
            if assistant_turns == turn:
                return CleanedDialogue(kept, None, "", cleaned.repairs)
    return CleanedDialogue(
        None, "judged_turn_missing", f"turn {turn} but {assistant_turns} assistant turn(s)"
    )


def split_last_reply(messages: Sequence[Mapping[str, str]]) -> tuple[list[dict], str]:
    """(every message before the last assistant turn, that turn's text)."""
    return [dict(m) for m in messages[:-1]], messages[-1]["content"]


def user_turns(messages: Sequence[Mapping[str, str]]) -> list[str]:
    return [m["content"] for m in messages if m["role"] == "user"]


def comparison_id(parts: Mapping[str, Any]) -> str:
    """Equal judged content (prompt, responses, models, verdict, judge) shares one id."""
    return content_hash(dict(parts))
