"""Release diffs and the quality report: what changed, counted on the rows, and plots
that are real PNG images of the numbers."""

import io
import json

import numpy as np
import polars as pl
from PIL import Image

from transforms import release_report as report

MESSAGES = pl.List(pl.Struct({"content": pl.String, "role": pl.String}))


def dialogue(*contents: str) -> list[dict]:
    roles = ["user", "assistant"] * len(contents)
    return [
        {"content": c, "role": r} for c, r in zip(contents, roles[: len(contents)], strict=True)
    ]


def test_a_pair_is_measured_by_its_chosen_side_a_dialogue_by_all_its_turns():
    pairs = pl.DataFrame(
        {"prompt": ["hi"], "chosen": [dialogue("hi", "hello!")], "rejected": [dialogue("hi", "")]},
        schema={"prompt": pl.String, "chosen": MESSAGES, "rejected": MESSAGES},
    )
    dialogues = pl.DataFrame(
        {"messages": [dialogue("abc", "de"), []]}, schema={"messages": MESSAGES}
    )
    prompts = pl.DataFrame({"prompt": ["four", None]})
    assert report.text_chars(pairs).to_list() == [8]
    assert report.text_chars(dialogues).to_list() == [5, 0]
    assert report.text_chars(prompts).to_list() == [4, 0]


def test_added_and_removed_rows_are_counted_as_multisets():
    before = pl.Series([1, 1, 2, 3], dtype=pl.UInt64)
    after = pl.Series([1, 2, 2, 4, 5], dtype=pl.UInt64)
    # one of the two 1s left, 3 left; a second 2, 4 and 5 came
    assert report.added_removed(before, after) == (3, 2)
    assert report.added_removed(after, after) == (0, 0)
    assert report.added_removed(pl.Series([], dtype=pl.UInt64), after) == (5, 0)


def test_a_row_whose_text_changed_counts_as_removed_and_added():
    before = pl.DataFrame({"id": ["a", "b"], "prompt": ["x", "y"]})
    after = before.with_columns(prompt=pl.lit("x"))
    assert report.added_removed(before.hash_rows(), after.hash_rows()) == (1, 1)


def test_files_both_releases_hold_are_not_read_again():
    before, after = ["f1", "f2", "f2", "f3"], ["f2", "f3", "f4"]
    assert report.unmatched(before, after) == (["f1", "f2"], ["f4"])
    assert report.unmatched(after, after) == ([], [])


def test_quantiles_from_the_histogram_are_within_one_bin_above_the_exact_value():
    lengths = pl.Series(np.random.default_rng(0).integers(1, 50_000, 5_000))
    histogram = report.length_histogram(lengths)
    assert histogram.sum() == 5_000
    approximate = report.histogram_quantiles(histogram)
    for q, name in ((0.1, "p10"), (0.5, "p50"), (0.9, "p90")):
        exact = lengths.quantile(q, "nearest")
        assert exact <= approximate[name] <= exact * 1.13, name
    assert lengths.max() <= approximate["max"] <= lengths.max() * 1.13
    assert report.histogram_quantiles(np.zeros(len(report.LENGTH_BINS) - 1)) == {}


def test_lengths_beyond_the_last_bin_are_counted_in_it_and_survive_the_manifest():
    histogram = report.length_histogram(pl.Series([2_000_000, 0]))
    assert histogram[-1] == 1 and histogram[0] == 1
    assert len(histogram) == len(report.LENGTH_BINS) - 1
    assert (report.dense(json.loads(json.dumps(report.sparse(histogram)))) == histogram).all()


def manifest(tag: str, **changes) -> dict:
    document = {
        "tag": tag,
        "created_at": "2026-12-01T00:00:00+00:00",
        "git_commit": "aaa",
        "configuration": {"sources": {"ultrachat": "main"}},
        "policies": ["max_overall_random_other"],
        "tables": {"sft_by": {}, "prefs_by": {}},
        "views": {"sft_ja": {"declaration": {"languages": ["ja"], "format": "trl"}}},
    }
    document.update(changes)
    return document


def test_a_first_release_has_nothing_to_compare_with():
    changes = report.release_changes(None, manifest("r1"), {})
    assert changes == {"previous": None}
    assert "First release" in report.changes_markdown(changes)


