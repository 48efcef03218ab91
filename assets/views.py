"""Training views (sources/views.yaml): one asset per declared view."""

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict

import polars as pl
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from assets.automation import FOLLOW_UPSTREAM
from assets.markdown import bar_chart, preview_markdown
from storage.build_plan import BuildPlan, plan_build
from storage.code_digest import asset_code_digest, settings_digest
from storage.keys import gold_key, view_key
from storage.lake import Lake
from transforms.views import (
    GOLD_SCHEMAS,
    ID_COLUMN,
    SPLIT_COLUMN,
    ViewSpec,
    arrow_schema,
    formatted,
    mixed,
    row_filter,
    selected,
    with_splits,
)

LICENCE_NOTE = {
    "by": "MIT / CC-BY rows only (commercial use with attribution)",
    "by_nc": "includes CC-BY-NC rows: not for commercial models",
}


def view_plan(lake: Lake, spec: ViewSpec, previous: dict | None) -> BuildPlan:
    """The view's build plan (storage/build_plan.py): its settings are its declaration
    and the code that builds it; it follows the gold tables it reads. Only a per-row view
    grows by appending (a mixed or capped view's rows depend on each other)."""
    for table in spec.tables:
        if lake.table(gold_key(table)) is None:
            raise FileNotFoundError(f"gold/{table} has not been materialized")
    recipe = json.dumps(
        {"spec": asdict(spec), "code": asset_code_digest(__file__)}, sort_keys=True, default=str
    )
    plan = plan_build(
        lake,
        previous,
        settings_digest(recipe),
        [gold_key(table) for table in spec.tables],
        required=[COUNTED[name] for name in COUNTED],
    )
    if plan.action == "append" and not spec.per_row:
        return plan.displaced("the view mixes or caps rows: it is built whole")
    return plan


def view_commit(spec: ViewSpec, plan: BuildPlan) -> dict[str, str]:
    """The commit of a view build: the plan's record, the content it names (`inputs`,
    what a release pins), the gold versions read and the declaration."""
    recorded = plan.commit()
    return {
        **recorded,
        "inputs": settings_digest(json.dumps(recorded)),
        "gold_versions": json.dumps({k[1]: v for k, v in plan.versions.items()}, sort_keys=True),
        "declaration": declaration(spec),
    }


def declaration(spec: ViewSpec) -> str:
    """The view's declaration as JSON (what a release diff compares)."""
    described = {k: v for k, v in asdict(spec).items() if k not in ("name", "description")}
    return json.dumps(described, sort_keys=True, default=str)


def view_asset(spec: ViewSpec):
    @asset(
        key=list(view_key(spec.name)),
        group_name="views",
        deps=[AssetKey(["gold", table]) for table in spec.tables],
        kinds={"delta", "polars"},
        automation_condition=FOLLOW_UPSTREAM,
        description=(
            f"{spec.description} Grain: one row per {ID_COLUMN[spec.kind].removesuffix('_id')} "
            f"of {', '.join('gold/' + t for t in spec.tables)}, in splits "
            f"{', '.join(spec.split_names)} (column {SPLIT_COLUMN}, the table's partitions). "
            f"Licence: {LICENCE_NOTE[spec.licence_class]}."
        ),
    )
    def view(context: AssetExecutionContext, lake: Lake) -> MaterializeResult:
        return build_view_table(context, lake, spec)

    return view


BATCH_ROWS = 20_000
COUNTED = {
    "licenses": "license_rows",
    "languages": "languages",
    "datasets": "datasets",
    "splits": "splits",
}
"""ViewTally's counters and the commit metadata keys that record them."""


