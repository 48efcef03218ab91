"""Gold, end to end on the samples: licence-pure training views, free of MT-bench
questions, and releases that keep returning the rows they pinned."""

import hashlib
import json
import logging
import re
from pathlib import Path

import polars as pl
import pytest
import yaml
from dagster import AssetKey, DagsterInstance, materialize

from orchestration.config import SAMPLES_DIR
from orchestration.definitions import build_definitions
from orchestration.read import read_table, release_manifest, sql
from orchestration.runner import materialize_everything
from storage.lake import Lake, Sources
from transforms.binarize import UF_POLICIES

GOLD = ("sft_by", "sft_by_nc", "prefs_by", "prefs_by_nc", "prompts_by")


def test_every_gold_table_is_built_and_holds_only_its_licence_class(built_lake: Lake):
    for name in GOLD:
        table = built_lake.scan(("gold", name)).collect()
        assert table.height > 0, name
        expected = "by_nc" if name.endswith("_nc") else "by"
        assert table["license_class"].unique().to_list() == [expected], name
        if expected == "by":
            assert not table["license"].str.contains("NC").any(), name


def test_arena_outputs_are_only_in_nc_tables_while_its_prompts_are_commercial(built_lake: Lake):
    arena = "chatbot_arena_conversations"
    for name in ("sft_by", "prefs_by"):
        assert (
            built_lake.scan(("gold", name)).filter(pl.col("dataset") == arena).collect().height == 0
        )
    assert (
        built_lake.scan(("gold", "prefs_by_nc")).filter(pl.col("dataset") == arena).collect().height
        > 0
    )
    prompts = built_lake.scan(("gold", "prompts_by")).filter(pl.col("dataset") == arena).collect()
    assert prompts.height > 0 and prompts["license"].unique().to_list() == ["CC-BY-4.0"]


def test_planted_mt_bench_questions_are_gone_from_every_training_view(built_lake: Lake, manifest):
    for name in GOLD:
        table = built_lake.scan(("gold", name)).collect()
        for planted in manifest["mt_bench_reuse"]:
            hit = table.filter(
                (pl.col("source_file") == planted["source_file"])
                & (pl.col("source_row") == planted["source_row"])
            )
            assert hit.height == 0, (name, planted)
        assert "mt_bench_human_judgments" not in table["dataset"].to_list()


def test_preference_pairs_are_in_the_dpo_trainer_format(built_lake: Lake):
    pairs = built_lake.scan(("gold", "prefs_by")).collect()
    row = pairs.row(0, named=True)
    assert row["prompt"][-1]["role"] == "user"
    assert [m["role"] for m in row["chosen"]] == ["assistant"]
    assert [m["role"] for m in row["rejected"]] == ["assistant"]
    # UltraFeedback's: the configured policy, and the one the declared view
    # prefs_uf_arena_3to1 reads; each other dataset's: its only or first declared one.
    assert dict(pairs.group_by("dataset").agg(pl.col("policy").unique().sort()).iter_rows()) == {
        "ultrafeedback": ["max_mean_rating_drop_ties", "max_overall_random_other"],
        "hh_rlhf": ["hh_rlhf_chosen_drop_ties"],
        "oasst1": ["oasst_rank_pairs_drop_ties"],
    }
    assert pairs["pair_id"].is_unique().all()
    assert pairs.select((pl.col("score_chosen") >= pl.col("score_rejected")).all()).item()


def test_the_readme_reading_examples_run(built_lake: Lake, monkeypatch):
    monkeypatch.chdir(Path(built_lake.root).parent)
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    sections = [
        readme.split(f"## {title}", 1)[1].split("\n## ", 1)[0]
        for title in ("Training views", "Reading tables")
    ]
    blocks = [b for s in sections for b in re.findall(r"```python\n(.*?)```", s, flags=re.DOTALL)]
    assert len(blocks) >= 3
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})


