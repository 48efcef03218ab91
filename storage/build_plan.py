"""What a table's build must do, decided from its last commit and Delta's log: keep it
(unchanged), add the rows its inputs gained (append), or build it again (rebuild).

A table that follows inputs records, in each commit, its settings (a digest of
everything that decides its rows other than the inputs' rows: recipe, declaration,
engine settings, code version) and the Delta version of each input table it read, or,
for a table read from source files (bronze), each file's path and content version
(`BuildPlan.commit`). The next build compares:

- no earlier build, `force`, other settings, or a record to continue from is missing:
  rebuild;
- every input at the recorded version: unchanged;
- an input lost or rewrote files since (not only appends), a source file changed or
  went, or an earlier increment was interrupted between writing its side tables and
  committing the table: rebuild;
- otherwise append the data files each input gained (the source files that are new).

A build that finds, once it reads the new rows, that one displaces a row it keeps (a
new row comes first in keep-first order) turns its plan into a rebuild
(`BuildPlan.displaced`). Nothing here knows about Dagster.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from storage.keys import Key
from storage.lake import AddedFile, Lake

Action = Literal["unchanged", "append", "rebuild"]
SETTINGS = "settings"
"""Commit metadata key of the settings digest."""
SOURCES = "sources"
"""Commit metadata key of the source files read: JSON [[path, content version], ...]."""


def version_key(key: Key) -> str:
    """Commit metadata key of an input's version: `version:<layer>/<table>`."""
    return "version:" + "/".join(key)


@dataclass(frozen=True)
class BuildPlan:
    action: Action
    reason: str
    settings: str
    versions: Mapping[Key, int]
    """The version of every followed input this build reads."""
    added: Mapping[Key, list[AddedFile]] = field(default_factory=dict)
    """For an append: the data files each input gained (inputs that gained none absent)."""
    sources: tuple[tuple[str, str], ...] | None = None
    """The source files this build reads (path, content version), for a table read from
    files."""
    new_sources: tuple[str, ...] = ()
    """For an append: the paths of the source files that are new."""

    @property
    def rebuild(self) -> bool:
        return self.action == "rebuild"

    @property
    def unchanged(self) -> bool:
        return self.action == "unchanged"

    def commit(self) -> dict[str, str]:
        """What the build's commit records, for the next plan to compare."""
        recorded = {
            SETTINGS: self.settings,
            **{version_key(k): str(v) for k, v in sorted(self.versions.items())},
        }
        if self.sources is not None:
            recorded[SOURCES] = json.dumps([list(s) for s in self.sources], separators=(",", ":"))
        return recorded

    def displaced(self, reason: str) -> BuildPlan:
        """The same build as a rebuild: the new rows cannot simply be added."""
        return BuildPlan("rebuild", reason, self.settings, self.versions, sources=self.sources)


def plan_build(
    lake: Lake,
    previous: Mapping[str, str] | None,
    settings: str,
    follows: Sequence[Key],
    *,
    sources: Sequence[tuple[str, str]] | None = None,
    force: bool = False,
    required: Sequence[str] = (),
    interrupted: Callable[[], bool] = lambda: False,
) -> BuildPlan:
    """Decide a build of a table whose last commit recorded `previous` (None: never
    built), now under `settings` and reading the tables `follows` at their current
    versions. `required`: further commit metadata an append continues from (running
    counts); `sources`: the (path, content version) of the source files a table read from
    files is built from; `interrupted`: whether an increment from `previous` was cut
    short."""
    versions = {key: lake.version(key) for key in follows}
    files = tuple((path, version) for path, version in sources) if sources is not None else None

    def plan(
        action: Action,
        reason: str,
        added: Mapping[Key, list[AddedFile]] | None = None,
        new_sources: Sequence[str] = (),
    ) -> BuildPlan:
        return BuildPlan(action, reason, settings, versions, added or {}, files, tuple(new_sources))

    if previous is None:
        return plan("rebuild", "first build")
    if force:
        return plan("rebuild", "forced")
    if previous.get(SETTINGS) != settings:
        return plan("rebuild", "settings, declaration or code changed")
    recorded = {key: previous.get(version_key(key)) for key in follows}
    earlier = [tuple(entry) for entry in json.loads(previous.get(SOURCES) or "null") or []]
    if all(recorded[key] == str(v) for key, v in versions.items()) and (
        files is None or earlier == list(files)
    ):
        return plan("unchanged", "inputs unchanged")
    missing = [k for k in required if k not in previous]
    if any(v is None for v in recorded.values()) or missing or (files is not None and not earlier):
        return plan("rebuild", "the last build recorded nothing to continue from")
    new_sources: list[str] = []
    if files is not None:
        read_before = set(earlier)
        if not read_before <= set(files):
            return plan("rebuild", "a source file changed or was removed")
        new_sources = [path for path, version in files if (path, version) not in read_before]
    added: dict[Key, list[AddedFile]] = {}
    for key, version in versions.items():
        if recorded[key] == str(version):
            continue
        gained = lake.added_files(key, int(recorded[key]))  # type: ignore[arg-type]
        if gained is None:
            return plan("rebuild", f"{'/'.join(key)} lost or rewrote rows")
        added[key] = gained
    if interrupted():
        return plan("rebuild", "an earlier increment was interrupted")
    return plan("append", "inputs only gained rows", added, new_sources)