class ViewTally:
    """Counts of the rows a view takes (before formatting): licences, languages, datasets,
    splits (rows per value of each)."""

    def __init__(self) -> None:
        self.licenses: Counter[str] = Counter()
        self.languages: Counter[str] = Counter()
        self.datasets: Counter[str] = Counter()
        self.splits: Counter[str] = Counter()
        self.preview = pl.DataFrame()

    def add(self, chosen: pl.DataFrame, rows: pl.DataFrame) -> pl.DataFrame:
        self.licenses.update(chosen["license"].to_list())
        self.languages.update(chosen["lang"].to_list())
        self.datasets.update(chosen["dataset"].to_list())
        self.splits.update(rows[SPLIT_COLUMN].to_list())
        if self.preview.height == 0:
            self.preview = rows.drop(SPLIT_COLUMN).head(5)
        return rows

    def merged(self, previous: dict[str, str] | None) -> None:
        """Add the counts an earlier build of the same view recorded (an append)."""
        for name, column in COUNTED.items():
            recorded = json.loads(previous[column]) if previous and column in previous else {}
            getattr(self, name).update(recorded)

    def commit(self, spec: ViewSpec) -> dict[str, str]:
        return {
            "licenses": json.dumps(sorted(self.licenses)),
            "license_rows": json.dumps(dict(self.licenses.most_common())),
            "languages": json.dumps(dict(self.languages.most_common())),
            "datasets": json.dumps(dict(self.datasets.most_common())),
            "splits": json.dumps({s: self.splits.get(s, 0) for s in spec.split_names}),
        }


def build_view_table(
    context: AssetExecutionContext, lake: Lake, spec: ViewSpec
) -> MaterializeResult:
    """Keep the view when its declaration, code and gold tables are unchanged; append the
    rows of a per-row view's gold tables that only gained rows; else rebuild it (a batch
    of gold rows at a time for per-row views)."""
    key = view_key(spec.name)
    existing = lake.table(key)
    previous = existing.history(1)[0] if existing is not None else None
    plan = view_plan(lake, spec, previous)
    if plan.unchanged:
        context.log.info(f"views/{spec.name}: declaration, code and gold tables unchanged")
        return MaterializeResult(
            metadata={"status": "unchanged", "delta_version": existing.version()}  # type: ignore[union-attr]
        )
    context.log.info(f"views/{spec.name}: {plan.action} ({plan.reason})")
    versions = {k[1]: v for k, v in plan.versions.items()}
    tally = ViewTally()
    if plan.action == "append":
        batches = (
            batch
            for table, files in plan.added.items()
            for batch in lake.read_added(table, files, BATCH_ROWS)
        )
        tally.merged(previous)
    elif spec.per_row:  # the filters pushed into the scan: only the view's rows are read
        batches = (
            batch
            for table in spec.tables
            for batch in lake.scan(gold_key(table), versions[table])
            .filter(row_filter(spec))
            .collect_batches(chunk_size=BATCH_ROWS)
        )
    else:
        whole = [
            lake.scan(gold_key(table), versions[table]).filter(row_filter(spec)).collect()
            for table in spec.tables
        ]
        batches = iter([mixed(pl.concat(whole, how="diagonal_relaxed"), spec)])

    def rows() -> Iterator[pl.DataFrame]:
        empty = pl.DataFrame(schema=GOLD_SCHEMAS[spec.kind])
        yield formatted(with_splits(empty, spec), spec)
        for batch in batches:
            chosen = selected(batch, spec)
            yield tally.add(chosen, formatted(with_splits(chosen, spec), spec))

    commit = view_commit(spec, plan)  # completed with the counts once every row is spooled
    written = lake.write_batches(
        key,
        rows(),
        partition_by=(SPLIT_COLUMN,),
        commit_metadata=commit,
        before_commit=lambda: commit.update(tally.commit(spec)),
        append=plan.action == "append",
        arrow_schema=arrow_schema(spec),
    )
    if not tally.splits:
        context.log.warning(
            f"views/{spec.name} holds no rows: no gold row matches its datasets, languages, "
            "policies and filters"
        )
    return MaterializeResult(
        metadata={
            "status": "appended" if plan.action == "append" else "rebuilt",
            "rows": sum(tally.splits.values()),
            **{f"rows_{split}": tally.splits.get(split, 0) for split in spec.split_names},
            "by_dataset": MetadataValue.json(dict(tally.datasets.most_common())),
            "languages": MetadataValue.md(bar_chart(tally.languages)),
            "licenses": MetadataValue.json(sorted(tally.licenses)),
            "format": spec.format,
            "delta_version": written.version,
            "path": MetadataValue.path(written.uri),
            "preview": MetadataValue.md(preview_markdown(tally.preview)),
        }
    )


def view_assets(views: dict[str, ViewSpec]) -> list:
    return [view_asset(spec) for spec in views.values()]
