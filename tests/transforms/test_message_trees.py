"""OASST message trees: the best-ranked thread of each tree (dialogues) and the ranked
replies under each prompter message (comparisons), every bronze row accounted for."""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import polars as pl
import pytest

from tests.specs import train_file_spec
from transforms.comparisons import comparison_id
from transforms.message_trees import tree_comparisons, tree_dialogues
from transforms.silver_rows import COMPARISON_SCHEMA, LINEAGE, SILVER_QUARANTINE_SCHEMA, Stage

SPEC = train_file_spec(
    "oasst1",
    "OpenAssistant/oasst1@fdf72ae0827c1cda404aff25b6603abec9e3399b/data/train-*.parquet",
    license={"*": "Apache-2.0"},
    schema={"message_id": "string", "text": "string"},
    required=("message_id", "message_tree_id", "text", "role"),
    shape="message_trees",
    authors={"*": "person"},
)
BRONZE_SCHEMA = {
    "message_id": pl.String,
    "parent_id": pl.String,
    "user_id": pl.String,
    "created_date": pl.String,
    "text": pl.String,
    "role": pl.String,
    "lang": pl.String,
    "review_count": pl.Int64,
    "review_result": pl.Boolean,
    "deleted": pl.Boolean,
    "rank": pl.Int64,
    "synthetic": pl.Boolean,
    "model_name": pl.String,
    "message_tree_id": pl.String,
    "tree_state": pl.String,
    "dataset": pl.String,
    "split": pl.String,
    "source_file": pl.String,
    "source_row": pl.Int64,
    "ingested_at": pl.Datetime("us", "UTC"),
    "license": pl.String,
}
INGESTED = datetime(2024, 1, 1, tzinfo=UTC)


def msg(
    message_id: str,
    parent: str | None,
    role: str,
    text: str,
    rank: int | None = None,
    *,
    tree: str | None = None,
    **flags: Any,
) -> dict[str, Any]:
    """One oasst1 message; its tree is its id's first letter-run before the first dot."""
    return {
        "message_id": message_id,
        "parent_id": parent,
        "role": role,
        "text": text,
        "rank": rank,
        "message_tree_id": tree or message_id.split(".")[0],
        **flags,
    }


def bronze(*messages: dict[str, Any], split: str = "train") -> pl.DataFrame:
    rows = []
    for row, message in enumerate(messages):
        rows.append(
            {
                "user_id": f"user-{row}",
                "created_date": f"2023-02-05T10:{row:02d}:00.000000+00:00",
                "lang": "en",
                "review_count": 3,
                "review_result": True,
                "deleted": False,
                "synthetic": False,
                "model_name": None,
                "tree_state": "ready_for_export",
                "dataset": "oasst1",
                "split": split,
                "source_file": f"OpenAssistant/oasst1@rev/data/{split}.parquet",
                "source_row": row,
                "ingested_at": INGESTED,
                "license": "Apache-2.0",
                **message,
            }
        )
    return pl.DataFrame(rows, schema=BRONZE_SCHEMA, orient="row")


def check_accounting(frame: pl.DataFrame, stage: Stage) -> None:
    """Rows in = silver rows + quarantined + merged, and no bronze row is used twice as a
    silver row's own or as a quarantined one."""
    assert frame.height == stage.rows.height + stage.rejected.height + sum(stage.merged.values())
    kept = stage.rows.select("split", "source_file", "source_row").rows()
    rejected = stage.rejected.select("split", "source_file", "source_row").rows()
    assert len(set(kept)) == len(kept)
    assert len(set(rejected)) == len(rejected)
    assert not set(kept) & set(rejected)
    assert all(v > 0 for v in stage.merged.values())


def shapes(frame: pl.DataFrame) -> tuple[Stage, Stage]:
    dialogues, comparisons = tree_dialogues(frame, SPEC), tree_comparisons(frame, SPEC)
    check_accounting(frame, dialogues)
    check_accounting(frame, comparisons)
    return dialogues, comparisons


