"""The Hugging Face Hub as a source: resolve a catalogue revision, mirror a dataset's
files into the Hub layout, and turn every way the Hub can fail into one line that names
the dataset and what to do.

A mirror is `<root>/<org>/<name>/<path>` (what `LAKE_SOURCES=<root>` reads) with a record
per repository, `<root>/<org>/<name>/.mirror.json`: the catalogue revision, the commit it
resolved to, and each file's size and sha256 (checked against the Hub's own sha256 for
LFS files and git blob id for the others). Listing and downloads go through
`huggingface_hub` (its API client, URLs, HTTP session, token headers and errors); a file
already there at that commit is not fetched again, and an interrupted download resumes
from the bytes it left in `<file>.part`.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import httpx
from huggingface_hub import HfApi, hf_hub_url
from huggingface_hub.constants import HF_HUB_DOWNLOAD_TIMEOUT
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.hf_api import RepoFile
from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

from transforms.catalogue import DatasetSpec

T = TypeVar("T")

DOWNLOAD_TIMEOUT = max(HF_HUB_DOWNLOAD_TIMEOUT, 60)
"""Seconds without a byte before a download is given up (HF_HUB_DOWNLOAD_TIMEOUT, >= 60)."""
MIRROR_RECORD = ".mirror.json"
"""Per dataset in a mirror: what was fetched, from which commit, with checksums."""


class HubUnavailable(RuntimeError):
    """The Hub cannot give a dataset's files: the message is one line that names the
    dataset and what to do."""


def hub_error_line(spec: DatasetSpec, error: BaseException) -> str | None:
    """One line for a Hub failure (None when the error is not one the Hub caused)."""
    where = f"{spec.key} ({spec.hub_repo}@{spec.revision})"
    page = f"https://huggingface.co/datasets/{spec.hub_repo}"
    if isinstance(error, OfflineModeIsEnabled) or (
        isinstance(error, LocalEntryNotFoundError) and "HF_HUB_OFFLINE" in str(error)
    ):
        return (
            f"{where}: Hub mode is off (HF_HUB_OFFLINE is set): unset it to reach the Hub, or "
            "run on a local mirror (LAKE_SOURCES=<dir>, made by `make mirror`)"
        )
    if isinstance(error, (httpx.ConnectError, httpx.TimeoutException, LocalEntryNotFoundError)):
        return (
            f"{where}: cannot reach the Hub (no network?): connect and run again, or run on a "
            "local mirror (LAKE_SOURCES=<dir>, made by `make mirror`)"
        )
    if isinstance(error, GatedRepoError):
        return (
            f"{where}: the dataset is gated: accept its terms at {page} and set HF_TOKEN to a "
            "token of that account"
        )
    if isinstance(error, RevisionNotFoundError):
        return (
            f"{where}: revision {spec.revision} does not exist (any more) on the Hub: pin a "
            f"current commit from {page}/commits/main in sources/catalogue.yaml"
        )
    if isinstance(error, RepositoryNotFoundError):
        return (
            f"{where}: no such dataset, or it is private: check hub_repo in "
            "sources/catalogue.yaml, or set HF_TOKEN to a token that may read it"
        )
    if isinstance(error, HfHubHTTPError):
        status = error.response.status_code if error.response is not None else "?"
        return f"{where}: the Hub answered HTTP {status}: try again later ({page})"
    return None


def hub_call(spec: DatasetSpec, call: Callable[[], T]) -> T:
    """`call()`, with a Hub failure raised as HubUnavailable (one line, no chained trace)."""
    try:
        return call()
    except Exception as error:
        line = hub_error_line(spec, error)
        if line is None:
            raise
        raise HubUnavailable(line) from None


def resolve_revision(
    spec: DatasetSpec, token: str | None = None, endpoint: str | None = None
) -> str:
    """The commit the catalogue's revision names now (a pinned commit names itself)."""
    api = HfApi(endpoint=endpoint, token=token)
    info = hub_call(spec, lambda: api.dataset_info(spec.hub_repo, revision=spec.revision))
    if not info.sha:
        raise HubUnavailable(f"{spec.key}: the Hub gave no commit for {spec.revision}")
    return info.sha


def allow_patterns(spec: DatasetSpec) -> list[str]:
    """The catalogue's globs of every split: the only files a mirror fetches."""
    return sorted({pattern for patterns in spec.splits.values() for pattern in patterns})


def matches(path: str, patterns: Sequence[str]) -> bool:
    """Whether a repository path matches a glob as `Path.glob` (what bronze reads) does:
    segment by segment, `*` never crossing a `/`."""
    parts = path.split("/")
    for pattern in patterns:
        globs = pattern.split("/")
        if len(globs) == len(parts) and all(
            fnmatch.fnmatchcase(part, glob) for part, glob in zip(parts, globs, strict=True)
        ):
            return True
    return False


@dataclass(frozen=True)
class MirroredFile:
    path: str
    size: int
    sha256: str
    fetched: bool
    """False when the file was already in the mirror at this commit."""


