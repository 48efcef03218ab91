"""The lake's Delta IO (docs/decisions/0001-delta-io.md): the properties it was chosen for."""

import gzip
import json
import os
from dataclasses import replace

import duckdb
import polars as pl
import pyarrow.dataset as pds
import pyarrow.parquet as pq
import pytest

from assets.bronze import read_file
from storage.lake import (
    Lake,
    SourceFile,
    Sources,
    TableWrite,
    file_sha256,
    file_stats,
    hub_file,
    local_records,
)
from tests.orchestration.fake_hub import FakeHub, FakeRepo
from tests.specs import train_file_spec
from transforms.records import split_jsonl

KEY = ("bronze", "example")


def frame(split: str, texts: list[str]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "split": [split] * len(texts),
            "text": texts,
            "messages": [[{"content": t, "role": "user"}] for t in texts],
        }
    )


def write_split(
    lake: Lake, split: str, texts: list[str], commit_metadata: dict | None = None
) -> TableWrite:
    """`texts` as the rows of the partition `split`, replacing what it held."""
    return lake.write(
        KEY,
        frame(split, texts),
        partition_by=["split"],
        replace={"split": split},
        commit_metadata=commit_metadata,
    )


def test_partitioned_write_read_replace_and_time_travel(lake: Lake):
    v0 = write_split(lake, "train", ["a", "b"])
    v1 = write_split(lake, "test", ["c"])
    # Version 0 is the empty table, created first so racing writers never erase each other.
    assert (v0.version, v1.version) == (1, 2)
    assert lake.scan(KEY, version=0).collect().height == 0
    assert sorted(lake.scan(KEY).collect()["text"]) == ["a", "b", "c"]

    # Replacing one partition leaves the other alone and never duplicates rows.
    v2 = write_split(lake, "train", ["a2"])
    assert sorted(lake.scan(KEY).collect()["text"]) == ["a2", "c"]

    # Time travel: each earlier version reads back exactly as it was.
    assert sorted(lake.scan(KEY, version=1).collect()["text"]) == ["a", "b"]
    assert sorted(lake.scan(KEY, version=2).collect()["text"]) == ["a", "b", "c"]
    assert v2.version == 3


def test_tables_are_readable_through_pyarrow_dataset_filters_and_duckdb(lake: Lake):
    write_split(lake, "train", ["a", "b"])
    dataset = lake.table(KEY).to_pyarrow_dataset()
    assert dataset.to_table(filter=pds.field("text") == "b").num_rows == 1
    arrow = dataset.to_table()
    rows = duckdb.sql("select count(*) from arrow where text = 'a'").fetchall()
    assert rows == [(1,)]
    assert not any("view" in str(f.type) for f in arrow.schema)


def test_commit_metadata_records_what_a_partition_was_built_from(lake: Lake):
    write_split(
        lake, "train", ["a"], commit_metadata={"partition": "split=train", "sources": "fp1"}
    )
    write_split(lake, "test", ["b"], commit_metadata={"partition": "split=test", "sources": "fp2"})
    assert lake.last_commit_metadata(KEY, {"partition": "split=train"})["sources"] == "fp1"
    assert lake.last_commit_metadata(KEY, {"partition": "split=none"}) is None


def test_a_write_of_many_batches_is_one_commit(lake: Lake):
    batches = [frame("train", [f"t{i}", f"u{i}"]) for i in range(5)]
    written = lake.write_batches(KEY, iter(batches), partition_by=["split"])
    assert written.rows == 10
    assert [c["operation"] for c in lake.table(KEY).history()] == ["WRITE"]
    assert sorted(lake.scan(KEY).collect()["text"]) == sorted(t for b in batches for t in b["text"])


def test_a_failure_while_producing_batches_leaves_the_table_as_it_was(lake: Lake):
    write_split(lake, "train", ["kept"])
    version = lake.table(KEY).version()

    def failing():
        yield frame("train", ["new"])
        raise RuntimeError("worker died")

    with pytest.raises(RuntimeError, match="worker died"):
        lake.write_batches(KEY, failing(), partition_by=["split"], replace={"split": "train"})
    assert lake.table(KEY).version() == version
    assert lake.scan(KEY).collect()["text"].to_list() == ["kept"]


def test_before_commit_runs_once_everything_is_produced_and_nothing_is_committed_yet(lake: Lake):
    seen = []
    lake.write_batches(
        KEY,
        iter([frame("train", ["a"]), frame("train", ["b"])]),
        before_commit=lambda: seen.append(lake.table(KEY)),
    )
    assert seen == [None]  # the table did not exist yet when the callback ran
    assert lake.scan(KEY).collect().height == 2


