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
    example_id), survivor, user_similarity, assistant_similarity (to the survivor)."""

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
        cluster_of = clusters(self.pairs())
        user, assistant = self.in_memory("user"), self.in_memory("assistant")
        return Judged(survivors(cluster_of, self.lineage(cluster_of), ranks, user, assistant))


def survivors(
    cluster_of: dict[int, int],
    lineage: pl.DataFrame,
    ranks: Mapping[str, int],
    user: np.ndarray,
    assistant: np.ndarray,
) -> pl.DataFrame:
    """Cluster members with their lineage, the preferred member of each marked survivor,
    and each member's estimated similarity to its survivor on both sides (1.0 for it)."""
    schema = {c: t for c, t in MEMBERS_SCHEMA.items() if c != "table"}
    if not cluster_of:
        return pl.DataFrame(schema=schema)
    members = (
        pl.DataFrame(
            {"position": list(cluster_of), "component": list(cluster_of.values())},
            schema={"position": pl.Int64, "component": pl.Int64},
        )
        .join(lineage, on="position")
        .sort([pl.col("component"), *preference(ranks)])
        .with_columns(survivor_position=pl.col("position").first().over("component"))
    )
    mine, theirs = members["position"].to_numpy(), members["survivor_position"].to_numpy()
    first = pl.col("example_id").first().over("component")
    return members.with_columns(
        cluster=first,
        survivor=pl.col("example_id") == first,
        user_similarity=pl.Series(similarity(user[mine], user[theirs])),
        assistant_similarity=pl.Series(similarity(assistant[mine], assistant[theirs])),
    ).select(list(schema))


