"""A second opinion on scrubbed text: an independent, deliberately broad PII detector.

Silver redacts PII with Presidio (transforms/pii.py) and settles redaction until that
engine finds nothing more, so re-scanning silver with the same engine proves nothing. The
blocking `no_pii` check asks this module instead: plain regular expressions, checksums and
cue words that share no code, library or settings with the scrubber (it imports neither
transforms/pii.py nor anything that does), so what the scrubber misses can be seen.

Every hit has a confidence, by the evidence behind it:

    0.95  checksum-validated: a Luhn-valid card number with a card-network prefix, an IBAN
          whose mod-97 check holds
    0.9   an e-mail address (the shape alone is specific)
    0.8   cue-backed: a phone number, SSN, public IP address or network-less Luhn-valid
          number with its cue word nearby ("phone", "call", "SSN", "IP", "card", ... in
          about ten languages); a name after "my name is" / "Name:" / "Dear" (and their
          equivalents in eleven other languages); an address spelled out ("anna (at) host
          (dot) net")
    0.7   an international phone number ("+<country code> ..."), no cue
    0.4   shape only: a national phone layout, an SSN or IP shape, a Luhn-valid digit run
          without a card prefix, a single name word after a cue

What silver's redaction leaves behind is not PII: placeholders (`<EMAIL_ADDRESS>`, and
numbered ones such as `<PERSON_1>`) are masked before scanning. Reserved and example values
are never hits: example.com/.net/.org and the .example/.test/.invalid/.localhost (and
private .local/.internal) names; loopback, private, link-local, shared, documentation,
multicast and other non-global IP addresses, 0.0.0.0, and a few public resolvers such as
8.8.8.8, and 1.2.3.4; an IP written as a URL's host; stand-in users ("user@remote.host",
"user1@...", "your_email@...") and systemd units ("openvpn@server.service"); "John Doe";
digits that count (1234567890) or repeat (5555555); a number passed to a function
("seed(1096837719)"). Each rule reads only the texts its gate passes (GATES: an "@", a digit
run, an IBAN head, an IPv6 group, a name cue). Offsets are those of the given text; the
matched value is never returned, only where it is.

Pure: str / Polars in, plain data out; no Dagster, no Delta, no files.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import polars as pl

EMAIL_ADDRESS = "EMAIL_ADDRESS"
PHONE_NUMBER = "PHONE_NUMBER"
CREDIT_CARD = "CREDIT_CARD"
IBAN_CODE = "IBAN_CODE"
US_SSN = "US_SSN"
IP_ADDRESS = "IP_ADDRESS"
PERSON = "PERSON"

CHECKSUM = 0.95
EMAIL = 0.9
CUE = 0.8
INTERNATIONAL = 0.7
SHAPE = 0.4


@dataclass(frozen=True)
class ReviewHit:
    """Something that looks like PII at `text[start:end]` (the value itself is not kept)."""

    entity_type: str
    start: int
    end: int
    confidence: float
    rule: str


TEXT_HIT_SCHEMA = pl.Schema(
    {
        "text": pl.String,
        "entity_type": pl.String,
        "start": pl.Int64,
        "end": pl.Int64,
        "confidence": pl.Float64,
        "rule": pl.String,
    }
)
# One row per hit located in a frame: where it is, never what it is.
LOCATED_HIT_SCHEMA = pl.Schema(
    {
        "row_key": pl.String,
        "dataset": pl.String,
        "field": pl.String,
        "turn_index": pl.Int64,
        "start": pl.Int64,
        "end": pl.Int64,
        "entity_type": pl.String,
        "confidence": pl.Float64,
        "rule": pl.String,
    }
)

# --------------------------------------------------------------------------------------------
# Text preparation
# --------------------------------------------------------------------------------------------

# `<EMAIL_ADDRESS>`, `<PERSON>`, `<PERSON_1>`, `<EMAIL_ADDRESS_2>`, `<DENY_LIST>`...
PLACEHOLDER = re.compile(r"<[A-Z]+(?:_[A-Z]+)*(?:_\d+)?>")
_MASK = "\ufffc"  # OBJECT REPLACEMENT CHARACTER: neither a letter, a digit nor a separator
# Full-width ASCII (common in Japanese and Chinese input) to ASCII, one character for one.
_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def prepare(text: str) -> str:
    """The text as the rules read it, of the same length: placeholders masked, full-width
    forms mapped to ASCII."""
    masked = PLACEHOLDER.sub(lambda m: _MASK * len(m.group()), text)
    return masked.translate(_FULL_WIDTH)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _cue_before(text: str, start: int, cues: re.Pattern[str], window: int = 40) -> bool:
    return cues.search(text[max(0, start - window) : start].lower()) is not None


def _cue_or_shape(
    text: str, match: re.Match[str], entity_type: str, cues: re.Pattern[str], rule: str
) -> ReviewHit:
    """A hit on ``match``: :data:`CUE` confidence (rule ``<rule>_cue``) when one of ``cues``
    comes before it, else :data:`SHAPE` (``<rule>_shape``)."""
    if _cue_before(text, match.start(), cues):
        return ReviewHit(entity_type, match.start(), match.end(), CUE, f"{rule}_cue")
    return ReviewHit(entity_type, match.start(), match.end(), SHAPE, f"{rule}_shape")


def _cue_near(text: str, start: int, end: int, cues: re.Pattern[str]) -> bool:
    return _cue_before(text, start, cues) or cues.search(text[end : end + 25].lower()) is not None


# --------------------------------------------------------------------------------------------
# E-mail addresses
# --------------------------------------------------------------------------------------------

_LETTER = r"A-Za-z0-9\u00C0-\u024F"  # ASCII and Latin letters ("pérez-mail.com"), digits
_AT = r"[ ]?[(\[{][ ]?(?i:at)[ ]?[)\]}][ ]?"  # "(at)", "[at]", "{ at }"
_DOT = r"[ ]?[(\[{][ ]?(?i:dot)[ ]?[)\]}][ ]?"
_EMAIL = re.compile(
    rf"(?<![{_LETTER}._%+-])[{_LETTER}][{_LETTER}._%+-]{{0,63}}(?P<at>@|{_AT})"
    rf"(?P<domain>(?:[{_LETTER}](?:[{_LETTER}-]{{0,61}}[{_LETTER}])?(?:\.|{_DOT}))+"
    # a lower-case top-level name may run into the next word ("surveys@oahpp.caSubject:")
    r"(?:[a-z]{2,24}(?![a-z0-9-])|[A-Za-z]{2,24}(?![A-Za-z0-9-])))"
)
RESERVED_DOMAINS = ("example.com", "example.net", "example.org", "home.arpa")
# RFC 2606 / 6761 test and example names, and names for private networks (RFC 6762 .local,
# ICANN's .internal).
RESERVED_TLDS = ("example", "test", "invalid", "localhost", "local", "internal", "localdomain")
# Mailboxes of an organisation's desk, not of a person (RFC 2142 and the commonest kin).
ROLE_MAILBOXES = _words(
    "info sales support marketing abuse noc security postmaster hostmaster webmaster service "
    "contact help helpdesk office press careers jobs billing enquiries inquiries replies "
    "noreply no-reply no_reply donotreply do-not-reply admin administrator media team hello hr "
    "accounts feedback orders bookings reservations privacy legal compliance newsletter news "
    "surveys"
)
# The SSH remotes of source hosting: the same for everyone.
HOSTING_ADDRESSES = _words("git@github.com git@gitlab.com git@bitbucket.org")
# Stand-ins for "some user" in commands and templates ("rsync user@remote.host:", "ssh
# user1@server", "your_email@...", John Doe's "johndoe@abccompany.com" in a model's sample
# table), numbered or not: nobody's address.
PLACEHOLDER_MAILBOXES = _words(
    "user username user_name user.name you your yourname your_name your.name youremail "
    "your_email your.email your-email email e-mail myemail my_email name someone somebody "
    "johndoe john.doe john_doe jdoe j.doe janedoe jane.doe jane_doe recipient sender test "
    "testuser foo bar sample example"
)
# Domains that templates write for "the company's domain" ("sourcer@company.com").
PLACEHOLDER_DOMAINS = _words(
    "company.com yourcompany.com mycompany.com domain.com yourdomain.com mydomain.com "
    "website.com yourwebsite.com email.com"
)
# "actions/cache@v3.When", "lodash@4.17.21": a package or action at a version, not a mailbox.
_VERSION_LABEL = re.compile(r"v?\d+$", re.IGNORECASE)
_NUMBERED = re.compile(r"\d+$")
# "icon@2x.png" has the shape of an address; these are file extensions (and systemd unit
# types: "openvpn@server.service" is a template unit), not domains.
_FILE_SUFFIXES = _words(
    "service socket timer target mount automount path slice scope device swap "
    "png jpg jpeg gif svg webp bmp ico js ts css html htm json yaml yml txt md csv xml"
)


def reserved_domain(domain: str) -> bool:
    """Example, test and private names: example.com/.net/.org and anything under them,
    the .example, .test, .invalid, .localhost, .local and .internal top-level names, and
    localhost itself."""
    domain = domain.lower().rstrip(".")
    labels = domain.split(".")
    if domain == "localhost" or labels[-1] in RESERVED_TLDS:
        return True
    return any(domain == d or domain.endswith("." + d) for d in RESERVED_DOMAINS)


def find_emails(text: str) -> Iterator[ReviewHit]:
    """Addresses, and addresses spelled out to dodge harvesters ("anna(at)mail(dot)net")."""
    for match in _EMAIL.finditer(text):
        domain = re.sub(_DOT, ".", match.group("domain"))
        if reserved_domain(domain) or domain.rsplit(".", 1)[-1].lower() in _FILE_SUFFIXES:
            continue
        local = text[match.start() : match.start("at")].lower()
        if local in ROLE_MAILBOXES or match.group().lower() in HOSTING_ADDRESSES:
            continue
        if domain.lower() in PLACEHOLDER_DOMAINS or _VERSION_LABEL.match(domain.split(".")[0]):
            continue
        if _NUMBERED.sub("", local) in PLACEHOLDER_MAILBOXES:
            continue
        if match.group("at") == "@" and "." in match.group("domain"):
            yield ReviewHit(EMAIL_ADDRESS, match.start(), match.end(), EMAIL, "email")
        else:
            yield ReviewHit(EMAIL_ADDRESS, match.start(), match.end(), CUE, "email_spelled_out")


# --------------------------------------------------------------------------------------------
# Phone numbers
# --------------------------------------------------------------------------------------------

_PHONE_CUES = re.compile(
    r"phone|\btel\b|tel\.|telephone|\bcall(?! last|ed\b)|\bmobile|\bcell(?!s\b)|\bfax|whatsapp"
    r"|\bsms\b|text me|reach me|contact|hotline|\bdial|\bring me|telefon|handy|téléphone"
    r"|portable|teléfono"
    r"|móvil|celular|llam|appel|chiama|телефон|звон|電話|携帯|手机|电话|手機|전화|휴대폰|핸드폰"
    r"|연락처|連絡先|联系|聯絡|contacto|kontakt|contatto"
)
_PHONE = re.compile(
    r"(?<![A-Za-z0-9+.,/-])(?P<plus>\+\d{1,3}[ .-]?)?(?:\(\d{1,5}\)[ .-]?)?\d[\d .()/-]{4,18}\d"
    r"(?![A-Za-z0-9:]|[.,/-]\d)"
)
_NATIONAL_GROUPINGS = (
    re.compile(r"\(?\d{3}\)?[ .-]?\d{3}[ .-]\d{4}"),  # North America: (415) 555-0132
    re.compile(r"\(?0\d{1,4}\)?[ -]\d{3,4}[ -]?\d{3,4}"),  # trunk 0: 020 7946 0958, 090-1234-5678
    re.compile(r"1[3-9]\d{9}"),  # mainland China mobile: 13812345678
)
_DATE = re.compile(
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"
    r"|(?:1[89]|20)\d\d ?[-/] ?(?:1[89]|20)\d\d"  # a span of years: 1990-2000
)
_DECIMAL = re.compile(r"\d+\.\d+")
# An ISBN-13 written with its hyphens ("978-5-15-931561-1"): a book, not a phone; a dotted
# quad is an address (the IP rules judge it), not a phone.
_ISBN = re.compile(r"97[89](?:-\d+){3}-\d")
_DOTTED_QUAD = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
# A number passed to a function ("random.seed(1234567890)") is code, not a phone number.
# An argument of a call ("f(5551234567"): the two characters before the number (and a final
# newline, which `$` allows) are all the search needs to see.
_CODE_ARGUMENT = re.compile(r"[A-Za-z0-9_\]]\($")
_COUNTING = "01234567890123456789"


# A street and house number before a postcode ("Hamburger Straße 131 22083 Hamburg").
_STREET_BEFORE = re.compile(
    r"(?i)(?:stra(?:ß|ss)e|str\.|street|st\.|road|rd\.|avenue|ave\.|weg|platz|allee|gasse"
    r"|rue|via|calle)[ \t]*$"
)


# The limits of machine integers ("from -2147483648 to +2147483647"): constants, not phones.
INTEGER_LIMITS = _words(
    "127 128 255 256 32767 32768 65535 65536 2147483647 2147483648 4294967295 4294967296 "
    "9223372036854775807 9223372036854775808 18446744073709551615"
)


def counted_range(candidate: str) -> bool:
    """Two numbers of one length joined by a dash, the second larger: a range of pages
    ("pp. 1229-1238") or of ids, not a phone number."""
    parts = re.fullmatch(r"(\d{3,6}) ?[-–] ?(\d{3,6})", candidate)
    return bool(parts) and len(parts[1]) == len(parts[2]) and int(parts[1]) < int(parts[2])


def dummy_digits(candidate: str, country_code: str = "") -> bool:
    """Digits no one has as a number: one digit repeated (5555555) or counting up or down
    (1234567890), after the country code (`country_code`, as written: "+1-123456789")."""
    digits = "".join(c for c in candidate[len(country_code) :] if c.isdigit())
    if not country_code and digits.startswith("000"):
        return True  # an offset in a listing ("00000073  call eax"): no number starts so
    return len(set(digits)) == 1 or digits in _COUNTING or digits in _COUNTING[::-1]


# A number a word names as a company's or a document's ("company No: 10382813"), business
# and tax registers included ("ABN: 75632879924": Australia's business number).
_REGISTRY_NUMBER = re.compile(
    r"(?i)(?:company|registration|reg\.|vat|invoice|order|ticket|tracking|serial|isbn|issn"
    r"|\babn|\bacn|\bein|\bgst|\bduns|\bsiret|\bsiren|meeting id|conference id|webinar id"
    r"|passcode|\bpin)"
    r"[ \t]*(?:no\.?|number|nr\.?|#)?[ \t]*[:#;]?[ \t]*$"
)


def find_phones(text: str) -> Iterator[ReviewHit]:
    for match in _PHONE.finditer(text):
        candidate = match.group()
        digits = sum(c.isdigit() for c in candidate)
        if not 7 <= digits <= 15 or any(
            shape.fullmatch(candidate) for shape in (_DATE, _DECIMAL, _ISBN, _DOTTED_QUAD)
        ):
            continue
        if dummy_digits(candidate, match.group("plus") or "") or _CODE_ARGUMENT.search(
            text, max(0, match.start() - 3), match.start()
        ):
            continue
        if _REGISTRY_NUMBER.search(text, max(0, match.start() - 24), match.start()):
            continue
        if re.sub(r"\D", "", candidate) in INTEGER_LIMITS:
            continue
        if counted_range(candidate) or _STREET_BEFORE.search(
            text, max(0, match.start() - 12), match.start()
        ):
            continue
        cue = _cue_near(text, match.start(), match.end(), _PHONE_CUES)
        if cue:
            yield ReviewHit(PHONE_NUMBER, match.start(), match.end(), CUE, "phone_cue")
        elif match.group("plus") and digits >= 8:
            yield ReviewHit(PHONE_NUMBER, match.start(), match.end(), INTERNATIONAL, "phone_plus")
        elif any(g.fullmatch(candidate) for g in _NATIONAL_GROUPINGS):
            yield ReviewHit(PHONE_NUMBER, match.start(), match.end(), SHAPE, "phone_grouping")


# --------------------------------------------------------------------------------------------
# Card numbers
# --------------------------------------------------------------------------------------------

_CARD = re.compile(r"(?<![A-Za-z0-9.,-])\d(?:[ -]?\d){12,18}(?![A-Za-z0-9]|[.,-]\d)")
_CARD_CUES = re.compile(r"card|visa|mastercard|amex|credit|debit|kreditkarte|tarjeta|carte|卡")
# Card network prefixes (IIN ranges) and the lengths they issue.
_CARD_NETWORKS = (
    (re.compile(r"4"), (13, 16, 19)),  # Visa
    (re.compile(r"5[1-5]|2(?:2[2-9]|[3-6]\d|7[01]|720)"), (16,)),  # Mastercard
    (re.compile(r"3[47]"), (15,)),  # American Express
    (re.compile(r"6(?:011|5|4[4-9])"), (16, 19)),  # Discover
    (re.compile(r"35(?:2[89]|[3-8])"), (16, 19)),  # JCB
    (re.compile(r"3(?:0[0-5]|[68])"), (14, 16)),  # Diners Club
    (re.compile(r"62"), (16, 17, 18, 19)),  # UnionPay
)


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def card_network(digits: str) -> bool:
    return any(
        prefix.match(digits) and len(digits) in lengths for prefix, lengths in _CARD_NETWORKS
    )


def group_ends(text: str, start: int, end: int) -> Iterator[int]:
    """Where a separated number in `text[start:end]` may end: at `end`, then before each
    separator from the right ("4539 1488 0343 6467 123": the card, without the CVC)."""
    yield end
    for index in range(end - 1, start, -1):
        if text[index] in " -":
            yield index


def card_layout(written: str) -> bool:
    """Digits written as a card is printed: unbroken, in groups of four (the last may be
    shorter), or Amex's 4-6-5 / Diners' 4-6-4; not "423-32442-21332" (an order number)."""
    groups = [len(g) for g in re.split(r"[ -]", written) if g]
    if len(groups) == 1:
        return True
    fours = all(n == 4 for n in groups[:-1]) and 1 <= groups[-1] <= 4
    return fours or groups in ([4, 6, 5], [4, 6, 4])


def find_cards(text: str) -> Iterator[ReviewHit]:
    for match in _CARD.finditer(text):
        for end in group_ends(text, match.start(), match.end()):
            digits = re.sub(r"\D", "", text[match.start() : end])
            if len(digits) < 13:
                break
            if not luhn_valid(digits) or len(set(digits)) == 1:
                continue
            if not card_layout(text[match.start() : end]):
                break
            if card_network(digits):
                yield ReviewHit(CREDIT_CARD, match.start(), end, CHECKSUM, "card_luhn")
            elif _cue_before(text, match.start(), _CARD_CUES):
                yield ReviewHit(CREDIT_CARD, match.start(), end, CUE, "card_luhn_cue")
            else:
                yield ReviewHit(CREDIT_CARD, match.start(), end, SHAPE, "card_luhn_shape")
            break


# --------------------------------------------------------------------------------------------
# IBANs
# --------------------------------------------------------------------------------------------

IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}")


def iban_valid(compact: str) -> bool:
    """ISO 13616: the country's length, and the mod-97 check of the rearranged number."""
    if IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact.isalnum():
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def find_ibans(text: str) -> Iterator[ReviewHit]:
    for match in _IBAN.finditer(text):
        length = IBAN_LENGTHS.get(match.group()[:2])
        if length is None:
            continue
        # The IBAN ends after its country's number of characters (spaces not counted);
        # whatever the greedy match took beyond that (a following word) is not part of it.
        end, seen = match.start(), 0
        while end < match.end() and seen < length:
            seen += text[end] != " "
            end += 1
        if seen < length or (end < len(text) and text[end].isalnum() and text[end].isascii()):
            continue
        if iban_valid(text[match.start() : end].replace(" ", "")):
            yield ReviewHit(IBAN_CODE, match.start(), end, CHECKSUM, "iban_mod97")


