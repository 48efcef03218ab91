"""Write a synthetic corpus in the Hub layout at a scale factor (deterministic, offline).

    .venv/bin/python -m bench.generate_corpus --scale 0.1 --out bench/out/corpus-0.1

Scale 1.0 is the published size of every dataset (sources/catalogue.yaml, DATASETS.md):
ultrachat_200k at its four splits' row counts, UltraFeedback's 64 k prompts in its six
files, Arena's 33 k votes, MT-bench's 3,355 + 2,400 judgments. The original UltraChat
(1.47 M dialogues) has its own factor, `--ultrachat-scale`, by default a tenth of
`--scale`.

Files and Arrow types are those of the bundled samples (their writer's schemas are
imported from sources/fixtures/), so the lake reads this directory with
`Sources(location=<dir>)`. Texts are built in bulk (bench/text_pools.py): per turn a
log-normal length, mostly English with some ja/zh/es/de/ru/ar/fr/ko dialogues, about 2 %
exact duplicate rows, planted PII in a few % of texts, MT-bench questions reused as first
user turns (1 % of Arena prompts, 0.1 % elsewhere), and a trickle of malformed records.
Every file is generated from its own seed, so files are independent and can be written by
parallel workers with byte-identical results. A manifest.json beside the dataset folders
records the parameters and what was planted.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import itertools
import json
import os
import random
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bench.real_text import RealTextFactory, pool_sizes
from bench.text_pools import TextFactory, TurnShape
from sources import fixtures

GENERATOR_VERSION = 1
SEED = 8_2024

H4_ROWS = {"train_sft": 207_865, "test_sft": 23_110, "train_gen": 256_032, "test_gen": 28_304}
H4_ROWS_PER_SHARD = 75_000
ULTRACHAT_ROWS = 1_470_000
ULTRACHAT_FILES = 10
UF_ROWS = {
    "evol_instruct": 10_000,
    "false_qa": 2_339,
    "flan": 20_939,
    "sharegpt": 19_949,
    "truthful_qa": 811,
    "ultrachat": 9_929,
}
ARENA_ROWS = 33_000
MT_ROWS = {"human": 3_355, "gpt4_pair": 2_400}
MT_QUESTION_IDS = range(81, 161)

TEXT_KINDS = ("templates", "real")
DUPLICATE_RATE = 0.02
MT_REUSE_RATE = {"arena": 0.01, "default": 0.001}
SFT_LANGUAGES = {"en": 0.965, "ja": 0.005, "zh": 0.008, "es": 0.006, "de": 0.005, "ru": 0.004,
                 "ar": 0.002, "fr": 0.004, "ko": 0.001}  # fmt: skip
ARENA_LANGUAGES = {"en": 0.78, "zh": 0.05, "es": 0.03, "ru": 0.03, "de": 0.025, "ja": 0.02,
                   "fr": 0.025, "ar": 0.015, "ko": 0.025}  # fmt: skip

USER = TurnShape(median_chars=170, sigma=0.9, max_chars=4000, numeric_rate=0.05, pii_rate=0.04)
ASSISTANT = TurnShape(
    median_chars=1000, sigma=0.6, max_chars=6000, assistant=True, numeric_rate=0.12, pii_rate=0.015
)
UF_INSTRUCTION = TurnShape(median_chars=260, sigma=1.0, max_chars=5000, pii_rate=0.02)
UF_RESPONSE = TurnShape(
    median_chars=850, sigma=0.7, max_chars=5000, assistant=True, numeric_rate=0.1, pii_rate=0.005
)
ARENA_USER = TurnShape(median_chars=90, sigma=1.1, max_chars=3000, pii_rate=0.03)
ARENA_ASSISTANT = TurnShape(
    median_chars=700, sigma=0.7, max_chars=4000, assistant=True, numeric_rate=0.1, pii_rate=0.005
)

REPOS = fixtures.REPOS
MESSAGES = fixtures.MESSAGES
SCHEMAS = fixtures.SCHEMAS


@dataclass(frozen=True)
class CorpusSpec:
    scale: float
    ultrachat_scale: float
    seed: int = SEED
    version: int = GENERATOR_VERSION
    text: str = "templates"
    """Where turns come from: "templates" (bench/text_pools.py, with planted PII) or
    "real" (bench/real_text.py: real chat text, each draw made unique)."""

    @property
    def label(self) -> str:
        """The corpus's name in file names: scale, UltraChat scale, and the text kind."""
        kind = "" if self.text == "templates" else f"-{self.text}"
        return f"{self.scale:g}-uc{self.ultrachat_scale:g}{kind}"

    def rows(self, full: int, scale: float | None = None) -> int:
        return max(1, round(full * (self.scale if scale is None else scale)))


