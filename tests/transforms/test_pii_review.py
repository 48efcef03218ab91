"""The review detector: broad, independent of the scrubber, blind to what redaction and
reserved examples leave, and it never hands back a value, only where it is."""

import ast
import json
from pathlib import Path

import polars as pl
import pytest

from transforms.cleaning import MESSAGES
from transforms.pii_review import (
    CANARIES,
    CHECKSUM,
    CUE,
    EMAIL,
    INTERNATIONAL,
    LOCATED_HIT_SCHEMA,
    SHAPE,
    TEXT_HIT_SCHEMA,
    canary_hosts,
    iban_valid,
    luhn_valid,
    name_cues,
    plant,
    plant_canaries,
    prepare,
    public_ipv4,
    reserved_domain,
    review_frame,
    review_text,
    review_texts,
    surviving_canaries,
)
from transforms.scrub import TextField

REAL_TEXTS = (
    Path(__file__).resolve().parents[2] / "evaluation" / "data" / "real_text" / "texts.jsonl"
)


def found(text: str) -> list[tuple[str, str, float]]:
    return [(h.entity_type, text[h.start : h.end], h.confidence) for h in review_text(text)]


# Each: a text, and what the detector must find in it (type, matched text, confidence).
FOUND = [
    # e-mail addresses, plain, non-ASCII or spelled out
    ("Write to anna.k@fastmail.pl please", "EMAIL_ADDRESS", "anna.k@fastmail.pl", EMAIL),
    ("メールはtaro@fernwood.jpです", "EMAIL_ADDRESS", "taro@fernwood.jp", EMAIL),
    ("write to laura@pérez-mail.com", "EMAIL_ADDRESS", "laura@pérez-mail.com", EMAIL),
    ("to ak (at) fernwood (dot) net", "EMAIL_ADDRESS", "ak (at) fernwood (dot) net", CUE),
    # a person whose address starts like a stand-in is still a person
    ("mail username.jones@fernwood.net", "EMAIL_ADDRESS", "username.jones@fernwood.net", EMAIL),
    ("my home IP is 159.89.98.186", "IP_ADDRESS", "159.89.98.186", CUE),
    # phone numbers: a phone word nearby, +country code, national grouping alone (shape)
    ("Call me on (415) 555-0132 tonight", "PHONE_NUMBER", "(415) 555-0132", CUE),
    ("My phone number is 312-748-2261.", "PHONE_NUMBER", "312-748-2261", CUE),
    ("Telefon: 030 1234567", "PHONE_NUMBER", "030 1234567", CUE),
    ("電話は０９０－１２３４－５６７８です", "PHONE_NUMBER", "０９０－１２３４－５６７８", CUE),
    ("연락처: 010-1234-5678", "PHONE_NUMBER", "010-1234-5678", CUE),
    ("Office: +44 20 7946 0958", "PHONE_NUMBER", "+44 20 7946 0958", INTERNATIONAL),
    ("| Alpha Inc. | Sarah | +1-415-829-3316 |", "PHONE_NUMBER", "+1-415-829-3316", INTERNATIONAL),
    ("He called me from 0151 496 0123 twice", "PHONE_NUMBER", "0151 496 0123", SHAPE),
    ("my cell: 0151 496 0123", "PHONE_NUMBER", "0151 496 0123", CUE),
    ("write to s.kapoor@brightidea.com today", "EMAIL_ADDRESS", "s.kapoor@brightidea.com", EMAIL),
    ("ssh from 81.2.69.142/32 only", "IP_ADDRESS", "81.2.69.142", CUE),
    ("Cc: anna.k@oahpp.caSubject: hi", "EMAIL_ADDRESS", "anna.k@oahpp.ca", EMAIL),
    ("the national form 020 7946 0958", "PHONE_NUMBER", "020 7946 0958", SHAPE),
    # cards: Luhn and a network prefix; Luhn alone is shape only
    ("card 4111 1111 1111 1111 exp 09/27", "CREDIT_CARD", "4111 1111 1111 1111", CHECKSUM),
    ("Amex 3714 496353 98431", "CREDIT_CARD", "3714 496353 98431", CHECKSUM),
    ("pay with 5500-0000-0000-0004.", "CREDIT_CARD", "5500-0000-0000-0004", CHECKSUM),
    ("order 8000000000000003", "CREDIT_CARD", "8000000000000003", SHAPE),
    # IBANs (mod 97), a following word is not part of one
    ("IBAN DE89 3704 0044 0532 0130 00 ok", "IBAN_CODE", "DE89 3704 0044 0532 0130 00", CHECKSUM),
    ("GB82 WEST 1234 5698 7654 32 FOR", "IBAN_CODE", "GB82 WEST 1234 5698 7654 32", CHECKSUM),
    ("ES9121000418450200051332", "IBAN_CODE", "ES9121000418450200051332", CHECKSUM),
    # SSNs: with a cue, or the shape alone
    ("my SSN is 536-22-8471", "US_SSN", "536-22-8471", CUE),
    ("ref 536-22-8471", "US_SSN", "536-22-8471", SHAPE),
    # public IP addresses
    ("our server at 81.2.69.142 refuses SSH", "IP_ADDRESS", "81.2.69.142", CUE),
    ("seen at 81.2.69.142 today", "IP_ADDRESS", "81.2.69.142", SHAPE),
    ("allow the IPv6 address 2a02:8070:a181:5e00::8a2e:370:7334", "IP_ADDRESS",
     "2a02:8070:a181:5e00::8a2e:370:7334", CUE),
    # names after strong cues
    ("Hi, my name is Tobias Wrenfield.", "PERSON", "Tobias Wrenfield", CUE),
    ("Dear Anna Kowalczyk, thank you", "PERSON", "Anna Kowalczyk", CUE),
    ("Dear Dr. Laura Pérez,", "PERSON", "Laura Pérez", CUE),
    ("Name: Laura Pérez\nAge: 34", "PERSON", "Laura Pérez", CUE),
    ("Dear Smith,", "PERSON", "Smith", SHAPE),
    ("Me llamo Lucía Fernández y", "PERSON", "Lucía Fernández", CUE),
    ("Меня зовут Анна Смирнова, я", "PERSON", "Анна Смирнова", CUE),
    ("我叫王小明，是一名学生", "PERSON", "王小明", CUE),
    ("이름: 김민준\n", "PERSON", "김민준", CUE),
    ("اسمي أحمد منصور وأعمل", "PERSON", "أحمد منصور", CUE),
]  # fmt: skip


