"""Gold: what users train on. Preference pairs, SFT dialogues and prompts, each split by
licence class, decontaminated against MT-bench."""

from collections import Counter
from collections.abc import Iterator

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
from assets.lake import Lake
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


def gold_assets(catalogue: dict[str, DatasetSpec]) -> list:
    def attributions(frame: pl.DataFrame) -> str:
        """Markdown: every source dataset in the table, with its Hub repo and licences."""
        lines = ["| dataset | source | licence | rows |", "|---|---|---|---|"]
        for (dataset, licence), n in sorted(
            Counter(frame.select("dataset", "license").iter_rows()).items()
        ):
            url = f"https://huggingface.co/datasets/{catalogue[dataset].hub_repo}"
            lines.append(f"| {dataset} | {url} | {licence} | {n} |")
        return "\n".join(lines)

    def table_result(
        lake: Lake, name: str, frame: pl.DataFrame, extra: dict, preview: list[str]
    ) -> MaterializeResult:
        written = lake.write(("gold", name), frame)
        return MaterializeResult(
            asset_key=AssetKey(["gold", name]),
            metadata={
                "rows": frame.height,
                **extra,
                "by_dataset": MetadataValue.json(dict(Counter(frame["dataset"].to_list()))),
                "languages": MetadataValue.md(bar_chart(Counter(frame["lang"].to_list()))),
                "attribution": MetadataValue.md(attributions(frame)),
                "delta_version": written.version,
                "path": MetadataValue.path(written.uri),
                "preview": MetadataValue.md(preview_markdown(frame.select(preview))),
            },
        )

    def index(lake: Lake, config: GoldConfig):
        comparisons = lake.scan(COMPARISONS).collect()
        return evaluation_index(evaluation_questions(comparisons, EVALUATION_DATASET), config.ngram)

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
        comparisons = lake.scan(COMPARISONS).collect()
        frames, counts = [], Counter()
        for policy in config.ultrafeedback_policies:
            if policy not in UF_POLICIES:
                raise ValueError(f"unknown policy {policy!r}; choose from {UF_POLICIES}")
            pairs, dropped = binarize_ultrafeedback(
                comparisons.filter(pl.col("dataset") == "ultrafeedback"),
                policy,
                seed=config.seed,
                exclude_sources=config.exclude_sources,
                margin=config.margin,
            )
            frames.append(pairs)
            counts.update({f"{policy}_{k}": v for k, v in dropped.items()})
        pairs, dropped = binarize_arena(
            comparisons.filter(pl.col("dataset") == "chatbot_arena_conversations")
        )
        frames.append(pairs)
        counts.update({f"arena_{k}": v for k, v in dropped.items()})
        if config.include_mt_bench:
            pairs, dropped = binarize_mt_bench(
                comparisons.filter(pl.col("dataset") == EVALUATION_DATASET)
            )
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
                    "by_policy": MetadataValue.json(dict(Counter(frame["policy"].to_list()))),
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
        comparisons = lake.scan(COMPARISONS).collect()
        votes = comparisons.filter(
            pl.col("dataset") != EVALUATION_DATASET if not config.include_mt_bench else pl.lit(True)
        )
        examples = pl.concat(
            [sft_from_conversations(lake.scan(CONVERSATIONS).collect()), sft_from_votes(votes)]
        ).unique("example_id", keep="first", maintain_order=True)
        removed: Counter[str] = Counter()
        if config.decontaminate:
            examples, removed = decontaminate(examples, ("messages",), index(lake, config))
        for cls, frame in split_by_license(examples).items():
            yield table_result(
                lake,
                f"sft_{cls}",
                frame,
                counts_metadata("decontaminated_", removed),
                ["example_id", "dataset", "lang", "license"],
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
        comparisons = (
            lake.scan(COMPARISONS).collect().filter(pl.col("dataset") != EVALUATION_DATASET)
        )
        prompts = prompts_from_silver(lake.scan(CONVERSATIONS).collect(), comparisons)
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
