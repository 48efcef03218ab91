"""Specification of transforms.language: deterministic ISO 639-1 language identification."""

from __future__ import annotations

import multiprocessing
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.transforms.multilingual_samples import (
    LANGUAGE_SAMPLES,
    SIMPLIFIED_CHINESE,
    TRADITIONAL_CHINESE,
    UNDETERMINED_TEXTS,
)
from transforms.language import (
    ENGLISH_FAST_PATH_PROB,
    UNDETERMINED,
    LanguageSettings,
    clean_for_detection,
    combine_scores,
    detect_language,
    detect_languages,
    letter_count,
    lingua_iso639_1,
    lingua_languages,
    plainly_english,
    repeats_one_unit,
    short_text_scores,
    to_iso639_1,
)
from transforms.text_engines import settings_fingerprint

TEXTS = [text for _, text in LANGUAGE_SAMPLES]
LANGDETECT_ONLY = LanguageSettings(english_fast_path=False)


def _fast_path_takes(text: str) -> bool:
    return plainly_english(clean_for_detection(text, LanguageSettings().max_chars))


def test_the_labelled_sample_set_is_big_and_varied_enough_to_measure_accuracy() -> None:
    languages = Counter(language for language, _ in LANGUAGE_SAMPLES)
    assert len(LANGUAGE_SAMPLES) >= 120
    assert len(languages) >= 12
    assert min(languages.values()) >= 8
    assert all(50 <= len(text) <= 300 for text in TEXTS)
    assert len(set(TEXTS)) == len(TEXTS)


def test_accuracy_on_labelled_chat_sentences_is_at_least_95_percent() -> None:
    predictions = detect_languages(TEXTS)
    wrong = [
        (expected, got, text)
        for (expected, text), (got, _) in zip(LANGUAGE_SAMPLES, predictions, strict=True)
        if got != expected
    ]
    accuracy = 1 - len(wrong) / len(LANGUAGE_SAMPLES)
    print(f"language accuracy: {accuracy:.1%} on {len(LANGUAGE_SAMPLES)} samples")
    assert accuracy >= 0.95, f"accuracy {accuracy:.1%}; misclassified: {wrong}"


@pytest.mark.parametrize("text", UNDETERMINED_TEXTS)
def test_texts_without_enough_language_are_undetermined(text: str) -> None:
    assert detect_language(text) == (UNDETERMINED, 0.0)


def test_both_chinese_scripts_map_to_zh() -> None:
    assert to_iso639_1("zh-cn") == to_iso639_1("zh-tw") == "zh"
    for text in (SIMPLIFIED_CHINESE, TRADITIONAL_CHINESE):
        code, probability = detect_language(text)
        assert code == "zh" and probability >= 0.5


def test_traditional_chinese_is_not_mistaken_for_korean() -> None:
    # Raw langdetect says "ko" (p=0.86) for TRADITIONAL_CHINESE although it has no Hangul.
    assert detect_language(TRADITIONAL_CHINESE)[0] == "zh"
    korean = "요즘 밤에 잠을 잘 못 자서 낮에 너무 피곤해요. 좋은 습관이 있을까요?"
    assert detect_language(korean)[0] == "ko"


def test_every_answer_is_an_iso_639_1_code_or_und_with_a_probability() -> None:
    for code, probability in detect_languages([*TEXTS, *UNDETERMINED_TEXTS]):
        assert code == UNDETERMINED or (len(code) == 2 and code.isalpha() and code.islower())
        assert 0.0 <= probability <= 1.0
        assert (code == UNDETERMINED) == (probability == 0.0)


def test_repeated_calls_give_identical_results() -> None:
    first = detect_languages(TEXTS)
    assert detect_languages(TEXTS) == first
    assert [detect_language(text) for text in TEXTS] == first


def _detect_in_worker(texts: list[str]) -> list[tuple[str, float]]:
    return detect_languages(texts)


def test_a_fresh_worker_process_gives_identical_results() -> None:
    # "spawn" starts a brand-new interpreter: it loads its own profiles and must still agree
    # bit for bit, including probabilities (the seed makes langdetect's sampling repeatable).
    sample = TEXTS[::5]
    with ProcessPoolExecutor(
        max_workers=1, mp_context=multiprocessing.get_context("spawn")
    ) as pool:
        in_worker = pool.submit(_detect_in_worker, sample).result(timeout=120)
    assert in_worker == detect_languages(sample)


