"""Specification of transforms.person_names, on texts this project did not write.

Positive examples are samples of presidio-research's labelled synthetic PII set
(evaluation/data/pii_synth, MIT); negative ones are real prompts from Chatbot Arena
(arena-hard-auto, evaluation/data/real_text, Apache-2.0), quoted in part.
"""

from __future__ import annotations

import pytest

from transforms.person_names import find_names


def names_in(text: str, weak_evidence_counts: bool = False) -> list[str]:
    return [text[span.start : span.end] for span in find_names(text, weak_evidence_counts)]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Name:    Iva D. Grusová\nAddress:     PSC 6695, Box 23", "Iva D. Grusová"),
        ("Ms. Rennie flew to Neupré on Friday morning", "Rennie"),
        ("Mr. Leiva flew to LEPPEN on Tuesday morning", "Leiva"),
        ("you please block my credit card asap ? my name is lena andersson.", "lena andersson"),
        # Real prompts (ShareGPT): a colleague, a letter's addressee.
        ("My colleague Miriam Haddad has outperformed her sales targets", "Miriam Haddad"),
        ("Hi Jorge,\nThanks for taking the time to talk yesterday.", "Jorge"),
        ("Dear Dr. Kabiri,\nI am writing to ask about", "Kabiri"),
        ("Let me know if Tuesday works.\n\nBest,\nNina Kowalski\n", "Nina Kowalski"),
    ],
)
def test_names_a_personal_cue_introduces_are_found(text: str, name: str) -> None:
    assert name in names_in(text), names_in(text)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("My great grandfather was called Kenneth Harrison, and my", "Kenneth Harrison"),
        ("have you heard Laura Carvalho speak yet?", "Laura Carvalho"),
        ("They had 6: Kateřina, James, Christopher, Jennifer, Emily and Michael.", "James"),
        ("Tomomi Nishiyama lives at 86036 Rua do Arenque 1634", "Tomomi Nishiyama"),
        ("follow up with patricia desrosiers in a couple of months.", "patricia desrosiers"),
        ("Month Security call with Ken Holmes on Tuesday, June 20.", "Ken Holmes"),
    ],
)
def test_weaker_evidence_counts_only_where_it_is_allowed(text: str, name: str) -> None:
    # A known full name, "with ...", "... lives": in real chat text mostly characters and
    # public figures, so it counts only in a text holding contact details, or when asked.
    assert name not in names_in(text)
    assert name in names_in(text, weak_evidence_counts=True), names_in(text, True)


def test_a_later_mention_by_surname_is_the_same_person() -> None:
    text = "my colleague Jindřich Holinka wrote it, and Holinka"
    assert names_in(text) == ["Jindřich Holinka", "Holinka"]


@pytest.mark.parametrize(
    "text",
    [
        # Real prompts (ShareGPT): characters, personas, pets, products, types in code.
        "you speak casually, like a friend. your name is Fresca and you're a 52 year old woman",
        "keywords : protagonist name is Alli who is living in Seoul",
        "I own a cat, his name is Taffy and he meows a lot!",
        'include emojis whenever possible: "MS Word Buttons & Toolbars"',
        "type Customer = {\n name: String;\n email: String;\n}",
        "including\nPeter Theil (PayPal founder) and Rony Abovitz (Magic Leap founder",
        "Partnered with Grammy Nominated Artist Ryan Leslie to build Sundays",
    ],
)
def test_personas_characters_pets_and_public_figures_are_kept_even_with_a_cue(
    text: str,
) -> None:
    assert names_in(text, weak_evidence_counts=True) == []


@pytest.mark.parametrize(
    "text",
    [
        # Products, places, tools and code (real prompts).
        "I am migrating from MacOS Mojave running Safari 14 to a new Mac running Safari 17",
        "Area\tProduction  Denver\t600 Atlanta\t400 Houston\t500",
        "Can you give me some Seaborn code for plotting the ECDF of a KDE-augmented dataset?",
        "How do I make the cartesian product of two arrays in Jax?",
        "model = RobertaModel.from_pretrained('roberta-base')  # Create the Roberta model",
        "Write a script for automating rclone backups in Arch Linux using systemctl timers",
        "Security/Communications with Madison Industries",
        "During the current year, Sue Shells, Incorporated’s total liabilities decreased",
        # Public figures and the stock characters of puzzles and tutorials.
        "Write a song about catfish in the style of Bob Dylan.",
        "Alice and Bob have two dice. They roll them together",
        # Words of other languages that are given names somewhere.
        "Die Hauptstadt von Australien ist übrigens nicht Sydney, sondern Canberra",
        "Cách tốt nhất để tự học tiếng Anh khi mỗi ngày chỉ có khoảng ba mươi phút",
        "Fibonacci: 0 1 1 2 3 5 8 13 21 34 55 89",
        "Don't feed me planned obsolescence",
    ],
)
def test_things_that_are_not_private_persons_are_kept(text: str) -> None:
    assert names_in(text, weak_evidence_counts=True) == []


def test_names_inside_code_are_not_looked_at() -> None:
    assert names_in("Call `John Smith` from ```\nAnna Berg = 1\n```") == []
