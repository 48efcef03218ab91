"""Decontamination: an MT-bench question, exactly or inside a longer prompt, marks an example."""

from transforms.decontaminate import evaluation_index, is_contaminated, normalise_for_match

QUESTION = (
    "Compose an engaging travel blog post about a recent trip to Hawaii, highlighting "
    "cultural experiences and must-see attractions."
)
INDEX = evaluation_index([QUESTION, "What is 2+2?"], n=13)


def user(text):
    return [{"role": "user", "content": text}, {"role": "assistant", "content": "Sure."}]


def test_normalisation_ignores_case_punctuation_and_spacing():
    expected = "compose an engaging travel blog"
    assert normalise_for_match("  COMPOSE an engaging,\ttravel  blog! ") == expected


def test_the_question_itself_matches_whatever_its_case_and_spacing():
    assert is_contaminated(user(QUESTION.upper().replace(" ", "  ")), INDEX)


def test_a_question_pasted_inside_a_longer_prompt_matches_by_ngram_overlap():
    assert is_contaminated(user(f"Hi! My teacher asked: {QUESTION} Please help, thanks."), INDEX)


def test_short_questions_match_only_exactly():
    assert is_contaminated(user("what is 2 + 2"), INDEX)
    assert not is_contaminated(user("What is 2+2? And what is 3+3?"), INDEX)


def test_unrelated_or_assistant_only_text_does_not_match():
    assert not is_contaminated(user("Write a blog post about a trip to Iceland."), INDEX)
    assert not is_contaminated([{"role": "assistant", "content": QUESTION}], INDEX)
