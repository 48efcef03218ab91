"""Asset checks: what must hold of a table before anything is built on it.

Blocking (ERROR, downstream is not built on a failure): no PII in silver or gold (an
independent, broad detector reviews the text and the scrubber must remove planted
canaries; see `no_pii`), unique ids, the schema contract of every gold table, licence
purity of every table named for a licence class, and reconciliation of silver against
bronze. Warnings: a sudden drop in rows, and a shift in the language distribution, against
the table's previous version. Every result carries the numbers it judged.
"""

import hashlib
import json
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import polars as pl
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    AssetRecordsFilter,
    MetadataValue,
    asset_check,
)

from orchestration.catalogue import load_catalogue
from storage.build_plan import SETTINGS, plan_build, version_key
from storage.keys import PII_REVIEW
from storage.lake import Lake
from storage.review_cache import CachedReview
from storage.silver_tables import COMPARISONS_TABLE, DIALOGUES_TABLE, SilverConfig
from transforms import pii_review
from transforms.binarize import PAIR_SCHEMA
from transforms.catalogue import LICENSE_CLASS_BY, license_class, split_license
from transforms.gold import PROMPT_SCHEMA, SFT_SCHEMA
from transforms.pii import PERSON_WRITTEN, PiiSettings
from transforms.pii_review import (
    CANARIES,
    LOCATED_HIT_SCHEMA,
    canary_hosts,
    plant_canaries,
    review_frame,
    surviving_canaries,
)
from transforms.scrub import (
    TextField,
    findings_series,
    scrub_frame,
    settle_redactions,
)
from transforms.text_engines import find_pii, redaction_results

ROW_DROP_WARNING = 0.5  # warn when a table loses more than half its rows at once
LANGUAGE_SHIFT_WARNING = 0.25  # total variation distance between language distributions
CHECK_BATCH_ROWS = 10_000  # rows a review holds in memory at a time

