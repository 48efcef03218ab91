"""Gold preference pairs (prefs_by, prefs_by_nc) and the votes the vote filters leave out
(arena_filtered). Which datasets give pairs, with which policies, and whether the vote
filters apply to them is declared in sources/catalogue.yaml; nothing here names a dataset."""

from collections import Counter
from collections.abc import Iterator, Mapping

import polars as pl
from dagster import (
    AssetExecutionContext,
    AssetKey,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)

from assets import gold_tables as tables
from assets.markdown import preview_markdown
from storage.keys import ARENA_FILTERED, COMPARISONS
from storage.lake import Lake
from transforms.arena_filters import filter_arena
from transforms.binarize import MT_BENCH_POLICIES, PAIR_SCHEMA, UF_POLICIES, judge_agreement
from transforms.catalogue import DatasetSpec
from transforms.gold import (
    counts_metadata,
    decontaminate,
    evaluation_datasets,
    gold_datasets,
    split_by_license,
)
from transforms.policies import POLICIES, binarize, selected_policies
from transforms.ultrafeedback_fix import fix_overall_score
from transforms.views import ViewSpec

PREFS_LICENCE_NOTE = {
    "by": "commercially usable (MIT, Apache-2.0, CC-BY)",
    "by_nc": "usable, at least one being non-commercial (e.g. Arena outputs, CC-BY-NC-4.0)",
}
FILTERED_SCHEMA_COLUMNS = ("source_id", "filter_reason")

PREFS_SPECS = [
    tables.gold_spec(
        ["gold", f"prefs_{cls}"],
        [COMPARISONS],
        "Preference pairs in TRL's DPO format: prompt (messages), chosen and rejected "
        "(assistant messages), score_chosen, score_rejected, policy. Grain: one row per "
        "(comparison, policy) pair, from every dataset the catalogue declares `gold: "
        f"[prefs]` for. Licence: only rows whose every field is {PREFS_LICENCE_NOTE[cls]}"
        "; a row's class is the most restrictive of its fields'. Decontaminated against "
        "the pinned benchmark lists (MT-bench, Arena-Hard, TruthfulQA); evaluation data "
        "(MT-bench) only when include_mt_bench is set.",
    )
    for cls in tables.LICENCE_CLASSES
] + [
    tables.gold_spec(
        ARENA_FILTERED,
        [COMPARISONS],
        "Votes the enabled vote filters (arena_filters) leave out of every training view "
        "(prefs, SFT, prompts), with filter_reason, for the datasets the catalogue marks "
        "`vote_filters: true` (Arena). Grain: one row per filtered vote, "
        "silver/comparisons' columns. Licence: as silver (Arena prompts CC-BY-4.0, model "
        "outputs CC-BY-NC-4.0); an audit table, not training data.",
    )
]


def prefs_assets(catalogue: Mapping[str, DatasetSpec], views: Mapping[str, ViewSpec]) -> list:
    @multi_asset(specs=PREFS_SPECS)
    def prefs(context: AssetExecutionContext, config: tables.GoldConfig, lake: Lake) -> Iterator:
        yield from build_prefs(config, lake, catalogue, views)

    return [prefs]


def checked_config(config: tables.GoldConfig, views: Mapping[str, ViewSpec]) -> tables.GoldConfig:
    """The config with every policy asked for (the views' too), each one known."""
    for asked, known in (
        (config.ultrafeedback_policies, UF_POLICIES),
        ([config.mt_bench_policy], MT_BENCH_POLICIES),
        (config.policies, tuple(POLICIES)),
    ):
        for policy in asked:
            if policy not in known:
                raise ValueError(f"unknown policy {policy!r}; choose from {known}")
    return config.model_copy(update={"policies": config.wanted_policies(views)})


