"""Release manifests and dataset cards: pure functions of what the gold tables hold."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl
import pyarrow as pa
import yaml

ID_COLUMNS = ("pair_id", "example_id", "prompt_id")


PIN_COLUMNS = (*ID_COLUMNS, "license", "lang", "dataset", "source_file")
"""The columns a table's pin is computed from (its text is never needed)."""


def pin_columns(schema: pl.Schema) -> list[str]:
    """The columns of a table with `schema` that `table_pin` reads."""
    return [name for name in schema.names() if name in PIN_COLUMNS]


def table_digest(schema: pl.Schema, frame: pl.DataFrame) -> str:
    """sha256 of a table's sorted row ids and its schema: equal digests, equal content.
    `frame` holds the table's rows with at least its id column."""
    id_column = next(c for c in ID_COLUMNS if c in schema.names())
    ids = sorted(frame[id_column].to_list())
    described = json.dumps({"schema": schema_of(schema), "ids": ids}, separators=(",", ":"))
    return hashlib.sha256(described.encode("utf-8")).hexdigest()


def schema_of(schema: pl.Schema) -> dict[str, str]:
    return {name: str(dtype) for name, dtype in schema.items()}


def content_tag(pins: Mapping[str, Mapping[str, Any]]) -> str:
    """A tag named by what it pins, so the same tables always give the same tag."""
    described = json.dumps({t: p["content_hash"] for t, p in sorted(pins.items())})
    return "r-" + hashlib.sha256(described.encode("utf-8")).hexdigest()[:12]


def table_pin(uri: str, version: int, schema: pl.Schema, frame: pl.DataFrame) -> dict[str, Any]:
    """What a release pins of one table at `version`: its rows, schema, content hash and
    the mix of licences, languages, datasets and source revisions. `frame` holds the
    table's rows in (at least) its `pin_columns`."""
    license_rows = (
        dict(sorted(frame["license"].value_counts().iter_rows()))
        if frame.height and "license" in frame.columns
        else {}
    )
    return {
        "uri": uri,
        "version": version,
        "rows": frame.height,
        "schema": schema_of(schema),
        "content_hash": table_digest(schema, frame),
        "license_rows": license_rows,
        "licenses": sorted(license_rows),
        "languages": dict(sorted(pl.Series(frame["lang"]).value_counts().iter_rows()))
        if frame.height
        else {},
        "datasets": dict(sorted(pl.Series(frame["dataset"]).value_counts().iter_rows()))
        if frame.height
        else {},
        "source_revisions": source_revisions(frame),
    }


UNRECORDED = "unrecorded"
"""The revision of rows read from a directory that recorded none (the bundled samples)."""


def source_revisions(frame: pl.DataFrame) -> dict[str, list[str]]:
    """{dataset: the Hub commits its rows were read at} from the rows' lineage
    (source_file = <org>/<name>@<commit>/<path>)."""
    if not frame.height or "source_file" not in frame.columns:
        return {}
    revisions = frame.select(
        "dataset",
        revision=pl.col("source_file")
        .str.extract(r"^[^/]+/[^/@]+@([^/]+)/", 1)
        .fill_null(UNRECORDED),
    ).unique()
    return {
        dataset: sorted(group["revision"])
        for (dataset,), group in sorted(revisions.group_by("dataset"), key=lambda g: g[0])
    }


SPLIT = "train"
"""The one split of a gold table in a release."""
SIZE_CATEGORIES = (
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
)
_DTYPES = {"double": "float64", "float": "float32", "halffloat": "float16"}


def hub_features(schema: pa.Schema) -> list[dict[str, Any]]:
    """A Parquet schema as the `features` list of a Hugging Face dataset card (what
    `datasets.Features._to_yaml_list` writes for it)."""
    return [{"name": field.name, **_feature(field.type)} for field in schema]


def _feature(kind: pa.DataType) -> dict[str, Any]:
    if pa.types.is_struct(kind):
        return {"struct": [{"name": f.name, **_feature(f.type)} for f in kind]}
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        key = "large_list" if pa.types.is_large_list(kind) else "list"
        inner = _feature(kind.value_type)
        if "dtype" in inner:
            return {key: inner["dtype"]}
        if "struct" in inner:
            return {key: inner["struct"]}
        return {key: inner}
    return {"dtype": _DTYPES.get(str(kind), str(kind))}


def size_category(rows: int) -> str:
    """The Hub's size_categories value for a number of rows."""
    return next((name for bound, name in SIZE_CATEGORIES if rows < bound), "n>10M")


def shard_name(split: str, index: int, count: int) -> str:
    """data/<config>/ file name of shard `index` of `count` of a split (the Hub's layout)."""
    return f"{split}-{index:05d}-of-{count:05d}.parquet"


def checksums_file(files: Mapping[str, str]) -> str:
    """`sha256sum -c` input for {relative path: sha256}."""
    return "".join(f"{digest}  {path}\n" for path, digest in sorted(files.items()))


