"""The benchmark's results: machine description, per-phase tables, targets, JSON and Markdown."""

from __future__ import annotations

import hashlib
import math
import os
import platform
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

LIBRARIES = (
    "dagster", "polars", "deltalake", "pyarrow", "presidio-analyzer", "presidio-anonymizer",
    "spacy", "langdetect", "phonenumbers", "numpy",
)  # fmt: skip
GB = 1e9


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    model = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if "model name" in line),
        platform.processor() or "unknown",
    )
    meminfo = Path("/proc/meminfo").read_text(encoding="utf-8").split()
    return {
        "nproc": os.cpu_count(),
        "memory_gb": round(int(meminfo[meminfo.index("MemTotal:") + 1]) / 1024**2, 1),
        "cpu_model": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "libraries": {lib: _version(lib) for lib in LIBRARIES},
        "code": code_version(),
    }


PROJECT = Path(__file__).resolve().parent.parent
CODE_DIRS = ("assets", "transforms", "orchestration")


def code_version(root: Path = PROJECT) -> dict[str, str]:
    """Which pipeline code was measured: the checked-out commit (read from .git, no git
    command) and a digest of the pipeline's source files, which also covers edits not yet
    committed."""
    digest = hashlib.sha256()
    for path in sorted(p for d in CODE_DIRS for p in (root / d).rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return {"git_head": _git_head(root / ".git"), "code_sha256": digest.hexdigest()[:16]}


def _git_head(git: Path) -> str:
    try:
        head = (git / "HEAD").read_text(encoding="utf-8").strip()
        if not head.startswith("ref: "):
            return head
        ref = head.removeprefix("ref: ")
        if (git / ref).is_file():
            return (git / ref).read_text(encoding="utf-8").strip()
        for line in (git / "packed-refs").read_text(encoding="utf-8").splitlines():
            if line.endswith(f" {ref}"):
                return line.split()[0]
    except OSError:
        pass
    return "unknown"


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()


def _version(lib: str) -> str:
    try:
        return version(lib)
    except PackageNotFoundError:
        return "absent"


# ----------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class Target:
    name: str
    measured: str
    goal: str
    met: bool | None  # None: not measurable in this run

    @property
    def status(self) -> str:
        return {True: "met", False: "MISSED", None: "n/a"}[self.met]


PIPELINE_CALL = "ours_pipeline_call"


def pipeline_call(timings: dict[str, dict]) -> dict | None:
    return next((t for name, t in timings.items() if name.startswith(PIPELINE_CALL)), None)


def cold_pass(results: dict, engine: str) -> dict[str, float] | None:
    """The cold run's own pass of `engine` over every distinct text (silver steps only)."""
    cold = results.get("cold") or {}
    seconds = cold.get("silver_engines", {}).get(engine)
    texts = cold.get("metadata", {}).get(f"{engine}_texts_analysed")
    if not seconds or not texts:
        return None
    corpus = results["corpus"]
    chars = texts * corpus["text_chars"] / corpus["texts"]  # estimate: corpus mean length
    return {"texts": texts, "chars": chars, "seconds": seconds}


def speedups(results: dict, section: str) -> dict[str, float]:
    """Our throughput over naive: the cold run's pass, the same-texts call, the engine alone."""
    timings = results.get(section, {}).get("throughput")
    if not timings:
        return {}
    naive = timings["naive"]
    unit = "chars" if section == "pii" else "texts"  # language texts are cut, lengths differ
    per_second = naive[unit] / naive["seconds"]
    found = {}
    whole = cold_pass(results, section)
    if whole:
        found["cold run pass"] = whole[unit] / whole["seconds"] / per_second
    call = pipeline_call(timings)
    if call:
        found["same texts, pipeline call"] = call[unit] / call["seconds"] / per_second
    engine = timings.get("ours_engine_1_process")
    if engine:
        found["same texts, engine, 1 process"] = engine[unit] / engine["seconds"] / per_second
    return found


def _speedup_text(found: dict[str, float]) -> str:
    return "; ".join(f"{name} {value:.1f}x" for name, value in found.items())


def targets(results: dict) -> list[Target]:
    """Each issue target; a text engine's ratio is judged on the cold run's pass (throughput
    at scale), the same-texts figures are shown beside it."""
    engines = (
        _engine_target(
            "PII scrub vs naive Presidio loop (MB/s)",
            speedups(results, "pii"),
            results.get("pii", {}).get("quality"),
            "recall",
            ">= 10x, recall not lower",
            min_speedup=10,
            tolerance=0.0,
        ),
        _engine_target(
            "Language detection vs naive langdetect loop (texts/s)",
            speedups(results, "language"),
            results.get("language", {}).get("quality", {}).get("generated"),
            "accuracy",
            ">= 5x, accuracy within 1 point",
            min_speedup=5,
            tolerance=0.01,
        ),
    )
    return [target for target in engines if target is not None] + run_targets(results)


def _engine_target(
    name: str,
    found: dict[str, float],
    quality: dict | None,
    metric: str,
    goal: str,
    min_speedup: float,
    tolerance: float,
) -> Target | None:
    """Met when the decisive speedup (the cold run's pass, else the lowest figure) is at least
    ``min_speedup`` and our ``metric`` is at most ``tolerance`` below naive's; None when the
    run measured no speedup or no quality."""
    if not found or not quality:
        return None
    ours, naive = quality["ours"][metric], quality["naive"][metric]
    decisive = found.get("cold run pass", min(found.values()))
    return Target(
        name,
        f"{_speedup_text(found)}; {metric} {ours:.1%} vs {naive:.1%}",
        goal,
        decisive >= min_speedup and ours >= naive - tolerance,
    )


def extrapolate(wall: float, scale: float, reference: dict | None) -> tuple[float, str]:
    """Cold-run seconds at scale 1.0: on the line through this run and the reference run at
    a tenth of the scale (fixed costs excluded), else proportional to the scale."""
    if reference and reference.get("wall_seconds") and reference["scale"] < scale:
        slope = (wall - reference["wall_seconds"]) / (scale - reference["scale"])
        return wall + slope * (
            1 - scale
        ), f"extrapolated from scales {reference['scale']:g}, {scale:g}"
    return wall / scale, "extrapolated in proportion to scale"


def run_targets(results: dict) -> list[Target]:
    scale = results["params"]["scale"]
    found: list[Target] = []
    cold = results.get("cold")
    if cold and cold.get("wall_seconds"):
        wall = cold["wall_seconds"]
        if scale >= 1:
            found.append(
                Target("Full cold run", f"{wall / 60:.1f} min", "< 20 min", wall < 20 * 60)
            )
        else:
            estimate, how = extrapolate(wall, scale, results.get("memory", {}).get("reference"))
            found.append(
                Target(
                    f"Full cold run ({how})",
                    f"{wall / 60:.1f} min at {scale:g} -> ~{estimate / 60:.0f} min at 1.0",
                    "< 20 min",
                    estimate < 20 * 60,
                )
            )
    incremental = results.get("incremental")
    if cold and incremental and incremental.get("wall_seconds"):
        share = incremental["wall_seconds"] / cold["wall_seconds"]
        at = "" if scale >= 1 else f" at scale {scale:g} (fixed costs weigh more than at 1.0)"
        found.append(
            Target(
                f"Incremental run after +1 % rows{at}",
                f"{incremental['wall_seconds']:.0f} s = {share:.1%} of cold",
                "< 5 % of cold",
                share < 0.05,
            )
        )
    memory = results.get("memory", {})
    if memory.get("peak_rss"):
        peak = memory["peak_rss"]
        found.append(
            Target(
                f"Peak RSS (process tree) at scale {scale:g}",
                f"{peak / GB:.2f} GB",
                "< 4 GB",
                peak < 4 * GB,
            )
        )
        reference = memory.get("reference")
        if reference and reference.get("peak_rss"):
            growth = peak / reference["peak_rss"]
            found.append(
                Target(
                    f"Memory flat: scale {reference['scale']:g} -> {scale:g}",
                    f"{reference['peak_rss'] / GB:.2f} -> {peak / GB:.2f} GB ({growth:.2f}x)",
                    "<= 1.5x for 10x input",
                    growth <= 1.5,
                )
            )
    return found


# ----------------------------------------------------------------------------- rendering


def table(rows: list[list[str]], header: list[str]) -> str:
    """A Markdown table (also readable as plain text)."""
    cells = [header, *rows]
    widths = [max(len(str(row[i])) for row in cells) for i in range(len(header))]

    def line(row: list[str]) -> str:
        return "| " + " | ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def run_section(name: str, run: dict, corpus: dict) -> str:
    wall = run["wall_seconds"]
    rows = [
        ["wall time", f"{wall:,.1f} s ({wall / 60:.1f} min)"],
        ["rows in sources", f"{corpus['rows']:,}"],
        ["rows/s", f"{corpus['rows'] / wall:,.0f}"],
        ["source MB/s (files on disk)", f"{corpus['bytes'] / 1e6 / wall:,.2f}"],
        ["text MB/s (characters)", f"{corpus['text_chars'] / 1e6 / wall:,.2f}"],
        ["peak RSS, process tree", f"{run['peak_rss'] / GB:.2f} GB"],
        ["Dagster runs", str(run["runs"])],
    ]
    if "new_rows" in run:
        rows.insert(1, ["new rows", f"{run['new_rows']:,}"])
    layers = [
        [layer, f"{seconds:,.1f}", f"{seconds / wall:.0%}"]
        for layer, seconds in sorted(run["by_layer"].items(), key=lambda kv: -kv[1])
    ]
    engines = [
        [f"  of which {engine} pass", f"{seconds:,.1f}", f"{seconds / wall:.0%}"]
        for engine, seconds in sorted(run["engines"].items())
    ]
    slowest = sorted(run["steps"], key=lambda s: -s["seconds"])[:12]
    steps = [
        [
            f"{s['step']} [{s['partition'] or '-'}]",
            f"{s['seconds']:,.1f}",
            _share(s["seconds"], wall),
            f"{s.get('peak_rss', 0) / GB:.2f}",
        ]
        for s in slowest
    ]
    hungriest = [
        [f"{s['step']} [{s['partition'] or '-'}]", f"{s.get('peak_rss', 0) / GB:.2f}"]
        for s in sorted(run["steps"], key=lambda s: -s.get("peak_rss", 0))[:6]
    ]
    engine_counts = [
        [key, f"{value:,.0f}"]
        for key, value in sorted(run["metadata"].items())
        if "_texts_" in key or key == "pii_found"
    ]
    near = run["metadata"]
    sft_steps = [s for s in run["steps"] if s["step"] == "sft"]
    if near.get("near_duplicates_dialogues_judged"):
        judged, seconds = near["near_duplicates_dialogues_judged"], near["near_duplicates_seconds"]
        dropped = sum(
            v
            for k, v in near.items()
            if k.startswith("near_duplicates_")
            and k not in ("near_duplicates_dialogues_judged", "near_duplicates_seconds")
        )
        rows += [
            ["near-duplicate step: dialogues judged", f"{judged:,.0f}"],
            [
                "near-duplicate step: seconds (dialogues/s)",
                f"{seconds:,.1f} ({judged / max(seconds, 1e-9):,.0f}/s)",
            ],
            ["near-duplicate step: copies dropped", f"{dropped:,.0f}"],
            [
                "near-duplicate step: peak RSS of the SFT step",
                f"{max((s.get('peak_rss', 0) for s in sft_steps), default=0) / GB:.2f} GB",
            ],
        ]
    return "\n\n".join(
        [
            f"### {name}",
            table(rows, ["measure", "value"]),
            table(layers + engines, ["stage", "seconds", "share"]),
            "Slowest steps:\n\n"
            + table(steps, ["step [partition]", "seconds", "share", "peak RSS (GB)"]),
            "Steps with the highest process-tree RSS (each process's kernel peak per quarter "
            "second, summed, while each ran; memory a "
            "step leaves allocated counts in the steps after it):\n\n"
            + table(hungriest, ["step [partition]", "peak RSS (GB)"]),
            table(engine_counts, ["text-engine counter", "value"]),
        ]
    )


def _share(part: float, whole: float) -> str:
    return f"{part / whole:.0%}"


def throughput_section(name: str, timings: dict[str, dict], whole: dict | None, unit: str) -> str:
    """Throughput per path and its ratio to the naive loop's, in `unit` per second (chars
    for PII; texts for language, whose inputs we cut, so MB/s would flatter the naive loop)."""
    naive = timings["naive"]
    rows = [_throughput_row(label, t, naive, unit) for label, t in timings.items()]
    if whole:
        rows.append(_throughput_row("cold run pass (all distinct texts)", whole, naive, unit))
    per = "MB/s" if unit == "chars" else "texts/s"
    header = ["path", "texts", "seconds", "texts/s", "MB/s", f"vs naive ({per})"]
    return f"### {name}\n\n" + table(rows, header)


def _throughput_row(label: str, t: dict, naive: dict, unit: str) -> list[str]:
    speedup = (t[unit] / t["seconds"]) / (naive[unit] / naive["seconds"])
    mb_s = t["chars"] / 1e6 / t["seconds"]
    return [
        label,
        f"{t['texts']:,.0f}",
        f"{t['seconds']:,.2f}",
        f"{t['texts'] / t['seconds']:,.0f}",
        "-" if math.isnan(mb_s) else f"{mb_s:,.2f}",
        f"{speedup:.1f}x",
    ]


def pii_quality_section(quality: dict) -> str:
    types = sorted(quality["ours"]["recall_by_type"])
    rows = [
        [
            who,
            f"{q['planted']:,}",
            f"{q['found']:,}",
            f"{q['recall']:.1%}",
            f"{q['precision']:.1%}",
            *(f"{q['recall_by_type'].get(t, 0):.0%}" for t in types),
        ]
        for who, q in quality.items()
    ]
    header = ["engine", "planted", "found", "recall", "precision", *types]
    return "### PII quality (labelled set)\n\n" + table(rows, header)


def language_quality_section(quality: dict[str, dict]) -> str:
    rows = [
        [name, who, f"{q['texts']:,}", f"{q['accuracy']:.1%}", str(q["undetermined"])]
        for name, both in quality.items()
        for who, q in both.items()
    ]
    header = ["set", "engine", "texts", "accuracy", "und"]
    return "### Language accuracy (labelled sets)\n\n" + table(rows, header)


def fan_out_section(fan_out: dict[str, dict[str, dict]]) -> str:
    """Speed-up of each engine with N worker processes over one process, same texts."""
    rows = []
    for engine, timings in fan_out.items():
        alone = timings["1"]["seconds"]
        for workers, t in timings.items():
            speedup = alone / t["seconds"]
            rows.append(
                [
                    engine,
                    workers,
                    f"{t['texts']:,.0f}",
                    f"{t['seconds']:,.2f}",
                    f"{t['texts'] / t['seconds']:,.0f}",
                    f"{speedup:.2f}x",
                    f"{speedup / int(workers):.0%}",
                ]
            )
    header = ["engine", "processes", "texts", "seconds", "texts/s", "speed-up", "efficiency"]
    return "### Fan-out over worker processes (same texts)\n\n" + table(rows, header)


def dataset_fan_out_section(fan_out: dict) -> str:
    """One dataset's slice alone (engine pool) and with its text work fanned out over
    buckets (silver/text_cache) under the multiprocess executor, on the same rows."""
    processes = fan_out["processes"]
    rows = [
        [
            "alone",
            "-",
            "-",
            f"{fan_out['alone_seconds']:,.1f}",
            f"{fan_out['alone_seconds']:,.1f}",
            "1.00x",
            "-",
            "-",
        ]
    ]
    for run in fan_out["fanned"]:
        buckets = run["bucket_seconds"]
        rows.append(
            [
                f"{run['buckets']} buckets",
                f"{run['fan_out_seconds']:,.1f}",
                f"{min(buckets):,.1f}-{max(buckets):,.1f}",
                f"{run['slice_seconds']:,.1f}",
                f"{run['total_seconds']:,.1f}",
                f"{run['speedup']:.2f}x",
                f"{run['slice_texts_analysed']:,}",
                "yes" if run["identical"] else "**NO**",
            ]
        )
    header = [
        "slice",
        "fan-out s",
        "per bucket s",
        "slice s",
        "total s",
        "speed-up",
        "texts the slice analysed",
        "same rows",
    ]
    return (
        f"### {fan_out['dataset']} fanned out over buckets ({fan_out['rows_in']:,} bronze "
        f"rows, at most {processes} processes)\n\n"
        "Alone: silver/dialogues builds the slice and runs the engines in its pool of "
        f"{processes} processes. Fanned out: silver/text_cache's bucket steps (one process "
        "each, multiprocess executor) fill the cache, then the slice is built and finds every "
        "text analysed. Each side starts from a lake holding only the dataset's bronze.\n\n"
        + table(rows, header)
    )


def text_character_section(kind: str, character: dict) -> str:
    """The corpus's text beside the vendored real chat text: how many texts trip the PII
    pre-filter (the only ones Presidio analyses) and which languages they are in."""
    rows = []
    for name, label in (
        ("corpus", f"this corpus ({kind})"),
        ("real", "the real texts it draws from"),
    ):
        c = character[name]
        mix = ", ".join(
            f"{lang} {n / c['texts']:.1%}" for lang, n in list(c["languages"].items())[:6]
        )
        rows.append([label, f"{c['texts']:,}", f"{c['prefilter_trip_rate']:.1%}", mix])
    return "### Text\n\n" + table(
        rows, ["texts", "sampled", "trip the PII pre-filter", "languages"]
    )


def render(results: dict) -> str:
    """The whole report as Markdown (what `make bench` prints and saves)."""
    m = results["machine"]
    p = results["params"]
    corpus = results["corpus"]
    parts = [
        f"## Benchmark at scale {p['scale']:g} (original UltraChat at {p['ultrachat_scale']:g})",
        f"Machine: {m['nproc']} cores ({m['cpu_model']}), {m['memory_gb']} GB RAM, Python "
        f"{m['python']}; load average at start {p['load_start']}, at end {p['load_end']}. "
        f"Code: commit {m.get('code', {}).get('git_head', '?')[:12]}, pipeline sources "
        f"digest {m.get('code', {}).get('code_sha256', '?')}.",
        f"Corpus: {corpus['rows']:,} rows, {corpus['texts']:,} texts, "
        f"{corpus['text_chars'] / 1e6:,.0f} M characters, {corpus['bytes'] / 1e6:,.0f} MB "
        f"of files (generated in {results['corpus_seconds']} s).",
        table(
            [[t.name, t.measured, t.goal, t.status] for t in targets(results)],
            ["target", "measured", "goal", "status"],
        ),
    ]
    if results.get("text_character"):
        parts.append(text_character_section(p.get("text", "templates"), results["text_character"]))
    if results.get("cold"):
        parts.append(run_section("Cold run", results["cold"], corpus))
    if results.get("incremental"):
        parts.append(run_section("Incremental run (+1 % rows)", results["incremental"], corpus))
    if results.get("pii", {}).get("throughput"):
        timings, whole = results["pii"]["throughput"], cold_pass(results, "pii")
        parts.append(throughput_section("PII scrub throughput", timings, whole, "chars"))
        parts.append(pii_quality_section(results["pii"]["quality"]))
    if results.get("language", {}).get("throughput"):
        timings = results["language"]["throughput"]
        whole = cold_pass(results, "language")
        if whole:  # its characters are not counted: show texts only
            whole = {**whole, "chars": float("nan")}
        section = throughput_section("Language detection throughput", timings, whole, "texts")
        parts.append(section)
        parts.append(language_quality_section(results["language"]["quality"]))
    if results.get("fan_out"):
        parts.append(fan_out_section(results["fan_out"]))
    if results.get("dataset_fan_out"):
        parts.append(dataset_fan_out_section(results["dataset_fan_out"]))
    phases = results.get("memory", {}).get("phases")
    if phases:
        peaks = ", ".join(f"{name} {peak / GB:.2f} GB" for name, peak in phases.items())
        parts.append(f"Peak of the process tree in each phase of this benchmark: {peaks}.")
    for note in results.get("notes", []):
        parts.append(f"Note: {note}")
    return "\n\n".join(parts) + "\n"
