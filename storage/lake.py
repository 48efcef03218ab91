"""The two resources assets use: the Delta lake they write to, and the raw sources they read.

They live beside the assets (not in orchestration/) so that assets can name their types
while dependencies still point one way: orchestration configures them, assets use them.
See docs/decisions/0001-delta-io.md for why this is a resource and not an IO manager.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import tempfile
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote

import deltalake
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from dagster import ConfigurableResource
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError

from transforms.catalogue import DatasetSpec
from transforms.decontaminate import benchmark_turns
from transforms.records import split_jsonl

_WRITE_ATTEMPTS = 5
# Row groups of at most this many rows: a reader (Lake.batches, DuckDB, Polars) decodes a
# whole row group at a time, so it bounds their memory (the writer's default, 1 M rows,
# made one ~400 MB row group per file of dialogues).
ROW_GROUP_ROWS = 8_192
# Zstandard at level 1: the writer's properties without a codec wrote every data file
# uncompressed (2.5x the bytes of zstd on real dialogues, 1.8x those of snappy), which made
# the lake at the published sizes outgrow its disk (docs/performance.md, run AC).
WRITER_PROPERTIES = deltalake.WriterProperties(
    max_row_group_size=ROW_GROUP_ROWS, compression="ZSTD", compression_level=1
)
# Data files of about 16 MB: the Delta writer holds the file in progress (per partition)
# and what it has read ahead in memory, so this bounds its memory (a 3 GB slice: 1.8 GB
# peak with the default ~100 MB files, 1.2 GB with these), at no cost in write time.
TARGET_FILE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class TableWrite:
    """What one write did: the table's path, its Delta version after the write, the rows,
    and whether a commit was made (False when the slice already held exactly these rows)."""

    uri: str
    version: int
    rows: int
    committed: bool = True


class Lake(ConfigurableResource):
    """Delta tables at `<root>/<layer>/<table>`; root is a path or a deltalake URI."""

    root: str
    storage_options: dict[str, str] = {}
    """Non-secret object-store options (endpoint, region...). Credentials are never config:
    they are read from the environment (AWS_*, AZURE_*, GOOGLE_*) when a table is opened,
    so they appear in no run config, resource page, log or metadata."""

    def options(self) -> dict[str, str]:
        return {**credentials_from_environment(), **self.storage_options}

    def uri(self, key: Sequence[str]) -> str:
        return "/".join([self.root.rstrip("/"), *key])

    def table(self, key: Sequence[str]) -> deltalake.DeltaTable | None:
        try:
            return deltalake.DeltaTable(self.uri(key), storage_options=self.options())
        except TableNotFoundError:
            return None

    def scan(self, key: Sequence[str], version: int | None = None) -> pl.LazyFrame:
        return pl.scan_delta(self.uri(key), version=version, storage_options=self.options())

    def rows_by_key(
        self,
        key: Sequence[str],
        column: str,
        values: pl.Series,
        where: pl.Expr | None = None,
    ) -> pl.DataFrame | None:
        """The first row of table `key` (matching `where`) for each of `values` in `column`,
        for the content-keyed caches; None when the table does not exist yet."""
        if self.table(key) is None:
            return None
        scan = self.scan(key)
        if where is not None:
            scan = scan.filter(where)
        wanted = pl.DataFrame({column: values.unique()}).lazy()
        return scan.join(wanted, on=column, how="semi").unique(column, keep="first").collect()

    def write(
        self,
        key: Sequence[str],
        frame: pl.DataFrame,
        *,
        partition_by: Sequence[str] = (),
        replace: Mapping[str, str] | None = None,
        commit_metadata: Mapping[str, str] | None = None,
    ) -> TableWrite:
        """Write `frame` atomically as one Delta commit (see `write_batches`)."""
        return self.write_batches(
            key,
            [frame],
            partition_by=partition_by,
            replace=replace,
            commit_metadata=commit_metadata,
        )

    def write_batches(
        self,
        key: Sequence[str],
        frames: Iterable[pl.DataFrame],
        *,
        partition_by: Sequence[str] = (),
        replace: Mapping[str, str] | None = None,
        commit_metadata: Mapping[str, str] | None = None,
        before_commit: Callable[[], None] | None = None,
        append: bool = False,
        arrow_schema: pa.Schema | None = None,
    ) -> TableWrite:
        """Write the rows of `frames` (at least one frame, all of one schema) atomically as
        one Delta commit, holding one frame in memory at a time.

        The frames are spooled to a local Arrow IPC file first (under TMPDIR), so the
        digest is known before anything is committed and a failure while producing them
        (an exception raised by the iterator) leaves the table untouched. `before_commit`
        runs once every frame is spooled, before anything is committed (it may write other
        tables that must be complete before this one claims to be, or complete
        `commit_metadata`, which is read after it).

        With `replace` (column -> value), only the rows matching it are replaced (Delta's
        replaceWhere): other partitions keep their data, and rewriting a slice with the
        same rows is idempotent. Without it the whole table is overwritten. Strings are
        written as plain Arrow strings (not string_view), which every reader accepts.
        A concurrent commit that conflicts is retried. Writing the rows the slice already
        holds (same content digest and commit metadata as its last commit) commits
        nothing: unchanged input makes no new table version. (Same rows under new commit
        metadata, such as the inputs they were computed from, are committed, so that the
        inputs recorded are always those of the latest build.)

        With `append`, the rows are added to the slice `replace` names (or to the table)
        and nothing is removed: the commit only adds files, so readers of the table's
        growth (`added_files`) see exactly these rows. Its digest is that of the added rows.
        `arrow_schema` casts the rows before they are written (see `spool_frames`).
        """
        predicate = _predicate(replace) if replace and not append else None
        slice_name = _predicate(replace) if replace else "*"
        with tempfile.TemporaryDirectory(prefix="lake-spool-") as spool_dir:
            spool = Path(spool_dir) / "rows.arrows"
            schema, rows, digest = spool_frames(frames, spool, arrow_schema)
            if before_commit is not None:
                before_commit()
            if append:
                digest = f"appended:{digest}"  # names the added rows, never a whole slice
            else:
                previous = self.last_commit_metadata(key, {"slice": slice_name})
                if previous is not None and all(
                    previous.get(k) == v
                    for k, v in {**(commit_metadata or {}), "content_digest": digest}.items()
                ):
                    return TableWrite(self.uri(key), self.version(key), rows, committed=False)
            metadata = {**(commit_metadata or {}), "slice": slice_name, "content_digest": digest}
            properties = deltalake.CommitProperties(custom_metadata=metadata)
            if replace:
                self._create_if_missing(key, schema, partition_by)
            for attempt in range(_WRITE_ATTEMPTS):
                try:
                    with pa.OSFile(str(spool)) as source:
                        deltalake.write_deltalake(
                            self.uri(key),
                            pa.ipc.open_stream(source),
                            mode="append" if append else "overwrite",
                            partition_by=list(partition_by) or None,
                            predicate=predicate,
                            schema_mode=None if replace or append else "overwrite",
                            storage_options=self.options(),
                            commit_properties=properties,
                            writer_properties=WRITER_PROPERTIES,
                            target_file_size=TARGET_FILE_BYTES,
                        )
                    break
                except CommitFailedError:
                    if attempt == _WRITE_ATTEMPTS - 1:
                        raise
                    time.sleep(0.2 * 2**attempt)
        return TableWrite(self.uri(key), self.version(key), rows)

    def merge_rows(
        self,
        key: Sequence[str],
        column: str,
        rows: pl.DataFrame,
        leaving: pl.Series,
        *,
        commit_metadata: Mapping[str, str] | None = None,
        before_commit: Callable[[], None] | None = None,
    ) -> TableWrite:
        """In one Delta commit (a MERGE on `column`), remove the rows whose `column` value is
        in `leaving` and add `rows`, none of which the table may hold already. Only the
        files holding a leaving row are rewritten. `before_commit` as in `write_batches`."""
        table = self.table(key)
        if table is None:
            raise FileNotFoundError(self.uri(key))
        held = (
            self.scan(key)
            .select(column)
            .filter(pl.col(column).is_in(rows[column].implode()))
            .head(3)
            .collect()
        )
        if held.height:
            raise ValueError(f"{'/'.join(key)} already holds {held[column].to_list()}")
        source = pl.concat(
            [
                compact(rows).with_columns(_leaves=pl.lit(False)),
                pl.DataFrame({column: leaving.cast(rows.schema[column]), "_leaves": True}),
            ],
            how="diagonal_relaxed",
        )
        digest = hashlib.sha256()
        for value in source.sort(column)[column].to_list():
            digest.update(f"{value}\0".encode())
        metadata = {
            **(commit_metadata or {}),
            "slice": "*",
            "content_digest": f"merged:{digest.hexdigest()}",
        }
        if before_commit is not None:
            before_commit()
        table.merge(
            source.to_arrow(compat_level=pl.CompatLevel.oldest()),
            predicate=f"t.{column} = s.{column}",
            source_alias="s",
            target_alias="t",
            commit_properties=deltalake.CommitProperties(custom_metadata=metadata),
            writer_properties=WRITER_PROPERTIES,
        ).when_matched_delete(predicate="s._leaves").when_not_matched_insert(
            updates={c: f"s.{c}" for c in rows.columns}, predicate="NOT s._leaves"
        ).execute()
        return TableWrite(self.uri(key), self.version(key), rows.height)

    def batches(
        self,
        key: Sequence[str],
        rows: int,
        *,
        where: Mapping[str, str] | None = None,
        columns: Sequence[str] | None = None,
        version: int | None = None,
    ) -> Iterator[pl.DataFrame]:
        """The table's rows (those matching `where`, column -> value) as frames of at most
        `rows` rows, read by Polars' streaming engine as they are consumed: memory holds
        about one frame, whatever the size of the table. Nothing is yielded for a missing
        table or an empty slice."""
        if self.table(key) is None:
            return
        yield from _stream(self.scan(key, version=version), rows, where, columns)

    def files_at(self, key: Sequence[str], version: int) -> dict[str | None, list[str]]:
        """The URIs of the Parquet files that hold the table's rows at `version`, by the
        value of its partition column (None for an unpartitioned table); the files of a
        partitioned table do not hold that column. More partition columns are refused."""
        table = deltalake.DeltaTable(self.uri(key), version=version, storage_options=self.options())
        columns = table.metadata().partition_columns
        if len(columns) > 1:
            raise ValueError(f"{'/'.join(key)} is partitioned by {columns}: one column at most")
        found: dict[str | None, list[str]] = {}
        for path, partitions in _data_files(table).items():
            value = partitions[columns[0]] if columns else None
            found.setdefault(value, []).append(f"{self.uri(key)}/{unquote(path)}")
        return {value: sorted(uris) for value, uris in found.items()}

    def added_files(self, key: Sequence[str], since: int) -> list[AddedFile] | None:
        """The data files the table gained after version `since`, if it only gained: every
        file of that version is still part of the table (appends, no rewrite or delete).
        None when any was removed since, or `since` can no longer be loaded (log cleaned
        up): the caller must then read the table whole."""
        table = self.table(key)
        if table is None:
            return None
        try:
            before = deltalake.DeltaTable(
                self.uri(key), version=since, storage_options=self.options()
            )
        except (DeltaError, TableNotFoundError, OSError, ValueError):
            return None
        earlier, now = _data_files(before), _data_files(table)
        if not earlier.keys() <= now.keys():
            return None
        base = self.uri(key)
        return [
            AddedFile(f"{base}/{unquote(path)}", partitions)
            for path, partitions in now.items()
            if path not in earlier
        ]

    def read_added(
        self,
        key: Sequence[str],
        files: Sequence[AddedFile],
        rows: int,
        *,
        where: Mapping[str, str] | None = None,
        columns: Sequence[str] | None = None,
    ) -> Iterator[pl.DataFrame]:
        """The rows of `files` (from `added_files`) as `batches` reads the table: same
        columns and types, in frames of at most `rows` rows."""
        if not files:
            return
        schema = self.scan(key).collect_schema()
        parts = [
            pl.scan_parquet(file.uri, storage_options=self.options() or None)
            .with_columns(
                pl.lit(value, dtype=schema[column]).alias(column)
                for column, value in file.partitions.items()
            )
            .select(schema.names())
            .cast(dict(schema))
            for file in files
        ]
        yield from _stream(pl.concat(parts), rows, where, columns)

    def increment_interrupted(
        self, ledger: Sequence[str], key: Sequence[str], previous: Mapping[str, object]
    ) -> bool:
        """Whether an increment of table `key` from its commit `previous` appended rows to
        `ledger` (tagged by `increment_tag`) but never committed the table itself: a crash
        in between. The caller then rebuilds the slice whole, which replaces those rows."""
        return self.last_commit_metadata(ledger, increment_tag(key, previous)) is not None

    def _create_if_missing(
        self, key: Sequence[str], schema: pa.Schema, partition_by: Sequence[str]
    ) -> None:
        """Create an empty table first, so that writers racing to create it each replace
        only their own slice (a first write that overwrote the whole table could erase a
        slice another writer had just committed)."""
        if self.table(key) is not None:
            return
        try:
            deltalake.DeltaTable.create(
                self.uri(key),
                schema=schema,
                mode="ignore",
                partition_by=list(partition_by) or None,
                storage_options=self.options(),
            )
        except (CommitFailedError, DeltaError):
            if self.table(key) is None:  # not a lost race: a real failure
                raise

    def append(self, key: Sequence[str], frame: pl.DataFrame) -> TableWrite:
        """Add rows in one commit (for append-only tables such as the text cache)."""
        deltalake.write_deltalake(
            self.uri(key),
            frame.to_arrow(compat_level=pl.CompatLevel.oldest()),
            mode="append",
            storage_options=self.options(),
            writer_properties=WRITER_PROPERTIES,
        )
        return TableWrite(self.uri(key), self.version(key), frame.height)

    def version(self, key: Sequence[str]) -> int:
        """The table's current version; raises FileNotFoundError for a missing table."""
        table = self.table(key)
        if table is None:
            raise FileNotFoundError(self.uri(key))
        return table.version()

    def last_slice_commit(self, key: Sequence[str], replace: Mapping[str, str]) -> dict | None:
        """The custom metadata of the newest commit that wrote the slice `replace` names."""
        return self.last_commit_metadata(key, {"slice": _predicate(replace)})

    def last_commit_metadata(self, key: Sequence[str], match: Mapping[str, str]) -> dict | None:
        """The newest commit whose custom metadata contains `match`, or None."""
        table = self.table(key)
        if table is None:
            return None
        for commit in table.history(limit=200):
            if all(commit.get(k) == v for k, v in match.items()):
                return commit
        return None


