"""Near-duplicate removal for the SFT tables, with memory bounded by a batch.

The pure steps are in transforms/near_duplicates.py; this module keeps their inputs on
disk. A build spools the rows it would write, their MinHash signatures (memory-mapped
arrays) and band keys to a temporary folder, groups the LSH buckets one band at a time,
verifies the candidates, and then streams the spooled rows back without the dropped
copies. The signatures of every row judged are kept in `gold/minhash_signatures`, so that
rows appended later are checked against all of them without recomputing anything. A new
row that copies one judged before it is left out (`plan_increment`); a new row that comes
before a row it copies changes earlier decisions, so the table is judged again from the
stored signatures (`rejudge`). Either way a table holds what a build from scratch would.

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

from storage.keys import NEAR_DUPLICATES, SIGNATURES
from storage.lake import Lake, compact
from transforms.gold import SFT_SCHEMA
from transforms.near_duplicates import (
    NearDuplicateSettings,
    band_frame,
    band_keys,
    candidate_pairs,
    signatures,
    verified_pairs,
)

LINEAGE = ["example_id", "dataset", "split", "source_file", "source_row", "source_id"]
LINEAGE_SCHEMA = {**{c: SFT_SCHEMA[c] for c in LINEAGE}, "position": pl.Int64}
IN_MEMORY_BYTES = 256 * 2**20
PAIR_SCHEMA = pl.Schema(
    {
        "left": pl.Int64,
        "right": pl.Int64,
        "user_similarity": pl.Float64,
        "assistant_similarity": pl.Float64,
    }
)


MEMBERS_SCHEMA = pl.Schema(
    {
        "table": pl.String,
        "cluster": pl.String,
        "survivor": pl.Boolean,
        **{column: SFT_SCHEMA[column] for column in LINEAGE},
        "user_similarity": pl.Float64,
        "assistant_similarity": pl.Float64,
    }
)


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

    def __init__(
        self, folder: Path, settings: NearDuplicateSettings, one_sided: bool = False
    ) -> None:
        """`one_sided`: every row has the same assistant side (prompts without an answer,
        as the leakage index compares them): its signature is kept once, not once a row."""
        self.folder, self.settings, self.one_sided = folder, settings, one_sided
        self.rows = 0
        self.seconds = 0.0
        """Time spent computing signatures and pairs (not reading or writing rows)."""
        self._writers: dict[str, pa.ipc.RecordBatchStreamWriter] = {}
        spooled = [name for name in _ARRAYS if not (one_sided and name == "assistant")]
        self._files = {name: (folder / f"{name}.bin").open("wb") for name in spooled}
        self._assistant_row: np.ndarray | None = None

    def add(self, frame: pl.DataFrame) -> None:
        """Spool SFT rows: signed here, kept for `kept_rows`."""
        started = time.perf_counter()
        user, assistant = signatures(frame["messages"], self.settings)
        self.seconds += time.perf_counter() - started
        self._write("rows", frame)
        self.add_signed(frame.select(LINEAGE), user, assistant)

    def add_signed(self, lineage: pl.DataFrame, user: np.ndarray, assistant: np.ndarray) -> None:
        """Spool rows judged before by their LINEAGE and stored signatures (no rows)."""
        started = time.perf_counter()
        keys = band_keys(user, assistant, self.settings)
        self.seconds += time.perf_counter() - started
        if self.one_sided and len(assistant):
            self._keep_the_one_assistant_side(assistant)
        for name, values in zip(_ARRAYS, (user, assistant, keys), strict=True):
            if name in self._files:
                values.tofile(self._files[name])
        positions = pl.int_range(self.rows, self.rows + lineage.height, dtype=pl.Int64)
        self._write("lineage", lineage.select(LINEAGE).with_columns(position=positions))
        self.rows += lineage.height

    def _keep_the_one_assistant_side(self, assistant: np.ndarray) -> None:
        if self._assistant_row is None:
            self._assistant_row = assistant[0].copy()
        if not (assistant == self._assistant_row).all():
            raise ValueError("a one-sided spool got rows whose assistant sides differ")

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
        if name == "assistant" and self.one_sided:  # one row seen as many: no memory a row
            row = self._assistant_row
            return np.broadcast_to(
                np.zeros(width, dtype) if row is None else row, (self.rows, width)
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
        With `across` (a group code per row), only pairs of rows in different groups.
        A pair verified in one band is not taken again from the next (copies share most
        bands), so memory holds each verified pair once, not once per band."""
        started = time.perf_counter()
        user, assistant, keys = (self.in_memory(n) for n in ("user", "assistant", "keys"))
        verified = pl.DataFrame(schema=PAIR_SCHEMA)
        for band in range(self.settings.bands):
            bucketed = band_frame(np.arange(self.rows), keys[:, band : band + 1])
            candidates = candidate_pairs(bucketed, self.settings).join(
                verified.select("left", "right"), on=["left", "right"], how="anti"
            )
            if across is not None:
                left, right = candidates["left"].to_numpy(), candidates["right"].to_numpy()
                candidates = candidates.filter(pl.Series(across[left] != across[right]))
            found = verified_pairs(candidates, user, assistant, self.settings)
            verified = pl.concat([verified, found.cast(PAIR_SCHEMA)])
        self.seconds += time.perf_counter() - started
        return verified

    def in_memory(self, name: str) -> np.ndarray:
        """A spooled array, read into memory when it is under IN_MEMORY_BYTES (random
        access to a memory map costs more than the read), memory-mapped otherwise."""
        array = self.array(name)
        if name == "assistant" and self.one_sided:
            return array
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
        """Keep-first deduplication over the verified pairs (`first_kept`), in `_rank`
        order; members with their similarity to the survivor they were merged into."""
        pairs = self.pairs()
        positions = pl.concat([pairs["left"], pairs["right"]]).unique()
        lineage = {row["position"]: row for row in self.lineage(positions).to_dicts()}
        links = [(a, b) for a, b in pairs.select("left", "right").iter_rows()]
        merged_into = first_kept(links, {p: _rank(r, ranks) for p, r in lineage.items()})
        user, assistant = self.in_memory("user"), self.in_memory("assistant")
        rows = []
        for survivor in sorted(set(merged_into.values())):
            rows.append(_member(lineage[survivor], lineage[survivor], True, 1.0, 1.0))
        for dropped, survivor in sorted(merged_into.items()):
            rows.append(
                _member(
                    lineage[dropped],
                    lineage[survivor],
                    False,
                    float((user[dropped] == user[survivor]).mean()),
                    float((assistant[dropped] == assistant[survivor]).mean()),
                )
            )
        return Judged(_members_frame(rows))


