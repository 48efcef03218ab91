"""Reading the lake: a table at its latest version, at a Delta version, or at a release tag,
and SQL over the lake's tables (Polars SQL, or DuckDB over Arrow).

    from orchestration.read import read_table, sql
    read_table("gold/prefs_by").collect()
    read_table("gold/prefs_by", version=3).collect()
    read_table("gold/prefs_by", release="r-1a2b3c4d5e6f").collect()
    read_table("views/zephyr_prefs", release="r-1a2b3c4d5e6f").collect()
    sql("SELECT dataset, count(*) AS n FROM gold_prefs_by GROUP BY dataset")
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.fs as pafs
from deltalake import DeltaTable

from orchestration.config import lake_root, storage_options

LAYERS = ("bronze", "silver", "gold", "views")


def read_table(
    table: str, *, version: int | None = None, release: str | None = None, root: str | None = None
) -> pl.LazyFrame:
    """`table` is `<layer>/<name>`. With `release`, the version that release pinned."""
    root = resolve_root(root)
    if release is not None:
        if version is not None:
            raise ValueError("give a version or a release, not both")
        manifest = release_manifest(release, root=root)
        pins = {
            **{f"gold/{k}": p for k, p in manifest["tables"].items()},
            **{f"views/{k}": p for k, p in manifest.get("views", {}).items()},
        }
        if table not in pins:
            raise KeyError(f"release {release!r} pins no table {table!r}; it pins {sorted(pins)}")
        version = pins[table]["version"]
    return pl.scan_delta(f"{root}/{table}", version=version, storage_options=storage_options())


def release_manifest(tag: str, *, root: str | None = None) -> dict:
    filesystem, path = pafs.FileSystem.from_uri(
        f"{resolve_root(root)}/releases/{tag}/manifest.json"
    )
    with filesystem.open_input_stream(path) as stream:
        return json.loads(stream.read())


def resolve_root(root: str | None) -> str:
    """The lake root as a URI or an absolute path (default: LAKE_ROOT)."""
    if root is None:
        return lake_root()
    return root.rstrip("/") if "://" in root else str(Path(root).resolve())


def table_keys(root: str | None = None) -> list[tuple[str, str]]:
    """(layer, table) of every Delta table in the lake, sorted."""
    filesystem, base = pafs.FileSystem.from_uri(resolve_root(root))
    keys = []
    for layer in LAYERS:
        selector = pafs.FileSelector(f"{base}/{layer}", allow_not_found=True)
        for info in filesystem.get_file_info(selector):
            log = filesystem.get_file_info(f"{info.path}/_delta_log")
            if info.type == pafs.FileType.Directory and log.type == pafs.FileType.Directory:
                keys.append((layer, info.base_name))
    return sorted(keys)


def lake_tables(root: str | None = None) -> dict[str, str]:
    """SQL name (`<layer>_<table>`) -> table URI, for every Delta table in the lake."""
    root = resolve_root(root)
    return {f"{layer}_{name}": f"{root}/{layer}/{name}" for layer, name in table_keys(root)}


def sql(query: str, *, engine: str = "polars", root: str | None = None) -> pl.DataFrame:
    """Run SQL over every lake table, named `<layer>_<table>` (e.g. gold_prefs_by)."""
    tables = lake_tables(root)
    if engine == "polars":
        frames = {
            name: pl.scan_delta(uri, storage_options=storage_options())
            for name, uri in tables.items()
        }
        return pl.SQLContext(frames).execute(query).collect()
    if engine == "duckdb":
        connection = duckdb.connect()
        for name, uri in tables.items():
            dataset = DeltaTable(uri, storage_options=storage_options()).to_pyarrow_dataset()
            connection.register(name, dataset)
        return pl.from_arrow(connection.sql(query).to_arrow_table())
    raise ValueError(f"engine must be polars or duckdb, not {engine!r}")
