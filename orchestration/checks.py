"""Asset checks: what must hold of a table before anything is built on it.

Blocking (ERROR, downstream is not built on a failure): no PII in silver or gold (a
re-scan with the default engine settings, whatever a run was configured with), unique
ids, the schema contract of every gold table, licence purity of every table named for a
licence class, and reconciliation of silver against bronze. Warnings: a sudden drop in
rows, and a shift in the language distribution, against the table's previous version.
Every result carries the numbers it judged.
"""

import json
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import polars as pl
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    AssetRecordsFilter,
    asset_check,
)

from assets.lake import Lake
from assets.silver import (
    COMPARISONS_TABLE,
    DIALOGUES_TABLE,
    cached_analysis,
    transforms_digest,
)
from transforms.binarize import PAIR_SCHEMA
from transforms.catalogue import LICENSE_CLASS_BY, license_class, split_license
from transforms.gold import PROMPT_SCHEMA, SFT_SCHEMA
from transforms.pii import PiiSettings
from transforms.scrub import TextField, distinct_texts
from transforms.text_engines import settings_fingerprint

ROW_DROP_WARNING = 0.5  # warn when a table loses more than half its rows at once
LANGUAGE_SHIFT_WARNING = 0.25  # total variation distance between language distributions
CHECK_BATCH_ROWS = 10_000  # rows a re-scan holds in memory at a time


@dataclass(frozen=True)
class Contract:
    """What a checked table promises: its id, its text fields, and (gold) its schema."""

    key: tuple[str, str]
    ids: tuple[str, ...]
    fields: tuple[TextField, ...]
    schema: pl.Schema | None = None


MESSAGES = (TextField("messages", "content"),)
CONTRACTS = [
    Contract(("silver", "dialogues"), ("dataset", "conversation_id"), DIALOGUES_TABLE.fields),
    Contract(("silver", "conversations"), ("conversation_id",), MESSAGES),
    Contract(("silver", "comparisons"), ("dataset", "comparison_id"), COMPARISONS_TABLE.fields),
    *(
        Contract(("gold", f"sft_{c}"), ("example_id",), MESSAGES, SFT_SCHEMA)
        for c in ("by", "by_nc")
    ),
    *(
        Contract(
            ("gold", f"prefs_{c}"),
            ("pair_id",),
            (
                TextField("prompt", "content"),
                TextField("chosen", "content"),
                TextField("rejected", "content"),
            ),
            PAIR_SCHEMA,
        )
        for c in ("by", "by_nc")
    ),
    Contract(("gold", "prompts_by"), ("prompt_id",), (TextField("prompt"),), PROMPT_SCHEMA),
]
PARTITIONED_BY_DATASET = {("silver", "dialogues"), ("silver", "comparisons")}
RECONCILED = PARTITIONED_BY_DATASET
WATCHED_LANGUAGES = {("silver", "conversations"), ("silver", "comparisons")}


def lake_checks() -> list[AssetChecksDefinition]:
    checks = []
    for contract in CONTRACTS:
        checks += [
            _check(contract.key, "no_pii", True, lambda c, lake, k=contract: no_pii(c, lake, k)),
            _check(
                contract.key, "unique_ids", True, lambda c, lake, k=contract: unique_ids(c, lake, k)
            ),
            _check(
                contract.key,
                "row_count_drop",
                False,
                lambda c, lake, k=contract.key: row_drop(lake, k),
            ),
        ]
        if contract.schema is not None:
            checks.append(
                _check(
                    contract.key,
                    "schema_contract",
                    True,
                    lambda c, lake, k=contract: schema(lake, k),
                )
            )
        if contract.key[1].endswith(("_by", "_by_nc")):
            checks.append(
                _check(
                    contract.key,
                    "licence_purity",
                    True,
                    lambda c, lake, k=contract.key: purity(lake, k),
                )
            )
        if contract.key in RECONCILED:
            checks.append(
                _check(
                    contract.key,
                    "reconciled",
                    True,
                    lambda c, lake, k=contract.key: reconciled(c, lake, k),
                )
            )
        if contract.key in WATCHED_LANGUAGES:
            checks.append(
                _check(
                    contract.key,
                    "language_drift",
                    False,
                    lambda c, lake, k=contract.key: drift(lake, k),
                )
            )
    return checks


