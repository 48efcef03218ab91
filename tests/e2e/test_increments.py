"""Incremental runs: when a dataset gains a source file, only its rows are read, cleaned,
scanned and appended, all the way to gold; the tables end exactly as a build from scratch
would make them. A new row that would displace a kept copy makes a rebuild instead."""

import shutil
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from dagster import AssetCheckKey, AssetKey, DagsterInstance, Definitions

from assets.leakage import report as leakage_tables
from orchestration.config import SAMPLES_DIR
from orchestration.definitions import build_definitions
from orchestration.runner import materialize_everything
from storage.keys import LEAKAGE_PROMPTS as PROMPT_INDEX
from storage.lake import Lake, Sources
from tests.e2e.conftest import latest_metadata
from transforms.arena_filters import filter_arena

DATA = "HuggingFaceH4/ultrachat_200k/data"
SHARD = f"{DATA}/train_sft-00000-of-00001-78645c770a3839d9.parquet"
PLANTED_EMAIL = "marta.quinn@fastmail.com"
# Compared between the incremental lake and a build from scratch, sorted by these ids.
COMPARED = {
    ("silver", "dialogues"): ["dataset", "conversation_id"],
    ("silver", "conversations"): ["conversation_id"],
    ("silver", "pii_audit"): ["table", "dataset", "row_key", "field", "turn_index", "start"],
    ("silver", "quarantine"): ["table", "dataset", "split", "source_file", "source_row"],
    ("gold", "sft_by"): ["example_id"],
    ("gold", "sft_by_nc"): ["example_id"],
}
NEW_ROWS = 12


def new_shard(mirror: Path, name: str, rows: pl.DataFrame) -> None:
    rows.write_parquet(mirror / DATA / name)


def fresh_rows(count: int, also: list[dict] = ()) -> pl.DataFrame:
    """`count` dialogues not in the samples (the shard's first rows with a new question),
    one of them twice, one with an e-mail address, one exact copy of a sample row, and one
    question without a reply (silver quarantines it); then the rows `also`."""
    shard = pl.read_parquet(SAMPLES_DIR / SHARD)
    rows = []
    for i, row in enumerate(shard.head(count).iter_rows(named=True)):
        question = f"Question {i} of the new shard: what changed in release {i}.2?"
        if i == 3:
            question += f" Write to me at {PLANTED_EMAIL} if unsure."
        messages = [{"content": question, "role": "user"}, *row["messages"][1:]]
        rows.append({"prompt": question, "prompt_id": f"new-{i}", "messages": messages})
    rows.append(rows[0])  # a duplicate within the new file
    rows.append(shard.row(5, named=True))  # a later copy of a kept dialogue
    unanswered = "Question left without a reply in the new shard?"
    rows.append(
        {
            "prompt": unanswered,
            "prompt_id": "new-unanswered",
            "messages": [{"content": unanswered, "role": "user"}],
        }
    )
    return pl.DataFrame([*rows, *also], schema=shard.schema)


def an_arena_dialogue(lake: Lake) -> dict:
    """One side of an Arena vote (with no PII, kept by the default Arena filters), as an
    UltraChat 200k row: gold SFT holds it as a vote's dialogue until a conversation brings
    the same dialogue."""
    arena = lake.scan(("silver", "comparisons")).filter(
        (pl.col("dataset") == "chatbot_arena_conversations") & (pl.col("pii_count") == 0)
    )
    kept, _, _ = filter_arena(arena.collect())
    vote = kept.select("conversation_a").head(1)
    messages = vote["conversation_a"][0].to_list()
    return {"prompt": messages[0]["content"], "prompt_id": "arena-copy", "messages": messages}


def content(lake: Lake, key: tuple[str, str], ids: list[str]) -> pl.DataFrame:
    frame = lake.scan(key).collect()
    return frame.drop([c for c in frame.columns if c == "ingested_at"]).sort(ids)


@dataclass
class Increment:
    lake: Lake
    instance: DagsterInstance
    before: dict[tuple[str, str], int]
    reference: Lake


def versions(lake: Lake, keys) -> dict[tuple[str, str], int]:
    return {key: lake.table(key).version() for key in keys}


def lake_on_copied_samples(root: Path) -> tuple[Path, Lake, Definitions]:
    """A mirror holding a copy of the samples (to add files to) and an empty lake on it."""
    mirror = root / "mirror"
    shutil.copytree(SAMPLES_DIR, mirror)
    lake = Lake(root=str(root / "lake"))
    defs = build_definitions(lake, Sources(location=str(mirror), samples_dir=str(SAMPLES_DIR)))
    return mirror, lake, defs


