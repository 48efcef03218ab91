"""Gold: what users train on. Preference pairs, SFT dialogues and prompts, each split by
licence class, decontaminated against MT-bench."""

from collections import Counter
from collections.abc import Iterator
from itertools import chain

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

from assets.automation import FOLLOW_UPSTREAM
from assets.bronze import preview_markdown
from assets.lake import Lake, TableWrite, compact
from assets.silver import COMPARISONS, CONVERSATIONS, bar_chart
from transforms.binarize import (
    PAIR_SCHEMA,
    UF_POLICIES,
    binarize_arena,
    binarize_mt_bench,
    binarize_ultrafeedback,
)
from transforms.catalogue import DatasetSpec
from transforms.decontaminate import evaluation_index
from transforms.gold import (
    SFT_SCHEMA,
    counts_metadata,
    decontaminate,
    decontaminate_text,
    evaluation_questions,
    prompts_from_silver,
    sft_from_conversations,
    sft_from_votes,
    split_by_license,
)

EVALUATION_DATASET = "mt_bench_human_judgments"
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


class GoldConfig(Config):
    """How training views are made; defaults reproduce the well-known recipes."""

    batch_rows: int = 10_000
    """Conversations processed at a time (memory is bounded by one batch)."""
    ultrafeedback_policies: list[str] = ["max_overall_random_other"]
    """Any of max_overall_random_other, max_mean_rating_drop_ties, all_pairs_margin."""
    seed: int = 42
    """Seed of every random pick (per prompt)."""
    exclude_sources: list[str] = ["truthful_qa"]
    """UltraFeedback prompt sources left out (the reference recipe drops truthful_qa)."""
    margin: float = 1.0
    """all_pairs_margin: the smallest overall_score difference that makes a pair."""
    decontaminate: bool = True
    """Remove examples whose user turns match an MT-bench question."""
    ngram: int = 13
    """Length (words) of the overlap that counts as a match."""
    include_mt_bench: bool = False
    """MT-bench is evaluation data: its pairs enter training views only if set."""


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
                "path": MetadataValue.path(written.uri),
                "preview": MetadataValue.md(preview_markdown(self.preview.head(5))),
            },
        )


