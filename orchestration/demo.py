"""`make demo`: build the whole lake from the configured sources and say what is where."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import polars as pl
from dagster import DagsterInstance

from orchestration import config
from orchestration.catalogue import load_catalogue
from orchestration.definitions import build_definitions
from orchestration.mirror import check_hub
from orchestration.read import table_keys
from orchestration.resources import lake_resource
from orchestration.runner import materialize_everything
from storage.hub import HubUnavailable


def main() -> int:
    lake = lake_resource()
    defs = build_definitions(lake=lake)
    print(f"sources: {config.lake_sources()}   lake: {lake.root}")
    if config.lake_sources() == "hub":  # fail in one line before any run starts
        try:
            check_hub(load_catalogue(), os.environ.get("HF_TOKEN") or None)
        except HubUnavailable as error:
            print(f"make demo: {error}", file=sys.stderr)
            return 1
    with DagsterInstance.get() as instance:
        for run in materialize_everything(defs, instance):
            print(f"  materialized {run}")
    print("\nDelta tables (latest version, rows):")
    for key in table_keys(lake.root):
        version = lake.table(key).version()
        rows = lake.scan(key).select(pl.len()).collect().item()
        print(f"  {'/'.join(key):32s} v{version:<4d} {rows:>8,d} rows  {lake.uri(key)}")
    releases = sorted((Path(lake.root) / "releases").glob("*/manifest.json"))
    for manifest in releases:
        print(
            f"\nRelease: {manifest.parent}  (a Hugging Face dataset folder: data/<config>/, "
            "README.md dataset card, checksums.sha256, manifest.json, report.md with "
            "report_*.png (changes since the previous release, language, length and licence "
            "mix, PII and decontamination counts), leakage.md with leakage_*.svg)"
        )
        print(
            '        .venv/bin/python -c "import datasets; '
            f"print(datasets.load_dataset('{manifest.parent}', 'zephyr_sft'))\""
        )
    print(
        '\nRead:   .venv/bin/python -c "from orchestration.read import read_table; '
        "print(read_table('gold/prefs_by').head().collect())\""
        '\nSQL:    .venv/bin/python -c "from orchestration.read import sql; '
        "print(sql('SELECT dataset, count(*) n FROM gold_sft_by GROUP BY dataset'))\""
        "\nBrowse: make ui   (http://127.0.0.1:3000)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
