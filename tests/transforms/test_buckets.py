"""Hash buckets share a dataset's rows out among steps: each row in exactly one bucket,
the same bucket on every call, and roughly even shares."""

import polars as pl
import pytest

from transforms.buckets import bucket_of, rows_in_bucket

ROWS = pl.DataFrame(
    {
        "split": ["train"] * 600 + ["test"] * 400,
        "source_file": [f"file_{i % 7}.jsonl" for i in range(1000)],
        "source_row": list(range(1000)),
    }
)
POSITION = ["split", "source_file", "source_row"]


def test_every_row_lands_in_exactly_one_bucket():
    shares = [rows_in_bucket(ROWS, POSITION, bucket, 4) for bucket in range(4)]
    together = pl.concat(shares).sort("source_row")
    assert together.equals(ROWS.sort("source_row"))
    assert all(180 < share.height < 320 for share in shares)


def test_a_row_keeps_its_bucket_whatever_else_is_in_the_frame():
    whole = ROWS.with_columns(bucket=bucket_of(POSITION, 5))
    alone = ROWS.tail(10).with_columns(bucket=bucket_of(POSITION, 5))
    assert whole.tail(10).equals(alone)


def test_one_bucket_holds_every_row_and_a_bucket_out_of_range_is_an_error():
    assert rows_in_bucket(ROWS, POSITION, 0, 1).equals(ROWS)
    with pytest.raises(ValueError, match=r"bucket 4 is not one of 0\.\.3"):
        rows_in_bucket(ROWS, POSITION, 4, 4)
    with pytest.raises(ValueError, match="buckets must be >= 1"):
        bucket_of(POSITION, 0)