def mirror_dataset(
    spec: DatasetSpec,
    root: Path,
    token: str | None = None,
    endpoint: str | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> list[MirroredFile]:
    """Fetch the files of `spec`'s splits at its revision into `root/<org>/<name>/` and
    write the dataset's mirror record. A file whose bytes do not match the Hub's checksum
    is an error (and is removed)."""
    commit = resolve_revision(spec, token, endpoint)
    api = HfApi(endpoint=endpoint, token=token)
    tree = hub_call(
        spec,
        lambda: [
            f
            for f in api.list_repo_tree(
                spec.hub_repo, recursive=True, revision=commit, repo_type="dataset"
            )
            if isinstance(f, RepoFile)
        ],
    )
    patterns = allow_patterns(spec)
    wanted = sorted((f for f in tree if matches(f.path, patterns)), key=lambda f: f.path)
    if not wanted:
        raise HubUnavailable(
            f"{spec.key} ({spec.hub_repo}@{commit[:12]}): no file matches {patterns}: check "
            "the split globs in sources/catalogue.yaml"
        )
    folder = root / spec.hub_repo
    record = read_record(root, spec)
    known = record["files"] if record and record.get("commit") == commit else {}
    mirrored = []
    for remote in wanted:
        local = folder / remote.path
        size = remote.lfs.size if remote.lfs is not None else remote.size
        seen = known.get(remote.path)
        if seen and local.is_file() and local.stat().st_size == size == seen["size"]:
            mirrored.append(MirroredFile(remote.path, size, seen["sha256"], fetched=False))
            continue
        progress(f"{spec.key}: {remote.path} ({size:,} bytes)")
        url = hf_hub_url(
            spec.hub_repo, remote.path, repo_type="dataset", revision=commit, endpoint=endpoint
        )
        hub_call(spec, lambda url=url, local=local, size=size: download(url, local, size, token))
        sha256, blob = file_digests(local)
        expected = remote.lfs.sha256 if remote.lfs is not None else remote.blob_id
        if expected not in (sha256, blob):
            local.unlink()
            raise HubUnavailable(
                f"{spec.key}: {remote.path} does not match the Hub's checksum ({expected}): "
                "removed; run `make mirror` again"
            )
        mirrored.append(MirroredFile(remote.path, local.stat().st_size, sha256, fetched=True))
    write_record(root, spec, commit, mirrored)
    return mirrored


def download(url: str, local: Path, size: int, token: str | None) -> None:
    """Fetch `url` into `local` through `<local>.part`: bytes a killed download left there
    are kept and the rest asked for with a Range request (a resumed download)."""
    partial = local.with_name(f"{local.name}.part")
    partial.parent.mkdir(parents=True, exist_ok=True)
    start = partial.stat().st_size if partial.is_file() else 0
    if start < size or size == 0:
        headers = build_hf_headers(token=token)
        if start:
            headers["Range"] = f"bytes={start}-"
        with get_session().stream(
            "GET", url, headers=headers, follow_redirects=True, timeout=DOWNLOAD_TIMEOUT
        ) as response:
            if response.status_code >= 400:
                response.read()
            hf_raise_for_status(response)
            resumed = start and response.status_code == 206
            with partial.open("ab" if resumed else "wb") as out:
                for chunk in response.iter_bytes(2**20):
                    out.write(chunk)
    partial.replace(local)


def file_digests(path: Path) -> tuple[str, str]:
    """sha256 of a file and its git blob id (sha1 of `blob <size>\\0` + bytes)."""
    sha256 = hashlib.sha256()
    blob = hashlib.sha1(f"blob {path.stat().st_size}\0".encode(), usedforsecurity=False)
    with path.open("rb") as handle:
        while chunk := handle.read(8 * 2**20):
            sha256.update(chunk)
            blob.update(chunk)
    return sha256.hexdigest(), blob.hexdigest()


def record_path(root: Path, spec: DatasetSpec) -> Path:
    return root / spec.hub_repo / MIRROR_RECORD


def read_record(root: Path, spec: DatasetSpec) -> dict | None:
    path = record_path(root, spec)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def write_record(root: Path, spec: DatasetSpec, commit: str, files: list[MirroredFile]) -> None:
    """Write the repository's record; the files other datasets of the same repository
    (e.g. hh-rlhf's preference and red-team files) mirrored at the same commit are kept."""
    previous = read_record(root, spec)
    if previous is None or previous.get("commit") != commit:
        previous = {"allow_patterns": [], "files": {}}
    record = {
        "hub_repo": spec.hub_repo,
        "revision": spec.revision,
        "commit": commit,
        "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "allow_patterns": sorted({*previous["allow_patterns"], *allow_patterns(spec)}),
        "files": {
            **previous["files"],
            **{f.path: {"size": f.size, "sha256": f.sha256} for f in files},
        },
    }
    path = record_path(root, spec)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    temporary.replace(path)  # a record is whole or absent
