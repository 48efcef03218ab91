"""The near-duplicate spool: what a pass over batches on disk decides equals what the pure
functions decide in memory, whatever the batch size and whether the arrays are mapped."""

import polars as pl
import pytest

import storage.minhash as minhash
from storage.minhash import SignatureSpool
from transforms.cleaning import MESSAGES
from transforms.near_duplicates import NearDuplicateSettings, near_duplicates

ANSWER = (
    "Start with a small daily goal, keep it at the same time every day, and write down what "
    "you did so that after two weeks you can see the habit forming and adjust it."
)


def dialogue(prompt: str, answer: str) -> list[dict]:
    return [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]


ROWS = [
    ("b", dialogue("How do I build a reading habit?", ANSWER)),
    ("a", dialogue("How do I build a reading habit?", ANSWER.replace("small", "tiny"))),
    ("c", dialogue("How do I build a reading habit?", "Read ten pages before bed.")),
    ("d", dialogue("What is the capital of Peru?", "Lima.")),
]


def frame(rows) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "example_id": [i for i, _ in rows],
            "dataset": ["ultrachat"] * len(rows),
            "split": ["train"] * len(rows),
            "source_file": ["f.jsonl"] * len(rows),
            "source_row": list(range(len(rows))),
            "source_id": [i for i, _ in rows],
            "messages": pl.Series([m for _, m in rows], dtype=MESSAGES),
        }
    )


@pytest.mark.parametrize("in_memory_bytes", [0, minhash.IN_MEMORY_BYTES])
@pytest.mark.parametrize("batch", [1, 4])
def test_the_spool_finds_the_copy_and_keeps_the_first_by_source_order(
    tmp_path, monkeypatch, in_memory_bytes, batch
):
    monkeypatch.setattr(minhash, "IN_MEMORY_BYTES", in_memory_bytes)
    settings = NearDuplicateSettings()
    spool = SignatureSpool(tmp_path, settings)
    rows = frame(ROWS)
    for lo in range(0, rows.height, batch):
        spool.add(rows.slice(lo, batch))
    spool.close()
    judged = spool.judge({"ultrachat": 0})
    # "b" comes first by source row, so it survives; "c" (another answer) and "d" stay apart.
    assert judged.members.select("example_id", "cluster", "survivor").rows() == [
        ("b", "b", True),
        ("a", "b", False),
    ]
    assert judged.counts() == {"ultrachat": 1}
    kept = pl.concat(list(minhash.kept_rows(spool, judged)))
    assert kept["example_id"].to_list() == ["b", "c", "d"]
    in_memory = near_duplicates(rows["messages"], settings)
    assert (
        spool.pairs().select("left", "right").rows()
        == in_memory.pairs.select("left", "right").rows()
    )