@dataclass(frozen=True)
class AddedFile:
    """A data file a table gained: where it is and its partition values."""

    uri: str
    partitions: dict[str, str]


def _stream(
    frame: pl.LazyFrame,
    rows: int,
    where: Mapping[str, str] | None,
    columns: Sequence[str] | None,
) -> Iterator[pl.DataFrame]:
    """The non-empty frames of at most `rows` rows of `frame`, filtered and selected,
    read by Polars' streaming engine as they are consumed."""
    for column, value in (where or {}).items():
        frame = frame.filter(pl.col(column) == value)
    if columns is not None:
        frame = frame.select(columns)
    for batch in frame.collect_batches(chunk_size=rows):
        if batch.height:
            yield batch


def increment_tag(key: Sequence[str], previous: Mapping[str, object]) -> dict[str, str]:
    """Commit metadata for ledger rows appended by an increment of table `key` that starts
    from its commit `previous` (a history entry): names that starting state."""
    return {"increment_base": f"{'/'.join(key)}:{previous.get('slice')}@{previous['version']}"}


def _data_files(table: deltalake.DeltaTable) -> dict[str, dict[str, str]]:
    """Path (relative, as in the log) -> partition values of every data file of a version."""
    actions = pa.table(table.get_add_actions(flatten=True))
    prefix = "partition."
    partition_columns = [c for c in actions.column_names if c.startswith(prefix)]
    return {
        row["path"]: {c.removeprefix(prefix): row[c] for c in partition_columns}
        for row in actions.select(["path", *partition_columns]).to_pylist()
    }


