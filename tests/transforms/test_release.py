"""Release cards: what `datasets` reads from them."""

import datasets
import polars as pl
import pyarrow as pa
import pytest

from transforms.binarize import PAIR_SCHEMA
from transforms.gold import PROMPT_SCHEMA, SFT_SCHEMA
from transforms.release import checksums_file, hub_features, shard_name, size_category


@pytest.mark.parametrize("schema", [SFT_SCHEMA, PAIR_SCHEMA, PROMPT_SCHEMA])
@pytest.mark.parametrize("compat", [pl.CompatLevel.oldest(), pl.CompatLevel.newest()])
def test_card_features_are_the_ones_datasets_derives_from_the_parquet_schema(schema, compat):
    arrow = pl.DataFrame(schema=schema).to_arrow(compat_level=compat).schema
    if compat == pl.CompatLevel.newest():  # string_view is not Parquet's; files hold strings
        arrow = pa.schema(
            [f.with_type(pa.large_string()) if f.type == pa.string_view() else f for f in arrow]
        )
    written = datasets.Features._from_yaml_list(hub_features(arrow))
    assert written == datasets.Features.from_arrow_schema(arrow)
    assert written._to_yaml_list() == hub_features(arrow)


def test_nested_lists_and_structs_and_floats_are_named_as_datasets_names_them():
    schema = pa.schema(
        [
            ("tags", pa.list_(pa.string())),
            ("scores", pa.large_list(pa.float32())),
            ("meta", pa.struct([("rank", pa.int32()), ("ok", pa.bool_())])),
            ("when", pa.timestamp("us", tz="UTC")),
        ]
    )
    assert hub_features(schema) == [
        {"name": "tags", "list": "string"},
        {"name": "scores", "large_list": "float32"},
        {
            "name": "meta",
            "struct": [{"name": "rank", "dtype": "int32"}, {"name": "ok", "dtype": "bool"}],
        },
        {"name": "when", "dtype": "timestamp[us, tz=UTC]"},
    ]
    assert datasets.Features._from_yaml_list(hub_features(schema)) == (
        datasets.Features.from_arrow_schema(schema)
    )


def test_size_categories_shards_and_checksums_follow_the_hub_conventions():
    assert [size_category(n) for n in (0, 999, 1_000, 54_000, 207_865, 2_000_000)] == [
        "n<1K",
        "n<1K",
        "1K<n<10K",
        "10K<n<100K",
        "100K<n<1M",
        "1M<n<10M",
    ]
    assert shard_name("test_sft", 2, 17) == "test_sft-00002-of-00017.parquet"
    assert checksums_file({"data/b.parquet": "bb", "data/a.parquet": "aa"}) == (
        "aa  data/a.parquet\nbb  data/b.parquet\n"
    )
