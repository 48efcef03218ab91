"""silver/text_cache fanned out over hash buckets: a dataset declaring `buckets: 3` gets
exactly the silver tables it gets without buckets, row for row, through a rebuild and an
increment; after the buckets ran, the slice analyses no text itself; an increment's buckets
read only the rows the slice will add; and under Dagster's multiprocess executor the
buckets run as separate steps in separate processes."""

import json
import os
from pathlib import Path

import polars as pl
import pytest
from dagster import (
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    Definitions,
    EventRecordsFilter,
    define_asset_job,
    execute_job,
    multiprocess_executor,
    reconstructable,
)

from assets.bronze import bronze_asset, bronze_quarantine_spec
from assets.silver import silver_assets
from assets.silver_fan_out import text_cache_assets
from storage.keys import DIALOGUES, PII_AUDIT, QUARANTINE, TEXT_CACHE
from storage.lake import Lake, Sources
from tests.assets.test_silver import REPO, catalogue_of, write_jsonl
from tests.assets.test_silver import Lakehouse as SilverLakehouse
from tests.e2e.conftest import materialization_metadata

QUESTIONS = [
    "How do I keep basil alive on a windowsill?",
    "Please send the notes to marta.kowalczyk@fastmail.com before Friday.",
    "Call me on +44 7700 900123 when the parcel arrives, my name is Dana Fields.",
    "Why does bread dough need to rise twice?",
    "Quel temps fait-il à Paris en automne ?",
    "Explain ping 127.0.0.1 versus ping 192.168.1.1 in one paragraph.",
    "Wie lange kocht man ein Ei, bis es hart ist?",
    "What is 0.833251178 rounded to three places?",
    "Dear Tomasz Nowak, thank you for the invoice; my IBAN is DE89370400440532013000.",
    "Can you explain what a leap year is?",
]


def chat(number: int) -> dict:
    question = QUESTIONS[number % len(QUESTIONS)]
    if number >= len(QUESTIONS):  # every question twice, the second copy new text
        question = f"{question} (asked again, {number})"
    messages = [
        {"content": question, "role": "user"},
        {"content": f"Here is an answer to question {number}.", "role": "assistant"},
    ]
    if number % 7 == 3:
        messages = messages[:1]  # no reply: quarantined
    return {"prompt": question, "prompt_id": f"p{number}", "messages": messages}


SMALL_BATCHES = {"workers": 1, "batch_rows": 4}


def write_sources(mirror: Path) -> None:
    write_jsonl(mirror / REPO / "train.jsonl", [chat(n) for n in range(16)])
    write_jsonl(mirror / REPO / "test.jsonl", [chat(n) for n in (0, 2, 16, 17, 18)])


def lake_definitions(lake_root: str, mirror: str, buckets: int) -> list:
    catalogue = catalogue_of(buckets=buckets)
    return [
        *(bronze_asset(spec) for spec in catalogue.values()),
        bronze_quarantine_spec(catalogue),
        *silver_assets(catalogue),
        *text_cache_assets(catalogue),
    ]


class Lakehouse(SilverLakehouse):
    """One lake of the dataset, declared with `buckets` buckets (the silver tests' house,
    on a mirror of its own)."""

    def __init__(self, root: Path, mirror: Path, instance: DagsterInstance, buckets: int) -> None:
        self.mirror = mirror
        self.lake = Lake(root=str(root))
        self.instance = instance
        self.assets = lake_definitions(str(root), str(mirror), buckets)
        self.resources = {
            "lake": self.lake,
            "sources": Sources(location=str(mirror), samples_dir=str(mirror)),
        }
        self.buckets = buckets

    def build(self) -> tuple[dict | None, dict]:
        """Bronze, the text cache's buckets (if declared), the slice: both metadata."""
        for split in ("train", "test"):
            self.run(AssetKey(["bronze", "chats"]), split)
        fanned = None
        if self.buckets > 1:
            key = AssetKey(list(TEXT_CACHE))
            fanned = materialization_metadata(self.run(key, "chats", SMALL_BATCHES), key)
        key = AssetKey(list(DIALOGUES))
        return fanned, materialization_metadata(self.run(key, "chats", SMALL_BATCHES), key)

    def table(self, key) -> pl.DataFrame:
        frame = self.lake.scan(key).collect()
        frame = frame.drop([c for c, t in frame.schema.items() if isinstance(t, pl.Datetime)])
        return frame.sort(frame.columns)


@pytest.fixture
def houses(tmp_path):
    mirror = tmp_path / "mirror"
    write_sources(mirror)
    with DagsterInstance.ephemeral() as instance:
        yield (
            Lakehouse(tmp_path / "single", mirror, instance, 1),
            Lakehouse(tmp_path / "fanned", mirror, instance, 3),
        )


