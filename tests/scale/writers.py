"""Writer processes for the concurrency tests, kept apart from the test module so that a
spawned child imports only the Lake (not the whole asset graph) before it races."""

from __future__ import annotations

import polars as pl

from storage.lake import Lake

ROWS = 50


def batch(writer: int, round_: int) -> pl.DataFrame:
    """Rows that say who wrote them and in which round."""
    return pl.DataFrame(
        {
            "split": [f"w{writer}"] * ROWS,
            "round": [round_] * ROWS,
            "row": list(range(ROWS)),
            "text": [f"writer {writer} round {round_} row {i}" for i in range(ROWS)],
        }
    )


def replace_partition(root, options, writer, rounds, barrier, errors, key=None) -> None:
    """Replace this writer's own partition `rounds` times (Lake.write's replaceWhere)."""
    try:
        lake = Lake(root=root, storage_options=options)
        barrier.wait()
        for round_ in range(rounds):
            lake.write(
                key or ("bronze", "racing"),
                batch(writer, round_),
                partition_by=["split"],
                replace={"split": f"w{writer}"},
            )
    except BaseException as error:  # reported to the parent, which fails the test
        errors.put(f"writer {writer}: {type(error).__name__}: {error}")
        raise


def append_batches(root, options, writer, rounds, barrier, errors, key=None) -> None:
    """Append `rounds` batches to one shared table (Lake.append)."""
    try:
        lake = Lake(root=root, storage_options=options)
        barrier.wait()
        for round_ in range(rounds):
            lake.append(key or ("silver", "racing_cache"), batch(writer, round_))
    except BaseException as error:
        errors.put(f"writer {writer}: {type(error).__name__}: {error}")
        raise
