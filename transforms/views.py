"""Training views: named selections of a gold table, declared in sources/views.yaml.

A view names one gold table family (`sft` or `prefs`) and licence class, the datasets it
takes (with optional mix weights and row caps), languages, binarization policies and
length filters, how its rows are split (the source's own splits, or a deterministic
held-out share stratified by dataset), and a row format: `trl` (the gold columns, TRL's
conversational format) or `h4` (exactly the columns and types of HuggingFaceH4's
ultrachat_200k / ultrafeedback_binarized). Everything here is a pure function of the
declaration and the gold rows: the same gold rows always give the same view.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import pyarrow as pa

from transforms.binarize import PAIR_SCHEMA
from transforms.gold import SFT_SCHEMA

KINDS = ("sft", "prefs")
LICENCE_CLASSES = ("by", "by_nc")
FORMATS = ("trl", "h4")
SPLIT_COLUMN = "view_split"
H4_MESSAGES = pl.List(pl.Struct({"content": pl.String, "role": pl.String}))
H4_SFT_SCHEMA = pl.Schema({"prompt": pl.String, "prompt_id": pl.String, "messages": H4_MESSAGES})
H4_PREFS_SCHEMA = pl.Schema(
    {
        "prompt": pl.String,
        "prompt_id": pl.String,
        "chosen": H4_MESSAGES,
        "rejected": H4_MESSAGES,
        "messages": H4_MESSAGES,
        "score_chosen": pl.Float64,
        "score_rejected": pl.Float64,
    }
)
_H4_ARROW_MESSAGES = pa.list_(pa.struct([("content", pa.string()), ("role", pa.string())]))
H4_ARROW = {
    "sft": pa.schema(
        [("prompt", pa.string()), ("prompt_id", pa.string()), ("messages", _H4_ARROW_MESSAGES)]
    ),
    "prefs": pa.schema(
        [
            ("prompt", pa.string()),
            ("prompt_id", pa.string()),
            ("chosen", _H4_ARROW_MESSAGES),
            ("rejected", _H4_ARROW_MESSAGES),
            ("messages", _H4_ARROW_MESSAGES),
            ("score_chosen", pa.float64()),
            ("score_rejected", pa.float64()),
        ]
    ),
}
"""H4's Parquet types (`string`, `list`), which `datasets` compares when datasets are mixed."""
ID_COLUMN = {"sft": "example_id", "prefs": "pair_id"}
GOLD_SCHEMAS = {"sft": SFT_SCHEMA, "prefs": PAIR_SCHEMA}


class ViewError(ValueError):
    """A view declaration that cannot be built, with the view and the field named."""


@dataclass(frozen=True)
class Source:
    dataset: str
    weight: float | None = None
    """Share of the view's rows (relative to the other sources' weights)."""
    max_rows: int | None = None


@dataclass(frozen=True)
class HeldOut:
    fraction: float | None = None
    rows: int | None = None
    """With fraction too: the smaller of the two."""
    seed: int = 0


@dataclass(frozen=True)
class ViewSpec:
    name: str
    kind: str
    licence_class: str
    sources: tuple[Source, ...]
    splits: tuple[str, str] = ("train", "test")
    """Names of the training and held-out splits."""
    source_splits: Mapping[str, str] = field(default_factory=dict)
    """Keep the sources' own splits instead of a held-out share: source split -> view split.
    Rows of other source splits are left out."""
    held_out: HeldOut | None = None
    languages: tuple[str, ...] = ()
    policies: tuple[str, ...] = ()
    min_turns: int | None = None
    max_chars: int | None = None
    format: str = "trl"
    seed: int = 0
    """Seed of the mix sampling."""
    description: str = ""

    @property
    def tables(self) -> tuple[str, ...]:
        """The gold tables it reads: a `by` view only `<kind>_by`; a `by_nc` view both."""
        if self.licence_class == "by":
            return (f"{self.kind}_by",)
        return (f"{self.kind}_by", f"{self.kind}_by_nc")

    @property
    def per_row(self) -> bool:
        """Whether each row's place in the view depends on that row alone (no mix weights,
        row caps or held-out row count): then the view can be built a batch at a time and
        grown with the rows its gold tables gain."""
        capped = any(s.weight is not None or s.max_rows is not None for s in self.sources)
        return not capped and (self.held_out is None or self.held_out.rows is None)

    @property
    def split_names(self) -> list[str]:
        if self.source_splits:
            return list(dict.fromkeys(self.source_splits.values()))
        return list(self.splits) if self.held_out else [self.splits[0]]