# no_pii, the review. A hit counts from "cue-backed" up (a phone number, SSN or public IP
# with its cue word, a name after "my name is" / "Name:" / "Dear", an international phone
# number, an e-mail address, a checksum-valid card or IBAN); shape-only hits (0.4) are
# counted in `review_hits_below_threshold` and not judged.
REVIEW_MIN_CONFIDENCE = 0.5
# The check fails when a table's counted hits exceed REVIEW_MAX_HITS or REVIEW_MAX_RATE of
# its texts, whichever allows more: none on a table of fewer than 100,000 texts (the
# bundled samples, scrubbed with silver's defaults, show none at all: every planted value
# is caught, and the look-alikes they plant score below the threshold), and 1 in 100,000
# texts beyond, so that the broad detector's rare false positives on a large corpus are
# listed in silver/pii_review for a person to read rather than blocking every build, while
# a scrubber that lets a kind of PII through leaves far more than that.
REVIEW_MAX_HITS = 0
REVIEW_MAX_RATE = 1e-5
REVIEW_SAMPLE_HITS = 10  # hits shown in the check's metadata (the table holds them all)
# no_pii, the canaries: planted in CANARY_ROWS rows of the slice (the first of its first
# CANARY_POOL_ROWS rows whose texts total at most CANARY_MAX_CHARS characters).
CANARY_ROWS = 4
CANARY_POOL_ROWS = 64
CANARY_MAX_CHARS = 20_000
# Text fields without roles that a model wrote: a name there is not personal data (the
# lake's authorship rule), so the review does not count it; turns with roles say it.
MODEL_WRITTEN_FIELDS = frozenset({"response_a", "response_b", "completions"})
# Silver's steps that run the PII engine, whose run config names the scrubber's settings.
SCRUBBING_OPS = ("silver__dialogues", "silver__comparisons")
# Where the review's hits go: defined here, not in assets/, because only this check writes it.
PII_REVIEW_SCHEMA = pl.Schema(
    {"table": pl.String, **LOCATED_HIT_SCHEMA, "checked_version": pl.Int64}
)


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
    Contract(("silver", "conversations"), ("conversation_id",), DIALOGUES_TABLE.fields),
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
    """No PII a second, independent detector can see, and a scrubber that removes planted
    canaries.

    1. Review: every text (or, as below, every text added since the last pass) is read by
       transforms/pii_review.py, a broad regex/checksum detector sharing nothing with
       silver's Presidio scrubber. Hits at or above REVIEW_MIN_CONFIDENCE are counted by
       type and written, without their values, to silver/pii_review (table, row key, field,
       turn, offsets, type, confidence, checked version); a sample is in this result. The
       check fails when the table's hits exceed REVIEW_MAX_HITS or REVIEW_MAX_RATE of its
       texts, whichever allows more.
    2. Canaries: made-up values (an e-mail, a phone number, a card number, a name) are
       planted in a scratch copy of a few of the table's rows, in memory, and put through
       silver's scrubbing path with the PII settings of this run's silver step (silver's
       defaults when the run has none). The check fails if any survives.

    The table is read in batches of CHECK_BATCH_ROWS rows, so memory holds a batch and the
    hits. When this check passed on an earlier version of the same rows (same slice,
    detector and thresholds) and the table has only gained rows since, only those are
    reviewed, and the counts judged are those of that pass plus theirs."""
    where = slice_filter(context, contract.key)
    table = lake.table(contract.key)
    if table is None:
        raise FileNotFoundError(lake.uri(contract.key))
    version = table.version()
    judgement = {
        "scope": json.dumps(where, sort_keys=True),
        "detector": detector_digest(),
        "thresholds": f"{REVIEW_MIN_CONFIDENCE}:{REVIEW_MAX_HITS}:{REVIEW_MAX_RATE}",
    }
    carried = ("table_texts", "table_hits")
    judged = last_pass(context, contract.key, "no_pii", judgement, carried)
    settings = json.dumps(judgement, sort_keys=True)
    plan = plan_build(  # the last passing judgement is the record a new pass continues from
        lake,
        None
        if judged is None
        else {
            SETTINGS: settings,
            version_key(contract.key): str(judged["delta_version"]),
            **{k: str(judged[k]) for k in carried},
        },
        settings,
        [contract.key],
        required=carried,
    )
    if plan.rebuild:
        judged = None
        batches = lake.batches(contract.key, CHECK_BATCH_ROWS, where=where, version=version)
        scanned = "every row"
    else:
        files = plan.added.get(contract.key, [])
        batches = lake.read_added(contract.key, files, CHECK_BATCH_ROWS, where=where)
        scanned = f"rows added since version {judged['delta_version']} (judged then)"  # type: ignore[index]
    name = "/".join(contract.key)
    hits, below, texts = [], 0, 0
    cached_review = CachedReview(lake, judgement["detector"])
    for batch in batches:
        found, batch_below, batch_texts = review_frame(
            with_row_key(batch, contract.ids),
            contract.fields,
            ROW_KEY,
            REVIEW_MIN_CONFIDENCE,
            MODEL_WRITTEN_FIELDS,
            datasets_without_person_authors(),
            cached_review,
        )
        hits.append(found)
        below += batch_below
        texts += batch_texts
    found = pl.concat([pl.DataFrame(schema=LOCATED_HIT_SCHEMA), *hits])
    review = write_review(lake, found, name, where, version, append=judged is not None)
    table_texts = texts + (judged["table_texts"] if judged else 0)
    table_hits = found.height + (judged["table_hits"] if judged else 0)
    allowed = max(REVIEW_MAX_HITS, math.floor(REVIEW_MAX_RATE * table_texts))
    canaries = canary_result(context, lake, contract, where)
    return AssetCheckResult(
        passed=table_hits <= allowed and canaries["canaries_surviving"] == 0,
        metadata={
            "scanned": scanned,
            "texts_scanned": texts,
            "texts_with_pii": found.select("row_key", "field", "turn_index").unique().height,
            "review_hits": found.height,
            **{
                f"found_{t.lower()}": n
                for t, n in sorted(Counter(found["entity_type"].to_list()).items())
            },
            "review_hits_below_threshold": below,
            # texts a gate passed, read by the rules now or found in silver/pii_review_cache
            "review_texts_read": cached_review.texts_read,
            "review_texts_reused": cached_review.texts_reused,
            "table_texts": table_texts,
            "table_hits": table_hits,
            "hits_allowed": allowed,
            "review_sample": MetadataValue.json(review_sample(found)),
            **review,
            **canaries,
            "delta_version": version,
            **judgement,
        },
    )


