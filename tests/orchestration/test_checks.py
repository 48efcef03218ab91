"""Asset checks judge what was written; a failed blocking check stops what builds on it."""

import json

import polars as pl
import pytest
from dagster import AssetCheckKey, AssetKey, DagsterInstance

from orchestration.checks import (
    CONTRACTS,
    PII_REVIEW,
    PII_REVIEW_SCHEMA,
    datasets_without_person_authors,
    purity,
    row_drop,
    schema,
)
from orchestration.config import SAMPLES_DIR
from orchestration.definitions import build_definitions
from orchestration.runner import materialize_everything
from storage.lake import Lake, Sources
from tests.orchestration.runs import materialize_tables
from transforms.pii import PiiSettings
from transforms.pii_review import located_texts
from transforms.scrub import TextField
from transforms.text_engines import find_pii


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


def no_pii_evaluations(result) -> dict[str, dict]:
    """The `no_pii` results of a run, by table: passed, and the metadata values."""
    return {
        ev.asset_key.to_user_string(): {
            "passed": ev.passed,
            **{k: v.value for k, v in ev.metadata.items()},
        }
        for ev in result.get_asset_check_evaluations()
        if ev.check_name == "no_pii"
    }


def text_at(lake: Lake, table: str, hit: dict) -> str:
    """The text a review hit points at, read from the checked table at the checked version."""
    contract = next(c for c in CONTRACTS if "/".join(c.key) == table)
    rows = lake.scan(contract.key, version=hit["checked_version"]).collect()
    keys = pl.concat_str([pl.col(i).cast(pl.String) for i in contract.ids], separator="/")
    row = rows.filter(keys == hit["row_key"])
    field = next(f for f in contract.fields if f.column == hit["field"])
    texts = located_texts(row, field).filter(pl.col("turn_index").eq_missing(hit["turn_index"]))
    return texts["text"][0][hit["start"] : hit["end"]]


def planted_values(manifest: dict, dataset: str | None = None) -> set[str]:
    return {p["value"] for p in manifest["pii"] if dataset in (None, p["dataset"])}


def test_no_pii_passes_on_the_bundled_samples_with_default_settings(built):
    """Scrubbed with silver's defaults, the samples show the broad review nothing it
    counts (their look-alikes score below the threshold), and no canary survives."""
    lake, _, instance = built
    partitions = {("silver", "dialogues"): 2, ("silver", "comparisons"): 3}
    for contract in CONTRACTS:
        records = instance.event_log_storage.get_asset_check_execution_history(
            AssetCheckKey(AssetKey(list(contract.key)), "no_pii"),
            limit=partitions.get(contract.key, 1),
        )
        assert records, contract.key
        for record in records:
            evaluation = record.event.asset_check_evaluation
            meta = {k: v.value for k, v in evaluation.metadata.items()}
            assert evaluation.passed, (contract.key, meta)
            assert (meta["review_hits"], meta["table_hits"], meta["hits_allowed"]) == (0, 0, 0)
            assert meta["texts_scanned"] > 0
            assert (meta["canaries_planted"], meta["canaries_surviving"]) == (4, 0)
            assert meta["canary_rows"] == 4
    review = lake.scan(PII_REVIEW).collect()
    assert review.schema == PII_REVIEW_SCHEMA and review.is_empty()


def test_the_review_reads_a_text_once_whatever_tables_hold_it(built):
    """silver/conversations holds silver/dialogues' texts again: its review finds every
    text a rule must read in the review cache that the dialogues' reviews filled."""
    _, _, instance = built
    (record,) = instance.event_log_storage.get_asset_check_execution_history(
        AssetCheckKey(AssetKey(["silver", "conversations"]), "no_pii"), limit=1
    )
    meta = {k: v.value for k, v in record.event.asset_check_evaluation.metadata.items()}
    assert meta["review_texts_read"] == 0
    assert meta["review_texts_reused"] > 0


