"""Gold SFT dialogues (sft_by, sft_by_nc), with near-duplicates collapsed (what was merged
in gold/near_duplicates, the signatures of every row judged in gold/minhash_signatures).
Which datasets give dialogues is declared in sources/catalogue.yaml (`gold: [sft]`)."""

import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from itertools import chain
from pathlib import Path

import polars as pl
from dagster import (
    AssetExecutionContext,
    AssetKey,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)

from assets.gold_tables import (
    LICENCE_CLASSES,
    GoldConfig,
    GoldPlan,
    GoldTally,
    attributions,
    decontamination_index,
    gold_plan,
    gold_spec,
    unchanged_result,
    write_gold_table,
)
from assets.markdown import preview_markdown
from storage.keys import COMPARISONS, CONVERSATIONS, NEAR_DUPLICATES, SIGNATURES
from storage.lake import AddedFile, Lake
from storage.minhash import (
    MEMBERS_SCHEMA,
    SignatureSpool,
    append_members,
    append_signatures,
    kept_rows,
    plan_increment,
    rejudge,
    signature_frames,
    signature_rows_empty,
    write_side_table,
)
from transforms.catalogue import DatasetSpec
from transforms.gold import (
    SFT_SCHEMA,
    counts_metadata,
    decontaminate,
    decontamination_metadata,
    gold_datasets,
    sft_from_conversations,
    sft_from_votes,
    unknown_license_classes,
    without_filtered_votes,
)
from transforms.near_duplicates import NearDuplicateSettings

SFT_LICENCE_NOTE = {
    "by": "MIT / Apache-2.0 / CC-BY rows only",
    "by_nc": "rows holding non-commercial text (Arena model outputs)",
}
PREVIEW = ["example_id", "dataset", "lang", "license"]
INPUTS = [CONVERSATIONS, COMPARISONS]

SFT_SPECS = [
    gold_spec(
        ["gold", f"sft_{cls}"],
        INPUTS,
        "SFT dialogues: messages list<struct<role, content>>, scrubbed and deduplicated. "
        "Grain: one row per distinct dialogue of the datasets the catalogue declares "
        "`gold: [sft]` for (silver/conversations, and each side of a vote). Licence: "
        f"{SFT_LICENCE_NOTE[cls]}; decontaminated against the pinned benchmark lists.",
    )
    for cls in LICENCE_CLASSES
] + [
    gold_spec(
        NEAR_DUPLICATES,
        INPUTS,
        "What near-duplicate removal merged in the SFT tables. Grain: one row per member "
        "of a cluster of two or more (table, cluster = the survivor's example_id, "
        "survivor, lineage, closest similarities); the dialogues themselves stay in the "
        "SFT tables and silver. Licence: lineage only, no text. Signatures of every row "
        "judged are kept in gold/minhash_signatures for increments.",
    ),
    gold_spec(
        SIGNATURES,
        INPUTS,
        "MinHash signatures of every SFT row judged for near-duplicates (kept or "
        "dropped), so that rows appended later are checked against all of them. Grain: "
        "one row per (table, example_id). Licence: signatures only, no text.",
    ),
]


def sft_assets(catalogue: Mapping[str, DatasetSpec]) -> list:
    @multi_asset(specs=SFT_SPECS)
    def sft(context: AssetExecutionContext, config: GoldConfig, lake: Lake) -> Iterator:
        yield from SftBuild(lake, config, catalogue, context.log.info).results()

    return [sft]