def reasons(stage: Stage) -> dict[str, list[str]]:
    """Quarantine reason -> the quarantined message ids."""
    out: dict[str, list[str]] = {}
    for row in stage.rejected.iter_rows(named=True):
        out.setdefault(row["reason"], []).append(json.loads(row["payload"])["message_id"])
    return out


def thread(stage: Stage, source_id: str) -> list[tuple[str, str]]:
    row = stage.rows.filter(pl.col("source_id") == source_id).row(0, named=True)
    return [(m["role"], m["content"]) for m in row["messages"]]


FULL_TREE = [
    msg("t1", None, "prompter", "How do tides work?"),
    msg("t1.a0", "t1", "assistant", "The Moon's gravity pulls the oceans.", 0),
    msg("t1.a1", "t1", "assistant", "Wind.", 1),
    msg("t1.p0", "t1.a0", "prompter", "Why two tides a day?", 0),
    msg("t1.p1", "t1.a0", "prompter", "And the Sun?", 1),
    msg("t1.b0", "t1.p0", "assistant", "Earth is stretched on both sides.", 0),
    msg("t1.b1", "t1.p0", "assistant", "Because the Moon circles twice.", 1),
]


# --- dialogues -------------------------------------------------------------------------


def test_a_full_tree_gives_its_best_ranked_thread_with_the_roots_lineage():
    frame = bronze(*FULL_TREE)
    dialogues, _ = shapes(frame)
    assert dialogues.rows.columns == [
        *LINEAGE,
        "license",
        "source_id",
        "messages",
        "user_written_by",
        "reply_written_by",
    ]
    row = dialogues.rows.row(0, named=True)
    assert dialogues.rows.height == 1
    assert row["source_id"] == "t1" and row["source_row"] == 0
    assert row["license"] == "Apache-2.0" and row["user_written_by"] == "person"
    assert row["reply_written_by"] == "person"  # volunteers wrote the replies too
    assert thread(dialogues, "t1") == [
        ("user", "How do tides work?"),
        ("assistant", "The Moon's gravity pulls the oceans."),
        ("user", "Why two tides a day?"),
        ("assistant", "Earth is stretched on both sides."),
    ]
    assert dialogues.rejected.height == 0
    assert dialogues.merged == {"merged_into_thread": 3, "not_on_best_path": 3}


def test_a_trailing_prompter_message_is_dropped_from_the_thread():
    frame = bronze(
        msg("t2", None, "prompter", "Name a prime."),
        msg("t2.a", "t2", "assistant", "Seven.", 0),
        msg("t2.b", "t2", "assistant", "Nine.", 1),
        msg("t2.p", "t2.a", "prompter", "Another one?"),
    )
    dialogues, _ = shapes(frame)
    assert thread(dialogues, "t2") == [("user", "Name a prime."), ("assistant", "Seven.")]
    assert dialogues.merged == {"merged_into_thread": 1, "not_on_best_path": 2}


def test_null_ranks_are_followed_only_for_an_only_child():
    frame = bronze(
        msg("t3", None, "prompter", "Hi"),
        msg("t3.a", "t3", "assistant", "Hello!"),
        msg("t3.p", "t3.a", "prompter", "Tell me a joke."),
        msg("t3.b", "t3.p", "assistant", "Why did the chicken cross the road?"),
        # two unranked replies: neither is the best, so the thread has no reply
        msg("t4", None, "prompter", "Hola"),
        msg("t4.a", "t4", "assistant", "¡Hola!"),
        msg("t4.b", "t4", "assistant", "Buenas."),
    )
    dialogues, comparisons = shapes(frame)
    assert len(thread(dialogues, "t3")) == 4
    assert reasons(dialogues) == {"no_reply": ["t4"]}
    assert dialogues.merged == {"merged_into_thread": 3, "not_on_best_path": 2}
    assert comparisons.rows.height == 0  # no ranked replies anywhere
    assert comparisons.merged == {"not_ranked": 7}