@dataclass(frozen=True)
class FileTask:
    """One output file: which dataset/split it belongs to, where, and how many rows."""

    dataset: str
    split: str
    path: str  # relative to the corpus root: <org>/<name>/<path>
    rows: int
    shard: int = 0
    seed_salt: str = ""


@dataclass
class FileReport:
    dataset: str
    split: str
    path: str
    rows: int
    bytes: int
    text_chars: int
    texts: int
    seconds: float
    counts: dict[str, int] = field(default_factory=dict)


# ----------------------------------------------------------------------------- planning


def plan(spec: CorpusSpec) -> list[FileTask]:
    tasks: list[FileTask] = []
    uc_rows = spec.rows(ULTRACHAT_ROWS, spec.ultrachat_scale) if spec.ultrachat_scale else 0
    for i, rows in enumerate(_spread(uc_rows, ULTRACHAT_FILES)):
        tasks.append(FileTask("ultrachat", "train", f"{REPOS['ultrachat']}/train_{i}.jsonl", rows))
    for split, full in H4_ROWS.items():
        rows = spec.rows(full)
        shards = max(1, round(rows / H4_ROWS_PER_SHARD))
        for i, shard_rows in enumerate(_spread(rows, shards)):
            tasks.append(h4_task(split, i, shards, shard_rows))
    for name, full in UF_ROWS.items():
        path = f"{REPOS['ultrafeedback']}/{name}.jsonl"
        tasks.append(FileTask("ultrafeedback", "train", path, spec.rows(full)))
    arena = "chatbot_arena_conversations"
    arena_path = _parquet_path(arena, "train", 0, 1)
    tasks.append(FileTask(arena, "train", arena_path, spec.rows(ARENA_ROWS)))
    mt = "mt_bench_human_judgments"
    for split, full in MT_ROWS.items():
        tasks.append(FileTask(mt, split, _parquet_path(mt, split, 0, 1), spec.rows(full)))
    return [t for t in tasks if t.rows > 0]


def h4_task(split: str, shard: int, shards: int, rows: int, salt: str = "") -> FileTask:
    path = _parquet_path("ultrachat_200k", split, shard, shards, salt)
    return FileTask("ultrachat_200k", split, path, rows, shard, salt)


def _parquet_path(dataset: str, split: str, shard: int, shards: int, salt: str = "") -> str:
    digest = hashlib.sha256(f"{REPOS[dataset]}/{split}/{shard}{salt}".encode()).hexdigest()[:16]
    return f"{REPOS[dataset]}/data/{split}-{shard:05d}-of-{shards:05d}-{digest}.parquet"


def _spread(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (i < extra) for i in range(parts)]


def task_seed(spec: CorpusSpec, task: FileTask) -> int:
    key = f"{spec.seed}/{task.dataset}/{task.split}/{task.shard}/{task.path}/{task.seed_salt}"
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")


# ----------------------------------------------------------------------------- dialogues


@dataclass
class Dialogues:
    """n dialogues as flat arrays: message i of row r is at offsets[r] + i."""

    offsets: np.ndarray
    roles: np.ndarray
    contents: np.ndarray
    langs: np.ndarray

    def messages(self) -> pa.ListArray:
        struct = pa.StructArray.from_arrays(
            [pa.array(self.contents, pa.string()), pa.array(self.roles, pa.string())],
            names=["content", "role"],
        )
        return pa.ListArray.from_arrays(pa.array(self.offsets, pa.int32()), struct).cast(MESSAGES)

    def rows(self) -> list[list[str]]:
        contents = self.contents.tolist()
        bounds = self.offsets.tolist()
        return [contents[a:b] for a, b in itertools.pairwise(bounds)]


