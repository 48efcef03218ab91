"""The catalogue declares every source: its files, types and licence per field."""

import polars as pl
import pytest

from orchestration.catalogue import load_catalogue
from transforms.catalogue import (
    CatalogueError,
    author_of,
    license_class,
    parse_catalogue,
    parse_type,
)

DATASET_KEYS = [
    "ultrachat",
    "ultrachat_200k",
    "ultrafeedback",
    "chatbot_arena_conversations",
    "mt_bench_human_judgments",
    "hh_rlhf",
    "hh_rlhf_red_team",
    "oasst1",
]


def test_the_bundled_catalogue_declares_its_datasets_with_their_splits():
    catalogue = load_catalogue()
    assert list(catalogue) == DATASET_KEYS
    assert list(catalogue["ultrachat_200k"].splits) == [
        "train_sft",
        "test_sft",
        "train_gen",
        "test_gen",
    ]
    assert list(catalogue["mt_bench_human_judgments"].splits) == ["human", "gpt4_pair"]
    assert len(catalogue["ultrafeedback"].splits["train"]) == 6


def test_arena_outputs_are_non_commercial_while_its_prompts_are_cc_by():
    arena = load_catalogue()["chatbot_arena_conversations"]
    assert arena.field_license("question_id") == "CC-BY-4.0"
    assert arena.field_license("conversation_a", role="user") == "CC-BY-4.0"
    assert arena.field_license("conversation_a", role="assistant") == "CC-BY-NC-4.0"
    assert arena.field_license("conversation_a") == "CC-BY-4.0 AND CC-BY-NC-4.0"
    assert license_class(arena.field_license("conversation_a")) == "by_nc"


def test_mit_and_cc_by_are_commercially_usable_and_nc_is_not():
    assert license_class("MIT") == "by"
    assert license_class("CC-BY-4.0") == "by"
    assert license_class("CC-BY-4.0 AND CC-BY-NC-4.0") == "by_nc"
    with pytest.raises(CatalogueError, match="unknown licence"):
        license_class("WTFPL-ish")


def test_types_parse_to_the_arrow_types_of_the_hub_files():
    assert parse_type("list<struct<content: string, role: string>>") == pl.List(
        pl.Struct({"content": pl.String, "role": pl.String})
    )
    moderation = parse_type("struct<categories: struct<self-harm/intent: bool>, flagged: bool>")
    assert moderation == pl.Struct(
        {"categories": pl.Struct({"self-harm/intent": pl.Boolean}), "flagged": pl.Boolean}
    )
    with pytest.raises(CatalogueError):
        parse_type("list<string")


def test_a_broken_catalogue_is_a_clear_error_at_load_time():
    entry = {
        "hub_repo": "a/b",
        "revision": "main",
        "format": "csv",
        "shape": "chat_messages",
        "splits": {"train": ["x.csv"]},
        "license": {"*": "MIT"},
        "schema": {"id": "string"},
    }
    with pytest.raises(CatalogueError, match="format"):
        parse_catalogue({"datasets": {"x": entry}})
    with pytest.raises(CatalogueError, match="lacks"):
        parse_catalogue({"datasets": {"x": {"hub_repo": "a/b"}}})
    with pytest.raises(CatalogueError, match="shape 'turns' is not one of"):
        parse_catalogue({"datasets": {"x": {**entry, "format": "jsonl", "shape": "turns"}}})
    for buckets in (0, "4", True, 2.5):
        with pytest.raises(CatalogueError, match="buckets must be a whole number"):
            parse_catalogue({"datasets": {"x": {**entry, "format": "jsonl", "buckets": buckets}}})
    assert load_catalogue()["ultrachat"].buckets == 4
    assert load_catalogue()["oasst1"].buckets == 1  # the default: no fan-out


def test_the_catalogue_says_who_wrote_each_field():
    catalogue = load_catalogue()
    arena = catalogue["chatbot_arena_conversations"]
    assert arena.field_author("conversation_a", role="user") == "person"
    assert arena.field_author("conversation_a", role="assistant") == "model"
    # UltraChat's user turns were simulated by a model.
    assert catalogue["ultrachat"].field_author("data", role="user") == "model"
    assert catalogue["ultrachat_200k"].field_author("messages", role="user") == "model"
    # UltraFeedback's prompts: by source.
    rule = catalogue["ultrafeedback"].field_author("instruction")
    assert author_of(rule, {"source": "sharegpt"}) == "person"
    assert author_of(rule, {"source": "flan_v2_niv2"}) == "person"
    assert author_of(rule, {"source": "evol_instruct"}) == "model"
    assert author_of(rule, {"source": "ultrachat"}) == "model"
    assert author_of(rule, {"source": "a_new_source"}) == "person"  # undeclared: conservative
    assert author_of(catalogue["ultrafeedback"].field_author("completions"), {}) == "model"


@pytest.mark.parametrize(
    "authors",
    [{"prompt": "person"}, {"*": "human"}, {"*": "model", "prompt": {"column": "nowhere"}}],
)
def test_a_wrong_authorship_declaration_is_a_clear_error(authors: dict) -> None:
    entry = {
        "hub_repo": "o/n", "revision": "main", "format": "jsonl", "shape": "chat_messages",
        "splits": {"train": ["*"]},
        "license": {"*": "MIT"}, "schema": {"prompt": "string"}, "authors": authors,
    }  # fmt: skip
    with pytest.raises(CatalogueError, match="author"):
        parse_catalogue({"datasets": {"d": entry}})


def test_every_declared_shape_has_its_function_and_fills_the_table_it_names():
    from transforms.catalogue import SHAPES
    from transforms.silver import COMPARISON_SHAPES, DIALOGUE_SHAPES

    assert set(DIALOGUE_SHAPES) == {s for s, tables in SHAPES.items() if "dialogues" in tables}
    assert set(COMPARISON_SHAPES) == {s for s, tables in SHAPES.items() if "comparisons" in tables}
    shapes = {key: spec.shape for key, spec in load_catalogue().items()}
    assert shapes["chatbot_arena_conversations"] == shapes["mt_bench_human_judgments"]
    assert set(shapes.values()) == set(SHAPES)
