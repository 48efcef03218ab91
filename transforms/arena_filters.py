"""Chatbot Arena filters as named, optional policies.

Where they come from (github.com/lm-sys/FastChat):

- `fastchat/serve/monitor/dataset_release_scripts/arena_33k/filter_bad_conv.py` at commit
  24acac171cdfc9413b2adf9a7d9219afa42a6b8d (added as `conv_release_scripts/filter_bad_conv.py`
  in ff9d8d2dddfe43f835d33b4523eda6173f1fd815, "Release chatbot arena conversation dataset",
  2023-07-18, and moved unchanged). For each conversation, side a then side b, the first of:
  a non-string message; TOO_SHORT, `len(messages) <= 2 and all(len(x) < 16 for x in
  user_prompts)` (user prompts lowercased and stripped); TOO_FREQUENT, every user prompt is
  among the 10 most frequent user prompts of the whole file (counted over both sides,
  lowercased and stripped) or empty; `<anonymized>` / `<redacted>` in a message; a word of
  `blocked_words.json` (never published) in a lowercased message. Then BLOCKED_MODEL,
  model_a or model_b in ["vicuna-33b", "mpt-30b-chat"]. Then, for what is left,
  `openai_moderation["flagged"]`.
- `.../arena_33k/merge_field.py` (same commit): `toxic_chat_tag` was merged in afterwards,
  by question_id; `sample.py` then took 33,000 conversations (shuffle, seed 0).
- `fastchat/serve/monitor/clean_battle_data.py` at ff9d8d2: the release mode keeps
  anonymous battles only and drops battles whose text names a model (IDENTITY_WORDS).
- `fastchat/serve/monitor/deduplication.py` at 2feda6873a1b5fc5058515ee0cabc484860955ab
  (2024-05-20, after this release; LMSYS's later de-duplication): key = the user turns of
  conversation_a, each followed by "\\n", cut to 10,000 characters; cutoff = the 0.9999
  quantile (linear) of the per-key counts; a key seen more than cutoff times keeps
  int(cutoff) of its rows (pandas `sample`, random_state 42) and the rest are tagged.

One contradiction, stated: the script drops moderation-flagged conversations, yet the
dataset card (huggingface.co/datasets/lmsys/chatbot_arena_conversations) says "we have
chosen to keep unsafe conversations intact" and that the data "is not intended for
training dialogue agents without applying appropriate filtering measures"; the released
rows do carry flagged conversations. The card is what was shipped.

Policies, in the order they are tried (a row's `filter_reason` is the first that matches,
whatever order they are enabled in; FastChat's own order where it had one):

1. `short_prompt`: on either side, at most `short_prompt_max_turns` exchanges (FastChat:
   `len(messages) <= 2`, one exchange) and every user prompt, lowercased and stripped,
   shorter than `short_prompt_max_chars` (16) characters.
2. `frequent_prompt`: FastChat's release rule: on either side every user prompt
   (lowercased, stripped) is among the `frequent_prompt_top_k` (10) most frequent user
   prompts of the frame, or empty. Ties in frequency go to the prompt seen first in
   source order (split, source_file, source_row), as Python's stable sort did there.
   The top k is absolute: on a small frame it takes most prompts.
3. `frequent_prompt_cap`: deduplication.py's rule, percentile `frequent_prompt_cap_percentile`
   (0.9999). The copies kept are chosen by sha256(seed:comparison_id) instead of pandas'
   sampler: as deterministic, and independent of row order.
4. `blocked_word`: a lowercased message on either side contains one of `blocked_words`
   (default none: FastChat's list is not public).
5. `blocked_model`: model_a or model_b in `blocked_models` (default FastChat's two).
6. `moderation_flagged`: the OpenAI moderation verdict is flagged (with
   `moderation_categories` set: one of those categories is flagged).
7. `toxic_chat_flagged`: with no threshold set, the publisher's own flags (either of its
   roberta-large and t5-large classifiers); with a threshold for a classifier, that
   classifier's score >= the threshold (a classifier without a threshold is not used).
   LMSYS did not publish the thresholds behind its `flagged` values.

Frequency policies count over the frame given: pass the whole dataset, not a batch.
A missing tag (null) never matches.

Default set: `short_prompt`, `moderation_flagged`, `toxic_chat_flagged`.
- moderation_flagged and toxic_chat_flagged: gold's pairs are training data, and the card
  asks for "appropriate filtering" before training; these are the publisher's own tags.
- short_prompt: FastChat's release rule; a greeting says little about which answer is
  better. (On the released 33k it finds nothing: the rule ran before release.)
- Off: frequent_prompt and frequent_prompt_cap (already applied upstream to the larger
  pool; re-run on the 33k they would remove a different set, and every vote on a frequent
  prompt is still a distinct comparison of two models); blocked_model (FastChat's models
  are absent from the release; which models to block is the user's choice); blocked_word
  (no list).
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

POLICY_ORDER = (
    "short_prompt",
    "frequent_prompt",
    "frequent_prompt_cap",
    "blocked_word",
    "blocked_model",
    "moderation_flagged",
    "toxic_chat_flagged",
)
DEFAULT_POLICIES = ("short_prompt", "moderation_flagged", "toxic_chat_flagged")
SIDES = ("conversation_a", "conversation_b")
READ_COLUMNS = (
    *SIDES,
    "model_a",
    "model_b",
    "moderation_flagged",
    "moderation_categories",
    "toxic_chat_flagged",
    "toxic_chat_roberta_probability",
    "toxic_chat_t5_score",
    "comparison_id",
    "split",
    "source_file",
    "source_row",
)
"""The columns the rules read: only these are turned into Python rows."""


@dataclass(frozen=True)
class ArenaFilterSettings:
    """Every policy's setting; the defaults are FastChat's where it had one."""

    short_prompt_max_chars: int = 16
    short_prompt_max_turns: int = 1
    frequent_prompt_top_k: int = 10
    frequent_prompt_cap_percentile: float = 0.9999
    frequent_prompt_cap_seed: int = 42
    blocked_words: tuple[str, ...] = ()
    blocked_models: tuple[str, ...] = ("vicuna-33b", "mpt-30b-chat")
    moderation_categories: tuple[str, ...] | None = None
    toxic_chat_roberta_threshold: float | None = None
    toxic_chat_t5_threshold: float | None = None


def filter_arena(
    comparisons: pl.DataFrame,
    policies: Sequence[str] = DEFAULT_POLICIES,
    settings: ArenaFilterSettings | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, Counter[str]]:
    """Arena votes (silver comparisons rows) through the enabled policies.

    Returns (kept rows, filtered rows with a `filter_reason` column, how many rows each
    reason filtered). Both frames keep the input's columns and row order."""
    unknown = [p for p in policies if p not in POLICY_ORDER]
    if unknown:
        raise ValueError(f"unknown Arena filter {unknown[0]!r}; choose from {POLICY_ORDER}")
    settings = settings or ArenaFilterSettings()
    enabled = [p for p in POLICY_ORDER if p in policies]
    rows = comparisons.select(c for c in READ_COLUMNS if c in comparisons.columns).to_dicts()
    order = source_order(comparisons)
    frequent = (
        most_frequent_prompts(rows, order, settings.frequent_prompt_top_k)
        if "frequent_prompt" in enabled
        else set()
    )
    capped = (
        capped_copies(
            rows,
            settings.frequent_prompt_cap_percentile,
            settings.frequent_prompt_cap_seed,
        )
        if "frequent_prompt_cap" in enabled
        else set()
    )

    def matches(policy: str, index: int, row: Mapping[str, Any]) -> bool:
        if policy == "frequent_prompt":
            return is_frequent_prompt(row, frequent)
        if policy == "frequent_prompt_cap":
            return index in capped
        return RULES[policy](row, settings)

    reasons = [next((p for p in enabled if matches(p, i, row)), None) for i, row in enumerate(rows)]
    marked = comparisons.with_columns(pl.Series("filter_reason", reasons, dtype=pl.String))
    kept = marked.filter(pl.col("filter_reason").is_null()).drop("filter_reason")
    filtered = marked.filter(pl.col("filter_reason").is_not_null())
    return kept, filtered, Counter(r for r in reasons if r is not None)