def build_reference(mirror: Path, root: Path) -> Lake:
    """The same sources built from scratch, in a new lake and a new run history."""
    lake = Lake(root=str(root))
    with DagsterInstance.ephemeral() as instance:
        materialize_everything(
            build_definitions(lake, Sources(location=str(mirror), samples_dir=str(SAMPLES_DIR))),
            instance,
        )
    return lake


GOLD = [("gold", t) for t in ("sft_by", "sft_by_nc", "prefs_by", "prefs_by_nc", "prompts_by")]


@pytest.fixture(scope="module")
def increment(tmp_path_factory):
    root = tmp_path_factory.mktemp("increment")
    mirror, lake, defs = lake_on_copied_samples(root)
    with DagsterInstance.ephemeral() as instance:
        materialize_everything(defs, instance)
        before = versions(lake, [*COMPARED, *GOLD, ("bronze", "ultrachat_200k")])
        rows = fresh_rows(NEW_ROWS, [an_arena_dialogue(lake)])
        new_shard(mirror, "train_sft-00001-of-00002-eeeeeeeeeeeeeeee.parquet", rows)
        materialize_everything(defs, instance)
        yield Increment(lake, instance, before, build_reference(mirror, root / "reference"))


def test_bronze_reads_only_the_new_file_and_appends_its_rows(increment):
    meta = latest_metadata(increment.instance, ("bronze", "ultrachat_200k"), "train_sft")
    assert meta["status"] == "appended"
    assert (meta["files"], meta["rows_written"]) == (1, NEW_ROWS + 4)
    key = ("bronze", "ultrachat_200k")
    columns = ["split", "source_file", "source_row", "content_hash"]
    ours = increment.lake.scan(key).select(columns).collect().sort(columns)
    assert ours.equals(increment.reference.scan(key).select(columns).collect().sort(columns))


def test_silver_processes_only_the_new_rows_and_carries_its_counts(increment):
    meta = latest_metadata(increment.instance, ("silver", "dialogues"), "ultrachat_200k")
    reference = increment.reference.scan(("silver", "dialogues"))
    assert meta["status"] == "appended"
    assert meta["rows_appended"] == NEW_ROWS + 1  # the duplicate and the late copy dropped
    assert meta["language_texts_analysed"] + meta["language_texts_reused"] <= NEW_ROWS + 1
    assert (
        meta["rows_out"]
        == reference.filter(pl.col("dataset") == "ultrachat_200k").select(pl.len()).collect().item()
    )
    assert meta["dropped_duplicate"] >= 2
    # The other dataset's slice was not touched.
    ultrachat = latest_metadata(increment.instance, ("silver", "dialogues"), "ultrachat")
    assert ultrachat["status"] == "rebuilt"


@pytest.mark.parametrize("key", list(COMPARED), ids=lambda k: "/".join(k))
def test_every_table_ends_as_a_build_from_scratch_makes_it(increment, key):
    ours = content(increment.lake, key, COMPARED[key])
    assert ours.height > 0
    assert ours.equals(content(increment.reference, key, COMPARED[key]))
    assert increment.lake.table(key).version() > increment.before[key]


def test_the_union_and_gold_append_rather_than_rebuild(increment):
    assert latest_metadata(increment.instance, ("silver", "conversations"))["status"] == "appended"
    sft = latest_metadata(increment.instance, ("gold", "sft_by"))
    assert sft["status"] == "appended"
    assert sft["rows_appended"] == NEW_ROWS + 1
    assert sft["rows"] == increment.lake.scan(("gold", "sft_by")).select(pl.len()).collect().item()
    prompts = latest_metadata(increment.instance, ("gold", "prompts_by"))
    assert prompts["status"] == "appended"
    ids = increment.lake.scan(("gold", "prompts_by")).select("prompt_id").collect()
    assert sorted(ids["prompt_id"]) == sorted(
        increment.reference.scan(("gold", "prompts_by")).select("prompt_id").collect()["prompt_id"]
    )


def test_a_conversation_that_a_vote_already_brought_rebuilds_the_table_holding_it(increment):
    """The Arena dialogue now also comes as a conversation (MIT): it moves from the vote's
    non-commercial example in sft_by_nc to a conversation in sft_by, as in a full build."""
    assert latest_metadata(increment.instance, ("gold", "sft_by_nc"))["status"] == "rebuilt"
    moved = (
        increment.lake.scan(("gold", "sft_by"))
        .filter(pl.col("source_id") == "arena-copy")
        .select("example_id")
        .collect()
    )
    assert moved.height == 1
    nc_ids = increment.lake.scan(("gold", "sft_by_nc")).select("example_id").collect()
    assert moved["example_id"][0] not in nc_ids["example_id"].to_list()


