"""Specification of transforms.pii: offline, multilingual PII detection and redaction."""

from __future__ import annotations

import itertools
import pickle
import random
import socket
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import spacy

from tests.transforms.multilingual_samples import LANGUAGE_SAMPLES, NOT_PII_TEXTS, PII_PLANTED
from transforms.pii import (
    SUPPORTED_ENTITIES,
    PiiEngine,
    PiiFinding,
    PiiSettings,
    batch_hints,
    candidate_entities,
    fold_fullwidth,
    luhn_valid,
    redact,
    resolve_overlaps,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def engine() -> PiiEngine:
    return PiiEngine()


def covered(findings: list[PiiFinding], text: str, entity: str, value: str) -> bool:
    """True if ``value`` (as it occurs in ``text``) lies fully inside one finding of ``entity``."""
    start = text.index(value)
    end = start + len(value)
    return any(f.entity_type == entity and f.start <= start and f.end >= end for f in findings)


def described(findings: list[PiiFinding], text: str) -> list[tuple[str, str, float]]:
    return [(f.entity_type, text[f.start : f.end], f.score) for f in findings]


@pytest.mark.parametrize(("language", "text", "entity", "value"), PII_PLANTED)
def test_planted_values_are_found_in_every_language(
    engine: PiiEngine, language: str, text: str, entity: str, value: str
) -> None:
    findings = engine.analyze(text)
    assert covered(findings, text, entity, value), described(findings, text)


def test_recall_covers_the_required_languages_and_entities() -> None:
    languages = {language for language, *_ in PII_PLANTED}
    assert {"ja", "zh", "ko", "ar", "ru", "es", "de"} <= languages
    # LOCATION needs an NER model (see the optional-NER test): not planted for patterns.
    assert {entity for _, _, entity, _ in PII_PLANTED} == set(SUPPORTED_ENTITIES) - {"LOCATION"}


def test_person_finding_is_only_the_name(engine: PiiEngine) -> None:
    text = "Hi, my name is John Smith and I need help"
    assert described(engine.analyze(text), text) == [("PERSON", "John Smith", 0.85)]


def test_luhn_alone_would_not_explain_the_card_false_positives() -> None:
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("1234567890123456")  # the order number fails Luhn...
    assert luhn_valid("2017201820192020")  # ...but these pass it: prefix and grouping rules
    assert luhn_valid("4003400440054006")  # keep them out (see NOT_PII_TEXTS)


@pytest.mark.parametrize("text", NOT_PII_TEXTS)
def test_technical_strings_are_not_pii(engine: PiiEngine, text: str) -> None:
    assert engine.analyze(text) == [], described(engine.analyze(text), text)


def test_an_unlabelled_dotted_quad_is_reported_as_an_ip_address(engine: PiiEngine) -> None:
    # Documented limitation: "upgrade to 1.4.2.7" cannot be told apart from an address; only
    # a label right before it ("version", "v", "Python", ...) marks it as a version.
    text = "upgrade to 1.4.2.7 tonight"
    assert described(engine.analyze(text), text)[0][:2] == ("IP_ADDRESS", "1.4.2.7")


def test_ordinary_chat_text_has_no_findings(engine: PiiEngine) -> None:
    assert all(engine.analyze(text) == [] for _, text in LANGUAGE_SAMPLES)


def test_redaction_replaces_each_span_with_its_entity_type(engine: PiiEngine) -> None:
    cases = {
        "Mail me at a.b@mailbox.org now": "Mail me at <EMAIL_ADDRESS> now",
        "私の名前は山田太郎です。電話は090-1234-5678、メールはtaro@example.jpです。": (
            "私の名前は<PERSON>です。電話は<PHONE_NUMBER>、メールは<EMAIL_ADDRESS>です。"
        ),
        "電話番号は０９０－１２３４－５６７８です": "電話番号は<PHONE_NUMBER>です",
        "Card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00.": (
            "Card <CREDIT_CARD>, IBAN <IBAN_CODE>."
        ),
        "Nothing to see here.": "Nothing to see here.",
    }
    for text, expected in cases.items():
        assert redact(text, engine.analyze(text)) == expected


def test_redact_is_independent_of_finding_order_and_rejects_overlaps() -> None:
    text = "a@b.co and c@d.co"
    first = PiiFinding("EMAIL_ADDRESS", 0, 6, 1.0, "r")
    second = PiiFinding("EMAIL_ADDRESS", 11, 17, 1.0, "r")
    assert redact(text, [second, first]) == "<EMAIL_ADDRESS> and <EMAIL_ADDRESS>"
    assert redact(text, []) == text
    with pytest.raises(ValueError):
        redact(text, [first, PiiFinding("DENY_LIST", 2, 8, 1.0, "r")])


def test_findings_are_sorted_and_never_overlap(engine: PiiEngine) -> None:
    for _, text, _, _ in PII_PLANTED:
        findings = engine.analyze(text)
        assert findings == sorted(findings, key=lambda f: f.start)
        for left, right in itertools.pairwise(findings):
            assert left.end <= right.start


def test_overlaps_prefer_higher_score_then_longer_span_then_earlier_start() -> None:
    low = PiiFinding("PHONE_NUMBER", 0, 12, 0.6, "phone")
    high = PiiFinding("US_SSN", 2, 11, 0.85, "ssn")
    assert resolve_overlaps([low, high]) == [high]

    short = PiiFinding("DENY_LIST", 4, 15, 1.0, "deny")
    long = PiiFinding("EMAIL_ADDRESS", 0, 15, 1.0, "email")
    assert resolve_overlaps([short, long]) == [long]

    early = PiiFinding("PHONE_NUMBER", 0, 10, 0.7, "phone")
    late = PiiFinding("PHONE_NUMBER", 5, 15, 0.7, "phone")
    assert resolve_overlaps([late, early]) == [early]


def test_overlap_resolution_does_not_depend_on_input_order() -> None:
    findings = [
        PiiFinding("PHONE_NUMBER", 0, 12, 0.7, "phone"),
        PiiFinding("US_SSN", 0, 12, 0.7, "ssn"),
        PiiFinding("EMAIL_ADDRESS", 20, 30, 1.0, "email"),
        PiiFinding("DENY_LIST", 25, 28, 1.0, "deny"),
        PiiFinding("PERSON", 40, 45, 0.85, "intro"),
    ]
    results = {tuple(resolve_overlaps(order)) for order in itertools.permutations(findings)}
    assert len(results) == 1
    (result,) = results
    assert [f.entity_type for f in result] == ["PHONE_NUMBER", "EMAIL_ADDRESS", "PERSON"]


def test_an_overlapping_deny_list_term_loses_to_the_longer_email_around_it() -> None:
    engine = PiiEngine(PiiSettings(deny_list=("mailbox.org",)))
    text = "Write to a.b@mailbox.org or visit mailbox.org"
    assert described(engine.analyze(text), text) == [
        ("EMAIL_ADDRESS", "a.b@mailbox.org", 1.0),
        ("DENY_LIST", "mailbox.org", 1.0),
    ]


def test_deny_list_terms_are_exact_case_sensitive_and_whole() -> None:
    engine = PiiEngine(PiiSettings(deny_list=("Project Falcon", "山田")))
    cases = {
        "Is Project Falcon on time?": "Is <DENY_LIST> on time?",
        "コードネームはProject Falconです": "コードネームは<DENY_LIST>です",
        "山田さんに聞いて": "<DENY_LIST>さんに聞いて",
        "project falcon": "project falcon",
        "Project Falconry": "Project Falconry",
    }
    for text, expected in cases.items():
        assert redact(text, engine.analyze(text)) == expected


def test_allow_list_strings_are_never_reported() -> None:
    engine = PiiEngine(PiiSettings(allow_list=("support@mailbox.org", "+44 20 7946 0958")))
    text = "Write to support@mailbox.org or jane@mailbox.org, or call +44 20 7946 0958."
    assert described(engine.analyze(text), text) == [("EMAIL_ADDRESS", "jane@mailbox.org", 1.0)]


def test_entities_are_configurable() -> None:
    engine = PiiEngine(PiiSettings(entities=("EMAIL_ADDRESS",)))
    text = "Mail a.b@mailbox.org or call +44 20 7946 0958, card 4111111111111111"
    assert [f.entity_type for f in engine.analyze(text)] == ["EMAIL_ADDRESS"]


def test_score_threshold_trades_recall_for_precision() -> None:
    # A bare national number without a phone word scores 0.3: below the default threshold.
    text = "the key is 2125550187"
    assert PiiEngine().analyze(text) == []
    assert [f.entity_type for f in PiiEngine(PiiSettings(score_threshold=0.3)).analyze(text)] == [
        "PHONE_NUMBER"
    ]


@pytest.mark.parametrize(
    "settings",
    [
        {"entities": ("EMAIL_ADDRESS", "PASSPORT")},
        {"score_threshold": 1.5},
        {"deny_list": ("",)},
        {"allow_list": ("x",), "deny_list": ("x",)},
        {"phone_regions": ("US", "XX")},
        {"phone_regions": ()},
    ],
)
def test_invalid_settings_are_rejected(settings: dict) -> None:
    with pytest.raises(ValueError):
        PiiSettings(**settings)


def test_results_are_deterministic_across_calls_and_engines(engine: PiiEngine) -> None:
    texts = [text for _, text, _, _ in PII_PLANTED] + NOT_PII_TEXTS
    first = engine.analyze_many(texts)
    assert engine.analyze_many(texts) == first
    assert PiiEngine().analyze_many(texts) == first
    assert [engine.analyze(text) for text in texts] == first


def test_prefilter_and_two_phase_analysis_equal_one_full_presidio_call(engine: PiiEngine) -> None:
    # The shortcut must never change the answer: compare with a plain analyzer.analyze over
    # every entity, with context boosting, on planted, technical and ordinary texts.
    texts = (
        [text for _, text, _, _ in PII_PLANTED]
        + NOT_PII_TEXTS
        + [text for _, text in LANGUAGE_SAMPLES]
    )
    texts += [f"{a} {b}" for (_, a, _, _), b in zip(PII_PLANTED, NOT_PII_TEXTS, strict=False)]
    for text in texts:
        folded = fold_fullwidth(text)
        full = engine.analyzer.analyze(
            folded, language="en", entities=list(SUPPORTED_ENTITIES), score_threshold=0.5
        )
        expected = resolve_overlaps(
            [
                PiiFinding(
                    r.entity_type,
                    r.start,
                    r.end,
                    r.score,
                    r.recognition_metadata["recognizer_name"],
                )
                for r in full
            ]
            + engine.person_names(folded)  # names are found outside Presidio
        )
        assert engine.analyze(text) == expected, text


def test_texts_without_hints_skip_presidio_entirely() -> None:
    entities = SUPPORTED_ENTITIES
    assert candidate_entities("Could you explain recursion with an example?", entities) == set()
    assert candidate_entities("version 2.10.3 released on 2023-04-25", entities) == set()
    assert candidate_entities("mail me: a@b.co", entities) == {"EMAIL_ADDRESS"}
    assert candidate_entities("call +1 212 555 0187", entities) == {"PHONE_NUMBER"}
    assert candidate_entities("my name is Ann Lee", entities) == {"PERSON"}


def test_batch_hints_spare_searches_without_ever_changing_the_candidates() -> None:
    """The loose forms of the hints (Rust regexes, no look-around) must match wherever the
    exact ones do: Python's \\s also takes \\x1c-\\x1f, a cluster may hold soft hyphens."""
    tricky = [
        "call 212\x1c555\x1f0187 now", "tel 030\u00ad1234\u2010567", "ip ::1 or fe80::1",
        "std::vector<int> v; a[::2]", "1.2.3.4 and 10.0.0.1/24", "IBAN de89 3704 0044 0532 0130 00",
        "SSN 078-05-1120 or 078051120", "card 4111 1111 1111 1111", "2023-04-25 20:51:59",
        "v2.10.3, 3.14159265, 978-3-16-148410-0", "",
    ]  # fmt: skip
    rng = random.Random(5)
    alphabet = "0123456789 .:-/()+\x1c\x1f\u2010\u30fcaAfF@x\n\t[]~\u00ad"
    noise = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))) for _ in range(5000)]
    texts = tricky + noise
    for text, hints in zip(texts, batch_hints(texts), strict=True):
        exact = candidate_entities(text, SUPPORTED_ENTITIES)
        assert candidate_entities(text, SUPPORTED_ENTITIES, hints=hints) == exact, repr(text)
    assert sum(bool(candidate_entities(t, SUPPORTED_ENTITIES)) for t in noise) > 1000  # not vacuous