def test_sql_over_the_lake_agrees_with_polars_and_duckdb(built_lake: Lake):
    query = "SELECT dataset, count(*) AS n FROM gold_sft_by GROUP BY dataset ORDER BY dataset"
    by_polars = sql(query, root=built_lake.root)
    by_duckdb = sql(query, root=built_lake.root, engine="duckdb")
    assert by_polars.rows() == by_duckdb.rows()
    assert (
        sum(n for _, n in by_polars.rows()) == built_lake.scan(("gold", "sft_by")).collect().height
    )


def test_a_release_pins_versions_and_its_card_matches_the_tables(built_lake: Lake):
    (folder,) = (Path(built_lake.root) / "releases").iterdir()
    manifest = release_manifest(folder.name, root=built_lake.root)
    card = (folder / "README.md").read_text(encoding="utf-8")
    header = yaml.safe_load(card.split("---")[1])
    sizes = {c["config_name"]: c["splits"][0]["num_examples"] for c in header["dataset_info"]}
    for name in GOLD:
        rows = (
            read_table(f"gold/{name}", release=folder.name, root=built_lake.root).collect().height
        )
        assert manifest["tables"][name]["rows"] == rows == sizes[name]
    assert {"mit", "apache-2.0", "cc-by-4.0", "cc-by-nc-4.0"} == set(header["license"])
    assert "en" in header["language"]


def test_every_config_of_a_release_loads_with_datasets_as_its_card_declares(
    built_lake: Lake, tmp_path, caplog
):
    """The release folder is a Hub dataset: `datasets.load_dataset(folder, config)` reads
    each gold table's and each view's pinned rows into the declared splits, with the
    features and sizes of its card, and says nothing is wrong with the card."""
    import datasets

    (folder,) = (Path(built_lake.root) / "releases").iterdir()
    manifest = release_manifest(folder.name, root=built_lake.root)
    header = yaml.safe_load((folder / "README.md").read_text(encoding="utf-8").split("---")[1])
    info = {c["config_name"]: c for c in header["dataset_info"]}
    views = {n for n, pin in manifest["views"].items() if pin["rows"]}
    assert set(info) == {*GOLD, *views} and len(views) >= 3
    datasets.utils.logging.enable_propagation()  # to caplog
    with caplog.at_level(logging.WARNING):
        for name, declared in info.items():
            loaded = datasets.load_dataset(str(folder), name, cache_dir=str(tmp_path / "cache"))
            sizes = {s["name"]: s["num_examples"] for s in declared["splits"]}
            assert {s: loaded[s].num_rows for s in loaded} == sizes, name
            features = datasets.Features._from_yaml_list(declared["features"])
            assert all(loaded[s].features == features for s in loaded), name
            if name in GOLD:
                pinned = read_table(f"gold/{name}", release=folder.name, root=built_lake.root)
                id_column = loaded["train"].column_names[0]
                assert sorted(loaded["train"][id_column]) == sorted(
                    pinned.select(id_column).collect()[id_column].to_list()
                ), name
            else:
                declared_splits = manifest["views"][name]["splits"]
                assert sizes == {s: n for s, n in declared_splits.items() if n}, name
    warned = [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.split(".")[0] in ("datasets", "huggingface_hub")
    ]
    assert not warned, warned
    listed = (folder / "checksums.sha256").read_text(encoding="utf-8").splitlines()
    assert len(listed) == len(manifest["files"]) >= len(info)
    for line in listed:
        digest, path = line.split("  ")
        assert hashlib.sha256((folder / path).read_bytes()).hexdigest() == digest
        assert manifest["files"][path] == digest


