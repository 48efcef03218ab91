"""One dataset's silver slice with its text-engine work fanned out over hash buckets
(silver/text_cache) under Dagster's multiprocess executor, against the same slice built
alone with the engines' worker pool, on the same bronze rows, in one run.

    .venv/bin/python -m bench.dataset_fan_out --lake bench/out/work-0.1/lake \\
        --dataset ultrachat --buckets 2 4 --processes 2

Each side starts from a scratch lake holding only the dataset's bronze table (hard links
of the cold run's), so neither finds a text analysed. The fanned-out side runs the
text-cache asset as its own job (one process per bucket step, at most `processes` at a
time, each step's engines in one process), then the slice, which finds every text
analysed; both sides' silver/dialogues are compared row for row. The per-bucket seconds
are what docs/deploy.md projects a fan-out over K pods from.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl
from dagster import (
    AssetKey,
    DagsterInstance,
    Definitions,
    JobDefinition,
    define_asset_job,
    execute_job,
    materialize,
    multiprocess_executor,
    reconstructable,
)

from bench.pipeline import SAMPLES_DIR, hardlink_tree
from orchestration.catalogue import load_catalogue
from orchestration.definitions import build_definitions
from storage.keys import DIALOGUES, TEXT_CACHE
from storage.lake import Lake, Sources

ENV = ("BENCH_FAN_OUT_LAKE", "BENCH_FAN_OUT_DATASET", "BENCH_FAN_OUT_BUCKETS")
PROCESSES_ENV = "BENCH_FAN_OUT_PROCESSES"


def definitions(lake_root: str, dataset: str, buckets: int):
    """The lake's definitions with `dataset` declaring `buckets` buckets."""
    catalogue = {
        key: dataclasses.replace(spec, buckets=buckets if key == dataset else 1)
        for key, spec in load_catalogue().items()
    }
    sources = Sources(location=str(SAMPLES_DIR), samples_dir=str(SAMPLES_DIR))
    return build_definitions(Lake(root=lake_root), sources, catalogue)


def fan_out_job() -> JobDefinition:
    """The text-cache asset as a job under the multiprocess executor, rebuilt in every
    step's process from the environment `fan_out` sets."""
    lake_root, dataset, buckets = (os.environ[name] for name in ENV)
    executor = multiprocess_executor.configured({"max_concurrent": int(os.environ[PROCESSES_ENV])})
    defs = definitions(lake_root, dataset, int(buckets))
    job = define_asset_job("fan_out", selection=[AssetKey(list(TEXT_CACHE))], executor_def=executor)
    return Definitions(
        assets=list(defs.assets or []), resources=defs.resources, jobs=[job]
    ).resolve_job_def("fan_out")


def scratch_lake(cold_lake: Path, dataset: str, root: Path) -> Path:
    hardlink_tree(cold_lake / "bronze" / dataset, root / "bronze" / dataset)
    return root


def build_slice(lake_root: Path, dataset: str, buckets: int, workers: int) -> tuple[float, dict]:
    """Materialize silver/dialogues[dataset] in this process: seconds and its metadata."""
    defs = definitions(str(lake_root), dataset, buckets)
    key = AssetKey(list(DIALOGUES))
    started = time.perf_counter()
    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            list(defs.assets or []),
            selection=[key],
            partition_key=dataset,
            resources=defs.resources,
            instance=instance,
            run_config={"ops": {"silver__dialogues": {"config": {"workers": workers}}}},
        )
    seconds = time.perf_counter() - started
    (event,) = [e for e in result.get_asset_materialization_events() if e.asset_key == key]
    return seconds, {k: v.value for k, v in event.materialization.metadata.items()}


def run_fan_out(lake_root: Path, dataset: str, buckets: int, processes: int) -> tuple[float, dict]:
    """The text-cache asset's job for `dataset` under the multiprocess executor."""
    os.environ.update(
        dict(zip(ENV, (str(lake_root), dataset, str(buckets)), strict=True))
        | {PROCESSES_ENV: str(processes)}
    )
    with (
        tempfile.TemporaryDirectory(prefix="bench-dagster-") as home,
        DagsterInstance.local_temp(home) as instance,
    ):
        started = time.perf_counter()
        result = execute_job(
            reconstructable(fan_out_job),
            instance=instance,
            tags={"dagster/partition": dataset},
            run_config={"ops": {"silver__text_cache": {"config": {"workers": 1}}}},
        )
        seconds = time.perf_counter() - started
        if not result.success:
            raise RuntimeError(f"the fan-out of {dataset} failed")
        (event,) = result.get_asset_materialization_events()
    return seconds, {k: v.value for k, v in event.materialization.metadata.items()}


def dialogues(lake_root: Path) -> pl.DataFrame:
    frame = Lake(root=str(lake_root)).scan(DIALOGUES).collect()
    frame = frame.drop([c for c, t in frame.schema.items() if isinstance(t, pl.Datetime)])
    return frame.sort("conversation_id")


def measure(
    cold_lake: Path, dataset: str, buckets_to_try: list[int], processes: int
) -> dict[str, Any]:
    """The slice alone (engine pool of `processes`) and fanned out over each bucket count."""
    with tempfile.TemporaryDirectory(prefix="bench-fan-out-") as scratch:
        alone_root = scratch_lake(cold_lake, dataset, Path(scratch) / "alone")
        alone_seconds, alone = build_slice(alone_root, dataset, 1, processes)
        expected = dialogues(alone_root)
        result: dict[str, Any] = {
            "dataset": dataset,
            "processes": processes,
            "rows_in": alone["rows_in"],
            "alone_seconds": round(alone_seconds, 2),
            "alone_engine_seconds": {
                k: alone.get(f"{k}_engine_seconds") for k in ("language", "pii")
            },
            "fanned": [],
        }
        for buckets in buckets_to_try:
            root = scratch_lake(cold_lake, dataset, Path(scratch) / f"buckets-{buckets}")
            fan_seconds, fanned = run_fan_out(root, dataset, buckets, processes)
            slice_seconds, after = build_slice(root, dataset, buckets, processes)
            total = fan_seconds + slice_seconds
            result["fanned"].append(
                {
                    "buckets": buckets,
                    "fan_out_seconds": round(fan_seconds, 2),
                    "slice_seconds": round(slice_seconds, 2),
                    "total_seconds": round(total, 2),
                    "speedup": round(alone_seconds / total, 2),
                    "bucket_seconds": fanned["bucket_seconds"],
                    "bucket_rows": fanned["bucket_rows"],
                    "slice_texts_analysed": after.get("language_texts_analysed", 0)
                    + after.get("pii_texts_analysed", 0),
                    "identical": dialogues(root).equals(expected),
                }
            )
            print(json.dumps(result["fanned"][-1]), flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lake", type=Path, required=True, help="a cold run's lake")
    parser.add_argument("--dataset", default="ultrachat")
    parser.add_argument("--buckets", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, help="write the figures here as JSON")
    args = parser.parse_args(argv)
    figures = measure(args.lake, args.dataset, args.buckets, args.processes)
    text = json.dumps(figures, indent=2)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
