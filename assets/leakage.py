"""The leakage report's index, kept up to date as silver grows.

`gold/leakage_prompts` holds one row per distinct (dataset, normalised prompt key) of
silver's first user turns, with the benchmark it matches (if any, and how) and, on the
first row of each key, the prompt's MinHash signature; `gold/leakage_near` holds the
verified near-copy pairs of keys. When silver only gained rows since the index was last
brought up to date, only the new prompts are read, matched and compared (with each other
and with every stored signature); otherwise the index is rebuilt. The report is computed
from the two tables (transforms/leakage.py).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import polars as pl

from storage.keys import COMPARISONS, CONVERSATIONS
from storage.keys import LEAKAGE_NEAR as NEAR
from storage.keys import LEAKAGE_PROMPTS as PROMPTS
from storage.lake import Lake, load_benchmarks
from storage.minhash import SignatureSpool, decoded, pairs_with_stored, signature_column
from transforms.decontaminate import benchmark_index
from transforms.gold import first_user_turn
from transforms.leakage import (
    benchmark_matches_per_prompt,
    benchmark_overlap,
    benchmark_turns_by_text,
    normalised_prompts,
    pair_overlap,
)
from transforms.near_duplicates import (
    NearDuplicateSettings,
    band_frame,
    band_keys,
    signatures,
)

"""Datasets that are benchmarks themselves: left out of the report."""
LEAKAGE_NEAR = NearDuplicateSettings(bands=18, threshold=0.8)
"""Near-copies of prompts: 18 bands of 7 positions make a pair at estimated Jaccard 0.8 a
candidate with probability 0.985 (0.9: 1.0), at 0.6 with 0.40 and at 0.5 with 0.13;
candidates are verified at 0.8. (SFT deduplication uses 42 bands and 0.5 on both sides of
a dialogue: two prompts only half alike are often different requests.)"""
PROMPT_SCHEMA = pl.Schema(
    {
        "dataset": pl.String,
        "key": pl.Int64,
        "benchmark": pl.String,
        "match": pl.String,
        "user_signature": pl.Binary,
    }
)
NEAR_SCHEMA = pl.Schema({"key": pl.Int64, "key_right": pl.Int64})


def silver_versions(lake: Lake) -> dict[str, str]:
    return {
        "conversations_version": str(lake.version(CONVERSATIONS)),
        "comparisons_version": str(lake.version(COMPARISONS)),
    }


def is_current(lake: Lake) -> bool:
    """Whether the index was brought up to date with silver as it is now."""
    table = lake.table(PROMPTS)
    if table is None:
        return False
    last = table.history(1)[0]
    return all(last.get(k) == v for k, v in silver_versions(lake).items())


def update_index(lake: Lake, batch_rows: int, evaluation: Sequence[str]) -> str:
    """Bring the leakage index up to date with silver, leaving out the evaluation datasets'
    own prompts (they are what is leaked into); returns what it did: "unchanged",
    "appended" or "rebuilt"."""
    versions = silver_versions(lake)
    table = lake.table(PROMPTS)
    previous = table.history(1)[0] if table is not None else {}
    if all(previous.get(k) == v for k, v in versions.items()):
        return "unchanged"
    added = {
        key: lake.added_files(key, int(previous[name])) if name in previous else None
        for key, name in (
            (CONVERSATIONS, "conversations_version"),
            (COMPARISONS, "comparisons_version"),
        )
    }
    rebuild = any(files is None for files in added.values())
    batches = (
        prompt_batches(lake, batch_rows, None, evaluation)
        if rebuild
        else prompt_batches(lake, batch_rows, added, evaluation)  # type: ignore[arg-type]
    )
    stored = (
        pl.DataFrame(schema={"dataset": pl.String, "key": pl.Int64})
        if rebuild
        else lake.scan(PROMPTS).select("dataset", "key").collect()
    )
    rows, pairs = new_prompts(lake, batches, stored, rebuild)
    status = "rebuilt" if rebuild else "appended"
    lake.write_batches(NEAR, [pairs], append=not rebuild)
    lake.write_batches(
        PROMPTS, [rows], append=not rebuild, commit_metadata={**versions, "status": status}
    )
    return status


def prompt_batches(
    lake: Lake, batch_rows: int, added: dict | None, evaluation: Sequence[str]
) -> Iterator[pl.DataFrame]:
    """(dataset, prompt): the first user turn of silver's dialogues and comparisons but the
    evaluation datasets', all of them or (with `added`: table key -> files added) only the
    new rows'."""
    for key, column in ((CONVERSATIONS, "messages"), (COMPARISONS, "prompt")):
        columns = ["dataset", column]
        batches = (
            lake.batches(key, batch_rows, columns=columns)
            if added is None
            else lake.read_added(key, added[key], batch_rows, columns=columns)
        )
        for batch in batches:
            yield batch.filter(~pl.col("dataset").is_in(list(evaluation))).select(
                "dataset", prompt=first_user_turn(column)
            )


