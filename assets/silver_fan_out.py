"""silver/text_cache as an asset: one dataset's text-engine work fanned out over the hash
buckets its catalogue entry declares (`buckets: N`), one step per bucket.

Each bucket is its own step (a dynamic output), so Dagster's multiprocess executor runs
them side by side on one machine and a step-per-pod executor (LAKE_EXECUTOR=k8s) on as many
pods; every step reads the dataset's bronze rows from the lake and writes the results to
the lake's text cache, so the steps share nothing else. The work is in
storage/text_fan_out.py.
"""

import inspect
from collections import Counter
from collections.abc import Iterator

import dagster as dg

from assets.silver_plan import bronze_input_mapping, fanned_out, silver_code
from storage import text_fan_out
from storage.keys import TEXT_CACHE
from storage.lake import Lake
from storage.silver_tables import SilverConfig
from transforms.catalogue import DatasetSpec

DESCRIPTION = (
    "Text-engine results by content. Grain: one row per (engine configuration, distinct "
    "text), keyed by sha256; holds findings offsets and language labels, never text "
    "(licence: none). Materialized per dataset that declares `buckets` in the catalogue: "
    "one step per hash bucket of the dataset's rows runs the language and PII engines on "
    "the rows its silver slices will process next, so the work of one dataset spreads over "
    "run workers or pods; the slices then find every text analysed. The silver tables add "
    "what they analyse themselves (datasets without buckets, other settings). What silver "
    "holds never depends on the buckets: results are kept by content."
)


def text_cache_assets(catalogue: dict[str, DatasetSpec]) -> list[dg.AssetsDefinition]:
    """silver/text_cache as the fan-out of the datasets declaring buckets (none when no
    dataset does: it is then a side table of the silver slices)."""
    return [text_cache_asset(catalogue)] if fanned_out(catalogue) else []


def text_cache_asset(catalogue: dict[str, DatasetSpec]) -> dg.AssetsDefinition:
    """One graph-backed asset partitioned by dataset: bucket numbers -> one step per
    bucket -> the summary."""
    datasets = fanned_out(catalogue)
    inputs = {f"bronze_{key}": key for key in datasets}

    @dg.op(
        ins={name: dg.In(dg.Nothing) for name in inputs},
        out=dg.DynamicOut(int),
        description="One output per hash bucket the partition's dataset declares.",
    )
    def text_cache_buckets(context: dg.OpExecutionContext) -> Iterator[dg.DynamicOutput[int]]:
        for bucket in range(catalogue[context.partition_key].buckets):
            yield dg.DynamicOutput(bucket, mapping_key=f"bucket_{bucket}")

    @dg.op(description="Language and PII for one bucket's rows, into the text cache.")
    def text_cache_bucket(
        context: dg.OpExecutionContext, config: SilverConfig, lake: Lake, bucket: int
    ) -> list[dict]:
        spec = catalogue[context.partition_key]
        work = text_fan_out.analyse_bucket(lake, config, spec, bucket, silver_code(), context.log)
        return [{"bucket": bucket, **vars(item)} for item in work]

    @dg.op(description="What the buckets did, as the partition's materialization.")
    def text_cache_filled(context: dg.OpExecutionContext, work: list[list[dict]]) -> dg.Output:
        return dg.Output(None, metadata=fan_out_metadata(context.partition_key, work))

    def compose(**bronze: object) -> object:
        return text_cache_filled(text_cache_buckets(**bronze).map(text_cache_bucket).collect())

    # The graph's inputs are the bronze tables, one per fanned-out dataset: named here,
    # since Dagster reads a graph's inputs from its function's signature.
    compose.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY) for name in inputs]
    )
    return dg.graph_asset(
        compose,
        key=list(TEXT_CACHE),
        group_name="silver",
        description=DESCRIPTION,
        partitions_def=dg.StaticPartitionsDefinition(datasets),
        ins={
            name: dg.AssetIn(
                ["bronze", key],
                partition_mapping=bronze_input_mapping(catalogue, key),
                dagster_type=dg.Nothing,
            )
            for name, key in inputs.items()
        },
        config=dg.ConfigMapping(config_fn=bucket_config),
        kinds={"delta", "polars"},
        automation_condition=dg.AutomationCondition.eager(),
    )


def bucket_config(config: SilverConfig) -> dict:
    """The asset's config (silver's, as the slices take it) is every bucket step's: the
    engine settings must be the slices' for the cache to hold what they look up."""
    values = config if isinstance(config, dict) else config.model_dump()
    return {"text_cache_bucket": {"config": {k: v for k, v in values.items() if v is not None}}}


def fan_out_metadata(dataset: str, work: list[list[dict]]) -> dict:
    """The buckets' work summed per engine and table, with each bucket's rows and seconds
    (docs/deploy.md projects a fan-out's time from these)."""
    work = sorted(work, key=lambda bucket: bucket[0]["bucket"] if bucket else -1)
    steps = [item for bucket in work for item in bucket]
    totals: Counter[str] = Counter()
    for item in steps:
        totals.update({k: v for k, v in item["stats"].items() if isinstance(v, int | float)})
    seconds = [sum(i["seconds"] for i in bucket) for bucket in work]
    return {
        "dataset": dataset,
        "buckets": len(work),
        "plans": dg.MetadataValue.json(sorted({f"{i['table']}: {i['plan']}" for i in steps})),
        "rows_analysed": sum(i["rows"] for i in steps),
        **{k: round(v, 3) for k, v in sorted(totals.items())},
        "bucket_seconds": dg.MetadataValue.json([round(s, 3) for s in seconds]),
        "slowest_bucket_seconds": round(max(seconds, default=0.0), 3),
        "bucket_rows": dg.MetadataValue.json([sum(i["rows"] for i in bucket) for bucket in work]),
    }
