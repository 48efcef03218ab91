"""Gold: training views built from silver, split by licence class and decontaminated.

A row's licence class is the most restrictive licence among the fields it contains:
a preference pair holds model outputs, so an Arena pair is non-commercial; a prompt row
holds only the user's words, so an Arena prompt is CC-BY-4.0 and commercially usable.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import polars as pl

from transforms.arena_filters import filter_arena
from transforms.catalogue import (
    LICENSE_CLASS_BY,
    LICENSE_CLASS_BY_NC,
    DatasetSpec,
    join_licenses,
    license_class,
)
from transforms.cleaning import MESSAGES, conversation_id
from transforms.decontaminate import BenchmarkIndex, contamination
from transforms.records import content_hash

SFT_SCHEMA = pl.Schema(
    {
        "example_id": pl.String,
        "dataset": pl.String,
        "split": pl.String,
        "source_file": pl.String,
        "source_row": pl.Int64,
        "source_id": pl.String,
        "messages": MESSAGES,
        "lang": pl.String,
        "license": pl.String,
        "license_class": pl.String,
    }
)
PROMPT_SCHEMA = pl.Schema(
    {
        "prompt_id": pl.String,
        "dataset": pl.String,
        "split": pl.String,
        "source_file": pl.String,
        "source_row": pl.Int64,
        "source_id": pl.String,
        "prompt": pl.String,
        "lang": pl.String,
        "license": pl.String,
        "license_class": pl.String,
    }
)


def sft_from_conversations(conversations: pl.DataFrame) -> pl.DataFrame:
    """Silver conversations as SFT examples (their licence is the whole row's)."""
    return conversations.select(
        pl.col("conversation_id").alias("example_id"), *SFT_SCHEMA.names()[1:]
    ).cast(dict(SFT_SCHEMA))


def sft_from_votes(comparisons: pl.DataFrame) -> pl.DataFrame:
    """Each distinct dialogue of a pairwise vote, as an SFT example.

    The dialogue holds the model's replies, so it carries the licence of the responses
    and of the prompt together (Arena: CC-BY-4.0 AND CC-BY-NC-4.0, non-commercial).
    """
    votes = comparisons.filter(pl.col("conversation_a").is_not_null())
    sides = [
        votes.select(
            *["dataset", "split", "source_file", "source_row", "source_id", "lang"],
            pl.col(f"conversation_{side}").alias("messages"),
            pl.concat_str("prompt_license", pl.lit(" AND "), "response_license").alias("license"),
        )
        for side in ("a", "b")
    ]
    frame = pl.concat(sides).with_columns(
        pl.col("license").map_elements(lambda e: join_licenses([e]), return_dtype=pl.String)
    )
    frame = frame.with_columns(
        pl.Series(
            "example_id", [conversation_id(m) for m in frame["messages"].to_list()], dtype=pl.String
        ),
        license_class=pl.col("license").map_elements(license_class, return_dtype=pl.String),
    )
    return frame.unique("example_id", keep="first", maintain_order=True).select(SFT_SCHEMA.names())


def prompts_from_silver(conversations: pl.DataFrame, comparisons: pl.DataFrame) -> pl.DataFrame:
    """The first user turn of every dialogue and comparison, under the prompt's own licence."""
    lineage = ["dataset", "split", "source_file", "source_row", "source_id", "lang"]
    from_conversations = conversations.select(
        *lineage, first_user_turn("messages").alias("prompt"), pl.col("license")
    )
    from_comparisons = comparisons.select(
        *lineage,
        first_user_turn("prompt").alias("prompt"),
        pl.col("prompt_license").alias("license"),
    )
    frame = pl.concat([from_conversations, from_comparisons]).filter(pl.col("prompt").is_not_null())
    return (
        frame.with_columns(
            pl.Series(
                "prompt_id", [content_hash(p) for p in frame["prompt"].to_list()], dtype=pl.String
            ),
            license_class=pl.col("license").map_elements(license_class, return_dtype=pl.String),
        )
        .unique("prompt_id", keep="first", maintain_order=True)
        .select(PROMPT_SCHEMA.names())
    )


def user_turns_of(column: str) -> pl.Expr:
    return pl.col(column).list.eval(
        pl.element().filter(pl.element().struct.field("role") == "user").struct.field("content")
    )


def first_user_turn(column: str) -> pl.Expr:
    return user_turns_of(column).list.first()


def split_by_license(frame: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """{"by": rows usable commercially, "by_nc": the rest}: every row lands in exactly one."""
    unknown = set(frame["license_class"].unique()) - {LICENSE_CLASS_BY, LICENSE_CLASS_BY_NC}
    if unknown:
        raise ValueError(f"rows with unknown licence class {sorted(unknown)}")
    return {
        cls: frame.filter(pl.col("license_class") == cls)
        for cls in (LICENSE_CLASS_BY, LICENSE_CLASS_BY_NC)
    }


def decontaminate(
    frame: pl.DataFrame, columns: tuple[str, ...], index: BenchmarkIndex
) -> tuple[pl.DataFrame, Counter[tuple[str, str]]]:
    """Drop rows whose user turns (in any of the message-list `columns`) match a benchmark.

    Returns the kept rows and the removed count per (dataset, benchmark); a row matching
    several benchmarks counts once, under the first by name.
    """
    benchmarks = [
        min(filter(None, (contamination(row[c], index) for c in columns)), default=None)
        for row in frame.select(columns).iter_rows(named=True)
    ]
    return drop_matched(frame, benchmarks)


def decontaminate_text(
    frame: pl.DataFrame, column: str, index: BenchmarkIndex
) -> tuple[pl.DataFrame, Counter[tuple[str, str]]]:
    """As `decontaminate`, for a plain text column (prompts)."""
    return drop_matched(frame, [index.match(text) for text in frame[column].to_list()])


def drop_matched(
    frame: pl.DataFrame, benchmarks: list[str | None]
) -> tuple[pl.DataFrame, Counter[tuple[str, str]]]:
    """Drop the rows whose entry in `benchmarks` names a benchmark (None keeps the row),
    and count them per (dataset, benchmark)."""
    matched = pl.Series(benchmarks, dtype=pl.String)
    contaminated = matched.is_not_null()
    removed = Counter(
        zip(
            frame.filter(contaminated)["dataset"].to_list(),
            matched.filter(contaminated).to_list(),
            strict=True,
        )
    )
    return frame.filter(~contaminated), removed


def evaluation_questions(comparisons: pl.DataFrame, dataset: str) -> list[str]:
    """Every user turn of the evaluation dataset's dialogues (its questions)."""
    rows = comparisons.filter(pl.col("dataset") == dataset)
    questions = (
        rows.select(user_turns_of("conversation_a"))
        .to_series()
        .explode()
        .drop_nulls()
        .unique(maintain_order=True)
    )
    return questions.to_list()


def counts_metadata(prefix: str, counts: Mapping[str, int]) -> dict[str, int]:
    return {f"{prefix}{k}": v for k, v in sorted(counts.items()) if v}


def decontamination_metadata(removed: Mapping[tuple[str, str], int]) -> dict[str, int]:
    """Removed rows as flat metadata: `decontaminated_<dataset>__<benchmark>` per pair, and
    the totals `decontaminated_<dataset>` per dataset and `decontaminated_all__<benchmark>`
    per benchmark (zero counts left out)."""
    per_dataset: Counter[str] = Counter()
    per_benchmark: Counter[str] = Counter()
    for (dataset, benchmark), count in removed.items():
        per_dataset[dataset] += count
        per_benchmark[benchmark] += count
    return {
        **counts_metadata("decontaminated_", per_dataset),
        **counts_metadata("decontaminated_all__", per_benchmark),
        **counts_metadata(
            "decontaminated_", {f"{d}__{b}": count for (d, b), count in removed.items()}
        ),
    }


def gold_datasets(
    catalogue: Mapping[str, DatasetSpec], use: str, *, include_evaluation: bool = False
) -> list[str]:
    """The datasets whose rows may enter the gold tables of `use` (prefs, sft, prompts),
    as the catalogue declares; evaluation data only when asked for, and never as prompts."""
    return [
        key
        for key, spec in catalogue.items()
        if use in spec.gold and (not spec.evaluation or (include_evaluation and use != "prompts"))
    ]


def evaluation_datasets(catalogue: Mapping[str, DatasetSpec]) -> list[str]:
    return [key for key, spec in catalogue.items() if spec.evaluation]


def without_filtered_votes(
    comparisons: pl.DataFrame, filtered_datasets: Sequence[str], policies: Sequence[str]
) -> pl.DataFrame:
    """Comparisons minus the votes the vote filters leave out, for the datasets they apply
    to (other rows pass). The frame must hold every vote of those datasets: the frequency
    filters count over all of them."""
    voted = pl.col("dataset").is_in(list(filtered_datasets))
    kept, _, _ = filter_arena(comparisons.filter(voted), list(policies))
    return pl.concat([comparisons.filter(~voted), kept])


def first_user_turn_only(dialogues: pl.DataFrame) -> pl.DataFrame:
    """Dialogues cut to their first user turn (what a prompt is made from)."""
    return dialogues.with_columns(
        pl.col("messages").list.filter(pl.element().struct.field("role") == "user").list.head(1)
    )


def unknown_license_classes(frame: pl.LazyFrame, classes: Sequence[str]) -> int:
    """How many rows carry a licence class outside `classes` (a gold table for every class
    must exist, or rows would be lost)."""
    return (
        frame.filter(~pl.col("license_class").is_in(list(classes)))
        .select(pl.len())
        .collect()
        .item()
    )