# --------------------------------------------------------------------------------------------
# US social security numbers
# --------------------------------------------------------------------------------------------

_SSN = re.compile(r"(?<![A-Za-z0-9-])(\d{3})([- ])(\d{2})\2(\d{4})(?![A-Za-z0-9]|-\d)")
_SSN_CUES = re.compile(r"ssn|social security|social-security|soc\. ?sec|ss#|\bitin\b|tax id")


def find_ssns(text: str) -> Iterator[ReviewHit]:
    for match in _SSN.finditer(text):
        area, _, group, serial = match.groups()
        if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
            continue
        yield _cue_or_shape(text, match, US_SSN, _SSN_CUES, "ssn")


# --------------------------------------------------------------------------------------------
# IPv4 addresses
# --------------------------------------------------------------------------------------------

_IPV4 = re.compile(r"(?<![0-9.])(?:\d{1,3}\.){3}\d{1,3}(?![0-9]|\.\d)")
_IP_CUES = re.compile(
    r"\bip\b|ip address|ipv4|ipv6|server|\bhost|address|connect|\bping|\bssh|gateway"
    r"|firewall|\blog(?:ged|in)?\b"
)
# "version 1.2.3.4", "v2.4.1.0", "build 10.0.1.7": four numbers that are no address.
_VERSION_BEFORE = re.compile(r"(?:version|release|build|\bv)[ .:]*$", re.IGNORECASE)
# Public resolvers, named in countless how-tos: public, but nobody's personal address.
WELL_KNOWN_PUBLIC = _words(
    "8.8.8.8 8.8.4.4 1.1.1.1 1.0.0.1 9.9.9.9 149.112.112.112 208.67.222.222 208.67.220.220 "
    "1.2.3.4 4.3.2.1"  # the stand-ins of every firewall and DNS example
)
# The host part of a URL ("http://203.0.113.9/api"): a server's address, not a person's.
_URL_HOST_BEFORE = re.compile(r"://$")
# A prefix shorter than /32 makes the address a network ("200.128.1.0/24"); a /32 is a host.
_CIDR_AFTER = re.compile(r"/(?:[0-9]|[12][0-9]|3[01])(?![0-9])")