def parse_views(
    document: Mapping[str, Any], datasets: Sequence[str], policies: Sequence[str]
) -> dict[str, ViewSpec]:
    """ViewSpecs from the parsed views.yaml; every error names the view and field."""
    views = {}
    for name, raw in (document.get("views") or {}).items():
        views[name] = _parse_view(name, raw or {}, datasets, policies)
    return views


def _parse_view(
    name: str, raw: Mapping[str, Any], datasets: Sequence[str], policies: Sequence[str]
) -> ViewSpec:
    def fail(message: str) -> ViewError:
        return ViewError(f"view {name!r}: {message}")

    known = {
        "description", "from", "licence", "datasets", "languages", "policies", "min_turns",
        "max_chars", "held_out", "splits", "source_splits", "format", "seed",
    }  # fmt: skip
    if unknown := sorted(set(raw) - known):
        raise fail(f"unknown field(s) {unknown}; known: {sorted(known)}")
    kind = raw.get("from")
    if kind not in KINDS:
        raise fail(f"`from` must be one of {KINDS}, not {kind!r}")
    licence = raw.get("licence")
    if licence not in LICENCE_CLASSES:
        raise fail(f"`licence` must be one of {LICENCE_CLASSES}, not {licence!r}")
    sources = []
    for entry in raw.get("datasets") or []:
        entry = {"dataset": entry} if isinstance(entry, str) else dict(entry)
        if entry.get("dataset") not in datasets:
            raise fail(f"unknown dataset {entry.get('dataset')!r}; known: {sorted(datasets)}")
        sources.append(Source(entry["dataset"], entry.get("weight"), entry.get("max_rows")))
    if not sources:
        raise fail("`datasets` must name at least one dataset")
    weighted = [s.weight is not None for s in sources]
    if any(weighted) and not all(weighted):
        raise fail("give a weight to every dataset or to none")
    if any(s.weight is not None and s.weight <= 0 for s in sources):
        raise fail("weights must be positive")
    chosen_policies = tuple(raw.get("policies") or ())
    if chosen_policies and kind != "prefs":
        raise fail("`policies` applies to prefs views only")
    if unknown_policies := sorted(set(chosen_policies) - set(policies)):
        raise fail(f"unknown policies {unknown_policies}; known: {sorted(policies)}")
    fmt = raw.get("format", "trl")
    if fmt not in FORMATS:
        raise fail(f"`format` must be one of {FORMATS}, not {fmt!r}")
    held = raw.get("held_out")
    held_out = None
    if held is not None:
        held_out = HeldOut(held.get("fraction"), held.get("rows"), int(held.get("seed", 0)))
        if held_out.fraction is None and held_out.rows is None:
            raise fail("`held_out` needs `fraction` or `rows`")
        if held_out.fraction is not None and not 0 < held_out.fraction < 1:
            raise fail("`held_out.fraction` must be between 0 and 1")
    source_splits = dict(raw.get("source_splits") or {})
    if source_splits and held_out:
        raise fail("give `held_out` or `source_splits`, not both")
    splits = tuple(raw.get("splits") or ("train", "test"))
    if len(splits) != 2 or len(set(splits)) != 2:
        raise fail("`splits` names two different splits: training and held-out")
    return ViewSpec(
        name=name,
        kind=kind,
        licence_class=licence,
        sources=tuple(sources),
        splits=splits,  # type: ignore[arg-type]
        source_splits=source_splits,
        held_out=held_out,
        languages=tuple(raw.get("languages") or ()),
        policies=chosen_policies,
        min_turns=raw.get("min_turns"),
        max_chars=raw.get("max_chars"),
        format=fmt,
        seed=int(raw.get("seed", 0)),
        description=str(raw.get("description", "")),
    )


