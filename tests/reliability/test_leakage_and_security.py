"""Leakage and security: planted personal data appears nowhere a user can see it outside
bronze and quarantine; credentials come only from the environment and appear nowhere;
the UI binds to loopback; the repository holds no secrets; dependencies are pinned."""

import json
import re
import subprocess
import tomllib
from pathlib import Path

import polars as pl
import pytest
from dagster import AssetKey, DagsterInstance, materialize

from orchestration.config import SAMPLES_DIR
from orchestration.definitions import build_definitions
from orchestration.resources import lake_resource
from orchestration.runner import materialize_everything
from storage.lake import Lake, Sources
from tests.conftest import strings_in

ROOT = Path(__file__).resolve().parents[2]
SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY-marker"
VISIBLE_LAYERS = {"silver": {"quarantine"}, "gold": set()}  # layer -> tables users may not see


@pytest.fixture(scope="module")
def everything_visible(tmp_path_factory):
    """Every string a user can see after a full build and an exported release: table
    values, release files and exports, and every event of every run (log messages,
    metadata, check results, errors)."""
    lake = Lake(root=str(tmp_path_factory.mktemp("leak") / "lake"))
    defs = build_definitions(lake, Sources(location="sample", samples_dir=str(SAMPLES_DIR)))
    seen: list[str] = []
    with DagsterInstance.ephemeral() as instance:
        materialize_everything(defs, instance)
        exported = materialize(
            list(defs.assets),
            selection=[AssetKey(["releases", "manifest"])],
            resources=defs.resources,
            instance=instance,
            run_config={
                "ops": {"releases__manifest": {"config": {"tag": "exported", "export": ["jsonl"]}}}
            },
        )
        assert exported.success
        for run in instance.get_runs():
            for entry in instance.all_logs(run.run_id):
                seen.append(entry.user_message or "")
                seen.append(str(entry.dagster_event) if entry.dagster_event else "")
    for layer, hidden in VISIBLE_LAYERS.items():
        for table in (Path(lake.root) / layer).iterdir():
            if table.name not in hidden:
                for row in lake.scan((layer, table.name)).collect().iter_rows():
                    seen.extend(strings_in(row))
    for path in (Path(lake.root) / "releases").rglob("*"):
        if path.suffix == ".parquet":
            seen.extend(s for row in pl.read_parquet(path).iter_rows() for s in strings_in(row))
        elif path.suffix == ".png":  # the report's plots draw the labels report.md lists
            assert (path.parent / "report.md").is_file()
        elif path.is_file():
            seen.append(path.read_text(encoding="utf-8"))
    assert any("exported" in s for s in seen)
    return "\n".join(seen)


def test_no_planted_pii_value_is_visible_anywhere_outside_bronze_and_quarantine(
    everything_visible, personal_planted
):
    leaked = sorted(
        {
            (p["entity_type"], p["value"])
            for p in personal_planted
            if p["value"] in everything_visible
        }
    )
    assert leaked == []


def test_credentials_come_from_the_environment_and_appear_in_no_config_log_or_metadata(
    monkeypatch, tmp_path
):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("LAKE_ROOT", str(tmp_path / "lake"))
    lake = lake_resource()
    assert lake.options()["AWS_SECRET_ACCESS_KEY"] == SECRET  # used when a table is opened
    assert SECRET not in json.dumps(lake.model_dump())  # but is not the resource's config
    defs = build_definitions(lake, Sources(location="sample", samples_dir=str(SAMPLES_DIR)))
    repository = defs.get_repository_def()
    assert SECRET not in repr(repository.get_top_level_resources())
    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            list(defs.assets),
            selection=[AssetKey(["bronze", "ultrachat"])],
            partition_key="train",
            resources=defs.resources,
            instance=instance,
        )
        assert result.success
        logged = [str(e) for e in instance.all_logs(result.run_id)]
    assert not any(SECRET in line for line in logged)


def test_the_ui_binds_to_loopback_only():
    recipe = re.search(
        r"^ui:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.MULTILINE
    ).group(1)
    assert "dagster dev" in recipe and "-h 127.0.0.1" in recipe


def test_the_repository_holds_no_secrets():
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True
    ).stdout.split()
    patterns = re.compile(
        "|".join(
            [
                r"AKIA[0-9A-Z]{16}",  # AWS access key id
                r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
                r"xox[abp]-[0-9A-Za-z-]{10,}",  # Slack
                r"ghp_[0-9A-Za-z]{36}",  # GitHub
                r"hf_[A-Za-z]{30,}",  # Hugging Face
            ]
        )
    )
    texts = {
        name: (ROOT / name).read_text(encoding="utf-8", errors="ignore")
        for name in tracked
        if (ROOT / name).is_file() and (ROOT / name).suffix not in (".parquet", ".lock")
    }
    assert [name for name, text in texts.items() if patterns.search(text)] == []


def test_every_dependency_is_pinned_and_locked():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    declared = project["project"]["dependencies"] + project["dependency-groups"]["dev"]
    declared += [
        d for extra in project["project"].get("optional-dependencies", {}).values() for d in extra
    ]
    assert all("==" in requirement for requirement in declared), [
        d for d in declared if "==" not in d
    ]
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    locked = {(p["name"], p.get("version")) for p in lock["package"]}
    for requirement in declared:
        name, version = re.split(r"(?:\[[^\]]*\])?==", requirement)
        assert (name.lower().replace("_", "-"), version) in locked, requirement
