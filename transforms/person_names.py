"""Personal names in text a person wrote: a gazetteer, cue words and layout, no NER model.

Why not NER: spaCy's small English model finds about two thirds of the names in a labelled
PII set, tags ``Node``, ``Exception`` and ``JSON`` as people in programming prompts, and runs
at ~30 k chars/s even alone -- hours for the prose of a full lake. A name of a private
person in chat text is almost always a given name people actually have, or sits next to a
word that introduces a person. So a candidate is a run of one to three name-shaped words
(``Anna``, ``Jean-Luc``, ``O'Brien``, ``Ken N. Fukuda``; lower-case only in texts typed
entirely in lower case), and it becomes a ``PERSON`` finding when:

* a personal cue introduces it (``Mr.``, ``Dear``, ``Name:``, ``my wife``, ``my colleague``,
  ``Regards,``, a letter's greeting line ``Hi Anna,``, a known name signed alone on the line
  under ``Best,`` or ``Thanks,``), unless the cue speaks of a persona, a
  character or a pet (``your name is``, ``protagonist name is``, ``my cat, his name is``); or
* the caller lets weaker evidence count (``find_names(text, weak_evidence_counts=True)``:
  the PII engine does when the text holds someone's contact details, or always with
  ``PiiSettings.person_names="broad"``): its first word is a known given name
  (:func:`given_names`: the person-name lists of every locale of the Faker package, ~31 k
  given names and ~28 k surnames in 80+ locales) and it looks like a full name, a weak cue
  stands before it (``with``, ``called``, ``Hi`` inside a line), a verb of people follows it
  (``... lives at``, ``... said``), or it stands alone on a line of a signature or address
  block, or speaks a line of a dialogue (``Anna: ...``).

In real chat text the weaker evidence is mostly wrong (characters of the stories people ask
for, public figures, authors: docs/quality.md), hence the default.

Public figures and fictional characters being asked about are not personal data: a name on
:data:`PUBLIC_NAMES` (heads of state, business people, scientists, artists, athletes,
characters and the placeholder people of cryptography and tutorials) is kept unless a strong
personal cue stands before it (``my name is``, ``Dear``, ``Name:``). Code is skipped: fenced
and inline code, and name-shaped words glued to code punctuation (``Node.js``,
``Exception(``, ``= db``).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

import regex

# ---------------------------------------------------------------------------------------------
# Reference data
# ---------------------------------------------------------------------------------------------


@cache
def _faker_person_names() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """Given names, surnames, and the given names of two or more locales, from every locale
    of Faker's person provider (MIT licence).

    Read from the installed package (in the lock file); nothing is downloaded.
    """
    import faker.providers.person as person_providers

    given: set[str] = set()
    family: set[str] = set()
    locales: Counter[str] = Counter()
    for module in pkgutil.iter_modules(person_providers.__path__):
        if module.name in _WORD_LIKE_NAME_LOCALES:
            continue
        provider = importlib.import_module(f"{person_providers.__name__}.{module.name}").Provider
        names_here = {
            name
            for attribute in ("first_names", "first_names_male", "first_names_female")
            for name in _names(getattr(provider, attribute, None))
        }
        given |= names_here
        locales.update(names_here)
        for attribute in ("last_names", "last_names_male", "last_names_female"):
            family.update(_names(getattr(provider, attribute, None)))
    widespread = frozenset(name for name, count in locales.items() if count > 1)
    return frozenset(given), frozenset(family), widespread


# Vietnamese given names are everyday words written capitalised ("tiếng Anh", "Quang hợp"):
# alone they say nothing, so that locale's list is not used (cues still find such names).
_WORD_LIKE_NAME_LOCALES = frozenset(("vi_VN",))


@cache
def place_names() -> frozenset[str]:
    """Cities, regions and countries (Faker's address providers and the time-zone database):
    a given name that is also a place ("Valencia", "Victoria") is not a name on its own."""
    import zoneinfo

    import faker.providers.address as address_providers

    places: set[str] = set()
    for module in pkgutil.iter_modules(address_providers.__path__):
        provider = importlib.import_module(f"{address_providers.__name__}.{module.name}").Provider
        for attribute in ("cities", "city_names", "countries", "states", "provinces", "regions"):
            places.update(_names(getattr(provider, attribute, None)))
    for zone in zoneinfo.available_timezones():
        places.add(zone.rsplit("/", 1)[-1].replace("_", " "))
    return frozenset(places)


def _names(values: object) -> Iterator[str]:
    if isinstance(values, dict):
        values = list(values)
    if isinstance(values, list | tuple | set | frozenset):
        yield from (name for name in values if isinstance(name, str) and len(name) > 1)


@cache
def given_names() -> frozenset[str]:
    """Known given names (case as printed: ``Anna``, ``Jean-Luc``)."""
    return _faker_person_names()[0] - NOT_NAMES


@cache
def surnames() -> frozenset[str]:
    return _faker_person_names()[1] - NOT_NAMES


@cache
def widespread_given_names() -> frozenset[str]:
    """Given names listed for two locales or more: alone, a rarer one ("Jax", "Houston",
    "Unknown" are in the long US list) is more often something else."""
    return _faker_person_names()[2] - NOT_NAMES


@cache
def known_names() -> frozenset[str]:
    return given_names() | surnames()


# Words that are given names somewhere but, capitalised in chat text, are far more often
# something else: English words, months and days, places, products, languages and tools,
# and the names of the models people talk to.
NOT_NAMES = frozenset(
    """
    Date Time Carry Note Answer Question Input Output Example User Assistant System Human
    Bot Subject Title Summary Status Total Price Order Message Reply Re Fwd Task Step
    A An And Are As At Be But By Can Do For From Go Has Have He Her His How I If In Is It
    Its Me My No Not Of Oh Ok On Or Our She So The Then There They This To Up Us We What
    When Where Which Who Why Will With Yes You Your
    Able Ace Admiral Allow Amber Angel Apple Apollo April Art Asia August Autumn Baby Bail
    Bang Banks Bay Bear Bell Berry Best Bill Billion Bird Black Bliss Blue Bond Bonus Boy
    Brand Brave Bridge Bright Brook Brown Buck Bud Burn Cairo Cali Can Candy Cash Chance
    Chase Cherry China Christian Church Clay Cliff Close Cloud Coin Cole Colt Cook Cool
    Coral Cotton Crystal Cyan Daisy Dale Dash Dawn Day Dean December Delta Denver Desire
    Destiny Diamond Dior Dollar Dove Drew Duke Early Earl East Easter Echo Eden Elm Ember
    Emerald Era Ever Fair Faith Fall Fame February Fern Fields Fish Flash Fleet Flora
    Florence Ford Forest Fox Frank Free Friday Frost Gale Garden Gem Gene General Georgia
    Ginger Glen Glory Gold Golden Grace Grand Grant Gray Green Grey Guy Hail Hall Happy
    Harmony Haven Hawk Hazel Heart Heath Heaven Herb Hero Hill Holly Honey Hope Hunter
    India Iris Israel Ivory Ivy Jade January Java Jazz Jean Jet Jewel Joy July June Jupiter
    Just Justice King Kit Lake Land Lane Laser Lavender Lee Legend Liberty Light Lily Lime
    Lincoln Link Lion Long Lord Love Lucky Luna Lux Magic Major Maple March Mark Mars
    Marshal Mason Max May Mercy Merry Miles Mill Millions Mint Miracle Misty Monday Moon
    Morning Moss Much Mystery Nature Navy Neo New Noble North Nova November Oak Ocean
    October Olive Onyx Page Paris Park Pat Patience Peace Pearl Penny Pepper Phoenix Pine
    Poppy Power Precious Prince Princess Queen Rain Rainbow Raven Ray Reed Rich Ridge River
    Robin Rock Rocky Rose Royal Ruby Rush Rust Sage Saint Salt Sandy Santa September Shadow
    Sharp Short Silver Sky Smart Snow Sol Solo Song Spring Star Sterling Stone Storm Story
    Strong Summer Sun Sunday Sunny Swan Sweet Swift Sydney Tan Tank Temple Thursday Tiger
    Today Trinity True Tuesday Union Unique Urban Valentine Vegas Venus Victory Violet
    Virginia Wade Walker Ward Warren Water Wave Webb West White Wild Win Winter Wolf Wood
    Worth Wren York Young Zen
    Ada Alexa Alpaca Ansible Bard Bert Claude Copilot Cortana Dart Django Elixir Ember
    Falcon Flask Gemini Grok Haskell Hugo Jasmine Jenkins Julia Kafka Keras Kotlin Laravel
    Llama Lua Mistral Mocha Nim Node Orca Pascal Perl Phi Pixel Pluto Qwen Rails Redis
    Sage Scala Siri Spark Swift Tauri Vicuna Vue Zephyr
    String Number Boolean Bool Integer Int Float Double Char Varchar Object Array Dict List
    Null None Void Optional Any Str
    """.split()  # noqa: SIM905 (a word list reads better as text)
)  # fmt: skip

# Words that make a capitalised run an organisation, a place or a product, not a person.
ORGANISATION_WORDS = frozenset(
    """
    Inc Incorporated Ltd Llc LLC Corp Corporation Company Co Industries Group Holdings Bank Capital
    Partners Associates Agency Consulting Solutions Systems Technologies Labs University
    College School Academy Institute Foundation Association Society Hospital Clinic Church
    Museum Library Council Committee Ministry Department Office Court Club Team Hotel
    Restaurant Cafe Street Avenue Road Lane Drive Boulevard Square Terrace Place Way Park
    Bridge Station Airport Port Valley River Lake Mountain Island Beach City County State
    Linux Windows Code Studio Cloud Server Lite Pro Plus Max Mini Ultra Edition Framework
    Engine Library Project Records Press Media News Times Journal Review Magazine Studios
    Pictures Films Games Airlines Motors Orchestra Band Quartet Trio
    """.split()  # noqa: SIM905 (a word list reads better as text)
)  # fmt: skip

# Legal forms and words that make a name a company's.
COMPANY_WORDS = ORGANISATION_WORDS | frozenset(
    "Pty Limited GmbH AG SA Plc PLC Srl BV NV Oy AB AS KG SE Sarl LLP LP".split()  # noqa: SIM905
)

# Public figures and fictional characters people ask about, and the stock placeholder names
# of tutorials and cryptography: not private persons. Matched as whole names, any case.
PUBLIC_NAMES = frozenset(
    name.strip().lower()
    for name in """
    Elon Musk|Jeff Bezos|Bill Gates|Mark Zuckerberg|Steve Jobs|Tim Cook|Satya Nadella|
    Sundar Pichai|Sam Altman|Warren Buffett|Larry Page|Sergey Brin|Jensen Huang|Jack Ma|
    Donald Trump|Joe Biden|Barack Obama|Hillary Clinton|Bill Clinton|George Bush|
    George W. Bush|Kamala Harris|Vladimir Putin|Xi Jinping|Volodymyr Zelensky|
    Emmanuel Macron|Angela Merkel|Olaf Scholz|Boris Johnson|Rishi Sunak|Narendra Modi|
    Justin Trudeau|Winston Churchill|Abraham Lincoln|George Washington|Thomas Jefferson|
    John F. Kennedy|Martin Luther King|Nelson Mandela|Mahatma Gandhi|Queen Elizabeth|
    King Charles|Napoleon Bonaparte|Julius Caesar|Adolf Hitler|Joseph Stalin|Mao Zedong|
    Karl Marx|Albert Einstein|Isaac Newton|Charles Darwin|Marie Curie|Nikola Tesla|
    Stephen Hawking|Richard Feynman|Alan Turing|Ada Lovelace|Grace Hopper|Carl Sagan|
    Galileo Galilei|Leonardo da Vinci|Michelangelo|Pablo Picasso|Vincent van Gogh|
    William Shakespeare|Jane Austen|Charles Dickens|Mark Twain|Ernest Hemingway|
    George Orwell|J.K. Rowling|J. K. Rowling|Stephen King|Agatha Christie|Emily Dickinson|
    Edgar Allan Poe|Leo Tolstoy|Fyodor Dostoevsky|Franz Kafka|Haruki Murakami|
    Taylor Swift|Beyonce|Beyoncé|Michael Jackson|Elvis Presley|John Lennon|Paul McCartney|
    Bob Dylan|Kanye West|Lady Gaga|Ed Sheeran|Justin Bieber|Ariana Grande|Rihanna|
    Tom Hanks|Leonardo DiCaprio|Brad Pitt|Angelina Jolie|Morgan Freeman|Keanu Reeves|
    Scarlett Johansson|Jennifer Aniston|Johnny Depp|Will Smith|Tom Cruise|Oprah Winfrey|
    Cristiano Ronaldo|Lionel Messi|Michael Jordan|LeBron James|Serena Williams|
    Roger Federer|Usain Bolt|Tiger Woods|Muhammad Ali|
    Harry Potter|Hermione Granger|Ron Weasley|Albus Dumbledore|Lord Voldemort|
    Sherlock Holmes|John Watson|Dr. Watson|James Bond|Frodo Baggins|Bilbo Baggins|Gandalf|
    Luke Skywalker|Darth Vader|Han Solo|Princess Leia|Tony Stark|Peter Parker|
    Bruce Wayne|Clark Kent|Mickey Mouse|Homer Simpson|Bart Simpson|Mario|Pikachu|
    Romeo|Juliet|Hamlet|Macbeth|Don Quixote|Santa Claus|Jesus Christ|
    Alice|Bob|Carol|Dave|Eve|Mallory|Trent|Alice and Bob|John Doe|Jane Doe|John Smith|
    Jane Smith|Joe Bloggs|Max Mustermann|Erika Mustermann|Taro Yamada|Zhang San|Li Si
    """.replace("\n", "").split("|")
    if name.strip()
)

# ---------------------------------------------------------------------------------------------
# Patterns
# ---------------------------------------------------------------------------------------------

# A name word: "Anna", "Jean-Luc", "O'Brien", "Müller" (a possessive "'s" is not part of it).
_WORD = r"\p{Lu}[\p{Ll}\p{M}]+(?:-\p{Lu}?[\p{Ll}\p{M}]+|['’]\p{Lu}[\p{Ll}\p{M}]+)*"
_LOWER_WORD = r"\p{Ll}[\p{Ll}\p{M}]+(?:-[\p{Ll}\p{M}]+)*"
_PARTICLE = r"(?:van|von|der|den|de|del|della|di|da|du|dos|das|la|le|al|el|bin|ibn)"
_NOT_AFTER = r"(?<![\p{L}\p{M}\p{N}_.@/\\#$`<])"
# Not glued to code or to a contraction ("Don't"); a possessive "'s" may follow.
_NOT_BEFORE = r"(?![\p{L}\p{M}\p{N}_@(`>]|\.[\p{L}\p{N}]|['’](?!s\b)\p{L})"
# One to three name words, with an optional middle initial or particle: "Ken N. Fukuda",
# "Dyan van Gijn".
_NAME_RUN = regex.compile(
    rf"{_NOT_AFTER}(?P<name>{_WORD}(?:[ ]+(?:\p{{Lu}}\.?[ ]+|{_PARTICLE}[ ]+)?{_WORD}){{0,2}})"
    rf"{_NOT_BEFORE}"
)
_LOWER_WORD_RE = regex.compile(rf"{_NOT_AFTER}{_LOWER_WORD}{_NOT_BEFORE}")
_LOWER_JOIN = regex.compile(r"[ ]+(?:\p{Ll}\.?[ ]+)?")  # "benjamin a seiler"
_CODE = regex.compile(r"```.*?(?:```|\Z)|~~~.*?(?:~~~|\Z)|`[^`\n]+`", regex.DOTALL)

# A cue that introduces a person right before the name (lower-cased text). After an
# introducing cue any name-shaped word is taken; after a weak one (a greeting, "with",
# "by"...), only a known given name or surname.
INTRODUCING_CUES = (
    r"my name is|my name's|(?:first |last |full |maiden |middle |sur)?name(?: is|\s*[:?])|"
    r"dear|attn\.?:?|signed|sincerely,|"
    r"regards,|mr\.?|mrs\.?|ms\.?|miss|mx\.?|dr\.?|"
    r"my (?:wife|husband|son|daughter|mother|mom|mum|father|dad|sister|brother|friend|"
    r"boyfriend|girlfriend|partner|boss|manager|colleague|coworker|co-worker|neighbou?r|"
    r"teacher|student|client|customer|patient|employee|tenant|landlord|uncle|aunt|cousin|"
    r"grandmother|grandfather|grandma|grandpa|nephew|niece|fianc[ée]e?|roommate|doctor|"
    r"lawyer|classmate|kid|child|baby|grandson|granddaughter|stepson|stepdaughter)"
)
WEAK_CUES = (
    r"hi|hello|hey|thanks,|best,|cheers,|from\s*:|to\s*:|cc\s*:|contact\s*:|called|named|"
    r"with|ask|tell|meet|met"
)
STRONG_CUES = r"my name is|my name's|name\s*:|dear"  # even before a public figure's name
_BEFORE = r"(?:^|[\s(\"'“‘>,;])(?:{})[\s,:]*$"
# Every introducing cue of a text, with the spaces and colons after it: a name starting where
# one ends is introduced ("Dear Anna", "my colleague: Paul").
_INTRODUCING = re.compile(r"(?<![^\s(\"'“‘>,;])(?:" + INTRODUCING_CUES + r")[\s,:]*")
_GREETED = regex.compile(_BEFORE.format(WEAK_CUES))
_STRONG = regex.compile(_BEFORE.format(STRONG_CUES))
# Verbs and phrases that follow a person's name.
_FOLLOWED = regex.compile(
    r"^(?:'s\b|’s\b|,? (?:lives|lived|said|says|told|asked|shouted|spent|works|worked|"
    r"was born|is a|is my|was a|and I\b|replied|answered|smiled|went|flew|moved|"
    r"joined|died|married|has been|had been|will be)\b)"
)
# A person written about as an author or a public figure: a citation year or work right
# after the name, or a public role right before it.
_PUBLIC_AFTER = regex.compile(
    r"^(?:[^.\n(]{0,60}\(\s*(?:1[5-9]|20)[0-9]{2}\b|"
    r"[ ]*\([^)\n]{0,40}\b(?i:founder|co-founder|ceo|cto|chairman|president|author|artist|"
    r"singer|actor|actress|player|coach|minister|senator|professor)\b|"
    r"['’]s (?:book|novel|poem|essay|article|paper|text|theory|theorem|law|paradox|"
    r"principle|painting|song|album|film|play|speech|work)s?\b)"
)
_PUBLIC_BEFORE = regex.compile(
    r"(?i)(?:professor|prof\.|author|writer|poet|novelist|painter|composer|philosopher|"
    r"scientist|president|senator|governor|minister|chancellor|king|queen|emperor|pope|"
    r"saint|\bst\.?|ceo|founder of|director of|artist|singer|rapper|actor|actress|"
    r"musician|athlete|footballer|player|coach|journalist|influencer|youtuber)"
    r"(?: of [\p{L} ]+?)?[\s,]*$"
)
_ONLY_MARKS = regex.compile(r"^[ \t>*-]*$")  # only quote marks / bullets before it on its line
_WORDS = regex.compile(r"\S+")
_SPEAKER_LINE = regex.compile(r"^[ \t>*-]*\p{Lu}[\p{Ll}\p{M}]+:[ \t]*\S", regex.MULTILINE)
_CUE_WINDOW = 24
_TITLES = frozenset(("mr", "mrs", "ms", "mx", "dr", "miss"))
# A pasted chat log's speaker lines, up to where the speaker's name starts: WhatsApp's
# exports ("[3/7, 2:16 PM] Anna Berg: ...", "3/7/23, 14:16 - Anna Berg: ...") and a copied
# Slack or Discord thread ("> Anna Berg 6:59 PM" on its own line). The people of a real log
# someone pasted are private persons; its timestamps tell it from a script or a story, and
# it takes CHAT_LOG_MIN_LINES such lines.
_TIME = r"\d{1,2}:\d{2}(?::\d{2})?(?:[ \u202f]?[AaPp]\.?[Mm]\.?)?"
_DATE = r"\d{1,4}[/.-]\d{1,2}(?:[/.-]\d{2,4})?"
_CHAT_LOG_SPEAKER = regex.compile(
    rf"^[ \t>*-]*(?:\[(?:{_DATE},?[ ]+)?{_TIME}\][ ]*|{_DATE},?[ ]+{_TIME}[ ]+[-–][ ]+)"
    r"(?=\p{Lu}[^\n:]{0,40}:)"
    rf"|^[ \t>*-]*(?:[^\p{{L}}\p{{N}}\s]+[ ]+)?(?=\p{{Lu}}[^\n\d]{{0,40}}[ ]{_TIME}[ \t]*$)",
    regex.MULTILINE,
)
CHAT_LOG_MIN_LINES = 2
_CLOCK = regex.compile(r"\d:\d\d")  # no time of day, no chat log: most texts stop here
# The account name in a home folder's path ("/home/anna/", "C:\\Users\\Anna Berg\\"): most
# are their owner's name or handle. Accounts that name no one are kept.
_HOME_FOLDER = regex.compile(
    r"(?:(?<![\w.])/home/|(?<![\w.])/Users/|\b[A-Za-z]:\\{1,2}Users\\{1,2})"
    r"(?P<account>[A-Za-z][\w.-]{1,30}(?: [A-Za-z][\w.-]{1,30})?)(?=/|\\)"
)
SHARED_ACCOUNTS = frozenset(
    """
    user users username usr admin administrator root ubuntu pi runner vagrant ec2-user centos
    vsts azureuser cloudtest buildagent agent builder build ci
    debian fedora jovyan docker guest default public shared student test tester dev developer
    app apps www www-data git jenkins node you your_username your_user yourname yourusername
    your-username me name myuser myusername my_user john johndoe jdoe jane janedoe foo bar
    example projects documents desktop downloads owner pc home work workspace local temp tmp
    all user1 user2 runneradmin appveyor travis circleci codespace vscode coder ansible
    """.split()  # noqa: SIM905 (a word list reads better as text)
)  # fmt: skip


@dataclass(frozen=True)
class NameSpan:
    start: int
    end: int
    score: float
    rule: str


SCORE_CUED = 0.85  # a personal cue introduces the name: "my colleague", "Dear", "Name:"
# Evidence that alone is mostly wrong in chat text (characters of stories and word problems,
# public figures, authors): a known given name opening a full name, a weak cue ("with",
# "called", "Hi" inside a sentence), a verb of people after it, a signature-like line. It
# counts only in a text that also holds someone's contact details (a résumé, a signature,
# a pasted profile or record), where it is then scored SCORE_DOCUMENTED.
SCORE_WEAK_CUE = 0.45
SCORE_GIVEN_NAME = 0.4
SCORE_LAYOUT = 0.35
SCORE_DOCUMENTED = 0.7


def find_names(text: str, weak_evidence_counts: bool = False) -> list[NameSpan]:
    """Names of private persons in ``text`` (a person wrote it), with a score and the rule.

    A name counts when a personal cue introduces it, or, if ``weak_evidence_counts`` (the
    text carries someone's contact details, or the caller wants every likely name), on
    weaker evidence too. Every later standalone mention of a counted name's words counts as
    well ("same_person").
    """
    masked = _CODE.sub(_blank, text) if "`" in text or "~~~" in text else text
    cues = {cue.end(): cue.start() for cue in _INTRODUCING.finditer(masked.lower())}
    speakers = list(_CHAT_LOG_SPEAKER.finditer(masked)) if _CLOCK.search(masked) else []
    if len(speakers) >= CHAT_LOG_MIN_LINES:
        cues.update({line.end(): line.start() for line in speakers})
    marks = _Openings(
        cues=cues,
        greetings={
            line.end(): line.start()
            for pattern in (_GREETING, _SALUTATION)
            for line in pattern.finditer(masked)
        },
        signatures={line.end() for line in _SIGN_OFF.finditer(masked)},
    )
    # Where a name could start right after a cue, a greeting or a sign-off; without weaker
    # evidence, only runs that reach one of these are judged (most texts have none).
    openings = sorted({*marks.cues, *marks.greetings, *marks.signatures})
    owners = _home_folder_owners(text)
    if not (openings or weak_evidence_counts):
        return owners + _same_person_again(masked, owners)
    runs = (
        sorted([*_name_runs(masked), *_lower_runs_after_my_name(masked)])
        if any(c.isupper() for c in masked)
        else _lower_runs(masked)
    )
    found = []
    for start, end in runs:
        if not weak_evidence_counts and not _reaches(openings, start, end):
            continue
        span = _judge(masked, start, end, marks)
        if span is None:
            continue
        if span.score >= SCORE_CUED:
            found.append(span)
        elif weak_evidence_counts:
            found.append(NameSpan(span.start, span.end, SCORE_DOCUMENTED, span.rule))
    found += [o for o in owners if all(o.end <= f.start or f.end <= o.start for f in found)]
    return found + _same_person_again(masked, found)


def _home_folder_owners(text: str) -> list[NameSpan]:
    """The account names of home folders in ``text`` (code included: a path is pasted as it
    is), but shared and placeholder accounts."""
    if "Users" not in text and "/home/" not in text:
        return []
    return [
        NameSpan(*match.span("account"), SCORE_CUED, "home_folder")
        for match in _HOME_FOLDER.finditer(text)
        if match.group("account").lower() not in SHARED_ACCOUNTS
    ]


def _blank(match: regex.Match[str]) -> str:
    return " " * len(match.group())


def _reaches(openings: list[int], start: int, end: int) -> bool:
    """True if one of the sorted ``openings`` lies within ``[start, end]``."""
    index = bisect_left(openings, start)
    return index < len(openings) and openings[index] <= end


def _name_runs(text: str) -> Iterator[tuple[int, int]]:
    for match in _NAME_RUN.finditer(text):
        yield match.span("name")


# A name typed in lower case right after "my name is" in a text that has capitals
# ("Add these details. My name is thirumalai nagalingam"): its words, common words left out.
_MY_NAME_LOWER = regex.compile(
    rf"(?i:(?<![\p{{L}}])my name(?: is|['’]s))[ ]+(?P<name>{_LOWER_WORD}(?:[ ]+{_LOWER_WORD})?)"
    rf"{_NOT_BEFORE}"
)


def _lower_runs_after_my_name(text: str) -> Iterator[tuple[int, int]]:
    if "name" not in text.lower():
        return
    for match in _MY_NAME_LOWER.finditer(text):
        yield match.span("name")


def _lower_runs(text: str) -> Iterator[tuple[int, int]]:
    """In text typed in lower case: a known given name, or any word after a strong cue
    ("my name is borna"), with the next word unless it is a common one."""
    words = list(_LOWER_WORD_RE.finditer(text))
    for index, word in enumerate(words):
        before = text[max(0, word.start() - _CUE_WINDOW) : word.start()]
        if _title(word.group()) not in given_names() and _STRONG.search(before) is None:
            continue
        end = word.end()
        following = words[index + 1] if index + 1 < len(words) else None
        if (
            following is not None
            and _LOWER_JOIN.fullmatch(text, end, following.start())
            and following.group() not in common_lowercase_words()
        ):
            end = following.end()
        yield word.start(), end


def _same_person_again(text: str, found: list[NameSpan]) -> list[NameSpan]:
    """Later mentions of a found person by one part of the name ("Maciej Borkowski ...
    starring Borkowski"): every other standalone occurrence of a found name's words."""
    parts = {
        word
        for span in found
        for word in text[span.start : span.end].split()
        if len(word) > 2
        and word[0].isupper()
        and _title(word) not in NOT_NAMES
        and not names_an_organisation(text, word)
    }
    taken = [(span.start, span.end) for span in found]
    again = []
    for part in sorted(parts):
        position = text.find(part)
        while position >= 0:
            end = position + len(part)
            if _standalone(text, position, end) and all(
                end <= start or position >= stop for start, stop in taken
            ):
                again.append(NameSpan(position, end, SCORE_CUED, "same_person"))
                taken.append((position, end))
            position = text.find(part, end)
    return again


_CAPITALISED_AFTER = regex.compile(r"(?:[ ]+(?P<word>\p{Lu}[\p{L}&.]*)){1,4}")


def names_an_organisation(text: str, word: str) -> bool:
    """True if ``text`` also uses ``word`` in a company's name, the capitalised words right
    after it ending in a legal form ("Beckhaus Civil Pty Ltd"): its later mentions may be
    the company's, so they are not taken for the person's."""
    position = text.find(word)
    while position >= 0:
        after = position + len(word)
        following = _CAPITALISED_AFTER.match(text, after)
        if following and any(w.rstrip(".") in COMPANY_WORDS for w in following.captures("word")):
            return True
        position = text.find(word, after)
    return False


def _standalone(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start else " "
    after = text[end] if end < len(text) else " "
    return not (before.isalnum() or before in "_.@/\\#$`<") and not (
        after.isalnum() or after in "_@(`>"
    )


@dataclass(frozen=True)
class _Openings:
    """Where, in a text, a name could start after a cue: the end of each introducing cue and
    of each greeting line (``Hi ``), mapped to where it starts, and the start of each line
    under a sign-off (``Thanks,``)."""

    cues: dict[int, int]
    greetings: dict[int, int]
    signatures: set[int]


def _judge(text: str, start: int, end: int, marks: _Openings) -> NameSpan | None:
    """Whether the name-shaped run ``text[start:end]`` is a person's name, and how sure."""
    words = [(m.start() + start, m.end() + start) for m in _WORDS.finditer(text[start:end])]
    speaker = _speaker(text, start, end)
    # A capitalised common word opening a sentence is not part of the name: "Will Anna come";
    # nor, in text typed in lower case, a common word ("sing it").
    while words and _common(text[words[0][0] : words[0][1]], speaker):
        words.pop(0)
    lower_case = text[start:end].islower()
    while lower_case and words and _common(text[words[-1][0] : words[-1][1]], speaker):
        words.pop()
    # A title typed without its full stop is the cue, not part of the name: "Dr Rashidianfar"
    # (with the stop, "Dr." ends the run itself).
    if len(words) > 1 and text[words[0][0] : words[0][1]].lower() in _TITLES:
        words.pop(0)
    # A title or role word before a known given name is not part of it: "Producer Anna Berg".
    opener = next((i for i, (a, b) in enumerate(words) if _title(text[a:b]) in given_names()), 0)
    if all(_title(text[a:b]) not in known_names() for a, b in words[:opener]):
        words = words[opener:]
    if not words:
        return None
    start, end = words[0][0], words[-1][1]
    names = [_title(text[a:b]) for a, b in words if len(text[a:b].rstrip(".")) > 1]
    if any(name in ORGANISATION_WORDS for name in names):
        return None
    before = text[max(0, start - _CUE_WINDOW) : start].lower()
    if _STRONG.search(before) is None and (
        text[start:end].lower() in PUBLIC_NAMES
        or _next_word(text, end) in ORGANISATION_WORDS
        or _PUBLIC_AFTER.search(text[end : end + 72])
        or _PUBLIC_BEFORE.search(text[max(0, start - 40) : start])
    ):
        return None
    known_first = bool(names) and names[0] in given_names()
    known_any = known_first or any(name in known_names() for name in names)
    if lower_case and not (known_first or _STRONG.search(before)):
        return None  # in lower-case text only a known given name opens a name
    if (
        (_introduced(text, start, marks.cues) and not _not_a_private_person(before))
        or (known_any and _greeting(text, start, end, marks.greetings))
        or (known_any and start in marks.signatures and _alone_on_line(text, start, end))
    ):
        return NameSpan(start, end, SCORE_CUED, "cue")
    followed = _FOLLOWED.search(text[end : end + 20]) is not None
    unknown_full_name = len(names) > 1 and not any(map(_everyday_word, names))
    if (known_any and (_GREETED.search(before) or followed)) or (unknown_full_name and followed):
        return NameSpan(start, end, SCORE_WEAK_CUE, "weak_cue")
    # A given name alone is a person only among other names ("Anna, Paul and Ivan"): in
    # prompts a lone "Joe" or "Ethan" is mostly a character of a word problem or a story.
    alone_known = (
        len(names) == 1
        and names[0] in widespread_given_names()
        and not _everyday_word(names[0])
        and _listed_with_other_names(text, start, end)
    )
    if (alone_known or _looks_like_a_full_name(names)) and text[start:end] not in place_names():
        return NameSpan(start, end, SCORE_GIVEN_NAME, "given_name")
    if (known_first and speaker and len(_SPEAKER_LINE.findall(text)) > 1) or (
        known_any and _alone_on_line(text, start, end) and len(names) > 1
    ):
        return NameSpan(start, end, SCORE_LAYOUT, "layout")
    return None


def _common(word: str, speaker: bool) -> bool:
    """A word that is not a name where it stands (see :data:`NOT_NAMES`)."""
    if word.islower():
        return word in common_lowercase_words()
    # A dialogue's speaker label is a name even when it is also a word ("Destiny: ...").
    return _title(word) in NOT_NAMES and not (speaker and _title(word) in given_names())


_LEFT_NEIGHBOUR = regex.compile(r"(\p{L}[\p{Ll}\p{M}]+)(?:,[ ]*|[ ]+and[ ]+|[ ]*&[ ]*)$")
_RIGHT_NEIGHBOUR = regex.compile(r"^(?:,[ ]*|[ ]+and[ ]+|[ ]*&[ ]*)(\p{L}[\p{Ll}\p{M}]+)")


def _next_word(text: str, end: int) -> str:
    """The word after a run, past a comma, without a possessive: ", Incorporated’s" ->
    "Incorporated"."""
    word = text[end : end + 24].lstrip(" ,").split(" ")[0].rstrip(".,;:")
    return word[:-2] if word.endswith(("'s", "’s")) else word


def _listed_with_other_names(text: str, start: int, end: int) -> bool:
    """True if the word before or after, in a list ("A, B and C"), is a given name too."""
    left = _LEFT_NEIGHBOUR.search(text, max(0, start - 40), start)
    right = _RIGHT_NEIGHBOUR.search(text[end : end + 40])
    return any(
        match is not None and _title(match.group(1)) in widespread_given_names()
        for match in (left, right)
    )


def _looks_like_a_full_name(names: list[str]) -> bool:
    """Two or three words opened by a known given name or closed by a known surname (that
    is not also an everyday word), with no other everyday word among them: "Ryan P Costa"
    is a name, "Die Hauptstadt von Australien" is not."""
    if len(names) < 2:
        return False
    known = known_names()
    opened = names[0] in given_names() and not _everyday_word(names[0])
    closed = names[-1] in surnames() and not _everyday_word(names[-1])
    return (opened or closed) and not any(
        _everyday_word(name) and name not in known for name in names
    )


def _everyday_word(name: str) -> bool:
    """True for a word that, alone, is more likely a common word ("Sie", "Come")."""
    return name.lower() in common_lowercase_words()


# A title cue typed in capitals is an abbreviation ("MS Word", "DR Congo"), not a title.
_CAPITAL_TITLE = regex.compile(r"(?:MS|MR|MRS|DR|MX)\.?[ \t]*$")
# "name is" said of the assistant's persona, a character or an animal.
_NOT_PRIVATE_NAMED = regex.compile(
    r"(?:your|character['’]?s?|protagonist['’]?s?|hero['’]?s?|heroine['’]?s?|villain['’]?s?|"
    r"(?:cat|dog|pet|puppy|kitten|horse|bird|parrot|fish|hamster|rabbit|bunny|pony)\b[^.\n]{0,24}"
    r"(?:his|her|its|whose))[ ]+name(?: is|\s*:)[\s,:]*$"
)


def _introduced(text: str, start: int, cues: dict[int, int]) -> bool:
    """True if an introducing cue (:data:`INTRODUCING_CUES`) ends right at ``start``."""
    return (
        start in cues
        and cues[start] >= start - _CUE_WINDOW
        and _CAPITAL_TITLE.search(text, max(0, start - _CUE_WINDOW), start) is None
    )


def _not_a_private_person(before: str) -> bool:
    """True if the cue names a persona, a character or a pet (``your name is``)."""
    return _NOT_PRIVATE_NAMED.search(before) is not None


# A greeting opening a line, with the spaces after it: "Hi ", "Dear ", "> Good morning ".
_GREETING = re.compile(
    r"^[ \t>*-]*(?:hi|hello|hey|dear|good (?:morning|afternoon|evening))[ \t]+",
    re.IGNORECASE | re.MULTILINE,
)


# A letter's salutation without a greeting word: a line holding only a name and a comma,
# a blank line after it ("Jorge,\n\nToca.io, our low-code platform...").
_SALUTATION = regex.compile(
    r"^[ \t>*-]*(?=\p{Lu}[\p{Ll}\p{M}]+,[ \t]*\r?\n[ \t]*\r?\n)", regex.MULTILINE
)


# A letter's sign-off on its own line; the name signed below it is the writer's.
_SIGN_OFF = re.compile(
    r"^[ \t>*-]*(?:thanks|thank you|many thanks|best|best regards|kind regards|warm regards|"
    r"all the best|cheers|love|yours|yours truly|respectfully)[ \t]*[,!.]?[ \t]*\r?\n"
    r"(?:[ \t]*\r?\n)?[ \t>*-]*",  # the name on the next line, or after one blank line
    re.IGNORECASE | re.MULTILINE,
)


def _greeting(text: str, start: int, end: int, greetings: dict[int, int]) -> bool:
    """True for the addressee of a letter or message: ``Hi Anna,`` opening a line, the
    greeting's line starting at most ``_CUE_WINDOW`` characters before the name."""
    line = greetings.get(start)
    return (
        line is not None
        and max(line - 1, 0) >= start - _CUE_WINDOW
        and text[end : end + 1] in (",", "!", "\n", "")
    )


def _speaker(text: str, start: int, end: int) -> bool:
    """True for a dialogue's speaker label: ``Anna: ...`` at the start of a line."""
    line_start = text.rfind("\n", 0, start) + 1
    return text[end : end + 1] == ":" and _ONLY_MARKS.match(text[line_start:start]) is not None


def _alone_on_line(text: str, start: int, end: int) -> bool:
    """True for a name on a line of its own (a signature, an address block)."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    rest = text[end : len(text) if line_end < 0 else line_end]
    return _ONLY_MARKS.match(text[line_start:start]) is not None and rest.strip(" ,") == ""


@cache
def common_lowercase_words() -> frozenset[str]:
    """Common words of English and of the languages Faker has word lists for, lower case:
    in text typed all in lower case, a name is a known name that is not one of these."""
    import faker.providers.lorem as lorem_providers
    from spacy.lang.en.stop_words import STOP_WORDS

    words: set[str] = set(STOP_WORDS) | {word.lower() for word in NOT_NAMES}
    for module in pkgutil.iter_modules(lorem_providers.__path__):
        provider = importlib.import_module(f"{lorem_providers.__name__}.{module.name}").Provider
        words.update(word.lower() for word in getattr(provider, "word_list", ()))
    return frozenset(words)


def _title(word: str) -> str:
    return word[:1].upper() + word[1:] if word.islower() else word
