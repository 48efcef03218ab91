"""Near-duplicate removal for the SFT tables, with memory bounded by a batch.

The pure steps are in transforms/near_duplicates.py; this module keeps their inputs on
disk. A build spools the rows it would write, their MinHash signatures (memory-mapped
arrays) and band keys to a temporary folder, groups the LSH buckets one band at a time,
verifies the candidates, and then streams the spooled rows back without the dropped
copies. The signatures of every row judged are kept in `gold/minhash_signatures`, so that
rows appended later are checked against all of them without recomputing anything: an
increment that brings a near-duplicate of anything already judged (or of itself) rebuilds
the table, so a table always holds what a build from scratch would hold.

Survivor rule: in a cluster, the member that comes first by (the dataset's place in the
catalogue, split, source file, source row, example id) stays; the others are dropped and
listed in `gold/near_duplicates`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from assets.lake import Lake, compact
from transforms.near_duplicates import (
    NearDuplicateSettings,
    band_frame,
    band_keys,
    candidate_pairs,
    clusters,
    signatures,
    verified_pairs,
)

SIGNATURES = ("gold", "minhash_signatures")
NEAR_DUPLICATES = ("gold", "near_duplicates")
LINEAGE = ["example_id", "dataset", "split", "source_file", "source_row", "source_id"]
LINEAGE_SCHEMA = {
    **{c: pl.String for c in LINEAGE},
    "source_row": pl.Int64,
    "position": pl.Int64,
}
IN_MEMORY_BYTES = 256 * 2**20
PAIR_COLUMNS = ["left", "right", "user_similarity", "assistant_similarity"]


MEMBERS_SCHEMA = pl.Schema(
    {
        "table": pl.String,
        "cluster": pl.String,
        "survivor": pl.Boolean,
        "example_id": pl.String,
        "dataset": pl.String,
        "split": pl.String,
        "source_file": pl.String,
        "source_row": pl.Int64,
        "source_id": pl.String,
        "user_similarity": pl.Float64,
        "assistant_similarity": pl.Float64,
    }
)


def preference(ranks: Mapping[str, int]) -> list[pl.Expr]:
    """The order in which cluster members are preferred (first survives)."""
    return [
        pl.col("dataset").replace_strict(ranks, default=len(ranks), return_dtype=pl.Int64),
        pl.col("split"),
        pl.col("source_file"),
        pl.col("source_row"),
        pl.col("example_id"),
    ]


@dataclass
class Judged:
    """What a near-duplicate pass decided over one table's rows."""

    members: pl.DataFrame
    """Every member of a cluster of two or more: LINEAGE, cluster (the survivor's
    example_id), survivor, user_similarity, assistant_similarity (its closest pair's)."""

    @property
    def dropped(self) -> pl.Series:
        return self.members.filter(~pl.col("survivor"))["example_id"]

    def counts(self) -> Counter[str]:
        """Rows dropped per dataset."""
        return Counter(self.members.filter(~pl.col("survivor"))["dataset"].to_list())