def test_a_deleted_reply_is_quarantined_and_never_followed():
    frame = bronze(
        msg("t5", None, "prompter", "Best pizza topping?"),
        msg("t5.d", "t5", "assistant", "spam spam spam", 0, deleted=True),
        msg("t5.a", "t5", "assistant", "Mushrooms.", 1),
        msg("t6", None, "prompter", "Capital of France?"),
        msg("t6.d", "t6", "assistant", "asdf", deleted=True),
        msg("t6.a", "t6", "assistant", "Paris."),
    )
    dialogues, comparisons = shapes(frame)
    # t5: the reply ranked 0 is deleted, and a rank-1 reply is never the best
    assert reasons(dialogues) == {
        "deleted_message": ["t5.d", "t6.d"],
        "no_reply": ["t5"],
    }
    # t6: with the deleted reply aside, the unranked one is the only child
    assert thread(dialogues, "t6") == [("user", "Capital of France?"), ("assistant", "Paris.")]
    assert dialogues.merged == {"merged_into_thread": 1, "not_on_best_path": 1}
    rejected = dialogues.rejected.filter(pl.col("reason") == "deleted_message")
    assert rejected["table"].unique().to_list() == ["silver/dialogues"]
    assert rejected.schema == SILVER_QUARANTINE_SCHEMA
    assert '"text": "spam spam spam"' in rejected["payload"][0]
    # comparisons: one live ranked reply under t5 is not a comparison
    assert comparisons.rows.height == 0
    assert reasons(comparisons) == {"deleted_message": ["t5.d", "t6.d"]}
    assert comparisons.merged == {"not_ranked": 4}


def test_an_unreviewed_root_quarantines_the_prompt_and_leaves_its_tree_out():
    frame = bronze(
        msg("t7", None, "prompter", "Write a poem.", review_result=False),
        msg("t7.a", "t7", "assistant", "Roses are red.", 0),
        msg("t7.b", "t7", "assistant", "No.", 1),
        msg("t8", None, "prompter", "Write a haiku.", review_result=None),
        msg("t8.a", "t8", "assistant", "An old silent pond.", 0),
    )
    dialogues, comparisons = shapes(frame)
    for stage in (dialogues, comparisons):
        assert stage.rows.height == 0
        assert reasons(stage) == {"prompt_not_reviewed": ["t7", "t8"]}
    assert dialogues.merged == {"not_on_best_path": 3}
    assert comparisons.merged == {"not_ranked": 3}
    assert comparisons.counts == {"quarantined_prompt_not_reviewed": 2}


def test_orphans_rootless_trees_and_cycles_are_broken_trees():
    frame = bronze(
        *FULL_TREE,
        msg("t1.o", "t1.gone", "assistant", "An orphan reply.", 0),
        msg("t1.o2", "t1.o", "prompter", "A follow-up to the orphan."),
        msg("t9.a", "t9", "assistant", "A reply whose tree has no root.", 0),
        msg("cy.a", "cy.b", "assistant", "One.", tree="cy"),
        msg("cy.b", "cy.a", "prompter", "Two.", tree="cy"),
        msg("t1.x", "t1.a1", "prompter", "Filed under another tree.", tree="t8"),
        msg("t1.a1", "t1", "assistant", "A second copy of a message.", 1),
    )
    dialogues, comparisons = shapes(frame)
    for stage in (dialogues, comparisons):
        assert reasons(stage) == {
            "broken_tree": ["t1.o", "t1.o2", "t9.a", "cy.a", "cy.b", "t1.x", "t1.a1"]
        }
        details = stage.rejected["detail"].to_list()
        assert "parent t1.gone of t1.o is not in the split" in details[0]
        assert details[1] == details[0]  # a descendant of the orphan
        assert details[2].startswith("tree t9 has no root in the split")
        assert "cycle" in details[3] and "cycle" in details[4]
        assert "names tree t8" in details[5]
        assert details[6] == "message_id t1.a1 repeats"
    assert thread(dialogues, "t1")[-1] == ("assistant", "Earth is stretched on both sides.")
    assert comparisons.rows.height == 2


