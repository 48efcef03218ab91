"""One build plan for every table that follows others: each branch on a real Delta lake."""

import polars as pl

from storage.build_plan import plan_build
from storage.lake import Lake

SOURCE = ("silver", "source")
OTHER = ("silver", "other")
TABLE = ("gold", "table")


def rows(*ids: str) -> pl.DataFrame:
    return pl.DataFrame({"id": list(ids)})


def built(lake: Lake, settings: str = "s1", **extra: str) -> dict[str, str]:
    """Build TABLE from SOURCE as a build under `settings` would, and return its commit."""
    plan = plan_build(lake, None, settings, [SOURCE])
    lake.write(TABLE, lake.scan(SOURCE).collect(), commit_metadata={**plan.commit(), **extra})
    return lake.table(TABLE).history(1)[0]


def test_a_table_never_built_is_built(lake: Lake):
    lake.write(SOURCE, rows("a"))
    plan = plan_build(lake, None, "s1", [SOURCE])
    assert plan.rebuild and plan.reason == "first build"
    assert plan.commit() == {"settings": "s1", "version:silver/source": "0"}


def test_unchanged_inputs_and_settings_leave_the_table_as_it_is(lake: Lake):
    lake.write(SOURCE, rows("a"))
    plan = plan_build(lake, built(lake), "s1", [SOURCE])
    assert plan.unchanged and not plan.added


def test_an_input_that_only_gained_rows_gives_the_files_it_gained(lake: Lake):
    lake.write(SOURCE, rows("a"))
    previous = built(lake)
    lake.append(SOURCE, rows("b", "c"))
    plan = plan_build(lake, previous, "s1", [SOURCE])
    assert plan.action == "append"
    (files,) = plan.added.values()
    gained = pl.concat(pl.read_parquet(f.uri) for f in files)
    assert sorted(gained["id"]) == ["b", "c"]
    assert plan.commit()["version:silver/source"] == "1"


def test_an_input_that_lost_or_rewrote_rows_rebuilds(lake: Lake):
    lake.write(SOURCE, rows("a", "b"))
    previous = built(lake)
    lake.write(SOURCE, rows("a"))  # overwritten: a file was removed
    plan = plan_build(lake, previous, "s1", [SOURCE])
    assert plan.rebuild and plan.reason == "silver/source lost or rewrote rows"


def test_other_settings_or_force_rebuild_even_on_unchanged_inputs(lake: Lake):
    lake.write(SOURCE, rows("a"))
    previous = built(lake)
    assert plan_build(lake, previous, "s2", [SOURCE]).reason.startswith("settings")
    assert plan_build(lake, previous, "s1", [SOURCE], force=True).reason == "forced"


def test_a_build_without_the_record_an_append_continues_from_rebuilds(lake: Lake):
    lake.write(SOURCE, rows("a"))
    previous = built(lake)
    lake.append(SOURCE, rows("b"))
    plan = plan_build(lake, previous, "s1", [SOURCE], required=["rows"])
    assert plan.rebuild and "nothing to continue from" in plan.reason
    counted = built(lake, rows="1")
    lake.append(SOURCE, rows("c"))
    assert plan_build(lake, counted, "s1", [SOURCE], required=["rows"]).action == "append"


def test_a_new_input_to_follow_rebuilds(lake: Lake):
    lake.write(SOURCE, rows("a"))
    lake.write(OTHER, rows("x"))
    previous = built(lake)
    plan = plan_build(lake, previous, "s1", [SOURCE, OTHER])
    assert plan.rebuild and "nothing to continue from" in plan.reason


def test_an_interrupted_increment_rebuilds(lake: Lake):
    lake.write(SOURCE, rows("a"))
    previous = built(lake)
    lake.append(SOURCE, rows("b"))
    plan = plan_build(lake, previous, "s1", [SOURCE], interrupted=lambda: True)
    assert plan.rebuild and plan.reason == "an earlier increment was interrupted"


def test_a_displaced_row_turns_an_append_into_a_rebuild(lake: Lake):
    lake.write(SOURCE, rows("a"))
    previous = built(lake)
    lake.append(SOURCE, rows("b"))
    plan = plan_build(lake, previous, "s1", [SOURCE])
    rebuilt = plan.displaced("a new row comes before a row the table keeps")
    assert plan.action == "append" and rebuilt.rebuild and not rebuilt.added
    assert rebuilt.commit() == plan.commit()


def test_a_table_read_from_files_appends_only_the_new_files_and_rebuilds_on_a_changed_one(
    lake: Lake,
):
    first = [("train_0.jsonl", "sha-a")]
    plan = plan_build(lake, None, "s1", [], sources=first)
    assert plan.rebuild and plan.commit()["sources"] == '[["train_0.jsonl","sha-a"]]'
    previous = plan.commit()
    assert plan_build(lake, previous, "s1", [], sources=first).unchanged
    grown = [*first, ("train_1.jsonl", "sha-b")]
    appended = plan_build(lake, previous, "s1", [], sources=grown)
    assert appended.action == "append" and appended.new_sources == ("train_1.jsonl",)
    changed = [("train_0.jsonl", "sha-c"), ("train_1.jsonl", "sha-b")]
    assert plan_build(lake, previous, "s1", [], sources=changed).reason == (
        "a source file changed or was removed"
    )
    assert plan_build(lake, previous, "s1", [], sources=[]).rebuild