def test_concurrent_threads_agree_with_sequential_calls() -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        concurrent = list(pool.map(detect_language, TEXTS))
    assert concurrent == detect_languages(TEXTS)


def test_the_seed_is_part_of_the_settings_and_clear_texts_do_not_depend_on_it() -> None:
    for seed in (1, 42):
        labels = [code for code, _ in detect_languages(TEXTS[::3], LanguageSettings(seed=seed))]
        assert labels == [language for language, _ in LANGUAGE_SAMPLES[::3]]


def test_only_the_first_max_chars_are_examined() -> None:
    french = "Je voudrais écrire une lettre de motivation pour un stage dans une agence. " * 3
    english = "This part is written in English and should never be looked at by the detector. "
    text = french + english * 50
    assert detect_language(text)[0] == "fr"
    assert detect_language(english * 50)[0] == "en"


def test_min_prob_turns_uncertain_answers_into_und() -> None:
    strict = LanguageSettings(min_prob=0.999999)
    for code, probability in detect_languages(TEXTS, strict):
        assert code == UNDETERMINED or probability >= 0.999999
    mixed = "Ich habe eine Frage zu meinem Code. Can you tell me why the loop never ends?"
    assert detect_language(mixed, LanguageSettings(min_prob=1.0)) == (UNDETERMINED, 0.0)


def test_code_urls_and_emails_are_ignored() -> None:
    code = "```python\n" + "def handler(request):\n    return response.json()\n" * 10 + "```\n"
    question = "Warum gibt diese Funktion immer einen leeren Wert zurück?"
    assert detect_language(code + question)[0] == "de"
    url_heavy = (
        "https://example.com/docs/getting-started/installation/linux "
        "この手順の通りにインストールしたのですが、エラーが出てしまいます。"
    )
    assert detect_language(url_heavy)[0] == "ja"
    only_code = "```js\nconsole.log(items.map(x => x * 2));\n```"
    assert detect_language(only_code) == (UNDETERMINED, 0.0)
    cleaned = clean_for_detection("mail me at a.b@example.com or www.example.com", 400)
    assert "example" not in cleaned


def test_letter_count_ignores_digits_punctuation_and_emoji_but_keeps_marks() -> None:
    assert letter_count("Hi, there! 123 👍") == len("Hi there")
    # Devanagari vowel signs are combining marks: they count as part of the word.
    assert letter_count("नमस्ते") == len("नमस्ते")
    assert letter_count("12:30 — $4.99 !!!") == 0


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError):
        LanguageSettings(min_chars=500, max_chars=400)
    with pytest.raises(ValueError):
        LanguageSettings(min_prob=1.5)


# English fast path: plainly English texts are answered without langdetect.

ENGLISH_PROSE = (
    "Can you help me plan a birthday party for my son? He is turning ten and loves dinosaurs."
)


def test_plainly_english_prose_is_answered_by_the_fast_path() -> None:
    assert _fast_path_takes(ENGLISH_PROSE)
    assert detect_language(ENGLISH_PROSE) == ("en", ENGLISH_FAST_PATH_PROB)
    # langdetect agrees, with its own (averaged) probability.
    code, probability = detect_language(ENGLISH_PROSE, LANGDETECT_ONLY)
    assert code == "en" and probability != ENGLISH_FAST_PATH_PROB


def test_a_min_prob_above_the_fast_path_probability_sends_english_to_langdetect() -> None:
    strict = LanguageSettings(min_prob=0.995)
    assert detect_language(ENGLISH_PROSE, strict) == detect_language(
        ENGLISH_PROSE, LanguageSettings(min_prob=0.995, english_fast_path=False)
    )
    assert detect_language(ENGLISH_PROSE, strict)[1] >= 0.995