def _check(
    key: tuple[str, str],
    name: str,
    blocking: bool,
    judge: Callable[[AssetCheckExecutionContext, Lake], AssetCheckResult],
) -> AssetChecksDefinition:
    @asset_check(asset=AssetKey(list(key)), name=name, blocking=blocking, description=judge.__doc__)
    def _run(context: AssetCheckExecutionContext, lake: Lake) -> AssetCheckResult:
        result = judge(context, lake)
        severity = AssetCheckSeverity.ERROR if blocking else AssetCheckSeverity.WARN
        return AssetCheckResult(passed=result.passed, severity=severity, metadata=result.metadata)

    return _run


def run_slice(
    context: AssetCheckExecutionContext, lake: Lake, key: tuple[str, str]
) -> pl.LazyFrame:
    """The rows a check judges: in a run of one partition (a dataset) of a partitioned
    silver table, that dataset's slice; otherwise the whole table."""
    frame = lake.scan(key)
    where = slice_filter(context, key)
    for column, value in where.items():
        frame = frame.filter(pl.col(column) == value)
    return frame


def slice_filter(context: AssetCheckExecutionContext, key: tuple[str, str]) -> dict[str, str]:
    partition = context.run.tags.get("dagster/partition")
    if partition is not None and key in PARTITIONED_BY_DATASET:
        return {"dataset": partition}
    return {}


def no_pii(context: AssetCheckExecutionContext, lake: Lake, contract: Contract) -> AssetCheckResult:
    """Re-scan every text with the default PII settings: nothing may be found.

    The table is read in batches of CHECK_BATCH_ROWS rows, so memory stays bounded. When
    this check passed on an earlier version of the same rows (same slice, same engine and
    transforms) and the table has only gained rows since, only those are scanned: the
    rows judged before are still there, unchanged."""
    where = slice_filter(context, contract.key)
    table = lake.table(contract.key)
    if table is None:
        raise FileNotFoundError(lake.uri(contract.key))
    version = table.version()
    judgement = {
        "scope": json.dumps(where, sort_keys=True),
        "engine": f"{settings_fingerprint(PiiSettings())}:{transforms_digest()}",
    }
    judged = last_passed_version(context, contract.key, "no_pii", judgement)
    files = lake.added_files(contract.key, judged) if judged is not None else None
    if files is None:
        batches = lake.batches(contract.key, CHECK_BATCH_ROWS, where=where, version=version)
        scanned = "every row"
    else:
        batches = lake.read_added(contract.key, files, CHECK_BATCH_ROWS, where=where)
        scanned = f"rows added since version {judged} (judged then)"
    texts_scanned = texts_with_pii = 0
    types: Counter[str] = Counter()
    stats: Counter[str] = Counter()
    for batch in batches:
        texts = distinct_texts(batch, contract.fields)
        results, batch_stats = cached_analysis(
            context.log, lake, texts, PiiSettings(), os.cpu_count() or 1
        )
        found = results.filter(pl.col("findings").list.len() > 0)
        texts_scanned += texts.len()
        texts_with_pii += found.height
        types.update(f["entity_type"] for row in found["findings"].to_list() for f in row)
        stats.update(batch_stats)
    return AssetCheckResult(
        passed=texts_with_pii == 0,
        metadata={
            "scanned": scanned,
            "texts_scanned": texts_scanned,
            "texts_with_pii": texts_with_pii,
            **{f"found_{t.lower()}": n for t, n in sorted(types.items())},
            **stats,
            "delta_version": version,
            **judgement,
        },
    )