def assert_same_silver(single: Lakehouse, fanned: Lakehouse) -> None:
    for key in (DIALOGUES, PII_AUDIT, QUARANTINE):
        assert single.table(key).equals(fanned.table(key)), "/".join(key)


def test_buckets_give_the_same_silver_row_for_row_and_the_slice_analyses_nothing(houses):
    single, fanned = houses
    _, alone = single.build()
    spread, slice_meta = fanned.build()

    assert_same_silver(single, fanned)
    rows = fanned.table(DIALOGUES)
    assert rows.height == alone["rows_out"] > 10
    assert "marta.kowalczyk@fastmail.com" not in json.dumps(rows["messages"].to_list())

    assert spread["buckets"] == 3
    assert all(rows > 0 for rows in spread["bucket_rows"])
    assert sum(spread["bucket_rows"]) == spread["rows_analysed"]
    assert spread["rows_analysed"] == alone["rows_in"] - alone["rows_quarantined"]
    assert spread["plans"] == ["dialogues: rebuild"]
    # What the buckets analysed is exactly what the slice alone had to analyse.
    assert spread["language_texts_analysed"] == alone["language_texts_analysed"]
    assert slice_meta["language_texts_analysed"] == 0
    assert slice_meta["pii_texts_analysed"] == 0
    assert slice_meta["language_texts_reused"] == alone["language_texts_analysed"]


def test_an_increment_fans_out_only_the_rows_the_slice_will_add(houses):
    single, fanned = houses
    single.build()
    fanned.build()
    new = [chat(n) for n in range(30, 37)]
    write_jsonl(single.mirror / REPO / "train_new.jsonl", new)

    _, alone = single.build()
    spread, slice_meta = fanned.build()
    assert alone["status"] == slice_meta["status"] == "appended"
    assert spread["plans"] == ["dialogues: append"]
    assert spread["rows_analysed"] == len(new) - sum(1 for n in range(30, 37) if n % 7 == 3)
    assert slice_meta["language_texts_analysed"] == slice_meta["pii_texts_analysed"] == 0
    assert_same_silver(single, fanned)

    # Nothing new: the buckets read nothing and the slice is unchanged.
    spread, slice_meta = fanned.build()
    assert spread["plans"] == ["dialogues: unchanged"]
    assert spread["rows_analysed"] == 0
    assert slice_meta["status"] == "unchanged"


def fan_out_job():
    """The fan-out as a job under the multiprocess executor, rebuilt in each step's
    process from the environment the test sets."""
    assets = lake_definitions(os.environ["FAN_OUT_LAKE"], os.environ["FAN_OUT_MIRROR"], 3)
    defs = Definitions(
        assets=assets,
        jobs=[
            define_asset_job(
                "fan_out",
                selection=[AssetKey(list(TEXT_CACHE))],
                executor_def=multiprocess_executor.configured({"max_concurrent": 2}),
            )
        ],
        resources={
            "lake": Lake(root=os.environ["FAN_OUT_LAKE"]),
            "sources": Sources(
                location=os.environ["FAN_OUT_MIRROR"], samples_dir=os.environ["FAN_OUT_MIRROR"]
            ),
        },
    )
    return defs.resolve_job_def("fan_out")


def test_the_multiprocess_executor_runs_each_bucket_in_its_own_process(
    tmp_path, monkeypatch, houses
):
    _, fanned = houses
    for split in ("train", "test"):
        fanned.run(AssetKey(["bronze", "chats"]), split)
    monkeypatch.setenv("FAN_OUT_LAKE", fanned.lake.root)
    monkeypatch.setenv("FAN_OUT_MIRROR", str(fanned.mirror))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    with DagsterInstance.get() as instance:
        result = execute_job(
            reconstructable(fan_out_job),
            instance=instance,
            tags={"dagster/partition": "chats"},
            run_config={"ops": {"silver__text_cache": {"config": {"workers": 1}}}},
        )
        assert result.success
        starts = instance.get_event_records(
            EventRecordsFilter(event_type=DagsterEventType.STEP_START)
        )
    bucket_steps = {
        r.event_log_entry.step_key: r.event_log_entry.dagster_event.pid
        for r in starts
        if "text_cache_bucket[" in (r.event_log_entry.step_key or "")
    }
    assert len(bucket_steps) == 3
    assert len(set(bucket_steps.values())) == 3  # one process per step
    assert os.getpid() not in bucket_steps.values()
    # The buckets filled the cache: the slice then analyses nothing itself.
    key = AssetKey(list(DIALOGUES))
    slice_meta = materialization_metadata(fanned.run(key, "chats"), key)
    assert slice_meta["status"] == "rebuilt"
    assert slice_meta["language_texts_analysed"] == slice_meta["pii_texts_analysed"] == 0
