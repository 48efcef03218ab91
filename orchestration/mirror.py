"""`make mirror [MIRROR=<dir>] [DATASETS=a,b]`: fetch the catalogue's files at their pinned
revisions into a local mirror in the Hub layout, then run the lake on it offline:
`LAKE_SOURCES=<dir> make demo`.

Each dataset's files are those its split globs name (allow-patterns), at the commit its
`revision` names, read with `huggingface_hub` (HF_TOKEN for gated or private datasets).
A dataset's record, `<dir>/<org>/<name>/.mirror.json`, keeps the commit and each file's
sha256; files already there at that commit are not fetched again, and an interrupted
download resumes. Every Hub failure (offline, no network, gated without a token, a
revision that no longer exists) ends in one line naming the dataset and what to do.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from orchestration.catalogue import load_catalogue
from orchestration.config import PROJECT_ROOT
from storage.hub import HubUnavailable, mirror_dataset, resolve_revision
from transforms.catalogue import DatasetSpec

DEFAULT_MIRROR = PROJECT_ROOT / "mirror"


def selected(catalogue: dict[str, DatasetSpec], names: str | None) -> list[DatasetSpec]:
    if not names:
        return list(catalogue.values())
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in catalogue]
    if unknown:
        raise HubUnavailable(
            f"not in sources/catalogue.yaml: {', '.join(unknown)} (known: {', '.join(catalogue)})"
        )
    return [catalogue[n] for n in wanted]


def check_hub(catalogue: dict[str, DatasetSpec], token: str | None = None) -> None:
    """Before a run in hub mode: every dataset's revision resolves (else HubUnavailable)."""
    for spec in catalogue.values():
        resolve_revision(spec, token)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make mirror", description=__doc__.split("\n\n")[0])
    parser.add_argument("--to", default=str(DEFAULT_MIRROR), help="mirror directory")
    parser.add_argument("--datasets", default="", help="comma-separated catalogue names")
    parser.add_argument("--endpoint", default=None, help="Hub endpoint (default: HF_ENDPOINT)")
    args = parser.parse_args(argv)
    root = Path(args.to).resolve()
    token = os.environ.get("HF_TOKEN") or None
    try:
        specs = selected(load_catalogue(), args.datasets)
        root.mkdir(parents=True, exist_ok=True)
        for spec in specs:
            files = mirror_dataset(
                spec, root, token, args.endpoint, progress=lambda line: print(f"  {line}")
            )
            fetched = sum(f.fetched for f in files)
            size = sum(f.size for f in files)
            print(
                f"{spec.key}: {len(files)} files ({size:,} bytes; {fetched} fetched, "
                f"{len(files) - fetched} already here) at {spec.hub_repo}@{spec.revision}"
            )
    except HubUnavailable as error:
        print(f"make mirror: {error}", file=sys.stderr)
        return 1
    print(f"\nMirror: {root}\nRun the lake on it offline: LAKE_SOURCES={root} make demo")
    return 0


if __name__ == "__main__":
    sys.exit(main())