def test_a_parent_in_another_split_is_not_in_the_split():
    frame = pl.concat(
        [
            bronze(msg("s1", None, "prompter", "Q"), msg("s1.a", "s1", "assistant", "A")),
            bronze(msg("s1.b", "s1", "assistant", "B"), split="validation"),
        ]
    )
    dialogues, _ = shapes(frame)
    assert dialogues.rows["split"].to_list() == ["train"]
    assert reasons(dialogues) == {"broken_tree": ["s1.b"]}


def test_synthetic_messages_are_never_on_a_thread_nor_a_completion():
    frame = bronze(
        msg("u1", None, "prompter", "Recommend a book."),
        msg("u1.a", "u1", "assistant", "Dune.", 0),
        msg("u1.s", "u1", "assistant", "Model-written answer.", 1, synthetic=True),
        msg("u1.c", "u1", "assistant", "Emma.", 2),
        # the reply ranked 0 is synthetic: no thread
        msg("u2", None, "prompter", "Recommend a film."),
        msg("u2.s", "u2", "assistant", "Model-written answer.", 0, synthetic=True),
        msg("u2.a", "u2", "assistant", "Alien.", 1),
        # a synthetic prompt
        msg("u3", None, "prompter", "Model-written prompt.", synthetic=True),
        msg("u3.a", "u3", "assistant", "Reply.", 0),
        msg("u3.b", "u3", "assistant", "Other reply.", 1),
    )
    dialogues, comparisons = shapes(frame)
    assert thread(dialogues, "u1") == [("user", "Recommend a book."), ("assistant", "Dune.")]
    assert reasons(dialogues) == {"no_reply": ["u2", "u3"]}
    assert dialogues.merged == {"merged_into_thread": 1, "not_on_best_path": 6}
    completions = comparisons.rows.row(0, named=True)["completions"]
    assert comparisons.rows["source_id"].to_list() == ["u1"]
    assert [(c["response"], c["rank"]) for c in completions] == [("Dune.", 0), ("Emma.", 2)]
    assert reasons(comparisons) == {"no_reply": ["u3"]}
    # u2 has one live ranked reply: no comparison, but its root is fine
    assert comparisons.merged == {"merged_into_comparison": 2, "not_ranked": 6}


# --- comparisons -----------------------------------------------------------------------


def test_each_prompter_message_with_ranked_replies_is_a_comparison():
    frame = bronze(*FULL_TREE)
    _, comparisons = shapes(frame)
    rows = comparisons.rows.sort("source_row").to_dicts()
    assert comparisons.rows.schema == pl.Schema(
        {**COMPARISON_SCHEMA, "content_hash": pl.String, "license_class": pl.String}
    )
    assert [r["source_id"] for r in rows] == ["t1", "t1.p0"]
    assert [r["source_row"] for r in rows] == [0, 3]  # the prompter message's lineage
    first, second = rows
    assert first["prompt"] == [{"role": "user", "content": "How do tides work?"}]
    assert second["prompt"] == [
        {"role": "user", "content": "How do tides work?"},
        {"role": "assistant", "content": "The Moon's gravity pulls the oceans."},
        {"role": "user", "content": "Why two tides a day?"},
    ]
    completion = second["completions"][0]
    assert completion == {
        "model": None,
        "principle": None,
        "custom_system_prompt": None,
        "response": "Earth is stretched on both sides.",
        "critique": None,
        "overall_score": None,
        "fine_grained_score": None,
        "ratings": dict.fromkeys(
            ("helpfulness", "honesty", "instruction_following", "truthfulness")
        ),
        "rank": 0,
    }
    assert [c["rank"] for c in second["completions"]] == [0, 1]
    responses = [c["response"] for c in second["completions"]]
    assert second["comparison_id"] == comparison_id(
        {"prompt": second["prompt"], "responses": responses}
    )
    assert second["content_hash"] == second["comparison_id"]
    assert (second["prompt_source"], second["prompt_written_by"]) == (None, "person")
    assert (second["license"], second["prompt_license"], second["response_license"]) == (
        "Apache-2.0",
        "Apache-2.0",
        "Apache-2.0",
    )
    assert second["license_class"] == "by"
    assert comparisons.merged == {"merged_into_comparison": 4, "not_ranked": 1}