@pytest.mark.parametrize(("text", "kind", "value", "confidence"), FOUND)
def test_what_it_finds_and_how_sure_it_is(text, kind, value, confidence):
    assert found(text) == [(kind, value, confidence)]


NOT_FOUND = [
    # what silver's redaction leaves behind, numbered or not
    "my name is <PERSON>, mail <EMAIL_ADDRESS> or call <PHONE_NUMBER> now",
    "Dear <PERSON_1>, write to <EMAIL_ADDRESS_2> or call <PHONE_NUMBER_12>",
    "Call random.seed<PHONE_NUMBER>) so it is reproducible",
    # reserved and example names
    "info@example.com, a@mail.example.org, b@x.example, c@host.test, d@y.invalid",
    "root@localhost, e@printer.local, f@wiki.internal, g@router.home.arpa",
    "Dear John Doe, Dear Jane Doe",
    # reserved, private and well-known addresses
    "from 10.0.0.1 192.168.1.1 172.16.5.4 127.0.0.1 169.254.1.1 100.64.1.1 on the server",
    "server 192.0.2.15 198.51.100.7 203.0.113.42 0.0.0.0 255.255.255.255 224.0.0.1",
    "set the DNS server to 8.8.8.8 or 1.1.1.1",
    "host 2001:db8:85a3::8a2e:370:7334, ::1, fe80::1, fd00::1",
    # look-alikes: dates, times, versions, ISBNs, code, counting, file names
    "On 2023-04-25 14:30 call me; at 12:30:45 ping",
    "Python 3.11.7 and v2.10.3, ISBN 978-3-16-148410-0",
    "Please call random.seed(1096837719) first",
    "call 1234567890 or 5555555",
    "upgrade the server from version 2.4.1.0, our tool reports version 1.2.3.4",
    "contact us about the 1990-2000 figures",
    "id 1700000000000 and 4111 1111 1111 1112 (Luhn fails)",
    "icon@2x.png and logo@3x.jpg",
    "DE89370400440532013001 (checksum fails)",
    "SSN 666-22-8471, SSN 000-12-3456, SSN 123-00-4567",
    # real prompts (ShareGPT): a traceback, a company register, role and hosting addresses
    "Traceback (most recent call last)\n/tmp/ipykernel_27/4149060727.py in",
    "Book a Call [4]\n\nDGPartnership LTD company No: 10382813 Registered at",
    "Reply-To: replies@ecruit.com, or write to sales@hypervolt.co.uk",
    "git remote add upstream git@github.com:TheOdinProject/theodinproject.git",
    "The ISBN of the second edition is 978-5-15-931561-1.\n\nFor cell biology, ...",
    # real text of the bench's ShareGPT corpus that silver rightly kept: John Doe's sample
    # addresses, sample numbers counting up after +1, a no-reply sender, a business number
    "| ABC Company, John Doe, [johndoe@abccompany.com](mailto:johndoe@abccompany.com) |",
    "| ABC Corporation | Mr. | John | Doe | CEO | +1-123456789 | [john.doe@abccorp.com](mailto:",
    "| Acme Inc. | Dr. | Michael | Johnson | CTO | +1-345678901 | [<EMAIL_ADDRESS_2>](mailto:",
    'DEFAULT_FROM_EMAIL = f"tdt4237-group{GROUP_ID} <noreply@idi.ntnu.no>"',
    "My company contrating with them is called The Merrier Pty Ltd, ABN; 75632879924, address",
    "Privacy Policy | Terms & Conditions | Contact: admin@aicontentmastery.com",
    'SEND_EMAIL("sourcer@company.com", "Hire Alert"), and {"email": "john smith@company.com"}',
    "Director of Communications, Brightidea\nEmail: [media@brightidea.com](mailto:media@bri",
    'var recipients = ["recipient1@gmail.com", "recipient2@gmail.com"];',
    "this cache is used for node_modules cache on github for actions/cache@v3.When there are",
    "Solar Energy Materials and Solar Cells, vol. 91, no. 14, pp. 1229-1238, 2007.",
    "Hamburger Institut für Berufliche Bildung (HIBB) Hamburger Straße 131 22083 Hamburg. Kontakt",
    "00000071  51   push ecx\n00000073  FFD0   call eax",
    "the oder number was 423-32442-21332",
    "Is this IP address correct?\n\n22.1.11.128/27",
    "three blocks of IP addresses: 200.128.1.0/24, 200.128.2.0/24 and 200.128.3.0/24",
    "To: support@voxco.comCc: surveys@oahpp.caSubject: RE: Default text",
    "Dear Survey Help Desk @ PHO,\n\nThank you",
    "Mumbai, Maharashtra 400051, India\nDear Consul General,\nFebruary 6th, 2023",
    "32 bits long and range from -2147483648 to +2147483647. Stored backways.",
    "download the Amazon Chime app on to your smartphone and enter the Meeting ID: 3903 03 5809",
    "study for an exam in cell biology?\n\nOur VPN gateway is 203.0.113.112, can you check",
    # real answers (ShareGPT) that silver rightly kept, labelled not personal in
    # evaluation/data/real_text: stand-in users, a systemd unit, example and server IPs
    "rsync -avz /local/directory user@remote.host:/remote/directory",
    "rsync -avz user1@remote1.host:/remote/directory user2@remote2.host:/remote/directory",
    "● openvpn@server.service - OpenVPN connection to server",
    'to mark packets with a destination IP address of 1.2.3.4 with the mark "123"',
    "type the following command `ping http://159.89.98.186/root/environments` this comma",
    # cue words followed by no name
    "Dear Hiring Manager, Dear Sir or Madam, Dear Valued Customer",
    "File name: Report Final",
    "My name is ChatGPT",
]