# --- the rules -------------------------------------------------------------------------


def user_prompts(messages: Sequence[Mapping[str, str]] | None) -> list[str]:
    """A side's user turns as FastChat compared them: lowercased, stripped."""
    return [m["content"].lower().strip() for m in messages or [] if m["role"] == "user"]


def is_short_prompt(row: Mapping[str, Any], settings: ArenaFilterSettings) -> bool:
    for side in SIDES:
        messages = row[side] or []
        if len(messages) <= 2 * settings.short_prompt_max_turns and all(
            len(p) < settings.short_prompt_max_chars for p in user_prompts(messages)
        ):
            return True
    return False


def most_frequent_prompts(rows: Sequence[Mapping[str, Any]], order: Sequence[int], k: int) -> set:
    """FastChat's frequent prompts: the k most frequent user prompts over both sides of
    every row (ties: first seen in source order), and the empty prompt."""
    frequency: Counter[str] = Counter()
    for index in order:
        for side in SIDES:
            frequency.update(user_prompts(rows[index][side]))
    ranked = sorted(frequency, key=lambda prompt: -frequency[prompt])  # stable: first seen
    return {*ranked[:k], ""}


def is_frequent_prompt(row: Mapping[str, Any], frequent: set) -> bool:
    return any(all(p in frequent for p in user_prompts(row[side])) for side in SIDES)