def test_the_same_rows_in_other_batches_are_the_same_content(lake: Lake):
    """Unchanged rows make no new version, however they were batched."""
    texts = [f"t{i}" for i in range(9)]
    first = lake.write(KEY, frame("train", texts))
    again = lake.write_batches(KEY, (frame("train", texts[i : i + 2]) for i in range(0, 9, 2)))
    changed = lake.write_batches(KEY, iter([frame("train", [*texts[:8], "other"])]))
    assert (first.committed, again.committed, changed.committed) == (True, False, True)
    assert again.version == first.version


def test_batches_read_a_slice_in_bounded_frames(lake: Lake):
    lake.write(KEY, frame("train", [f"a{i}" for i in range(25)]), partition_by=["split"])
    write_split(lake, "test", ["b0", "b1"])
    frames = list(lake.batches(KEY, 10, where={"split": "train"}))
    assert all(f.height <= 20 for f in frames) and len(frames) >= 2
    assert sorted(pl.concat(frames)["text"]) == sorted(f"a{i}" for i in range(25))
    assert list(lake.batches(KEY, 10, where={"split": "missing"})) == []
    pinned = list(lake.batches(KEY, 100, version=lake.table(KEY).version() - 1))
    assert sorted(pl.concat(pinned)["text"]) == sorted(f"a{i}" for i in range(25))


def test_a_table_that_only_gained_rows_gives_exactly_those_rows(lake: Lake):
    write_split(lake, "train", ["a", "b"])
    start = lake.version(KEY)
    for split, texts in (("train", ["c"]), ("test", ["d", "e"])):
        lake.write_batches(
            KEY,
            [frame(split, texts)],
            partition_by=["split"],
            replace={"split": split},
            append=True,
        )
    files = lake.added_files(KEY, start)
    assert files is not None and len(files) == 2
    added = pl.concat(lake.read_added(KEY, files, rows=10)).sort("text")
    # The same columns, types and partition values as a read of the table.
    assert added.schema == lake.scan(KEY).collect_schema()
    assert added.select("split", "text").rows() == [("train", "c"), ("test", "d"), ("test", "e")]
    assert lake.scan(KEY).collect().height == 5
    assert lake.added_files(KEY, lake.version(KEY)) == []


def test_an_empty_append_adds_no_file_and_a_rewrite_is_not_growth(lake: Lake):
    write_split(lake, "train", ["a"])
    start = lake.version(KEY)
    empty = lake.write_batches(KEY, [frame("train", [])], partition_by=["split"], append=True)
    assert empty.version == start + 1 and lake.added_files(KEY, start) == []
    write_split(lake, "train", ["b"])
    assert lake.added_files(KEY, start) is None  # a file of `start` was removed
    assert lake.added_files(KEY, 999) is None  # a version that cannot be loaded


def test_the_same_rows_under_new_commit_metadata_are_committed(lake: Lake):
    """So that the inputs a table records are always those of its latest build."""
    first = lake.write(KEY, frame("train", ["a"]), commit_metadata={"inputs": "x"})
    same = lake.write(KEY, frame("train", ["a"]), commit_metadata={"inputs": "x"})
    relabelled = lake.write(KEY, frame("train", ["a"]), commit_metadata={"inputs": "y"})
    assert (same.committed, relabelled.committed) == (False, True)
    assert relabelled.version == first.version + 1
    assert lake.table(KEY).history(1)[0]["inputs"] == "y"


def test_merge_rows_removes_and_adds_in_one_commit_and_refuses_rows_already_held(lake: Lake):
    key = ("gold", "t")
    lake.write(key, pl.DataFrame({"id": ["a", "b", "c"], "n": [1, 2, 3]}))
    before = lake.version(key)
    written = lake.merge_rows(
        key,
        "id",
        pl.DataFrame({"id": ["d"], "n": [4]}),
        pl.Series(["b"]),
        commit_metadata={"inputs": "x"},
    )
    assert written.version == before + 1
    assert lake.scan(key).sort("id").collect().rows() == [("a", 1), ("c", 3), ("d", 4)]
    assert lake.table(key).history(1)[0]["inputs"] == "x"
    with pytest.raises(ValueError, match="already holds"):
        lake.merge_rows(
            key, "id", pl.DataFrame({"id": ["a"], "n": [9]}), pl.Series([], dtype=pl.String)
        )
    assert lake.version(key) == before + 1


