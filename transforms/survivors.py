"""Which copy of a row survives: within one dataset's silver slice, across datasets in the
union (silver/conversations), and when an increment brings new rows beside those a table
already keeps.

Keep-first by source position everywhere, so the survivor is the same on every run, in
any batch order, and whether the rows arrived at once or in increments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from transforms.cleaning import deduplicate

SOURCE_POSITION = ["split", "source_file", "source_row"]
"""Where a row came from within its dataset: the keep-first order of a slice."""
UNION_POSITION = ["dataset", *SOURCE_POSITION]
"""Where a row came from within the lake."""


class KeptRowReplaced(Exception):
    """A new row is an earlier copy of a row the table keeps: appending cannot express
    that, the table must be rebuilt."""


def duplicate_survivors(keys: pl.DataFrame, key: str) -> tuple[pl.DataFrame, int]:
    """Within one dataset, which row of each group of equal `key` is kept: the first by
    (split, source_file, source_row), the same row on every run and in any batch order.

    `keys` holds `key` and the source position of every row; returns the survivors'
    positions and how many rows are duplicates."""
    return deduplicate(keys.select(key, *SOURCE_POSITION), key, SOURCE_POSITION)


def deduplicate_across_datasets(
    dialogues: pl.DataFrame, dataset_rank: Mapping[str, int]
) -> tuple[pl.DataFrame, int]:
    """One row per conversation_id over all datasets: the first by (catalogue order of its
    dataset, split, source_file, source_row). Returns the survivors and how many dropped."""
    ranked = dialogues.with_columns(
        pl.col("dataset").replace_strict(dataset_rank, return_dtype=pl.Int64).alias("__rank")
    )
    survivors, dropped = deduplicate(
        ranked, "conversation_id", ["__rank", "split", "source_file", "source_row"]
    )
    return survivors.drop("__rank"), dropped


def new_survivors(kept: pl.DataFrame, keys: pl.DataFrame, key: str) -> tuple[pl.DataFrame, int]:
    """Which new rows (`keys`: `key` and source position) join a slice that keeps `kept`
    (its rows sharing a `key` with a new row): the first of each new id, and none whose id
    the slice already holds (a later copy of a kept row is a duplicate). Returns them and
    how many new rows are duplicates. Raises KeptRowReplaced when a new row comes before
    the copy the slice keeps, which would change the survivor."""
    survivors, _ = duplicate_survivors(pl.concat([kept, keys.select(kept.columns)]), key)
    still_kept = survivors.join(kept, on=SOURCE_POSITION, how="semi").height
    if still_kept != kept.height:
        raise KeptRowReplaced(
            f"{kept.height - still_kept} new row(s) come before a copy the slice keeps"
        )
    new = survivors.join(kept, on=SOURCE_POSITION, how="anti")
    return new, keys.height - new.height


def new_union_survivors(
    kept: pl.DataFrame, keys: pl.DataFrame, dataset_rank: Mapping[str, int]
) -> pl.DataFrame:
    """Which new dialogues (`keys`: conversation_id and lake position) join a union that
    keeps `kept` (its rows sharing an id with a new one). Raises KeptRowReplaced when a new
    dialogue comes before the copy the union keeps."""
    survivors, _ = deduplicate_across_datasets(pl.concat([kept, keys]), dataset_rank)
    if survivors.join(kept, on=UNION_POSITION, how="semi").height != kept.height:
        raise KeptRowReplaced("a new dialogue comes before a copy the union keeps")
    return survivors.join(kept, on=UNION_POSITION, how="anti")


def losers(keys: pl.DataFrame, survivors: pl.DataFrame, position: Sequence[str]) -> pl.DataFrame:
    """The positions of the rows of `keys` that are not among `survivors`: the few rows a
    batch drops, far lighter to anti-join against than every survivor."""
    return keys.select(position).join(survivors.select(position), on=position, how="anti")