def dedup_key(row: Mapping[str, Any]) -> str:
    """deduplication.py's key: conversation_a's user turns, each + "\\n", first 10,000 chars."""
    turns = row["conversation_a"] or []
    return "".join(f"{m['content']}\n" for m in turns if m["role"] == "user")[:10000]


def linear_quantile(values: Sequence[float], q: float) -> float:
    """The q-quantile with linear interpolation (numpy's and pandas' default)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (position - low) * (ordered[high] - ordered[low])


def capped_copies(rows: Sequence[Mapping[str, Any]], percentile: float, seed: int) -> set[int]:
    """Indices of the rows deduplication.py would tag `sampled: False`: copies of a key seen
    more than the cutoff count, beyond the int(cutoff) kept."""
    if not rows:
        return set()
    groups: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        groups.setdefault(dedup_key(row), []).append(index)
    cutoff = linear_quantile([len(g) for g in groups.values()], percentile)
    capped: set[int] = set()
    for indices in groups.values():
        if len(indices) > cutoff:
            ranked = sorted(indices, key=lambda i: (_draw(seed, rows[i]), *_position(rows[i])))
            capped.update(ranked[int(cutoff) :])
    return capped


def is_blocked_word(row: Mapping[str, Any], settings: ArenaFilterSettings) -> bool:
    words = [w.lower() for w in settings.blocked_words]
    return any(w in m["content"].lower() for side in SIDES for m in row[side] or [] for w in words)


def is_blocked_model(row: Mapping[str, Any], settings: ArenaFilterSettings) -> bool:
    return row["model_a"] in settings.blocked_models or row["model_b"] in settings.blocked_models


def is_moderation_flagged(row: Mapping[str, Any], settings: ArenaFilterSettings) -> bool:
    if settings.moderation_categories is None:
        return row["moderation_flagged"] is True
    return bool(set(row["moderation_categories"] or []) & set(settings.moderation_categories))


def is_toxic_chat_flagged(row: Mapping[str, Any], settings: ArenaFilterSettings) -> bool:
    thresholds = {
        "toxic_chat_roberta_probability": settings.toxic_chat_roberta_threshold,
        "toxic_chat_t5_score": settings.toxic_chat_t5_threshold,
    }
    if all(t is None for t in thresholds.values()):
        return row["toxic_chat_flagged"] is True
    return any(
        threshold is not None and row[column] is not None and row[column] >= threshold
        for column, threshold in thresholds.items()
    )


RULES = {
    "short_prompt": is_short_prompt,
    "blocked_word": is_blocked_word,
    "blocked_model": is_blocked_model,
    "moderation_flagged": is_moderation_flagged,
    "toxic_chat_flagged": is_toxic_chat_flagged,
}


def source_order(frame: pl.DataFrame) -> list[int]:
    """Row indices in source order (split, source_file, source_row)."""
    return (
        frame.select("split", "source_file", "source_row")
        .with_row_index("__index")
        .sort("split", "source_file", "source_row", "__index", nulls_last=True)["__index"]
        .to_list()
    )


def _draw(seed: int, row: Mapping[str, Any]) -> str:
    return hashlib.sha256(f"{seed}:{row['comparison_id']}".encode()).hexdigest()


def _position(row: Mapping[str, Any]) -> tuple:
    return (row["split"] or "", row["source_file"] or "", row["source_row"] or 0)