def test_every_way_of_writing_stores_zstd_compressed_data_files(lake: Lake):
    """Text compresses ~2.5x: an uncompressed lake at the published sizes outgrew its disk."""
    text = pl.DataFrame({"id": ["a", "b"], "text": ["the same words again " * 50] * 2})
    lake.write(("silver", "t"), text.head(1), partition_by=["id"], replace={"id": "a"})
    lake.write(("gold", "t"), text)
    lake.append(("gold", "t"), text.with_columns(id=pl.lit("c")))
    lake.merge_rows(("gold", "t"), "id", text.with_columns(id=pl.lit("d")), pl.Series(["a"]))
    for key in (("silver", "t"), ("gold", "t")):
        files = lake.table(key).file_uris()
        groups = [pq.ParquetFile(f).metadata.row_group(0) for f in files]
        codecs = {g.column(c).compression for g in groups for c in range(g.num_columns)}
        assert len(files) >= 1 and codecs == {"ZSTD"}, key


def test_a_source_file_with_the_same_size_and_mtime_is_not_read_again(tmp_path):
    from orchestration.catalogue import load_catalogue

    spec = load_catalogue()["ultrachat"]
    folder = tmp_path / spec.hub_repo
    folder.mkdir(parents=True)
    path = folder / "train_0.jsonl"
    path.write_text('{"id": "1", "data": ["a", "b"]}\n', encoding="utf-8")
    sources = Sources(location=str(tmp_path), samples_dir=str(tmp_path))
    (first,) = sources.files(spec, "train")
    assert first.version == file_sha256(path)
    # Known stats of an earlier build are trusted: a recorded digest is taken as it is...
    known = json.loads(file_stats([first]))
    known["train_0.jsonl"][2] = "recorded"
    assert sources.files(spec, "train", known)[0].version == "recorded"
    # ...until the size or the modification time changes; then the bytes are read again.
    path.write_text('{"id": "1", "data": ["a", "c"]}\n', encoding="utf-8")
    os.utime(path, ns=(first.mtime_ns + 10**9, first.mtime_ns + 10**9))
    assert sources.files(spec, "train", known)[0].version == file_sha256(path) != first.version


# --- gzipped JSON sources (Anthropic/hh-rlhf) -----------------------------------------

HH = train_file_spec(
    "hh_rlhf",
    f"Anthropic/hh-rlhf@{'a' * 40}/helpful-base/train.jsonl.gz",
    license={"*": "MIT"},
    schema={"chosen": "string", "rejected": "string"},
    required=("chosen", "rejected"),
)
PAIRS = [
    {"chosen": "\n\nHuman: Hi\n\nAssistant: Hello!", "rejected": "\n\nHuman: Hi\n\nAssistant: Go."},
    {"chosen": "\n\nHuman: ¿Qué tal?\n\nAssistant: Bien.", "rejected": "\n\nHuman: ¿Qué tal?"},
]
LINES = b"".join(json.dumps(p, ensure_ascii=False).encode() + b"\n" for p in PAIRS)


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def local_file(tmp_path, path: str, data: bytes) -> tuple[Sources, SourceFile]:
    local = tmp_path / HH.hub_repo / path
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_bytes(data)
    sources = Sources(location=str(tmp_path), samples_dir="unused")
    (file,) = (f for f in sources.files(HH, "train") if f.path == path)
    return sources, file


def records(lines) -> list[tuple[int, dict]]:
    return [(index, json.loads(raw)) for index, raw in lines]


def test_a_gzipped_json_lines_file_is_read_as_its_lines(tmp_path):
    sources, file = local_file(tmp_path, "helpful-base/train.jsonl.gz", gz(LINES))
    assert records(sources.read_lines(file)) == list(enumerate(PAIRS))
    (parsed,) = read_file(HH, sources, file, batch_rows=100)
    assert [r["chosen"] for r in parsed.rows] == [p["chosen"] for p in PAIRS]


def test_json_lines_are_parsed_a_batch_at_a_time_with_their_positions(tmp_path):
    lines = LINES + b"\n" + b"{not json\n" + LINES
    sources, file = local_file(tmp_path, "helpful-base/train.jsonl.gz", gz(lines))
    batches = list(read_file(HH, sources, file, batch_rows=2))
    (whole,) = read_file(HH, sources, file, batch_rows=1_000)
    assert len(batches) == -(-(2 * len(PAIRS) + 2) // 2)  # every record and line, 2 a batch
    assert [p for b in batches for p in b.row_positions] == whole.row_positions
    assert [r for b in batches for r in b.rows] == whole.rows
    assert [r for b in batches for r in b.rejections] == whole.rejections
    assert sum(b.blank_lines for b in batches) == whole.blank_lines == 1


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xef\xbb\xbf",  # only a BOM: no line
        b"\xef\xbb\xbf{}\r\n\r\n{}",  # BOM, CRLF, a blank line, no final newline
        b"{}\n\n{not json\n",
        b"\n" + b" " * 70_000 + b"[1, 2]",  # an array, opened past the first chunk
        b" " * 70_000 + b"{}\n",
    ],
)
def test_a_local_file_streams_the_records_split_jsonl_finds_in_its_bytes(tmp_path, data):
    path = tmp_path / "file.jsonl"
    path.write_bytes(data)
    assert list(local_records(path)) == list(split_jsonl(data))


