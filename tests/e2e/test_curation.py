"""Curation end to end, on a mirror that differs from the samples the way real ones do:
the MT-bench judgments hold one question only, UltraChat asks 30 others (some pasted
inside a longer prompt), and holds near-copies of its own dialogues and other answers to
its own prompts."""

import json
import random
import shutil
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from dagster import AssetKey, DagsterInstance, materialize

from orchestration.config import SAMPLES_DIR
from orchestration.definitions import build_definitions
from orchestration.runner import materialize_everything
from storage.lake import BENCHMARKS_DIR, Lake, Sources
from tests.e2e.conftest import latest_metadata
from tests.e2e.test_increments import (
    SHARD,
    build_reference,
    content,
    lake_on_copied_samples,
    new_shard,
)

GOLD = ("sft_by", "sft_by_nc", "prefs_by", "prefs_by_nc", "prompts_by")
ULTRACHAT = Path("stingning/ultrachat")
JUDGMENTS = Path("lmsys/mt_bench_human_judgments/data")
PAIRS = 20
NEAR = ("gold", "near_duplicates")


def mt_bench_questions() -> dict[int, str]:
    lines = (BENCHMARKS_DIR / "mt_bench.jsonl").read_text(encoding="utf-8").splitlines()
    return {row["id"]: row["turns"][0] for row in map(json.loads, lines)}