def test_changes_name_each_declaration_field_policy_revision_and_config_that_changed():
    before = manifest("r1")
    after = manifest(
        "r2",
        git_commit="bbb",
        configuration={"sources": {"ultrachat": "f220fe796ce3ed62fbe1681b45ce6cbc9c6cabe0"}},
        policies=["max_mean_rating_drop_ties", "max_overall_random_other"],
        tables={"sft_by": {}},
        views={
            "sft_ja": {"declaration": {"languages": ["ja", "zh"], "format": "trl"}},
            "sft_zh": {"declaration": {}},
        },
    )
    rows = {"sft_by": {"train": (5, 2)}}
    changes = report.release_changes(before, after, rows)
    assert changes["previous"] == "r1"
    assert changes["declarations"] == {"sft_ja": {"languages": [["ja"], ["ja", "zh"]]}}
    assert changes["policies_added"] == ["max_mean_rating_drop_ties"]
    assert changes["policies_removed"] == []
    assert changes["configs_added"] == ["sft_zh"]
    assert changes["configs_removed"] == ["prefs_by"]
    assert changes["source_revisions"] == {
        "ultrachat": ["main", "f220fe796ce3ed62fbe1681b45ce6cbc9c6cabe0"]
    }
    assert changes["code"] == ["aaa", "bbb"]
    page = report.changes_markdown(changes)
    assert "| sft_by | train | 5 | 2 |" in page
    assert "View `sft_ja` declaration changed: `languages` ['ja'] → ['ja', 'zh']" in page
    assert "New configs: sft_zh." in page and "no longer released: prefs_by" in page


def test_an_identical_release_reports_no_declaration_changes():
    changes = report.release_changes(manifest("r1"), manifest("r2"), {"sft_by": {"train": (0, 0)}})
    assert not changes["declarations"] and not changes["source_revisions"]
    assert changes["code"] is None
    assert "Declarations, policies, source revisions and code are unchanged." in (
        report.changes_markdown(changes)
    )


def test_shares_keep_the_largest_categories_and_sum_the_rest_as_other():
    counts = {"en": 60, "ja": 20, "zh": 10, "de": 6, "fr": 4}
    assert report.shares(counts, top=2) == {"en": 0.6, "ja": 0.2, "other": 0.2}
    assert report.shares({}) == {}


def image(png: bytes) -> Image.Image:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    return Image.open(io.BytesIO(png))


def test_the_plots_are_png_images_and_draw_their_numbers():
    mix = report.mix_png({"sft_by": {"en": 9, "ja": 1}, "empty": {}}, "Language mix")
    lengths = report.lengths_png({"sft_by": np.arange(len(report.LENGTH_BINS) - 1)})
    counts = report.counts_png({"PERSON": 3, "EMAIL_ADDRESS": 5}, {})
    blank = report.counts_png({}, {})
    for png in (mix, lengths, counts, blank):
        assert min(image(png).size) > 100
    # drawn bars are not the blank panels: the images differ
    assert image(counts).tobytes() != image(blank).tobytes()


def test_decontamination_totals_are_named_by_table_and_benchmark():
    recorded = {
        "sft_by": {"ultrachat/mt_bench": 2, "ultrachat_200k/mt_bench": 1},
        "prefs_by": {"ultrafeedback/mt_bench": 4},
        "prompts_by": {},
    }
    assert report.decontaminated_totals(recorded) == {
        "sft_by / mt_bench": 3,
        "prefs_by / mt_bench": 4,
    }


def test_the_report_page_links_every_plot_and_lists_the_numbers():
    page = report.report_markdown(
        "r2",
        {"sft_by": {"en": 3}},
        {"sft_by": {"MIT": 3}},
        {"sft_by": {"p10": 1, "p50": 2, "p90": 3, "max": 4}},
        {"PERSON": 7},
        {"sft_by / mt_bench": 2},
        "First release of this lake: nothing to compare with.",
    )
    for plot in ("languages", "lengths", "licences", "pii_and_decontamination"):
        assert f"(report_{plot}.png)" in page
    assert "| sft_by | 1 | 2 | 3 | 4 |" in page
    assert "| PERSON | 7 |" in page and "| sft_by / mt_bench | 2 |" in page
