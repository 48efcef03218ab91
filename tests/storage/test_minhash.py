"""The near-duplicate spool: what a pass over batches on disk decides equals what the pure
functions decide in memory, whatever the batch size and whether the arrays are mapped."""

import numpy as np
import polars as pl
import pytest

import storage.minhash as minhash
from storage.minhash import SignatureSpool, decoded, signature_column
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


def test_signatures_go_to_bytes_and_back_unchanged_whatever_the_slice():
    signatures = np.random.default_rng(3).integers(0, 2**32, size=(50, 6), dtype=np.uint32)
    column = signature_column(signatures)
    assert column.dtype == pl.Binary
    assert column[7] == signatures[7].astype("<u4").tobytes()
    assert (decoded(column, 6) == signatures).all()
    assert (decoded(column.slice(11, 20), 6) == signatures[11:31]).all()
    assert decoded(signature_column(signatures[:0]), 6).shape == (0, 6)


def test_a_signature_of_the_wrong_width_is_an_error_not_a_shifted_array():
    column = pl.concat([signature_column(np.ones((2, 6), np.uint32)), pl.Series([b"\0" * 20])])
    with pytest.raises(ValueError, match="not 6 uint32"):
        decoded(column, 6)


HABIT = (
    "How do I build a reading habit that lasts through the whole year when work is busy, "
    "the evenings are short and my phone keeps pulling me away from the book I started"
)
PROMPTS = [
    HABIT,
    HABIT + " last month",
    "What is the capital of Peru and how many people live there?",
]


@pytest.mark.parametrize("in_memory_bytes", [0, minhash.IN_MEMORY_BYTES])
def test_a_one_sided_spool_pairs_prompts_as_a_two_sided_one_without_storing_the_answers(
    tmp_path, monkeypatch, in_memory_bytes
):
    """Prompts without answers (the leakage index) share one assistant side: kept once."""
    monkeypatch.setattr(minhash, "IN_MEMORY_BYTES", in_memory_bytes)
    settings = NearDuplicateSettings(bands=18, threshold=0.8)
    rows = frame([(str(i), [{"role": "user", "content": p}]) for i, p in enumerate(PROMPTS)])
    pairs = {}
    for one_sided in (False, True):
        folder = tmp_path / str(one_sided)
        folder.mkdir()
        spool = SignatureSpool(folder, settings, one_sided=one_sided)
        spool.add(rows.slice(0, 2))
        spool.add(rows.slice(2))
        spool.close()
        pairs[one_sided] = spool.pairs().rows()
        assert spool.in_memory("assistant").shape == (3, settings.num_perm)
    assert pairs[True] == pairs[False] and [p[:2] for p in pairs[True]] == [(0, 1)]
    assert not (tmp_path / "True" / "assistant.bin").exists()


def test_a_one_sided_spool_refuses_rows_with_an_answer(tmp_path):
    spool = SignatureSpool(tmp_path, NearDuplicateSettings(), one_sided=True)
    spool.add(frame([("0", [{"role": "user", "content": PROMPTS[0]}])]))
    with pytest.raises(ValueError, match="assistant sides differ"):
        spool.add(frame(ROWS[:1]))
