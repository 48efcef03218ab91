"""langdetect's sampling on NumPy rows gives langdetect's own answers, float for float, on
text other people wrote: sentences and word pairs in 51 languages and real chat turns
(evaluation/data, vendored with their sources), with and without a prior."""

import json
from pathlib import Path

import polars as pl
from langdetect.lang_detect_exception import LangDetectException

from transforms.langdetect_sampling import sampled_probabilities
from transforms.language import _get_factory, _get_profiles

DATA = Path(__file__).resolve().parents[2] / "evaluation" / "data"


def external_texts() -> list[str]:
    language = [
        pl.read_csv(DATA / "language" / f"{name}.tsv", separator="\t", quote_char=None)
        .filter(pl.int_range(pl.len()) % 5 == 0)["text"]
        .to_list()
        for name in ("sentences", "word_pairs")
    ]
    lines = (DATA / "real_text" / "texts.jsonl").read_text(encoding="utf-8").split("\n")
    chat = [json.loads(line)["text"][:200] for line in lines[::20] if line]
    return [*language[0], *language[1], *chat]


def detector(text: str, seed: int, prior: dict[str, float] | None):
    made = _get_factory().create()
    made.seed = seed
    if prior is not None:
        made.set_prior_map(prior)
    made.append(text)
    return made


def langdetect_answer(text: str, seed: int, prior: dict[str, float] | None):
    try:
        return [(c.lang, c.prob) for c in detector(text, seed, prior).get_probabilities()]
    except LangDetectException as error:
        return f"error: {error.get_code()}"


def ported_answer(text: str, seed: int, prior: dict[str, float] | None):
    try:
        return sampled_probabilities(detector(text, seed, prior), _get_profiles())
    except LangDetectException as error:
        return f"error: {error.get_code()}"


def test_the_sampling_gives_langdetects_probabilities_exactly():
    seed = 0  # the pipeline's
    texts = external_texts()
    assert len(texts) > 800
    different = [
        text
        for text in texts
        if ported_answer(text, seed, None) != langdetect_answer(text, seed, None)
    ]
    assert different == []


def test_a_prior_map_is_followed_as_langdetect_follows_it():
    without_korean = {lang: 1.0 for lang in _get_factory().langlist if lang != "ko"}
    for text in ("漢字與韓國語", "我們明天見面吧", "這是一個測試句子，用來檢查語言"):
        assert ported_answer(text, 0, without_korean) == langdetect_answer(text, 0, without_korean)
        assert "ko" not in dict(ported_answer(text, 0, without_korean))


def test_a_text_without_features_is_refused_as_langdetect_refuses_it():
    assert ported_answer("1234 !!", 0, None) == langdetect_answer("1234 !!", 0, None)
    assert str(ported_answer("1234 !!", 0, None)).startswith("error")
