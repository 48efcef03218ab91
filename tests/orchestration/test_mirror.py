"""`make mirror`: the catalogue's files at their pinned commits, fetched with
huggingface_hub into a Hub-layout mirror with checksums, and the lake run on it offline.
Every Hub failure ends in one line naming the dataset and what to do. The Hub is a
loopback server speaking the Hub's API (tests/orchestration/fake_hub.py)."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import DagsterInstance

from orchestration.catalogue import load_catalogue
from orchestration.config import PROJECT_ROOT, SAMPLES_DIR
from orchestration.definitions import build_definitions
from orchestration.mirror import main
from orchestration.runner import materialize_everything
from storage.hub import read_record
from storage.lake import Lake, Sources
from tests.orchestration.fake_hub import FakeHub, FakeRepo

CATALOGUE = load_catalogue()
UNLISTED = "extra/not_in_any_split.bin"


def sample_files(hub_repo: str) -> dict[str, bytes]:
    root = SAMPLES_DIR / hub_repo
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


@pytest.fixture
def hub():
    """The Hub holding the bundled samples at each dataset's pinned commit (Parquet files
    as LFS), plus a file no split names."""
    repos = {
        spec.hub_repo: FakeRepo(
            commit=spec.revision,
            files={**sample_files(spec.hub_repo), UNLISTED: b"\0" * 64},
            lfs={p for p in sample_files(spec.hub_repo) if p.endswith(".parquet")},
        )
        for spec in CATALOGUE.values()
    }
    with FakeHub(repos) as served:
        yield served


def mirror(hub: FakeHub, root: Path, *extra: str) -> int:
    return main(["--to", str(root), "--endpoint", hub.url, *extra])


def one_line(captured: str) -> str:
    lines = captured.strip().splitlines()
    assert len(lines) == 1, lines  # one line, no stack trace
    return lines[0]


def test_every_catalogue_revision_is_pinned_to_a_commit():
    for spec in CATALOGUE.values():
        assert len(spec.revision) == 40 and int(spec.revision, 16) >= 0, spec.key


def test_a_mirror_holds_the_catalogues_files_at_the_pinned_commit_with_checksums(
    hub, tmp_path, capsys
):
    root = tmp_path / "mirror"
    assert mirror(hub, root) == 0
    for spec in CATALOGUE.values():
        record = read_record(root, spec)
        assert record is not None and record["commit"] == spec.revision
        served = sample_files(spec.hub_repo)
        assert set(record["files"]) == set(served)  # every split glob's files, nothing else
        for path, described in record["files"].items():
            local = (root / spec.hub_repo / path).read_bytes()
            assert local == served[path]
            assert described["sha256"] == hashlib.sha256(local).hexdigest()
    assert UNLISTED not in hub.downloads
    assert f"LAKE_SOURCES={root.resolve()} make demo" in capsys.readouterr().out


def test_a_second_mirror_fetches_only_what_is_missing(hub, tmp_path, capsys):
    root = tmp_path / "mirror"
    assert mirror(hub, root) == 0
    fetched = len(hub.downloads)
    spec = CATALOGUE["chatbot_arena_conversations"]
    (missing,) = [p for p in sample_files(spec.hub_repo) if p.endswith(".parquet")][:1]
    (root / spec.hub_repo / missing).unlink()
    capsys.readouterr()
    assert mirror(hub, root) == 0
    assert hub.downloads[fetched:] == [missing]
    printed = capsys.readouterr().out
    assert "chatbot_arena_conversations: 1 files" in printed and "1 fetched" in printed
    kept = len(sample_files(CATALOGUE["ultrachat"].hub_repo))
    assert f"ultrachat: {kept} files" in printed and f"0 fetched, {kept} already here" in printed


def test_an_interrupted_download_resumes_from_where_it_stopped(hub, tmp_path):
    spec = CATALOGUE["chatbot_arena_conversations"]
    path = sorted(p for p in sample_files(spec.hub_repo) if p.endswith(".parquet"))[0]
    data = sample_files(spec.hub_repo)[path]
    folder = tmp_path / "mirror" / spec.hub_repo
    (folder / path).parent.mkdir(parents=True)
    (folder / f"{path}.part").write_bytes(data[: len(data) // 2])  # what a killed run left
    assert mirror(hub, tmp_path / "mirror", "--datasets", spec.key) == 0
    assert hub.resumed_at == {path: len(data) // 2}
    assert (folder / path).read_bytes() == data and not (folder / f"{path}.part").exists()


def test_a_file_that_does_not_match_the_hubs_checksum_is_removed_and_named(hub, tmp_path, capsys):
    spec = CATALOGUE["mt_bench_human_judgments"]
    bad = sorted(p for p in sample_files(spec.hub_repo) if p.endswith(".parquet"))[0]
    hub.repos[spec.hub_repo].corrupt = {bad}
    root = tmp_path / "mirror"
    assert mirror(hub, root, "--datasets", spec.key) == 1
    line = one_line(capsys.readouterr().err)
    assert spec.key in line and bad in line and "does not match the Hub's checksum" in line
    assert not (root / spec.hub_repo / bad).exists()


def test_a_gated_dataset_without_a_token_says_where_to_accept_and_what_to_set(
    hub, tmp_path, capsys, monkeypatch
):
    spec = CATALOGUE["ultrachat"]
    hub.repos[spec.hub_repo].gated = True
    monkeypatch.delenv("HF_TOKEN", raising=False)
    assert mirror(hub, tmp_path / "m", "--datasets", "ultrachat") == 1
    line = one_line(capsys.readouterr().err)
    assert "ultrachat" in line and "gated" in line and "HF_TOKEN" in line
    assert f"https://huggingface.co/datasets/{spec.hub_repo}" in line
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    assert mirror(hub, tmp_path / "m", "--datasets", "ultrachat") == 0


def test_a_revision_that_no_longer_exists_says_to_pin_a_current_commit(hub, tmp_path, capsys):
    spec = CATALOGUE["ultrafeedback"]
    hub.repos[spec.hub_repo].commit = "f" * 40  # history rewritten: the pin is gone
    assert mirror(hub, tmp_path / "m", "--datasets", "ultrafeedback") == 1
    line = one_line(capsys.readouterr().err)
    assert spec.revision in line and "does not exist" in line
    assert "sources/catalogue.yaml" in line


def test_without_network_the_mirror_says_so_in_one_line(tmp_path, capsys):
    assert main(["--to", str(tmp_path), "--endpoint", "http://127.0.0.1:9"]) == 1
    line = one_line(capsys.readouterr().err)
    assert "ultrachat" in line and "cannot reach the Hub" in line


def run_module(module: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            module,
            *(["--to", str(tmp_path / "m")] if "mirror" in module else []),
        ],
        cwd=PROJECT_ROOT,
        env={
            **os.environ,
            "LAKE_ROOT": str(tmp_path / "lake"),
            "DAGSTER_HOME": str(tmp_path),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_hub_offline_mode_ends_mirror_and_demo_in_one_line(tmp_path):
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    for module, env in (
        ("orchestration.mirror", {}),
        ("orchestration.demo", {"LAKE_SOURCES": "hub"}),
    ):
        done = run_module(module, tmp_path, HF_HUB_OFFLINE="1", **env)
        assert done.returncode == 1, done.stderr
        line = one_line(done.stderr)
        assert "ultrachat" in line and "HF_HUB_OFFLINE" in line, line
    assert not (tmp_path / "lake").exists()  # nothing was started


def test_the_lake_runs_on_the_mirror_and_every_row_and_release_names_the_commit(
    hub, tmp_path, monkeypatch
):
    root = tmp_path / "mirror"
    assert mirror(hub, root) == 0
    lake = Lake(root=str(tmp_path / "lake"))
    defs = build_definitions(lake, Sources(location=str(root), samples_dir=str(SAMPLES_DIR)))
    with DagsterInstance.ephemeral() as instance:
        materialize_everything(defs, instance)
    for spec in CATALOGUE.values():
        files = lake.scan(("bronze", spec.key)).select("source_file").unique().collect()
        prefix = f"{spec.hub_repo}@{spec.revision}/"
        assert files.height and files["source_file"].str.starts_with(prefix).all(), spec.key
    gold = lake.scan(("gold", "sft_by")).select("dataset", "source_file").collect()
    assert gold["source_file"].str.contains("@", literal=True).all()
    (release,) = (Path(lake.root) / "releases").iterdir()
    manifest = json.loads((release / "manifest.json").read_text())
    read = manifest["sources_read"]
    assert read == {spec.key: [spec.revision] for spec in CATALOGUE.values() if spec.key in read}
    assert {"ultrachat", "ultrafeedback", "chatbot_arena_conversations"} <= set(read)
    card = (release / "README.md").read_text(encoding="utf-8")
    assert all(revision in card for revisions in read.values() for revision in revisions)
