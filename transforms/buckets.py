"""Hash buckets: how one dataset's rows are shared out among the steps (run workers or
pods) that run the text engines on them. Which bucket a row lands in decides only who
analyses its texts, never what silver holds: results are kept by content
(silver/text_cache), so any split of the rows gives the same tables."""

from collections.abc import Sequence

import polars as pl

SEED = 20_260_101
"""Fixed, so every process of one Polars version puts a row in the same bucket."""


def bucket_of(columns: Sequence[str], buckets: int) -> pl.Expr:
    """The bucket (0 to `buckets` - 1) of each row, from the values of `columns`."""
    if buckets < 1:
        raise ValueError(f"buckets must be >= 1, not {buckets}")
    return (pl.struct(list(columns)).hash(seed=SEED) % buckets).cast(pl.Int64)


def rows_in_bucket(
    frame: pl.DataFrame, columns: Sequence[str], bucket: int, buckets: int
) -> pl.DataFrame:
    """The rows of `frame` in `bucket`; over buckets 0 .. `buckets` - 1 every row once."""
    if not 0 <= bucket < buckets:
        raise ValueError(f"bucket {bucket} is not one of 0..{buckets - 1}")
    return frame.filter(bucket_of(columns, buckets) == bucket)
