"""What every gold asset shares: the config, the build plan of a gold table, its
decontamination index, and writing a table with the metadata users read (rows per
dataset, languages, licences and attribution). Defines no assets."""

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl
from dagster import AssetKey, AssetSpec, Config, MaterializeResult, MetadataValue

import storage.minhash
from assets.automation import FOLLOW_UPSTREAM
from assets.markdown import bar_chart, preview_markdown
from storage.build_plan import BuildPlan, plan_build
from storage.code_digest import asset_code_digest, settings_digest
from storage.keys import COMPARISONS, CONVERSATIONS
from storage.lake import BENCHMARKS_DIR, AddedFile, Lake, TableWrite, load_benchmarks
from transforms.arena_filters import DEFAULT_POLICIES
from transforms.binarize import MT_BENCH_POSITION_POLICY
from transforms.catalogue import DatasetSpec
from transforms.decontaminate import JUDGMENTS_BENCHMARK, BenchmarkIndex, benchmark_index
from transforms.gold import decontamination_metadata, evaluation_datasets, evaluation_questions
from transforms.policies import BinarizeSettings
from transforms.views import ViewSpec

LICENCE_CLASSES = ("by", "by_nc")
GOLD_ASSET_MODULES = ("tables", "prefs", "sft", "prompts")
GOLD_MODULES = tuple(
    str(path)
    for path in (
        *(Path(__file__).with_name(f"gold_{name}.py") for name in GOLD_ASSET_MODULES),
        Path(storage.minhash.__file__),
    )
)
"""The code of every gold table: these modules and the transforms they use."""


def gold_spec(key: Sequence[str], inputs: Sequence[tuple[str, str]], description: str) -> AssetSpec:
    """A gold table's spec: built from `inputs` (silver tables) when they change."""
    return AssetSpec(
        list(key),
        group_name="gold",
        deps=[AssetKey(list(table)) for table in inputs],
        automation_condition=FOLLOW_UPSTREAM,
        kinds={"delta", "polars"},
        description=description,
    )


class GoldConfig(Config):
    """How training views are made; defaults reproduce the well-known recipes."""

    batch_rows: int = 10_000
    """Conversations processed at a time (memory is bounded by one batch)."""
    ultrafeedback_policies: list[str] = ["max_overall_random_other"]
    """Any of max_overall_random_other, max_mean_rating_drop_ties, all_pairs_margin; the
    policies a declared view reads (sources/views.yaml) are built too."""
    policies: list[str] = []
    """More policies to build, for any dataset that declares them (sources/catalogue.yaml
    `policies`, e.g. oasst_rank_pairs_drop_ties); a dataset none of whose declared
    policies is asked for uses its first."""
    seed: int = 42
    """Seed of every random pick (per prompt)."""
    exclude_sources: list[str] = ["truthful_qa"]
    """UltraFeedback prompt sources left out (the reference recipe drops truthful_qa)."""
    margin: float = 1.0
    """all_pairs_margin: the smallest overall_score difference that makes a pair."""
    fix_ultrafeedback_scores: bool = True
    """Apply UltraFeedback's authors' overall_score correction (a 10 whose aspect ratings
    average <= 2 was a critique score of 1) before binarizing."""
    arena_filters: list[str] = list(DEFAULT_POLICIES)
    """Arena votes left out of every training view (kept in gold/arena_filtered): any of
    short_prompt, frequent_prompt, frequent_prompt_cap, blocked_word, blocked_model,
    moderation_flagged, toxic_chat_flagged (transforms/arena_filters.py)."""
    mt_bench_policy: str = MT_BENCH_POSITION_POLICY
    """How MT-bench votes become pairs (with include_mt_bench): mt_bench_majority_drop_ties
    or mt_bench_position_consistent (GPT-4 verdicts that flip with the answer order are
    ties)."""
    decontaminate: bool = True
    """Remove examples whose user turns match a benchmark prompt (the pinned lists in
    sources/benchmarks/: MT-bench, Arena-Hard, TruthfulQA, and the ingested MT-bench
    judgments' questions)."""
    keep_benchmark_prompts_in: list[str] = []
    """Gold tables that opt out of decontamination (e.g. ["prompts_by"])."""
    ngram: int = 13
    """Length (words) of the overlap that counts as a match."""
    min_words: int = 8
    """A benchmark turn of min_words..ngram-1 words matches when it occurs whole inside
    a user turn; shorter ones only when the turn equals them."""
    near_duplicates: bool = True
    """Collapse near-duplicate SFT dialogues (prompt side and answer side both alike) to
    one survivor per cluster; what was merged is in gold/near_duplicates."""
    near_duplicate_threshold: float = 0.5
    """Estimated Jaccard similarity of word pairs that both sides must reach."""
    include_mt_bench: bool = False
    """Evaluation data (MT-bench; the catalogue's `evaluation: true`): its pairs and
    dialogues enter training views only if set."""
    force: bool = False
    """Rebuild every table even when its inputs are unchanged since it was last written."""

    def recipe(self) -> dict:
        """The settings that decide a gold table's rows (not how they are computed)."""
        return self.model_dump(exclude={"batch_rows", "force"})

    def binarize_settings(self) -> BinarizeSettings:
        return BinarizeSettings(self.seed, tuple(self.exclude_sources), self.margin)

    def wanted_policies(self, views: Mapping[str, ViewSpec]) -> list[str]:
        """Every policy asked for: by this config and by the declared views."""
        from_views = [p for view in views.values() for p in view.policies]
        asked = [*self.ultrafeedback_policies, self.mt_bench_policy, *self.policies, *from_views]
        return list(dict.fromkeys(asked))