@pytest.mark.parametrize("text", NOT_FOUND)
def test_what_it_does_not_count(text):
    assert [hit for hit in found(text) if hit[2] >= 0.5] == []


def test_a_number_passed_to_a_call_is_code_however_far_into_the_text():
    code = "print(x)\n" * 50 + "phone = dial("
    assert found(code + "+44 20 7946 0958)") == []
    assert found(code + "\n+44 20 7946 0958)") == []  # the argument on the next line
    assert found("print(x)\n" * 50 + "phone: +44 20 7946 0958") == [
        ("PHONE_NUMBER", "+44 20 7946 0958", CUE)
    ]


def test_name_cues_are_the_regexs_own_matches_found_faster():
    from transforms.pii_review import _NAME_CUE

    lines = (REAL_TEXTS).read_text(encoding="utf-8").split("\n")
    texts = [json.loads(line)["text"] for line in lines if line]
    texts += [
        "Dear Anna Berg,\nName: Paul Smith\n  > Full name : Eva Lind",
        "MY NAME IS Olga Petrova and my enemy name is Zed; Dear Name: Ivo Tal",
        "İstanbul: my name is Ayşe Kaya",  # a letter lower() lengthens: scanned whole
        "DEAR JOHN\nfirst and last name: Kim Ode\nname:Ann Lee",
    ]
    for text in texts:
        expected = [(m.span(), m.group()) for m in _NAME_CUE.finditer(text)]
        assert [(m.span(), m.group()) for m in name_cues(text)] == expected, text[:80]


