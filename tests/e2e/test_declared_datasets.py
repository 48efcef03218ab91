"""hh-rlhf (preference transcripts and the red-team file) and oasst1 (message trees), added
by declaration only: their samples in the Hub's exact layouts flow through bronze, silver,
gold and the release like the first five datasets, malformed rows go to quarantine with
their reason, and what each may become in gold follows the catalogue."""

import json
from itertools import pairwise
from pathlib import Path

import polars as pl
import pytest

from sources.fixtures import hh_rlhf, oasst1
from storage.lake import Lake

GOLD = ("prefs_by", "prefs_by_nc", "sft_by", "sft_by_nc", "prompts_by")


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> dict:
    """What the two fixture builders planted (they write a copy of the samples)."""
    folder = tmp_path_factory.mktemp("fixtures")
    return {"hh": hh_rlhf.build(folder), "oasst": oasst1.build(folder)}


def rows_of(lake: Lake, key: tuple[str, str], dataset: str) -> pl.DataFrame:
    return lake.scan(key).filter(pl.col("dataset") == dataset).collect()


def in_repo(source_file: str) -> str:
    """A row's source file as the fixtures name it: the subset folder and the file."""
    return "/".join(Path(source_file).parts[-2:])


def positions(frame: pl.DataFrame) -> set[tuple[str, int]]:
    return {(in_repo(f), r) for f, r in frame.select("source_file", "source_row").iter_rows()}


def test_every_sample_row_reaches_bronze(built_lake, planted):
    expected: dict[str, int] = {}
    for file in planted["hh"]["files"].values():
        expected[file["dataset"]] = expected.get(file["dataset"], 0) + file["rows"]
    expected["oasst1"] = sum(s["messages"] for s in planted["oasst"]["expected"].values())
    for dataset, rows in expected.items():
        assert built_lake.scan(("bronze", dataset)).collect().height == rows, dataset
    assert expected == {"hh_rlhf": 44, "hh_rlhf_red_team": 6, "oasst1": 53}


def test_malformed_transcripts_and_broken_trees_are_quarantined_with_their_reason(
    built_lake, planted
):
    quarantine = built_lake.scan(("silver", "quarantine")).collect()
    for plant in planted["hh"]["planted"]["quarantine"]:
        found = quarantine.filter(
            (pl.col("dataset") == plant["dataset"])
            & pl.col("source_file").str.ends_with(f"/{plant['source_file']}")
            & (pl.col("source_row") == plant["source_row"])
        )
        assert found["reason"].to_list() == [plant["reason"]], plant
    trees = quarantine.filter(pl.col("dataset") == "oasst1")
    for reason in ("deleted_message", "prompt_not_reviewed", "broken_tree"):
        (plant,) = planted["oasst"]["planted"][reason]
        rows = trees.filter(pl.col("reason") == reason)
        # Each message tree feeds both silver tables, so each rejection is in both.
        assert sorted(rows["table"].to_list()) == ["silver/comparisons", "silver/dialogues"]
        assert set(rows["source_row"].to_list()) == {plant["source_row"]}


def test_each_split_of_a_tree_dataset_reconciles_with_its_merged_rows(built_lake, planted):
    for table, key in (
        ("dialogues", ("silver", "dialogues")),
        ("comparisons", ("silver", "comparisons")),
    ):
        rows = rows_of(built_lake, key, "oasst1")
        expected = sum(s[table]["rows"] for s in planted["oasst"]["expected"].values())
        assert rows.height == expected, table
    last = built_lake.table(("silver", "dialogues")).history(8)
    merged = [json.loads(c["merged"]) for c in last if c.get("merged", "{}") != "{}"]
    assert {"merged_into_thread", "not_on_best_path"} <= set().union(*merged)


