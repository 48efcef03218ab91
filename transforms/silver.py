"""From bronze rows to the silver shapes: conversations and comparisons, cleaned, with
every rejected row kept beside its reason (which copy of a duplicate survives:
transforms/survivors.py).

Text engines (language, PII) run afterwards on the distinct texts (transforms/scrub.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import polars as pl

from transforms.catalogue import DatasetSpec, author_of, license_class
from transforms.cleaning import (
    MESSAGES,
    alternating_messages_column,
    clean_messages_column,
    cleaned_conversation_id,
)
from transforms.comparisons import (
    MalformedComparison,
    comparison_id,
    judged_dialogue,
    parse_completions,
    prompt_id,
)
from transforms.message_trees import tree_comparisons, tree_dialogues
from transforms.records import normalise_text
from transforms.silver_rows import (
    LINEAGE,
    SILVER_QUARANTINE_SCHEMA,
    Stage,
    author_column,
    comparison_stage,
    lineage_of,
    rejected_rows,
    two_sides,
    vote_id,
)
from transforms.transcripts import chosen_rejected_comparisons, transcript_dialogues

# --- conversations ---------------------------------------------------------------------


def ultrachat_dialogues(bronze: pl.DataFrame, spec: DatasetSpec) -> Stage:
    """UltraChat (original): `data` alternates user and assistant turns."""
    rows = bronze.select(
        *LINEAGE,
        "license",
        pl.col("id").alias("source_id"),
        alternating_messages_column(pl.col("data")).alias("messages"),
    ).with_columns(
        user_written_by=author_column(bronze, spec, "data", "user"),
        reply_written_by=author_column(bronze, spec, "data", "assistant"),
    )
    return Stage(rows, no_rejects())


def ultrachat_200k_dialogues(bronze: pl.DataFrame, spec: DatasetSpec) -> Stage:
    """UltraChat 200k: already `messages`; fields reordered to (role, content)."""
    rows = bronze.select(
        *LINEAGE,
        "license",
        pl.col("prompt_id").alias("source_id"),
        pl.col("messages")
        .list.eval(
            pl.struct(pl.element().struct.field("role"), pl.element().struct.field("content"))
        )
        .cast(MESSAGES),
        author_column(bronze, spec, "messages", "user").alias("user_written_by"),
        author_column(bronze, spec, "messages", "assistant").alias("reply_written_by"),
    )
    return Stage(rows, no_rejects())


def no_rejects() -> pl.DataFrame:
    """A shape's rejected rows when it rejects none (the quarantine shape, empty)."""
    return pl.DataFrame(schema=SILVER_QUARANTINE_SCHEMA)


def clean_conversations(shaped: Stage) -> Stage:
    """Clean every dialogue a shape made and give it its content id (the hash of its
    cleaned messages). The shape's own rejected rows, rule counts and merged rows are
    kept beside the cleaning's; its counts name its rejections (`quarantined_<reason>`).

    Duplicates are kept here: which copy survives is decided over the whole dataset
    (`transforms/survivors.py`), which may arrive in several batches.
    """
    cleaned = clean_messages_column(shaped.rows)
    rows = cleaned.rows.with_columns(
        pl.Series(
            "conversation_id",
            [cleaned_conversation_id(m) for m in cleaned.messages],
            dtype=pl.String,
        )
    )
    counts = Counter(shaped.counts)
    counts.update(cleaned.repairs)
    counts.update(f"quarantined_{r}" for r in cleaned.rejected["reason"].to_list())
    rejected = pl.concat(
        [
            shaped.rejected.select(SILVER_QUARANTINE_SCHEMA.names()).cast(
                dict(SILVER_QUARANTINE_SCHEMA)
            ),
            rejected_rows(cleaned.rejected, "silver/dialogues", ["source_id", "messages"]),
        ]
    )
    return Stage(
        rows.with_columns(
            content_hash=pl.col("conversation_id"),
            license_class=pl.col("license").map_elements(license_class, return_dtype=pl.String),
        ),
        rejected,
        counts,
        Counter(shaped.merged),
    )