ROW_KEY = "__row_key"


def detector_digest() -> str:
    """Names the review's rules: sha256 of transforms/pii_review.py. Rows reviewed by the
    same rules need not be read again; new rules review every row."""
    return hashlib.sha256(Path(pii_review.__file__).read_bytes()).hexdigest()[:32]


def with_row_key(frame: pl.DataFrame, ids: Sequence[str]) -> pl.DataFrame:
    """The row's id columns as one string (`dataset/conversation_id`, `pair_id`...)."""
    return frame.with_columns(
        pl.concat_str([pl.col(i).cast(pl.String) for i in ids], separator="/").alias(ROW_KEY)
    )


def review_sample(hits: pl.DataFrame, size: int = REVIEW_SAMPLE_HITS) -> list[dict]:
    """The most confident hits, in a fixed order: where they are, never what they are."""
    columns = ["row_key", "field", "turn_index", "start", "end", "entity_type", "confidence"]
    return (
        hits.sort(
            ["confidence", "row_key", "field", "turn_index", "start"],
            descending=[True, False, False, False, False],
            nulls_last=True,
        )
        .head(size)
        .select(columns)
        .to_dicts()
    )


def write_review(
    lake: Lake,
    hits: pl.DataFrame,
    table: str,
    where: dict[str, str],
    version: int,
    *,
    append: bool,
) -> dict:
    """Put the hits in silver/pii_review: replacing the checked slice's rows after a full
    review, added to them after a review of added rows (nothing written when none)."""
    rows = hits.with_columns(table=pl.lit(table), checked_version=pl.lit(version, pl.Int64))
    rows = rows.select(PII_REVIEW_SCHEMA.names()).cast(dict(PII_REVIEW_SCHEMA))
    location = {"review_table": MetadataValue.path(lake.uri(PII_REVIEW))}
    if append and rows.is_empty():
        return location
    written = lake.write_batches(
        PII_REVIEW,
        [rows],
        partition_by=["table"],
        replace={"table": table, **where},
        append=append,
    )
    return {**location, "review_table_version": written.version}


def canary_result(
    context: AssetCheckExecutionContext, lake: Lake, contract: Contract, where: dict[str, str]
) -> dict:
    """Plant CANARIES in a scratch copy of a few rows of the checked slice (in memory) and
    scrub it as silver does, with this run's silver PII settings: what survives?"""
    settings, source = scrubber_settings(context, contract.key)
    pool = lake.scan(contract.key)
    for column, value in where.items():
        pool = pool.filter(pl.col(column) == value)
    rows = canary_hosts(
        with_row_key(pool.head(CANARY_POOL_ROWS).collect(), contract.ids),
        contract.fields,
        CANARY_ROWS,
        CANARY_MAX_CHARS,
    )
    fields: Sequence[TextField] = contract.fields
    # Canaries stand for what a person typed (a name is looked for only there): the scratch
    # copy's rows say a person wrote their user turns.
    authored = {f.author_column for f in fields if f.author_column in rows.columns}
    rows = rows.with_columns(pl.lit("person").alias(column) for column in sorted(authored))
    if rows.is_empty():  # nothing to plant in (an empty table): the sentences on their own
        fields = (TextField("text"),)
        rows = pl.DataFrame({ROW_KEY: ["canary"], "dataset": [None], "text": [""]})
    planted = plant_canaries(rows, fields)
    scrubbed = scrub_like_silver(planted, fields, settings, ROW_KEY)
    surviving = surviving_canaries(rows, scrubbed, fields)
    return {
        "canaries_planted": len(CANARIES),
        "canary_rows": rows.height,
        "canaries_surviving": len(surviving),
        "canary_types_surviving": ", ".join(c.entity_type for c in surviving) or "none",
        "canary_settings": source,
    }


