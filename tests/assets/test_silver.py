"""The silver assets against a temporary lake, for one small declared dataset: every bronze
row reconciled (out, duplicate, quarantined or merged), the ledgers written, nothing
rewritten when nothing changed, an increment appended with its counts carried on, and a
whole-split shape given each split in one frame."""

import json
from collections import Counter
from pathlib import Path

import polars as pl
import pytest
from dagster import AssetKey, DagsterInstance, materialize

import assets.silver as silver_module
from assets.bronze import bronze_asset, bronze_quarantine_spec
from assets.silver import silver_assets
from storage.keys import CONVERSATIONS, DIALOGUES, PII_AUDIT, QUARANTINE
from storage.lake import Lake, Sources
from tests.e2e.conftest import materialization_metadata
from transforms.catalogue import SHAPES, parse_catalogue
from transforms.silver import COMPARISON_SHAPES, DIALOGUE_SHAPES
from transforms.silver_rows import Stage

REPO = "acme/chats"
EMAIL = "dana.fields@fastmail.com"


def chat(prompt_id: str, question: str, answer: str | None) -> dict:
    messages = [{"content": question, "role": "user"}]
    if answer is not None:
        messages.append({"content": answer, "role": "assistant"})
    return {"prompt": question, "prompt_id": prompt_id, "messages": messages}


TRAIN = [
    chat("t0", "How do I keep basil alive on a windowsill?", "Water it when the soil is dry."),
    chat("t1", "What is a good first programming language?", "Python is a common choice."),
    chat("t2", f"Please reply to {EMAIL} with the summary of today.", "I will draft it now."),
    chat("t3", "Can you explain what a leap year is?", None),  # no reply: quarantined
    chat("t4", "How do I keep basil alive on a windowsill?", "Water it when the soil is dry."),
]
TEST = [
    chat("s0", "Why is the sky blue during the day?", "Air scatters blue light the most."),
    chat("s1", "What is a good first programming language?", "Python is a common choice."),
]
NEW = [
    chat("n0", "How long should bread dough rise at room temperature?", "About two hours."),
    chat("n1", "Why is the sky blue during the day?", "Air scatters blue light the most."),
]


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def catalogue_of(shape: str = "chat_messages", buckets: int = 1) -> dict:
    return parse_catalogue(
        {
            "datasets": {
                "chats": {
                    "hub_repo": REPO,
                    "revision": "0" * 40,
                    "format": "jsonl",
                    "shape": shape,
                    "splits": {"train": ["train*.jsonl"], "test": ["test*.jsonl"]},
                    "license": {"*": "MIT"},
                    "schema": {
                        "prompt": "string",
                        "prompt_id": "string",
                        "messages": "list<struct<content: string, role: string>>",
                    },
                    "required": ["messages"],
                    "buckets": buckets,
                }
            }
        }
    )


class Lakehouse:
    """A mirror holding the dataset's files, a lake, and one Dagster instance."""

    def __init__(self, root: Path, instance: DagsterInstance, catalogue: dict) -> None:
        self.mirror = root / "mirror"
        write_jsonl(self.mirror / REPO / "train.jsonl", TRAIN)
        write_jsonl(self.mirror / REPO / "test.jsonl", TEST)
        self.lake = Lake(root=str(root / "lake"))
        self.instance = instance
        self.catalogue = catalogue
        self.bronze = [bronze_asset(spec) for spec in catalogue.values()]
        self.assets = [*self.bronze, bronze_quarantine_spec(catalogue), *silver_assets(catalogue)]
        self.resources = {
            "lake": self.lake,
            "sources": Sources(location=str(self.mirror), samples_dir=str(self.mirror)),
        }

    def run(self, key: AssetKey, partition: str | None = None, config: dict | None = None):
        op = "__".join(key.path)
        result = materialize(
            self.assets,
            selection=[key],
            partition_key=partition,
            resources=self.resources,
            instance=self.instance,
            run_config={"ops": {op: {"config": config}}} if config else None,
        )
        assert result.success
        return result

    def build(self, batch_rows: int = 2) -> dict:
        """Bronze (both splits), the dialogues slice, the union: the slice's metadata."""
        for split in ("train", "test"):
            self.run(self.bronze[0].key, split)
        key = AssetKey(list(DIALOGUES))
        result = self.run(key, "chats", {"workers": 1, "batch_rows": batch_rows})
        self.run(AssetKey(list(CONVERSATIONS)))
        return materialization_metadata(result, key)


@pytest.fixture
def house(tmp_path):
    with DagsterInstance.ephemeral() as instance:
        yield Lakehouse(tmp_path, instance, catalogue_of())