def test_a_file_that_fails_after_its_first_batch_raises_rather_than_half_landing(tmp_path):
    _, file = local_file(tmp_path, "helpful-base/train.jsonl.gz", gz(LINES))

    class ConnectionLost:
        """A source whose stream breaks after the first record."""

        def read_lines(self, _file):
            yield 0, LINES.split(b"\n")[0]
            raise OSError("connection reset")

    batches = read_file(HH, ConnectionLost(), file, batch_rows=1)  # type: ignore[arg-type]
    assert len(next(batches).rows) == 1
    with pytest.raises(OSError, match="connection reset"):
        next(batches)


def test_a_gzipped_json_array_is_read_as_its_elements(tmp_path):
    array = json.dumps(PAIRS, ensure_ascii=False, indent=1).encode()
    spec = replace(HH, splits={"train": ("red-team-attempts/red_team_attempts.jsonl.gz",)})
    local = tmp_path / spec.hub_repo / "red-team-attempts" / "red_team_attempts.jsonl.gz"
    local.parent.mkdir(parents=True)
    local.write_bytes(gz(array))
    sources = Sources(location=str(tmp_path), samples_dir="unused")
    (file,) = sources.files(spec, "train")
    assert records(sources.read_lines(file)) == list(enumerate(PAIRS))


@pytest.mark.parametrize(
    ("corrupt", "says"),
    [
        (lambda data: data[: len(data) // 2], "cut short"),
        (lambda data: data[:-8] + b"\0" * 8, "CRC check failed"),
        (lambda data: data[:10] + b"\xff" * (len(data) - 10), "corrupt deflate data"),
        (lambda data: LINES, "Not a gzipped file"),  # plain bytes under a .gz name
    ],
)
def test_a_corrupt_gzip_file_is_one_unreadable_file_rejection(tmp_path, corrupt, says):
    sources, file = local_file(tmp_path, "helpful-base/train.jsonl.gz", corrupt(gz(LINES)))
    with pytest.raises(OSError, match=says):
        sources.read_lines(file)
    (parsed,) = read_file(HH, sources, file, batch_rows=100)
    assert parsed.rows == []
    (rejection,) = parsed.rejections
    assert (rejection.source_row, rejection.reason) == (None, "unreadable_file")
    assert "helpful-base/train.jsonl.gz" in rejection.detail and says in rejection.detail


def test_a_gzipped_json_array_that_does_not_parse_is_one_unreadable_file_rejection(tmp_path):
    cut = json.dumps(PAIRS).encode()[:-20]
    sources, file = local_file(tmp_path, "helpful-base/train.jsonl.gz", gz(cut))
    (parsed,) = read_file(HH, sources, file, batch_rows=100)
    (rejection,) = parsed.rejections
    assert (rejection.source_row, rejection.reason) == (None, "unreadable_file")
    assert rejection.detail.startswith("MalformedJsonArray: JSON array, element 1")


def test_hub_mode_gunzips_the_bytes_read_at_the_pinned_revision():
    array = json.dumps(PAIRS).encode()
    files = {
        "helpful-base/train.jsonl.gz": gz(LINES),
        "harmless-base/train.jsonl.gz": gz(LINES[: LINES.index(b"\n") + 1]),
        "red-team-attempts/red_team_attempts.jsonl.gz": gz(array),
        "broken/train.jsonl.gz": gz(LINES)[:30],
    }
    repo = FakeRepo(commit=HH.revision, files=files, lfs=set(files))
    with FakeHub({HH.hub_repo: repo}) as hub:
        sources = Sources(location="hub", samples_dir="unused", hub_endpoint=hub.url)
        for path, expected in [
            ("helpful-base/train.jsonl.gz", PAIRS),
            ("red-team-attempts/red_team_attempts.jsonl.gz", PAIRS),
            # a glob: its files in path order, records numbered on
            ("*-base/train.jsonl.gz", [PAIRS[0], *PAIRS]),
        ]:
            file = hub_file(HH, path)
            assert records(sources.read_lines(file)) == list(enumerate(expected)), path
        (parsed,) = read_file(HH, sources, hub_file(HH, "broken/train.jsonl.gz"), 100)
        assert [r.reason for r in parsed.rejections] == ["unreadable_file"]
