"""`make publish TAG=<tag> REPO=<org>/<name>`: push a release folder to the Hugging Face Hub.

A release (`<LAKE_ROOT>/releases/<tag>/`) is already a Hub dataset folder: Parquet shards
under data/<config>/, a dataset card, checksums and the manifest. This uploads it as it is,
to a dataset repository that is private unless `--public` is given, with the token in
HF_TOKEN. `--dry-run` (also `DRY_RUN=1` in make) prints the repository, its visibility
and exactly the files and card it would upload, and sends nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from orchestration.read import resolve_root


class PublishError(RuntimeError):
    """A release that cannot be published as asked, with what to do."""


@dataclass(frozen=True)
class Upload:
    repo_id: str
    private: bool
    folder: Path
    files: list[str]
    """Paths relative to the release folder, sorted: everything that is uploaded."""


def plan_upload(tag: str, repo_id: str, *, root: str | None = None, private: bool = True) -> Upload:
    """What publishing release `tag` to `repo_id` uploads (nothing is sent)."""
    lake = resolve_root(root)
    if "://" in lake:
        raise PublishError(f"the lake is at {lake}: publish from a local copy of the release")
    folder = Path(lake) / "releases" / tag
    if not (folder / "manifest.json").is_file() or not (folder / "README.md").is_file():
        raise PublishError(f"no release {tag!r} under {folder.parent} (run `make demo` first)")
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise PublishError(f"the repository must be <org or user>/<name>, not {repo_id!r}")
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    return Upload(repo_id, private, folder, files)


def publish(upload: Upload, token: str | None) -> str:
    """Create the dataset repository if needed and upload the folder in one commit."""
    if not token:
        raise PublishError("set HF_TOKEN to a Hugging Face token with write access")
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    api.create_repo(upload.repo_id, repo_type="dataset", private=upload.private, exist_ok=True)
    commit = api.upload_folder(
        folder_path=str(upload.folder),
        repo_id=upload.repo_id,
        repo_type="dataset",
        commit_message=f"alignment-lake release {upload.folder.name}",
    )
    return str(commit)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tag")
    parser.add_argument("repo", help="<org or user>/<name> of the dataset repository")
    parser.add_argument("--public", action="store_true", help="a public repository")
    parser.add_argument("--dry-run", action="store_true", help="print what would be uploaded")
    parser.add_argument("--root", default=None, help="the lake root (default: LAKE_ROOT)")
    args = parser.parse_args(argv)
    try:
        upload = plan_upload(args.tag, args.repo, root=args.root, private=not args.public)
        visibility = "private" if upload.private else "public"
        print(f"dataset repository {upload.repo_id} ({visibility}) <- {upload.folder}")
        for path in upload.files:
            print(f"  {path}  {(upload.folder / path).stat().st_size:,d} bytes")
        if args.dry_run:
            card = (upload.folder / "README.md").read_text(encoding="utf-8")
            print("\ndataset card (README.md):\n" + card)
            print("dry run: nothing was sent")
            return 0
        print(f"uploaded: {publish(upload, os.environ.get('HF_TOKEN'))}")
    except PublishError as error:
        print(f"publish: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
