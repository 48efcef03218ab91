"""The Dagster UI, as a person uses it: `dagster dev` on loopback, a run launched through
the GraphQL API, and the asset graph and an asset's page rendered in headless Chromium.
Screenshots are kept under artifacts/."""

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1600,1000",
    "--virtual-time-budget=15000",
]

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (make test installs it)"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    home = tmp_path_factory.mktemp("dagster_home")
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\nnux:\n  enabled: false\n")
    port = free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "LAKE_ROOT": str(home / "lake"),
        "LAKE_SOURCES": "sample",
    }
    log = (home / "dagster_dev.log").open("w")
    server = subprocess.Popen(
        [
            "setsid",
            str(ROOT / ".venv/bin/dagster"),
            "dev",
            "-w",
            "workspace.yaml",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if graphql(url, "{ version }")["data"]["version"]:
                    break
            except OSError:
                time.sleep(1)
        else:
            log_tail = (home / "dagster_dev.log").read_text()[-2000:]
            pytest.fail(f"dagster dev did not answer on {url}: {log_tail}")
        yield url
    finally:
        os.killpg(os.getpgid(server.pid), signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(os.getpgid(server.pid), signal.SIGKILL)
        log.close()


def graphql(url: str, query: str, variables: dict | None = None) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(f"{url}/graphql", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def location_name(url: str) -> str:
    data = graphql(
        url, "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"
    )
    deadline = time.monotonic() + 120
    while True:
        entries = data["data"]["workspaceOrError"]["locationEntries"]
        if entries and entries[0]["loadStatus"] == "LOADED":
            return entries[0]["name"]
        if time.monotonic() > deadline:
            pytest.fail(f"code location did not load: {entries}")
        time.sleep(1)
        data = graphql(
            url, "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"
        )


LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}
"""


RUN_STATUS = "query Status($runId: ID!) { runOrError(runId: $runId) { ... on Run { status } } }"


def launch_and_wait(url: str, job: str, partition: str) -> str:
    params = {
        "selector": {
            "repositoryLocationName": location_name(url),
            "repositoryName": "__repository__",
            "jobName": job,
        },
        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": partition}]},
        "runConfigData": "{}",
    }
    launched = graphql(url, LAUNCH, {"params": params})["data"]["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        status = graphql(url, RUN_STATUS, {"runId": run_id})
        state = status["data"]["runOrError"]["status"]
        if state in ("SUCCESS", "FAILURE", "CANCELED"):
            return state
        time.sleep(1)
    pytest.fail(f"run {run_id} did not finish")


def render(url: str, name: str) -> str:
    """Screenshot a page into artifacts/ and return its rendered DOM."""
    ARTIFACTS.mkdir(exist_ok=True)
    profile = ARTIFACTS / f".chromium-{name}"
    common = [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}"]
    subprocess.run(
        [*common, f"--screenshot={ARTIFACTS / f'{name}.png'}", url],
        check=True,
        capture_output=True,
        timeout=120,
    )
    dom = subprocess.run(
        [*common, "--dump-dom", url], check=True, capture_output=True, timeout=120, text=True
    ).stdout
    shutil.rmtree(profile, ignore_errors=True)
    return dom


def test_a_run_launched_through_graphql_succeeds_and_the_ui_shows_the_lake(ui):
    assert launch_and_wait(ui, "ingest_mt_bench_human_judgments", "human") == "SUCCESS"

    graph = render(f"{ui}/asset-groups", "asset_graph")
    page = render(f"{ui}/assets/bronze/mt_bench_human_judgments", "asset_page")
    for group in ("bronze", "silver", "gold", "releases"):
        assert group in graph
    assert "Join the Dagster community" not in graph
    assert (ARTIFACTS / "asset_graph.png").stat().st_size > 10_000

    assert "mt_bench_human_judgments" in page
    assert "Latest materialization" in page
    assert "Grain: one row per source record" in page  # the asset's docstring
    assert "rows_written" in page  # its materialization metadata
    assert (ARTIFACTS / "asset_page.png").stat().st_size > 10_000


EDGES = "{ assetNodes { assetKey { path } dependencyKeys { path } } }"


def test_the_asset_graph_connects_each_side_table_to_the_assets_that_write_it(ui):
    nodes = graphql(ui, EDGES)["data"]["assetNodes"]
    upstream = {
        "/".join(n["assetKey"]["path"]): {"/".join(d["path"]) for d in n["dependencyKeys"]}
        for n in nodes
    }
    for side_table in ("silver/pii_audit", "silver/quarantine"):
        assert upstream[side_table] == {"silver/dialogues", "silver/comparisons"}, side_table
    assert upstream["silver/text_cache"] == {"bronze/ultrachat"}  # fanned out, upstream
    assert "silver/text_cache" in upstream["silver/dialogues"]
    assert {"bronze/ultrachat", "bronze/chatbot_arena_conversations"} <= upstream[
        "bronze/quarantine"
    ]
    lineage = render(f"{ui}/assets/silver/pii_audit?view=lineage", "side_table_lineage")
    assert "pii_audit" in lineage
    assert (ARTIFACTS / "side_table_lineage.png").stat().st_size > 10_000