def first_kept(links: Iterable[tuple[object, object]], rank: Mapping[object, tuple]) -> dict:
    """Keep-first deduplication: walking the linked rows in `rank` order, a row linked to
    a row kept before it is dropped, and merged into the first such row; the others are
    kept. A later row never changes what was decided for an earlier one, so rows that
    come after every row they are linked to can be judged on their own (increments).
    Returns {dropped row: the kept row it was merged into}."""
    neighbours: dict[object, list[object]] = {}
    for a, b in links:
        neighbours.setdefault(a, []).append(b)
        neighbours.setdefault(b, []).append(a)
    kept: set[object] = set()
    merged_into: dict[object, object] = {}
    for row in sorted(neighbours, key=lambda r: rank[r]):
        earlier = [n for n in neighbours[row] if n in kept and rank[n] < rank[row]]
        if earlier:
            merged_into[row] = min(earlier, key=lambda n: rank[n])
        else:
            kept.add(row)
    return merged_into


def _member(
    row: Mapping, survivor: Mapping, is_survivor: bool, user: float, assistant: float
) -> dict:
    return {
        **{c: row[c] for c in LINEAGE},
        "cluster": survivor["example_id"],
        "survivor": is_survivor,
        "user_similarity": user,
        "assistant_similarity": assistant,
    }


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
            "user_signature": signature_column(user),
            "assistant_signature": signature_column(assistant),
        }
    )


def signature_rows_empty() -> pl.DataFrame:
    """No signatures (the schema of `signature_rows`, without the table column)."""
    return signature_rows("", pl.Series("example_id", [], pl.String), *[np.empty((0, 0))] * 2).drop(
        "table"
    )


def signature_column(signatures: np.ndarray) -> pl.Series:
    """A rows × width uint32 array as a Binary column, each row's signature as its bytes
    (little-endian), made through Arrow without a Python object per row."""
    if len(signatures) == 0:
        return pl.Series([], dtype=pl.Binary)
    rows = np.ascontiguousarray(signatures, dtype="<u4")
    width = pa.binary(rows.shape[1] * rows.itemsize)
    return pl.Series(
        pa.FixedSizeBinaryArray.from_buffers(width, len(rows), [None, pa.py_buffer(rows)])
    )