def build_prefs(
    config: tables.GoldConfig,
    lake: Lake,
    catalogue: Mapping[str, DatasetSpec],
    views: Mapping[str, ViewSpec],
) -> Iterator[MaterializeResult]:
    """Both prefs tables and gold/arena_filtered from one pass over the comparisons of
    every dataset that gives pairs (all rebuilt together when anything changed)."""
    config = checked_config(config, views)
    names = [f"prefs_{cls}" for cls in tables.LICENCE_CLASSES]
    plans = {name: tables.gold_plan(lake, name, config, False, catalogue) for name in names}
    if all(plan.unchanged for plan in plans.values()):
        for name, plan in plans.items():
            yield tables.unchanged_result(lake, name, plan)
        yield tables.unchanged_result(lake, ARENA_FILTERED[1], plans["prefs_by"])
        return
    pairs, filtered, counts, extra = all_pairs(config, lake, catalogue)
    evaluation = pl.col("dataset").is_in(evaluation_datasets(catalogue))
    for cls, frame in split_by_license(pairs).items():
        name = f"prefs_{cls}"
        plan = plans[name].displaced("both tables come from one pass over the pairs")
        removed: Counter[tuple[str, str]] = Counter()
        index = tables.decontamination_index(lake, config, name, catalogue)
        if index is not None:  # evaluation data's own pairs are there only when asked for
            checked, removed = decontaminate(frame.filter(~evaluation), ("prompt",), index)
            frame = pl.concat([checked, frame.filter(evaluation)])
        yield tables.write_gold_table(
            lake,
            catalogue,
            name,
            [frame],
            ["pair_id", "dataset", "policy", "lang", "score_chosen", "score_rejected"],
            plan,
            removed,
            {**counts_metadata("", counts), **extra},
        )
    yield filtered_result(lake, filtered, plans["prefs_by"])


def all_pairs(
    config: tables.GoldConfig, lake: Lake, catalogue: Mapping[str, DatasetSpec]
) -> tuple[pl.DataFrame, pl.DataFrame, Counter[str], dict]:
    """Every dataset's pairs under its selected policies, the votes filtered out, what
    each step dropped, and the judge agreement of each evaluation dataset."""
    frames, filtered, counts, extra = [], [], Counter(), {}
    settings = config.binarize_settings()
    for key in gold_datasets(catalogue, "prefs", include_evaluation=True):
        spec = catalogue[key]
        rows = lake.scan(COMPARISONS).filter(pl.col("dataset") == key).collect()
        if spec.vote_filters:
            rows, left_out, reasons = filter_arena(rows, config.arena_filters)
            filtered.append(left_out)
            counts.update({f"vote_filtered_{k}": v for k, v in reasons.items()})
        if spec.evaluation:
            agreement = markdown_table(judge_agreement(rows))
            extra[f"{key}_judge_agreement"] = MetadataValue.md(agreement)
            if not config.include_mt_bench:
                continue
        if spec.shape == "rated_completions" and config.fix_ultrafeedback_scores:
            rows, outcomes = fix_overall_score(rows)
            counts.update({f"{key}_score_10_{k}": v for k, v in outcomes.items()})
        for policy in selected_policies(spec, config.policies):
            pairs, dropped = binarize(rows, policy, settings)
            frames.append(pairs)
            counts.update({f"{policy}_{k}": v for k, v in dropped.items()})
    pairs = pl.concat([pl.DataFrame(schema=PAIR_SCHEMA), *frames])
    left_out = pl.concat(filtered) if filtered else lake.scan(COMPARISONS).head(0).collect()
    if "filter_reason" not in left_out.columns:
        left_out = left_out.with_columns(filter_reason=pl.lit(None, pl.String))
    return pairs, left_out, counts, extra


def filtered_result(lake: Lake, filtered: pl.DataFrame, plan: tables.GoldPlan) -> MaterializeResult:
    """Write gold/arena_filtered (the votes the filters left out) and describe it."""
    written = lake.write(ARENA_FILTERED, filtered, commit_metadata=plan.commit())
    return MaterializeResult(
        asset_key=AssetKey(list(ARENA_FILTERED)),
        metadata={
            "rows": filtered.height,
            "by_reason": MetadataValue.json(dict(Counter(filtered["filter_reason"].to_list()))),
            "delta_version": written.version,
            "new_version": written.committed,
            "path": MetadataValue.path(written.uri),
            "preview": MetadataValue.md(
                preview_markdown(filtered.select(FILTERED_SCHEMA_COLUMNS).head(5))
            ),
        },
    )


def markdown_table(frame: pl.DataFrame) -> str:
    """A small frame as a markdown table (ratios to 3 decimals, nulls as blanks)."""
    ratios = pl.col(pl.Float64).map_elements(lambda v: f"{v:.3f}", return_dtype=pl.String)
    return preview_markdown(frame.with_columns(ratios.fill_null("")), rows=frame.height)