def spool_frames(
    frames: Iterable[pl.DataFrame], path: Path, arrow_schema: pa.Schema | None = None
) -> tuple[pa.Schema, int, str]:
    """Write frames to one Arrow IPC stream file; returns its schema, row count and a
    content digest. With `arrow_schema`, the rows are cast to it (e.g. `string` rather
    than Polars' `large_string`, where readers compare types).

    The digest is sha256 over the schema and every row's hash in order, so it names the
    rows whatever the frames' boundaries (the same rows written in batches of 7 or in one
    frame digest alike). Row hashes are Polars' `hash_rows`, stable within a Polars
    version: an upgrade may cost one rewrite of unchanged slices, never a missed change.
    """
    writer: pa.ipc.RecordBatchStreamWriter | None = None
    schema: pa.Schema | None = None
    digest = hashlib.sha256()
    rows = 0
    try:
        for frame in frames:
            data = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
            if arrow_schema is not None:
                data = data.select(arrow_schema.names).cast(arrow_schema)
            if writer is None:
                schema = data.schema
                writer = pa.ipc.new_stream(str(path), schema)
                digest.update(str(schema).encode("utf-8"))
            writer.write_table(data)
            if frame.height:
                digest.update(frame.hash_rows().to_numpy().astype("<u8").tobytes())
            rows += data.num_rows
        if writer is None or schema is None:
            raise ValueError("nothing to write: give at least one (possibly empty) frame")
        return schema, rows, digest.hexdigest()
    finally:
        if writer is not None:
            writer.close()


