"""The Hub as a source: which files a mirror takes (as bronze would read them)."""

from orchestration.catalogue import load_catalogue
from storage.hub import allow_patterns, matches


def test_a_glob_matches_segment_by_segment_as_bronze_reads_a_mirror():
    assert matches("data/train-00000-of-00001.parquet", ["data/train-*.parquet"])
    assert not matches("data/old/train-0.parquet", ["data/train-*.parquet"])
    assert not matches("copy/data/train-0.parquet", ["data/train-*.parquet"])
    assert not matches("sub/train_0.jsonl", ["train_*.jsonl"])
    assert matches("flan.jsonl", ["evol_instruct.jsonl", "flan.jsonl"])


def test_the_allow_patterns_are_every_splits_globs_once():
    spec = load_catalogue()["ultrachat_200k"]
    patterns = allow_patterns(spec)
    assert patterns == sorted(set(patterns))
    assert set(patterns) == {g for globs in spec.splits.values() for g in globs}
    assert len(patterns) == 4
