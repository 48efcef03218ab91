"""`make bench`: build the synthetic corpus if needed, then measure the lake on it.

    .venv/bin/python -m bench.run --scale 0.1     # quick: about 10 % of the real datasets
    .venv/bin/python -m bench.run --scale 1.0     # full scale (see docs/performance.md)

In one process: a cold run of the whole pipeline, an incremental run after 1 % new rows,
then the naive baselines against our text engines on a sample of the same texts, and the
quality of both on labelled texts. Peak memory is compared with the same pipeline at a
tenth of the scale (taken from an earlier result, or run in a subprocess). Everything goes
under bench/out/ (git-ignored): the corpus, the lake, results-<scale>.json and
report-<scale>.md, which is also printed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import baselines, dataset_fan_out
from bench.generate_corpus import (
    INCREMENT_TARGETS,
    TEXT_KINDS,
    CorpusSpec,
    corpus_is_current,
    corpus_spec,
)
from bench.memory import MemorySampler, kill_descendants
from bench.pipeline import PipelineRun, hardlink_tree, lake_definitions, run_pipeline, stderr_to
from bench.real_text import character_of_corpus_and_real
from bench.report import GB, load_average, machine, render
from bench.text_pools import TextFactory

OUT = Path(__file__).resolve().parent / "out"
INCREMENT_SHARE = 0.01


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=0.1, help="1.0 = published sizes")
    parser.add_argument(
        "--ultrachat-scale",
        type=float,
        default=None,
        help="original UltraChat's own factor (default: a tenth of --scale)",
    )
    parser.add_argument(
        "--text",
        choices=TEXT_KINDS,
        default="real",
        help="the corpus's turns: real chat text made unique (bench/real_text.py, the "
        "default: what the targets are judged on), or generated from templates",
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--pii-sample", type=int, default=10_000)
    parser.add_argument("--language-sample", type=int, default=15_000)
    parser.add_argument("--labelled", type=int, default=2_000, help="labelled texts per set")
    parser.add_argument(
        "--character-sample",
        type=int,
        default=3_000,
        help="corpus texts the PII pre-filter trip rate and language mix are measured on",
    )
    parser.add_argument("--rss-cap-gb", type=float, default=16.0, help="abort above this")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--pipeline-only", action="store_true", help="cold run only")
    parser.add_argument("--no-reference", action="store_true", help="skip the 1/10 memory run")
    parser.add_argument("--no-baselines", action="store_true", help="pipeline runs only")
    parser.add_argument(
        "--fan-out-buckets",
        type=int,
        nargs="*",
        default=[2, 4],
        help="after the runs, build one dataset's silver slice alone and with its text work "
        "fanned out over each of these bucket counts (bench/dataset_fan_out.py); none: skip",
    )
    parser.add_argument("--fan-out-dataset", default="ultrachat")
    parser.add_argument(
        "--increment-dataset",
        choices=INCREMENT_TARGETS,
        default="ultrachat_200k",
        help="where the 1 %% new rows go: a new ultrachat_200k train_sft shard (default), or "
        "a new stingning/ultrachat train_10.jsonl",
    )
    return parser.parse_args(argv)


def corpus_dir(out: Path, spec: CorpusSpec) -> Path:
    return out / f"corpus-{spec.label}"


def ensure_corpus(spec: CorpusSpec, root: Path, workers: int) -> dict[str, Any]:
    """Generate the corpus in a subprocess (its memory is not the pipeline's) unless current."""
    if not corpus_is_current(root, spec):
        shutil.rmtree(root, ignore_errors=True)
        print(f"generating corpus at scale {spec.scale:g} into {root} ...", flush=True)
        command = [
            *_python("bench.generate_corpus"),
            *("--scale", str(spec.scale), "--ultrachat-scale", str(spec.ultrachat_scale)),
            *("--text", spec.text),
            *("--out", str(root), "--workers", str(workers)),
        ]
        subprocess.run(command, check=True)
    return json.loads((root / "manifest.json").read_text(encoding="utf-8"))


def _python(module: str) -> list[str]:
    return [sys.executable, "-m", module]


def run_dict(run: PipelineRun, **extra: Any) -> dict[str, Any]:
    return {
        "wall_seconds": run.wall_seconds,
        "peak_rss": run.peak_rss,
        "runs": run.runs,
        "by_layer": run.by_layer(),
        "engines": run.engine_seconds(),
        "silver_engines": run.engine_seconds("silver"),
        "metadata": run.metadata,
        "steps": [asdict(s) for s in run.steps],
        **extra,
    }


def pipeline_phases(
    args: argparse.Namespace,
    spec: CorpusSpec,
    corpus: Path,
    results: dict,
    sampler: MemorySampler,
) -> None:
    """Cold run, then (unless --pipeline-only) +1 % rows and an incremental run."""
    from dagster import DagsterInstance

    work = args.out / f"work-{spec.label}"
    mirror, lake = work / "mirror", work / "lake"
    hardlink_tree(corpus, mirror)
    shutil.rmtree(lake, ignore_errors=True)
    defs = lake_definitions(lake, mirror)
    log = args.out / f"dagster-{spec.label}.log"
    print(f"Dagster's event logs: {log}", flush=True)
    with DagsterInstance.ephemeral() as instance, stderr_to(log):
        print("cold run ...", flush=True)
        cold = guarded(lambda: run_pipeline("cold", defs, instance, sampler), "cold", results)
        if cold is None:
            return
        results["cold"] = run_dict(cold)
        results["memory"]["peak_rss"] = cold.peak_rss
        save(results, args.out, spec)
        if args.pipeline_only:
            return
        new_rows = max(1, round(results["corpus"]["rows"] * INCREMENT_SHARE))
        command = [
            *_python("bench.generate_corpus"),
            *("--scale", str(spec.scale), "--ultrachat-scale", str(spec.ultrachat_scale)),
            *("--text", spec.text),
            *("--out", str(mirror), "--increment-rows", str(new_rows)),
            *("--increment-dataset", args.increment_dataset),
        ]
        subprocess.run(command, check=True)
        print("incremental run ...", flush=True)
        phase = "incremental"
        incremental = guarded(lambda: run_pipeline(phase, defs, instance, sampler), phase, results)
        if incremental is not None:
            results[phase] = run_dict(incremental, new_rows=new_rows, into=args.increment_dataset)
        save(results, args.out, spec)
    if args.fan_out_buckets:
        print(f"{args.fan_out_dataset} fanned out over buckets ...", flush=True)
        sampler.phase("dataset fan-out")
        try:
            with stderr_to(args.out / f"dagster-{spec.label}-fan-out.log"):
                results["dataset_fan_out"] = dataset_fan_out.measure(
                    lake, args.fan_out_dataset, args.fan_out_buckets, args.workers
                )
        except Exception as error:  # recorded in the report, as a failed pipeline phase is
            results.setdefault("notes", []).append(f"the dataset fan-out failed: {error!r}")
        save(results, args.out, spec)


def guarded(run: Callable[[], PipelineRun], phase: str, results: dict) -> PipelineRun | None:
    """Run a pipeline phase; a failure is recorded (and reported), not raised."""
    try:
        return run()
    except Exception as error:  # a failed Dagster run: report it with the figures we have
        message = f"{phase} run failed: {type(error).__name__}: {str(error).strip()[:500]}"
        results.setdefault("notes", []).append(message)
        print(message, flush=True)
        return None


def baseline_phases(
    args: argparse.Namespace, corpus: Path, results: dict, sampler: MemorySampler
) -> None:
    sampler.phase("baselines")
    print("baselines: sampling texts ...", flush=True)
    samples = baselines.draw_samples(corpus, args.pii_sample, args.language_sample)
    labelled = TextFactory(seed=20_231_124)
    print(f"baselines: PII on {len(samples.pii):,} texts ...", flush=True)
    results["pii"] = {
        "throughput": _timings(baselines.pii_throughput(samples.pii, args.workers)),
        "quality": baselines.pii_quality_both(labelled.labelled_pii(args.labelled)),
    }
    print(f"baselines: language on {len(samples.language_cut):,} texts ...", flush=True)
    generated = labelled.labelled_languages(args.labelled)
    quality = {"generated": baselines.language_quality_both(generated)}
    curated = baselines.curated_language_samples()
    if curated:
        quality["curated (tests)"] = baselines.language_quality_both(curated)
    results["language"] = {
        "throughput": _timings(baselines.language_throughput(samples, args.workers)),
        "quality": quality,
    }
    print(f"baselines: fan-out over 1..{args.workers} worker processes ...", flush=True)
    results["fan_out"] = {
        engine: _timings(timings)
        for engine, timings in baselines.fan_out(samples, args.workers).items()
    }


def _timings(timings: dict[str, baselines.Timing]) -> dict[str, dict[str, float]]:
    return {name: asdict(t) for name, t in timings.items()}


def memory_reference(args: argparse.Namespace, spec: CorpusSpec) -> dict[str, Any] | None:
    """Peak RSS of the cold run at a tenth of the scale: from an earlier result, or run now."""
    reference = CorpusSpec(spec.scale / 10, spec.ultrachat_scale / 10, text=spec.text)
    path = results_path(args.out, reference)
    if not path.is_file() and not args.no_reference:
        print(f"memory reference: cold run at scale {reference.scale:g} ...", flush=True)
        command = [
            *_python("bench.run"),
            *("--scale", str(reference.scale), "--ultrachat-scale", str(reference.ultrachat_scale)),
            *("--text", spec.text, "--out", str(args.out), "--pipeline-only", "--no-reference"),
        ]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    if not path.is_file():
        return None
    earlier = json.loads(path.read_text(encoding="utf-8"))
    peak = earlier.get("memory", {}).get("peak_rss")
    wall = (earlier.get("cold") or {}).get("wall_seconds")
    return {"scale": reference.scale, "peak_rss": peak, "wall_seconds": wall} if peak else None


def results_path(out: Path, spec: CorpusSpec) -> Path:
    return out / f"results-{spec.label}.json"


def save(results: dict, out: Path, spec: CorpusSpec) -> None:
    results_path(out, spec).write_text(json.dumps(results, indent=1), encoding="utf-8")


def abort_on_cap(results: dict, out: Path, spec: CorpusSpec) -> Any:
    def on_cap(phase: str, rss: int) -> None:
        note = f"aborted: process tree RSS {rss / GB:.1f} GB above the cap during {phase}"
        results.setdefault("notes", []).append(note)
        save(results, out, spec)
        print(note, file=sys.stderr, flush=True)
        kill_descendants()
        os._exit(3)

    return on_cap


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    spec = corpus_spec(args.scale, args.ultrachat_scale, args.text)
    corpus = corpus_dir(args.out, spec)
    manifest = ensure_corpus(spec, corpus, args.workers)
    results: dict[str, Any] = {
        "machine": machine(),
        "params": {
            **asdict(spec),
            "workers": args.workers,
            "pii_sample": args.pii_sample,
            "language_sample": args.language_sample,
            "labelled": args.labelled,
            "load_start": [round(x, 2) for x in load_average()],
        },
        "corpus": manifest["totals"]["all"],
        "corpus_datasets": manifest["totals"]["datasets"],
        "corpus_seconds": manifest["seconds"],
        "text_character": character_of_corpus_and_real(
            baselines.draw_samples(corpus, args.character_sample, 0).pii, args.character_sample
        ),
        "memory": {},
    }
    cap = int(args.rss_cap_gb * GB)
    with MemorySampler(cap_bytes=cap, on_cap=abort_on_cap(results, args.out, spec)) as sampler:
        pipeline_phases(args, spec, corpus, results, sampler)
        if not (args.pipeline_only or args.no_baselines):
            baseline_phases(args, corpus, results, sampler)
    results["memory"]["phases"] = dict(sampler.peaks)
    results["params"]["load_end"] = [round(x, 2) for x in load_average()]
    if not args.pipeline_only:
        results["memory"]["reference"] = memory_reference(args, spec)
    save(results, args.out, spec)
    report = render(results)
    (args.out / f"report-{spec.label}.md").write_text(report, encoding="utf-8")
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
