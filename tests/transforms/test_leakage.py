"""The leakage report counts distinct normalised prompts shared by two datasets (exactly or
nearly) and prompts matching a benchmark (exactly or by another rule)."""

import polars as pl

from transforms.decontaminate import benchmark_index
from transforms.leakage import (
    benchmark_matches_per_prompt,
    benchmark_overlap,
    benchmark_turns_by_text,
    normalised_prompts,
    overlap_markdown,
    overlap_svg,
    pair_overlap,
)

QUESTION = "Compose an engaging travel blog post about a recent trip to Hawaii, please."
BENCHMARKS = {"mt_bench": [QUESTION], "other": ["What is the capital of France?"]}


def prompts(rows):
    return normalised_prompts(pl.DataFrame(rows, schema=["dataset", "prompt"], orient="row"))


def test_prompts_are_normalised_deduplicated_per_dataset_and_empty_ones_dropped():
    frame = prompts([("a", "Hi  THERE!"), ("a", "hi there"), ("b", "hi there"), ("a", "?!")])
    assert frame.select("dataset", "normalised").rows() == [("a", "hi there"), ("b", "hi there")]
    assert frame["key"][0] == frame["key"][1]


def test_benchmark_matches_tell_exact_copies_from_pasted_questions():
    index = benchmark_index(BENCHMARKS)
    frame = prompts(
        [
            ("a", QUESTION.upper()),
            ("a", f"My teacher wrote: {QUESTION} Help!"),
            ("b", "what is the capital of france"),
            ("b", "Tell me about Paris."),
        ]
    )
    matches = benchmark_matches_per_prompt(frame, index, benchmark_turns_by_text(BENCHMARKS))
    assert matches["match"].to_list() == ["exact", "near", "exact", None]
    assert benchmark_overlap(matches).rows() == [("a", "mt_bench", 1, 1), ("b", "other", 1, 0)]


def test_pairs_count_exact_copies_and_near_duplicates_in_each_direction():
    keys = pl.DataFrame(
        {"dataset": ["a", "a", "a", "b", "b", "c"], "key": [1, 2, 3, 1, 9, 7]},
        schema={"dataset": pl.String, "key": pl.UInt64},
    )
    near = pl.DataFrame(
        {"dataset": ["a", "a"], "key": [2, 1], "dataset_right": ["b", "b"], "key_right": [9, 9]},
        schema_overrides={"key": pl.UInt64, "key_right": pl.UInt64},
    )
    # a holds 1 exactly in b; 2 is near b's 9; 1 is near 9 too but already counted as exact.
    # b: 1 exactly in a; 9 near a's 2 and a's 1. c shares nothing.
    assert pair_overlap(keys, near).rows() == [("a", "b", 1, 1), ("b", "a", 1, 1)]


def test_the_table_and_plot_show_every_row_and_say_when_nothing_overlaps():
    frame = pl.DataFrame({"dataset": ["x<y"], "benchmark": ["mt_bench"], "exact": [3], "near": [1]})
    assert "| x<y | mt_bench | 3 | 1 |" in overlap_markdown(frame, "benchmark")
    svg = overlap_svg(frame, "benchmark", "Leakage")
    assert svg.startswith("<svg") and "x&lt;y / mt_bench" in svg and "3 + 1" in svg
    assert overlap_markdown(frame.head(0), "benchmark") == "No overlap found."
    assert "No overlap found." in overlap_svg(frame.head(0), "benchmark", "Leakage")