def gold_assets(catalogue: dict[str, DatasetSpec]) -> list:
    def attributions(sources: Counter[tuple[str, str]]) -> str:
        """Markdown: every source dataset in the table, with its Hub repo and licences."""
        lines = ["| dataset | source | licence | rows |", "|---|---|---|---|"]
        for (dataset, licence), n in sorted(sources.items()):
            url = f"https://huggingface.co/datasets/{catalogue[dataset].hub_repo}"
            lines.append(f"| {dataset} | {url} | {licence} | {n} |")
        return "\n".join(lines)

    def table_result(
        lake: Lake, name: str, frame: pl.DataFrame, extra: dict, preview: list[str]
    ) -> MaterializeResult:
        tally = GoldTally(preview)
        written = lake.write(("gold", name), tally.add(frame))
        return tally.result(name, written, extra, attributions(tally.sources))

    def index(lake: Lake, config: GoldConfig):
        evaluation = lake.scan(COMPARISONS).filter(pl.col("dataset") == EVALUATION_DATASET)
        return evaluation_index(
            evaluation_questions(evaluation.collect(), EVALUATION_DATASET), config.ngram
        )

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
                    "against MT-bench; MT-bench pairs only when include_mt_bench is set."
                ),
            )
            for cls in LICENCE_CLASSES
        ],
    )
    def prefs(context: AssetExecutionContext, config: GoldConfig, lake: Lake) -> Iterator:
        def dataset(name: str) -> pl.DataFrame:  # one partition in memory at a time
            return lake.scan(COMPARISONS).filter(pl.col("dataset") == name).collect()

        frames, counts = [], Counter()
        unknown = [p for p in config.ultrafeedback_policies if p not in UF_POLICIES]
        if unknown:
            raise ValueError(f"unknown policy {unknown[0]!r}; choose from {UF_POLICIES}")
        ultrafeedback = dataset("ultrafeedback") if config.ultrafeedback_policies else None
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
        pairs, dropped = binarize_arena(dataset("chatbot_arena_conversations"))
        frames.append(pairs)
        counts.update({f"arena_{k}": v for k, v in dropped.items()})
        if config.include_mt_bench:
            pairs, dropped = binarize_mt_bench(dataset(EVALUATION_DATASET))
            frames.append(pairs)
            counts.update({f"mt_bench_{k}": v for k, v in dropped.items()})
        all_pairs = pl.concat(frames) if frames else pl.DataFrame(schema=PAIR_SCHEMA)
        removed: Counter[str] = Counter()
        if config.decontaminate:
            keep_eval = all_pairs.filter(pl.col("dataset") == EVALUATION_DATASET)
            checked, removed = decontaminate(
                all_pairs.filter(pl.col("dataset") != EVALUATION_DATASET),
                ("prompt",),
                index(lake, config),
            )
            all_pairs = pl.concat([checked, keep_eval])
        for cls, frame in split_by_license(all_pairs).items():
            yield table_result(
                lake,
                f"prefs_{cls}",
                frame,
                {
                    **counts_metadata("", counts),
                    **counts_metadata("decontaminated_", removed),
                },
                ["pair_id", "dataset", "policy", "lang", "score_chosen", "score_rejected"],
            )

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
                    "; decontaminated against MT-bench."
                ),
            )
            for cls in LICENCE_CLASSES
        ],
    )
    def sft(context: AssetExecutionContext, config: GoldConfig, lake: Lake) -> Iterator:
        # Conversations (the bulk) are read in batches; votes are a few tens of thousands.
        votes = (
            lake.scan(COMPARISONS)
            .filter(
                pl.col("conversation_a").is_not_null()
                & (pl.lit(config.include_mt_bench) | (pl.col("dataset") != EVALUATION_DATASET))
            )
            .collect()
        )
        conversation_ids = lake.scan(CONVERSATIONS).select("conversation_id").collect()
        from_votes = sft_from_votes(votes).filter(
            ~pl.col("example_id").is_in(conversation_ids["conversation_id"].implode())
        )
        unknown = (
            lake.scan(CONVERSATIONS)
            .filter(~pl.col("license_class").is_in(LICENCE_CLASSES))
            .select(pl.len())
            .collect()
            .item()
        )
        if unknown:
            raise ValueError(f"{unknown} conversations have an unknown licence class")
        evaluation = index(lake, config) if config.decontaminate else None

        def examples(cls: str, removed: Counter[str]) -> Iterator[pl.DataFrame]:
            yield pl.DataFrame(schema=SFT_SCHEMA)
            batches = lake.batches(CONVERSATIONS, config.batch_rows, where={"license_class": cls})
            for batch in chain((sft_from_conversations(b) for b in batches), [from_votes]):
                part = batch.filter(pl.col("license_class") == cls)
                if evaluation is not None:
                    part, dropped = decontaminate(part, ("messages",), evaluation)
                    removed.update(dropped)
                yield part

        for cls in LICENCE_CLASSES:
            removed: Counter[str] = Counter()
            tally = GoldTally(["example_id", "dataset", "lang", "license"])
            written = lake.write_batches(
                ("gold", f"sft_{cls}"), (tally.add(f) for f in examples(cls, removed))
            )
            yield tally.result(
                f"sft_{cls}",
                written,
                counts_metadata("decontaminated_", removed),
                attributions(tally.sources),
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
        CC-BY-NC-4.0; MIT and CC-BY rows only. Decontaminated against MT-bench; MT-bench's
        own questions are evaluation data and never included.
        """
        comparisons = lake.scan(COMPARISONS).filter(pl.col("dataset") != EVALUATION_DATASET)
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
            for batch in lake.batches(
                CONVERSATIONS, config.batch_rows, columns=[*PROMPT_LINEAGE, "messages", "license"]
            )
        ]
        conversations = (
            pl.concat(first_turns)
            if first_turns
            else lake.scan(CONVERSATIONS)
            .select(*PROMPT_LINEAGE, "messages", "license")
            .head(0)
            .collect()
        )
        prompts = prompts_from_silver(
            conversations, comparisons.select(PROMPT_SOURCE_COLUMNS).collect()
        )
        removed: Counter[str] = Counter()
        if config.decontaminate:
            prompts, removed = decontaminate_text(prompts, "prompt", index(lake, config))
        parts = split_by_license(prompts)
        if parts["by_nc"].height:
            raise ValueError(
                f"{parts['by_nc'].height} prompts are non-commercial: no table holds them"
            )
        yield table_result(
            lake,
            "prompts_by",
            parts["by"],
            counts_metadata("decontaminated_", removed),
            ["prompt_id", "dataset", "lang", "license", "prompt"],
        )

    return [prefs, sft, prompts_by]