def public_ipv4(candidate: str) -> bool:
    """A global unicast address: not loopback, private, link-local, shared (100.64/10),
    documentation, multicast, reserved, unspecified (0.0.0.0) or broadcast."""
    try:
        address = ipaddress.IPv4Address(candidate)  # rejects leading zeros and octets > 255
    except ValueError:
        return False
    return address.is_global and not (
        address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or address.is_loopback
        or address.is_link_local
        or address.is_private
    )


def find_ipv4(text: str) -> Iterator[ReviewHit]:
    for match in _IPV4.finditer(text):
        candidate = match.group()
        if not public_ipv4(candidate) or candidate in WELL_KNOWN_PUBLIC:
            continue
        if _VERSION_BEFORE.search(text, max(0, match.start() - 12), match.start()):
            continue
        if _URL_HOST_BEFORE.search(text, max(0, match.start() - 3), match.start()):
            continue
        if _CIDR_AFTER.match(text, match.end()):
            continue
        yield _cue_or_shape(text, match, IP_ADDRESS, _IP_CUES, "ipv4")


_IPV6 = re.compile(r"(?<![0-9A-Fa-f:.])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![0-9A-Za-z:])")


def public_ipv6(candidate: str) -> bool:
    """A global unicast IPv6 address (not loopback, link-local, unique-local, documentation
    2001:db8::/32, multicast or unspecified)."""
    try:
        address = ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    return (
        address.is_global
        and not address.is_multicast
        and not (address.is_private or address.is_reserved or address.is_site_local)
    )