def test_the_zephyr_views_have_h4s_splits_columns_and_types(built_lake: Lake, tmp_path):
    import datasets

    (folder,) = (Path(built_lake.root) / "releases").iterdir()
    messages = [{"content": datasets.Value("string"), "role": datasets.Value("string")}]
    h4_sft = {"prompt": "string", "prompt_id": "string"}
    sft = datasets.load_dataset(str(folder), "zephyr_sft", cache_dir=str(tmp_path / "c"))
    prefs = datasets.load_dataset(str(folder), "zephyr_prefs", cache_dir=str(tmp_path / "c"))
    assert sorted(sft) == ["test_sft", "train_sft"] and sft["train_sft"].num_rows > 0
    assert sorted(prefs) == ["test_prefs", "train_prefs"]
    assert prefs["train_prefs"].num_rows > prefs["test_prefs"].num_rows > 0
    for split in sft.values():
        assert split.column_names == ["prompt", "prompt_id", "messages"]
        assert {k: split.features[k].dtype for k in h4_sft} == h4_sft
        assert split.features["messages"] == datasets.List(messages[0])
    for split in prefs.values():
        assert split.column_names == [
            "prompt", "prompt_id", "chosen", "rejected", "messages", "score_chosen",
            "score_rejected",
        ]  # fmt: skip
        assert split.features["chosen"] == datasets.List(messages[0])
        assert split.features["score_chosen"].dtype == "float64"
        row = split[0]
        assert row["chosen"][0] == {"content": row["prompt"], "role": "user"}
        assert row["prompt_id"] == hashlib.sha256(row["prompt"].encode()).hexdigest()


@pytest.fixture(scope="module")
def grown(tmp_path_factory):
    """A lake built and released, then its preference tables rebuilt with every policy:
    (lake, definitions, instance, first release's tag, its prefs_by rows and version)."""
    root = tmp_path_factory.mktemp("grown") / "lake"
    lake = Lake(root=str(root))
    defs = build_definitions(lake, Sources(location="sample", samples_dir=str(SAMPLES_DIR)))
    every_policy = {"ultrafeedback_policies": list(UF_POLICIES)}
    with DagsterInstance.ephemeral() as instance:
        materialize_everything(defs, instance)
        (tag,) = [p.name for p in (root / "releases").iterdir()]
        pinned = read_table("gold/prefs_by", release=tag, root=lake.root).collect()
        before = lake.table(("gold", "prefs_by")).version()
        result = materialize(
            list(defs.assets),
            selection=[
                AssetKey(["gold", t]) for t in ("prefs_by", "prefs_by_nc", "arena_filtered")
            ],
            resources=defs.resources,
            instance=instance,
            run_config={"ops": {"prefs": {"config": every_policy}}},
        )
        assert result.success
        yield lake, defs, instance, tag, pinned, before


def release(grown, tag: str, raise_on_error: bool = True):
    _, defs, instance, *_ = grown
    return materialize(
        list(defs.assets),
        selection=[AssetKey(["releases", "manifest"])],
        resources=defs.resources,
        instance=instance,
        run_config={"ops": {"releases__manifest": {"config": {"tag": tag}}}},
        raise_on_error=raise_on_error,
    )


def test_reading_a_release_after_further_materializations_returns_the_identical_rows(grown):
    lake, _, _, tag, pinned, before = grown
    # A tag names one set of rows forever: reusing it for other rows fails the run.
    reuse = release(grown, tag, raise_on_error=False)
    assert not reuse.success
    (failure,) = reuse.get_step_failure_events()
    assert "holds other rows" in failure.event_specific_data.error.to_string()
    latest = read_table("gold/prefs_by", root=lake.root).collect()
    assert lake.table(("gold", "prefs_by")).version() > before
    assert latest.height > pinned.height  # three policies now, one before
    again = read_table("gold/prefs_by", release=tag, root=lake.root).collect()
    assert again.equals(pinned)
    manifest = json.loads((Path(lake.root) / "releases" / tag / "manifest.json").read_text())
    assert manifest["tables"]["prefs_by"]["version"] == before


