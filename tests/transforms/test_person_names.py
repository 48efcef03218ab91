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
        # Real prompts (ShareGPT): a name typed in lower case in a text with capitals, a
        # sign-off a blank line above the name, a salutation without a greeting word.
        (
            "Add the following details too. My name is thirumalai nagalingam , remove",
            "thirumalai nagalingam",
        ),
        ("my data to be deleted please.\n\nKind Regards\n\nThomas Watson\n", "Thomas Watson"),
        ("guidelines I gave you earlier?\n\nJorge,\n\nToca.io, our low-code platform", "Jorge"),
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


@pytest.mark.parametrize(
    ("text", "names"),
    [
        # A WhatsApp group chat a user pasted (ShareGPT), and a copied Slack thread.
        (
            "[3/7, 2:16 PM] Otávio Bopp: Eu sei que vc não se importa muito com isso\n"
            "[3/7, 2:17 PM] Otávio Bopp: Essa conclusão tão míope e injustificada",
            ["Otávio Bopp", "Otávio Bopp"],
        ),
        (
            "3/7/23, 14:16 - Anna Berg: see you\n3/7/23, 14:18 - Jonas Lind: ok",
            ["Anna Berg", "Jonas Lind"],
        ),
        (
            "a conversation between Adam and Danny.\n\n> Danny Ellowitz 6:59 PM\nThanks for "
            "endorsing me for Physics!\n\n> 💠 Adam Krebs 12:29 AM\nIt's my pleasure",
            ["Danny Ellowitz", "Adam Krebs", "Adam", "Danny"],
        ),
    ],
)
def test_the_speakers_of_a_pasted_chat_log_are_found(text: str, names: list[str]) -> None:
    assert names_in(text) == names


def test_one_timestamped_line_is_not_a_chat_log() -> None:
    assert names_in("[10:00] Sherlock: the game is afoot") == []


def test_a_title_without_its_full_stop_is_a_cue() -> None:
    # A tribunal decision a user pasted (ShareGPT).
    text = "Toplace submits that Dr Rashidianfar should have been required to mitigate"
    assert names_in(text) == ["Rashidianfar"]


@pytest.mark.parametrize(
    ("text", "account"),
    [
        ('File "/home/artsin/Dev/prismo/app/models/device.py", line 12', "artsin"),
        ('File "C:\\Users\\mahesh\\AppData\\Local\\Programs\\Python"', "mahesh"),
        ("/Users/jxr/Desktop/GPTBlackHole/BlackHole.swift:46:30", "jxr"),
        ("APP_BUILD_SCRIPT=C:\\\\Users\\\\Dhruvin kheni\\\\Backup\\\\Android.mk", "Dhruvin kheni"),
    ],
)
def test_the_account_of_a_home_folder_is_found_in_pasted_output(text: str, account: str) -> None:
    assert names_in(text) == [account]


@pytest.mark.parametrize(
    "text",
    [
        "cd /home/ubuntu/app && ls /home/vsts/work/_temp",
        "C:\\Users\\Admin\\Documents and C:\\Users\\User\\AppData",
        "/Users/username/.zshrc and /home/your_username/.bashrc",
        "see https://example.org/home/bob/ and ~/projects/home/x",
    ],
)
def test_shared_and_placeholder_accounts_and_urls_are_kept(text: str) -> None:
    assert names_in(text) == []


def test_a_name_a_company_also_bears_is_not_followed_into_the_companys_mentions() -> None:
    # A court judgment a user pasted (ShareGPT): the company is "Beckhaus", its director
    # "Mr Beckhaus".
    text = (
        "the Council and Beckhaus Civil Pty Ltd (“Beckhaus”) entered into a contract. "
        "Beckhaus wrote to the Council. The Council joined Mr Beckhaus as a cross-defendant."
    )
    assert names_in(text) == ["Beckhaus"]
    assert text.rindex("Beckhaus") == find_names(text)[0].start
    # A company named elsewhere in the text does not stop a person's later mentions.
    text = "my colleague Anna Kowalczyk left. Kowalczyk now works for Acme Ltd in Leeds."
    assert names_in(text) == ["Anna Kowalczyk", "Kowalczyk"]


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
        # Not a name after "my name is"; a place alone on a line with a comma.
        "My name is not important here, the question is.",
        "Visited cities:\n\nParis,\n\nLondon and Rome",
    ],
)
def test_things_that_are_not_private_persons_are_kept(text: str) -> None:
    assert names_in(text, weak_evidence_counts=True) == []


def test_names_inside_code_are_not_looked_at() -> None:
    assert names_in("Call `John Smith` from ```\nAnna Berg = 1\n```") == []