def compact(frame: pl.DataFrame) -> pl.DataFrame:
    """A copy of `frame` that owns its data. Polars' filters and slices of strings are
    views into the original buffers: a small frame derived from a batch would otherwise
    keep the whole batch's text in memory."""
    return pl.from_arrow(frame.to_arrow(compat_level=pl.CompatLevel.oldest()))  # type: ignore[return-value]


def credentials_from_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith(("AWS_", "AZURE_", "GOOGLE_"))}


def _predicate(replace: Mapping[str, str]) -> str:
    return " AND ".join(f"{col} = '{_sql_literal(v)}'" for col, v in replace.items())


def _sql_literal(value: str) -> str:
    return value.replace("'", "''")


@dataclass(frozen=True)
class SourceFile:
    """One raw file: its path in the Hub layout, where to read it, and a version of its content."""

    path: str  # relative to the dataset root, e.g. data/train-00000-of-00001-abc.parquet
    uri: str
    version: str  # sha256 of the bytes (local), or the pinned revision (hub)
    size: int | None
    mtime_ns: int | None = None


class SourceEscapesMirror(ValueError):
    """A catalogue glob or a symlink would read outside the mirror directory."""


_BOM = b"\xef\xbb\xbf"


def local_records(path: Path) -> Iterator[tuple[int, bytes]]:
    """`split_jsonl` of a local file, its lines streamed from disk: memory holds a line, not
    the file (a published UltraChat file is ~1 GB). A file holding one JSON array is read
    whole, as its elements cannot be told apart line by line."""
    with path.open("rb") as stream:
        if _opens_an_array(stream):
            stream.seek(0)
            yield from split_jsonl(stream.read())
            return
        stream.seek(0)
        for index, line in enumerate(stream):
            line = line.removeprefix(_BOM) if index == 0 else line
            if not line:  # a file holding only a BOM holds no line
                return
            yield index, line.removesuffix(b"\n").removesuffix(b"\r")