def test_the_pairs_follow_the_declared_policies_and_licences(built_lake, planted):
    pairs = built_lake.scan(("gold", "prefs_by")).collect()
    declared = {
        "hh_rlhf": ("hh_rlhf_chosen_drop_ties", "MIT"),
        "oasst1": ("oasst_rank_pairs_drop_ties", "Apache-2.0"),
    }
    for dataset, (policy, licence) in declared.items():
        rows = pairs.filter(pl.col("dataset") == dataset)
        assert rows.height > 0, dataset
        assert set(rows["policy"]) == {policy} and set(rows["license"]) == {licence}
        for chosen, rejected in rows.select("score_chosen", "score_rejected").iter_rows():
            assert chosen > rejected
    nc = built_lake.scan(("gold", "prefs_by_nc")).collect()
    assert not set(nc["dataset"]) & set(declared)
    # The pair whose transcripts differ before the last turn has no single prompt.
    (differs,) = planted["hh"]["planted"]["differs_before_last_turn"]
    hh = pairs.filter(pl.col("dataset") == "hh_rlhf")
    assert (differs["source_file"], differs["source_row"]) not in positions(hh)


def test_sft_takes_the_best_ranked_threads_and_never_reward_or_red_team_data(built_lake):
    sft = pl.concat(built_lake.scan(("gold", name)).collect() for name in ("sft_by", "sft_by_nc"))
    assert not {"hh_rlhf", "hh_rlhf_red_team"} & set(sft["dataset"])
    threads = sft.filter(pl.col("dataset") == "oasst1")
    assert threads.height > 0 and set(threads["license_class"]) == {"by"}
    for messages in threads["messages"].to_list():
        roles = [m["role"] for m in messages]
        assert roles[0] == "user" and roles[-1] == "assistant"
        assert all(a != b for a, b in pairwise(roles))
    # The red-team transcripts stay in silver for safety work.
    assert rows_of(built_lake, ("silver", "conversations"), "hh_rlhf_red_team").height == 5


def test_their_prompts_are_commercial_prompts(built_lake):
    prompts = built_lake.scan(("gold", "prompts_by")).collect()
    assert {"hh_rlhf", "oasst1"} <= set(prompts["dataset"])
    assert "hh_rlhf_red_team" not in set(prompts["dataset"])


def test_personal_data_people_wrote_is_scrubbed_everywhere(built_lake, planted):
    values = [v for p in planted["hh"]["planted"]["pii"] for v in p["entities"].values()]
    values += [
        p["value"] for p in planted["oasst"]["planted"]["pii"] if p["entity_type"] != "PERSON"
    ]
    assert "jordan.reyes@example.us" in values and "jana.novak@example.cz" in values
    for key in [("silver", "conversations"), ("silver", "comparisons")] + [
        ("gold", n) for n in GOLD
    ]:
        text = built_lake.scan(key).collect().write_ndjson()
        for value in values:
            assert value not in text, (key, value)


def test_a_benchmark_question_asked_in_them_is_decontaminated(built_lake, planted):
    (hh,) = planted["hh"]["planted"]["mt_bench"]
    (tree,) = planted["oasst"]["planted"]["mt_bench"]
    for name in GOLD:
        table = built_lake.scan(("gold", name)).collect()
        assert (hh["source_file"], hh["source_row"]) not in positions(
            table.filter(pl.col("dataset") == "hh_rlhf")
        ), name
        assert tree["message_id"] not in set(
            table.filter(pl.col("dataset") == "oasst1")["source_id"]
        )
    meta = built_lake.table(("gold", "prefs_by")).history(1)[0]
    counted = json.loads(meta["decontaminated"])
    assert counted.get("hh_rlhf/mt_bench", 0) >= 1


def test_the_release_credits_them_with_their_licences(built_lake):
    (release,) = Path(built_lake.root, "releases").iterdir()
    card = (release / "README.md").read_text(encoding="utf-8")
    assert "https://huggingface.co/datasets/Anthropic/hh-rlhf" in card
    assert "https://huggingface.co/datasets/OpenAssistant/oasst1" in card
    assert "hh_rlhf_chosen_drop_ties" in card and "oasst_rank_pairs_drop_ties" in card