def test_a_later_release_records_what_changed_and_a_report_with_plots(grown):
    """Rows added and removed per config and split (counted on the rows of the two
    releases' shards), the policies added, and PNG plots in the folder and the metadata."""
    lake, _, _, first, pinned, _ = grown
    result = release(grown, "r-later")
    folder = Path(lake.root) / "releases" / "r-later"
    manifest = json.loads((folder / "manifest.json").read_text())
    changes = manifest["changes"]
    latest = read_table("gold/prefs_by", root=lake.root).collect()
    assert changes["previous"] == first
    assert changes["rows"]["prefs_by"] == {"train": [latest.height - pinned.height, 0]}
    assert changes["rows"]["sft_by"] == {"train": [0, 0]}
    assert changes["rows"]["zephyr_sft"] == {"train_sft": [0, 0], "test_sft": [0, 0]}
    earlier = json.loads((folder.parent / first / "manifest.json").read_text())["policies"]
    assert changes["policies_added"] == sorted(set(UF_POLICIES) - set(earlier)) != []
    assert not changes["declarations"] and not changes["configs_removed"]
    report = manifest["report"]
    assert set(report["file_lengths"]) == set(manifest["files"].values())
    assert report["lengths"]["sft_by"]["p10"] <= report["lengths"]["sft_by"]["p50"]
    assert report["pii_redacted"] and all(n > 0 for n in report["pii_redacted"].values())
    assert sum(report["decontaminated"].values()) > 0  # the samples plant MT-bench prompts
    for plot in report["plots"]:
        assert (folder / plot).read_bytes().startswith(b"\x89PNG\r\n\x1a\n"), plot
        assert f"({plot})" in (folder / "report.md").read_text(encoding="utf-8")
    metadata = result.asset_materializations_for_node("releases__manifest")[0].metadata
    assert metadata["previous_release"].value == first
    assert metadata["rows_added"].value == latest.height - pinned.height
    assert metadata["rows_removed"].value == 0
    assert metadata["plot_languages"].value.startswith("![Language mix")
    assert "data:image/png;base64," in metadata["plot_lengths"].value


def test_an_unchanged_rebuild_writes_no_new_versions_and_the_release_stands(tmp_path):
    lake = Lake(root=str(tmp_path / "lake"))
    defs = build_definitions(lake, Sources(location="sample", samples_dir=str(SAMPLES_DIR)))
    with DagsterInstance.ephemeral() as instance:
        materialize_everything(defs, instance)
    versions = {t: lake.table(("gold", t)).version() for t in GOLD}
    silver = lake.table(("silver", "conversations")).version()
    with DagsterInstance.ephemeral() as fresh_instance:  # a new run history, the same lake
        materialize_everything(defs, fresh_instance)
    assert {t: lake.table(("gold", t)).version() for t in GOLD} == versions
    assert lake.table(("silver", "conversations")).version() == silver
    assert len(list((tmp_path / "lake" / "releases").iterdir())) == 1


def test_a_table_is_read_at_a_version_or_a_release_not_both(built_lake: Lake):
    with pytest.raises(ValueError, match="give a version or a release"):
        read_table("gold/prefs_by", version=0, release="x", root=built_lake.root)


def test_trl_views_are_in_trls_documented_conversational_formats(built_lake: Lake, tmp_path):
    """TRL's dataset formats (huggingface.co/docs/trl/dataset_formats): conversational
    language modeling is `messages`, a list of {role, content}; conversational preference
    with an explicit prompt is `prompt` (ending with the user's turn), `chosen` and
    `rejected` (the assistant's answers). TRL itself needs a GPU stack, so the shapes are
    checked as documented, on what `datasets` loads from the release."""
    import datasets

    (folder,) = (Path(built_lake.root) / "releases").iterdir()
    manifest = release_manifest(folder.name, root=built_lake.root)
    roles = {"system", "user", "assistant"}

    def conversational(messages) -> bool:
        return bool(messages) and all(
            set(m) >= {"role", "content"} and m["role"] in roles and isinstance(m["content"], str)
            for m in messages
        )

    checked = set()
    for name in ("sft_zh", "prefs_uf_arena_3to1"):
        if not manifest["views"][name]["rows"]:
            continue
        loaded = datasets.load_dataset(str(folder), name, cache_dir=str(tmp_path / "c"))
        for split in loaded.values():
            for row in split:
                if name.startswith("sft"):
                    assert conversational(row["messages"]), row
                    assert row["messages"][0]["role"] in {"system", "user"}
                else:
                    assert conversational(row["prompt"]) and row["prompt"][-1]["role"] == "user"
                    for answer in ("chosen", "rejected"):
                        assert conversational(row[answer])
                        assert {m["role"] for m in row[answer]} == {"assistant"}
        checked.add(name)
    assert checked == {"sft_zh", "prefs_uf_arena_3to1"}