def test_pii_left_in_silver_fails_its_blocking_check_and_gold_is_not_built_on_it(built, manifest):
    lake, defs, instance = built
    gold_versions = {
        t: lake.table(("gold", t)).version() for t in ("sft_by", "sft_by_nc", "prompts_by")
    }
    # An operator narrows the PII entities to e-mail only: phones, cards, IBANs... stay in.
    narrowed = materialize_tables(
        defs,
        instance,
        ("silver", "dialogues"),
        partition="ultrachat_200k",
        run_config={"ops": {"silver__dialogues": {"config": {"pii_entities": ["EMAIL_ADDRESS"]}}}},
        raise_on_error=False,
    )
    assert check_results(narrowed)[("silver/dialogues", "no_pii")] is False
    silver = no_pii_evaluations(narrowed)["silver/dialogues"]
    # The review counts the leaks...
    assert silver["review_hits"] == silver["table_hits"] > silver["hits_allowed"] == 0
    assert silver["found_phone_number"] > 0
    # UltraChat's user turns were simulated by a model: names in them are not counted.
    assert "found_person" not in silver
    # ...and the canaries show the scrubber, as configured in this run, is not doing its job.
    assert silver["canary_settings"] == "run config of silver__dialogues"
    assert silver["canary_types_surviving"] == "PHONE_NUMBER, CREDIT_CARD, PERSON"
    # The review table says where each leak is; what is there is a value the samples planted.
    review = lake.scan(PII_REVIEW).filter(pl.col("table") == "silver/dialogues").collect()
    assert review.height == silver["review_hits"]
    assert set(review["dataset"]) == {"ultrachat_200k"}
    leaked = {text_at(lake, "silver/dialogues", hit) for hit in review.to_dicts()}
    assert leaked <= planted_values(manifest, "ultrachat_200k")
    assert "PHONE_NUMBER" in set(review["entity_type"])  # left in by the narrowed run
    # Never the values: not in the review table, not in the check's metadata.
    shown = json.dumps(silver, default=str) + json.dumps(review.to_dicts(), default=str)
    assert not [value for value in planted_values(manifest) if value in shown]
    sample = silver["review_sample"]
    assert 0 < len(sample) <= 10 and set(sample[0]) == {
        "row_key", "field", "turn_index", "start", "end", "entity_type", "confidence"
    }  # fmt: skip

    downstream = materialize_tables(
        defs,
        instance,
        ("silver", "conversations"),
        *(("gold", t) for t in (*gold_versions, "near_duplicates", "minhash_signatures")),
        raise_on_error=False,
    )
    assert check_results(downstream)[("silver/conversations", "no_pii")] is False
    assert not downstream.success
    materialized = {
        e.asset_key.to_user_string() for e in downstream.get_asset_materialization_events()
    }
    assert materialized == {"silver/conversations"}
    assert {t: lake.table(("gold", t)).version() for t in gold_versions} == gold_versions
    union = no_pii_evaluations(downstream)["silver/conversations"]
    assert union["texts_with_pii"] > 0
    # This run scrubbed nothing (its canaries judge silver's defaults, which pass): the
    # review alone found the leaks the union inherited.
    assert (union["canary_settings"], union["canaries_surviving"]) == ("silver defaults", 0)
    assert union["table_hits"] == silver["table_hits"]
    # Put it right for the other tests: the default configuration scrubs everything again.
    materialize_everything(defs, instance)
    assert lake.scan(PII_REVIEW).collect().is_empty()


def test_the_canaries_fail_the_check_when_the_scrubber_is_not_looking_for_cards(built):
    """MT-bench's sample rows hold no card number, so the review finds nothing there; the
    canary card planted in a copy of its rows survives a scrubber told not to look."""
    _, defs, instance = built
    without_cards = [e for e in PiiSettings().entities if e != "CREDIT_CARD"]

    def run(config: dict):
        return materialize_tables(
            defs,
            instance,
            ("silver", "comparisons"),
            partition="mt_bench_human_judgments",
            run_config={"ops": {"silver__comparisons": {"config": config}}},
            raise_on_error=False,
        )

    narrowed = no_pii_evaluations(run({"pii_entities": without_cards}))["silver/comparisons"]
    assert narrowed["passed"] is False
    assert narrowed["review_hits"] == 0  # nothing leaked into the table...
    assert narrowed["canaries_surviving"] == 1  # ...but the scrubber would let cards through
    assert narrowed["canary_types_surviving"] == "CREDIT_CARD"
    assert narrowed["canary_settings"] == "run config of silver__comparisons"
    restored = no_pii_evaluations(run({}))["silver/comparisons"]
    assert restored["passed"] and restored["canaries_surviving"] == 0


