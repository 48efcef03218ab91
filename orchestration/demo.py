"""`make demo`: build the whole lake from the configured sources and say what is where."""

from __future__ import annotations

import sys

from dagster import DagsterInstance

from orchestration import config
from orchestration.definitions import build_definitions
from orchestration.resources import lake_resource
from orchestration.runner import materialize_everything


def main() -> int:
    defs = build_definitions()
    lake = lake_resource()
    print(f"sources: {config.lake_sources()}   lake: {lake.root}")
    with DagsterInstance.get() as instance:
        for run in materialize_everything(defs, instance):
            print(f"  materialized {run}")
    print("\nTables (Delta), rows at their latest version:")
    for key in sorted(defs.resolve_asset_graph().get_all_asset_keys()):
        table = lake.table(key.path)
        if table is None:
            continue
        rows = lake.scan(key.path).select("dataset").collect().height
        name = key.to_user_string()
        print(f"  {name:36s} v{table.version():<4d} {rows:>8,d} rows  {lake.uri(key.path)}")
    print(
        '\nRead one:  .venv/bin/python -c "import polars as pl; '
        f"print(pl.scan_delta('{lake.uri(['bronze', 'ultrachat'])}').head().collect())\""
        "\nBrowse:    make ui   (http://127.0.0.1:3000)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
