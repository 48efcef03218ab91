"""Publishing a release to the Hub: the dry run lists exactly the release folder and its
card, offline; bad requests end in one line saying what to do."""

from pathlib import Path

import pytest

from orchestration.publish import PublishError, main, plan_upload, publish
from storage.lake import Lake


def release(lake: Lake) -> Path:
    (folder,) = (Path(lake.root) / "releases").iterdir()
    return folder


def test_the_dry_run_lists_every_file_of_the_release_and_its_card(built_lake, capsys):
    folder = release(built_lake)
    upload = plan_upload(folder.name, "me/lake", root=built_lake.root)
    on_disk = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert upload.files == on_disk and upload.private
    assert {"README.md", "manifest.json", "checksums.sha256"} <= set(upload.files)
    assert any(f.startswith("data/zephyr_sft/train_sft-") for f in upload.files)
    assert main([folder.name, "me/lake", "--dry-run", "--root", built_lake.root]) == 0
    printed = capsys.readouterr().out
    assert "me/lake (private)" in printed and "nothing was sent" in printed
    assert all(f"  {f}  " in printed for f in upload.files)
    assert (folder / "README.md").read_text(encoding="utf-8") in printed


def test_without_a_token_nothing_is_sent_and_the_message_says_what_to_set(built_lake):
    upload = plan_upload(release(built_lake).name, "me/lake", root=built_lake.root)
    with pytest.raises(PublishError, match="set HF_TOKEN"):
        publish(upload, None)


@pytest.mark.parametrize(
    ("tag", "repo", "message"),
    [("r-missing", "me/lake", "no release 'r-missing'"), (None, "lake", "<org or user>/<name>")],
)
def test_a_missing_release_or_a_bad_repository_is_one_clear_line(
    built_lake, capsys, tag, repo, message
):
    tag = tag or release(built_lake).name
    assert main([tag, repo, "--dry-run", "--root", built_lake.root]) == 2
    error = capsys.readouterr().err
    assert error.startswith("publish: ") and message in error and error.count("\n") == 1