def test_a_slice_accounts_for_every_bronze_row_and_writes_its_ledgers(house):
    meta = house.build()
    assert meta["status"] == "rebuilt"
    assert (meta["rows_in"], meta["rows_out"]) == (7, 4)
    assert (meta["dropped_duplicate"], meta["rows_quarantined"]) == (2, 1)
    assert meta["reconciled"] == "7 in = 4 out + 2 duplicates + 1 quarantined"
    assert meta["quarantined_no_assistant_reply"] == 1
    assert meta["batches"] == 4  # batches of 2 rows: 5 train + 2 test
    assert not any(k.startswith("merged_") for k in meta)
    assert house.lake.table(DIALOGUES).history(1)[0]["merged"] == "{}"

    rows = house.lake.scan(DIALOGUES).collect()
    # The first copy by (split, file, row) survives: test before train, row 0 before 4.
    assert sorted(rows["source_id"].to_list()) == ["s0", "s1", "t0", "t2"]
    assert EMAIL not in json.dumps(rows["messages"].to_list())
    (quarantined,) = house.lake.scan(QUARANTINE).collect().iter_rows(named=True)
    assert (quarantined["table"], quarantined["reason"]) == (
        "silver/dialogues",
        "no_assistant_reply",
    )
    assert quarantined["source_row"] == 3
    audit = house.lake.scan(PII_AUDIT).collect()
    assert audit["entity_type"].to_list() == ["EMAIL_ADDRESS"]
    assert house.lake.scan(CONVERSATIONS).collect().height == 4

    # Unchanged inputs: an observation, no new version.
    version = house.lake.version(DIALOGUES)
    result = house.run(AssetKey(list(DIALOGUES)), "chats", {"workers": 1})
    assert materialization_metadata(result, AssetKey(list(DIALOGUES)))["status"] == "unchanged"
    assert house.lake.version(DIALOGUES) == version


def folding(shape):
    """A shape that folds every row whose user asks about basil into no row of its own."""

    def shaped(bronze: pl.DataFrame, spec) -> Stage:
        stage = shape(bronze, spec)
        basil = stage.rows["messages"].list.first().struct.field("content").str.contains("basil")
        return Stage(
            stage.rows.filter(~basil),
            stage.rejected,
            stage.counts,
            Counter({"into_thread": basil.sum()} if basil.any() else {}),
        )

    return shaped


def test_merged_rows_reconcile_and_are_carried_on_by_an_increment(house, monkeypatch):
    monkeypatch.setitem(DIALOGUE_SHAPES, "chat_messages", folding(DIALOGUE_SHAPES["chat_messages"]))
    meta = house.build()
    assert (meta["rows_in"], meta["rows_out"], meta["dropped_duplicate"]) == (7, 3, 1)
    assert meta["merged_into_thread"] == 2
    assert meta["reconciled"] == "7 in = 3 out + 1 duplicates + 1 quarantined + 2 merged"
    assert json.loads(house.lake.table(DIALOGUES).history(1)[0]["merged"]) == {"into_thread": 2}

    write_jsonl(house.mirror / REPO / "train_new.jsonl", [*NEW, TRAIN[0]])
    meta = house.build()
    assert (meta["status"], meta["rows_appended"]) == ("appended", 1)  # n1 copies s0
    assert (meta["rows_in"], meta["rows_out"], meta["dropped_duplicate"]) == (10, 4, 2)
    assert meta["merged_into_thread"] == 3
    assert json.loads(house.lake.table(DIALOGUES).history(1)[0]["merged"]) == {"into_thread": 3}
    assert house.lake.scan(DIALOGUES).collect().height == 4


def test_a_whole_split_shape_sees_each_split_in_one_frame(house, monkeypatch):
    seen: list[Counter] = []
    shape = DIALOGUE_SHAPES["chat_messages"]

    def recording(bronze: pl.DataFrame, spec) -> Stage:
        seen.append(Counter(bronze["split"].to_list()))
        return shape(bronze, spec)

    monkeypatch.setitem(DIALOGUE_SHAPES, "chat_messages", recording)
    monkeypatch.setattr(silver_module, "WHOLE_SPLIT_SHAPES", frozenset({"chat_messages"}))
    meta = house.build(batch_rows=2)
    assert sorted(seen, key=lambda c: c.total()) == [Counter(test=2), Counter(train=5)]
    assert (meta["batches"], meta["rows_in"], meta["rows_out"]) == (2, 7, 4)

    seen.clear()
    write_jsonl(house.mirror / REPO / "train_new.jsonl", NEW)
    meta = house.build(batch_rows=1)
    assert seen == [Counter(train=2)]  # only the new file's rows, in one frame
    assert (meta["status"], meta["rows_in"], meta["rows_out"]) == ("appended", 9, 5)


def test_a_shape_that_fills_both_tables_is_a_partition_of_both(monkeypatch):
    monkeypatch.setitem(SHAPES, "both", ("dialogues", "comparisons"))
    monkeypatch.setitem(DIALOGUE_SHAPES, "both", DIALOGUE_SHAPES["chat_messages"])
    monkeypatch.setitem(COMPARISON_SHAPES, "both", COMPARISON_SHAPES["pairwise_votes"])
    defined = {a.key.path[1]: a for a in silver_assets(catalogue_of("both")) if hasattr(a, "op")}
    for table in ("dialogues", "comparisons"):
        assert defined[table].partitions_def.get_partition_keys() == ["chats"]