# Written without accents, as people often type. The Italian and Portuguese ones are 22-35 %
# words of ENGLISH_FUNCTION_WORDS ("i", "a", "in", "as", "do" are their words too): the
# fast path needs some English-only function words as well, and they have none.
ACCENT_FREE_FOREIGN = (
    ("es", "Me puedes decir como hacer una tortilla de patatas para cuatro personas"),
    ("es", "Voy a ir a la playa con mi familia el fin de semana si no llueve"),
    ("de", "Ich habe ein Problem mit meinem Computer, er startet seit gestern nicht mehr"),
    ("de", "Was ist der Unterschied zwischen einer Liste und einem Tupel in Python"),
    ("fr", "Bonjour, pourrais tu m'aider a ecrire une lettre de motivation pour un stage"),
    ("fr", "Le fondement d'une nation, c'est aussi une histoire."),
    ("it", "Ciao, mi puoi aiutare a scrivere una lettera di presentazione per un lavoro"),
    ("it", "Ho portato i bambini a scuola in macchina e poi sono andato a lavorare in ufficio"),
    ("it", "Sono andata a Roma in treno con i miei genitori e i nonni a vedere i musei"),
    ("pt", "Ola, voce pode me ajudar a escrever uma carta de apresentacao para uma vaga"),
    ("pt", "Eu fui a praia com as minhas amigas e depois fomos a casa do meu tio para jantar"),
    ("pt", "A menina deu as flores a mae dela e foi a escola do bairro com as primas"),
    ("nl", "Kun je me helpen met het schrijven van een brief aan mijn huisbaas"),
    ("nl", "Het is mooi weer in Amsterdam en ik ga met mijn vriend in het park wandelen"),
)


@pytest.mark.parametrize(("language", "text"), ACCENT_FREE_FOREIGN)
def test_accent_free_romance_and_germanic_sentences_go_to_langdetect(
    language: str, text: str
) -> None:
    assert text.isascii() and len(text.split()) >= 8
    assert not _fast_path_takes(text)
    assert detect_language(text) == detect_language(text, LANGDETECT_ONLY)
    assert detect_language(text)[0] == language


@pytest.mark.parametrize(
    "text",
    [
        "Could you summarise this article for me?",  # 7 words: one too few
        "I love the café on the corner of my street and the people there too.",  # an accent
    ],
)
def test_short_or_accented_english_goes_to_langdetect(text: str) -> None:
    assert not _fast_path_takes(text)
    assert detect_language(text) == detect_language(text, LANGDETECT_ONLY)
    assert detect_language(text)[1] != ENGLISH_FAST_PATH_PROB


def test_the_fast_path_agrees_with_langdetect_on_the_labelled_set() -> None:
    fast = [language for language, text in LANGUAGE_SAMPLES if _fast_path_takes(text)]
    english = sum(language == "en" for language, _ in LANGUAGE_SAMPLES)
    assert set(fast) == {"en"} and len(fast) >= 0.8 * english
    with_fast_path = detect_languages(TEXTS)
    without = detect_languages(TEXTS, LANGDETECT_ONLY)
    assert [code for code, _ in with_fast_path] == [code for code, _ in without]
    correct = sum(
        got == expected
        for (expected, _), (got, _) in zip(LANGUAGE_SAMPLES, with_fast_path, strict=True)
    )
    assert correct / len(LANGUAGE_SAMPLES) >= 0.95


def test_the_fast_path_setting_is_part_of_the_engine_fingerprint() -> None:
    assert settings_fingerprint(LanguageSettings()) != settings_fingerprint(LANGDETECT_ONLY)
    assert settings_fingerprint(LanguageSettings()) == settings_fingerprint(
        LanguageSettings(english_fast_path=True)
    )


# Short-text path: texts of short_min_chars..min_chars-1 letters get a language from lingua
# and langdetect together. The examples are lines of lingua's test data, vendored under
# evaluation/data/language (see SOURCE.md there), not invented.

VENDORED = Path(__file__).resolve().parents[2] / "evaluation" / "data" / "language"
SHORT_OFF = LanguageSettings(short_text_path=False)
LANGDETECT_ALONE = LanguageSettings(short_lingua_weight=0.0)