# --- comparisons -----------------------------------------------------------------------


def ultrafeedback_comparisons(bronze: pl.DataFrame, spec: DatasetSpec) -> Stage:
    """One row per UltraFeedback prompt, its completions parsed and kept whole (duplicates
    kept: see `duplicate_survivors`)."""
    rows, rejected = [], []
    for record in bronze.iter_rows(named=True):
        try:
            instruction = record["instruction"]
            prompt = _clean_prompt(instruction)
            completions = parse_completions(record["completions"])
        except MalformedComparison as error:
            rejected.append({**record, "reason": error.reason, "detail": str(error)})
            continue
        responses = [c["response"] for c in completions]
        rows.append(
            {
                **lineage_of(record),
                "source_id": prompt_id(record["id"], instruction),
                "comparison_id": comparison_id({"prompt": prompt, "responses": responses}),
                "prompt": prompt,
                "completions": completions,
                "prompt_source": record["source"],
                "prompt_written_by": author_of(spec.field_author("instruction"), record),
                "reply_written_by": author_of(spec.field_author("completions"), record),
                "correct_answers": record["correct_answers"],
                "incorrect_answers": record["incorrect_answers"],
                "license": record["license"],
                "prompt_license": spec.field_license("instruction"),
                "response_license": spec.field_license("completions"),
            }
        )
    return comparison_stage(rows, rejected, bronze, ["id", "instruction", "completions"])


def _clean_prompt(instruction: str | None) -> list[dict[str, str]]:
    text = normalise_text(instruction or "")
    if not text:
        raise MalformedComparison("empty_prompt", "instruction is empty")
    return [{"role": "user", "content": text}]


def pairwise_comparisons(bronze: pl.DataFrame, spec: DatasetSpec) -> Stage:
    """One row per Arena / MT-bench vote: both dialogues up to the judged turn (duplicates
    kept: see `duplicate_survivors`)."""
    rows, rejected = [], []
    is_arena = "openai_moderation" in bronze.columns
    for record in bronze.iter_rows(named=True):
        turn = record["turn"]
        sides = [
            judged_dialogue(record[c] or [], turn) for c in ("conversation_a", "conversation_b")
        ]
        failed = next((s for s in sides if s.messages is None), None)
        if failed is not None:
            rejected.append({**record, "reason": failed.rejection, "detail": failed.detail})
            continue
        row = {
            **lineage_of(record),
            "source_id": str(record["question_id"]),
            **two_sides(sides[0].messages, sides[1].messages),
            "model_a": record["model_a"],
            "model_b": record["model_b"],
            "winner": record["winner"],
            "judge": record["judge"],
            "turn": turn,
            "license": record["license"],
            "prompt_license": spec.field_license("conversation_a", role="user"),
            "response_license": spec.field_license("conversation_a", role="assistant"),
            "prompt_written_by": author_of(spec.field_author("conversation_a", "user"), record),
            "reply_written_by": author_of(spec.field_author("conversation_a", "assistant"), record),
        }
        if is_arena:
            row.update(_arena_flags(record))
        row["comparison_id"] = vote_id(row)
        rows.append(row)
    payload = ["question_id", "conversation_a", "conversation_b", "winner", "judge", "turn"]
    return comparison_stage(rows, rejected, bronze, payload)


def _arena_flags(record: Mapping[str, Any]) -> dict[str, Any]:
    """Arena's safety tags: the OpenAI moderation verdict and the publisher's two ToxicChat
    classifiers (flagged by either; each one's own score, for other thresholds)."""
    moderation = record["openai_moderation"] or {}
    categories = moderation.get("categories") or {}
    toxic = record["toxic_chat_tag"] or {}
    return {
        "source_language": record["language"],
        "moderation_flagged": moderation.get("flagged"),
        "moderation_categories": sorted(c for c, flagged in categories.items() if flagged),
        "toxic_chat_flagged": any((v or {}).get("flagged") for v in toxic.values())
        if toxic
        else None,
        "toxic_chat_roberta_probability": (toxic.get("roberta-large") or {}).get("probability"),
        "toxic_chat_t5_score": (toxic.get("t5-large") or {}).get("score"),
    }