def find_ipv6(text: str) -> Iterator[ReviewHit]:
    for match in _IPV6.finditer(text):
        if match.group().count(":") < 3 or not public_ipv6(match.group()):
            continue  # "12:30:00" is a time
        yield _cue_or_shape(text, match, IP_ADDRESS, _IP_CUES, "ipv6")


# --------------------------------------------------------------------------------------------
# Names after strong cues
# --------------------------------------------------------------------------------------------

_WORD = r"[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+(?:[-'’][A-ZÀ-ÖØ-Þ]?[a-zß-öø-ÿ]+)*"
_TITLE = r"(?:(?:Mr|Mrs|Ms|Miss|Dr|Prof|Sr|Sra|Herr|Frau|Mme|Mlle|M)\.?[ ]+)?"
# The phrases a person gives their name after, lower case ("dear" has its own alternative
# below): the regex is built from them, and `name_cues` finds where a match can start.
_INTRO_PHRASES = (
    "my name is", "my name's", "me llamo", "mi nombre es", "je m'appelle", "je m’appelle",
    "mon nom est", "ich heiße", "ich heisse", "mein name ist", "mi chiamo", "meu nome é",
    "mijn naam is", "ik heet",
)  # fmt: skip
_CUE_PHRASES = (*_INTRO_PHRASES, "dear")
_NAME_CUE = re.compile(
    r"(?P<cue>(?i:" + "|".join(r"\b" + re.escape(phrase) for phrase in _INTRO_PHRASES) + r")[ ]+"
    r"|(?:^|(?<=\n))[ \t>*-]*(?i:full[ ]+|first[ ]+and[ ]+last[ ]+)?(?i:name)[ ]*:[ ]*"
    r"|\b(?i:dear)[ ]+)"
    rf"{_TITLE}(?P<name>{_WORD}(?:[ ]{_WORD}){{0,2}})"
)
# Capitalised words that follow the cues without being anyone's name.
NOT_NAMES = _words(
    """Sir Madam Madame Sirs Mr Mrs Ms Dr Prof Professor Hiring Manager Managers Team Customer
    Customers Valued Friend Friends Colleague Colleagues All Everyone Members Member Committee
    Editor Editors Admissions Officer Recruiter Recruitment Board Reader Readers Diary Santa
    Future Past Self Mom Mum Dad Mother Father Grandma Grandpa God Lord Parents Parent Guardian
    Students Student Teacher Teachers Neighbor Neighbour Neighbors Neighbours Residents Citizens
    Community Human Resources Department Director Coordinator Supervisor Landlord Tenant Client
    Clients Partner Partners Sponsor Sponsors Support Service Services Hr Name Your Our The
    This That My His Her Their Full First Last Unknown Not Assistant Ai Bot Chatbot Chatgpt
    Gpt Claude Bard Openai Vicuna Llama Alpaca Koala Model Language Sample Example Test User
    Username Company Project Product File Mr Sr Yours Sincerely Regards Best Kind Warm Hello Hi
    Insert Placeholder Recipient Recipients Applicant Candidate Contact Contacts Subscriber
    Help Desk Helpdesk Consul General Ambassador Embassy Council Panel Jury Office Officers"""
)
RESERVED_NAMES = frozenset({"John Doe", "Jane Doe", "Richard Roe", "Max Mustermann"})


