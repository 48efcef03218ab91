"""evaluation.language: its scoring on hand-computed examples, and the vendored data's shape."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from evaluation.language import (
    DATA_DIR,
    DETECTORS,
    KINDS,
    UNDETERMINED,
    load_texts,
    markdown,
    score,
)
from transforms.language import lingua_iso639_1, lingua_languages


def test_score_counts_und_against_coverage_not_accuracy() -> None:
    expected = ["en", "en", "en", "de", "de"]
    predicted = ["en", UNDETERMINED, "fr", "de", "de"]
    result = score(expected, predicted)
    # 4 of 5 answered; 3 of those 4 right; 3 of all 5 right.
    assert result["overall"] == {
        "n": 5,
        "answered": 4,
        "correct": 3,
        "coverage": 0.8,
        "accuracy": 0.75,
        "accuracy_all": 0.6,
    }
    english = result["per_language"]["en"]
    assert (english["n"], english["answered"], english["correct"]) == (3, 2, 1)
    assert english["coverage"] == pytest.approx(2 / 3)
    assert english["accuracy"] == 0.5
    assert english["accuracy_all"] == pytest.approx(1 / 3)
    assert result["per_language"]["de"]["accuracy"] == 1.0
    assert list(result["per_language"]) == ["de", "en"]


def test_score_of_nothing_answered_is_zero_not_an_error() -> None:
    result = score(["fr", "fr"], [UNDETERMINED, UNDETERMINED])
    assert result["overall"]["coverage"] == 0.0
    assert result["overall"]["accuracy"] == 0.0
    with pytest.raises(ValueError):
        score(["fr"], [])


def test_load_texts_reads_lang_tab_text_under_a_header(tmp_path: Path) -> None:
    (tmp_path / "word_pairs.tsv").write_text(
        "lang\ttext\nde\tsignals bestimmt\nfr\tquand même\n", encoding="utf-8"
    )
    assert load_texts("word_pairs", tmp_path) == [
        ("de", "signals bestimmt"),
        ("fr", "quand même"),
    ]


def test_the_vendored_data_has_the_shape_source_md_describes() -> None:
    known = {lingua_iso639_1(language) for language in lingua_languages()}
    per_kind = {"sentences": (23, 30), "word_pairs": (27, 100), "single_words": (23, 100)}
    for kind in KINDS:
        pairs = load_texts(kind)
        counts = Counter(lang for lang, _ in pairs)
        languages, per_language = per_kind[kind]
        assert len(counts) == languages and set(counts.values()) == {per_language}
        assert set(counts) <= known
        assert all(text and text == text.strip() for _, text in pairs)
    assert (DATA_DIR / "SOURCE.md").exists()


def _tiny_result() -> dict:
    scored = score(["de", "de"], ["de", UNDETERMINED])
    speed = {"seconds": 0.5, "texts_per_second": 4.0, "chars_per_second": 64.0}
    detectors = {name: {**scored, "throughput": speed} for name in DETECTORS}
    return {
        "sources": [
            {
                "texts": "word pairs",
                "repo": "owner/repo",
                "commit": "0" * 40,
                "path": "a/b.txt",
                "licence": "Apache-2.0",
                "copyright": "Copyright",
            }
        ],
        "settings": {
            "min_chars": 20,
            "short_min_chars": 6,
            "short_lingua_weight": 0.7,
            "short_min_share": 0.46,
        },
        "kinds": {
            "word_pairs": {"texts": 2, "languages": ["de"], "chars": 32, "detectors": detectors}
        },
        "memory": {
            "rss_start_mb": 50.0,
            "rss_langdetect_mb": 80.0,
            "rss_with_short_path_mb": 130.0,
            "short_path_extra_mb": 50.0,
            "lingua_ms_per_short_text": 0.2,
            "short_texts_timed": 2,
        },
    }


def test_markdown_is_a_self_contained_section_with_its_sources() -> None:
    text = markdown(_tiny_result())
    assert text.startswith("## Language\n")
    assert "### Sources" in text and "owner/repo" in text
    assert "| de | 2 | 50.0% | 100.0% | 100.0% | 50.0% | 100.0% |" in text
    assert "added 50 MB of RSS" in text