def test_a_batch_is_analysed_as_each_text_alone(engine: PiiEngine) -> None:
    texts = [text for _, text, _, _ in PII_PLANTED] + list(NOT_PII_TEXTS)
    assert engine.analyze_many(texts) == [engine.analyze(text) for text in texts]


def test_threads_sharing_one_engine_agree_with_sequential_calls(engine: PiiEngine) -> None:
    texts = [text for _, text, _, _ in PII_PLANTED] * 3
    with ThreadPoolExecutor(max_workers=8) as pool:
        concurrent = list(pool.map(engine.analyze, texts))
    assert concurrent == engine.analyze_many(texts)


def test_texts_longer_than_spacys_default_limit_are_analysed(engine: PiiEngine) -> None:
    filler = "Could you help me plan a trip to Lisbon in October? " * 24_000  # 1.2M chars
    text = filler + "Call me on +44 20 7946 0958 or mail jane@mailbox.org."
    assert [f.entity_type for f in engine.analyze(text)] == ["PHONE_NUMBER", "EMAIL_ADDRESS"]


@pytest.mark.usefixtures("no_network")
def test_an_optional_ner_pipeline_adds_person_and_location_entities(tmp_path: Path) -> None:
    # Stands in for an installed en_core_web_* package: a saved pipeline whose NER component
    # (an entity ruler) labels one name and one place. Nothing is downloaded either way.
    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns(
        [{"label": "PERSON", "pattern": "Alice Johnson"}, {"label": "GPE", "pattern": "Reykjavik"}]
    )
    nlp.to_disk(tmp_path / "ner")
    engine = PiiEngine(PiiSettings(ner_model=str(tmp_path / "ner")))
    assert engine.ner_active
    text = "Please forward this to Alice Johnson in Reykjavik. By the way, my name is Bob Stone."
    assert [(f.entity_type, text[f.start : f.end]) for f in engine.analyze(text)] == [
        ("PERSON", "Alice Johnson"),
        ("LOCATION", "Reykjavik"),
        ("PERSON", "Bob Stone"),
    ]