def scrubber_settings(
    context: AssetCheckExecutionContext, key: tuple[str, str]
) -> tuple[PiiSettings, str]:
    """The PII settings silver scrubs with in this run, and where they come from: the
    checked table's own step's config (silver/dialogues, silver/comparisons), else that of
    the other scrubbing step if the run has it, else silver's defaults (a run of the
    tables downstream, or one that left the settings at their defaults)."""
    ops = (context.run.run_config or {}).get("ops", {})
    own = "__".join(key)
    for op in sorted(SCRUBBING_OPS, key=lambda name: name != own):
        if op in ops:
            return SilverConfig(**(ops[op].get("config") or {})).pii(), f"run config of {op}"
    return SilverConfig().pii(), "silver defaults"


@cache
def datasets_without_person_authors() -> frozenset[str]:
    """Datasets with no field or role declared person-written outright: a model wrote every
    row's text (UltraChat's simulated users), or who wrote it depends on the row
    (UltraFeedback's prompts, by their `source`). Gold rows carry no author column, so a
    name in such a dataset's gold rows is not counted; silver, whose rows say their author,
    judged it."""
    return frozenset(
        key
        for key, spec in load_catalogue().items()
        if all(author != PERSON_WRITTEN for author in spec.authors.values())
    )


def scrub_like_silver(
    frame: pl.DataFrame, fields: Sequence[TextField], settings: PiiSettings, row_key: str
) -> pl.DataFrame:
    """Silver's scrubbing path (`transforms.scrub.scrub_frame`, as assets/silver.py's
    `tag_and_scrub` calls it), engine results not cached: find PII per author, redact,
    re-scan the redacted texts until they settle, put them back."""

    def analyse(texts: pl.Series, author_settings: PiiSettings) -> pl.DataFrame:
        def scan(batch: pl.Series) -> pl.DataFrame:
            found = find_pii(batch.to_list(), author_settings, 1)
            return pl.DataFrame({"text": batch, "findings": findings_series(found)})

        first = scan(texts)
        settled, _ = settle_redactions(
            redaction_results(first["text"], first["findings"].to_list()), scan
        )
        return settled

    scrubbed, _ = scrub_frame(frame, fields, settings, analyse, table="canaries", row_key=row_key)
    return scrubbed


def last_pass(
    context: AssetCheckExecutionContext,
    key: tuple[str, str],
    check: str,
    judgement: dict[str, str],
    carried: Sequence[str] = (),
    history: int = 50,
) -> dict | None:
    """The metadata of the newest passing run of `check` under the same `judgement` (its
    metadata: scope, detector...) that names the table version it judged and the integer
    `carried` counts, from this instance's history; None if none."""
    records = context.instance.event_log_storage.get_asset_check_execution_history(
        AssetCheckKey(AssetKey(list(key)), check), limit=history
    )
    for record in records:
        evaluation = record.event.asset_check_evaluation if record.event else None
        if evaluation is None or not evaluation.passed:
            continue
        metadata = {k: v.value for k, v in evaluation.metadata.items()}
        if all(metadata.get(k) == v for k, v in judgement.items()) and all(
            isinstance(metadata.get(k), int) for k in ("delta_version", *carried)
        ):
            return metadata
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
    """Per dataset: bronze rows = silver rows + duplicates dropped + rows quarantined + rows
    merged into others (a shape that folds several bronze rows into one, e.g. a message
    tree's messages into its thread).

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
        merged = sum(v for k, v in meta.items() if k.startswith("merged_"))
        out, rejected = silver_rows.get(dataset, 0), quarantined.get(dataset, 0)
        judged[dataset] = (
            f"{bronze} bronze = {out} rows + {dropped} dropped + {rejected} quarantined"
            f" + {merged} merged"
        )
        if bronze != out + dropped + rejected + merged:
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
