"""Datasets declared by hand for tests, as the catalogue would declare them."""

from typing import Any

from transforms.catalogue import DatasetSpec


def train_file_spec(key: str, address: str, **declared: Any) -> DatasetSpec:
    """A dataset whose `train` split is one file, at `address` as an hf://datasets/ URI
    names it ("<owner>/<name>@<revision>/<path>"); its format follows the path (Parquet,
    else JSON Lines). `declared` gives the other fields (license, schema, required...)."""
    hub_repo, _, revision_path = address.partition("@")
    revision, _, path = revision_path.partition("/")
    return DatasetSpec(
        key=key,
        hub_repo=hub_repo,
        revision=revision,
        format="parquet" if path.endswith(".parquet") else "jsonl",
        splits={"train": (path,)},
        **declared,
    )