def languages(factory: TextFactory, n: int, weights: dict[str, float]) -> np.ndarray:
    names = np.array(list(weights), dtype=object)
    p = np.array(list(weights.values()))
    return factory.rng.choice(names, size=n, p=p / p.sum())


def dialogues(
    factory: TextFactory,
    n: int,
    exchanges: np.ndarray,
    langs: np.ndarray,
    user: TurnShape,
    assistant: TurnShape,
) -> Dialogues:
    """Alternating user/assistant dialogues with `exchanges[r]` pairs each."""
    per_row = 2 * exchanges
    offsets = np.concatenate([[0], np.cumsum(per_row)])
    row_of = np.repeat(np.arange(n), per_row)
    is_user = (np.arange(offsets[-1]) - offsets[row_of]) % 2 == 0
    contents = np.empty(offsets[-1], dtype=object)
    contents[is_user] = factory.turns(langs[row_of[is_user]], user)
    contents[~is_user] = factory.turns(langs[row_of[~is_user]], assistant)
    roles = np.where(is_user, "user", "assistant").astype(object)
    return Dialogues(offsets, roles, contents, langs)


def sft_exchanges(factory: TextFactory, n: int) -> np.ndarray:
    """Exchanges per dialogue: 1 to 10, mean about 3.5 (UltraChat's published average)."""
    return np.clip(1 + factory.rng.poisson(2.5, n), 1, 10)


def reuse_mt_questions(factory: TextFactory, d: Dialogues, rate: float) -> int:
    """Put an MT-bench question in place of the first user turn of `rate` of the rows."""
    rows = np.flatnonzero(factory.rng.random(len(d.offsets) - 1) < rate)
    questions = mt_questions()
    for row in rows.tolist():
        qid = MT_QUESTION_IDS[int(factory.rng.integers(len(MT_QUESTION_IDS)))]
        d.contents[d.offsets[row]] = questions[qid][0]
    return len(rows)


def duplicate_rows(factory: TextFactory, n: int) -> np.ndarray:
    """Row order with DUPLICATE_RATE of the rows replaced by a copy of an earlier row."""
    order = np.arange(n)
    positions = np.flatnonzero(factory.rng.random(n) < DUPLICATE_RATE)
    positions = positions[positions > 0]
    order[positions] = (factory.rng.random(len(positions)) * positions).astype(np.int64)
    return order


def text_volume(d: Dialogues) -> tuple[int, int]:
    return sum(len(t) for t in d.contents.tolist()), len(d.contents)


# ----------------------------------------------------------------------------- writers


def write_ultrachat_200k(factory: TextFactory, task: FileTask, path: Path) -> dict[str, int]:
    n = task.rows
    langs = languages(factory, n, SFT_LANGUAGES)
    exchanges = sft_exchanges(factory, n)
    if task.split.endswith("_gen"):  # the published gen splits are a little shorter
        exchanges = np.maximum(1, exchanges - (factory.rng.random(n) < 0.3))
    d = dialogues(factory, n, exchanges, langs, USER, ASSISTANT)
    reused = reuse_mt_questions(factory, d, MT_REUSE_RATE["default"])
    messages = d.messages().take(pa.array(duplicate_rows(factory, n)))
    prompts = pc.struct_field(pc.list_element(messages, 0), "content")
    prompt_ids = [hashlib.sha256(p.encode()).hexdigest() for p in prompts.to_pylist()]
    table = pa.table(
        {"prompt": prompts, "prompt_id": pa.array(prompt_ids, pa.string()), "messages": messages},
        schema=SCHEMAS["ultrachat_200k"],
    )
    pq.write_table(table, path, compression="snappy")
    chars, texts = text_volume(d)
    return {"text_chars": chars, "texts": texts, "mt_reuse": reused, **_lang_counts(langs)}


