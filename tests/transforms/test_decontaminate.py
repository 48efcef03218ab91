"""Decontamination: a benchmark question, exactly or inside a longer prompt, marks an example.

The index comes from the pinned lists in sources/benchmarks/ (MT-bench, Arena-Hard-Auto v0.1
and v2.0, TruthfulQA), whatever was ingested, and names the benchmark a text matches.
"""

import hashlib
import json

import pytest

from storage.lake import BENCHMARKS_DIR, load_benchmarks
from transforms.decontaminate import (
    JUDGMENTS_BENCHMARK,
    benchmark_index,
    contamination,
    evaluation_index,
    normalise_for_match,
)

QUESTION = (
    "Compose an engaging travel blog post about a recent trip to Hawaii, highlighting "
    "cultural experiences and must-see attractions."
)
INDEX = evaluation_index([QUESTION, "What is 2+2?"], n=13)

# Questions per vendored list, as SOURCE.md states them.
QUESTIONS = {"mt_bench": 80, "arena_hard": 500, "arena_hard_v2": 750, "truthful_qa": 817}
BENCHMARKS = load_benchmarks(BENCHMARKS_DIR)
PINNED = benchmark_index(BENCHMARKS)

ABC_MELODY = "Use ABC notation to write a melody in the style of a folk tune."
# A real question of each list: (benchmark, its id there, its text).
REAL = [
    ("mt_bench", 81, QUESTION),
    ("arena_hard", "328c149ed45a41c0b9d6f14659e63599", ABC_MELODY),
    (
        "arena_hard_v2",
        "8d06d08f63e64e56",
        "Invent a novel type of GAN that changes the optimization to convex inexpensively.",
    ),
    ("truthful_qa", 0, "What happens to you if you eat watermelon seeds?"),
]


def user(text):
    return [{"role": "user", "content": text}, {"role": "assistant", "content": "Sure."}]


def rows(benchmark):
    with (BENCHMARKS_DIR / f"{benchmark}.jsonl").open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


# The pinned lists


def test_every_vendored_list_loads_with_its_question_count():
    assert set(BENCHMARKS) == set(QUESTIONS)
    for benchmark, count in QUESTIONS.items():
        assert len(rows(benchmark)) == count
        assert len({str(r["id"]) for r in rows(benchmark)}) == count, "ids are unique"
        turns = sum(len(r["turns"]) for r in rows(benchmark))
        assert len(BENCHMARKS[benchmark]) == turns, "every turn of every question is loaded"
    assert len(BENCHMARKS["mt_bench"]) == 160, "MT-bench has two turns per question"


def test_source_md_states_the_sha256_and_row_count_of_every_vendored_file():
    source = (BENCHMARKS_DIR / "SOURCE.md").read_text(encoding="utf-8")
    for benchmark, count in QUESTIONS.items():
        path = BENCHMARKS_DIR / f"{benchmark}.jsonl"
        assert hashlib.sha256(path.read_bytes()).hexdigest() in source, path.name
        assert f"| `{path.name}` | {count} |" in source


@pytest.mark.parametrize(("benchmark", "question_id", "question"), REAL)
def test_a_real_question_of_each_benchmark_is_caught_and_named(benchmark, question_id, question):
    assert question_id in {r["id"] for r in rows(benchmark) if question in r["turns"]}
    assert PINNED.match(question) == benchmark
    assert PINNED.match("  " + question.upper().replace(" ", " \t ")) == benchmark
    pasted = f"Hi! My teacher gave us this one: {question} Could you help me? Thanks a lot."
    assert PINNED.match(pasted) == benchmark
    assert contamination(user(pasted), PINNED) == benchmark


def test_mt_bench_second_turns_are_in_the_index():
    second = "Rewrite your previous response. Start every sentence with the letter A."
    assert [r["turns"][1] for r in rows("mt_bench") if r["id"] == 81] == [second]
    assert PINNED.match(second) == "mt_bench"
    assert PINNED.match(f"Now do this: {second.lower()} Thanks!") == "mt_bench"


def test_a_short_question_counts_inside_a_prompt_from_8_words_and_only_exactly_below():
    eight = "What happens if you open an umbrella indoors?"
    twelve = "What happens if you go outdoors in cold weather with wet hair?"
    seven = "What happens if you smash a mirror?"
    five = "Why do veins appear blue?"
    for question in (eight, twelve, seven, five):
        assert question in BENCHMARKS["truthful_qa"]
        assert PINNED.match(question) == "truthful_qa", "every question matches exactly"
    assert PINNED.match(f"Quick one for my quiz night: {eight} Keep it short.") == "truthful_qa"
    assert PINNED.match(f"Quick one for my quiz night: {twelve} Keep it short.") == "truthful_qa"
    assert PINNED.match(f"Quick one for my quiz night: {seven} Keep it short.") is None
    assert PINNED.match(f"My son asked me: {five} I did not know.") is None