def row_filter(spec: ViewSpec) -> pl.Expr:
    """The view's filters on one gold row (datasets, source splits, languages, policies,
    turns, length), as one Polars expression (pushed into the scan of a gold table)."""
    keep = pl.col("dataset").is_in([s.dataset for s in spec.sources])
    if spec.source_splits:
        keep &= pl.col("split").is_in(list(spec.source_splits))
    if spec.languages:
        keep &= pl.col("lang").is_in(list(spec.languages))
    if spec.policies:
        keep &= pl.col("policy").is_in(list(spec.policies))
    conversation = pl.col("messages") if spec.kind == "sft" else pl.col("prompt")
    if spec.min_turns is not None:
        user_turns = conversation.list.eval(
            (pl.element().struct.field("role") == "user").cast(pl.Int64)
        ).list.sum()
        keep &= user_turns >= spec.min_turns
    if spec.max_chars is not None:
        parts = [conversation] if spec.kind == "sft" else [conversation, pl.col("chosen")]
        chars = pl.sum_horizontal(
            p.list.eval(pl.element().struct.field("content").str.len_chars()).list.sum()
            for p in parts
        )
        keep &= chars <= spec.max_chars
    return keep


def selected(frame: pl.DataFrame, spec: ViewSpec) -> pl.DataFrame:
    """The gold rows the view's filters keep (`row_filter`)."""
    return frame.filter(row_filter(spec))


def mixed(frame: pl.DataFrame, spec: ViewSpec) -> pl.DataFrame:
    """Row caps and mix weights: each dataset keeps at most `max_rows`; with weights, the
    largest mix whose shares follow them. Rows are taken in a seeded hash order of their
    ids, so the choice is stable as rows are added."""
    id_column = ID_COLUMN[spec.kind]
    ordered = frame.with_columns(_order=hash_unit(pl.col(id_column), spec.seed)).sort(
        "_order", id_column
    )
    available = dict(ordered.group_by("dataset").len().iter_rows())
    quota = {}
    for source in spec.sources:
        rows = available.get(source.dataset, 0)
        quota[source.dataset] = rows if source.max_rows is None else min(rows, source.max_rows)
    if spec.sources[0].weight is not None:
        total = sum(s.weight for s in spec.sources)  # type: ignore[misc]
        scale = min(quota[s.dataset] * total / s.weight for s in spec.sources)  # type: ignore[operator]
        quota = {s.dataset: math.floor(scale * s.weight / total) for s in spec.sources}  # type: ignore[operator]
    ranked = ordered.with_columns(_rank=pl.int_range(pl.len()).over("dataset"))
    limits = pl.col("dataset").replace_strict(quota, return_dtype=pl.Int64, default=0)
    return ranked.filter(pl.col("_rank") < limits).drop("_rank", "_order")


def with_splits(frame: pl.DataFrame, spec: ViewSpec) -> pl.DataFrame:
    """`view_split` for every row: the source split's view name (`source_splits`), or
    held out when the row's seeded hash of its id, read as a number in [0, 1), is below
    `fraction` (so a row's split never changes as rows are added, and every dataset gives
    its share); with `rows`, only the `rows` lowest of those (all rows without a
    fraction), spread over the datasets in proportion to their sizes."""
    train, test = spec.splits
    if spec.source_splits:
        return frame.with_columns(
            pl.col("split").replace_strict(spec.source_splits).alias(SPLIT_COLUMN)
        )
    if spec.held_out is None:
        return frame.with_columns(pl.lit(train).alias(SPLIT_COLUMN))
    held = spec.held_out
    id_column = ID_COLUMN[spec.kind]
    ranked = frame.with_columns(_unit=hash_unit(pl.col(id_column), held.seed))
    candidate = pl.lit(True) if held.fraction is None else pl.col("_unit") < held.fraction
    if held.rows is not None:
        pool = ranked.filter(candidate)
        counts = dict(pool.group_by("dataset").len().iter_rows())
        quota = _stratified(counts, min(held.rows, pool.height))
        limits = pl.col("dataset").replace_strict(quota, return_dtype=pl.Int64, default=0)
        chosen = pool.filter(pl.col("_unit").rank("ordinal").over("dataset") - 1 < limits)
        candidate = pl.col(id_column).is_in(chosen[id_column].implode())
    return ranked.with_columns(
        pl.when(candidate).then(pl.lit(test)).otherwise(pl.lit(train)).alias(SPLIT_COLUMN)
    ).drop("_unit")