def test_preference_tables_are_untouched_when_comparisons_did_not_change(increment):
    """They are reported unchanged (not skipped), so the release that follows still runs."""
    for key in (("gold", "prefs_by"), ("gold", "prefs_by_nc")):
        assert increment.lake.table(key).version() == increment.before[key]
        meta = latest_metadata(increment.instance, key)
        assert (meta["status"], meta["new_version"]) == ("unchanged", False)


def test_the_release_pins_the_appended_tables(increment):
    meta = latest_metadata(increment.instance, ("releases", "manifest"))
    assert meta["sft_by_version"] == increment.lake.table(("gold", "sft_by")).version()
    assert meta["sft_by_version"] > increment.before[("gold", "sft_by")]
    assert meta["prefs_by_version"] == increment.before[("gold", "prefs_by")]


def test_the_planted_email_is_scrubbed_and_the_check_scans_only_the_new_rows(increment):
    texts = (
        increment.lake.scan(("silver", "dialogues"))
        .select(pl.col("messages").list.eval(pl.element().struct.field("content")))
        .explode("messages")
        .collect()["messages"]
    )
    assert texts.str.contains("Question 3 of the new shard").any()
    assert not texts.str.contains(PLANTED_EMAIL, literal=True).any()
    for key in (("silver", "dialogues"), ("silver", "conversations"), ("gold", "sft_by")):
        history = increment.instance.event_log_storage.get_asset_check_execution_history(
            AssetCheckKey(AssetKey(list(key)), "no_pii"), limit=20
        )
        # The latest check that ran (a partition whose slice was unchanged skips its check).
        evaluation = next(
            r.event.asset_check_evaluation
            for r in history
            if r.event and r.event.asset_check_evaluation
        )
        assert evaluation.passed
        meta = {k: v.value for k, v in evaluation.metadata.items()}
        assert meta["scanned"].startswith("rows added since version"), key
        assert 0 < meta["texts_scanned"] <= 4 * (NEW_ROWS + 4), key


def test_a_new_row_that_comes_before_a_kept_copy_rebuilds_the_slice(tmp_path):
    mirror, lake, defs = lake_on_copied_samples(tmp_path)
    with DagsterInstance.ephemeral() as instance:
        materialize_everything(defs, instance)
        # Sorts before the sample shard: its copy of row 5 is now the first, the survivor.
        copy = pl.read_parquet(SAMPLES_DIR / SHARD).slice(5, 1)
        new_shard(mirror, "train_sft-00000-of-00000-0000000000000000.parquet", copy)
        materialize_everything(defs, instance)
        meta = latest_metadata(instance, ("silver", "dialogues"), "ultrachat_200k")
        assert latest_metadata(instance, ("bronze", "ultrachat_200k"), "train_sft")["status"] == (
            "appended"
        )
    assert meta["status"] == "rebuilt"
    reference = build_reference(mirror, tmp_path / "reference")
    key = ("silver", "dialogues")
    assert content(lake, key, COMPARED[key]).equals(content(reference, key, COMPARED[key]))
    kept = (
        lake.scan(key)
        .filter(pl.col("source_file").str.contains("00000-of-00000"))
        .select(pl.len())
        .collect()
        .item()
    )
    assert kept == 1


def test_changed_votes_reach_gold_although_the_conversations_did_not_change(tmp_path):
    """The union reports itself unchanged rather than skipping, so gold still runs after it
    and rebuilds from the changed comparisons (Arena votes feed prefs and sft_by_nc)."""
    mirror, lake, defs = lake_on_copied_samples(tmp_path)
    (arena,) = (mirror / "lmsys/chatbot_arena_conversations/data").glob("*.parquet")
    with DagsterInstance.ephemeral() as instance:
        materialize_everything(defs, instance)
        pl.read_parquet(arena).slice(4).write_parquet(arena)  # four votes withdrawn
        materialize_everything(defs, instance)
        assert latest_metadata(instance, ("silver", "conversations"))["status"] == "unchanged"
        for name in ("sft_by_nc", "prefs_by_nc"):
            assert latest_metadata(instance, ("gold", name))["status"] == "rebuilt"
    reference = build_reference(mirror, tmp_path / "reference")
    for key, ids in (
        (("gold", "sft_by_nc"), ["example_id"]),
        (("gold", "prefs_by_nc"), ["pair_id"]),
    ):
        assert content(lake, key, ids).equals(content(reference, key, ids))


def test_the_leakage_index_reads_only_the_new_prompts_and_reports_as_a_full_build(increment):
    assert increment.lake.table(PROMPT_INDEX).history(1)[0]["status"] == "appended"
    mine, theirs = leakage_tables(increment.lake), leakage_tables(increment.reference)
    for ours, reference in zip(mine, theirs, strict=True):
        assert ours.sort(ours.columns).equals(reference.sort(reference.columns))
    assert mine[0].height > 0  # the samples' datasets do share prompts