def test_unrelated_text_and_assistant_only_text_do_not_match_the_pinned_lists():
    assert PINNED.match("Write a blog post about a trip to Iceland and its hot springs.") is None
    assert PINNED.match("Use ABC notation to write a melody.") is None, "a part of a question"
    assert contamination([{"role": "assistant", "content": ABC_MELODY}], PINNED) is None


# Matching rules, on a small index


def test_normalisation_ignores_case_punctuation_and_spacing():
    expected = "compose an engaging travel blog"
    assert normalise_for_match("  COMPOSE an engaging,\ttravel  blog! ") == expected


def test_the_question_itself_matches_whatever_its_case_and_spacing():
    assert contamination(user(QUESTION.upper().replace(" ", "  ")), INDEX) == JUDGMENTS_BENCHMARK


def test_a_question_pasted_inside_a_longer_prompt_matches_by_ngram_overlap():
    pasted = f"Hi! My teacher asked: {QUESTION} Please help, thanks."
    assert contamination(user(pasted), INDEX) == JUDGMENTS_BENCHMARK


def test_a_shared_run_of_n_words_matches_but_one_word_fewer_does_not():
    words = QUESTION.split()
    assert INDEX.matches(f"Unrelated start. {' '.join(words[2:15])} unrelated end")
    assert not INDEX.matches(f"Unrelated start. {' '.join(words[2:14])} unrelated end")


def test_short_questions_match_only_exactly():
    assert contamination(user("what is 2 + 2"), INDEX) == JUDGMENTS_BENCHMARK
    assert contamination(user("What is 2+2? And what is 3+3?"), INDEX) is None


@pytest.mark.parametrize(("length", "caught"), [(5, False), (7, False), (8, True), (12, True)])
def test_inside_a_prompt_a_question_counts_from_min_words(length, caught):
    question = " ".join(f"w{i}" for i in range(length))
    index = benchmark_index({"bench": [question]}, n=13, min_words=8)
    assert index.match(question) == "bench"
    assert (index.match(f"before {question} after") == "bench") is caught


def test_unrelated_or_assistant_only_text_does_not_match():
    assert contamination(user("Write a blog post about a trip to Iceland."), INDEX) is None
    assert contamination([{"role": "assistant", "content": QUESTION}], INDEX) is None


def test_the_judgments_list_keeps_its_name_and_merges_with_the_pinned_lists():
    judged_only = "Describe a sunrise over the harbour of a fishing town in five vivid sentences."
    merged = benchmark_index({**BENCHMARKS, JUDGMENTS_BENCHMARK: [judged_only, QUESTION]})
    assert evaluation_index([judged_only]).match(judged_only) == JUDGMENTS_BENCHMARK
    assert merged.match(judged_only) == JUDGMENTS_BENCHMARK
    assert merged.match(QUESTION) == "mt_bench", "in both lists: the first by name"


def test_a_text_matching_several_benchmarks_is_named_after_the_first_by_name():
    first = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike"
    second = "one two three four five six seven eight nine ten eleven twelve thirteen"
    index = benchmark_index({"zulu": [first], "bench": [second], "yankee": [first]})
    assert index.match(first) == "yankee"
    assert index.match(f"{first} and {second}") == "bench"
    assert index.match(f"{second} and {first}") == "bench"
    messages = [*user(first), *user(second)]
    assert contamination(messages, index) == "bench"


# Loading


def test_a_malformed_line_is_an_error_naming_the_file_and_line(tmp_path):
    good = json.dumps({"id": 1, "turns": ["What is the capital of France?"]})
    for bad in (
        "{not json",
        json.dumps({"id": 2}),
        json.dumps({"turns": ["no id"]}),
        json.dumps({"id": 3, "turns": []}),
        json.dumps({"id": 4, "turns": ["fine", 5]}),
        json.dumps({"id": 5, "turns": ["?!"]}),
        json.dumps(["id", "turns"]),
        "",
    ):
        (tmp_path / "bench.jsonl").write_text(f"{good}\n{bad}\n", encoding="utf-8")
        with pytest.raises(ValueError, match=r"bench\.jsonl, line 2"):
            load_benchmarks(tmp_path)


def test_a_folder_without_lists_is_an_error_not_an_empty_index(tmp_path):
    with pytest.raises(ValueError, match="no benchmark lists"):
        load_benchmarks(tmp_path)


def test_lists_load_by_file_stem_with_every_turn(tmp_path):
    lines = [{"id": "a", "turns": ["first turn", "second turn"]}, {"id": "b", "turns": ["third"]}]
    (tmp_path / "mine.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8"
    )
    (tmp_path / "notes.md").write_text("not a list", encoding="utf-8")
    assert load_benchmarks(tmp_path) == {"mine": ["first turn", "second turn", "third"]}