class SignatureSpool:
    """Rows, lineage, signatures and band keys of a stream of SFT frames, on disk."""

    def __init__(self, folder: Path, settings: NearDuplicateSettings) -> None:
        self.folder, self.settings = folder, settings
        self.rows = 0
        self.seconds = 0.0
        """Time spent computing signatures and pairs (not reading or writing rows)."""
        self._writers: dict[str, pa.ipc.RecordBatchStreamWriter] = {}
        self._files = {name: (folder / f"{name}.bin").open("wb") for name in _ARRAYS}

    def add(self, frame: pl.DataFrame) -> None:
        started = time.perf_counter()
        user, assistant = signatures(frame["messages"], self.settings)
        keys = band_keys(user, assistant, self.settings)
        self.seconds += time.perf_counter() - started
        for name, values in zip(_ARRAYS, (user, assistant, keys), strict=True):
            values.tofile(self._files[name])
        lineage = frame.select(LINEAGE).with_columns(
            position=pl.int_range(self.rows, self.rows + frame.height, dtype=pl.Int64)
        )
        self._write("lineage", lineage)
        self._write("rows", frame)
        self.rows += frame.height

    def _write(self, name: str, frame: pl.DataFrame) -> None:
        data = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
        if name not in self._writers:
            self._writers[name] = pa.ipc.new_stream(
                str(self.folder / f"{name}.arrows"), data.schema
            )
        self._writers[name].write_table(data)

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        for file in self._files.values():
            file.close()

    def array(self, name: str) -> np.ndarray:
        """A spooled array, memory-mapped (rows × columns)."""
        dtype, width = (
            (np.uint64, self.settings.bands)
            if name == "keys"
            else (np.uint32, self.settings.num_perm)
        )
        if self.rows == 0:
            return np.empty((0, width), dtype=dtype)
        return np.memmap(self.folder / f"{name}.bin", dtype=dtype, mode="r").reshape(-1, width)

    def frames(self, name: str) -> Iterator[pl.DataFrame]:
        """The spooled frames of `name` ("rows" or "lineage"), one batch at a time."""
        if name not in self._writers:
            return
        with pa.OSFile(str(self.folder / f"{name}.arrows")) as source:
            for batch in pa.ipc.open_stream(source):
                yield pl.from_arrow(pa.Table.from_batches([batch]))  # type: ignore[misc]

    def pairs(self, across: np.ndarray | None = None) -> pl.DataFrame:
        """The verified near-duplicate pairs of spooled rows (positions `left` < `right`,
        both similarities): LSH buckets grouped one band at a time, candidates verified.
        With `across` (a group code per row), only pairs of rows in different groups."""
        started = time.perf_counter()
        user, assistant, keys = (self.in_memory(n) for n in ("user", "assistant", "keys"))
        verified = [pl.DataFrame(schema=dict.fromkeys(PAIR_COLUMNS, pl.Float64))]
        for band in range(self.settings.bands):
            bucketed = band_frame(np.arange(self.rows), keys[:, band : band + 1])
            candidates = candidate_pairs(bucketed, self.settings)
            if across is not None:
                left, right = candidates["left"].to_numpy(), candidates["right"].to_numpy()
                candidates = candidates.filter(pl.Series(across[left] != across[right]))
            verified.append(verified_pairs(candidates, user, assistant, self.settings))
        pairs = pl.concat(verified, how="vertical_relaxed").unique(["left", "right"])
        self.seconds += time.perf_counter() - started
        return pairs.cast({"left": pl.Int64, "right": pl.Int64})

    def in_memory(self, name: str) -> np.ndarray:
        """A spooled array, read into memory when it is under IN_MEMORY_BYTES (random
        access to a memory map costs more than the read), memory-mapped otherwise."""
        array = self.array(name)
        return np.array(array) if array.nbytes <= IN_MEMORY_BYTES else array

    def lineage(self, positions: Iterable[int]) -> pl.DataFrame:
        """The lineage (LINEAGE and position) of the spooled rows at `positions`."""
        wanted = pl.Series(list(positions), dtype=pl.Int64).implode()
        return pl.concat(
            [
                pl.DataFrame(schema=LINEAGE_SCHEMA),
                *(f.filter(pl.col("position").is_in(wanted)) for f in self.frames("lineage")),
            ],
            how="diagonal_relaxed",
        )

    def judge(self, ranks: Mapping[str, int]) -> Judged:
        """Cluster the spooled rows and pick each cluster's survivor by `preference`."""
        pairs = self.pairs()
        cluster_of = clusters(pairs)
        return Judged(survivors(pairs, cluster_of, self.lineage(cluster_of), ranks))


def survivors(
    pairs: pl.DataFrame,
    cluster_of: dict[int, int],
    lineage: pl.DataFrame,
    ranks: Mapping[str, int],
) -> pl.DataFrame:
    """Cluster members with their lineage, the preferred member of each marked survivor."""
    schema = {c: t for c, t in MEMBERS_SCHEMA.items() if c != "table"}
    if not cluster_of:
        return pl.DataFrame(schema=schema)
    closest = (
        pl.concat(
            [
                pairs.select(position="left", user=PAIR_COLUMNS[2], assistant=PAIR_COLUMNS[3]),
                pairs.select(position="right", user=PAIR_COLUMNS[2], assistant=PAIR_COLUMNS[3]),
            ]
        )
        .group_by("position")
        .agg(user_similarity=pl.max("user"), assistant_similarity=pl.max("assistant"))
    )
    members = (
        pl.DataFrame(
            {"position": list(cluster_of), "component": list(cluster_of.values())},
            schema={"position": pl.Int64, "component": pl.Int64},
        )
        .join(lineage, on="position")
        .join(closest, on="position")
        .sort([pl.col("component"), *preference(ranks)])
    )
    first = pl.col("example_id").first().over("component")
    return members.with_columns(cluster=first, survivor=pl.col("example_id") == first).select(
        list(schema)
    )