def test_without_a_model_locations_are_not_looked_for() -> None:
    engine = PiiEngine()
    assert not engine.ner_active
    assert engine.analyze("We met in Reykjavik last May.") == []


def test_fullwidth_folding_keeps_every_offset() -> None:
    text = "電話：０９０－１２３４－５６７８、ｍａｉｌ＠ｅｘａｍｐｌｅ．ｊｐ"
    folded = fold_fullwidth(text)
    assert len(folded) == len(text)
    assert folded == "電話:090-1234-5678、mail@example.jp"


def test_engine_pickles_by_settings_for_worker_processes(engine: PiiEngine) -> None:
    clone = pickle.loads(pickle.dumps(PiiEngine(PiiSettings(deny_list=("Falcon",)))))
    assert clone.settings == PiiSettings(deny_list=("Falcon",))
    assert [f.entity_type for f in clone.analyze("Falcon at a@b.co")] == [
        "DENY_LIST",
        "EMAIL_ADDRESS",
    ]


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to resolve a host name or open a connection fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.mark.usefixtures("no_network")
def test_engine_builds_and_analyses_without_network() -> None:
    # A fresh engine: its own tldextract extractor loads the bundled suffix list right here.
    engine = PiiEngine(PiiSettings(ner_model="en_core_web_sm"))  # not installed: patterns only
    assert not engine.ner_active
    text = "Mail taro.yamada@example.co.jp, call +81 90-1234-5678; 私の名前は山田太郎です"
    assert redact(text, engine.analyze(text)) == (
        "Mail <EMAIL_ADDRESS>, call <PHONE_NUMBER>; 私の名前は<PERSON>です"
    )