# Self-introductions in scripts without capital letters (or, in Russian, with their own).
_NAME_CUES_OTHER_SCRIPTS = (
    re.compile(r"(?i:меня зовут|мо[её] имя)[ ]+(?P<name>[А-ЯЁ][а-яё]+(?:[ ][А-ЯЁ][а-яё]+){0,2})"),
    re.compile(
        r"(?:我叫|我的名字是|我的名字叫|我名叫)(?P<name>[\u4e00-\u9fff]{2,4}?)"
        r"(?=[^\u4e00-\u9fff]|$|是|今年|来自)"
    ),
    re.compile(
        r"(?:私|僕|わたし)の名前は[ ]?(?P<name>[\u4e00-\u9fff\u30a0-\u30ff]{2,8}?)"
        r"(?=です|と申します|と言います|といいます|[。、 ]|$)"
    ),
    re.compile(
        r"(?:이름은|이름[ ]?:)[ ]?(?P<name>[\uac00-\ud7a3]{2,4}?)"
        r"(?=입니다|이에요|예요|이고|[ .,!?\n]|$)"
    ),
    re.compile(r"اسمي\s+(?P<name>[\u0621-\u064a]{2,}(?:[ ](?!و)[\u0621-\u064a]{2,})?)"),
)


# Letters that IGNORECASE matches with an ASCII letter although str.lower() does not map
# them to it (dotless i, long s, dotted capital I, Kelvin sign): such a text is scanned whole.
_CASE_FOLD_ODDITIES = ("\u0131", "\u017f", "\u0130", "\u212a")