def signature_frames(spool: SignatureSpool, table: str, batch: int) -> Iterator[pl.DataFrame]:
    """`gold/minhash_signatures` rows for every spooled row: table, example_id and both
    signatures as bytes (num_perm little-endian uint32 each)."""
    user, assistant = spool.array("user"), spool.array("assistant")
    ids = (frame["example_id"] for frame in spool.frames("lineage"))
    yield signature_rows(table, pl.Series("example_id", [], pl.String), user[:0], assistant[:0])
    start = 0
    for example_ids in ids:
        end = start + len(example_ids)
        for lo in range(start, end, batch):
            hi = min(lo + batch, end)
            yield signature_rows(
                table, example_ids.slice(lo - start, hi - lo), user[lo:hi], assistant[lo:hi]
            )
        start = end


def signature_rows(
    table: str, example_ids: pl.Series, user: np.ndarray, assistant: np.ndarray
) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "table": pl.Series([table] * len(example_ids), dtype=pl.String),
            "example_id": example_ids,
            "user_signature": pl.Series([row.tobytes() for row in user], dtype=pl.Binary),
            "assistant_signature": pl.Series([row.tobytes() for row in assistant], dtype=pl.Binary),
        }
    )


def signature_rows_empty() -> pl.DataFrame:
    """No signatures (the schema of `signature_rows`, without the table column)."""
    return signature_rows("", pl.Series("example_id", [], pl.String), *[np.empty((0, 0))] * 2).drop(
        "table"
    )


def decoded(column: pl.Series, width: int) -> np.ndarray:
    """Signatures stored as bytes back to a rows × width uint32 array."""
    if column.len() == 0:
        return np.empty((0, width), dtype=np.uint32)
    return np.frombuffer(b"".join(column.to_list()), dtype="<u4").reshape(-1, width)


def meets_judged_rows(
    lake: Lake,
    table: str,
    new: Iterable[pl.DataFrame],
    settings: NearDuplicateSettings,
    batch: int,
) -> bool:
    """Whether any new row is a near-duplicate of another new row or of a row already
    judged for `table` (in `gold/minhash_signatures`): then only a rebuild is exact."""
    messages = pl.concat([f.select("messages") for f in new])["messages"]
    if messages.len() == 0:
        return False
    user, assistant = signatures(messages, settings)
    keys = band_keys(user, assistant, settings)
    fresh = band_frame(np.arange(len(user)), keys)
    if verified_pairs(candidate_pairs(fresh, settings), user, assistant, settings).height:
        return True
    offset = len(user)
    for stored in lake.batches(SIGNATURES, batch, where={"table": table}):
        old_user = decoded(stored["user_signature"], settings.num_perm)
        old_assistant = decoded(stored["assistant_signature"], settings.num_perm)
        old = band_frame(
            np.arange(offset, offset + len(old_user)),
            band_keys(old_user, old_assistant, settings),
        )
        candidates = fresh.join(old, on=["band", "key"], suffix="_old").select(
            left="id", right="id_old"
        )
        if candidates.height:
            both_user = np.concatenate([user, old_user])
            both_assistant = np.concatenate([assistant, old_assistant])
            shifted = candidates.unique()
            if verified_pairs(shifted, both_user, both_assistant, settings).height:
                return True
    return False


def write_side_table(
    lake: Lake, key: tuple[str, str], table: str, frames: Iterable[pl.DataFrame]
) -> None:
    """Replace `table`'s slice of a side table (partitioned by table) with `frames`."""
    rows = (f.with_columns(table=pl.lit(table, dtype=pl.String)) for f in frames)
    lake.write_batches(key, rows, replace={"table": table}, partition_by=("table",))


def append_signatures(
    lake: Lake, table: str, frames: list[pl.DataFrame], settings: NearDuplicateSettings
) -> None:
    """Add the signatures of rows appended to `table` to gold/minhash_signatures."""
    frame = pl.concat([f.select("example_id", "messages") for f in frames])
    user, assistant = signatures(frame["messages"], settings)
    rows = signature_rows(table, frame["example_id"], user, assistant)
    lake.write_batches(
        SIGNATURES, [rows], replace={"table": table}, partition_by=("table",), append=True
    )


def kept_rows(spool: SignatureSpool, judged: Judged) -> Iterator[pl.DataFrame]:
    """The spooled rows without the dropped copies, one batch at a time."""
    dropped = judged.dropped.implode()
    for frame in spool.frames("rows"):
        yield compact(frame.filter(~pl.col("example_id").is_in(dropped)))


_ARRAYS = ("user", "assistant", "keys")