def test_placeholders_are_masked_without_moving_offsets():
    text = "mail <EMAIL_ADDRESS_2> or a@fernwood.io"
    assert len(prepare(text)) == len(text)
    assert found(text) == [("EMAIL_ADDRESS", "a@fernwood.io", EMAIL)]


def test_overlapping_rules_keep_the_surer_hit():
    # A card number near a phone word is also a phone-like digit run: the card wins.
    assert found("call me, card 4111 1111 1111 1111") == [
        ("CREDIT_CARD", "4111 1111 1111 1111", CHECKSUM)
    ]


def test_checksums_and_reserved_values():
    assert luhn_valid("4539148803436467") and not luhn_valid("4539148803436468")
    assert iban_valid("DE89370400440532013000") and not iban_valid("DE89370400440532013001")
    assert not iban_valid("DE8937040044053201300")  # Germany's IBANs have 22 characters
    assert reserved_domain("mail.example.com") and reserved_domain("EXAMPLE.NET")
    assert not reserved_domain("example.jp") and not reserved_domain("myexample.com")
    assert public_ipv4("81.2.69.142")
    assert not any(public_ipv4(a) for a in ("10.1.2.3", "203.0.113.9", "0.0.0.0", "01.2.3.4"))


def test_the_detector_shares_nothing_with_the_scrubber():
    """Independence is the point: no Presidio, no spaCy, nothing that imports them."""
    source = Path(__file__).resolve().parents[2] / "transforms" / "pii_review.py"
    imported = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    assert imported <= {"__future__", "ipaddress", "re", "collections.abc", "dataclasses"} | {
        "typing",
        "polars",
    }


def test_each_distinct_text_is_reviewed_once_one_row_per_hit():
    texts = pl.Series(["just words", "mail a@fernwood.io, call 312-748-2261", "just words", None])
    reviewed = review_texts(texts)
    assert reviewed.schema == TEXT_HIT_SCHEMA
    assert reviewed.select("entity_type", "start", "end").rows() == [
        ("EMAIL_ADDRESS", 5, 18),
        ("PHONE_NUMBER", 25, 37),
    ]
    assert review_texts(pl.Series([], dtype=pl.String)).is_empty()


FRAME = pl.DataFrame(
    {
        "conversation_id": ["c1", "c2"],
        "dataset": ["ultrachat", "ultrachat"],
        "title": ["Dear Anna Kowalczyk,", None],
        "messages": [
            [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "ref 536-22-8471 or SSN 401-73-2915"},
            ],
            [{"role": "user", "content": "mail a@fernwood.io"}],
        ],
    },
    schema_overrides={"messages": MESSAGES},
)
FIELDS = [TextField("title"), TextField("messages", "content")]


def test_a_frame_review_says_where_each_hit_is_and_never_what():
    hits, below, texts = review_frame(FRAME, FIELDS, "conversation_id", min_confidence=0.5)
    assert hits.schema == LOCATED_HIT_SCHEMA
    assert (below, texts) == (1, 4)  # the SSN without a cue; title, 3 turns
    assert hits.sort("row_key", "field").select(
        "row_key", "field", "turn_index", "start", "end", "entity_type"
    ).rows() == [
        ("c1", "messages", 1, 23, 34, "US_SSN"),
        ("c1", "title", None, 5, 19, "PERSON"),
        ("c2", "messages", 0, 5, 18, "EMAIL_ADDRESS"),
    ]
    values = {"Anna Kowalczyk", "401-73-2915", "a@fernwood.io"}
    assert not values & {v for row in hits.rows() for v in row if isinstance(v, str)}