def sample_dialogues() -> list[dict]:
    rows = []
    for path in sorted((SAMPLES_DIR / ULTRACHAT).glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # the samples plant malformed lines for the quarantine
            data = row.get("data") if isinstance(row, dict) else None
            whole = isinstance(data, list) and all(isinstance(t, str) for t in data)
            if whole and len(data) >= 2 and len(" ".join(data).split()) >= 60:
                rows.append(row)
    return rows


def changed_words(text: str, rng: random.Random, n: int) -> str:
    """`text` with n of its words replaced (a near copy)."""
    words = text.split()
    for i in rng.sample(range(len(words)), n):
        words[i] = rng.choice(["quite", "really", "rather", "indeed", "surely"])
    return " ".join(words)


@pytest.fixture(scope="module")
def curated(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("curation")
    mirror = root / "mirror"
    shutil.copytree(SAMPLES_DIR, mirror)
    for path in (mirror / JUDGMENTS).glob("*.parquet"):  # a partial mirror: question 81 only
        pl.read_parquet(path).filter(pl.col("question_id") == 81).write_parquet(path)
    rng = random.Random(7)
    questions = mt_bench_questions()
    dialogues = sample_dialogues()
    originals = rng.sample(dialogues, 2 * PAIRS)
    planted: list[dict] = []
    for qid in range(82, 112):
        question = questions[qid] if qid % 2 else f"Hi! My teacher asked: {questions[qid]} Thanks."
        planted.append({"id": f"mtb-{qid}", "data": [question, "Here is my answer to that."]})
    near, other_answer = [], []
    for i, row in enumerate(originals[:PAIRS]):
        data = list(row["data"])
        longest = max(range(len(data)), key=lambda t: len(data[t]))
        data[longest] = changed_words(data[longest], rng, 3)
        planted.append({"id": f"near-{i}", "data": data})
        near.append((row["id"], f"near-{i}"))
    for i, row in enumerate(originals[PAIRS:]):
        donor = next(d for d in dialogues if d["data"][0] != row["data"][0] and d is not row)
        dialogues.remove(donor)
        data = [row["data"][0], donor["data"][1]]
        planted.append({"id": f"other-{i}", "data": data})
        other_answer.append((row["id"], f"other-{i}"))
    with (mirror / ULTRACHAT / "train_1.jsonl").open("a", encoding="utf-8") as out:
        out.writelines(json.dumps(row) + "\n" for row in planted)
    lake = Lake(root=str(root / "lake"))
    defs = build_definitions(lake, Sources(location=str(mirror), samples_dir=str(SAMPLES_DIR)))
    with DagsterInstance.ephemeral() as instance:
        materialize_everything(defs, instance)
        metadata = {t: latest_metadata(instance, ("gold", t)) for t in GOLD}
    return {
        "lake": lake,
        "near": near,
        "other_answer": other_answer,
        "metadata": metadata,
        "release": next((root / "lake" / "releases").glob("r-*")),
    }


def ultrachat_ids(lake: Lake, table: str) -> set[str]:
    frame = lake.scan(("gold", table)).filter(pl.col("dataset") == "ultrachat").collect()
    return set(frame["source_id"].to_list())


def test_no_mt_bench_question_reaches_a_training_view_whatever_the_judgments_hold(curated):
    for table in ("sft_by", "prompts_by"):
        held = ultrachat_ids(curated["lake"], table)
        assert not {i for i in held if i.startswith("mtb-")}, table
    counted = curated["metadata"]["sft_by"]
    assert counted["decontaminated_ultrachat__mt_bench"] >= 30


def test_near_copies_collapse_to_one_dialogue(curated):
    # The samples' generator draws answers from small pools, so a copy may join a larger
    # cluster: what counts is that it is merged with its original and one member stays.
    clusters = curated["lake"].scan(("gold", "near_duplicates")).collect()
    cluster_of = dict(zip(clusters["source_id"], clusters["cluster"], strict=True))
    held = ultrachat_ids(curated["lake"], "sft_by")
    collapsed = [
        cluster_of.get(original) is not None
        and cluster_of.get(original) == cluster_of.get(copy)
        and len({original, copy} & held) <= 1
        for original, copy in curated["near"]
    ]
    assert sum(collapsed) >= 0.9 * PAIRS, collapsed
    survivors = clusters.filter("survivor")
    sft = curated["lake"].scan(("gold", "sft_by")).collect()
    assert set(survivors.filter(pl.col("table") == "sft_by")["example_id"]) <= set(
        sft["example_id"]
    )
    assert not set(clusters.filter(~pl.col("survivor"))["example_id"]) & set(sft["example_id"])


def test_other_answers_to_the_same_prompt_are_never_merged_with_it(curated):
    clusters = curated["lake"].scan(("gold", "near_duplicates")).collect()
    cluster_of = dict(zip(clusters["source_id"], clusters["cluster"], strict=True))
    apart = [
        cluster_of.get(other) is None or cluster_of.get(other) != cluster_of.get(original)
        for original, other in curated["other_answer"]
    ]
    assert sum(apart) >= 0.95 * PAIRS, apart


def test_what_was_merged_is_in_the_clusters_table_and_counted(curated):
    clusters = curated["lake"].scan(("gold", "near_duplicates")).collect()
    merged = clusters.filter(~pl.col("survivor"))
    copies = {copy for _, copy in curated["near"]} | {original for original, _ in curated["near"]}
    assert len(set(merged["source_id"].to_list()) & copies) >= 0.9 * PAIRS
    assert (
        curated["metadata"]["sft_by"]["near_duplicates_ultrachat"]
        == merged.filter((pl.col("table") == "sft_by") & (pl.col("dataset") == "ultrachat")).height
    )


def unclustered_train_sft_row(lake: Lake) -> dict:
    """The sample row (of SHARD) of a train_sft dialogue that is its own survivor in the
    built lake (no sample sibling precedes it)."""
    clustered = lake.scan(NEAR).select("example_id").collect()["example_id"].implode()
    source_id = (
        lake.scan(("gold", "sft_by"))
        .filter((pl.col("split") == "train_sft") & ~pl.col("example_id").is_in(clustered))
        .select("source_id")
        .head(1)
        .collect()
        .item()
    )
    original = pl.read_parquet(SAMPLES_DIR / SHARD)
    return original.filter(pl.col("prompt_id") == source_id).row(0, named=True)


def copied_row(row: dict, prompt_id: str, messages: list[dict]) -> pl.DataFrame:
    """A one-row shard: `row` under another prompt id, holding `messages`."""
    schema = pl.read_parquet_schema(SAMPLES_DIR / SHARD)
    return pl.DataFrame([{**row, "prompt_id": prompt_id, "messages": messages}], schema=schema)


def with_longest_edited(messages: list[dict], edit: Callable[[str], str]) -> list[dict]:
    """A copy of `messages` with the content of the longest one passed through `edit`."""
    edited = [dict(m) for m in messages]
    longest = max(range(len(edited)), key=lambda i: len(edited[i]["content"]))
    edited[longest]["content"] = edit(edited[longest]["content"])
    return edited


def assert_built_as_from_scratch(lake: Lake, mirror: Path, root: Path) -> None:
    """gold/sft_by and gold/near_duplicates equal those of the same mirror built anew."""
    reference = build_reference(mirror, root)
    for key, ids in ((("gold", "sft_by"), ["example_id"]), (NEAR, ["table", "example_id"])):
        assert content(lake, key, ids).equals(content(reference, key, ids)), key


@pytest.mark.parametrize(
    ("shard", "status"),
    [
        # After the original's file: the copy joins its cluster and is left out (appended).
        ("train_sft-00001-of-00002-eeeeeeeeeeeeeeee.parquet", "appended"),
        # Before it: the copy is the cluster's survivor; the table is judged again from the
        # stored signatures and the original leaves it.
        ("train_sft-00000-of-00000-0000000000000000.parquet", "rejudged"),
    ],
)
def test_a_near_copy_arriving_later_ends_as_a_build_from_scratch(tmp_path, shard, status):
    mirror, lake, defs = lake_on_copied_samples(tmp_path)
    with DagsterInstance.ephemeral() as instance:
        materialize_everything(defs, instance)
        row = unclustered_train_sft_row(lake)
        singleton = row["prompt_id"]
        rng = random.Random(3)
        messages = with_longest_edited(row["messages"], lambda text: changed_words(text, rng, 3))
        new_shard(mirror, shard, copied_row(row, "near-copy", messages))
        materialize_everything(defs, instance)
        assert latest_metadata(instance, ("gold", "sft_by"))["status"] == status
    assert_built_as_from_scratch(lake, mirror, tmp_path / "reference")
    merged = lake.scan(NEAR).filter(pl.col("source_id").is_in(["near-copy", singleton]))
    assert merged.collect().height == 2


def edited_halves(messages: list[dict], half: int, share: float) -> list[dict]:
    """`messages` with `share` of the words of one half (0: first, 1: second) of the
    longest message replaced: two copies edited in different halves are each near the
    original and not near each other."""

    def edit(text: str) -> str:
        words = text.split()
        middle = len(words) // 2
        span = range(0, middle) if half == 0 else range(middle, len(words))
        for i in list(span)[:: max(1, round(1 / share))]:
            words[i] = f"edited{half}x{i}"
        return " ".join(words)

    return with_longest_edited(messages, edit)


def test_a_copy_whose_survivor_is_displaced_comes_back_as_a_build_from_scratch(tmp_path):
    """A copy appended first is merged into the original; then a shard that sorts before
    the original's brings another copy, near the original but not near the first copy.
    Keep-first now keeps the new copy, drops the original, and the first copy, whose
    survivor left, returns to the table: the lake equals a build from scratch."""
    mirror, lake, defs = lake_on_copied_samples(tmp_path)
    with DagsterInstance.ephemeral() as instance:
        materialize_everything(defs, instance)
        row = unclustered_train_sft_row(lake)
        singleton = row["prompt_id"]

        def copy(prompt_id: str, half: int) -> pl.DataFrame:
            return copied_row(row, prompt_id, edited_halves(row["messages"], half, 0.25))

        new_shard(mirror, "train_sft-00001-of-00002-eeeeeeeeeeeeeeee.parquet", copy("late", 0))
        materialize_everything(defs, instance)
        assert latest_metadata(instance, ("gold", "sft_by"))["status"] == "appended"
        assert ultrachat_200k_ids(lake, NEAR) >= {"late", singleton}
        new_shard(mirror, "train_sft-00000-of-00000-0000000000000000.parquet", copy("early", 1))
        materialize_everything(defs, instance)
        metadata = latest_metadata(instance, ("gold", "sft_by"))
    assert metadata["status"] == "rejudged"
    assert metadata["near_duplicates_rows_removed"] == 1  # the original
    assert metadata["near_duplicates_rows_restored"] == 1  # "late"
    in_table = ultrachat_200k_ids(lake, ("gold", "sft_by"))
    assert {"early", "late"} <= in_table and singleton not in in_table
    assert_built_as_from_scratch(lake, mirror, tmp_path / "reference")


def ultrachat_200k_ids(lake: Lake, key: tuple[str, str]) -> set[str]:
    frame = lake.scan(key).filter(pl.col("dataset") == "ultrachat_200k").collect()
    return set(frame["source_id"].to_list())


def test_turning_near_duplicates_off_keeps_every_copy_and_clears_what_was_reported(tmp_path):
    _, lake, defs = lake_on_copied_samples(tmp_path)
    with DagsterInstance.ephemeral() as instance:
        materialize_everything(defs, instance)
        collapsed = lake.scan(("gold", "sft_by")).collect().height
        dropped = lake.scan(NEAR).filter(~pl.col("survivor")).collect()
        assert dropped.height > 0
        result = materialize(
            list(defs.assets),
            selection=[
                AssetKey(["gold", t])
                for t in ("sft_by", "sft_by_nc", "near_duplicates", "minhash_signatures")
            ],
            resources=defs.resources,
            instance=instance,
            run_config={"ops": {"sft": {"config": {"near_duplicates": False}}}},
        )
        assert result.success
    assert (
        lake.scan(("gold", "sft_by")).collect().height
        == collapsed + dropped.filter(pl.col("table") == "sft_by").height
    )
    assert lake.scan(NEAR).collect().height == 0
    assert lake.scan(("gold", "minhash_signatures")).collect().height == 0


def test_the_release_reports_the_planted_questions_as_leakage_into_mt_bench(curated):
    manifest = json.loads((curated["release"] / "manifest.json").read_text(encoding="utf-8"))
    (mt_bench,) = [
        row
        for row in manifest["leakage"]["benchmarks"]
        if (row["dataset"], row["benchmark"]) == ("ultrachat", "mt_bench")
    ]
    # 30 planted, half of them inside a longer prompt (the samples plant one more).
    assert mt_bench["exact"] >= 15 and mt_bench["near"] >= 15
    page = (curated["release"] / "leakage.md").read_text(encoding="utf-8")
    assert f"| ultrachat | mt_bench | {mt_bench['exact']} | {mt_bench['near']} |" in page
    svg = (curated["release"] / "leakage_benchmarks.svg").read_text(encoding="utf-8")
    assert svg.startswith("<svg") and "ultrachat / mt_bench" in svg