@dataclass(frozen=True)
class GoldPlan:
    """What a gold table needs (storage/build_plan.py): nothing, the rows of the
    conversations added since it was built (`files`), or a rebuild; and the running
    decontamination counts an append adds to."""

    build: BuildPlan
    decontaminated_before: str = "{}"
    """The table's rows removed by decontamination so far (JSON {"dataset/benchmark": n},
    from its last commit): what an appending build adds its own to."""

    @property
    def rebuild(self) -> bool:
        return self.build.rebuild

    @property
    def unchanged(self) -> bool:
        return self.build.unchanged

    @property
    def files(self) -> list[AddedFile]:
        return self.build.added.get(CONVERSATIONS, [])

    def commit(self) -> dict[str, str]:
        return self.build.commit()

    def displaced(self, reason: str) -> "GoldPlan":
        """The same build as a rebuild (storage/build_plan.py `BuildPlan.displaced`)."""
        return replace(self, build=self.build.displaced(reason))

    def decontaminated(self, removed: Counter[tuple[str, str]]) -> dict[str, str]:
        """Commit metadata: every row decontaminated out of the table as it will stand
        (this build's, plus the earlier builds' when appending), per dataset/benchmark."""
        totals = Counter() if self.rebuild else Counter(json.loads(self.decontaminated_before))
        totals.update({f"{dataset}/{benchmark}": n for (dataset, benchmark), n in removed.items()})
        return {"decontaminated": json.dumps(dict(sorted(totals.items())))}


def gold_plan(
    lake: Lake,
    name: str,
    config: GoldConfig,
    follows_conversations: bool,
    catalogue: Mapping[str, DatasetSpec],
) -> GoldPlan:
    """The build plan of gold table `name`: its settings are its recipe, silver/comparisons'
    version (a changed comparison rebuilds), the code of its transforms, the pinned
    benchmarks and what the catalogue declares about gold; tables built from
    silver/conversations follow it, so the conversations it gained are all that is new
    unless they were rewritten."""
    comparisons = lake.table(COMPARISONS)
    described = json.dumps(
        {
            "recipe": config.recipe(),
            "comparisons_version": comparisons.version() if comparisons else -1,
            "transforms": asset_code_digest(*GOLD_MODULES),
            "declarations": gold_declarations(catalogue),
            "benchmarks": benchmarks_digest(),
        },
        sort_keys=True,
    )
    settings = settings_digest(described)
    table = lake.table(("gold", name))
    previous = table.history(1)[0] if table is not None else None
    build = plan_build(
        lake,
        previous,
        settings,
        [CONVERSATIONS] if follows_conversations else [],
        force=config.force,
        required=("decontaminated",),
    )
    return GoldPlan(build, (previous or {}).get("decontaminated", "{}"))


def benchmarks_digest() -> str:
    """sha256 over the pinned benchmark lists: editing one rebuilds the gold tables."""
    digest = hashlib.sha256()
    for path in sorted(BENCHMARKS_DIR.glob("*.jsonl")):
        digest.update(path.name.encode("utf-8"))
        digest.update(path.read_bytes())
    return digest.hexdigest()


def decontamination_index(
    lake: Lake, config: GoldConfig, name: str, catalogue: Mapping[str, DatasetSpec]
) -> BenchmarkIndex | None:
    """The index gold table `name` is decontaminated against (None when it opts out):
    every pinned benchmark list, plus the questions of the ingested evaluation datasets."""
    if not config.decontaminate or name in config.keep_benchmark_prompts_in:
        return None
    evaluation = evaluation_datasets(catalogue)
    rows = lake.scan(COMPARISONS).filter(pl.col("dataset").is_in(evaluation)).collect()
    questions = [q for dataset in evaluation for q in evaluation_questions(rows, dataset)]
    return benchmark_index(
        {**load_benchmarks(BENCHMARKS_DIR), JUDGMENTS_BENCHMARK: questions},
        config.ngram,
        config.min_words,
    )