def test_completions_are_ordered_by_rank_whatever_the_row_order():
    replies = [("r1.c", "Green.", 2), ("r1.a", "Blue.", 0), ("r1.b", "Red.", 1)]
    frame = bronze(
        msg("r1", None, "prompter", "Pick a colour."),
        *(msg(key, "r1", "assistant", text, rank) for key, text, rank in replies),
    )
    _, comparisons = shapes(frame)
    completions = comparisons.rows["completions"][0].to_list()
    assert [(c["response"], c["rank"]) for c in completions] == [
        ("Blue.", 0),
        ("Red.", 1),
        ("Green.", 2),
    ]


def test_multilingual_texts_keep_their_script_and_comparisons_are_normalised():
    decomposed = unicodedata.normalize("NFD", "¿Qué es la fotosíntesis?")
    frame = bronze(
        msg("m1", None, "prompter", "为什么天空是蓝色的？", lang="zh"),
        msg("m1.a", "m1", "assistant", "因为瑞利散射。", 0, lang="zh"),
        msg("m1.b", "m1", "assistant", "因为海洋。", 1, lang="zh"),
        msg("m2", None, "prompter", f"  {decomposed}\n", lang="es"),
        msg("m2.a", "m2", "assistant", "Es el proceso por el que las plantas...", 0),
        msg("m2.b", "m2", "assistant", "No sé.", 1),
        msg("m3", None, "prompter", "Почему небо голубое?", lang="ru"),
        msg("m3.a", "m3", "assistant", "Из-за рассеяния Рэлея."),
    )
    dialogues, comparisons = shapes(frame)
    assert thread(dialogues, "m1") == [
        ("user", "为什么天空是蓝色的？"),
        ("assistant", "因为瑞利散射。"),
    ]
    assert thread(dialogues, "m2")[0] == ("user", f"  {decomposed}\n")  # cleaning comes later
    assert thread(dialogues, "m3")[1] == ("assistant", "Из-за рассеяния Рэлея.")
    prompts = {r["source_id"]: r["prompt"][0]["content"] for r in comparisons.rows.to_dicts()}
    assert prompts == {"m1": "为什么天空是蓝色的？", "m2": "¿Qué es la fotosíntesis?"}
    assert Counter(dialogues.merged) == Counter({"merged_into_thread": 3, "not_on_best_path": 2})


def test_an_empty_split_gives_empty_stages():
    frame = bronze()
    dialogues, comparisons = shapes(frame)
    assert dialogues.rows.height == comparisons.rows.height == 0
    assert dialogues.rejected.schema == SILVER_QUARANTINE_SCHEMA
    assert comparisons.rejected.schema == SILVER_QUARANTINE_SCHEMA
    assert not dialogues.merged and not comparisons.merged


# --- the bundled sample ----------------------------------------------------------------


def test_the_oasst1_sample_gives_the_counts_its_generator_planned(tmp_path):
    pytest.importorskip("pyarrow")
    from sources.fixtures import oasst1

    planted = oasst1.build(tmp_path)
    for split, path in planted["files"].items():
        frame = pl.read_parquet(tmp_path / path).with_columns(
            pl.col("review_count", "rank").cast(pl.Int64),
            dataset=pl.lit("oasst1"),
            split=pl.lit(split),
            source_file=pl.lit(path),
            source_row=pl.int_range(pl.len(), dtype=pl.Int64),
            ingested_at=pl.lit(INGESTED, pl.Datetime("us", "UTC")),
            license=pl.lit("Apache-2.0"),
        )
        expected = planted["expected"][split]
        assert frame.height == expected["messages"]
        for name, stage in zip(("dialogues", "comparisons"), shapes(frame), strict=True):
            assert stage.rows.height == expected[name]["rows"], (split, name)
            assert dict(Counter(stage.rejected["reason"])) == expected[name]["quarantined"]
            assert dict(stage.merged) == expected[name]["merged"], (split, name)
