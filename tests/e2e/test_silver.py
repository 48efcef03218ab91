"""Silver, end to end on the bundled samples: after silver no text is malformed,
duplicated, unlabelled or carrying personal data, and every bronze row is accounted for."""

import re

import polars as pl
import pytest
from dagster import DagsterInstance

from assets.lake import Lake, Sources
from orchestration.config import SAMPLES_DIR
from orchestration.definitions import build_definitions
from orchestration.runner import materialize_everything
from tests.conftest import strings_in
from tests.e2e.conftest import latest_metadata
from transforms.records import normalise_text

# Planted look-alikes that a pattern engine may take for PII. Each is named with why.
ALLOWED_BENIGN_ALTERATIONS = 0


SILVER_PARTITIONS = {
    "dialogues": ("ultrachat", "ultrachat_200k"),
    "comparisons": ("ultrafeedback", "chatbot_arena_conversations", "mt_bench_human_judgments"),
}


@pytest.fixture(scope="module")
def silver_run(tmp_path_factory):
    """The lake built twice from the samples: (lake, first run metadata, second run metadata),
    metadata keyed by (silver table, dataset partition)."""
    lake = Lake(root=str(tmp_path_factory.mktemp("silver") / "lake"))
    defs = build_definitions(lake, Sources(location="sample", samples_dir=str(SAMPLES_DIR)))
    runs = []
    with DagsterInstance.ephemeral() as instance:
        for _ in range(2):
            materialize_everything(defs, instance)
            runs.append(
                {
                    (table, dataset): latest_metadata(instance, ("silver", table), dataset)
                    for table, datasets in SILVER_PARTITIONS.items()
                    for dataset in datasets
                }
            )
    return lake, runs[0], runs[1]


def silver_text(lake: Lake) -> str:
    """Every string value of every silver table a user can read, joined into one text."""
    parts: list[str] = []
    for table in ("conversations", "comparisons", "pii_audit"):
        for row in lake.scan(("silver", table)).collect().iter_rows():
            parts.extend(strings_in(row))
    return "\n".join(parts)


def test_every_planted_pii_value_is_gone_from_silver(silver_run, manifest):
    lake, *_ = silver_run
    text = silver_text(lake)
    leaked = sorted({(p["entity_type"], p["value"]) for p in manifest["pii"] if p["value"] in text})
    assert leaked == []


def test_planted_pii_positions_are_in_the_audit(silver_run, manifest):
    lake, *_ = silver_run
    audit = lake.scan(("silver", "pii_audit")).collect()
    conversations = lake.scan(("silver", "conversations")).collect()
    checked = 0
    for planted in manifest["pii"]:
        field, turn = _silver_field(planted["field"])
        if planted["dataset"] not in ("ultrachat", "ultrachat_200k") or field != "messages":
            continue
        row = conversations.filter(
            (pl.col("source_file") == planted["source_file"])
            & (pl.col("source_row") == planted["source_row"])
        )
        if row.height == 0:
            continue  # a duplicate whose survivor is another row, or quarantined
        original = _bronze_turn(lake, planted, turn)
        spans = (
            audit.filter(
                (pl.col("row_key") == row["conversation_id"].item())
                & (pl.col("turn_index") == turn)
            )
            .select("start", "end")
            .rows()
        )
        start = normalise_text(original).find(planted["value"])
        assert any(s <= start and start + len(planted["value"]) <= e for s, e in spans), planted
        checked += 1
    assert checked >= 25


def _silver_field(manifest_field: str) -> tuple[str, int | None]:
    match = re.match(r"(\w+)(?:\[(\d+)\])?", manifest_field)
    name, index = match.group(1), match.group(2)
    return ("messages" if name == "data" else name), (int(index) if index is not None else None)


def _bronze_turn(lake: Lake, planted: dict, turn: int) -> str:
    bronze = (
        lake.scan(("bronze", planted["dataset"]))
        .filter(
            (pl.col("source_file") == planted["source_file"])
            & (pl.col("source_row") == planted["source_row"])
        )
        .collect()
    )
    if planted["dataset"] == "ultrachat":
        return bronze["data"][0][turn]
    return bronze["messages"][0][turn]["content"]


def test_benign_look_alikes_survive(silver_run, manifest):
    lake, *_ = silver_run
    text = silver_text(lake)
    altered = [
        (b["kind"], b["value"])
        for b in manifest["benign"]
        if not b["ambiguous"] and b["value"] not in text
    ]
    assert len(altered) <= ALLOWED_BENIGN_ALTERATIONS, altered


