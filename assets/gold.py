"""Gold: what users train on. Preference pairs, SFT dialogues and prompts, each split by
licence class, decontaminated against pinned benchmark lists."""

import hashlib
import json
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from itertools import chain
from pathlib import Path

import polars as pl
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
    multi_asset,
)

import assets.minhash
from assets.automation import FOLLOW_UPSTREAM
from assets.markdown import bar_chart, preview_markdown
from assets.minhash import (
    MEMBERS_SCHEMA,
    NEAR_DUPLICATES,
    SIGNATURES,
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
from storage.build_plan import BuildPlan, plan_build
from storage.code_digest import asset_code_digest
from storage.keys import ARENA_FILTERED, COMPARISONS, CONVERSATIONS
from storage.lake import BENCHMARKS_DIR, AddedFile, Lake, TableWrite, compact, load_benchmarks
from transforms.arena_filters import DEFAULT_POLICIES, filter_arena
from transforms.binarize import (
    MT_BENCH_POLICIES,
    MT_BENCH_POSITION_POLICY,
    PAIR_SCHEMA,
    UF_POLICIES,
    binarize_arena,
    binarize_mt_bench,
    binarize_ultrafeedback,
    judge_agreement,
)
from transforms.catalogue import DatasetSpec
from transforms.decontaminate import JUDGMENTS_BENCHMARK, BenchmarkIndex, benchmark_index
from transforms.gold import (
    SFT_SCHEMA,
    counts_metadata,
    decontaminate,
    decontaminate_text,
    decontamination_metadata,
    evaluation_questions,
    prompts_from_silver,
    sft_from_conversations,
    sft_from_votes,
    split_by_license,
)
from transforms.near_duplicates import NearDuplicateSettings
from transforms.ultrafeedback_fix import fix_overall_score
from transforms.views import ViewSpec

EVALUATION_DATASET = "mt_bench_human_judgments"
ARENA_DATASET = "chatbot_arena_conversations"
PROMPT_LINEAGE = ["dataset", "split", "source_file", "source_row", "source_id", "lang"]
PROMPT_SOURCE_COLUMNS = [*PROMPT_LINEAGE, "prompt", "prompt_license"]
LICENCE_CLASSES = ("by", "by_nc")
PREFS_LICENCE_NOTE = {
    "by": "commercially usable (MIT, CC-BY)",
    "by_nc": "usable, at least one being non-commercial (e.g. Arena outputs, CC-BY-NC-4.0)",
}
SFT_LICENCE_NOTE = {
    "by": "MIT / CC-BY rows only",
    "by_nc": "rows holding non-commercial text (Arena model outputs)",
}

MINHASH_MODULE = assets.minhash.__file__
"""Gold's near-duplicate step: its transforms count in the tables' code version."""


class GoldConfig(Config):
    """How training views are made; defaults reproduce the well-known recipes."""

    batch_rows: int = 10_000
    """Conversations processed at a time (memory is bounded by one batch)."""
    ultrafeedback_policies: list[str] = ["max_overall_random_other"]
    """Any of max_overall_random_other, max_mean_rating_drop_ties, all_pairs_margin; the
    policies a declared view reads (sources/views.yaml) are built too."""
    seed: int = 42
    """Seed of every random pick (per prompt)."""
    exclude_sources: list[str] = ["truthful_qa"]
    """UltraFeedback prompt sources left out (the reference recipe drops truthful_qa)."""
    margin: float = 1.0
    """all_pairs_margin: the smallest overall_score difference that makes a pair."""
    fix_ultrafeedback_scores: bool = True
    """Apply UltraFeedback's authors' overall_score correction (a 10 whose aspect ratings
    average <= 2 was a critique score of 1) before binarizing."""
    arena_filters: list[str] = list(DEFAULT_POLICIES)
    """Arena votes left out of every training view (kept in gold/arena_filtered): any of
    short_prompt, frequent_prompt, frequent_prompt_cap, blocked_word, blocked_model,
    moderation_flagged, toxic_chat_flagged (transforms/arena_filters.py)."""
    mt_bench_policy: str = MT_BENCH_POSITION_POLICY
    """How MT-bench votes become pairs (with include_mt_bench): mt_bench_majority_drop_ties
    or mt_bench_position_consistent (GPT-4 verdicts that flip with the answer order are
    ties)."""
    decontaminate: bool = True
    """Remove examples whose user turns match a benchmark prompt (the pinned lists in
    sources/benchmarks/: MT-bench, Arena-Hard, TruthfulQA, and the ingested MT-bench
    judgments' questions)."""
    keep_benchmark_prompts_in: list[str] = []
    """Gold tables that opt out of decontamination (e.g. ["prompts_by"])."""
    ngram: int = 13
    """Length (words) of the overlap that counts as a match."""
    min_words: int = 8
    """A benchmark turn of min_words..ngram-1 words matches when it occurs whole inside
    a user turn; shorter ones only when the turn equals them."""
    near_duplicates: bool = True
    """Collapse near-duplicate SFT dialogues (prompt side and answer side both alike) to
    one survivor per cluster; what was merged is in gold/near_duplicates."""
    near_duplicate_threshold: float = 0.5
    """Estimated Jaccard similarity of word pairs that both sides must reach."""
    include_mt_bench: bool = False
    """MT-bench is evaluation data: its pairs enter training views only if set."""
    force: bool = False
    """Rebuild every table even when its inputs are unchanged since it was last written."""

    def recipe(self) -> dict:
        """The settings that decide a gold table's rows (not how they are computed)."""
        return self.model_dump(exclude={"batch_rows", "force"})


@dataclass(frozen=True)
class GoldPlan:
    """What a gold table needs (storage/build_plan.py): nothing, the rows of the
    conversations added since it was built (`files`), or a rebuild; and the running
    decontamination counts an append adds to."""

    build: BuildPlan
    decontaminated_before: str = "{}"
    """The table's rows removed by decontamination so far (JSON {"dataset/benchmark": n},
    from its last commit): what an appending build adds its own to."""

    @property
    def rebuild(self) -> bool:
        return self.build.rebuild

    @property
    def unchanged(self) -> bool:
        return self.build.unchanged

    @property
    def files(self) -> list[AddedFile]:
        return self.build.added.get(CONVERSATIONS, [])

    def commit(self) -> dict[str, str]:
        return self.build.commit()

    def displaced(self, reason: str) -> "GoldPlan":
        """The same build as a rebuild (storage/build_plan.py `BuildPlan.displaced`)."""
        return replace(self, build=self.build.displaced(reason))

    def decontaminated(self, removed: Counter[tuple[str, str]]) -> dict[str, str]:
        """Commit metadata: every row decontaminated out of the table as it will stand
        (this build's, plus the earlier builds' when appending), per dataset/benchmark."""
        totals = Counter() if self.rebuild else Counter(json.loads(self.decontaminated_before))
        totals.update({f"{dataset}/{benchmark}": n for (dataset, benchmark), n in removed.items()})
        return {"decontaminated": json.dumps(dict(sorted(totals.items())))}


def gold_plan(lake: Lake, name: str, config: GoldConfig, follows_conversations: bool) -> GoldPlan:
    """The build plan of gold table `name`: its settings are its recipe, silver/comparisons'
    version (a changed comparison rebuilds), the code of its transforms and the pinned
    benchmarks; tables built from silver/conversations follow it, so the conversations
    it gained are all that is new unless they were rewritten."""
    comparisons = lake.table(COMPARISONS)
    described = json.dumps(
        {
            "recipe": config.recipe(),
            "comparisons_version": comparisons.version() if comparisons else -1,
            "transforms": asset_code_digest(__file__, MINHASH_MODULE),
            "benchmarks": benchmarks_digest(),
        },
        sort_keys=True,
    )
    settings = hashlib.sha256(described.encode("utf-8")).hexdigest()[:32]
    table = lake.table(("gold", name))
    previous = table.history(1)[0] if table is not None else None
    build = plan_build(
        lake,
        previous,
        settings,
        [CONVERSATIONS] if follows_conversations else [],
        force=config.force,
        required=("decontaminated",),
    )
    return GoldPlan(build, (previous or {}).get("decontaminated", "{}"))


def benchmarks_digest() -> str:
    """sha256 over the pinned benchmark lists: editing one rebuilds the gold tables."""
    digest = hashlib.sha256()
    for path in sorted(BENCHMARKS_DIR.glob("*.jsonl")):
        digest.update(path.name.encode("utf-8"))
        digest.update(path.read_bytes())
    return digest.hexdigest()


def decontamination_index(lake: Lake, config: GoldConfig, name: str) -> BenchmarkIndex | None:
    """The index gold table `name` is decontaminated against (None when it opts out):
    every pinned benchmark list, plus the questions of the ingested MT-bench judgments."""
    if not config.decontaminate or name in config.keep_benchmark_prompts_in:
        return None
    evaluation = lake.scan(COMPARISONS).filter(pl.col("dataset") == EVALUATION_DATASET)
    return benchmark_index(
        {
            **load_benchmarks(BENCHMARKS_DIR),
            JUDGMENTS_BENCHMARK: evaluation_questions(evaluation.collect(), EVALUATION_DATASET),
        },
        config.ngram,
        config.min_words,
    )


def filtered_result(
    lake: Lake, filtered: pl.DataFrame, reasons: Counter[str], plan: GoldPlan
) -> MaterializeResult:
    """Write gold/arena_filtered (the votes the Arena filters left out) and describe it."""
    written = lake.write(ARENA_FILTERED, filtered, commit_metadata=plan.commit())
    return MaterializeResult(
        asset_key=AssetKey(list(ARENA_FILTERED)),
        metadata={
            "rows": filtered.height,
            "by_reason": MetadataValue.json(dict(reasons)),
            "delta_version": written.version,
            "new_version": written.committed,
            "path": MetadataValue.path(written.uri),
            "preview": MetadataValue.md(
                preview_markdown(filtered.select("source_id", "filter_reason").head(5))
            ),
        },
    )


def without_filtered_arena(comparisons: pl.DataFrame, policies: list[str]) -> pl.DataFrame:
    """Comparisons minus the Arena votes the filters leave out (other datasets' rows pass).
    The frame must hold every Arena vote: the frequency filters count over all of them."""
    arena = pl.col("dataset") == ARENA_DATASET
    kept, _, _ = filter_arena(comparisons.filter(arena), policies)
    return pl.concat([comparisons.filter(~arena), kept])


def markdown_table(frame: pl.DataFrame) -> str:
    """A small frame as a markdown table (ratios to 3 decimals, nulls as blanks)."""
    ratios = pl.col(pl.Float64).map_elements(lambda v: f"{v:.3f}", return_dtype=pl.String)
    return preview_markdown(frame.with_columns(ratios.fill_null("")), rows=frame.height)


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


def unchanged_result(lake: Lake, name: str, plan: GoldPlan) -> MaterializeResult:
    """A materialization that says the table was kept as it is (no new version), so that
    what follows it in the same run (the release) still runs."""
    key = ("gold", name)
    return MaterializeResult(
        asset_key=AssetKey(list(key)),
        metadata={
            "status": "unchanged",
            "settings": plan.build.settings,
            "delta_version": lake.version(key),
            "new_version": False,
            "path": MetadataValue.path(lake.uri(key)),
        },
    )


class GoldTally:
    """What a gold table's rows add up to (for its metadata), counted batch by batch."""

    def __init__(self, preview: list[str]) -> None:
        self.columns = preview
        self.rows = 0
        self.datasets: Counter[str] = Counter()
        self.languages: Counter[str] = Counter()
        self.sources: Counter[tuple[str, str]] = Counter()
        self.preview = pl.DataFrame()
        self.policies: Counter[str] = Counter()

    def add(self, frame: pl.DataFrame) -> pl.DataFrame:
        self.rows += frame.height
        self.datasets.update(frame["dataset"].to_list())
        self.languages.update(frame["lang"].to_list())
        self.sources.update(frame.select("dataset", "license").iter_rows())
        if "policy" in frame.columns:
            self.policies.update(frame["policy"].to_list())
        if self.preview.height == 0:
            self.preview = frame.select(self.columns).head(5)
        return frame

    @classmethod
    def of_table(cls, lake: Lake, name: str, preview: list[str]) -> "GoldTally":
        """The tally of a whole gold table (after rows were appended), from the columns it
        counts, read in batches."""
        tally = cls(preview)
        columns = sorted({"dataset", "lang", "license", *preview})
        for batch in lake.batches(("gold", name), 100_000, columns=columns):
            tally.add(batch)
        return tally

    def result(
        self, name: str, written: TableWrite, extra: dict, attribution: str
    ) -> MaterializeResult:
        return MaterializeResult(
            asset_key=AssetKey(["gold", name]),
            metadata={
                "rows": self.rows,
                **extra,
                **({"by_policy": MetadataValue.json(dict(self.policies))} if self.policies else {}),
                "by_dataset": MetadataValue.json(dict(self.datasets)),
                "languages": MetadataValue.md(bar_chart(self.languages)),
                "attribution": MetadataValue.md(attribution),
                "delta_version": written.version,
                "new_version": written.committed,
                "path": MetadataValue.path(written.uri),
                "preview": MetadataValue.md(preview_markdown(self.preview.head(5))),
            },
        )


def gold_assets(
    catalogue: dict[str, DatasetSpec], views: dict[str, ViewSpec] | None = None
) -> list:
    # UltraFeedback policies a declared view reads are built with the configured ones.
    view_policies = sorted(
        {p for v in (views or {}).values() for p in v.policies if p in UF_POLICIES}
    )

    def attributions(sources: Counter[tuple[str, str]]) -> str:
        """Markdown: every source dataset in the table, with its Hub repo and licences."""
        lines = ["| dataset | source | licence | rows |", "|---|---|---|---|"]
        for (dataset, licence), n in sorted(sources.items()):
            url = f"https://huggingface.co/datasets/{catalogue[dataset].hub_repo}"
            lines.append(f"| {dataset} | {url} | {licence} | {n} |")
        return "\n".join(lines)

    def table_result(
        lake: Lake,
        name: str,
        frames: Iterable[pl.DataFrame],
        preview: list[str],
        plan: GoldPlan,
        removed: Counter[tuple[str, str]],
        extra: dict | None = None,
        before_commit: Callable[[], None] | None = None,
    ) -> MaterializeResult:
        """Write a gold table (whole, or append the plan's new rows) and describe it;
        `removed` (rows decontaminated, per dataset and benchmark) is complete once
        `frames` is read."""
        tally = GoldTally(preview)
        commit = plan.commit()  # completed with the decontamination counts once read

        def completed() -> None:
            commit.update(plan.decontaminated(removed))
            if before_commit is not None:
                before_commit()

        written = lake.write_batches(
            ("gold", name),
            (tally.add(f) for f in frames),
            commit_metadata=commit,
            append=not plan.rebuild,
            before_commit=completed,
        )
        extra = {**(extra or {}), **decontamination_metadata(removed)}
        if plan.rebuild:
            extra = {"status": "rebuilt", **extra}
        else:
            extra = {"status": "appended", "rows_appended": tally.rows, **extra}
            tally = GoldTally.of_table(lake, name, preview)
        return tally.result(name, written, extra, attributions(tally.sources))

    @multi_asset(
        specs=[
            AssetSpec(
                ["gold", f"prefs_{cls}"],
                group_name="gold",
                deps=[AssetKey(list(COMPARISONS))],
                automation_condition=FOLLOW_UPSTREAM,
                kinds={"delta", "polars"},
                description=(
                    "Preference pairs in TRL's DPO format: prompt (messages), chosen and "
                    "rejected (assistant messages), score_chosen, score_rejected, policy. "
                    "Grain: one row per (comparison, policy) pair. Licence: only rows whose "
                    f"every field is {PREFS_LICENCE_NOTE[cls]}"
                    "; a row's class is the most restrictive of its fields'. Decontaminated "
                    "against the pinned benchmark lists (MT-bench, Arena-Hard, TruthfulQA); "
                    "MT-bench pairs only when include_mt_bench is set."
                ),
            )
            for cls in LICENCE_CLASSES
        ]
        + [
            AssetSpec(
                list(ARENA_FILTERED),
                group_name="gold",
                deps=[AssetKey(list(COMPARISONS))],
                automation_condition=FOLLOW_UPSTREAM,
                kinds={"delta", "polars"},
                description=(
                    "Arena votes the enabled arena_filters leave out of every training view "
                    "(prefs, SFT, prompts), with filter_reason. Grain: one row per filtered "
                    "vote, silver/comparisons' columns. Licence: as silver (prompts "
                    "CC-BY-4.0, model outputs CC-BY-NC-4.0); an audit table, not training data."
                ),
            )
        ],
    )
    def prefs(context: AssetExecutionContext, config: GoldConfig, lake: Lake) -> Iterator:
        policies = list(dict.fromkeys([*config.ultrafeedback_policies, *view_policies]))
        config = config.model_copy(update={"ultrafeedback_policies": policies})
        plans = {cls: gold_plan(lake, f"prefs_{cls}", config, False) for cls in LICENCE_CLASSES}
        if all(plan.unchanged for plan in plans.values()):
            for cls, plan in plans.items():
                yield unchanged_result(lake, f"prefs_{cls}", plan)
            yield unchanged_result(lake, ARENA_FILTERED[1], plans["by"])
            return

        def dataset(name: str) -> pl.DataFrame:  # one partition in memory at a time
            return lake.scan(COMPARISONS).filter(pl.col("dataset") == name).collect()

        frames, counts = [], Counter()
        unknown = [p for p in config.ultrafeedback_policies if p not in UF_POLICIES]
        if unknown:
            raise ValueError(f"unknown policy {unknown[0]!r}; choose from {UF_POLICIES}")
        if config.mt_bench_policy not in MT_BENCH_POLICIES:
            raise ValueError(
                f"unknown policy {config.mt_bench_policy!r}; choose from {MT_BENCH_POLICIES}"
            )
        ultrafeedback = dataset("ultrafeedback") if config.ultrafeedback_policies else None
        if ultrafeedback is not None and config.fix_ultrafeedback_scores:
            ultrafeedback, outcomes = fix_overall_score(ultrafeedback)
            counts.update({f"ultrafeedback_score_10_{k}": v for k, v in outcomes.items()})
        for policy in config.ultrafeedback_policies:
            pairs, dropped = binarize_ultrafeedback(
                ultrafeedback,
                policy,
                seed=config.seed,
                exclude_sources=config.exclude_sources,
                margin=config.margin,
            )
            frames.append(pairs)
            counts.update({f"{policy}_{k}": v for k, v in dropped.items()})
        arena, filtered, reasons = filter_arena(dataset(ARENA_DATASET), config.arena_filters)
        counts.update({f"arena_filtered_{k}": v for k, v in reasons.items()})
        pairs, dropped = binarize_arena(arena)
        frames.append(pairs)
        counts.update({f"arena_{k}": v for k, v in dropped.items()})
        mt_bench = dataset(EVALUATION_DATASET)
        agreement = judge_agreement(mt_bench)
        if config.include_mt_bench:
            pairs, dropped = binarize_mt_bench(mt_bench, config.mt_bench_policy)
            frames.append(pairs)
            counts.update({f"mt_bench_{k}": v for k, v in dropped.items()})
        all_pairs = pl.concat(frames) if frames else pl.DataFrame(schema=PAIR_SCHEMA)
        for cls, frame in split_by_license(all_pairs).items():
            plan = plans[cls].displaced("both tables come from one pass over the pairs")
            removed: Counter[tuple[str, str]] = Counter()
            evaluation = decontamination_index(lake, config, f"prefs_{cls}")
            if evaluation is not None:  # MT-bench's own pairs are there only when asked for
                own = pl.col("dataset") == EVALUATION_DATASET
                checked, removed = decontaminate(frame.filter(~own), ("prompt",), evaluation)
                frame = pl.concat([checked, frame.filter(own)])
            yield table_result(
                lake,
                f"prefs_{cls}",
                [frame],
                ["pair_id", "dataset", "policy", "lang", "score_chosen", "score_rejected"],
                plan,
                removed,
                {
                    **counts_metadata("", counts),
                    "mt_bench_judge_agreement": MetadataValue.md(markdown_table(agreement)),
                },
            )
        yield filtered_result(lake, filtered, reasons, plans["by"])

    @multi_asset(
        specs=[
            AssetSpec(
                ["gold", f"sft_{cls}"],
                group_name="gold",
                deps=[AssetKey(list(CONVERSATIONS)), AssetKey(list(COMPARISONS))],
                automation_condition=FOLLOW_UPSTREAM,
                kinds={"delta", "polars"},
                description=(
                    "SFT dialogues: messages list<struct<role, content>>, scrubbed and "
                    "deduplicated. Grain: one row per distinct dialogue (UltraChat, "
                    "UltraChat 200k, and each side of an Arena vote). Licence: "
                    f"{SFT_LICENCE_NOTE[cls]}"
                    "; decontaminated against the pinned benchmark lists."
                ),
            )
            for cls in LICENCE_CLASSES
        ]
        + [
            AssetSpec(
                list(NEAR_DUPLICATES),
                group_name="gold",
                deps=[AssetKey(list(CONVERSATIONS)), AssetKey(list(COMPARISONS))],
                automation_condition=FOLLOW_UPSTREAM,
                kinds={"delta", "polars"},
                description=(
                    "What near-duplicate removal merged in the SFT tables. Grain: one row "
                    "per member of a cluster of two or more (table, cluster = the "
                    "survivor's example_id, survivor, lineage, closest similarities); the "
                    "dialogues themselves stay in the SFT tables and silver. Licence: "
                    "lineage only, no text. Signatures of every row judged are kept in "
                    "gold/minhash_signatures for increments."
                ),
            ),
            AssetSpec(
                list(SIGNATURES),
                group_name="gold",
                deps=[AssetKey(list(CONVERSATIONS)), AssetKey(list(COMPARISONS))],
                automation_condition=FOLLOW_UPSTREAM,
                kinds={"delta", "polars"},
                description=(
                    "MinHash signatures of every SFT row judged for near-duplicates (kept "
                    "or dropped), so that rows appended later are checked against all of "
                    "them. Grain: one row per (table, example_id). Licence: signatures "
                    "only, no text."
                ),
            ),
        ],
    )
    def sft(context: AssetExecutionContext, config: GoldConfig, lake: Lake) -> Iterator:
        plans = {cls: gold_plan(lake, f"sft_{cls}", config, True) for cls in LICENCE_CLASSES}
        for cls, plan in plans.items():
            # A new conversation whose id the table already holds (a vote's dialogue, kept
            # there while no conversation had it) changes the table's rows: rebuild it.
            if plan.files and holds_any(lake, f"sft_{cls}", plan.files, config.batch_rows):
                context.log.info(f"sft_{cls}: rebuilt: a new conversation was judged before")
                plans[cls] = plan.displaced("a new conversation was judged before")
        unknown = (
            lake.scan(CONVERSATIONS)
            .filter(~pl.col("license_class").is_in(LICENCE_CLASSES))
            .select(pl.len())
            .collect()
            .item()
        )
        if unknown:
            raise ValueError(f"{unknown} conversations have an unknown licence class")
        indexes = {
            cls: decontamination_index(lake, config, f"sft_{cls}") for cls in LICENCE_CLASSES
        }

        def votes() -> pl.DataFrame:
            # Conversations (the bulk) are read in batches; votes are a few tens of thousands.
            voted = (
                lake.scan(COMPARISONS)
                .filter(
                    pl.col("conversation_a").is_not_null()
                    & (pl.lit(config.include_mt_bench) | (pl.col("dataset") != EVALUATION_DATASET))
                )
                .collect()
            )
            voted = without_filtered_arena(voted, config.arena_filters)
            conversation_ids = lake.scan(CONVERSATIONS).select("conversation_id").collect()
            return sft_from_votes(voted).filter(
                ~pl.col("example_id").is_in(conversation_ids["conversation_id"].implode())
            )

        def examples(
            cls: str, plan: GoldPlan, removed: Counter[tuple[str, str]]
        ) -> Iterator[pl.DataFrame]:
            yield pl.DataFrame(schema=SFT_SCHEMA)
            where = {"license_class": cls}
            if plan.rebuild:
                batches = lake.batches(CONVERSATIONS, config.batch_rows, where=where)
                parts = chain((sft_from_conversations(b) for b in batches), [votes()])
            else:
                batches = lake.read_added(CONVERSATIONS, plan.files, config.batch_rows, where=where)
                parts = (sft_from_conversations(b) for b in batches)
            for batch in parts:
                part = batch.filter(pl.col("license_class") == cls)
                if indexes[cls] is not None:
                    part, dropped = decontaminate(part, ("messages",), indexes[cls])
                    removed.update(dropped)
                yield part

        def restored_rows(cls: str, ids: pl.Series) -> pl.DataFrame:
            """The SFT rows of `ids` (conversations or votes of class `cls`), judged before."""
            wanted = ids.implode()
            conversations = (
                lake.scan(CONVERSATIONS)
                .filter(pl.col("conversation_id").is_in(wanted) & (pl.col("license_class") == cls))
                .collect()
            )
            voted = votes().filter(pl.col("example_id").is_in(wanted))
            rows = pl.concat([sft_from_conversations(conversations), voted])
            rows = rows.filter(pl.col("license_class") == cls).unique("example_id")
            if rows.height != ids.len():
                raise ValueError(f"sft_{cls}: {ids.len() - rows.height} judged rows are gone")
            return rows

        def rejudged_result(
            cls: str,
            plan: GoldPlan,
            added: list[pl.DataFrame],
            removed: Counter[tuple[str, str]],
            settings: NearDuplicateSettings,
            ranks: dict[str, int],
        ) -> MaterializeResult:
            """When new rows come before rows they copy: the clusters judged again from the
            stored signatures; in one commit, rows now copies of a new one leave, rows whose
            survivor left come back, and the new survivors are added (as a rebuild would
            have them)."""
            name = f"sft_{cls}"
            with tempfile.TemporaryDirectory(prefix="lake-near-") as folder:
                spool = SignatureSpool(Path(folder), settings)
                outcome = rejudge(lake, name, added, spool, ranks, config.batch_rows)
            members = outcome.judged.members.with_columns(table=pl.lit(name))
            dropped = outcome.judged.dropped.implode()
            new_rows = [f.filter(~pl.col("example_id").is_in(dropped)) for f in added]
            rows = pl.concat(
                [pl.DataFrame(schema=SFT_SCHEMA), restored_rows(cls, outcome.restored), *new_rows]
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
            tally = GoldTally.of_table(lake, name, ["example_id", "dataset", "lang", "license"])
            return tally.result(name, written, extra, attributions(tally.sources))

        settings = NearDuplicateSettings(threshold=config.near_duplicate_threshold)
        ranks = {name: rank for rank, name in enumerate(catalogue)}
        for cls, plan in plans.items():
            name = f"sft_{cls}"
            if plan.unchanged:
                yield unchanged_result(lake, name, plan)
                continue
            removed: Counter[tuple[str, str]] = Counter()
            preview = ["example_id", "dataset", "lang", "license"]
            if not config.near_duplicates:

                def cleared(name=name) -> None:  # no clusters or signatures stand for it
                    write_side_table(lake, SIGNATURES, name, [signature_rows_empty()])
                    write_side_table(
                        lake,
                        NEAR_DUPLICATES,
                        name,
                        [pl.DataFrame(schema=MEMBERS_SCHEMA).drop("table")],
                    )

                yield table_result(
                    lake,
                    name,
                    examples(cls, plan, removed),
                    preview,
                    plan,
                    removed,
                    before_commit=cleared if plan.rebuild else None,
                )
                continue
            if not plan.rebuild:
                added = list(examples(cls, plan, removed))
                joined = plan_increment(lake, name, added, settings, ranks, config.batch_rows)
                if joined is not None:
                    dropped = joined.dropped.implode()

                    def side_rows(added=added, joined=joined, name=name) -> None:
                        append_signatures(lake, name, added, settings)
                        append_members(lake, name, joined.members)

                    yield table_result(
                        lake,
                        name,
                        [f.filter(~pl.col("example_id").is_in(dropped)) for f in added],
                        preview,
                        plan,
                        removed,
                        counts_metadata(
                            "near_duplicates_appended_",
                            Counter(joined.members.filter(~pl.col("survivor"))["dataset"]),
                        ),
                        before_commit=side_rows,
                    )
                    continue
                context.log.info(f"{name}: rejudged: a new row comes before a row it copies")
                yield rejudged_result(cls, plan, added, removed, settings, ranks)
                continue
            with tempfile.TemporaryDirectory(prefix="lake-near-") as folder:
                spool = SignatureSpool(Path(folder), settings)
                try:
                    for frame in examples(cls, plan, removed):
                        spool.add(frame)
                finally:
                    spool.close()
                judged = spool.judge(ranks)
                members = judged.members.with_columns(table=pl.lit(name))
                near = {
                    **counts_metadata("near_duplicates_", judged.counts()),
                    "near_duplicate_clusters": members.filter("survivor").height,
                    "near_duplicates_seconds": round(spool.seconds, 2),
                    "near_duplicates_dialogues_judged": spool.rows,
                }

                def side_tables(spool=spool, members=members, name=name) -> None:
                    write_side_table(lake, SIGNATURES, name, signature_frames(spool, name, 50_000))
                    write_side_table(lake, NEAR_DUPLICATES, name, [members])

                yield table_result(
                    lake,
                    name,
                    chain([pl.DataFrame(schema=SFT_SCHEMA)], kept_rows(spool, judged)),
                    preview,
                    plan,
                    removed,
                    near,
                    before_commit=side_tables,
                )
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

    @asset(
        key=["gold", "prompts_by"],
        group_name="gold",
        deps=[AssetKey(list(CONVERSATIONS)), AssetKey(list(COMPARISONS))],
        kinds={"delta", "polars"},
        automation_condition=FOLLOW_UPSTREAM,
    )
    def prompts_by(context: AssetExecutionContext, config: GoldConfig, lake: Lake) -> Iterator:
        """User prompts only, for generating new responses.

        Grain: one row per distinct first user turn (UltraChat, UltraChat 200k,
        UltraFeedback instructions, Arena prompts). Licence: a prompt carries only the
        user's words, so Arena prompts are CC-BY-4.0 here although Arena's model outputs are
        CC-BY-NC-4.0; MIT and CC-BY rows only. Decontaminated against the pinned benchmark
        lists; MT-bench's own questions are evaluation data and never included. When
        silver/conversations only gained rows since the last build, their prompts not yet
        in the table are appended (a prompt already present keeps its row).
        """
        plan = gold_plan(lake, "prompts_by", config, True)
        if plan.unchanged:
            yield unchanged_result(lake, "prompts_by", plan)
            return
        comparisons = (
            lake.scan(COMPARISONS).filter(pl.col("dataset") != EVALUATION_DATASET)
            if plan.rebuild
            else lake.scan(COMPARISONS).head(0)
        )
        columns = [*PROMPT_LINEAGE, "messages", "license"]
        batches = (
            lake.batches(CONVERSATIONS, config.batch_rows, columns=columns)
            if plan.rebuild
            else lake.read_added(CONVERSATIONS, plan.files, config.batch_rows, columns=columns)
        )
        # Only the first user turn of each conversation is needed: read in batches, keep a
        # compact copy of that (a filtered view would keep each batch's whole text alive).
        first_turns = [
            compact(
                batch.with_columns(
                    pl.col("messages")
                    .list.filter(pl.element().struct.field("role") == "user")
                    .list.head(1)
                )
            )
            for batch in batches
        ]
        conversations = pl.concat(
            [lake.scan(CONVERSATIONS).select(columns).head(0).collect(), *first_turns]
        )
        voted = without_filtered_arena(comparisons.collect(), config.arena_filters)
        prompts = prompts_from_silver(conversations, voted.select(PROMPT_SOURCE_COLUMNS))
        if not plan.rebuild:
            held = lake.scan(("gold", "prompts_by")).select("prompt_id").collect()
            prompts = prompts.join(held, on="prompt_id", how="anti", maintain_order="left")
        removed: Counter[tuple[str, str]] = Counter()
        evaluation = decontamination_index(lake, config, "prompts_by")
        if evaluation is not None:
            prompts, removed = decontaminate_text(prompts, "prompt", evaluation)
        parts = split_by_license(prompts)
        if parts["by_nc"].height:
            raise ValueError(
                f"{parts['by_nc'].height} prompts are non-commercial: no table holds them"
            )
        yield table_result(
            lake,
            "prompts_by",
            [parts["by"]],
            ["prompt_id", "dataset", "lang", "license", "prompt"],
            plan,
            removed,
        )

    return [prefs, sft, prompts_by]