def last_passed_version(
    context: AssetCheckExecutionContext,
    key: tuple[str, str],
    check: str,
    judgement: dict[str, str],
    history: int = 50,
) -> int | None:
    """The table version the newest passing run of `check` judged under the same
    `judgement` (its metadata: scope, engine), from this instance's history; None if none."""
    records = context.instance.event_log_storage.get_asset_check_execution_history(
        AssetCheckKey(AssetKey(list(key)), check), limit=history
    )
    for record in records:
        evaluation = record.event.asset_check_evaluation if record.event else None
        if evaluation is None or not evaluation.passed:
            continue
        metadata = {k: v.value for k, v in evaluation.metadata.items()}
        if all(metadata.get(k) == v for k, v in judgement.items()) and isinstance(
            metadata.get("delta_version"), int
        ):
            return metadata["delta_version"]
    return None


def unique_ids(
    context: AssetCheckExecutionContext, lake: Lake, contract: Contract
) -> AssetCheckResult:
    """Every row's id is unique."""
    frame = run_slice(context, lake, contract.key).select(contract.ids).collect()
    duplicated = frame.height - frame.unique().height
    return AssetCheckResult(
        passed=duplicated == 0,
        metadata={"rows": frame.height, "duplicated_ids": duplicated, "id": "+".join(contract.ids)},
    )


def schema(lake: Lake, contract: Contract) -> AssetCheckResult:
    """The table has exactly the declared columns and types, in order."""
    actual = lake.scan(contract.key).collect_schema()
    expected = contract.schema or pl.Schema()
    differences = [
        f"{name}: {actual.get(name)} != {dtype}"
        for name, dtype in expected.items()
        if actual.get(name) != dtype
    ] + [f"{name}: not in the contract" for name in actual if name not in expected]
    return AssetCheckResult(
        passed=not differences and list(actual) == list(expected),
        metadata={"columns": len(actual), "differences": "; ".join(differences) or "none"},
    )


def purity(lake: Lake, key: tuple[str, str]) -> AssetCheckResult:
    """Every row is of the table's licence class; a `_by` table names no NC licence."""
    expected = "by_nc" if key[1].endswith("_by_nc") else LICENSE_CLASS_BY
    frame = lake.scan(key).select("license", "license_class").collect()
    wrong_class = frame.filter(pl.col("license_class") != expected).height
    recomputed = sum(
        license_class(expr) != expected for expr in frame["license"].unique().to_list()
    )
    nc_rows = 0
    if expected == LICENSE_CLASS_BY:
        nc_rows = frame.filter(
            pl.col("license").map_elements(
                lambda expr: any("-NC" in spdx for spdx in split_license(expr)),
                return_dtype=pl.Boolean,
            )
        ).height
    return AssetCheckResult(
        passed=wrong_class == 0 and recomputed == 0 and nc_rows == 0,
        metadata={
            "rows": frame.height,
            "rows_of_other_class": wrong_class,
            "licences_of_other_class": recomputed,
            "rows_naming_nc_licence": nc_rows,
            "licences": ", ".join(sorted(frame["license"].unique().to_list())),
        },
    )


