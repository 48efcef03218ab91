"""The view assets against a temporary lake: kept when nothing changed, grown with the rows
their gold table gained, rebuilt when it lost rows, and always equal to a build from
scratch."""

import polars as pl
import pytest
from dagster import materialize

from assets.views import view_asset
from storage.keys import view_key
from storage.lake import Lake
from transforms.gold import SFT_SCHEMA
from transforms.policies import POLICIES
from transforms.views import SPLIT_COLUMN, parse_views

DECLARED = {
    "views": {
        "ja": {
            "from": "sft",
            "licence": "by",
            "datasets": ["ultrachat"],
            "languages": ["ja"],
            "held_out": {"fraction": 0.3, "seed": 1},
        },
        "capped": {
            "from": "sft",
            "licence": "by",
            "datasets": [{"dataset": "ultrachat", "max_rows": 3}],
            "format": "h4",
        },
    }
}
VIEWS = parse_views(DECLARED, ["ultrachat"], tuple(POLICIES))


def gold_rows(ids: range, lang: str = "ja") -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "example_id": f"e{i}",
                "dataset": "ultrachat",
                "split": "train",
                "source_file": "f",
                "source_row": i,
                "source_id": f"e{i}",
                "messages": [
                    {"role": "user", "content": f"質問 {i}"},
                    {"role": "assistant", "content": f"答え {i}"},
                ],
                "lang": lang,
                "license": "MIT",
                "license_class": "by",
            }
            for i in ids
        ],
        schema=SFT_SCHEMA,
    )


def build(lake: Lake, name: str) -> dict:
    result = materialize([view_asset(VIEWS[name])], resources={"lake": lake})
    assert result.success
    (event,) = result.get_asset_materialization_events()
    return {k: v.value for k, v in event.materialization.metadata.items()}


def content(lake: Lake, name: str) -> pl.DataFrame:
    frame = lake.scan(view_key(name)).collect()
    return frame.sort(frame.columns[:2])


@pytest.mark.parametrize("name", ["ja", "capped"])
def test_a_view_is_kept_grown_or_rebuilt_and_always_equals_a_build_from_scratch(tmp_path, name):
    lake = Lake(root=str(tmp_path / "lake"))
    lake.write(
        ("gold", "sft_by"), pl.concat([gold_rows(range(20)), gold_rows(range(20, 25), "en")])
    )
    first = build(lake, name)
    assert first["status"] == "rebuilt"
    assert build(lake, name)["status"] == "unchanged"

    lake.write_batches(("gold", "sft_by"), [gold_rows(range(25, 40))], append=True)
    grown = build(lake, name)
    # A per-row view reads only the new rows; a capped one is a function of all of them.
    assert grown["status"] == ("appended" if name == "ja" else "rebuilt")

    scratch = Lake(root=str(tmp_path / "scratch"))
    scratch.write(("gold", "sft_by"), lake.scan(("gold", "sft_by")).collect())
    build(scratch, name)
    assert content(lake, name).equals(content(scratch, name))
    if name == "ja":
        assert grown["rows"] == 35  # the 35 Japanese rows, not the 5 English ones
        splits = lake.scan(view_key(name)).group_by(SPLIT_COLUMN).len().collect()
        assert dict(splits.iter_rows()) == {
            "train": grown["rows_train"],
            "test": grown["rows_test"],
        }
        assert (
            lake.table(view_key(name)).history(1)[0]["splits"]
            == (scratch.table(view_key(name)).history(1)[0]["splits"])
        )

    lake.write(("gold", "sft_by"), gold_rows(range(0, 40, 2)))  # rows removed: not growth
    assert build(lake, name)["status"] == "rebuilt"
    scratch = Lake(root=str(tmp_path / "scratch2"))
    scratch.write(("gold", "sft_by"), gold_rows(range(0, 40, 2)))
    build(scratch, name)
    assert content(lake, name).equals(content(scratch, name))
