"""Training views: declarations checked with clear errors; selection, mixes, held-out
splits and the H4 format computed by hand on small frames."""

import hashlib

import polars as pl
import pytest

from transforms.binarize import PAIR_SCHEMA
from transforms.gold import SFT_SCHEMA
from transforms.policies import POLICIES
from transforms.views import (
    H4_PREFS_SCHEMA,
    H4_SFT_SCHEMA,
    SPLIT_COLUMN,
    ViewError,
    build_view,
    parse_views,
)

DATASETS = ["ultrachat", "ultrachat_200k", "ultrafeedback", "chatbot_arena_conversations"]


def view(**fields) -> dict:
    return {"views": {"v": {"from": "sft", "licence": "by", "datasets": ["ultrachat"], **fields}}}


def spec(**fields):
    return parse_views(view(**fields), DATASETS, tuple(POLICIES))["v"]


def dialogue(user: str, answer: str, turns: int = 1) -> list[dict]:
    messages = []
    for _ in range(turns):
        messages += [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]
    return messages


def sft_rows(rows: list[tuple[str, str, str, str, list[dict]]]) -> pl.DataFrame:
    """(example_id, dataset, split, lang, messages) rows of gold/sft_*."""
    return pl.DataFrame(
        [
            {
                "example_id": i,
                "dataset": d,
                "split": s,
                "source_file": "f",
                "source_row": n,
                "source_id": i,
                "messages": m,
                "lang": lang,
                "license": "MIT",
                "license_class": "by",
            }
            for n, (i, d, s, lang, m) in enumerate(rows)
        ],
        schema=SFT_SCHEMA,
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"from": "rlhf"}, "`from` must be one of"),
        ({"licence": "nc"}, "`licence` must be one of"),
        ({"datasets": ["wildchat"]}, "unknown dataset 'wildchat'"),
        ({"datasets": []}, "at least one dataset"),
        ({"policies": ["max_overall_random_other"]}, "prefs views only"),
        ({"format": "alpaca"}, "`format` must be one of"),
        ({"held_out": {"seed": 1}}, "needs `fraction` or `rows`"),
        ({"held_out": {"fraction": 1.5}}, "between 0 and 1"),
        ({"held_out": {"rows": 5}, "source_splits": {"train": "train"}}, "not both"),
        ({"splits": ["train", "train"]}, "two different splits"),
        ({"datasets": [{"dataset": "ultrachat", "weight": 1}, "ultrachat_200k"]}, "every dataset"),
        ({"colour": "blue"}, "unknown field"),
    ],
)
def test_a_declaration_that_cannot_be_built_is_refused_naming_the_view(fields, message):
    with pytest.raises(ViewError, match=message) as raised:
        spec(**fields)
    assert "view 'v'" in str(raised.value)


def test_a_by_view_reads_only_the_commercial_table_and_a_by_nc_view_reads_both():
    assert spec().tables == ("sft_by",)
    assert spec(licence="by_nc").tables == ("sft_by", "sft_by_nc")


def test_filters_keep_the_declared_datasets_languages_and_turns():
    frame = sft_rows(
        [
            ("a", "ultrachat", "train", "ja", dialogue("質問", "答え", turns=2)),
            ("b", "ultrachat", "train", "en", dialogue("q", "a", turns=2)),
            ("c", "ultrachat", "train", "ja", dialogue("質問", "答え", turns=1)),
            ("d", "ultrachat_200k", "train_sft", "ja", dialogue("質問", "答え", turns=2)),
        ]
    )
    built = build_view(frame, spec(languages=["ja"], min_turns=2))
    assert built["example_id"].to_list() == ["a"]
    assert built[SPLIT_COLUMN].to_list() == ["train"]


def test_source_splits_keep_the_sources_own_splits_and_leave_the_others_out():
    frame = sft_rows(
        [
            ("a", "ultrachat_200k", "train_sft", "en", dialogue("q1", "a1")),
            ("b", "ultrachat_200k", "test_sft", "en", dialogue("q2", "a2")),
            ("c", "ultrachat_200k", "train_gen", "en", dialogue("q3", "a3")),
        ]
    )
    declared = spec(
        datasets=["ultrachat_200k"],
        source_splits={"train_sft": "train_sft", "test_sft": "test_sft"},
    )
    built = build_view(frame, declared).sort("example_id")
    assert built.select("example_id", SPLIT_COLUMN).rows() == [
        ("a", "train_sft"),
        ("b", "test_sft"),
    ]
    assert declared.split_names == ["train_sft", "test_sft"]


def unit(seed: int, example_id: str) -> float:
    """The held-out rule's number for an id, computed by hand."""
    return int(hashlib.sha256(f"{seed}\0{example_id}".encode()).hexdigest()[:13], 16) / 16**13


def uc(n: int, dataset: str = "ultrachat", prefix: str = "u") -> list[tuple]:
    split = "train" if dataset == "ultrachat" else "train_sft"
    return [
        (f"{prefix}{i}", dataset, split, "en", dialogue(f"{prefix}q{i}", "a")) for i in range(n)
    ]