def _opens_an_array(stream: BinaryIO) -> bool:
    """True if the first byte after a BOM and JSON whitespace is `[`."""
    if stream.read(len(_BOM)) != _BOM:
        stream.seek(0)
    while chunk := stream.read(1 << 16):
        content = chunk.lstrip(b" \t\n\r")
        if content:
            return content[:1] == b"["
    return False


class Sources(ConfigurableResource):
    """Where raw files come from: `sample`, `hub`, or a directory mirroring the Hub layout."""

    location: str
    samples_dir: str
    hub_endpoint: str | None = None
    """The Hub's address in hub mode (None: huggingface_hub's, HF_ENDPOINT)."""

    @property
    def mode(self) -> str:
        return self.location if self.location in ("sample", "hub") else "mirror"

    def root(self) -> Path:
        return Path(self.samples_dir if self.location == "sample" else self.location)

    def describe(self) -> str:
        if self.mode == "hub":
            return "hf://datasets (Hugging Face Hub)"
        return f"{self.mode}: {self.root()}"

    def files(
        self, spec: DatasetSpec, split: str, known: Mapping[str, Sequence] | None = None
    ) -> list[SourceFile]:
        """Files of one split, sorted by path. Empty when a mirror lacks the dataset.

        A local file's version is the sha256 of its bytes. `known` ({path: [size,
        mtime_ns, sha256]}, from `file_stats` of an earlier build) saves reading a file
        again whose size and modification time are the same, as git and rsync do."""
        globs = spec.splits[split]
        if self.mode == "hub":
            from storage.hub import resolve_revision

            # reachable, readable, the revision exists: else one line that says what to do
            resolve_revision(spec, endpoint=self.hub_endpoint)
            return [hub_file(spec, pattern) for pattern in globs]
        dataset_root = (self.root() / spec.hub_repo).resolve()
        found: dict[str, SourceFile] = {}
        for pattern in globs:
            if Path(pattern).is_absolute() or ".." in Path(pattern).parts:
                raise SourceEscapesMirror(f"{spec.key}: glob {pattern!r} leaves the dataset root")
            for path in sorted(dataset_root.glob(pattern)):
                if not path.resolve().is_relative_to(dataset_root):
                    raise SourceEscapesMirror(
                        f"{spec.key}: {path} resolves outside the mirror ({path.resolve()})"
                    )
                if path.is_file():
                    relative = path.relative_to(dataset_root).as_posix()
                    stat = path.stat()
                    seen = (known or {}).get(relative)
                    same = seen is not None and list(seen[:2]) == [stat.st_size, stat.st_mtime_ns]
                    found[relative] = SourceFile(
                        relative,
                        str(path),
                        seen[2] if same else file_sha256(path),  # type: ignore[index]
                        stat.st_size,
                        stat.st_mtime_ns,
                    )
        return [found[p] for p in sorted(found)]

    def revision_read(self, spec: DatasetSpec) -> str | None:
        """The Hub revision the files are read at: the catalogue's in hub mode, the commit a
        mirror recorded when `make mirror` made it; None for the bundled samples and for a
        directory without a record."""
        if self.mode == "hub":
            return spec.revision
        if self.mode == "mirror":
            from storage.hub import read_record

            record = read_record(self.root(), spec)
            return record["commit"] if record else None
        return None

    def listing(self, spec: DatasetSpec, split: str) -> list[tuple[str, int, int]]:
        """(path, size, mtime) of a split's files: a cheap look for whether anything changed.

        Hub mode cannot list without network; it reports the pinned globs, so a changed
        revision in the catalogue is a change.
        """
        if self.mode == "hub":
            return [(hub_file(spec, p).uri, 0, 0) for p in spec.splits[split]]
        root = self.root() / spec.hub_repo
        paths = sorted({p for pattern in spec.splits[split] for p in root.glob(pattern)})
        return [
            (p.relative_to(root).as_posix(), p.stat().st_size, p.stat().st_mtime_ns)
            for p in paths
            if p.is_file()
        ]

    def read_lines(self, file: SourceFile) -> Iterator[tuple[int, bytes]]:
        """The records of a JSON file as (0-based index, bytes): its lines (JSON Lines) or
        the elements of the one JSON array it holds (`split_jsonl`). A `.gz` file is
        gunzipped first; one that does not gunzip (cut short, corrupt) raises an OSError,
        as does a JSON array that does not parse: the file is rejected whole."""
        if file.uri.endswith(".gz"):
            if self.mode == "hub":
                return self._hub_gzip_records(file)
            return split_jsonl(gunzip(Path(file.uri).read_bytes(), file.path))
        if self.mode == "hub":
            lines = pl.read_lines(file.uri)["line"]
            return ((i, line.encode("utf-8")) for i, line in enumerate(lines))
        return local_records(Path(file.uri))

    def _hub_gzip_records(self, file: SourceFile) -> Iterator[tuple[int, bytes]]:
        """A `.gz` file on the Hub: its bytes at the same hf:// address (pinned revision,
        token from HF_TOKEN as Polars reads it) through huggingface_hub's file system,
        gunzipped. A glob's files are read in path order and their records numbered on,
        as `pl.read_lines` numbers the lines of a glob; one file is in memory at a time."""
        from huggingface_hub import HfFileSystem

        hub = HfFileSystem(endpoint=self.hub_endpoint)
        if any(c in file.path for c in "*?["):
            paths = sorted(hub.glob(file.uri))
            if not paths:
                raise FileNotFoundError(f"no file on the Hub matches {file.uri}")
        else:
            paths = [file.uri]
        first = 0
        for path in paths:
            index = -1
            for index, record in split_jsonl(gunzip(hub.cat_file(path), path)):
                yield first + index, record
            first += index + 1

    def parquet_batches(self, file: SourceFile, rows: int) -> Iterator[tuple[int, pl.DataFrame]]:
        """(first row, frame) for batches of about `rows` rows of a Parquet file, read as
        they are consumed. Opening the file (and reading its footer) happens on the first
        `next`, so a corrupt file fails there. Hub files are read whole."""
        if self.mode == "hub":
            yield 0, pl.read_parquet(file.uri)
            return
        parquet = pq.ParquetFile(file.uri)
        first_row = 0
        for batch in parquet.iter_batches(batch_size=rows):
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            yield first_row, frame
            first_row += frame.height
        if first_row == 0:  # an empty file still has a schema
            yield 0, pl.from_arrow(parquet.schema_arrow.empty_table())  # type: ignore[misc]


