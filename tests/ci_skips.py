"""pytest plugin (``-p tests.ci_skips`` in pyproject's addopts): under CI, a skip fails the run.

A test that skips proves nothing, and the browser, PostgreSQL and object-store tests skip
when their server is missing. On a developer's machine a skip stays a skip; where ``CI`` is
set (``.ci/run``, GitHub Actions, ...) the run fails and the skipped tests are listed.
"""

from __future__ import annotations

import os

import pytest


def ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if ci() and skipped and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    skipped = terminalreporter.stats.get("skipped", [])
    if ci() and skipped:
        terminalreporter.section("skipped under CI: the run fails", sep="=", red=True)
        for report in skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
            terminalreporter.line(f"{report.nodeid}: {reason}")
