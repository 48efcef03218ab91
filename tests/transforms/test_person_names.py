"""Specification of transforms.person_names, on texts this project did not write.

Positive examples are samples of presidio-research's labelled synthetic PII set
(evaluation/data/pii_synth, MIT); negative ones are real prompts from Chatbot Arena
(arena-hard-auto, evaluation/data/real_text, Apache-2.0), quoted in part.
"""

from __future__ import annotations

import pytest

from transforms.person_names import find_names


def names_in(text: str) -> list[str]:
    return [text[span.start : span.end] for span in find_names(text)]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("My great grandfather was called Kenneth Harrison, and my", "Kenneth Harrison"),
        ("have you heard Laura Carvalho speak yet?", "Laura Carvalho"),
        ("Name:    Iva D. Grusová\nAddress:     PSC 6695, Box 23", "Iva D. Grusová"),
        ("Ms. Rennie flew to Neupré on Friday morning", "Rennie"),
        ("Mr. Leiva flew to LEPPEN on Tuesday morning", "Leiva"),
        ("They had 6: Kateřina, James, Christopher, Jennifer, Emily and Michael.", "James"),
        ("Tomomi Nishiyama lives at 86036 Rua do Arenque 1634", "Tomomi Nishiyama"),
        ("you please block my credit card asap ? my name is lena andersson.", "lena andersson"),
        ("follow up with patricia desrosiers in a couple of months.", "patricia desrosiers"),
        ("Month Security call with Ken Holmes on Tuesday, June 20.", "Ken Holmes"),
    ],
)
def test_names_of_private_persons_are_found(text: str, name: str) -> None:
    assert name in names_in(text), names_in(text)


def test_a_later_mention_by_surname_is_the_same_person() -> None:
    text = "comedy film directed by Jindřich Holinka and starring Holinka"
    assert names_in(text) == ["Jindřich Holinka", "Holinka"]


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
    assert names_in(text) == []


def test_names_inside_code_are_not_looked_at() -> None:
    assert names_in("Call `John Smith` from ```\nAnna Berg = 1\n```") == []