# Personal data in forms a Presidio-style scrubber is not built for. Which of them silver's
# default engine misses may change as it improves; the test asks it first.
LEAK_FORMS = {
    "EMAIL_ADDRESS": "anna.kowalczyk (at) fernwood-mail (dot) net",
    "PERSON": "Anna Kowalczyk",
}
LETTER = (
    f"Dear {LEAK_FORMS['PERSON']},\nthank you for the invitation to the reading group. "
    f"Please send the schedule to {LEAK_FORMS['EMAIL_ADDRESS']}, and could you suggest "
    "three novels for the first month?"
)


def test_pii_the_default_scrubber_cannot_see_fails_the_review(tmp_path, instance):
    """With silver's default settings, what the scrubber misses of a letter (a spelled-out
    address, the name in its salutation) reaches silver; the review counts exactly that,
    says where it is, and the check blocks, while the canaries (forms the scrubber knows)
    are all removed: the check can fail on default settings."""
    found = find_pii([LETTER], PiiSettings(), 1)[0]
    missed = {
        kind: value
        for kind, value in LEAK_FORMS.items()
        if not any(f["start"] < LETTER.index(value) + len(value) and
                   LETTER.index(value) < f["end"] for f in found)
    }  # fmt: skip
    assert missed, "the default scrubber catches every form here: plant one it misses"
    shard = "HuggingFaceH4/ultrachat_200k/data/train_sft-00000-of-00001-78645c770a3839d9.parquet"
    sample = pl.read_parquet(SAMPLES_DIR / shard)
    reply = {"role": "assistant", "content": "Here are three novels for a first month."}
    row = {"prompt": LETTER, "prompt_id": "letter", "messages": [
        {"role": "user", "content": LETTER}, reply
    ]}  # fmt: skip
    (tmp_path / "mirror" / shard).parent.mkdir(parents=True)
    pl.concat([sample.head(3), pl.DataFrame([row], schema=sample.schema)]).write_parquet(
        tmp_path / "mirror" / shard
    )
    lake = Lake(root=str(tmp_path / "lake"))
    sources = Sources(location=str(tmp_path / "mirror"), samples_dir=str(SAMPLES_DIR))
    defs = build_definitions(lake, sources)
    for table, partition in ((("bronze", "ultrachat_200k"), "train_sft"),
                             (("silver", "dialogues"), "ultrachat_200k")):  # fmt: skip
        result = materialize_tables(
            defs, instance, table, partition=partition, raise_on_error=False
        )
    meta = no_pii_evaluations(result)["silver/dialogues"]
    assert meta["passed"] is False
    assert meta["review_hits"] == len(missed) > meta["hits_allowed"] == 0
    assert {k: meta.get(f"found_{k.lower()}") for k in missed} == dict.fromkeys(missed, 1)
    assert (meta["canaries_surviving"], meta["canary_settings"]) == (0, "silver defaults")
    review = lake.scan(PII_REVIEW).collect()
    assert {text_at(lake, "silver/dialogues", hit) for hit in review.to_dicts()} == set(
        missed.values()
    )
    assert set(review["turn_index"]) == {0} and set(review["field"]) == {"messages"}
    assert not [v for v in missed.values() if v in json.dumps(meta, default=str)]


def test_a_name_in_gold_counts_only_where_the_catalogue_says_people_wrote_the_user_text():
    # Gold rows carry no author column: UltraChat's users were simulated, and UltraFeedback's
    # prompts are people's or models' by their source (silver, which knows, judged them);
    # Arena's and MT-bench's user turns are people's.
    assert datasets_without_person_authors() == {"ultrachat", "ultrachat_200k", "ultrafeedback"}
    gold = pl.DataFrame(
        {
            "dataset": ["ultrafeedback", "chatbot_arena_conversations"],
            "prompt": ["Hi, my name is Grace Mensah and I need some advice."] * 2,
        }
    )
    texts = located_texts(gold, TextField("prompt"), False, datasets_without_person_authors())
    assert texts["model_written"].to_list() == [True, False]


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