def test_import_build_and_analyse_in_a_fresh_interpreter_without_network() -> None:
    # Import-time behaviour too: the guard is installed before transforms.pii is imported.
    script = textwrap.dedent(
        """
        import socket

        def refuse(*args, **kwargs):
            raise SystemExit(f"network access attempted: {args!r}")

        socket.socket.connect = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse

        from transforms.pii import PiiEngine, redact

        text = "Write to a.b@mailbox.org"
        print(redact(text, PiiEngine().analyze(text)))
        """
    )
    completed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "Write to <EMAIL_ADDRESS>"


# Values from real chat text (code, networking and maths answers) that identify nobody: the
# issue that reported them quotes each one as redacted by the previous engine.
TECHNICAL_LOOKALIKES = (
    "ping 127.0.0.1 to check the loopback interface",
    "Open http://192.168.1.1 in the browser to reach the router",
    "set the host to 10.0.1.40 and the port to 8080",
    "bind to 0.0.0.0 so every interface listens",
    "the netmask is 255.255.255.0 for a /24",
    "allow 10.0.0.0/8 and 203.0.113.0/24 in the firewall",
    "IPv6 shorthand such as 1::2 or ::1 is valid",
    "send it to user@example.com or jane@example.org",
    "git clone git@github.com:owner/repo.git",
    "replace your_email@gmail.com with your address",
    "the result is 0.833251178 after rounding",
    "so we get (0.1667 – 0.1111) / 0.0556 = 1",
    "hash slots 10923-16383 belong to the third node",
    "the coordinates are 40.7128, -74.0060",
    "use the public resolver 8.8.8.8 as DNS",
    # Real prompts and answers (ShareGPT, Arena-Hard-Auto), in part.
    'Traceback (most recent call last):"\ntime="2023-01-08 20:51:59" level=error msg="[Plug',
    "Traceback (most recent call last)\n/tmp/ipykernel_27/4149060727.py in",
    "Arthritis Rheum. 2012;64(12):4004-4011. doi:10.1002/art.34677",
    "rebels.\n\n4501 - 5000:\nThe tenth generation of clones",
    "sleep_time = random.randint(1000, 3000) / 1000",
    "Book a Call [4]\n\nDGPartnership LTD company No: 10382813 Registered at",
    "iptables -t mangle -A PREROUTING -d 1.2.3.4 -j MARK --set-mark 123",
    'type the endpoint "<http://159.89.98.186/root/environments>" in the address bar',
    "rsync -avz user1@remote1.host:/remote/directory user2@remote2.host:/remote/directory",
    "Please send the following to info@dashstudio.net with the subject line",
    # An assembly listing (ShareGPT): redacting one offset near "call" made the next a phone.
    "00000091  FFD0   call eax\n00000093  50   push eax\n00000094  50   push eax",
)


