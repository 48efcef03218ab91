"""Asset checks judge what was written; a failed blocking check stops what builds on it."""

import polars as pl
import pytest
from dagster import AssetKey, DagsterInstance, materialize

from assets.lake import Lake, Sources
from orchestration.checks import CONTRACTS, purity, row_drop, schema
from orchestration.config import SAMPLES_DIR
from orchestration.definitions import build_definitions
from orchestration.runner import materialize_everything


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    lake = Lake(root=str(tmp_path_factory.mktemp("checks") / "lake"))
    defs = build_definitions(lake, Sources(location="sample", samples_dir=str(SAMPLES_DIR)))
    instance = DagsterInstance.ephemeral()
    materialize_everything(defs, instance)
    yield lake, defs, instance
    instance.dispose()


def check_results(result) -> dict[tuple[str, str], bool]:
    return {
        (ev.asset_key.to_user_string(), ev.check_name): ev.passed
        for ev in result.get_asset_check_evaluations()
    }


def test_pii_left_in_silver_fails_its_blocking_check_and_gold_is_not_built_on_it(built):
    lake, defs, instance = built
    gold_versions = {
        t: lake.table(("gold", t)).version() for t in ("sft_by", "sft_by_nc", "prompts_by")
    }
    # An operator narrows the PII entities to e-mail only: phones, cards, IBANs... stay in.
    narrowed = materialize(
        list(defs.assets) + list(defs.asset_checks),
        selection=[AssetKey(["silver", "dialogues"])],
        partition_key="ultrachat_200k",
        resources=defs.resources,
        instance=instance,
        run_config={"ops": {"silver__dialogues": {"config": {"pii_entities": ["EMAIL_ADDRESS"]}}}},
        raise_on_error=False,
    )
    assert check_results(narrowed)[("silver/dialogues", "no_pii")] is False
    downstream = materialize(
        list(defs.assets) + list(defs.asset_checks),
        selection=[
            AssetKey(["silver", "conversations"]),
            *(AssetKey(["gold", t]) for t in gold_versions),
        ],
        resources=defs.resources,
        instance=instance,
        raise_on_error=False,
    )
    assert check_results(downstream)[("silver/conversations", "no_pii")] is False
    assert not downstream.success
    materialized = {
        e.asset_key.to_user_string() for e in downstream.get_asset_materialization_events()
    }
    assert materialized == {"silver/conversations"}
    assert {t: lake.table(("gold", t)).version() for t in gold_versions} == gold_versions
    evaluation = next(
        ev for ev in downstream.get_asset_check_evaluations() if ev.check_name == "no_pii"
    )
    assert evaluation.metadata["texts_with_pii"].value > 0
    # Put it right for the other tests: the default configuration scrubs everything again.
    materialize_everything(defs, instance)


def test_licence_purity_fails_on_a_non_commercial_row_in_a_by_table(tmp_path):
    lake = Lake(root=str(tmp_path / "lake"))
    rows = pl.DataFrame(
        {
            "dataset": ["ultrafeedback", "chatbot_arena_conversations"],
            "license": ["MIT", "CC-BY-4.0 AND CC-BY-NC-4.0"],
            "license_class": ["by", "by"],
        }
    )
    lake.write(("gold", "prefs_by"), rows)
    result = purity(lake, ("gold", "prefs_by"))
    assert not result.passed
    assert result.metadata["rows_naming_nc_licence"].value == 1
    assert result.metadata["licences_of_other_class"].value == 1
    lake.write(("gold", "prefs_by"), rows.head(1))
    assert purity(lake, ("gold", "prefs_by")).passed


def test_schema_contract_names_each_difference(tmp_path):
    lake = Lake(root=str(tmp_path / "lake"))
    contract = next(c for c in CONTRACTS if c.key == ("gold", "prompts_by"))
    frame = pl.DataFrame(schema=contract.schema).drop("lang").with_columns(extra=pl.lit(1))
    lake.write(contract.key, frame)
    result = schema(lake, contract)
    assert not result.passed
    assert "lang: None != String" in result.metadata["differences"].value
    assert "extra: not in the contract" in result.metadata["differences"].value


def test_a_sudden_row_drop_is_a_warning_with_the_ratio(tmp_path):
    lake = Lake(root=str(tmp_path / "lake"))
    lake.write(("gold", "sft_by"), pl.DataFrame({"dataset": ["ultrachat"] * 10}))
    lake.write(("gold", "sft_by"), pl.DataFrame({"dataset": ["ultrachat"] * 3}))
    result = row_drop(lake, ("gold", "sft_by"))
    assert not result.passed
    assert result.metadata["ratio_ultrachat"].value == 0.3