def name_cues(text: str) -> Iterator[re.Match[str]]:
    """The matches of _NAME_CUE in `text`, as `_NAME_CUE.finditer(text)` gives them: the
    regex is tried only where a match can start, at one of its cue phrases (lower case) or
    at the start of a line holding "name" (found with str.find, ~50 times faster than
    letting the regex try every position of a long text)."""
    lower = text.lower()
    if len(lower) != len(text) or any(letter in text for letter in _CASE_FOLD_ODDITIES):
        yield from _NAME_CUE.finditer(text)
        return
    starts = set()
    for phrase in _CUE_PHRASES:
        position = lower.find(phrase)
        while position >= 0:
            starts.add(position)
            position = lower.find(phrase, position + 1)
    position = lower.find("name")
    while position >= 0:
        starts.add(lower.rfind("\n", 0, position) + 1)
        position = lower.find("name", position + 1)
    end = 0
    for start in sorted(starts):
        if start < end:
            continue
        match = _NAME_CUE.match(text, start)
        if match is not None:
            yield match
            end = match.end()


def find_names(text: str) -> Iterator[ReviewHit]:
    for pattern in _NAME_CUES_OTHER_SCRIPTS:
        for match in pattern.finditer(text):
            yield ReviewHit(PERSON, match.start("name"), match.end("name"), CUE, "name_cue")
    for match in name_cues(text):
        words = match.group("name").split(" ")
        # A cue word ends the name: "Dear Anna Smith Hiring..." is still Anna Smith.
        for index, word in enumerate(words):
            if word.replace("’", "'").split("'")[0].capitalize() in NOT_NAMES:
                words = words[:index]
                break
        if not words or " ".join(words) in RESERVED_NAMES:
            continue
        start = match.start("name")
        end = start + len(" ".join(words))
        if len(words) >= 2:
            yield ReviewHit(PERSON, start, end, CUE, "name_cue")
        else:
            yield ReviewHit(PERSON, start, end, SHAPE, "name_single_word")


# --------------------------------------------------------------------------------------------
# All rules
# --------------------------------------------------------------------------------------------

Rule = Callable[[str], Iterator[ReviewHit]]
# What a text must contain for a rule to match: an "@" (or a spelled-out "(at)"), a run of
# digits and separators, an IBAN head, an IPv6 group, or a name cue. A rule reads only the
# texts its gate finds something in; the gates together are the prefilter Polars searches
# (in Rust), so most texts never reach the Python rules at all.
_EMAIL_GATE = r"@|＠|(?i:[(\[{] ?at ?[)\]}])"
_DIGITS_GATE = r"[0-9０-９][0-9０-９ .()/\-－]{5,}[0-9０-９]"
_IBAN_GATE = r"[A-Z]{2}[0-9]{2}"
_IPV6_GATE = r":[0-9A-Fa-f]{0,4}:"
_NAME_GATE = (  # the cues of _NAME_CUE and _NAME_CUES_OTHER_SCRIPTS, not "name" in code
    r"(?i:name[ ]*:|name is|name's|dear[ ]|llamo|nombre es|appelle|nom est|hei(?:ß|ss)e"
    r"|chiamo|nome é|naam is|heet|зовут|имя)|我叫|名字|名叫|名前|이름|اسمي"
)
GATES = {
    "email": _EMAIL_GATE,
    "digits": _DIGITS_GATE,
    "iban": _IBAN_GATE,
    "ipv6": _IPV6_GATE,
    "name": _NAME_GATE,
}
_COMPILED_GATES = {name: re.compile(gate) for name, gate in GATES.items()}
GATED_RULES: tuple[tuple[str, Rule], ...] = (
    ("email", find_emails),
    ("digits", find_cards),
    ("iban", find_ibans),
    ("digits", find_ssns),
    ("digits", find_ipv4),
    ("ipv6", find_ipv6),
    ("digits", find_phones),
    ("name", find_names),
)