def user_text(column: str, turns: int, max_chars: int) -> pl.Expr:
    """The first `turns` user turns of a dialogue column, joined, cut to `max_chars`:
    the text a dialogue's language is detected on."""
    return (
        pl.col(column)
        .list.eval(
            pl.element().filter(pl.element().struct.field("role") == "user").struct.field("content")
        )
        .list.head(turns)
        .list.join("\n")
        .str.slice(0, max_chars)
    )


# Arena's collector labels languages by English name; ours are ISO 639-1.
LANGUAGE_NAMES = {
    "English": "en", "Spanish": "es", "Chinese": "zh", "Japanese": "ja", "German": "de",
    "Russian": "ru", "Arabic": "ar", "French": "fr", "Korean": "ko", "Portuguese": "pt",
    "Italian": "it", "Dutch": "nl", "Polish": "pl", "Turkish": "tr", "Vietnamese": "vi",
    "Indonesian": "id", "Hindi": "hi", "Swedish": "sv", "Ukrainian": "uk", "Persian": "fa",
}  # fmt: skip


def language_agreement(frame: pl.DataFrame) -> tuple[float | None, int]:
    """Share of rows where the source's own language label names the language we detected.

    Only rows where both sides commit to a language count (not `unknown`, not `und`).
    Returns (rate, rows compared); rate is None when nothing could be compared.
    """
    compared = frame.select(
        theirs=pl.col("source_language").replace_strict(LANGUAGE_NAMES, default=None),
        ours=pl.col("lang"),
    ).filter(pl.col("theirs").is_not_null() & (pl.col("ours") != "und"))
    if compared.height == 0:
        return None, 0
    return compared.select((pl.col("theirs") == pl.col("ours")).mean()).item(), compared.height


DIALOGUE_SHAPES: dict[str, Callable[[pl.DataFrame, DatasetSpec], Stage]] = {
    "alternating_turns": ultrachat_dialogues,
    "chat_messages": ultrachat_200k_dialogues,
    "transcripts": transcript_dialogues,
    "message_trees": tree_dialogues,
}
"""Shape name (the catalogue's `shape`) -> the function that makes silver/dialogues rows
(before cleaning: `clean_conversations`), rejecting or merging rows as its rule says."""
COMPARISON_SHAPES: dict[str, Callable[[pl.DataFrame, DatasetSpec], Stage]] = {
    "rated_completions": ultrafeedback_comparisons,
    "pairwise_votes": pairwise_comparisons,
    "chosen_rejected_transcripts": chosen_rejected_comparisons,
    "message_trees": tree_comparisons,
}
"""Shape name -> the function that makes silver/comparisons rows."""
WHOLE_SPLIT_SHAPES: frozenset[str] = frozenset({"message_trees"})
"""Shapes that must see a whole split at once, because rows of one group (all messages of
one message tree) must arrive in the same frame: silver reads such a dataset's bronze one
split at a time, not in bounded batches."""


def slice_shape(table: str, spec: DatasetSpec) -> Callable[[pl.DataFrame], Stage]:
    """The function that turns a batch of `spec`'s bronze rows into rows of silver table
    `table` ("dialogues": shaped and cleaned, with content ids; "comparisons": shaped)."""
    if table == "dialogues":
        shape = DIALOGUE_SHAPES[spec.shape]
        return lambda bronze: clean_conversations(shape(bronze, spec))
    comparison_shape = COMPARISON_SHAPES[spec.shape]
    return lambda bronze: comparison_shape(bronze, spec)
