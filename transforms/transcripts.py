"""Anthropic's HH-RLHF transcripts: one text per dialogue, `"\\n\\nHuman: …\\n\\nAssistant: …"`.

Two shapes read them. Preference pairs (`{chosen, rejected}`, two transcripts that normally
share everything but the final assistant reply) become silver/comparisons rows, the chosen
side as `model_a` and the winner; the red-team file's transcripts become silver/dialogues
rows.

A transcript is split only on the markers `"\\n\\nHuman: "` and `"\\n\\nAssistant: "`: turn
text may itself hold `"\\n\\n"` (Open-Assistant's converter split on it and lost paragraphs),
and where the shared prefix of a pair runs into the final replies (both start with the
same words) the replies still start at their own marker.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import polars as pl

from transforms import silver_rows as base
from transforms.catalogue import DatasetSpec, author_of
from transforms.cleaning import MESSAGES
from transforms.comparisons import MalformedComparison, user_turns
from transforms.records import content_hash, normalise_text

ROLES = {"Human": "user", "Assistant": "assistant"}
# A marker: `\n\nHuman: ` or `\n\nAssistant: `; at the very end of the text (an empty
# last turn) the space may be missing.
MARKER = re.compile(r"\n\n(Human|Assistant):(?: |(?=\s*\Z))")
TRANSCRIPT_REASONS = (
    "not_a_transcript",
    "no_human_turn",
    "no_assistant_turn",
    "not_alternating",
    "empty_turn",
)
"""What `parse_transcript` rejects, in the order it checks."""
CHOSEN_JUDGE = "crowdworker"
"""Who picked the chosen reply: the crowdworker talking to the model (Bai et al. 2022)."""


def parse_transcript(text: str) -> list[dict[str, str]]:
    """A transcript's turns as messages [{role, content}], each turn's text normalised
    (`normalise_text`), or MalformedComparison with its reason (TRANSCRIPT_REASONS) and a
    detail: the text must start with a marker, hold a Human and an Assistant turn, start
    with Human and alternate, and no turn may be empty. A trailing Human turn is kept (a
    comparison needs a final reply; a dialogue's cleaning trims it)."""
    parts = MARKER.split(text)
    if parts[0] != "" or len(parts) == 1:
        raise MalformedComparison(
            "not_a_transcript", f"starts with {text[:40]!r}, not a Human/Assistant marker"
        )
    markers, texts = parts[1::2], parts[2::2]
    if "Human" not in markers:
        raise MalformedComparison("no_human_turn", f"{len(markers)} Assistant turn(s), no Human")
    if "Assistant" not in markers:
        raise MalformedComparison(
            "no_assistant_turn", f"{len(markers)} Human turn(s), no Assistant"
        )
    for index, marker in enumerate(markers):
        expected = "Human" if index % 2 == 0 else "Assistant"
        if marker != expected:
            raise MalformedComparison(
                "not_alternating", f"turn {index} is {marker}, expected {expected}"
            )
    messages = [
        {"role": ROLES[marker], "content": normalise_text(turn)}
        for marker, turn in zip(markers, texts, strict=True)
    ]
    for index, message in enumerate(messages):
        if not message["content"]:
            raise MalformedComparison("empty_turn", f"turn {index} ({markers[index]}) is empty")
    return messages


def parse_pair(chosen: str, rejected: str) -> tuple[list[dict], list[dict]]:
    """Both transcripts of a preference pair, each ending with its assistant reply, or
    MalformedComparison: a side that does not parse (the detail names it), a side ending
    with a Human turn (`no_final_reply`), or the two the same (`chosen_equals_rejected`:
    identical transcripts, or identical final replies once normalised)."""
    if chosen == rejected:
        raise MalformedComparison("chosen_equals_rejected", "identical transcripts")
    sides = []
    for name, text in (("chosen", chosen), ("rejected", rejected)):
        try:
            messages = parse_transcript(text)
        except MalformedComparison as error:
            raise MalformedComparison(error.reason, f"{name}: {error}") from error
        if messages[-1]["role"] != "assistant":
            raise MalformedComparison(
                "no_final_reply", f"{name}: ends with a Human turn, not an Assistant reply"
            )
        sides.append(messages)
    if sides[0][-1]["content"] == sides[1][-1]["content"]:
        raise MalformedComparison("chosen_equals_rejected", "identical final replies")
    return sides[0], sides[1]


def chosen_rejected_comparisons(bronze: pl.DataFrame, spec: DatasetSpec) -> base.Stage:
    """One silver/comparisons row per HH-RLHF pair: conversation_a the chosen transcript,
    conversation_b the rejected one, the winner `model_a`, the judge the crowdworker.
    `prompt` is the chosen side's messages before its final reply. Pairs whose transcripts
    differ before the last turn are kept (same_user_turns says whether their user turns
    agree; gold uses only those that do). Duplicates are kept: see `duplicate_survivors`."""
    rows, rejected = [], []
    prompt_license = spec.field_license("chosen", role="user")
    response_license = spec.field_license("chosen", role="assistant")
    prompt_author = spec.field_author("chosen", "user")
    for record in bronze.iter_rows(named=True):
        try:
            conversation_a, conversation_b = parse_pair(record["chosen"], record["rejected"])
        except MalformedComparison as error:
            rejected.append({**record, "reason": error.reason, "detail": str(error)})
            continue
        row: dict[str, Any] = {
            **base.lineage_of(record),
            "source_id": content_hash({"chosen": record["chosen"], "rejected": record["rejected"]}),
            **base.two_sides(conversation_a, conversation_b),
            "model_a": None,
            "model_b": None,
            "winner": "model_a",
            "judge": CHOSEN_JUDGE,
            "turn": len(user_turns(conversation_a)),
            "license": record["license"],
            "prompt_license": prompt_license,
            "response_license": response_license,
            "prompt_written_by": author_of(prompt_author, record),
            "reply_written_by": author_of(spec.field_author("chosen", "assistant"), record),
        }
        row["comparison_id"] = base.vote_id(row)
        rows.append(row)
    return base.comparison_stage(rows, rejected, bronze, ["chosen", "rejected"])


def transcript_dialogues(bronze: pl.DataFrame, spec: DatasetSpec) -> base.Stage:
    """One silver/dialogues row per red-team transcript: its messages, the hash of the
    transcript as source_id, who wrote its user turns. A transcript that does not parse
    is quarantined with its reason; every source field is kept in the payload."""
    authors = base.author_column(bronze, spec, "transcript", "user")
    parsed_ok: list[bool] = []
    messages: list[list[dict[str, str]]] = []
    source_ids: list[str] = []
    reasons: list[str] = []
    details: list[str] = []
    for transcript in bronze["transcript"].to_list():
        try:
            parsed = parse_transcript(transcript or "")
        except MalformedComparison as error:
            parsed_ok.append(False)
            reasons.append(error.reason)
            details.append(str(error))
            continue
        parsed_ok.append(True)
        messages.append(parsed)
        source_ids.append(content_hash(transcript))
    kept = pl.Series(parsed_ok, dtype=pl.Boolean)
    rows = (
        bronze.filter(kept)
        .select(*base.LINEAGE, "license")
        .with_columns(
            pl.Series("source_id", source_ids, dtype=pl.String),
            pl.Series("messages", messages, dtype=MESSAGES),
            authors.filter(kept).alias("user_written_by"),
            base.author_column(bronze, spec, "transcript", "assistant")
            .filter(kept)
            .alias("reply_written_by"),
        )
    )
    rejects = bronze.filter(~kept).with_columns(
        pl.Series("reason", reasons, dtype=pl.String),
        pl.Series("detail", details, dtype=pl.String),
    )
    payload = [c for c in spec.schema if c in bronze.columns]
    return base.Stage(
        rows,
        base.rejected_rows(rejects, "silver/dialogues", payload),
        Counter(f"quarantined_{r}" for r in reasons),
    )
