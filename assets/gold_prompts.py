"""Gold prompts (prompts_by): user prompts only, for generating new responses. Which
datasets give prompts is declared in sources/catalogue.yaml (`gold: [prompts]`)."""

from collections import Counter
from collections.abc import Iterator, Mapping

import polars as pl
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from assets.automation import FOLLOW_UPSTREAM
from assets.gold_tables import (
    GoldConfig,
    decontamination_index,
    gold_plan,
    unchanged_result,
    write_gold_table,
)
from storage.keys import COMPARISONS, CONVERSATIONS
from storage.lake import Lake, compact
from transforms.arena_filters import READ_COLUMNS
from transforms.catalogue import DatasetSpec
from transforms.gold import (
    decontaminate_text,
    first_user_turn_only,
    gold_datasets,
    prompts_from_silver,
    split_by_license,
    without_filtered_votes,
)

PROMPT_LINEAGE = ["dataset", "split", "source_file", "source_row", "source_id", "lang"]
PROMPT_SOURCE_COLUMNS = [*PROMPT_LINEAGE, "prompt", "prompt_license"]
NAME = "prompts_by"


def prompts_assets(catalogue: Mapping[str, DatasetSpec]) -> list:
    @asset(
        key=["gold", NAME],
        group_name="gold",
        deps=[AssetKey(list(CONVERSATIONS)), AssetKey(list(COMPARISONS))],
        kinds={"delta", "polars"},
        automation_condition=FOLLOW_UPSTREAM,
    )
    def prompts_by(context: AssetExecutionContext, config: GoldConfig, lake: Lake) -> Iterator:
        """User prompts only, for generating new responses.

        Grain: one row per distinct first user turn of the datasets the catalogue declares
        `gold: [prompts]` for (UltraChat, UltraChat 200k, UltraFeedback instructions, Arena,
        hh-rlhf and oasst1 prompts). Licence: a prompt carries only the user's words, so
        Arena prompts are CC-BY-4.0 here although Arena's model outputs are CC-BY-NC-4.0;
        commercially usable rows only. Decontaminated against the pinned benchmark lists;
        evaluation data (MT-bench's questions) is never included. When
        silver/conversations only gained rows since the last build, their prompts not yet
        in the table are appended (a prompt already present keeps its row).
        """
        yield from build_prompts(config, lake, catalogue)

    return [prompts_by]


def build_prompts(
    config: GoldConfig, lake: Lake, catalogue: Mapping[str, DatasetSpec]
) -> Iterator[MaterializeResult]:
    plan = gold_plan(lake, NAME, config, True, catalogue)
    if plan.unchanged:
        yield unchanged_result(lake, NAME, plan)
        return
    datasets = gold_datasets(catalogue, "prompts")
    filtered = [key for key in datasets if catalogue[key].vote_filters]
    # The prompt's columns and those the vote filters read, not the answers' text.
    needed = dict.fromkeys(["dataset", *PROMPT_SOURCE_COLUMNS, *READ_COLUMNS])
    voted = lake.scan(COMPARISONS).filter(pl.col("dataset").is_in(datasets))
    voted = voted.select(c for c in needed if c in voted.collect_schema().names())
    voted = without_filtered_votes(
        (voted if plan.rebuild else voted.head(0)).collect(), filtered, config.arena_filters
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
        compact(first_user_turn_only(batch.filter(pl.col("dataset").is_in(datasets))))
        for batch in batches
    ]
    conversations = pl.concat(
        [lake.scan(CONVERSATIONS).select(columns).head(0).collect(), *first_turns]
    )
    prompts = prompts_from_silver(conversations, voted.select(PROMPT_SOURCE_COLUMNS))
    if not plan.rebuild:
        held = lake.scan(("gold", NAME)).select("prompt_id").collect()
        prompts = prompts.join(held, on="prompt_id", how="anti", maintain_order="left")
    removed: Counter[tuple[str, str]] = Counter()
    index = decontamination_index(lake, config, NAME, catalogue)
    if index is not None:
        prompts, removed = decontaminate_text(prompts, "prompt", index)
    parts = split_by_license(prompts)
    if parts["by_nc"].height:
        raise ValueError(f"{parts['by_nc'].height} prompts are non-commercial: no table holds them")
    preview = ["prompt_id", "dataset", "lang", "license", "prompt"]
    yield write_gold_table(lake, catalogue, NAME, [parts["by"]], preview, plan, removed)