def _stratified(counts: Mapping[str, int], rows: int) -> dict[str, int]:
    """`rows` spread over datasets in proportion to their sizes (largest remainders)."""
    total = sum(counts.values())
    if not total or not rows:
        return dict.fromkeys(counts, 0)
    exact = {d: rows * n / total for d, n in counts.items()}
    quota = {d: math.floor(v) for d, v in exact.items()}
    for dataset in sorted(exact, key=lambda d: (quota[d] - exact[d], d))[
        : rows - sum(quota.values())
    ]:
        quota[dataset] += 1
    return quota


def hash_unit(column: pl.Expr, seed: int) -> pl.Expr:
    """A number in [0, 1) from the seeded sha256 of each id: independent of the other rows
    and of Polars' own hashing, so the same id always lands at the same place."""
    return column.map_elements(
        lambda value: (
            int(hashlib.sha256(f"{seed}\0{value}".encode()).hexdigest()[:13], 16) / 16**13
        ),
        return_dtype=pl.Float64,
    )


def formatted(frame: pl.DataFrame, spec: ViewSpec) -> pl.DataFrame:
    """The view's row format, `view_split` kept: `trl` keeps the gold columns; `h4` gives
    exactly H4's columns and types (prompt_id = sha256 of the prompt, as H4 computes it)."""
    if spec.format == "trl":
        return frame
    if spec.kind == "sft":
        prompt = _first_user(pl.col("messages"))
        return frame.select(
            prompt.alias("prompt"),
            _sha256(prompt).alias("prompt_id"),
            _h4(pl.col("messages")).alias("messages"),
            pl.col(SPLIT_COLUMN),
        )
    prompt = _first_user(pl.col("prompt"))
    chosen = _h4(pl.concat_list(pl.col("prompt"), pl.col("chosen")))
    rejected = _h4(pl.concat_list(pl.col("prompt"), pl.col("rejected")))
    return frame.select(
        prompt.alias("prompt"),
        _sha256(prompt).alias("prompt_id"),
        chosen.alias("chosen"),
        rejected.alias("rejected"),
        chosen.alias("messages"),
        pl.col("score_chosen").cast(pl.Float64),
        pl.col("score_rejected").cast(pl.Float64),
        pl.col(SPLIT_COLUMN),
    )


def _first_user(messages: pl.Expr) -> pl.Expr:
    return (
        messages.list.eval(
            pl.element().filter(pl.element().struct.field("role") == "user").struct.field("content")
        )
        .list.first()
        .fill_null("")
    )


def _h4(messages: pl.Expr) -> pl.Expr:
    return messages.list.eval(
        pl.struct(
            pl.element().struct.field("content").alias("content"),
            pl.element().struct.field("role").alias("role"),
        )
    )


def _sha256(text: pl.Expr) -> pl.Expr:
    return text.map_elements(
        lambda value: hashlib.sha256(value.encode("utf-8")).hexdigest(), return_dtype=pl.String
    )


def arrow_schema(spec: ViewSpec) -> pa.Schema | None:
    """The Arrow types a view is written with: H4's for the `h4` format (with the split
    column), else the lake's own (None)."""
    if spec.format != "h4":
        return None
    return H4_ARROW[spec.kind].append(pa.field(SPLIT_COLUMN, pa.string()))


def build_view(frame: pl.DataFrame, spec: ViewSpec) -> pl.DataFrame:
    """The whole view from its gold table's rows: select, mix, split, format."""
    return formatted(with_splits(mixed(selected(frame, spec), spec), spec), spec)