def review_text(text: str, open_gates: Collection[str] | None = None) -> list[ReviewHit]:
    """Every hit in `text`, no two overlapping: where rules disagree about a span, the hit
    with the higher confidence (then the longer one) is kept. `open_gates`: the GATES the
    text passes, when the caller has searched them already (`review_texts`, in Polars)."""
    if open_gates is None:
        open_gates = {name for name, gate in _COMPILED_GATES.items() if gate.search(text)}
    prepared = prepare(text)
    hits = [hit for gate, rule in GATED_RULES if gate in open_gates for hit in rule(prepared)]
    kept: list[ReviewHit] = []
    for hit in sorted(hits, key=lambda h: (-h.confidence, -(h.end - h.start), h.start)):
        if all(hit.end <= other.start or other.end <= hit.start for other in kept):
            kept.append(hit)
    return sorted(kept, key=lambda h: h.start)


def gated_texts(texts: pl.Series) -> pl.DataFrame:
    """The distinct `texts` some rule must read: (text, one Boolean column per GATE), only
    the texts at least one gate passes. The gates are searched in Polars, over every text;
    the rules, in Python, only over these."""
    distinct = texts.cast(pl.String).drop_nulls().unique(maintain_order=True)
    return (
        distinct.to_frame("text")
        .with_columns(**{name: pl.col("text").str.contains(gate) for name, gate in GATES.items()})
        .filter(pl.any_horizontal(*GATES))
    )


def review_gated(gated: pl.DataFrame) -> pl.DataFrame:
    """Every hit in the texts of `gated_texts`, one row each (TEXT_HIT_SCHEMA: the text,
    type, offsets, confidence, rule). Built column by column: a column of nested Python
    objects costs ten times the rules."""
    columns: dict[str, list] = {name: [] for name in TEXT_HIT_SCHEMA}
    for text, *passed in gated.select("text", *GATES).iter_rows():
        open_gates = {name for name, ok in zip(GATES, passed, strict=True) if ok}
        for hit in review_text(text, open_gates):
            columns["text"].append(text)
            for name in ("entity_type", "start", "end", "confidence", "rule"):
                columns[name].append(getattr(hit, name))
    return pl.DataFrame(columns, schema=TEXT_HIT_SCHEMA)


def review_texts(texts: pl.Series) -> pl.DataFrame:
    """Every hit in the distinct `texts` (TEXT_HIT_SCHEMA); texts the gates rule out are not
    read by the rules."""
    return review_gated(gated_texts(texts))


# --------------------------------------------------------------------------------------------
# Frames
# --------------------------------------------------------------------------------------------


class TextLocation(Protocol):
    """A text field of a frame: a string column, or a list of structs whose `part` is text
    (transforms/scrub.py's TextField is one)."""

    @property
    def column(self) -> str: ...

    @property
    def part(self) -> str | None: ...


def located_texts(
    frame: pl.DataFrame,
    field: TextLocation,
    model_written: bool = False,
    model_datasets: Collection[str] = (),
) -> pl.DataFrame:
    """One row per non-null text of `field`: (__row, turn_index, text, model_written).

    A model wrote an assistant turn; a field without roles if `model_written` says so; and
    a user's turn, or a field without roles, in a row whose author column (the field's
    `author_column`, e.g. silver's `user_written_by`) says "model", or, without that
    column, in a row of a dataset in `model_datasets` (UltraChat's simulated users)."""
    author_column = getattr(field, "author_column", None)
    if author_column in frame.columns:
        row_model = pl.col(author_column) == "model"
    elif model_datasets and "dataset" in frame.columns:
        row_model = pl.col("dataset").is_in(list(model_datasets))
    else:
        row_model = pl.lit(False)
    indexed = frame.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("__row"),
        field.column,
        row_model.fill_null(False).alias("__row_model"),
    )
    if field.part is None:
        texts = indexed.select(
            "__row",
            pl.lit(None, pl.Int64).alias("turn_index"),
            text=field.column,
            model_written=pl.lit(model_written) | pl.col("__row_model"),
        )
    else:
        dtype = frame.schema[field.column]
        roles = isinstance(dtype, pl.List) and any(
            f.name == "role" for f in getattr(dtype.inner, "fields", [])
        )
        column = pl.col(field.column)
        role = column.struct.field("role")
        texts = (
            indexed.filter(column.list.len() > 0)
            .with_columns(turn_index=pl.int_ranges(column.list.len(), dtype=pl.Int64))
            .explode(field.column, "turn_index")
            .select(
                "__row",
                "turn_index",
                text=column.struct.field(field.part),
                model_written=(
                    (role == "assistant") | ((role == "user") & pl.col("__row_model"))
                    if roles
                    else pl.lit(model_written) | pl.col("__row_model")
                ),
            )
        )
    return texts.filter(pl.col("text").is_not_null())


