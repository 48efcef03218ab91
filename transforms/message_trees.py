"""OpenAssistant message trees (oasst1): one bronze row per message, turned into the
best-ranked dialogue of each tree (silver/dialogues) and one ranked comparison per prompter
message with several ranked replies (silver/comparisons).

Both follow Open-Assistant's own loader, `load_oasst_export` in
LAION-AI/Open-Assistant model/model_training/custom_datasets/oasst_dataset.py:

- `mode="sft", top_k=1` (:func:`tree_dialogues`): trees whose root prompt passed review;
  threads with no deleted or synthetic message; at every step the reply ranked 0, or an
  only reply left unranked; a trailing prompter message dropped; no thread without an
  assistant reply. Here: one thread per tree, the one that takes the rank-0 child at every
  step (prompter follow-ups are ranked among their siblings too).
- `mode="rm"` (:func:`tree_comparisons`): every prefix from the root to a prompter message
  (no deleted or synthetic message on it) whose ranked replies are two or more, the
  replies ordered by rank (0 = best). Here deleted and synthetic replies are left out too.

The whole split comes at once (a tree's messages are all in it). Each bronze row ends in
exactly one place, so that rows in = silver rows + quarantined + merged:

- quarantine (reason): `deleted_message` (a deleted message), `broken_tree` (its parent
  is not in the split, it descends from such a message or from a cycle, its tree has no
  root, its `message_tree_id` is not its root's, or its `message_id` repeats an earlier
  row's), `prompt_not_reviewed` (a root whose review_result is not true), `no_reply` (a
  root with no usable assistant reply, or a synthetic root);
- the silver row itself: a dialogue is the root's row; a comparison is its prompter
  message's row;
- merged (`Stage.merged`): dialogues count `merged_into_thread` (the other messages of the
  chosen thread) and `not_on_best_path` (every other live message, synthetic ones
  included); comparisons count `merged_into_comparison` (replies and ancestors a
  comparison uses) and `not_ranked` (the rest).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from transforms.catalogue import DatasetSpec, author_of
from transforms.cleaning import MESSAGES
from transforms.comparisons import ASPECTS, comparison_id
from transforms.records import normalise_text
from transforms.silver_rows import LINEAGE, Stage, comparison_stage, lineage_of, rejected_rows

ROLES = {"prompter": "user", "assistant": "assistant"}
TEXT_FIELD = "text"
PAYLOAD = [
    "message_id",
    "parent_id",
    "message_tree_id",
    "role",
    "lang",
    "text",
    "review_result",
    "deleted",
    "synthetic",
    "rank",
]
"""The source columns a quarantined message keeps (its payload)."""

DELETED = "deleted_message"
BROKEN = "broken_tree"
NOT_REVIEWED = "prompt_not_reviewed"
NO_REPLY = "no_reply"
IN_THREAD = "merged_into_thread"
OFF_PATH = "not_on_best_path"
IN_COMPARISON = "merged_into_comparison"
NOT_RANKED = "not_ranked"

Record = dict[str, Any]


@dataclass
class _Forest:
    """One split's messages, linked: each bronze row's record and what became of it."""

    records: list[Record]
    children: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    roots: list[int] = field(default_factory=list)
    """Roots of sound trees, reviewed or not, in source order."""
    verdicts: dict[int, tuple[str, str]] = field(default_factory=dict)
    """Row index -> (quarantine reason, detail)."""


def _forest(bronze: pl.DataFrame) -> _Forest:
    """Link the messages of every split by parent; quarantine deleted messages and every
    message that no sound root reaches."""
    forest = _Forest(list(_linked_columns(bronze).iter_rows(named=True)))
    by_split: dict[Any, list[int]] = defaultdict(list)
    for index, record in enumerate(forest.records):
        by_split[record["split"]].append(index)
    for indices in by_split.values():
        _link_split(forest, indices)
    return forest


def _linked_columns(bronze: pl.DataFrame) -> pl.DataFrame:
    """The columns the shapes read (reading every struct column row by row is slow)."""
    used = [*LINEAGE, "license", *PAYLOAD, "created_date"]
    return bronze.select(c for c in dict.fromkeys(used) if c in bronze.columns)


def _position(record: Mapping[str, Any]) -> tuple[str, int]:
    return (record["source_file"] or "", record["source_row"] or 0)


def _link_split(forest: _Forest, indices: list[int]) -> None:
    records = forest.records
    by_id: dict[str, int] = {}
    duplicates: set[int] = set()
    for index in sorted(indices, key=lambda i: _position(records[i])):
        message_id = records[index]["message_id"]
        if message_id in by_id:
            duplicates.add(index)
        else:
            by_id[message_id] = index

    # Walk up from every message to its root, the tree id the same all the way; remember
    # each message's root, or the defect that leaves it without one.
    resolved: dict[int, tuple[int | None, str]] = {}

    def resolve(start: int) -> tuple[int | None, str]:
        chain, seen, current = [], set(), start
        outcome: tuple[int | None, str]
        while True:
            if current in resolved:
                outcome = resolved[current]
                break
            if current in seen:
                outcome = (None, f"cycle through {records[current]['message_id']}")
                break
            seen.add(current)
            chain.append(current)
            parent_id = records[current]["parent_id"]
            if parent_id is None:
                own = records[current]
                if own["message_tree_id"] != own["message_id"]:
                    outcome = (
                        None,
                        f"root {own['message_id']} names tree {own['message_tree_id']}",
                    )
                else:
                    outcome = (current, "")
                break
            if parent_id not in by_id:
                outcome = (
                    None,
                    f"parent {parent_id} of {records[current]['message_id']} is not in the split",
                )
                break
            parent = by_id[parent_id]
            if records[parent]["message_tree_id"] != records[current]["message_tree_id"]:
                outcome = (
                    None,
                    f"{records[current]['message_id']} names tree "
                    f"{records[current]['message_tree_id']}, its parent "
                    f"{records[parent]['message_tree_id']}",
                )
                break
            current = parent
        for member in chain:
            resolved[member] = outcome
        return outcome

    roots_with_messages: set[str] = {
        records[i]["message_id"] for i in by_id.values() if records[i]["parent_id"] is None
    }
    for index in sorted(indices, key=lambda i: _position(records[i])):
        record = records[index]
        if record["deleted"]:
            forest.verdicts[index] = (DELETED, "deleted")
            continue
        if index in duplicates:
            forest.verdicts[index] = (BROKEN, f"message_id {record['message_id']} repeats")
            continue
        root, defect = resolve(index)
        if root is None:
            if record["message_tree_id"] not in roots_with_messages:
                defect = f"tree {record['message_tree_id']} has no root in the split; {defect}"
            forest.verdicts[index] = (BROKEN, defect)
        elif record["parent_id"] is None:
            forest.roots.append(index)
        else:
            forest.children[by_id[record["parent_id"]]].append(index)


def _live(record: Mapping[str, Any]) -> bool:
    """A message a thread may pass through: neither deleted nor synthetic."""
    return not record["deleted"] and not record["synthetic"]


def _sibling_order(record: Mapping[str, Any]) -> tuple[bool, int, str, str]:
    rank = record["rank"]
    return (rank is None, rank or 0, record["created_date"] or "", record["message_id"])


def _root_verdict(forest: _Forest, root: int) -> tuple[str, str] | None:
    """Why a sound tree's root yields nothing at all, if it does not."""
    record = forest.records[root]
    if record["review_result"] is not True:
        return NOT_REVIEWED, f"review_result is {record['review_result']}"
    if record["synthetic"]:
        return NO_REPLY, "root prompt is synthetic"
    return None