def test_a_name_a_model_wrote_is_reported_but_not_counted():
    letter = "Dear Anna Kowalczyk, mail me at a@fernwood.io"
    frame = pl.DataFrame(
        {
            "id": ["c1"],
            "response_a": [letter],
            "messages": [
                [{"role": "user", "content": letter}, {"role": "assistant", "content": letter}]
            ],
        },
        schema_overrides={"messages": MESSAGES},
    )
    fields = [TextField("response_a"), TextField("messages", "content")]
    hits, below, _ = review_frame(frame, fields, "id", 0.5, model_fields={"response_a"})
    assert sorted(hits.select("field", "turn_index", "entity_type").rows(), key=str) == [
        ("messages", 0, "EMAIL_ADDRESS"),
        ("messages", 0, "PERSON"),  # the user's own text
        ("messages", 1, "EMAIL_ADDRESS"),
        ("response_a", None, "EMAIL_ADDRESS"),
    ]
    assert below == 2  # the name in the assistant's turn and in response_a
    everything, _, _ = review_frame(frame, fields, "id", 0.0, model_fields={"response_a"})
    assert set(everything.filter(pl.col("confidence") < 0.5)["rule"]) == {"name_cue_model_text"}


def test_an_empty_frame_has_no_hits():
    hits, below, texts = review_frame(FRAME.head(0), FIELDS, "conversation_id")
    assert (hits.height, below, texts) == (0, 0, 0)


def test_canaries_are_found_by_the_review_itself():
    for canary in CANARIES:
        assert [(h.entity_type, h.confidence >= 0.5) for h in review_text(canary.sentence)] == [
            (canary.entity_type, True)
        ]


def test_canaries_are_planted_in_a_copy_one_row_each_round_robin():
    planted = plant_canaries(FRAME, FIELDS)
    assert FRAME["title"][0] == "Dear Anna Kowalczyk,"  # the original is untouched
    assert planted.schema == FRAME.schema
    title = planted["title"][0]
    first_turn = planted["messages"][1][0]["content"]
    assert title.startswith("Dear Anna Kowalczyk, ")
    assert CANARIES[0].sentence in title and CANARIES[2].sentence in title
    assert CANARIES[1].sentence in first_turn and CANARIES[3].sentence in first_turn
    assert planted["messages"][0].to_list() == FRAME["messages"][0].to_list()


def test_plant_goes_after_the_first_line():
    assert plant("Subject\nbody", "S.") == "Subject\nS.\nbody"
    assert plant("one line", "S.") == "one line S."
    assert plant("", "S.") == "S."


def test_canary_hosts_prefer_the_first_short_rows():
    frame = pl.DataFrame({"id": ["a", "b", "c"], "text": ["x" * 50, "short", "tiny"]})
    fields = [TextField("text")]
    assert canary_hosts(frame, fields, 2, 10)["id"].to_list() == ["b", "c"]
    assert canary_hosts(frame, fields, 1, 2)["id"].to_list() == ["c"]  # none short: shortest


def test_a_canary_survives_when_any_identifying_part_is_left():
    planted = plant_canaries(FRAME, FIELDS)
    scrubbed = planted.with_columns(
        pl.col("title").str.replace("marisol.quenby@fernwood-mail.net", "<EMAIL_ADDRESS>")
    )
    surviving = surviving_canaries(FRAME, scrubbed, FIELDS)
    assert [c.entity_type for c in surviving] == ["PHONE_NUMBER", "CREDIT_CARD", "PERSON"]
    partly = scrubbed.with_columns(
        pl.col("title").str.replace("4539 1488 0343 6467", "4539 1488 <CREDIT_CARD>")
    )
    assert "CREDIT_CARD" not in [c.entity_type for c in surviving_canaries(FRAME, partly, FIELDS)]
    assert surviving_canaries(FRAME, FRAME, FIELDS) == []  # nothing planted, nothing survives
