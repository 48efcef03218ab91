"""Under CI a skipped test fails the run; elsewhere it stays a skip (tests/ci_skips.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_pytest(tmp_path: Path, ci: str | None, *workers: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_sample.py").write_text(
        "import pytest\n\n"
        "def test_runs():\n    assert True\n\n"
        "def test_needs_a_server():\n    pytest.skip('no server here')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.ci_skips", "-q", "-p", "no:cacheprovider",
         "-c", os.devnull, "--rootdir", str(tmp_path), *workers, str(tmp_path / "test_sample.py")],
        capture_output=True, text=True, env=env, cwd=tmp_path, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("value", ["true", "1"])
def test_a_skip_fails_the_run_under_ci(tmp_path: Path, value: str) -> None:
    result = run_pytest(tmp_path, value)
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, result.stdout
    assert "skipped under CI: the run fails" in result.stdout
    assert "test_sample.py::test_needs_a_server: Skipped: no server here" in result.stdout


@pytest.mark.parametrize("value", [None, "false"])
def test_a_skip_stays_a_skip_elsewhere(tmp_path: Path, value: str | None) -> None:
    result = run_pytest(tmp_path, value)
    assert result.returncode == pytest.ExitCode.OK, result.stdout
    assert "1 passed, 1 skipped" in result.stdout


def test_a_skip_on_an_xdist_worker_fails_the_run_under_ci(tmp_path: Path) -> None:
    """`make test` runs the suite on pytest-xdist workers: their skips count too."""
    result = run_pytest(tmp_path, "true", "-n", "2", "--dist", "loadfile")
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, result.stdout
    assert "test_sample.py::test_needs_a_server: Skipped: no server here" in result.stdout
