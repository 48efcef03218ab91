"""What silver's assets and its fan-out share (defines no asset): silver's code version,
which datasets fan their text work out, and how a dataset's bronze splits map to it."""

from pathlib import Path

import dagster as dg

from storage import silver_slice, silver_spool, silver_union
from storage.code_digest import asset_code_digest
from transforms.catalogue import DatasetSpec

SILVER_CODE = (
    str(Path(__file__).with_name("silver.py")),
    *(m.__file__ or "" for m in (silver_slice, silver_spool, silver_union)),
)
"""The modules that build silver: the transforms they reach are silver's code version
(storage/code_digest.py), recorded by every silver table."""


def silver_code() -> str:
    return asset_code_digest(*SILVER_CODE)


def fanned_out(catalogue: dict[str, DatasetSpec]) -> list[str]:
    """The datasets whose text-engine work is spread over more than one hash bucket
    (catalogue `buckets`): the partitions of the silver/text_cache asset."""
    return [key for key, spec in catalogue.items() if spec.buckets > 1]


def bronze_input_mapping(
    catalogue: dict[str, DatasetSpec], dataset: str
) -> dg.StaticPartitionMapping:
    """Every split of `dataset`'s bronze -> that dataset's partition."""
    return dg.StaticPartitionMapping({s: dataset for s in catalogue[dataset].splits})