def gunzip(data: bytes, name: str) -> bytes:
    """The decompressed bytes of a gzip file (all of its members). Every way the bytes can
    fail to gunzip is an OSError (gzip.BadGzipFile) naming the file: a bad header or
    checksum, corrupt deflate data (zlib.error), or a file cut short (EOFError)."""
    try:
        return gzip.decompress(data)
    except gzip.BadGzipFile as error:
        raise gzip.BadGzipFile(f"{name}: {error}") from error
    except EOFError as error:
        raise gzip.BadGzipFile(f"{name}: cut short: {error}") from error
    except zlib.error as error:
        raise gzip.BadGzipFile(f"{name}: corrupt deflate data: {error}") from error


def hub_file(spec: DatasetSpec, pattern: str) -> SourceFile:
    """A Hub path, read by Polars: hf://datasets/<org>/<name>@<revision>/<path>."""
    uri = f"hf://datasets/{spec.hub_repo}@{spec.revision}/{pattern}"
    return SourceFile(pattern, uri, spec.revision, None)


BENCHMARKS_DIR = Path(__file__).resolve().parent.parent / "sources" / "benchmarks"
"""The pinned benchmark lists vendored with the lake (provenance in its SOURCE.md)."""


def load_benchmarks(folder: Path = BENCHMARKS_DIR) -> dict[str, list[str]]:
    """{benchmark name (the file's stem): every turn of every question} from `folder`'s
    `*.jsonl` files. A folder with no list is a ValueError, not an empty index."""
    paths = sorted(folder.glob("*.jsonl"))
    if not paths:
        raise ValueError(f"no benchmark lists (*.jsonl) in {folder}")
    benchmarks = {}
    for path in paths:
        with path.open(encoding="utf-8") as lines:
            benchmarks[path.stem] = benchmark_turns(lines, str(path))
    return benchmarks


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_stats(files: Sequence[SourceFile]) -> str:
    """{path: [size, mtime_ns, sha256]} of local files, for `Sources.files(known=...)`."""
    return json.dumps(
        {f.path: [f.size, f.mtime_ns, f.version] for f in files if f.mtime_ns is not None},
        separators=(",", ":"),
    )