class SftBuild:
    """One run of the SFT tables: each table unchanged, appended (new conversations, with
    their near-duplicates judged against every stored signature), judged again, or rebuilt."""

    def __init__(
        self,
        lake: Lake,
        config: GoldConfig,
        catalogue: Mapping[str, DatasetSpec],
        log: Callable[[str], None],
    ) -> None:
        self.lake, self.config, self.catalogue, self.log = lake, config, catalogue, log
        self.datasets = gold_datasets(catalogue, "sft", include_evaluation=config.include_mt_bench)
        self.vote_filtered = [k for k in self.datasets if catalogue[k].vote_filters]
        self.settings = NearDuplicateSettings(threshold=config.near_duplicate_threshold)
        self.ranks = {name: rank for rank, name in enumerate(catalogue)}

    def results(self) -> Iterator[MaterializeResult]:
        lake, config = self.lake, self.config
        plans = {}
        for cls in LICENCE_CLASSES:
            name = f"sft_{cls}"
            plan = gold_plan(lake, name, config, True, self.catalogue)
            # A new conversation whose id the table already holds (a vote's dialogue, kept
            # there while no conversation had it) changes the table's rows: rebuild it.
            if plan.files and holds_any(lake, name, plan.files, config.batch_rows):
                self.log(f"{name}: rebuilt: a new conversation was judged before")
                plan = plan.displaced("a new conversation was judged before")
            plans[name] = plan
        unknown = unknown_license_classes(lake.scan(CONVERSATIONS), LICENCE_CLASSES)
        if unknown:
            raise ValueError(f"{unknown} conversations have an unknown licence class")
        for name, plan in plans.items():
            if plan.unchanged:
                yield unchanged_result(lake, name, plan)
            elif not config.near_duplicates:
                yield self.without_near_duplicates(name, plan)
            elif plan.rebuild:
                yield self.rebuilt(name, plan)
            else:
                yield self.appended(name, plan)
        yield near_duplicates_result(lake)
        yield MaterializeResult(
            asset_key=AssetKey(list(SIGNATURES)),
            metadata={
                "rows": lake.scan(SIGNATURES).select(pl.len()).collect().item()
                if lake.table(SIGNATURES)
                else 0,
                "path": MetadataValue.path(lake.uri(SIGNATURES)),
            },
        )

    def votes(self) -> pl.DataFrame:
        """Each side of the votes of the SFT datasets, where no conversation has it.
        Conversations (the bulk) are read in batches; votes are a few tens of thousands."""
        voted = (
            self.lake.scan(COMPARISONS)
            .filter(pl.col("conversation_a").is_not_null() & pl.col("dataset").is_in(self.datasets))
            .collect()
        )
        voted = without_filtered_votes(voted, self.vote_filtered, self.config.arena_filters)
        conversation_ids = self.lake.scan(CONVERSATIONS).select("conversation_id").collect()
        return sft_from_votes(voted).filter(
            ~pl.col("example_id").is_in(conversation_ids["conversation_id"].implode())
        )

    def examples(
        self, name: str, plan: GoldPlan, removed: Counter[tuple[str, str]]
    ) -> Iterator[pl.DataFrame]:
        """The table's rows (all, or those of the conversations added), decontaminated."""
        cls = name.removeprefix("sft_")
        lake, rows = self.lake, self.config.batch_rows
        index = decontamination_index(lake, self.config, name, self.catalogue)
        yield pl.DataFrame(schema=SFT_SCHEMA)
        where = {"license_class": cls}
        if plan.rebuild:
            batches = lake.batches(CONVERSATIONS, rows, where=where)
            parts = chain((sft_from_conversations(b) for b in batches), [self.votes()])
        else:
            batches = lake.read_added(CONVERSATIONS, plan.files, rows, where=where)
            parts = (sft_from_conversations(b) for b in batches)
        for batch in parts:
            part = batch.filter(
                (pl.col("license_class") == cls) & pl.col("dataset").is_in(self.datasets)
            )
            if index is not None:
                part, dropped = decontaminate(part, ("messages",), index)
                removed.update(dropped)
            yield part

    def restored_rows(self, name: str, ids: pl.Series) -> pl.DataFrame:
        """The SFT rows of `ids` (conversations or votes of the table's class), judged before."""
        cls = name.removeprefix("sft_")
        wanted = ids.implode()
        conversations = (
            self.lake.scan(CONVERSATIONS)
            .filter(pl.col("conversation_id").is_in(wanted) & (pl.col("license_class") == cls))
            .collect()
        )
        voted = self.votes().filter(pl.col("example_id").is_in(wanted))
        rows = pl.concat([sft_from_conversations(conversations), voted])
        rows = rows.filter(pl.col("license_class") == cls).unique("example_id")
        if rows.height != ids.len():
            raise ValueError(f"{name}: {ids.len() - rows.height} judged rows are gone")
        return rows

    def without_near_duplicates(self, name: str, plan: GoldPlan) -> MaterializeResult:
        lake = self.lake

        def cleared() -> None:  # no clusters or signatures stand for the table
            write_side_table(lake, SIGNATURES, name, [signature_rows_empty()])
            empty = pl.DataFrame(schema=MEMBERS_SCHEMA).drop("table")
            write_side_table(lake, NEAR_DUPLICATES, name, [empty])

        removed: Counter[tuple[str, str]] = Counter()
        return write_gold_table(
            lake,
            self.catalogue,
            name,
            self.examples(name, plan, removed),
            PREVIEW,
            plan,
            removed,
            before_commit=cleared if plan.rebuild else None,
        )

    def rebuilt(self, name: str, plan: GoldPlan) -> MaterializeResult:
        lake, settings = self.lake, self.settings
        removed: Counter[tuple[str, str]] = Counter()
        with tempfile.TemporaryDirectory(prefix="lake-near-") as folder:
            spool = SignatureSpool(Path(folder), settings)
            try:
                for frame in self.examples(name, plan, removed):
                    spool.add(frame)
            finally:
                spool.close()
            judged = spool.judge(self.ranks)
            members = judged.members.with_columns(table=pl.lit(name))
            near = {
                **counts_metadata("near_duplicates_", judged.counts()),
                "near_duplicate_clusters": members.filter("survivor").height,
                "near_duplicates_seconds": round(spool.seconds, 2),
                "near_duplicates_dialogues_judged": spool.rows,
            }

            def side_tables() -> None:
                write_side_table(lake, SIGNATURES, name, signature_frames(spool, name, 50_000))
                write_side_table(lake, NEAR_DUPLICATES, name, [members])

            rows = chain([pl.DataFrame(schema=SFT_SCHEMA)], kept_rows(spool, judged))
            return write_gold_table(
                lake, self.catalogue, name, rows, PREVIEW, plan, removed, near, side_tables
            )

    def appended(self, name: str, plan: GoldPlan) -> MaterializeResult:
        """The rows of the conversations added, less those that copy a row judged before;
        judged again from the stored signatures when a new row comes before one it copies."""
        lake, settings = self.lake, self.settings
        removed: Counter[tuple[str, str]] = Counter()
        added = list(self.examples(name, plan, removed))
        joined = plan_increment(lake, name, added, settings, self.ranks, self.config.batch_rows)
        if joined is None:
            self.log(f"{name}: rejudged: a new row comes before a row it copies")
            return self.rejudged(name, plan, added, removed)
        dropped = joined.dropped.implode()

        def side_rows() -> None:
            append_signatures(lake, name, added, settings)
            append_members(lake, name, joined.members)

        near = counts_metadata(
            "near_duplicates_appended_",
            Counter(joined.members.filter(~pl.col("survivor"))["dataset"]),
        )
        rows = [f.filter(~pl.col("example_id").is_in(dropped)) for f in added]
        return write_gold_table(
            lake, self.catalogue, name, rows, PREVIEW, plan, removed, near, side_rows
        )

    def rejudged(
        self,
        name: str,
        plan: GoldPlan,
        added: list[pl.DataFrame],
        removed: Counter[tuple[str, str]],
    ) -> MaterializeResult:
        """When new rows come before rows they copy: the clusters judged again from the
        stored signatures; in one commit, rows now copies of a new one leave, rows whose
        survivor left come back, and the new survivors are added (as a rebuild would
        have them)."""
        lake, settings = self.lake, self.settings
        with tempfile.TemporaryDirectory(prefix="lake-near-") as folder:
            spool = SignatureSpool(Path(folder), settings)
            outcome = rejudge(lake, name, added, spool, self.ranks, self.config.batch_rows)
        members = outcome.judged.members.with_columns(table=pl.lit(name))
        dropped = outcome.judged.dropped.implode()
        new_rows = [f.filter(~pl.col("example_id").is_in(dropped)) for f in added]
        rows = pl.concat(
            [
                pl.DataFrame(schema=SFT_SCHEMA),
                self.restored_rows(name, outcome.restored),
                *new_rows,
            ]
        )

        def side_tables() -> None:
            append_signatures(lake, name, added, settings)
            write_side_table(lake, NEAR_DUPLICATES, name, [members])

        written = lake.merge_rows(
            ("gold", name),
            "example_id",
            rows,
            outcome.removed,
            commit_metadata={**plan.commit(), **plan.decontaminated(removed)},
            before_commit=side_tables,
        )
        extra = {
            "status": "rejudged",
            "rows_appended": sum(f.height for f in new_rows),
            "near_duplicates_rows_removed": outcome.removed.len(),
            "near_duplicates_rows_restored": outcome.restored.len(),
            **counts_metadata("near_duplicates_", outcome.judged.counts()),
            "near_duplicate_clusters": members.filter("survivor").height,
            "near_duplicates_seconds": round(spool.seconds, 2),
            "near_duplicates_dialogues_judged": spool.rows,
            **decontamination_metadata(removed),
        }
        tally = GoldTally.of_table(lake, name, PREVIEW)
        return tally.result(name, written, extra, attributions(tally.sources, self.catalogue))