def test_a_row_is_held_out_when_its_seeded_hash_is_below_the_fraction_whatever_else_is_added():
    rows = uc(200) + uc(50, "ultrachat_200k", "h")
    both = ["ultrachat", "ultrachat_200k"]
    declared = spec(datasets=both, held_out={"fraction": 0.1, "seed": 7})
    built = build_view(sft_rows(rows), declared)
    held = set(built.filter(pl.col(SPLIT_COLUMN) == "test")["example_id"])
    assert held == {r[0] for r in rows if unit(7, r[0]) < 0.1}
    assert 10 <= len(held) <= 40  # about 25; both datasets give their share
    assert {r[1] for r in rows if r[0] in held} == set(both)
    grown = build_view(sft_rows([*rows, *uc(30, prefix="new")]), declared)
    assert held <= set(grown.filter(pl.col(SPLIT_COLUMN) == "test")["example_id"])
    other = build_view(sft_rows(rows), spec(datasets=both, held_out={"fraction": 0.1, "seed": 8}))
    assert set(other.filter(pl.col(SPLIT_COLUMN) == "test")["example_id"]) != held


def test_held_out_rows_take_the_lowest_hashes_spread_over_datasets_by_size():
    rows = uc(30) + uc(10, "ultrachat_200k", "h")
    declared = spec(datasets=["ultrachat", "ultrachat_200k"], held_out={"rows": 4, "seed": 3})
    held = build_view(sft_rows(rows), declared).filter(pl.col(SPLIT_COLUMN) == "test")
    # 4 rows spread 3:1 as the datasets are, the lowest hashes of each.
    by_hash = sorted((r for r in rows if r[1] == "ultrachat"), key=lambda r: unit(3, r[0]))
    assert sorted(held.filter(pl.col("dataset") == "ultrachat")["example_id"]) == sorted(
        r[0] for r in by_hash[:3]
    )
    assert held.filter(pl.col("dataset") == "ultrachat_200k").height == 1


def test_held_out_rows_and_fraction_together_take_the_smaller():
    rows = uc(400)
    below = sum(unit(0, r[0]) < 0.05 for r in rows)
    built = build_view(sft_rows(rows), spec(held_out={"rows": 2000, "fraction": 0.05}))
    assert built.filter(pl.col(SPLIT_COLUMN) == "test").height == below > 0
    built = build_view(sft_rows(rows), spec(held_out={"rows": 2, "fraction": 0.05}))
    assert built.filter(pl.col(SPLIT_COLUMN) == "test").height == 2


def test_weights_give_the_largest_mix_in_their_proportions_and_caps_hold():
    rows = [(f"u{i}", "ultrachat", "train", "en", dialogue(f"q{i}", "a")) for i in range(40)]
    rows += [
        (f"h{i}", "ultrachat_200k", "train_sft", "en", dialogue(f"p{i}", "a")) for i in range(10)
    ]
    mixed = build_view(
        sft_rows(rows),
        spec(
            datasets=[
                {"dataset": "ultrachat", "weight": 3},
                {"dataset": "ultrachat_200k", "weight": 1},
            ]
        ),
    )
    # ultrachat_200k has 10 rows: the largest 3:1 mix is 30 + 10.
    assert mixed.group_by("dataset").len().sort("dataset").rows() == [
        ("ultrachat", 30),
        ("ultrachat_200k", 10),
    ]
    capped = build_view(
        sft_rows(rows),
        spec(datasets=[{"dataset": "ultrachat", "max_rows": 4}, "ultrachat_200k"]),
    )
    assert capped.group_by("dataset").len().sort("dataset").rows() == [
        ("ultrachat", 4),
        ("ultrachat_200k", 10),
    ]


def test_h4_sft_rows_have_exactly_h4s_columns_and_prompt_ids():
    frame = sft_rows([("a", "ultrachat", "train", "en", dialogue("How are you?", "Fine."))])
    built = build_view(frame, spec(format="h4"))
    assert built.drop(SPLIT_COLUMN).schema == H4_SFT_SCHEMA
    row = built.row(0, named=True)
    assert row["prompt"] == "How are you?"
    assert row["prompt_id"] == hashlib.sha256(b"How are you?").hexdigest()
    assert row["messages"] == [
        {"content": "How are you?", "role": "user"},
        {"content": "Fine.", "role": "assistant"},
    ]


def test_h4_prefs_rows_carry_the_prompt_inside_chosen_and_rejected():
    pair = {
        "pair_id": "p1",
        "dataset": "ultrafeedback",
        "split": "train",
        "source_file": "f",
        "source_row": 0,
        "source_id": "s",
        "policy": "max_overall_random_other",
        "prompt": [{"role": "user", "content": "Name a colour."}],
        "chosen": [{"role": "assistant", "content": "Blue."}],
        "rejected": [{"role": "assistant", "content": "Seven."}],
        "score_chosen": 9.0,
        "score_rejected": 2.0,
        "model_chosen": "m1",
        "model_rejected": "m2",
        "judge_count": 1,
        "agreement": None,
        "lang": "en",
        "license": "MIT",
        "license_class": "by",
    }
    frame = pl.DataFrame(
        [pair, {**pair, "pair_id": "p2", "policy": "all_pairs_margin"}], schema=PAIR_SCHEMA
    )
    declared = parse_views(
        {
            "views": {
                "p": {
                    "from": "prefs",
                    "licence": "by",
                    "datasets": ["ultrafeedback"],
                    "policies": ["max_overall_random_other"],
                    "format": "h4",
                }
            }
        },
        DATASETS,
        tuple(POLICIES),
    )["p"]
    built = build_view(frame, declared)
    assert built.drop(SPLIT_COLUMN).schema == H4_PREFS_SCHEMA
    (row,) = built.rows(named=True)
    assert row["chosen"] == [
        {"content": "Name a colour.", "role": "user"},
        {"content": "Blue.", "role": "assistant"},
    ]
    assert row["rejected"][1] == {"content": "Seven.", "role": "assistant"}
    assert row["messages"] == row["chosen"]
    assert (row["score_chosen"], row["score_rejected"]) == (9.0, 2.0)