def write_ultrachat(factory: TextFactory, task: FileTask, path: Path) -> dict[str, int]:
    n = task.rows
    langs = languages(factory, n, SFT_LANGUAGES)
    d = dialogues(factory, n, sft_exchanges(factory, n), langs, USER, ASSISTANT)
    reused = reuse_mt_questions(factory, d, MT_REUSE_RATE["default"])
    rows = d.rows()
    order = duplicate_rows(factory, n).tolist()
    first_id = int(path.stem.split("_")[-1]) * 10_000_000
    odd = factory.rng.random(n) < 0.005
    draws = factory.rng.random(n)
    counts: Counter[str] = Counter()
    lines = []
    for i, source in enumerate(order):
        turns = rows[source][:-1] if odd[i] else rows[source]
        record: dict[str, Any] = {"id": str(first_id + i), "data": turns}
        if draws[i] < 0.001:
            record["id"] = first_id + i  # tolerated: a non-string id
            counts["integer_id"] += 1
        line = json.dumps(record, ensure_ascii=False)
        if draws[i] > 0.9999:
            line = line[: len(line) // 2]  # a truncated line: broken JSON
            counts["broken_json"] += 1
        lines.append(line)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    chars, texts = text_volume(d)
    counts.update(_lang_counts(langs))
    return {"text_chars": chars, "texts": texts, "mt_reuse": reused, **counts}


FLAN_SOURCES = ("flan_v2_niv2", "flan_v2_cot", "flan_v2_p3", "flan_v2_flan2021")


def write_ultrafeedback(factory: TextFactory, task: FileTask, path: Path) -> dict[str, int]:
    n, name = task.rows, path.stem
    rng = random.Random(task_seed_from_factory(factory))
    langs = languages(factory, n, SFT_LANGUAGES)
    instructions = factory.turns(langs, UF_INSTRUCTION)
    questions = mt_questions()
    reused = 0
    for i in np.flatnonzero(factory.rng.random(n) < MT_REUSE_RATE["default"]).tolist():
        instructions[i] = questions[MT_QUESTION_IDS[i % len(MT_QUESTION_IDS)]][0]
        reused += 1
    responses = factory.turns(np.repeat(langs, 4), UF_RESPONSE)
    order = duplicate_rows(factory, n).tolist()
    lines = []
    for source_row in order:
        source = rng.choice(FLAN_SOURCES) if name == "flan" else name
        record = uf_record(rng, source, instructions[source_row], responses, source_row)
        lines.append(json.dumps(record, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    chars = sum(map(len, instructions)) + sum(map(len, responses))
    return {"text_chars": chars, "texts": 5 * n, "mt_reuse": reused, **_lang_counts(langs)}


def task_seed_from_factory(factory: TextFactory) -> int:
    return int(factory.rng.integers(2**62))


def uf_record(
    rng: random.Random, source: str, instruction: str, responses: list[str], row: int
) -> dict[str, Any]:
    models = rng.sample(fixtures.UF_MODELS, 4)
    shape = "list" if rng.random() < 0.2 else "object"  # both published annotation shapes
    completions = []
    for k, model in enumerate(models):
        tier = rng.randint(1, 4)
        ratings = fixtures.uf_ratings(tier, rng)
        if rng.random() < 0.01:
            ratings[rng.randrange(4)] = "N/A"
        overall = rng.choice(fixtures.UF_OVERALL[tier])
        response = responses[4 * row + k]
        completions.append(
            fixtures.uf_completion(model, response, ratings, overall, tier, shape, rng)
        )
    record: dict[str, Any] = {"source": source}
    if rng.random() > 0.01:  # some copies lack ids
        record["id"] = fixtures.uf_id(rng, source)
    record.update({"instruction": instruction, "models": models, "completions": completions})
    if source in ("truthful_qa", "false_qa"):
        record["correct_answers"] = ["The premise of the question is false."]
        record["incorrect_answers"] = ["It is true, as stated in the question."]
    return record


def write_arena(factory: TextFactory, task: FileTask, path: Path) -> dict[str, int]:
    n, rng = task.rows, factory.rng
    langs = languages(factory, n, ARENA_LANGUAGES)
    turns = rng.choice(np.array([1, 2, 3]), size=n, p=[0.85, 0.1, 0.05])
    side_a = dialogues(factory, n, turns, langs, ARENA_USER, ARENA_ASSISTANT)
    reused = reuse_mt_questions(factory, side_a, MT_REUSE_RATE["arena"])
    side_b = Dialogues(side_a.offsets, side_a.roles, side_a.contents.copy(), langs)
    assistant = side_b.roles == "assistant"
    side_b.contents[assistant] = factory.turns(langs[_row_of(side_b)[assistant]], ARENA_ASSISTANT)
    order = pa.array(duplicate_rows(factory, n))
    models = np.array(fixtures.ARENA_MODELS, dtype=object)
    pair = np.array([rng.choice(len(models), 2, replace=False) for _ in range(n)])
    winners, weights = zip(*fixtures.ARENA_WINNERS, strict=True)
    names = np.array([fixtures.LANG_NAMES[lang] for lang in langs.tolist()], dtype=object)
    names[rng.random(n) < 0.03] = "unknown"
    columns = {
        "question_id": pa.array([rng.bytes(16).hex() for _ in range(n)], pa.string()),
        "model_a": pa.array(models[pair[:, 0]], pa.string()),
        "model_b": pa.array(models[pair[:, 1]], pa.string()),
        "winner": pa.array(
            rng.choice(np.array(winners, dtype=object), n, p=np.array(weights) / sum(weights)),
            pa.string(),
        ),
        "judge": pa.array([f"arena_user_{j}" for j in rng.integers(0, 13_000, n)], pa.string()),
        "conversation_a": side_a.messages(),
        "conversation_b": side_b.messages(),
        "turn": pa.array(turns, pa.int64()),
        "anony": pa.array(rng.random(n) < 0.7, pa.bool_()),
        "language": pa.array(names, pa.string()),
        "tstamp": pa.array(
            rng.uniform(fixtures.TSTAMP_START, fixtures.TSTAMP_END, n).round(4), pa.float64()
        ),
        "openai_moderation": moderation(rng, n),
        "toxic_chat_tag": toxic_tags(rng, n),
    }
    table = pa.table(columns, schema=SCHEMAS["chatbot_arena_conversations"]).take(order)
    pq.write_table(table, path, compression="snappy")
    chars = text_volume(side_a)[0] + sum(len(t) for t in side_b.contents[assistant].tolist())
    texts = len(side_a.contents) + int(assistant.sum())
    return {"text_chars": chars, "texts": texts, "mt_reuse": reused, **_lang_counts(langs)}


def _row_of(d: Dialogues) -> np.ndarray:
    return np.repeat(np.arange(len(d.offsets) - 1), np.diff(d.offsets))


def moderation(rng: np.random.Generator, n: int) -> pa.StructArray:
    names = list(fixtures.MOD_CATEGORIES)
    flags = rng.random((n, len(names))) < 0.008
    scores = np.where(flags, rng.uniform(0.5, 1.0, flags.shape), rng.beta(0.3, 30, flags.shape))
    return pa.StructArray.from_arrays(
        [
            pa.StructArray.from_arrays([pa.array(c) for c in flags.T], names=names),
            pa.StructArray.from_arrays([pa.array(c) for c in scores.T], names=names),
            pa.array(flags.any(axis=1)),
        ],
        names=["categories", "category_scores", "flagged"],
    )


def toxic_tags(rng: np.random.Generator, n: int) -> pa.StructArray:
    probability = rng.beta(0.2, 8, n)
    score = np.clip(probability + rng.normal(0, 0.05, n), 0, 1)
    return pa.StructArray.from_arrays(
        [
            pa.StructArray.from_arrays(
                [pa.array(probability > 0.5), pa.array(probability)],
                names=["flagged", "probability"],
            ),
            pa.StructArray.from_arrays(
                [pa.array(score > 0.5), pa.array(score)], names=["flagged", "score"]
            ),
        ],
        names=["roberta-large", "t5-large"],
    )


@functools.cache
def mt_questions() -> dict[int, tuple[str, str]]:
    """80 two-turn questions, ids 81-160: the samples' real ones, the rest synthetic."""
    factory = TextFactory(SEED)
    questions = {qid: (q[0], q[1]) for qid, q in fixtures.MT_QUESTIONS.items()}
    missing = [qid for qid in MT_QUESTION_IDS if qid not in questions]
    langs = np.array(["en"] * len(missing), dtype=object)
    first = factory.turns(langs, TurnShape(median_chars=200, sigma=0.4, max_chars=600))
    second = factory.turns(langs, TurnShape(median_chars=120, sigma=0.4, max_chars=400))
    questions.update(zip(missing, zip(first, second, strict=True), strict=True))
    return questions


def write_mt_bench(factory: TextFactory, task: FileTask, path: Path) -> dict[str, int]:
    n, rng = task.rows, factory.rng
    questions = mt_questions()
    answers = mt_answers()
    models = fixtures.MT_MODELS
    pairs = [(a, b) for i, a in enumerate(models) for b in models[i + 1 :]]
    rows = []
    for _ in range(n):
        qid = MT_QUESTION_IDS[int(rng.integers(len(MT_QUESTION_IDS)))]
        model_a, model_b = pairs[int(rng.integers(len(pairs)))]
        if rng.random() < 0.5:
            model_a, model_b = model_b, model_a
        judge = "gpt4_pair" if task.split == "gpt4_pair" else human_judge(rng)
        rows.append(
            {
                "question_id": qid,
                "model_a": model_a,
                "model_b": model_b,
                "winner": str(rng.choice(["model_a", "model_b", "tie"], p=[0.42, 0.42, 0.16])),
                "judge": judge,
                "conversation_a": _mt_conversation(questions[qid], answers[(qid, model_a)]),
                "conversation_b": _mt_conversation(questions[qid], answers[(qid, model_b)]),
                "turn": int(rng.integers(1, 3)),
            }
        )
    table = pa.Table.from_pylist(rows, schema=SCHEMAS["mt_bench_human_judgments"])
    pq.write_table(table, path, compression="snappy")
    texts = [m["content"] for r in rows for m in r["conversation_a"] + r["conversation_b"]]
    return {"text_chars": sum(map(len, texts)), "texts": len(texts)}


def human_judge(rng: np.random.Generator) -> str:
    return f"expert_{rng.integers(40)}" if rng.random() < 0.9 else f"author_{rng.integers(6)}"


@functools.cache
def mt_answers() -> dict[tuple[int, str], tuple[str, str]]:
    """Each model answers each question the same way in every row, as in the real data."""
    factory = TextFactory(SEED + 1)
    keys = [(qid, m) for qid in MT_QUESTION_IDS for m in fixtures.MT_MODELS]
    langs = np.array(["en"] * (2 * len(keys)), dtype=object)
    texts = factory.turns(langs, ASSISTANT)
    return {key: (texts[2 * i], texts[2 * i + 1]) for i, key in enumerate(keys)}


def _mt_conversation(question: tuple[str, str], answer: tuple[str, str]) -> list[dict[str, str]]:
    return [
        {"content": question[0], "role": "user"},
        {"content": answer[0], "role": "assistant"},
        {"content": question[1], "role": "user"},
        {"content": answer[1], "role": "assistant"},
    ]


def _lang_counts(langs: np.ndarray) -> dict[str, int]:
    return {f"lang_{k}": v for k, v in Counter(langs.tolist()).items()}


WRITERS: dict[str, Callable[[TextFactory, FileTask, Path], dict[str, int]]] = {
    "ultrachat": write_ultrachat,
    "ultrachat_200k": write_ultrachat_200k,
    "ultrafeedback": write_ultrafeedback,
    "chatbot_arena_conversations": write_arena,
    "mt_bench_human_judgments": write_mt_bench,
}


# ----------------------------------------------------------------------------- driver


def text_factory(spec: CorpusSpec, seed: int) -> TextFactory | RealTextFactory:
    return RealTextFactory(seed) if spec.text == "real" else TextFactory(seed)


def write_file(spec: CorpusSpec, task: FileTask, root: Path) -> FileReport:
    started = time.perf_counter()
    factory = text_factory(spec, task_seed(spec, task))
    path = root / task.path
    path.parent.mkdir(parents=True, exist_ok=True)
    counts = WRITERS[task.dataset](factory, task, path)
    counts.update({f"pii_{k}": v for k, v in factory.planted.items()})
    return FileReport(
        task.dataset,
        task.split,
        task.path,
        task.rows,
        path.stat().st_size,
        counts.pop("text_chars"),
        counts.pop("texts"),
        round(time.perf_counter() - started, 2),
        counts,
    )


def generate(spec: CorpusSpec, root: Path, workers: int) -> dict[str, Any]:
    """Write every file of the corpus under `root` and its manifest; returns the manifest."""
    root.mkdir(parents=True, exist_ok=True)
    tasks = sorted(plan(spec), key=lambda t: -t.rows)  # biggest first: better packing
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        reports = list(pool.map(write_file, [spec] * len(tasks), tasks, [root] * len(tasks)))
    manifest = {
        "spec": asdict(spec),
        **({"real_pool": pool_sizes()} if spec.text == "real" else {}),
        "seconds": round(time.perf_counter() - started, 1),
        "files": [asdict(r) for r in sorted(reports, key=lambda r: r.path)],
        "totals": totals(reports),
    }
    (root / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return manifest


def totals(reports: list[FileReport]) -> dict[str, Any]:
    by_dataset: dict[str, Counter[str]] = {}
    for r in reports:
        c = by_dataset.setdefault(r.dataset, Counter())
        c.update({"rows": r.rows, "bytes": r.bytes, "text_chars": r.text_chars, "texts": r.texts})
        c.update(r.counts)
    overall: Counter[str] = Counter()
    for c in by_dataset.values():
        overall.update(c)
    return {"datasets": {k: dict(v) for k, v in by_dataset.items()}, "all": dict(overall)}


INCREMENT_TARGETS = ("ultrachat", "ultrachat_200k")


def write_increment(spec: CorpusSpec, root: Path, rows: int, dataset: str) -> FileReport:
    """New rows with fresh content, as one more source file of `dataset`: the original
    UltraChat's train_10.jsonl, or another ultrachat_200k train_sft shard."""
    if dataset == "ultrachat":
        path = f"{REPOS['ultrachat']}/train_{ULTRACHAT_FILES}.jsonl"
        task = FileTask("ultrachat", "train", path, rows, seed_salt="-increment")
    else:
        task = h4_task("train_sft", 1, 2, rows, salt="-increment")
    return write_file(spec, task, root)


def corpus_is_current(root: Path, spec: CorpusSpec) -> bool:
    manifest = root / "manifest.json"
    if not manifest.is_file():
        return False
    recorded = json.loads(manifest.read_text(encoding="utf-8"))
    written = recorded.get("spec") or {}
    if {"text": "templates", **written} != asdict(spec):  # older corpora: templates
        return False
    return spec.text != "real" or recorded.get("real_pool") == pool_sizes()


def corpus_spec(scale: float, ultrachat_scale: float | None, text: str = "templates") -> CorpusSpec:
    """The corpus at `scale`; the original UltraChat at a tenth of it unless told otherwise."""
    if ultrachat_scale is None:
        ultrachat_scale = round(scale / 10, 6)
    return CorpusSpec(scale=scale, ultrachat_scale=ultrachat_scale, text=text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--ultrachat-scale", type=float, default=None)
    parser.add_argument("--text", choices=TEXT_KINDS, default="templates")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--increment-rows",
        type=int,
        default=0,
        help="only write this many new rows, as one more file of --increment-dataset",
    )
    parser.add_argument("--increment-dataset", choices=INCREMENT_TARGETS, default="ultrachat_200k")
    args = parser.parse_args()
    spec = corpus_spec(args.scale, args.ultrachat_scale, args.text)
    if args.increment_rows:
        report = write_increment(spec, args.out, args.increment_rows, args.increment_dataset)
        print(f"increment {report.path}: {report.rows:,} rows, {report.bytes / 1e6:.1f} MB")
        return
    manifest = generate(spec, args.out, args.workers)
    overall = manifest["totals"]["all"]
    print(
        f"corpus {args.out}: {overall['rows']:,} rows, {overall['bytes'] / 1e6:,.1f} MB on disk, "
        f"{overall['text_chars'] / 1e6:,.1f} M text chars in {manifest['seconds']} s"
    )


if __name__ == "__main__":
    main()