# Two-word texts that plain langdetect gets wrong (its top label: af, da, ca, af, cs, bg, ar,
# fa, ne, so, id, fi, vi, fr) and the short-text path gets right.
VENDORED_WORD_PAIRS = (
    ("de", "signals bestimmt"),
    ("en", "december council"),
    ("es", "abrir nueva"),
    ("fr", "devaient occuper"),
    ("nl", "nieuwsblad maart"),
    ("pt", "centro várzea"),
    ("ru", "серия двадцать"),
    ("fa", "ثعالبی شناسی"),
    ("ur", "ہماری شناخت"),
    ("mr", "लिटरला रुपये"),
    ("sw", "nguvu kuliko"),
    ("lt", "nufilmuota dabar"),
    ("et", "vajab toitu"),
    ("tl", "isang executive"),
)
# Two-word texts on which langdetect and lingua each name a different wrong language: the
# short-text path says "und" rather than guess.
VENDORED_AMBIGUOUS_PAIRS = (
    ("af", "departement energie"),
    ("bg", "изнамеря соларни"),
    ("da", "denne liste"),
    ("de", "klimamodelle werden"),
    ("en", "daily basis"),
)
# Sentences (20+ letters): langdetect alone decides, as before the short-text path.
VENDORED_SENTENCES = (
    ("fr", "Le fondement d'une nation, c'est aussi une histoire."),
    ("sl", "Alina se ne osvobodi, čeprav bi se zelo rada."),
    ("ta", "1824ஆம் ஆண்டில் கார்காசி மீண்டும் செருமனி சென்றார்."),
    ("zh", "一直到家中发生一连串令人难以担当的事故，才动摇了我们的信念。"),
    ("tl", "Ang album ay kasalungat ng Goodbye Lullaby."),
    ("ro", "Absorber este o componenta integrata a fiecarui colector solar."),
)
# Filler whose letters are one unit repeated: both detectors find a language in it ("so",
# "tl", "sw", ...) with a share above short_min_share, so only the repetition rule stops it.
REPETITIONS = ("hahaha", "okay okay", "xoxoxo", "lmao lmao", "yay yay yay")


def _vendored(kind: str) -> set[tuple[str, str]]:
    lines = (VENDORED / f"{kind}.tsv").read_text(encoding="utf-8").split("\n")[1:]
    return {tuple(line.split("\t", 1)) for line in lines if line}  # type: ignore[misc]


def _best_of(text: str, settings: LanguageSettings) -> tuple[str, float]:
    scores = short_text_scores(clean_for_detection(text, settings.max_chars), settings)
    return max(scores.items(), key=lambda item: (item[1], item[0]))


def test_the_short_text_examples_are_lines_of_the_vendored_lingua_data() -> None:
    pairs = _vendored("word_pairs")
    assert set(VENDORED_WORD_PAIRS) <= pairs
    assert set(VENDORED_AMBIGUOUS_PAIRS) <= pairs
    sentences = _vendored("sentences")
    assert set(VENDORED_SENTENCES) <= sentences
    assert ("cs", "ČECHOVÁ Zdenka, Mgr.") in sentences


@pytest.mark.parametrize(("language", "text"), VENDORED_WORD_PAIRS)
def test_two_word_texts_get_their_language_from_the_short_text_path(
    language: str, text: str
) -> None:
    settings = LanguageSettings()
    letters = letter_count(clean_for_detection(text, settings.max_chars))
    assert settings.short_min_chars <= letters < settings.min_chars
    code, share = detect_language(text)
    assert code == language
    assert settings.short_min_share <= share <= 1.0
    # Without the path the text is "und"; langdetect alone would have named another language.
    assert detect_language(text, SHORT_OFF) == (UNDETERMINED, 0.0)
    assert _best_of(text, LANGDETECT_ALONE)[0] != language


@pytest.mark.parametrize(("language", "text"), VENDORED_AMBIGUOUS_PAIRS)
def test_two_word_texts_the_detectors_disagree_on_are_undetermined(
    language: str, text: str
) -> None:
    assert detect_language(text) == (UNDETERMINED, 0.0)
    assert _best_of(text, LANGDETECT_ALONE)[0] != language
    assert _best_of(text, LanguageSettings(short_lingua_weight=1.0))[0] != language


@pytest.mark.parametrize(("language", "text"), VENDORED_SENTENCES)
def test_sentences_are_decided_by_langdetect_as_before(language: str, text: str) -> None:
    assert letter_count(clean_for_detection(text, 200)) >= LanguageSettings().min_chars
    assert detect_language(text) == detect_language(text, SHORT_OFF)
    assert detect_language(text)[0] == language