@pytest.mark.parametrize("text", TECHNICAL_LOOKALIKES)
def test_technical_lookalikes_from_real_chat_text_are_kept(engine: PiiEngine, text: str) -> None:
    assert engine.analyze(text) == [], described(engine.analyze(text), text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Call me at 030 1234567 after six", "030 1234567"),
        ("Tel: 06221 123456", "06221 123456"),
        ("SĐT: 0912 345 678", "0912 345 678"),
        ("my cell is 98765 43210", "98765 43210"),
        ("reach me on 2125550187 tomorrow", "2125550187"),
        ("Office (212) 555-0187", "(212) 555-0187"),
        ("Mi número: 612 345 678, llámame", "612 345 678"),
        ("Text 2125550616 when you land.", "2125550616"),
    ],
)
def test_phone_numbers_with_a_phone_word_or_a_national_layout_are_found(
    engine: PiiEngine, text: str, value: str
) -> None:
    assert covered(engine.analyze(text), text, "PHONE_NUMBER", value), described(
        engine.analyze(text), text
    )


def test_a_number_passed_to_code_is_not_a_phone_even_with_a_phone_word_nearby(
    engine: PiiEngine,
) -> None:
    text = "Call random.seed(1096837719) first"
    assert engine.analyze(text) == []


def test_an_address_at_a_domain_that_is_itself_a_public_suffix_is_found(
    engine: PiiEngine,
) -> None:
    """India's government mail (`@nic.in`, `@gov.in`): the domain is a public suffix, so no
    registrable domain exists; the review caught one left in a real prompt (ShareGPT)."""
    text = "The applications should be sent over an email to js.ari@nic.in. \nContd. Page 3/-"
    assert covered(engine.analyze(text), text, "EMAIL_ADDRESS", "js.ari@nic.in")
    assert covered(engine.analyze("mail anna@gov.in now"), "mail anna@gov.in now",
                   "EMAIL_ADDRESS", "anna@gov.in")  # fmt: skip
    assert engine.analyze("see icon@2x.png and a@b.c") == []


def test_a_host_written_as_a_full_length_prefix_is_still_an_address(engine: PiiEngine) -> None:
    """A security group allowing SSH from "71.145.212.62/32" names one host (ShareGPT); a
    shorter prefix names a network and is kept."""
    text = "allow SSH from my home IP 71.145.212.62/32 and from the office's 81.2.69.0/24"
    assert [text[f.start : f.end] for f in engine.analyze(text)] == ["71.145.212.62/32"]
    assert engine.analyze('"CidrIp": "81.2.69.0/24", "office": "71.145.212.0/28"') == []


def test_global_addresses_are_still_found(engine: PiiEngine) -> None:
    text = "my home server is 84.17.33.120, mail me at jane.roe@fastmail.com"
    assert [f.entity_type for f in engine.analyze(text)] == ["IP_ADDRESS", "EMAIL_ADDRESS"]