def holds_any(lake: Lake, name: str, files: list[AddedFile], batch_rows: int) -> bool:
    """Whether gold table `name` holds, or dropped as a near-duplicate (every row judged
    is in gold/minhash_signatures), an example whose id is one of the conversations in
    `files` (added to silver/conversations)."""
    new_ids = pl.concat(
        [
            pl.DataFrame(schema={"example_id": pl.String}),
            *(
                batch.rename({"conversation_id": "example_id"})
                for batch in lake.read_added(
                    CONVERSATIONS, files, batch_rows, columns=["conversation_id"]
                )
            ),
        ]
    )
    held = [lake.scan(("gold", name)).select("example_id")]
    if lake.table(SIGNATURES) is not None:
        judged = lake.scan(SIGNATURES).filter(pl.col("table") == name).select("example_id")
        held.append(judged)
    return (
        pl.concat(held).join(new_ids.lazy(), on="example_id", how="semi").head(1).collect().height
        > 0
    )


def near_duplicates_result(lake: Lake) -> MaterializeResult:
    """Describe gold/near_duplicates (written before the SFT tables it reports on)."""
    key = NEAR_DUPLICATES
    members = lake.scan(key).collect() if lake.table(key) else pl.DataFrame(schema=MEMBERS_SCHEMA)
    dropped = members.filter(~pl.col("survivor"))
    return MaterializeResult(
        asset_key=AssetKey(list(key)),
        metadata={
            "rows": members.height,
            "clusters": members.filter("survivor").height,
            "dropped_by_table": MetadataValue.json(dict(Counter(dropped["table"].to_list()))),
            "dropped_by_dataset": MetadataValue.json(dict(Counter(dropped["dataset"].to_list()))),
            "delta_version": lake.version(key) if lake.table(key) else -1,
            "path": MetadataValue.path(lake.uri(key)),
            "preview": MetadataValue.md(
                preview_markdown(
                    members.select("table", "cluster", "example_id", "dataset", "survivor").head(5)
                )
            ),
        },
    )
