"""The source catalogue as typed objects: which datasets exist, where their files are,
what their rows look like and under which licence each field is published.

Parsing only: the YAML file itself is read by orchestration (transforms never touch paths).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

# Licence classes: `by` may be used commercially with attribution; `by_nc` may not.
LICENSE_CLASS_BY = "by"
LICENSE_CLASS_BY_NC = "by_nc"
_BY_LICENSES = {"MIT", "Apache-2.0", "CC-BY-4.0", "CC-BY-SA-4.0", "CC0-1.0", "ODC-By-1.0"}
_NC_LICENSES = {"CC-BY-NC-4.0", "CC-BY-NC-SA-4.0", "CC-BY-NC-ND-4.0"}

# `json` columns keep a nested value as its JSON text: used where real copies disagree
# on the nested shape (UltraFeedback's annotations) so bronze never rejects a valid row.
JSON = "json"


class CatalogueError(ValueError):
    """The catalogue itself is wrong: a clear error at load time, never a bad run."""


@dataclass(frozen=True)
class DatasetSpec:
    key: str
    hub_repo: str
    revision: str
    format: str
    splits: Mapping[str, tuple[str, ...]]
    license: Mapping[str, str]
    schema: Mapping[str, str]
    required: tuple[str, ...]
    shape: str = "chat_messages"
    """How its rows become silver rows (SHAPES: the shape names and the silver table each
    fills)."""
    # Who wrote each field (field, or `<field>.<role>` for one role's turns): "person" or
    # "model", or a rule {column, person: [...], model: [...]} reading another column of
    # the row. "*" is every field not named.
    authors: Mapping[str, str | Mapping[str, Any]] = field(default_factory=lambda: {"*": PERSON})
    gold: tuple[str, ...] = ()
    """The gold tables its rows may enter (GOLD_USES: prefs, sft, prompts)."""
    policies: tuple[str, ...] = ()
    """The binarization policies that make its preference pairs (transforms/binarize.py
    POLICIES); when it declares several, the gold config picks, else the first is used."""
    evaluation: bool = False
    """Evaluation data (MT-bench judgments): its questions decontaminate every training
    table, its prompts never enter one, and its pairs and dialogues only when the gold
    config asks for them (include_mt_bench)."""
    vote_filters: bool = False
    """Whether gold's vote filters (GoldConfig.arena_filters: short and frequent prompts,
    blocked words and models, moderation and toxicity flags) apply to its votes."""
    buckets: int = 1
    """How many hash buckets of rows the text-engine work of its silver slices is spread
    over before the slices are built (silver/text_cache: one step per bucket, so run
    workers or pods share one dataset); 1: each slice runs its own engines."""

    @property
    def polars_schema(self) -> pl.Schema:
        return pl.Schema({name: parse_type(t) for name, t in self.schema.items()})

    def field_license(self, field: str, role: str | None = None) -> str:
        """The SPDX expression of a field, or of one role's turns inside a dialogue field.

        A dialogue field whose roles are licensed separately is, as a whole, under all
        of its roles' licences at once.
        """
        if role is not None:
            return self.license.get(f"{field}.{role}", self.field_license(field))
        if field in self.license:
            return self.license[field]
        by_role = [expr for name, expr in self.license.items() if name.startswith(f"{field}.")]
        if by_role:
            return join_licenses(by_role)
        return self.license["*"]

    def field_author(self, field: str, role: str | None = None) -> str | Mapping[str, Any]:
        """Who wrote a field, or one role's turns inside a dialogue field: "person",
        "model", or a rule that reads another column of the row (:func:`author_of`)."""
        if role is not None and f"{field}.{role}" in self.authors:
            return self.authors[f"{field}.{role}"]
        return self.authors.get(field, self.authors["*"])


PERSON, MODEL = "person", "model"
AUTHORS = (PERSON, MODEL)


def author_of(declared: str | Mapping[str, Any], row: Mapping[str, Any]) -> str:
    """The author a declaration gives one row: a constant, or the rule's answer for the
    value of its column. A value the rule does not list counts as written by a person (the
    conservative answer: names are looked for)."""
    if isinstance(declared, str):
        return declared
    value = row.get(declared["column"])
    return MODEL if value in declared.get(MODEL, ()) else PERSON


def _check_authors(key: str, authors: Mapping[str, Any], schema: Mapping[str, str]) -> None:
    if "*" not in authors:
        raise CatalogueError(f"dataset {key!r}: authors needs a `*` default")
    for name, declared in authors.items():
        if isinstance(declared, str):
            if declared not in AUTHORS:
                raise CatalogueError(f"dataset {key!r}: author of {name!r} must be {AUTHORS}")
            continue
        if not isinstance(declared, Mapping) or declared.get("column") not in schema:
            raise CatalogueError(
                f"dataset {key!r}: author of {name!r} must be {AUTHORS} or a rule with a "
                "`column` of the schema and lists of its values under `person` / `model`"
            )


def join_licenses(expressions: Iterable[str]) -> str:
    """The expression covering content under all of `expressions`: sorted ids joined by AND."""
    ids = sorted({spdx for expr in expressions for spdx in split_license(expr)})
    return " AND ".join(ids)


def split_license(expression: str) -> tuple[str, ...]:
    """`CC-BY-4.0 AND CC-BY-NC-4.0` -> both ids (a field under two licences at once)."""
    return tuple(p.strip() for p in expression.split(" AND ") if p.strip())


def license_class(expression: str) -> str:
    """The most restrictive class among the ids of an SPDX expression."""
    classes = set()
    for spdx in split_license(expression):
        if spdx in _NC_LICENSES:
            classes.add(LICENSE_CLASS_BY_NC)
        elif spdx in _BY_LICENSES:
            classes.add(LICENSE_CLASS_BY)
        else:
            raise CatalogueError(f"unknown licence {spdx!r}: add it to transforms/catalogue.py")
    return LICENSE_CLASS_BY_NC if LICENSE_CLASS_BY_NC in classes else LICENSE_CLASS_BY


_SCALARS: dict[str, pl.DataType] = {
    "string": pl.String(),
    "int32": pl.Int32(),
    "int64": pl.Int64(),
    "float64": pl.Float64(),
    "bool": pl.Boolean(),
    JSON: pl.String(),
}


def parse_type(text: str) -> pl.DataType:
    """Parse the catalogue's type syntax: `string`, `list<T>`, `struct<name: T, ...>`.

    Field names may contain `/` and `-` (Arena's moderation categories do).
    """
    dtype, rest = _parse(text.strip())
    if rest.strip():
        raise CatalogueError(f"trailing text {rest!r} in type {text!r}")
    return dtype


def _parse(text: str) -> tuple[pl.DataType, str]:
    match = re.match(r"\s*([a-z0-9]+)", text)
    if not match:
        raise CatalogueError(f"cannot parse type at {text!r}")
    name, rest = match.group(1), text[match.end() :]
    if name in _SCALARS:
        return _SCALARS[name], rest
    if name == "list":
        inner, rest = _parse(_expect(rest, "<"))
        return pl.List(inner), _expect(rest, ">")
    if name == "struct":
        fields: list[pl.Field] = []
        rest = _expect(rest, "<")
        while True:
            field = re.match(r"\s*([^:<>,\s]+)\s*:", rest)
            if not field:
                raise CatalogueError(f"expected `name: type` at {rest!r}")
            dtype, rest = _parse(rest[field.end() :])
            fields.append(pl.Field(field.group(1), dtype))
            rest = rest.lstrip()
            if rest.startswith(","):
                rest = rest[1:]
                continue
            return pl.Struct(fields), _expect(rest, ">")
    raise CatalogueError(f"unknown type {name!r}")


def _expect(text: str, token: str) -> str:
    stripped = text.lstrip()
    if not stripped.startswith(token):
        raise CatalogueError(f"expected {token!r} at {text!r}")
    return stripped[len(token) :]


SHAPES: dict[str, tuple[str, ...]] = {
    "alternating_turns": ("dialogues",),
    "chat_messages": ("dialogues",),
    "transcripts": ("dialogues",),
    "rated_completions": ("comparisons",),
    "pairwise_votes": ("comparisons",),
    "chosen_rejected_transcripts": ("comparisons",),
    "message_trees": ("dialogues", "comparisons"),
}
"""The shapes a dataset may declare, and the silver tables each one fills."""
GOLD_USES = ("prefs", "sft", "prompts")
"""What a dataset's rows may become in gold: preference pairs, SFT dialogues, prompts."""


def _check_gold_uses(key: str, spec: DatasetSpec) -> None:
    unknown = set(spec.gold) - set(GOLD_USES)
    if unknown:
        raise CatalogueError(f"dataset {key!r}: gold uses {sorted(unknown)} not in {GOLD_USES}")
    if ("prefs" in spec.gold) != bool(spec.policies):
        raise CatalogueError(
            f"dataset {key!r}: preference pairs (gold: prefs) need binarization policies, "
            "and policies need gold: prefs"
        )


def parse_catalogue(document: Mapping[str, Any]) -> dict[str, DatasetSpec]:
    """Validate the catalogue document and return its datasets by key, in file order."""
    datasets = document.get("datasets")
    if not isinstance(datasets, Mapping) or not datasets:
        raise CatalogueError("catalogue needs a non-empty `datasets` mapping")
    specs = {}
    for key, entry in datasets.items():
        declared = {"hub_repo", "revision", "format", "shape", "splits", "license", "schema"}
        missing = declared - set(entry)
        if missing:
            raise CatalogueError(f"dataset {key!r} lacks {sorted(missing)}")
        if entry["format"] not in ("jsonl", "parquet"):
            raise CatalogueError(f"dataset {key!r}: format must be jsonl or parquet")
        if entry["shape"] not in SHAPES:
            raise CatalogueError(
                f"dataset {key!r}: shape {entry['shape']!r} is not one of {sorted(SHAPES)}"
            )
        if "*" not in entry["license"]:
            raise CatalogueError(f"dataset {key!r}: license needs a `*` default")
        spec = DatasetSpec(
            key=key,
            hub_repo=entry["hub_repo"],
            revision=str(entry["revision"]),
            format=entry["format"],
            shape=entry["shape"],
            splits={s: tuple(globs) for s, globs in entry["splits"].items()},
            license=dict(entry["license"]),
            schema=dict(entry["schema"]),
            required=tuple(entry.get("required", ())),
            authors=dict(entry.get("authors", {"*": PERSON})),
            gold=tuple(entry.get("gold", ())),
            policies=tuple(entry.get("policies", ())),
            evaluation=bool(entry.get("evaluation", False)),
            vote_filters=bool(entry.get("vote_filters", False)),
            buckets=entry.get("buckets", 1),
        )
        if not isinstance(spec.buckets, int) or isinstance(spec.buckets, bool) or spec.buckets < 1:
            raise CatalogueError(f"dataset {key!r}: buckets must be a whole number >= 1")
        _check_gold_uses(key, spec)
        _check_authors(key, spec.authors, spec.schema)
        spec.polars_schema  # noqa: B018 - fail at load time on a bad type
        for expr in spec.license.values():
            license_class(expr)
        unknown = set(spec.required) - set(spec.schema)
        if unknown:
            raise CatalogueError(
                f"dataset {key!r}: required fields {sorted(unknown)} not in schema"
            )
        specs[key] = spec
    return specs