def test_every_bronze_row_is_reconciled(silver_run):
    lake, first, _ = silver_run
    quarantined = 0
    for (table, dataset), meta in first.items():
        dropped = sum(v for k, v in meta.items() if k.startswith("dropped_"))
        assert meta["rows_in"] == meta["rows_out"] + dropped + meta["rows_quarantined"]
        assert meta["rows_in"] == lake.scan(("bronze", dataset)).collect().height
        rows = lake.scan(("silver", table)).filter(pl.col("dataset") == dataset).collect()
        assert rows.height == meta["rows_out"], (table, dataset)
        quarantined += meta["rows_quarantined"]
    quarantine = lake.scan(("silver", "quarantine")).collect()
    assert quarantine.height == quarantined
    assert quarantine["reason"].null_count() == 0 and quarantine["payload"].null_count() == 0


def test_duplicates_keep_exactly_one_row_per_dialogue_across_datasets(silver_run, manifest):
    lake, first, _ = silver_run
    dialogues = lake.scan(("silver", "dialogues")).collect()
    conversations = lake.scan(("silver", "conversations")).collect()
    assert conversations["conversation_id"].is_unique().all()
    within = sum(
        first[("dialogues", d)]["dropped_duplicate"] for d in SILVER_PARTITIONS["dialogues"]
    )
    across = dialogues.height - conversations.height
    groups = [
        g
        for g in manifest["duplicates"]
        if g["members"][0]["dataset"] in ("ultrachat", "ultrachat_200k")
    ]
    assert within + across >= len(groups)
    assert across >= len([g for g in groups if g["kind"] == "exact_across"])
    # The survivor of a cross-dataset duplicate is the row of the dataset first in the catalogue.
    positions = pl.concat_str("source_file", pl.lit("#"), "source_row")
    for group in (g for g in groups if g["kind"] == "exact_across"):
        members = [f"{m['source_file']}#{m['source_row']}" for m in group["members"]]
        kept = conversations.filter(positions.is_in(members))
        assert kept["dataset"].to_list() == ["ultrachat"]


def test_every_row_has_a_language_and_labelled_rows_get_theirs(silver_run, manifest):
    lake, *_ = silver_run
    conversations = lake.scan(("silver", "conversations")).collect()
    assert conversations["lang"].null_count() == 0
    labelled = [
        entry
        for entry in manifest["languages"]
        if entry["dataset"] in ("ultrachat", "ultrachat_200k")
        and entry["lang"] != "und"
        and entry["text_field"] in ("data[0]", "messages[0].content")
    ]
    rows = {
        (r["source_file"], r["source_row"]): r["lang"] for r in conversations.iter_rows(named=True)
    }
    judged = [
        (rows[(entry["source_file"], entry["source_row"])], entry["lang"])
        for entry in labelled
        if (entry["source_file"], entry["source_row"]) in rows
    ]
    correct = sum(got == want for got, want in judged)
    assert len(judged) >= 100
    assert correct / len(judged) >= 0.95, [j for j in judged if j[0] != j[1]]


def test_arena_keeps_its_own_language_label_beside_ours(silver_run):
    lake, first, _ = silver_run
    arena = (
        lake.scan(("silver", "comparisons"))
        .filter(pl.col("dataset") == "chatbot_arena_conversations")
        .collect()
    )
    assert arena["source_language"].null_count() == 0 and arena["lang"].null_count() == 0
    agreement = first[("comparisons", "chatbot_arena_conversations")]["arena_language_agreement"]
    assert 0.8 <= agreement <= 1.0


def test_arena_rows_license_prompts_and_outputs_separately(silver_run):
    lake, *_ = silver_run
    comparisons = lake.scan(("silver", "comparisons")).collect()
    arena = comparisons.filter(pl.col("dataset") == "chatbot_arena_conversations")
    assert arena["prompt_license"].unique().to_list() == ["CC-BY-4.0"]
    assert arena["response_license"].unique().to_list() == ["CC-BY-NC-4.0"]
    assert arena["license_class"].unique().to_list() == ["by_nc"]
    assert comparisons.filter(pl.col("dataset") == "ultrafeedback")[
        "license_class"
    ].unique().to_list() == ["by"]


def test_a_second_run_on_unchanged_input_analyses_nothing(silver_run):
    _, first, second = silver_run
    assert sum(meta["pii_texts_analysed"] for meta in first.values()) > 0
    for key, meta in second.items():
        assert meta["pii_texts_analysed"] == 0, key
        assert meta["language_texts_analysed"] == 0, key
        assert (
            meta["pii_texts_reused"]
            == first[key]["pii_texts_analysed"] + first[key]["pii_texts_reused"]
        )
        assert meta["rows_out"] == first[key]["rows_out"]
        assert meta["new_version"] is False, key