def new_prompts(
    lake: Lake, batches: Iterator[pl.DataFrame], stored: pl.DataFrame, rebuild: bool
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The index rows of prompts not yet stored (benchmark match; a signature for keys
    seen for the first time) and the near-copy pairs they make with each other and with
    stored keys."""
    benchmarks = load_benchmarks()
    index, exact_of = benchmark_index(benchmarks), benchmark_turns_by_text(benchmarks)
    known_keys = stored.select("key").unique()
    frames = [pl.DataFrame(schema=PROMPT_SCHEMA).drop("user_signature")]
    settings = LEAKAGE_NEAR
    with tempfile.TemporaryDirectory(prefix="lake-leakage-") as folder:
        spool = SignatureSpool(Path(folder), settings, one_sided=True)
        seen = stored
        try:
            for batch in batches:
                prompts = normalised_prompts(batch).join(seen, on=["dataset", "key"], how="anti")
                seen = pl.concat([seen, prompts.select("dataset", "key")])
                matched = benchmark_matches_per_prompt(prompts, index, exact_of)
                fresh = prompts.unique("key", keep="first", maintain_order=True).join(
                    known_keys, on="key", how="anti"
                )
                known_keys = pl.concat([known_keys, fresh.select("key")])
                spool.add(prompt_rows(fresh))
                frames.append(matched.select("dataset", "key", "benchmark", "match"))
        finally:
            spool.close()
        pairs = spool.pairs()
        lineage = spool.lineage(pl.concat([pairs["left"], pairs["right"]]).unique())
        key_of = lineage.select("position", key=pl.col("example_id").cast(pl.Int64))
        among_new = (
            pairs.join(key_of, left_on="left", right_on="position")
            .join(key_of, left_on="right", right_on="position", suffix="_right")
            .select("key", "key_right")
        )
        user = spool.in_memory("user")
        new_keys = pl.concat(
            [
                pl.Series("key", [], pl.Int64),
                *(f["example_id"].cast(pl.Int64) for f in spool.frames("lineage")),
            ]
        )
        with_stored = [] if rebuild else list(near_stored(lake, user, new_keys, settings))
        # A key's signature goes on its first row only: joined there, not onto every row
        # of the key and then blanked (each copy of the column is ~1 GB at published sizes).
        signature_of = pl.DataFrame(
            {"key": new_keys, "user_signature": signature_column(user)}
        ).with_columns(first=pl.lit(True))
        del user
    rows = (
        pl.concat(frames)
        .with_columns(first=pl.col("key").is_first_distinct())
        .join(signature_of, on=["key", "first"], how="left", maintain_order="left")
        .select(PROMPT_SCHEMA.names())
        .cast(dict(PROMPT_SCHEMA))
    )
    pairs = pl.concat([among_new, *with_stored], how="vertical_relaxed").cast(dict(NEAR_SCHEMA))
    return rows, pairs.unique()


def near_stored(
    lake: Lake, user: np.ndarray, keys: pl.Series, settings: NearDuplicateSettings
) -> Iterator[pl.DataFrame]:
    """Verified near-copy pairs (key, key_right) of new prompts with stored ones."""
    if len(user) == 0:
        return
    empty = empty_side(settings)
    fresh = band_frame(
        np.arange(len(user)), band_keys(user, np.broadcast_to(empty, user.shape), settings)
    )
    for batch in lake.batches(PROMPTS, 50_000, columns=["key", "user_signature"]):
        batch = batch.filter(pl.col("user_signature").is_not_null())
        old = decoded(batch["user_signature"], settings.num_perm)
        verified = pairs_with_stored(
            fresh,
            user,
            np.broadcast_to(empty, user.shape),
            old,
            np.broadcast_to(empty, old.shape),
            settings,
        )
        yield pl.DataFrame(
            {
                "key": keys.to_numpy()[verified["left"].to_numpy()],
                "key_right": batch["key"].to_numpy()[verified["right"].to_numpy()],
            },
            schema=NEAR_SCHEMA,
        )


def empty_side(settings: NearDuplicateSettings) -> np.ndarray:
    """The signature every prompt has on its (empty) answer side."""
    _, assistant = signatures([[{"role": "user", "content": "x"}]], settings)
    return assistant[0]


def prompt_rows(prompts: pl.DataFrame) -> pl.DataFrame:
    """Normalised prompts shaped as the near-duplicate spool reads dialogues."""
    return prompts.select(
        example_id=pl.col("key").cast(pl.String),
        dataset="dataset",
        split=pl.lit(""),
        source_file=pl.lit(""),
        source_row=pl.lit(0, dtype=pl.Int64),
        source_id=pl.lit(""),
        messages=pl.concat_list(pl.struct(role=pl.lit("user"), content=pl.col("normalised"))),
    )


def report(lake: Lake) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The leakage report's two tables from the index: pairs of datasets, benchmarks."""
    keys = lake.scan(PROMPTS).select("dataset", "key").collect()
    near = (
        lake.scan(NEAR)
        .collect()
        .join(keys, on="key")
        .join(keys.rename({"key": "key_right", "dataset": "dataset_right"}), on="key_right")
        .select("dataset", "key", "dataset_right", "key_right")
    )
    matches = lake.scan(PROMPTS).select("dataset", "benchmark", "match").collect()
    return pair_overlap(keys, near), benchmark_overlap(matches)