def decoded(column: pl.Series, width: int) -> np.ndarray:
    """Signatures stored as bytes back to a rows × width uint32 array (`signature_column`
    read back), from the column's Arrow buffers."""
    if column.len() == 0:
        return np.empty((0, width), dtype=np.uint32)
    values = column.to_arrow().cast(pa.large_binary())
    _, offsets, data = values.buffers()
    ends = np.frombuffer(offsets, dtype=np.int64)[values.offset : values.offset + len(values) + 1]
    if not (np.diff(ends) == width * 4).all():
        raise ValueError(f"a signature is missing or not {width} uint32 values")
    start = int(ends[0])
    return np.frombuffer(data, dtype="<u4", count=len(values) * width, offset=start).reshape(
        -1, width
    )


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
    row judged before (gold/minhash_signatures), keep-first as a rebuild does. None when
    a new row comes before a judged row it is a copy of: then `rejudge`.
    (A rebuild pairs the members of an LSH bucket holding more than `max_bucket`
    dialogues with its first member only; an increment compares a new row with every
    member of its buckets, so in such buckets it can find a pair a rebuild would not.)"""
    frame = pl.concat([f.select(*LINEAGE, "messages") for f in new])
    if frame.height == 0:
        return Increment(pl.Series("example_id", [], pl.String), _members_frame([]))
    n = frame.height
    user, assistant = signatures(frame["messages"], settings)
    fresh = band_frame(np.arange(n), band_keys(user, assistant, settings))
    links: list[tuple[object, object]] = [
        (a, b)
        for a, b in verified_pairs(candidate_pairs(fresh, settings), user, assistant, settings)
        .select("left", "right")
        .iter_rows()
    ]
    judged_signatures: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for stored in lake.batches(SIGNATURES, batch, where={"table": table}):
        old_user = decoded(stored["user_signature"], settings.num_perm)
        old_assistant = decoded(stored["assistant_signature"], settings.num_perm)
        verified = pairs_with_stored(fresh, user, assistant, old_user, old_assistant, settings)
        ids = stored["example_id"].to_list()
        for left, right in verified.select("left", "right").iter_rows():
            judged = ids[right]
            links.append((left, judged))
            judged_signatures[judged] = (old_user[right], old_assistant[right])
    lineage: dict[object, dict] = dict(enumerate(frame.select(LINEAGE).to_dicts()))
    lineage.update(_judged_lineage(lake, table, list(judged_signatures)))
    rank = {key: _rank(row, ranks) for key, row in lineage.items()}
    if any(rank[a] < rank[b] for a, b in links if isinstance(b, str)):
        return None
    dropped_before = _dropped_rows(lake, table, list(judged_signatures))
    # Judged rows dropped before are not kept: link them to nothing they could keep out.
    merged_into = first_kept([(a, b) for a, b in links if b not in dropped_before], rank)
    side = {key: (user[key], assistant[key]) for key in range(n)} | judged_signatures
    reported = _reported_survivors(lake, table)
    rows = []
    for survivor in sorted({v for v in merged_into.values()}, key=lambda k: rank[k]):
        if survivor not in reported and lineage[survivor]["example_id"] not in reported:
            rows.append(_member(lineage[survivor], lineage[survivor], True, 1.0, 1.0))
    for row, survivor in merged_into.items():
        rows.append(
            _member(
                lineage[row],
                lineage[survivor],
                False,
                float((side[row][0] == side[survivor][0]).mean()),
                float((side[row][1] == side[survivor][1]).mean()),
            )
        )
    dropped = [lineage[row]["example_id"] for row in merged_into]
    return Increment(pl.Series("example_id", dropped, pl.String), _members_frame(rows))


@dataclass
class Rejudged:
    """A table judged again, stored rows and new ones together, because a new row comes
    before a row it copies: what changes in the table."""

    judged: Judged
    """Every cluster of the table, as a build from scratch would find them."""
    removed: pl.Series
    """example_ids of rows in the table that are now copies of a new row before them."""
    restored: pl.Series
    """example_ids of rows dropped before whose survivor is now dropped itself, and that
    copy no other row kept before them: they go back into the table."""


def rejudge(
    lake: Lake,
    table: str,
    new: list[pl.DataFrame],
    spool: SignatureSpool,
    ranks: Mapping[str, int],
    batch: int,
) -> Rejudged:
    """Keep-first over every row `table` judged (their signatures from
    gold/minhash_signatures, their lineage from the table and gold/near_duplicates) and
    the `new` rows (spooled whole), without reading or signing the stored rows again:
    the clusters a rebuild would find, at the cost of the LSH step alone."""
    kept = lake.scan(("gold", table)).select(LINEAGE).collect()
    dropped = _dropped_lineage(lake, table)
    lineage = pl.concat([kept, dropped])
    width = spool.settings.num_perm
    for stored in lake.batches(SIGNATURES, batch, where={"table": table}):
        rows = stored.select("example_id").join(
            lineage, on="example_id", how="left", maintain_order="left"
        )
        if rows["dataset"].null_count():
            missing = rows.filter(pl.col("dataset").is_null())["example_id"].head(3).to_list()
            raise ValueError(f"gold/{table}: signatures of rows it never judged: {missing}")
        spool.add_signed(
            rows,
            decoded(stored["user_signature"], width),
            decoded(stored["assistant_signature"], width),
        )
    for frame in new:
        spool.add(frame.select(*LINEAGE, "messages"))
    spool.close()
    judged = spool.judge(ranks)
    now_dropped = judged.dropped.implode()
    return Rejudged(
        judged,
        kept.filter(pl.col("example_id").is_in(now_dropped))["example_id"],
        dropped.filter(~pl.col("example_id").is_in(now_dropped))["example_id"],
    )


def _dropped_lineage(lake: Lake, table: str) -> pl.DataFrame:
    """LINEAGE of the rows `table` left out as near-duplicates."""
    if lake.table(NEAR_DUPLICATES) is None:
        return pl.DataFrame(schema={c: SFT_SCHEMA[c] for c in LINEAGE})
    return (
        lake.scan(NEAR_DUPLICATES)
        .filter((pl.col("table") == table) & ~pl.col("survivor"))
        .select(LINEAGE)
        .collect()
    )


def pairs_with_stored(
    fresh: pl.DataFrame,
    user: np.ndarray,
    assistant: np.ndarray,
    old_user: np.ndarray,
    old_assistant: np.ndarray,
    settings: NearDuplicateSettings,
) -> pl.DataFrame:
    """Verified pairs (left: a new row, right: a stored row, both as row numbers of their
    own arrays) between new rows (`fresh`: their band frame) and stored signatures."""
    n = len(user)
    old = band_frame(np.arange(n, n + len(old_user)), band_keys(old_user, old_assistant, settings))
    candidates = (
        fresh.join(old, on=["band", "key"], suffix="_old")
        .select(left="id", right="id_old")
        .unique()
    )
    if candidates.height == 0:
        return candidates
    verified = verified_pairs(
        candidates,
        np.concatenate([user, old_user]),
        np.concatenate([assistant, old_assistant]),
        settings,
    )
    return verified.select("left", right=pl.col("right") - n)


def _judged_lineage(lake: Lake, table: str, ids: list[str]) -> dict[str, dict]:
    """The lineage of judged rows: kept ones from the SFT table, dropped ones from
    gold/near_duplicates."""
    if not ids:
        return {}
    wanted = pl.Series(ids, dtype=pl.String).implode()
    found = lake.scan(("gold", table)).filter(pl.col("example_id").is_in(wanted)).select(LINEAGE)
    parts = [found.collect()]
    if lake.table(NEAR_DUPLICATES) is not None:
        parts.append(
            lake.scan(NEAR_DUPLICATES)
            .filter((pl.col("table") == table) & pl.col("example_id").is_in(wanted))
            .select(LINEAGE)
            .collect()
        )
    return {row["example_id"]: row for row in pl.concat(parts).unique("example_id").to_dicts()}


def _dropped_rows(lake: Lake, table: str, ids: list[str]) -> set[str]:
    if not ids or lake.table(NEAR_DUPLICATES) is None:
        return set()
    wanted = pl.Series(ids, dtype=pl.String).implode()
    frame = (
        lake.scan(NEAR_DUPLICATES)
        .filter(
            (pl.col("table") == table) & ~pl.col("survivor") & pl.col("example_id").is_in(wanted)
        )
        .select("example_id")
        .collect()
    )
    return set(frame["example_id"].to_list())


def _reported_survivors(lake: Lake, table: str) -> set[str]:
    if lake.table(NEAR_DUPLICATES) is None:
        return set()
    frame = (
        lake.scan(NEAR_DUPLICATES)
        .filter((pl.col("table") == table) & pl.col("survivor"))
        .select("example_id")
        .collect()
    )
    return set(frame["example_id"].to_list())


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