def gold_declarations(catalogue: Mapping[str, DatasetSpec]) -> dict:
    """What the catalogue says about gold, per dataset (a change rebuilds the tables)."""
    return {
        key: [list(spec.gold), list(spec.policies), spec.evaluation, spec.vote_filters]
        for key, spec in catalogue.items()
    }


def unchanged_result(lake: Lake, name: str, plan: GoldPlan) -> MaterializeResult:
    """A materialization that says the table was kept as it is (no new version), so that
    what follows it in the same run (the release) still runs."""
    key = ("gold", name)
    return MaterializeResult(
        asset_key=AssetKey(list(key)),
        metadata={
            "status": "unchanged",
            "settings": plan.build.settings,
            "delta_version": lake.version(key),
            "new_version": False,
            "path": MetadataValue.path(lake.uri(key)),
        },
    )


class GoldTally:
    """What a gold table's rows add up to (for its metadata), counted batch by batch."""

    def __init__(self, preview: list[str]) -> None:
        self.columns = preview
        self.rows = 0
        self.datasets: Counter[str] = Counter()
        self.languages: Counter[str] = Counter()
        self.sources: Counter[tuple[str, str]] = Counter()
        self.preview = pl.DataFrame()
        self.policies: Counter[str] = Counter()

    def add(self, frame: pl.DataFrame) -> pl.DataFrame:
        self.rows += frame.height
        self.datasets.update(frame["dataset"].to_list())
        self.languages.update(frame["lang"].to_list())
        self.sources.update(frame.select("dataset", "license").iter_rows())
        if "policy" in frame.columns:
            self.policies.update(frame["policy"].to_list())
        if self.preview.height == 0:
            self.preview = frame.select(self.columns).head(5)
        return frame

    @classmethod
    def of_table(cls, lake: Lake, name: str, preview: list[str]) -> "GoldTally":
        """The tally of a whole gold table (after rows were appended), from the columns it
        counts, read in batches."""
        tally = cls(preview)
        columns = sorted({"dataset", "lang", "license", *preview})
        for batch in lake.batches(("gold", name), 100_000, columns=columns):
            tally.add(batch)
        return tally

    def result(
        self, name: str, written: TableWrite, extra: dict, attribution: str
    ) -> MaterializeResult:
        return MaterializeResult(
            asset_key=AssetKey(["gold", name]),
            metadata={
                "rows": self.rows,
                **extra,
                **({"by_policy": MetadataValue.json(dict(self.policies))} if self.policies else {}),
                "by_dataset": MetadataValue.json(dict(self.datasets)),
                "languages": MetadataValue.md(bar_chart(self.languages)),
                "attribution": MetadataValue.md(attribution),
                "delta_version": written.version,
                "new_version": written.committed,
                "path": MetadataValue.path(written.uri),
                "preview": MetadataValue.md(preview_markdown(self.preview.head(5))),
            },
        )


def attributions(sources: Counter[tuple[str, str]], catalogue: Mapping[str, DatasetSpec]) -> str:
    """Markdown: every source dataset in the table, with its Hub repo and licences."""
    lines = ["| dataset | source | licence | rows |", "|---|---|---|---|"]
    for (dataset, licence), n in sorted(sources.items()):
        url = f"https://huggingface.co/datasets/{catalogue[dataset].hub_repo}"
        lines.append(f"| {dataset} | {url} | {licence} | {n} |")
    return "\n".join(lines)


def write_gold_table(
    lake: Lake,
    catalogue: Mapping[str, DatasetSpec],
    name: str,
    frames: Iterable[pl.DataFrame],
    preview: list[str],
    plan: GoldPlan,
    removed: Counter[tuple[str, str]],
    extra: dict | None = None,
    before_commit: Callable[[], None] | None = None,
) -> MaterializeResult:
    """Write a gold table (whole, or append the plan's new rows) and describe it;
    `removed` (rows decontaminated, per dataset and benchmark) is complete once
    `frames` is read."""
    tally = GoldTally(preview)
    commit = plan.commit()  # completed with the decontamination counts once read

    def completed() -> None:
        commit.update(plan.decontaminated(removed))
        if before_commit is not None:
            before_commit()

    written = lake.write_batches(
        ("gold", name),
        (tally.add(f) for f in frames),
        commit_metadata=commit,
        append=not plan.rebuild,
        before_commit=completed,
    )
    extra = {**(extra or {}), **decontamination_metadata(removed)}
    if plan.rebuild:
        extra = {"status": "rebuilt", **extra}
    else:
        extra = {"status": "appended", "rows_appended": tally.rows, **extra}
        tally = GoldTally.of_table(lake, name, preview)
    return tally.result(name, written, extra, attributions(tally.sources, catalogue))