def dataset_card(
    manifest: Mapping[str, Any],
    sources: Sequence[Mapping[str, str]],
    shards: Mapping[str, Mapping[str, Any]],
) -> str:
    """A Hugging Face dataset card: YAML header (licences, languages, sizes, one config per
    table and view with relative `data_files` per split and full `dataset_info`), then
    provenance, policies and attribution. `shards`: per config, `features`
    (hub_features), `splits` ({split: num_bytes, num_examples}) and `download_size` of its
    Parquet files under data/<config>/."""
    tables = manifest["tables"]
    pinned = [*tables.values(), *manifest.get("views", {}).values()]
    licences = sorted(
        {spdx.lower() for pin in pinned for expr in pin["licenses"] for spdx in expr.split(" AND ")}
    )
    languages = sorted({lang for pin in pinned for lang in pin["languages"] if lang != "und"})
    header = {
        "license": licences,
        "language": languages,
        "pretty_name": f"alignment-lake release {manifest['tag']}",
        "task_categories": ["text-generation"],
        "size_categories": [size_category(max(p["rows"] for p in pinned))],
        "source_datasets": sorted({source["hub_repo"] for source in sources}),
        "configs": [
            {
                "config_name": name,
                "data_files": [
                    {"split": split, "path": f"data/{name}/{split}-*.parquet"}
                    for split in described["splits"]
                ],
            }
            for name, described in shards.items()
            if described["splits"]
        ],
        "dataset_info": [
            {
                "config_name": name,
                "features": described["features"],
                "splits": [
                    {"name": split, **sizes} for split, sizes in described["splits"].items()
                ],
                "download_size": described["download_size"],
                "dataset_size": sum(sizes["num_bytes"] for sizes in described["splits"].values()),
            }
            for name, described in shards.items()
            if described["splits"]
        ],
    }
    lines = ["---", yaml.safe_dump(header, sort_keys=False, allow_unicode=True).strip(), "---", ""]
    lines += [f"# alignment-lake release `{manifest['tag']}`", ""]
    lines += [
        f"Built {manifest['created_at']} from commit `{manifest['git_commit']}`.",
        "Each table is a Delta table pinned at a version, and its rows at that version are the",
        "Parquet files under `data/<table>/` (checksums in `checksums.sha256`): load one with",
        '`datasets.load_dataset("<this folder>", "<table>")`. `_by` tables may be used to',
        "train commercial models (MIT / CC-BY, with attribution), `_by_nc` tables may not.",
        "",
        "## Tables",
        "",
        "| table | rows | Delta version | licences | content sha256 |",
        "|---|---|---|---|---|",
    ]
    for name, pin in tables.items():
        licences = ", ".join(pin["licenses"])
        digest = pin["content_hash"][:16]
        lines.append(f"| {name} | {pin['rows']} | {pin['version']} | {licences} | `{digest}` |")
    views = manifest.get("views", {})
    if views:
        lines += [
            "",
            "## Views",
            "",
            "Declared in `sources/views.yaml`; each is a config with its own splits (a split",
            "or view without rows is not a config: `datasets` cannot load it).",
            "",
            "| view | splits | built from (Delta versions) | licences |",
            "|---|---|---|---|",
        ]
        for name, pin in views.items():
            splits = ", ".join(f"{s} {n}" for s, n in pin["splits"].items())
            built = ", ".join(f"gold/{t} v{v}" for t, v in pin["gold_versions"].items())
            lines.append(f"| {name} | {splits} | {built} | {', '.join(pin['licenses'])} |")
    lines += [
        "",
        "## Provenance and attribution",
        "",
        "Pinned: the catalogue's revision; read at: the commits the released rows were read",
        f"at, from their lineage (`{UNRECORDED}`: a local directory without a mirror record,",
        "such as the bundled samples).",
        "",
        "| dataset | Hub repository | pinned revision | read at | licence |",
        "|---|---|---|---|---|",
    ]
    for source in sources:
        url = f"https://huggingface.co/datasets/{source['hub_repo']}"
        lines.append(
            f"| {source['dataset']} | {url} | {source['revision']} | {source.get('read', '')} "
            f"| {source['license']} |"
        )
    policies = manifest.get("policies", [])
    lines += [
        "",
        "## How pairs were made",
        "",
        "Every preference pair names its binarization policy in the `policy` column "
        f"(in this release: {', '.join(policies) or 'none'}); the tie rules are documented in "
        "`transforms/binarize.py` and `transforms/policies.py`. Examples whose user turns "
        "match an MT-bench question (normalised exact match or a 13-word overlap) are removed "
        "from every table; MT-bench pairs themselves are evaluation data and are not included "
        "unless a release says so.",
        "",
        "Personal data was replaced by typed placeholders, numbered per conversation "
        "(`<PERSON_1>`, `<EMAIL_ADDRESS_1>`, …), before any of these tables were built.",
        "",
    ]
    if "report" in manifest:
        lines += [
            "## Quality report and changes",
            "",
            "`report.md`: rows added and removed per config and split since the previous "
            "release, declaration and policy changes, and plots (`report_*.png`) of the "
            "language, length and licence mix and of the PII and decontamination counts.",
            "",
        ]
    return "\n".join(lines)


def sources_read(pins: dict) -> dict[str, list[str]]:
    """{dataset: the Hub commits the released rows were read at}, over every gold table."""
    read: dict[str, set[str]] = {}
    for pin in pins.values():
        for dataset, revisions in pin["source_revisions"].items():
            read.setdefault(dataset, set()).update(revisions)
    return {dataset: sorted(revisions) for dataset, revisions in sorted(read.items())}
