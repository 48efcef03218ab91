"""Profile one asset (partition) of a lake that `bench.run` built, with cProfile.

    .venv/bin/python -m bench.profile_asset --scale 0.1 --asset silver/dialogues \\
        --partition ultrachat_200k

Runs after `bench.run` at the same scale, on its lake (bench/out/work-<scale>/lake), so
the text-engine cache is warm and the profile shows everything else the step does:
reading, cleaning, hashing, applying findings, writing. Prints the functions with the
most cumulative and own time.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from pathlib import Path

from dagster import AssetKey, DagsterInstance, materialize

from bench.pipeline import lake_definitions
from bench.run import OUT


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--asset", default="silver/dialogues")
    parser.add_argument("--partition", default=None)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    work = args.out / f"work-{args.scale:g}"
    defs = lake_definitions(work / "lake", work / "mirror")
    key = AssetKey(args.asset.split("/"))
    profiler = cProfile.Profile()
    with DagsterInstance.ephemeral() as instance:
        started = time.perf_counter()
        profiler.enable()
        materialize(
            [*(defs.assets or []), *(defs.asset_checks or [])],
            selection=[key],
            resources=defs.resources,
            instance=instance,
            partition_key=args.partition,
        )
        profiler.disable()
    print(f"{args.asset} [{args.partition}]: {time.perf_counter() - started:.1f} s")
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