def test_a_short_vendored_sentence_is_answered_only_with_the_short_text_path() -> None:
    text = "ČECHOVÁ Zdenka, Mgr."  # 18 letters: below min_chars
    assert detect_language(text)[0] == "cs"
    assert detect_language(text, SHORT_OFF) == (UNDETERMINED, 0.0)


@pytest.mark.parametrize("text", REPETITIONS)
def test_repeated_filler_is_undetermined(text: str) -> None:
    assert repeats_one_unit(text)
    assert detect_language(text) == (UNDETERMINED, 0.0)
    # Not because the detectors were unsure: the repetition rule is what says "und".
    assert _best_of(text, LanguageSettings())[1] >= LanguageSettings().short_min_share


@pytest.mark.parametrize("text", ["hi", "ok?", "Hola", "Danke!", "你好", "12345", "👍"])
def test_junk_below_the_letter_floor_is_undetermined_whatever_the_detectors_say(
    text: str,
) -> None:
    settings = LanguageSettings()
    assert letter_count(clean_for_detection(text, settings.max_chars)) < settings.short_min_chars
    assert detect_language(text) == (UNDETERMINED, 0.0)
    # A floor of one letter lets confident guesses through ("你好" is zh; "Hola" is called tr).
    if text in ("Hola", "你好"):
        assert detect_language(text, LanguageSettings(short_min_chars=1)) != (UNDETERMINED, 0.0)


def test_the_short_text_path_is_deterministic_across_calls_threads_and_processes() -> None:
    texts = [text for _, text in VENDORED_WORD_PAIRS + VENDORED_AMBIGUOUS_PAIRS]
    first = detect_languages(texts)
    assert detect_languages(texts) == first
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(detect_language, texts * 4)) == first * 4
    with ProcessPoolExecutor(
        max_workers=1, mp_context=multiprocessing.get_context("spawn")
    ) as pool:
        assert pool.submit(_detect_in_worker, texts).result(timeout=120) == first


def test_combine_scores_needs_both_detectors_to_back_a_language() -> None:
    # lingua backs "a", langdetect "b", both give "c" a fifth: with lingua's weight 0.7 "a"
    # beats "b", but the language both back beats either.
    lingua = {"a": 0.8, "c": 0.2}
    langdetect = {"b": 0.8, "c": 0.2}
    scores = combine_scores(lingua, langdetect, lingua_weight=0.7)
    raw = {  # (score + 0.001) ** weight, multiplied over the two detectors
        "a": 0.801**0.7 * 0.001**0.3,
        "b": 0.001**0.7 * 0.801**0.3,
        "c": 0.201**0.7 * 0.201**0.3,
    }
    total = sum(raw.values())
    for code, value in raw.items():
        assert scores[code] == pytest.approx(value / total)
    assert scores["c"] > scores["a"] > scores["b"]
    assert sum(scores.values()) == pytest.approx(1.0)
    assert combine_scores({}, {}, 0.7) == {}
    # Weight 0 is langdetect alone, weight 1 is lingua alone.
    assert max(combine_scores(lingua, langdetect, 0.0).items(), key=lambda i: i[1])[0] == "b"
    assert max(combine_scores(lingua, langdetect, 1.0).items(), key=lambda i: i[1])[0] == "a"


def test_lingua_is_restricted_to_the_languages_langdetect_knows() -> None:
    codes = [lingua_iso639_1(language) for language in lingua_languages()]
    assert len(codes) == len(set(codes)) == 51
    assert {"no", "zh", "en", "ja", "ko", "ar", "hi"} <= set(codes)
    assert not {"nb", "nn", "la", "kn", "ml", "ne"} & set(codes)


def test_short_text_settings_are_validated_and_part_of_the_engine_fingerprint() -> None:
    for bad in (
        {"short_min_chars": 0},
        {"short_min_share": 0.0},
        {"short_min_share": 1.5},
        {"short_lingua_weight": -0.1},
        {"short_lingua_weight": 1.1},
    ):
        with pytest.raises(ValueError):
            LanguageSettings(**bad)  # type: ignore[arg-type]
    default = settings_fingerprint(LanguageSettings())
    for changed in (
        SHORT_OFF,
        LanguageSettings(short_min_chars=8),
        LanguageSettings(short_min_share=0.5),
        LanguageSettings(short_lingua_weight=0.8),
    ):
        assert settings_fingerprint(changed) != default
