"""Run the whole lake as `make demo` does, and read back where the time went.

The lake is built with the project's own runner (orchestration.runner.materialize_everything)
against an ephemeral Dagster instance; afterwards every run's event log gives each step's
duration (STEP_START to STEP_SUCCESS), the asset materializations' metadata (rows, texts
analysed or reused by the text engines) and the seconds the language and PII engines ran
inside each step (`language_engine_seconds`, `pii_engine_seconds`: silver runs them batch
by batch, interleaved, so only the steps' own sums say how long each engine took).
Nothing here depends on a particular asset: new assets and steps show up in the breakdown
by their layer.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from dagster import AssetsDefinition, DagsterInstance, Definitions
from dagster._core.events.log import EventLogEntry

from bench.memory import MemorySampler
from orchestration.config import SAMPLES_DIR
from orchestration.definitions import build_definitions
from orchestration.runner import materialize_everything
from storage.lake import Lake, Sources

ENGINE_SECONDS = re.compile(r"^(language|pii)_engine_seconds$")
ENGINE_STAT = re.compile(r"_texts_(analysed|reused)$")


@dataclass
class Step:
    """One executed step: its layer, which run (partition) it was in, and its timings."""

    layer: str
    step: str
    partition: str | None
    seconds: float
    engines: dict[str, float] = field(default_factory=dict)  # language / pii seconds
    started: float = 0.0  # time.time() at STEP_START
    peak_rss: int = 0  # the process tree's peak while the step ran (bench.memory)


@dataclass
class PipelineRun:
    name: str
    wall_seconds: float
    peak_rss: int
    runs: int
    steps: list[Step]
    metadata: dict[str, float]  # summed numeric materialization metadata of interest

    def by_layer(self) -> dict[str, float]:
        totals: dict[str, float] = defaultdict(float)
        for step in self.steps:
            totals[step.layer] += step.seconds
        totals["dagster overhead"] = max(0.0, self.wall_seconds - sum(totals.values()))
        return dict(totals)

    def engine_seconds(self, layer: str | None = None) -> dict[str, float]:
        """Seconds inside the language and PII passes (of one layer's steps, or all)."""
        totals: dict[str, float] = defaultdict(float)
        for step in self.steps:
            if layer is None or step.layer == layer:
                for engine, seconds in step.engines.items():
                    totals[engine] += seconds
        return dict(totals)


def lake_definitions(lake_root: Path, mirror: Path) -> Definitions:
    lake = Lake(root=str(lake_root))
    sources = Sources(location=str(mirror), samples_dir=str(SAMPLES_DIR))
    return build_definitions(lake, sources)


def run_pipeline(
    name: str,
    defs: Definitions,
    instance: DagsterInstance,
    sampler: MemorySampler,
) -> PipelineRun:
    """Materialize everything once; time it and collect the per-step breakdown."""
    before = {run.run_id for run in instance.get_runs()}
    sampler.phase(name)
    started = time.perf_counter()
    lines = materialize_everything(defs, instance)
    wall = time.perf_counter() - started
    peak = sampler.peak(name)
    layers = step_layers(defs)
    steps: list[Step] = []
    metadata: dict[str, float] = defaultdict(float)
    for run in instance.get_runs(ascending=True):
        if run.run_id in before:
            continue
        entries = instance.all_logs(run.run_id)
        steps += run_steps(entries, layers, run.tags.get("dagster/partition"))
        for key, value in materialization_numbers(entries).items():
            metadata[key] += value
    for step in steps:
        step.peak_rss = sampler.peak_between(step.started, step.started + step.seconds)
    return PipelineRun(name, wall, peak, len(lines), steps, dict(metadata))


def step_layers(defs: Definitions) -> dict[str, str]:
    """Op name -> layer (bronze, silver, gold, releases); asset checks are `checks`."""
    layers: dict[str, str] = {}
    for assets_def in defs.assets or []:
        if isinstance(assets_def, AssetsDefinition) and assets_def.is_executable:
            keys = sorted(assets_def.keys, key=lambda k: k.path)
            if keys:
                layers[assets_def.node_def.name] = keys[0].path[0]
    for checks_def in defs.asset_checks or []:
        layers[checks_def.node_def.name] = "checks"
    return layers


def run_steps(
    entries: Sequence[EventLogEntry], layers: dict[str, str], partition: str | None
) -> list[Step]:
    started: dict[str, float] = {}
    engine_seconds: dict[tuple[str, str], float] = defaultdict(float)
    steps: list[Step] = []
    for entry in entries:
        event = entry.dagster_event
        if event is None:
            continue
        if event.event_type_value == "ASSET_MATERIALIZATION" and entry.step_key:
            metadata = event.event_specific_data.materialization.metadata
            for name, value in metadata.items():
                match = ENGINE_SECONDS.match(name)
                if match:
                    engine_seconds[(entry.step_key, match.group(1))] += float(value.value)
        elif event.event_type_value == "STEP_START":
            started[event.step_key] = entry.timestamp
        elif event.event_type_value == "STEP_SUCCESS" and event.step_key in started:
            key = event.step_key
            engines = {
                engine: seconds for (step, engine), seconds in engine_seconds.items() if step == key
            }
            layer = layers.get(key, "other")
            seconds = entry.timestamp - started[key]
            steps.append(Step(layer, key, partition, seconds, engines, started[key]))
    return steps


def materialization_numbers(entries: Sequence[EventLogEntry]) -> dict[str, float]:
    """Text-engine counters and row counts reported by the materializations of a run."""
    found: dict[str, float] = defaultdict(float)
    for entry in entries:
        event = entry.dagster_event
        if event is None or event.event_type_value != "ASSET_MATERIALIZATION":
            continue
        materialization = event.event_specific_data.materialization
        table = "/".join(materialization.asset_key.path)
        for key, value in materialization.metadata.items():
            number = getattr(value, "value", None)
            if isinstance(number, bool) or not isinstance(number, int | float):
                continue
            if ENGINE_STAT.search(key) or key == "pii_found" or key.startswith("near_duplicate"):
                found[key] += number
            elif key in ("rows_in", "rows_out", "rows_written", "rows_quarantined"):
                found[f"{table}.{key}"] += number
    return dict(found)


@contextmanager
def stderr_to(path: Path) -> Iterator[None]:
    """Send this process's (and its children's) stderr to `path`: Dagster logs every event
    of every run there, thousands of lines that would bury the benchmark's report."""
    sys.stderr.flush()
    saved = os.dup(2)
    with path.open("wb") as log:
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def hardlink_tree(source: Path, target: Path) -> None:
    """A copy of `source` under `target` made of hard links (no bytes copied, no symlinks:
    the lake refuses symlinks that leave the mirror)."""
    if target.exists():
        shutil.rmtree(target)
    for path in source.rglob("*"):
        if path.is_file() and path.name != "manifest.json":
            destination = target / path.relative_to(source)
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.hardlink_to(path)