def review_frame(
    frame: pl.DataFrame,
    fields: Sequence[TextLocation],
    row_key: str,
    min_confidence: float = 0.0,
    model_fields: Collection[str] = (),
    model_datasets: Collection[str] = (),
    review: Callable[[pl.Series], pl.DataFrame] = review_texts,
) -> tuple[pl.DataFrame, int, int]:
    """Review every text of `fields`: the hits at or above `min_confidence`, one row per
    hit (LOCATED_HIT_SCHEMA: row key, dataset, field, turn, offsets, type, confidence,
    rule; never the value), how many hits fell below it, and how many texts were read.

    A name in what a model wrote (see `located_texts`: an assistant turn, a field in
    `model_fields`, a user turn a model simulated) is not personal data by the lake's rule
    (a model's letter to "Dear John Smith" names no one), so it counts as shape only (rule
    `..._model_text`). `review`: what finds the hits in a series of texts (`review_texts`,
    or the same rules behind a cache: storage/review_cache.py)."""
    located = [
        located_texts(frame, field, field.column in model_fields, model_datasets).with_columns(
            field=pl.lit(field.column)
        )
        for field in fields
    ]
    texts = pl.concat(located) if located else pl.DataFrame()
    if texts.is_empty():
        return pl.DataFrame(schema=LOCATED_HIT_SCHEMA), 0, 0
    reviewed = review(texts["text"])
    keys = frame.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("__row"),
        pl.col(row_key).cast(pl.String).alias("row_key"),
        (pl.col("dataset") if "dataset" in frame.columns else pl.lit(None))
        .cast(pl.String)
        .alias("dataset"),
    )
    model_name = pl.col("model_written") & (pl.col("entity_type") == PERSON)
    hits = (
        texts.join(reviewed, on="text", how="inner")
        .join(keys, on="__row", how="left")
        .with_columns(
            confidence=pl.when(model_name)
            .then(pl.min_horizontal("confidence", pl.lit(SHAPE)))
            .otherwise("confidence"),
            rule=pl.when(model_name).then(pl.col("rule") + "_model_text").otherwise("rule"),
        )
    )
    above = hits.filter(pl.col("confidence") >= min_confidence)
    return (
        above.select(LOCATED_HIT_SCHEMA.names()).cast(dict(LOCATED_HIT_SCHEMA)),
        hits.height - above.height,
        texts.height,
    )


# --------------------------------------------------------------------------------------------
# Canaries
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Canary:
    """A made-up personal value in a sentence that states it the way people do. `parts`
    are the pieces that identify it: if any is left after scrubbing, the canary survived."""

    entity_type: str
    sentence: str
    parts: tuple[str, ...]


# Invented values, none reserved (a scrubber may rightly let example.com through), each in
# a form the scrubber is configured to catch by default.
CANARIES = (
    Canary(
        EMAIL_ADDRESS,
        "You can write to me at marisol.quenby@fernwood-mail.net if anything is unclear.",
        ("marisol.quenby@fernwood-mail.net", "marisol.quenby"),
    ),
    Canary(
        PHONE_NUMBER,
        "My phone number is 312-748-2261, evenings are best.",
        ("312-748-2261", "748-2261"),
    ),
    Canary(
        CREDIT_CARD,
        "My card number is 4539 1488 0343 6467 and it expires next year.",
        ("4539 1488 0343 6467", "0343 6467"),
    ),
    Canary(PERSON, "My name is Tobias Wrenfield.", ("Tobias Wrenfield", "Wrenfield")),
)


def canary_hosts(
    frame: pl.DataFrame, fields: Sequence[TextLocation], rows: int, max_chars: int
) -> pl.DataFrame:
    """Up to `rows` rows of `frame` to plant canaries in: the first that hold text of at
    most `max_chars` characters in all, or, when none is that short, the shortest ones
    (long rows only cost the scrubber time, they do not make the test stronger)."""
    located = [located_texts(frame, field) for field in fields]
    lengths = (
        pl.concat(located)
        .group_by("__row")
        .agg(chars=pl.col("text").str.len_chars().sum())
        .sort("__row")
    )
    chosen = lengths.filter(pl.col("chars") <= max_chars).head(rows)
    if chosen.is_empty():
        chosen = lengths.sort("chars", "__row").head(rows).sort("__row")
    return (
        frame.with_row_index("__row").filter(pl.col("__row").is_in(chosen["__row"])).drop("__row")
    )


def plant(text: str, sentence: str) -> str:
    """`sentence` inside `text`: after its first line, or after the text when it has one line."""
    if not text:
        return sentence
    first, newline, rest = text.partition("\n")
    if newline:
        return f"{first}\n{sentence}\n{rest}"
    return f"{text} {sentence}"


def plant_canaries(
    frame: pl.DataFrame, fields: Sequence[TextLocation], canaries: Sequence[Canary] = CANARIES
) -> pl.DataFrame:
    """A copy of `frame` with each canary planted in the first text of one row (canary i in
    the i-th row holding any text, round robin). Rows without text are left as they are."""
    rows = frame.to_dicts()
    holders = []
    for index, row in enumerate(rows):
        field = next((f for f in fields if _first_text(row, f) is not None), None)
        if field is not None:
            holders.append((index, field))
    if not holders:
        raise ValueError("no text to plant canaries in")
    for number, canary in enumerate(canaries):
        index, field = holders[number % len(holders)]
        text = _first_text(rows[index], field) or ""
        _set_first_text(rows[index], field, plant(text, canary.sentence))
    return pl.DataFrame(rows, schema=frame.schema)


def _first_text(row: dict, field: TextLocation) -> str | None:
    value = row.get(field.column)
    if field.part is None:
        return value
    for item in value or []:
        if item and item.get(field.part) is not None:
            return item[field.part]
    return None


def _set_first_text(row: dict, field: TextLocation, text: str) -> None:
    if field.part is None:
        row[field.column] = text
        return
    for item in row[field.column]:
        if item and item.get(field.part) is not None:
            item[field.part] = text
            return


def surviving_canaries(
    original: pl.DataFrame,
    scrubbed: pl.DataFrame,
    fields: Sequence[TextLocation],
    canaries: Sequence[Canary] = CANARIES,
) -> list[Canary]:
    """The canaries any identifying part of which is found more often in the scrubbed
    planted rows than in the rows before planting (so a part the real text happens to hold
    is not taken for a survivor)."""

    def joined(frame: pl.DataFrame) -> str:
        return "\n".join(
            text for field in fields for text in located_texts(frame, field)["text"].to_list()
        )

    before, after = joined(original), joined(scrubbed)
    return [
        canary
        for canary in canaries
        if any(after.count(part) > before.count(part) for part in canary.parts)
    ]