def reconciled(
    context: AssetCheckExecutionContext, lake: Lake, key: tuple[str, str]
) -> AssetCheckResult:
    """Per dataset: bronze rows = silver rows + duplicates dropped + rows quarantined.

    In a run of one partition, that dataset is judged; otherwise every dataset whose
    materialization this instance recorded (the dropped counts come from its metadata).
    """
    rows = run_slice(context, lake, key)
    silver_rows = dict(rows.group_by("dataset").len().collect().iter_rows())
    quarantine = lake.scan(("silver", "quarantine")).filter(pl.col("table") == "/".join(key))
    quarantined = dict(quarantine.group_by("dataset").len().collect().iter_rows())
    partition = context.run.tags.get("dagster/partition")
    datasets = {partition} if partition else silver_rows.keys() | quarantined.keys()
    problems, judged = [], {}
    for dataset in sorted(datasets):
        meta = latest_metadata(context, key, dataset)
        if not meta:
            judged[dataset] = "no materialization recorded: not judged"
            continue
        bronze = lake.scan(("bronze", dataset)).select(pl.len()).collect().item()
        dropped = sum(v for k, v in meta.items() if k.startswith("dropped_"))
        out, rejected = silver_rows.get(dataset, 0), quarantined.get(dataset, 0)
        judged[dataset] = (
            f"{bronze} bronze = {out} rows + {dropped} dropped + {rejected} quarantined"
        )
        if bronze != out + dropped + rejected:
            problems.append(dataset)
    return AssetCheckResult(
        passed=not problems, metadata={**judged, "unreconciled": ", ".join(problems) or "none"}
    )


def latest_metadata(
    context: AssetCheckExecutionContext, key: tuple[str, str], partition: str
) -> dict:
    records = context.instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey(list(key)), asset_partitions=[partition]), limit=1
    ).records
    if not records:
        return {}
    return {k: v.value for k, v in records[0].asset_materialization.metadata.items()}


def previous_and_current(
    lake: Lake, key: tuple[str, str], columns: Sequence[str]
) -> tuple[pl.DataFrame | None, pl.DataFrame]:
    table = lake.table(key)
    current = lake.scan(key).select(columns).collect()
    if table is None or table.version() == 0:
        return None, current
    return lake.scan(key, version=table.version() - 1).select(columns).collect(), current


def row_drop(lake: Lake, key: tuple[str, str]) -> AssetCheckResult:
    """Warn when a dataset lost more than half of its rows since the table's previous version."""
    previous, current = previous_and_current(lake, key, ["dataset"])
    now = Counter(current["dataset"].to_list())
    before = Counter(previous["dataset"].to_list()) if previous is not None else now
    ratios = {d: now.get(d, 0) / n for d, n in before.items() if n}
    dropped = sorted(d for d, ratio in ratios.items() if ratio < ROW_DROP_WARNING)
    return AssetCheckResult(
        passed=not dropped,
        metadata={
            "rows": current.height,
            "rows_before": sum(before.values()),
            **{f"ratio_{d}": round(r, 4) for d, r in sorted(ratios.items())},
            "datasets_dropping": ", ".join(dropped) or "none",
        },
    )


def drift(lake: Lake, key: tuple[str, str]) -> AssetCheckResult:
    """Warn when a dataset's language distribution moved (total variation distance) since
    the table's previous version."""
    previous, current = previous_and_current(lake, key, ["dataset", "lang"])
    distances = {}
    if previous is not None:
        for dataset in set(previous["dataset"]) & set(current["dataset"]):
            now = _shares(current.filter(pl.col("dataset") == dataset))
            before = _shares(previous.filter(pl.col("dataset") == dataset))
            languages = now.keys() | before.keys()
            distances[dataset] = 0.5 * sum(
                abs(now.get(k, 0.0) - before.get(k, 0.0)) for k in languages
            )
    shifted = sorted(d for d, distance in distances.items() if distance > LANGUAGE_SHIFT_WARNING)
    top = sorted(_shares(current).items(), key=lambda item: -item[1])[:5]
    return AssetCheckResult(
        passed=not shifted,
        metadata={
            **{f"distance_{d}": round(v, 4) for d, v in sorted(distances.items())},
            "datasets_shifted": ", ".join(shifted) or "none",
            "top_languages_now": ", ".join(f"{k} {v:.1%}" for k, v in top),
        },
    )


def _shares(frame: pl.DataFrame) -> dict[str, float]:
    counts = Counter(frame["lang"].to_list())
    total = sum(counts.values()) or 1
    return {lang: n / total for lang, n in counts.items()}
