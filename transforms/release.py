"""Release manifests and dataset cards: pure functions of what the gold tables hold."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl
import yaml

ID_COLUMNS = ("pair_id", "example_id", "prompt_id")


def table_digest(frame: pl.DataFrame) -> str:
    """sha256 of a table's sorted row ids and its schema: equal digests, equal content."""
    id_column = next(c for c in ID_COLUMNS if c in frame.columns)
    ids = sorted(frame[id_column].to_list())
    described = json.dumps({"schema": schema_of(frame), "ids": ids}, separators=(",", ":"))
    return hashlib.sha256(described.encode("utf-8")).hexdigest()


def schema_of(frame: pl.DataFrame) -> dict[str, str]:
    return {name: str(dtype) for name, dtype in frame.schema.items()}


def content_tag(pins: Mapping[str, Mapping[str, Any]]) -> str:
    """A tag named by what it pins, so the same tables always give the same tag."""
    described = json.dumps({t: p["content_hash"] for t, p in sorted(pins.items())})
    return "r-" + hashlib.sha256(described.encode("utf-8")).hexdigest()[:12]


def table_pin(uri: str, version: int, frame: pl.DataFrame) -> dict[str, Any]:
    return {
        "uri": uri,
        "version": version,
        "rows": frame.height,
        "schema": schema_of(frame),
        "content_hash": table_digest(frame),
        "licenses": sorted(set(frame["license"].to_list())) if "license" in frame.columns else [],
        "languages": dict(sorted(pl.Series(frame["lang"]).value_counts().iter_rows()))
        if frame.height
        else {},
        "datasets": dict(sorted(pl.Series(frame["dataset"]).value_counts().iter_rows()))
        if frame.height
        else {},
    }


def dataset_card(
    manifest: Mapping[str, Any],
    sources: Sequence[Mapping[str, str]],
    data_files: Mapping[str, str],
) -> str:
    """A Hugging Face dataset card: YAML header (licences, configs, sizes, languages),
    then provenance, policies and attribution."""
    tables = manifest["tables"]
    licences = sorted(
        {
            spdx.lower()
            for pin in tables.values()
            for expr in pin["licenses"]
            for spdx in expr.split(" AND ")
        }
    )
    languages = sorted(
        {lang for pin in tables.values() for lang in pin["languages"] if lang != "und"}
    )
    header = {
        "license": licences,
        "language": languages,
        "pretty_name": f"alignment-lake release {manifest['tag']}",
        "task_categories": ["text-generation"],
        "configs": [{"config_name": name, "data_files": data_files[name]} for name in tables],
        "dataset_info": [
            {"config_name": name, "splits": [{"name": "train", "num_examples": pin["rows"]}]}
            for name, pin in tables.items()
        ],
    }
    lines = ["---", yaml.safe_dump(header, sort_keys=False, allow_unicode=True).strip(), "---", ""]
    lines += [f"# alignment-lake release `{manifest['tag']}`", ""]
    lines += [
        f"Built {manifest['created_at']} from commit `{manifest['git_commit']}`.",
        "Each table is a Delta table pinned at a version; `_by` tables may be used to train",
        "commercial models (MIT / CC-BY, with attribution), `_by_nc` tables may not.",
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
    lines += [
        "",
        "## Provenance and attribution",
        "",
        "| dataset | Hub repository | revision | licence |",
        "|---|---|---|---|",
    ]
    for source in sources:
        url = f"https://huggingface.co/datasets/{source['hub_repo']}"
        lines.append(
            f"| {source['dataset']} | {url} | {source['revision']} | {source['license']} |"
        )
    policies = manifest.get("policies", [])
    lines += [
        "",
        "## How pairs were made",
        "",
        "Every preference pair names its binarization policy in the `policy` column "
        f"(in this release: {', '.join(policies) or 'none'}); the tie rules are documented in "
        "`transforms/binarize.py`. Examples whose user turns match an MT-bench question "
        "(normalised exact match or a 13-word overlap) are removed from every table; MT-bench "
        "pairs themselves are evaluation data and are not included unless a release says so.",
        "",
        "Personal data was replaced by typed placeholders, numbered per conversation "
        "(`<PERSON_1>`, `<EMAIL_ADDRESS_1>`, …), before any of these tables were built.",
        "",
    ]
    return "\n".join(lines)
