"""Silver, end to end on the bundled samples: after silver no text is malformed,
duplicated, unlabelled or carrying personal data, and every bronze row is accounted for."""

import re

import polars as pl
import pytest
from dagster import AssetKey, AssetRecordsFilter, DagsterInstance, materialize

from assets.silver import datasets_shaped_into
from orchestration.catalogue import load_catalogue
from orchestration.config import SAMPLES_DIR
from orchestration.definitions import build_definitions
from orchestration.runner import materialize_everything
from storage.lake import Lake, Sources
from tests.conftest import strings_in
from tests.e2e.conftest import latest_metadata
from transforms.records import normalise_text

# Planted look-alikes that a pattern engine may take for PII. Each is named with why.
ALLOWED_BENIGN_ALTERATIONS = 0


SILVER_PARTITIONS = {
    table: datasets_shaped_into(load_catalogue(), table) for table in ("dialogues", "comparisons")
}


@pytest.fixture(scope="module")
def silver_run(tmp_path_factory):
    """The lake built from the samples, then run again as it is, then its silver slices
    rebuilt by force: (lake, metadata of the first build, of the forced rebuild, the
    observations of the second run), keyed by (silver table, dataset partition)."""
    lake = Lake(root=str(tmp_path_factory.mktemp("silver") / "lake"))
    defs = build_definitions(lake, Sources(location="sample", samples_dir=str(SAMPLES_DIR)))
    with DagsterInstance.ephemeral() as instance:
        materialize_everything(defs, instance)
        first = silver_metadata(instance)
        materialize_everything(defs, instance)
        unchanged = silver_observations(instance)
        forced = rebuild_silver(defs, instance, {"force": True})
    return lake, first, forced, unchanged


def rebuild_silver(defs, instance: DagsterInstance, config: dict) -> dict[tuple[str, str], dict]:
    """Materialize every silver partition with `config`; the metadata of each."""
    for table, datasets in SILVER_PARTITIONS.items():
        for dataset in datasets:
            materialize(
                [*defs.assets, *defs.asset_checks],
                selection=[AssetKey(["silver", table])],
                partition_key=dataset,
                resources=defs.resources,
                instance=instance,
                run_config={"ops": {f"silver__{table}": {"config": config}}},
            )
    return silver_metadata(instance)


def silver_metadata(instance: DagsterInstance) -> dict[tuple[str, str], dict]:
    return {
        (table, dataset): latest_metadata(instance, ("silver", table), dataset)
        for table, datasets in SILVER_PARTITIONS.items()
        for dataset in datasets
    }


def silver_observations(instance: DagsterInstance) -> dict[tuple[str, str], list[dict]]:
    """Every observation of each silver partition (a skipped rebuild is one)."""
    return {
        (table, dataset): [
            {k: v.value for k, v in record.asset_observation.metadata.items()}
            for record in instance.fetch_observations(
                AssetRecordsFilter(
                    asset_key=AssetKey(["silver", table]), asset_partitions=[dataset]
                ),
                limit=10,
            ).records
        ]
        for table, datasets in SILVER_PARTITIONS.items()
        for dataset in datasets
    }


def silver_text(lake: Lake) -> str:
    """Every string value of every silver table a user can read, joined into one text."""
    parts: list[str] = []
    for table in ("conversations", "comparisons", "pii_audit"):
        for row in lake.scan(("silver", table)).collect().iter_rows():
            parts.extend(strings_in(row))
    return "\n".join(parts)


def test_every_planted_pii_value_is_gone_from_silver(silver_run, personal_planted):
    lake, *_ = silver_run
    text = silver_text(lake)
    leaked = sorted(
        {(p["entity_type"], p["value"]) for p in personal_planted if p["value"] in text}
    )
    assert leaked == []


def test_names_a_model_wrote_are_kept(silver_run, manifest, personal_planted):
    """UltraChat's user turns were simulated by a model (the catalogue says so): a name in
    them is the model's invention, not a person's, and stays, as in any model answer."""
    lake, *_ = silver_run
    text = silver_text(lake)
    simulated = [p for p in manifest["pii"] if p not in personal_planted]
    assert {p["dataset"] for p in simulated} == {"ultrachat", "ultrachat_200k"}
    assert {p["entity_type"] for p in simulated} == {"PERSON"}
    assert all(p["value"] in text for p in simulated)


def test_planted_pii_positions_are_in_the_audit(silver_run, personal_planted):
    lake, *_ = silver_run
    audit = lake.scan(("silver", "pii_audit")).collect()
    conversations = lake.scan(("silver", "conversations")).collect()
    checked = 0
    for planted in personal_planted:
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
    lake, first, *_ = silver_run
    quarantined = 0
    for (table, dataset), meta in first.items():
        dropped = sum(v for k, v in meta.items() if k.startswith("dropped_"))
        merged = sum(v for k, v in meta.items() if k.startswith("merged_"))  # message trees
        assert meta["rows_in"] == meta["rows_out"] + dropped + meta["rows_quarantined"] + merged
        assert meta["rows_in"] == lake.scan(("bronze", dataset)).collect().height
        rows = lake.scan(("silver", table)).filter(pl.col("dataset") == dataset).collect()
        assert rows.height == meta["rows_out"], (table, dataset)
        quarantined += meta["rows_quarantined"]
    quarantine = lake.scan(("silver", "quarantine")).collect()
    assert quarantine.height == quarantined
    assert quarantine["reason"].null_count() == 0 and quarantine["payload"].null_count() == 0


def test_duplicates_keep_exactly_one_row_per_dialogue_across_datasets(silver_run, manifest):
    lake, first, *_ = silver_run
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
    lake, first, *_ = silver_run
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


def test_a_second_run_on_unchanged_input_rebuilds_nothing(silver_run):
    """Bronze, settings and transforms unchanged: each slice is observed as unchanged,
    not materialized, so nothing downstream is told it changed."""
    _, first, _, unchanged = silver_run
    for key, observations in unchanged.items():
        assert [o["status"] for o in observations] == ["unchanged"], key
    assert all(meta["new_version"] is True for meta in first.values())


def test_a_forced_rebuild_analyses_no_text_again(silver_run):
    """The content-hash cache: every text was analysed in the first build, none again."""
    _, first, forced, _ = silver_run
    assert sum(meta["pii_texts_analysed"] for meta in first.values()) > 0
    for key, meta in forced.items():
        assert meta["pii_texts_analysed"] == 0, key
        assert meta["language_texts_analysed"] == 0, key
        assert (
            meta["pii_texts_reused"]
            == first[key]["pii_texts_analysed"] + first[key]["pii_texts_reused"]
        )
        assert meta["rows_out"] == first[key]["rows_out"]
        assert meta["new_version"] is False, key


def test_the_batch_size_bounds_memory_and_changes_nothing_else(silver_run):
    """Silver works through bronze in batches (`batch_rows`); duplicates are judged over
    the whole dataset, so batches of 7 rows rebuild every slice row for row: the writes
    find the same content and commit nothing."""
    lake, first, *_ = silver_run
    defs = build_definitions(lake, Sources(location="sample", samples_dir=str(SAMPLES_DIR)))
    with DagsterInstance.ephemeral() as instance:
        batched = rebuild_silver(defs, instance, {"force": True, "batch_rows": 7})
    for key, meta in batched.items():
        assert meta["batches"] > 1 or meta["rows_in"] <= 7, key  # the red team: 6 rows
        assert meta["rows_out"] == first[key]["rows_out"]
        assert meta["dropped_duplicate"] == first[key]["dropped_duplicate"]
        assert meta["new_version"] is False, key