def _best_child(forest: _Forest, parent: int) -> int | None:
    """The reply a top-1 thread continues with: the live one ranked 0, or the only reply
    (deleted ones aside) when it is unranked."""
    records = forest.records
    candidates = [c for c in forest.children.get(parent, []) if not records[c]["deleted"]]
    if len(candidates) == 1 and records[candidates[0]]["rank"] is None:
        chosen = candidates[0]
    else:
        best = sorted(
            (c for c in candidates if records[c]["rank"] == 0),
            key=lambda c: _sibling_order(records[c]),
        )
        chosen = best[0] if best else None
    return chosen if chosen is not None and _live(records[chosen]) else None


def _best_thread(forest: _Forest, root: int) -> list[int]:
    thread = [root]
    while (child := _best_child(forest, thread[-1])) is not None:
        thread.append(child)
    while thread and forest.records[thread[-1]]["role"] == "prompter":
        thread.pop()
    return thread


def _message(record: Mapping[str, Any], *, normalise: bool) -> dict[str, str]:
    text = record[TEXT_FIELD]
    role = record["role"]
    return {
        "role": ROLES.get(role, role),
        "content": normalise_text(text) if normalise and text is not None else text,
    }


def tree_dialogues(bronze: pl.DataFrame, spec: DatasetSpec) -> Stage:
    """One dialogue per tree: its best-ranked thread (`load_oasst_export(mode="sft",
    top_k=1)`), with the root's lineage; texts as published (silver's cleaning follows)."""
    forest = _forest(bronze)
    records = forest.records
    rows: list[Record] = []
    merged: Counter[str] = Counter()
    accounted: set[int] = set(forest.verdicts)
    for root in forest.roots:
        verdict = _root_verdict(forest, root)
        thread = [] if verdict else _best_thread(forest, root)
        if not verdict and not any(records[i]["role"] == "assistant" for i in thread):
            verdict = (NO_REPLY, "no live reply ranked 0 (or unranked only reply)")
        if verdict:
            forest.verdicts[root] = verdict
            accounted.add(root)
            continue
        record = records[root]
        rows.append(
            {
                **lineage_of(record),
                "license": record["license"],
                "source_id": record["message_tree_id"],
                "messages": [_message(records[i], normalise=False) for i in thread],
                "user_written_by": author_of(spec.field_author(TEXT_FIELD, "user"), record),
                "reply_written_by": author_of(spec.field_author(TEXT_FIELD, "assistant"), record),
            }
        )
        accounted.add(root)
        merged[IN_THREAD] += len(thread) - 1
        accounted.update(thread)
    merged[OFF_PATH] += len(records) - len(accounted)
    frame = pl.DataFrame(
        rows,
        schema={
            **{c: bronze.schema[c] for c in LINEAGE},
            "license": pl.String,
            "source_id": pl.String,
            "messages": MESSAGES,
            "user_written_by": pl.String,
            "reply_written_by": pl.String,
        },
        orient="row",
    )
    rejected = _rejected(bronze, forest)
    counts = Counter(f"quarantined_{r}" for r in rejected["reason"].to_list())
    return Stage(
        frame,
        rejected_rows(rejected, "silver/dialogues", _payload(bronze)),
        counts,
        +merged,
    )


