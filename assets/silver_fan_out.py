"""silver/text_cache as an asset: one dataset's text-engine work fanned out over the hash
buckets its catalogue entry declares (`buckets: N`), one step per bucket.

Each bucket is its own step (a dynamic output), so Dagster's multiprocess executor runs
them side by side on one machine and a step-per-pod executor (LAKE_EXECUTOR=k8s) on as many
pods; every step reads the dataset's bronze rows from the lake and writes the results to
the lake's text cache, so the steps share nothing else. No value passes between the steps
(every output is Nothing, a step knows its bucket by its mapping key, and reports its work
as an observation in the run's event log, which the summary reads): step pods need no
shared IO manager. The work is in storage/text_fan_out.py.
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

BUCKET = "bucket_"
"""A bucket step's mapping key: `bucket_<n>`."""
DESCRIPTION = (
    "Text-engine results by content. Grain: one row per (engine configuration, distinct "
    "text), keyed by 128 bits of sha256; holds findings offsets and language labels, never text "
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
        out=dg.DynamicOut(dg.Nothing),
        description="One output per hash bucket the partition's dataset declares.",
    )
    def text_cache_buckets(context: dg.OpExecutionContext) -> Iterator[dg.DynamicOutput]:
        for bucket in range(catalogue[context.partition_key].buckets):
            yield dg.DynamicOutput(None, mapping_key=f"{BUCKET}{bucket}")

    @dg.op(
        ins={"planned": dg.In(dg.Nothing)},
        out=dg.Out(dg.Nothing),
        description="Language and PII for one bucket's rows, into the text cache.",
    )
    def text_cache_bucket(context: dg.OpExecutionContext, config: SilverConfig, lake: Lake) -> None:
        spec = catalogue[context.partition_key]
        bucket = int((context.get_mapping_key() or "").removeprefix(BUCKET))
        work = text_fan_out.analyse_bucket(lake, config, spec, bucket, silver_code(), context.log)
        context.log_event(
            dg.AssetObservation(
                asset_key=list(TEXT_CACHE),
                partition=context.partition_key,
                description=f"bucket {bucket} of {spec.buckets} analysed",
                metadata={
                    "bucket": bucket,
                    "work": dg.MetadataValue.json([vars(item) for item in work]),
                },
            )
        )

    @dg.op(
        ins={"analysed": dg.In(dg.Nothing)},
        out=dg.Out(dg.Nothing),
        description="What the buckets did, as the partition's materialization.",
    )
    def text_cache_filled(context: dg.OpExecutionContext) -> Iterator[dg.Output]:
        logs = context.instance.all_logs(
            context.run_id, of_type=dg.DagsterEventType.ASSET_OBSERVATION
        )
        work: dict[int, list[dict]] = {}  # the last report of each bucket (a retry reports again)
        for entry in logs:
            observed = entry.dagster_event.event_specific_data.asset_observation  # type: ignore[union-attr]
            if observed.asset_key == dg.AssetKey(list(TEXT_CACHE)) and "work" in observed.metadata:
                work[observed.metadata["bucket"].value] = observed.metadata["work"].value
        yield dg.Output(None, metadata=fan_out_metadata(context.partition_key, work))

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


def fan_out_metadata(dataset: str, by_bucket: dict[int, list[dict]]) -> dict:
    """The buckets' work (bucket -> what it did per table) summed per engine and table,
    with each bucket's rows and seconds (docs/deploy.md projects a fan-out's time from
    these)."""
    work = [by_bucket[bucket] for bucket in sorted(by_bucket)]
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