def similarity(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Estimated Jaccard similarity of paired signatures (share of equal positions)."""
    if len(left) == 0:
        return np.empty(0)
    return (left == right).mean(axis=1)


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


@dataclass
class Increment:
    """How rows appended to an SFT table join the clusters already judged."""

    dropped: pl.Series
    """example_ids of new rows that are copies of an earlier row: not appended."""
    members: pl.DataFrame
    """Rows to add to gold/near_duplicates (MEMBERS_SCHEMA without `table`)."""


def plan_increment(
    lake: Lake,
    table: str,
    new: list[pl.DataFrame],
    settings: NearDuplicateSettings,
    ranks: Mapping[str, int],
    batch: int,
) -> Increment | None:
    """Judge rows about to be appended to `table` against each other and against every
    row judged before (gold/minhash_signatures). None when only a rebuild is exact: a new
    row would come before a cluster's survivor, or would join two clusters. Otherwise the
    new copies of earlier rows are dropped and recorded, and clusters of new rows only get
    their first member as survivor. (A rebuild pairs the members of an LSH bucket holding
    more than `max_bucket` dialogues with its first member only; an increment compares a
    new row with every member it shares a bucket with, so in such buckets it can find a
    pair a rebuild would not.)"""
    frame = pl.concat([f.select(*LINEAGE, "messages") for f in new])
    nothing = Increment(pl.Series("example_id", [], pl.String), _members_frame([]))
    if frame.height == 0:
        return nothing
    n = frame.height
    user, assistant = signatures(frame["messages"], settings)
    fresh = band_frame(np.arange(n), band_keys(user, assistant, settings))
    parent: dict[object, object] = {}

    def root(x: object) -> object:
        while (up := parent.setdefault(x, x)) != x:
            parent[x] = parent[up]
            x = up
        return x

    def join(a: object, b: object) -> None:
        parent[root(a)] = root(b)

    for left, right in (
        verified_pairs(candidate_pairs(fresh, settings), user, assistant, settings)
        .select("left", "right")
        .iter_rows()
    ):
        join(left, right)
    cluster_of = _judged_clusters(lake, table)
    for stored in lake.batches(SIGNATURES, batch, where={"table": table}):
        old_user = decoded(stored["user_signature"], settings.num_perm)
        old_assistant = decoded(stored["assistant_signature"], settings.num_perm)
        old = band_frame(
            np.arange(n, n + len(old_user)), band_keys(old_user, old_assistant, settings)
        )
        candidates = (
            fresh.join(old, on=["band", "key"], suffix="_old")
            .select(left="id", right="id_old")
            .unique()
        )
        if candidates.height == 0:
            continue
        verified = verified_pairs(
            candidates,
            np.concatenate([user, old_user]),
            np.concatenate([assistant, old_assistant]),
            settings,
        )
        ids = stored["example_id"].to_list()
        for left, right in verified.select("left", "right").iter_rows():
            judged = ids[right - n]
            join(left, ("cluster", cluster_of.get(judged, judged)))
    components: dict[object, list[object]] = {}
    for node in list(parent):
        components.setdefault(root(node), []).append(node)
    lineage = frame.select(LINEAGE).to_dicts()
    dropped, rows = [], []
    for nodes in components.values():
        fresh_members = sorted(
            (i for i in nodes if isinstance(i, int)), key=lambda i: _rank(lineage[i], ranks)
        )
        judged_clusters = [c[1] for c in nodes if isinstance(c, tuple)]
        if len(judged_clusters) > 1:
            return None
        if judged_clusters:
            survivor = _judged_row(lake, table, judged_clusters[0], settings.num_perm)
            if _rank(lineage[fresh_members[0]], ranks) < _rank(survivor, ranks):
                return None
            if judged_clusters[0] not in cluster_of.values():  # a singleton until now
                rows.append(
                    {
                        **survivor,
                        "cluster": survivor["example_id"],
                        "survivor": True,
                        "user_similarity": 1.0,
                        "assistant_similarity": 1.0,
                    }
                )
            first_user, first_assistant = survivor["user"], survivor["assistant"]
            members = fresh_members
        else:
            first = fresh_members[0]
            survivor = {**lineage[first]}
            first_user, first_assistant = user[first], assistant[first]
            rows.append(
                {
                    **survivor,
                    "cluster": survivor["example_id"],
                    "survivor": True,
                    "user_similarity": 1.0,
                    "assistant_similarity": 1.0,
                }
            )
            members = fresh_members[1:]
        for i in members:
            dropped.append(lineage[i]["example_id"])
            rows.append(
                {
                    **lineage[i],
                    "cluster": survivor["example_id"],
                    "survivor": False,
                    "user_similarity": float((user[i] == first_user).mean()),
                    "assistant_similarity": float((assistant[i] == first_assistant).mean()),
                }
            )
    return Increment(pl.Series("example_id", dropped, pl.String), _members_frame(rows))


def _members_frame(rows: list[dict]) -> pl.DataFrame:
    schema = {c: t for c, t in MEMBERS_SCHEMA.items() if c != "table"}
    return pl.DataFrame([{c: r[c] for c in schema} for r in rows], schema=schema, orient="row")


def _rank(row: Mapping, ranks: Mapping[str, int]) -> tuple:
    """A row's place in `preference` order, as a Python tuple."""
    return (
        ranks.get(row["dataset"], len(ranks)),
        row["split"],
        row["source_file"],
        row["source_row"],
        row["example_id"],
    )


def _judged_clusters(lake: Lake, table: str) -> dict[str, str]:
    """example_id -> its cluster's survivor, for rows judged part of a cluster."""
    if lake.table(NEAR_DUPLICATES) is None:
        return {}
    frame = (
        lake.scan(NEAR_DUPLICATES)
        .filter(pl.col("table") == table)
        .select("example_id", "cluster")
        .collect()
    )
    return dict(frame.iter_rows())


def _judged_row(lake: Lake, table: str, example_id: str, width: int) -> dict:
    """A kept row's lineage (from the SFT table) and signatures."""
    (row,) = (
        lake.scan(("gold", table))
        .filter(pl.col("example_id") == example_id)
        .select(LINEAGE)
        .collect()
        .to_dicts()
    )
    stored = (
        lake.scan(SIGNATURES)
        .filter((pl.col("table") == table) & (pl.col("example_id") == example_id))
        .collect()
    )
    return {
        **row,
        "user": decoded(stored["user_signature"].head(1), NearDuplicateSettings().num_perm)[0],
        "assistant": decoded(
            stored["assistant_signature"].head(1), NearDuplicateSettings().num_perm
        )[0],
    }


def write_side_table(
    lake: Lake, key: tuple[str, str], table: str, frames: Iterable[pl.DataFrame]
) -> None:
    """Replace `table`'s slice of a side table (partitioned by table) with `frames`."""
    rows = (f.with_columns(table=pl.lit(table, dtype=pl.String)) for f in frames)
    lake.write_batches(key, rows, replace={"table": table}, partition_by=("table",))


def append_signatures(
    lake: Lake, table: str, frames: list[pl.DataFrame], settings: NearDuplicateSettings
) -> None:
    """Add the signatures of rows appended to `table` (dropped copies included: they were
    judged) to gold/minhash_signatures."""
    frame = pl.concat([f.select("example_id", "messages") for f in frames])
    user, assistant = signatures(frame["messages"], settings)
    rows = signature_rows(table, frame["example_id"], user, assistant)
    lake.write_batches(
        SIGNATURES, [rows], replace={"table": table}, partition_by=("table",), append=True
    )


def append_members(lake: Lake, table: str, members: pl.DataFrame) -> None:
    """Add the clusters an increment formed or grew to gold/near_duplicates."""
    rows = members.with_columns(table=pl.lit(table, dtype=pl.String))
    lake.write_batches(
        NEAR_DUPLICATES, [rows], replace={"table": table}, partition_by=("table",), append=True
    )


def kept_rows(spool: SignatureSpool, judged: Judged) -> Iterator[pl.DataFrame]:
    """The spooled rows without the dropped copies, one batch at a time."""
    dropped = judged.dropped.implode()
    for frame in spool.frames("rows"):
        yield compact(frame.filter(~pl.col("example_id").is_in(dropped)))


_ARRAYS = ("user", "assistant", "keys")