def tree_comparisons(bronze: pl.DataFrame, spec: DatasetSpec) -> Stage:
    """One comparison per prompter message with two or more live ranked assistant replies
    (`load_oasst_export(mode="rm")`): the prompt is the live thread from the root to it, the
    completions its replies in rank order (each keeps its `rank`; 0 = best)."""
    forest = _forest(bronze)
    records = forest.records
    rows: list[Record] = []
    heads: set[int] = set()
    used: set[int] = set()
    for root in forest.roots:
        verdict = _root_verdict(forest, root)
        if verdict is None and not any(
            _live(records[c]) and records[c]["role"] == "assistant"
            for c in forest.children.get(root, [])
        ):
            verdict = (NO_REPLY, "no live assistant reply")
        if verdict:
            forest.verdicts[root] = verdict
            continue
        for thread in _live_prompter_threads(forest, root):
            head = thread[-1]
            replies = sorted(
                (
                    c
                    for c in forest.children.get(head, [])
                    if _live(records[c])
                    and records[c]["role"] == "assistant"
                    and records[c]["rank"] is not None
                ),
                key=lambda c: _sibling_order(records[c]),
            )
            if len(replies) < 2:
                continue
            rows.append(_comparison_row(records, thread, replies, spec))
            heads.add(head)
            used.update(thread[:-1])
            used.update(replies)
    rows.sort(key=lambda r: (r["split"], r["source_file"], r["source_row"]))
    merged: Counter[str] = Counter()
    merged[IN_COMPARISON] = len(used - heads)
    merged[NOT_RANKED] = len(records) - len(forest.verdicts) - len(heads) - merged[IN_COMPARISON]
    rejected = [
        {**records[i], "reason": reason, "detail": detail}
        for i, (reason, detail) in sorted(forest.verdicts.items())
    ]
    stage = comparison_stage(rows, rejected, _linked_columns(bronze), _payload(bronze))
    stage.merged = +merged
    return stage


def _live_prompter_threads(forest: _Forest, root: int) -> list[list[int]]:
    """Every thread from the root (depth first, siblings in rank order) that ends on a
    prompter message and passes through live messages only."""
    records = forest.records
    threads: list[list[int]] = []
    stack: list[list[int]] = [[root]]
    while stack:
        thread = stack.pop()
        if records[thread[-1]]["role"] == "prompter":
            threads.append(thread)
        children = sorted(
            (c for c in forest.children.get(thread[-1], []) if _live(records[c])),
            key=lambda c: _sibling_order(records[c]),
        )
        stack.extend([*thread, c] for c in reversed(children))
    return threads


def _comparison_row(
    records: list[Record], thread: list[int], replies: list[int], spec: DatasetSpec
) -> Record:
    head = records[thread[-1]]
    prompt = [_message(records[i], normalise=True) for i in thread]
    completions = [
        {
            "model": None,
            "principle": None,
            "custom_system_prompt": None,
            "response": normalise_text(records[c][TEXT_FIELD] or ""),
            "critique": None,
            "overall_score": None,
            "fine_grained_score": None,
            "ratings": dict.fromkeys(ASPECTS),
            "rank": records[c]["rank"],
        }
        for c in replies
    ]
    responses = [c["response"] for c in completions]
    return {
        **lineage_of(head),
        "source_id": head["message_id"],
        "comparison_id": comparison_id({"prompt": prompt, "responses": responses}),
        "prompt": prompt,
        "completions": completions,
        "prompt_source": None,
        "prompt_written_by": author_of(spec.field_author(TEXT_FIELD, "user"), head),
        "reply_written_by": author_of(spec.field_author(TEXT_FIELD, "assistant"), head),
        "license": head["license"],
        "prompt_license": spec.field_license(TEXT_FIELD),
        "response_license": spec.field_license(TEXT_FIELD),
    }


def _payload(bronze: pl.DataFrame) -> list[str]:
    return [c for c in PAYLOAD if c in bronze.columns]


def _rejected(bronze: pl.DataFrame, forest: _Forest) -> pl.DataFrame:
    """The quarantined bronze rows, in source order, with their reason and detail."""
    indices = sorted(forest.verdicts)
    return bronze[indices].with_columns(
        reason=pl.Series([forest.verdicts[i][0] for i in indices], dtype=pl.String),
        detail=pl.Series([forest.verdicts[i][1] for i in indices], dtype=pl.String),
    )
