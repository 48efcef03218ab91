"""Text material for the synthetic corpus and the labelled sets: bulk, seeded, fast.

Sentences come from the bundled-sample fixtures (sources/fixtures/: its English
templates and its question/answer pairs in eight other languages), so the benchmark's text
looks like the samples the tests use, only far more of it. A turn is a random run of
sentences, laid out the way chat answers are (paragraphs, numbered lists, the odd code
block); random combinations make practically every turn distinct, as in real data.

Into some turns go a numeric look-alike (dates, versions, prices, hashes, ISBNs, order
numbers that fail Luhn: what makes a PII scanner work without finding anything) or a
planted PII value in a carrier sentence of the turn's language. A planted value's span is
known exactly, which is what the labelled PII set is built from.

All personal data is synthetic: example domains, fictional 555-01xx numbers, documentation
IP ranges, random card numbers made Luhn-valid, random IBANs with a valid checksum.
"""

from __future__ import annotations

import string
from collections import Counter
from dataclasses import dataclass

import numpy as np

from sources import fixtures
from sources.fixtures import CARD, EMAIL, IBAN, IP, PERSON, PHONE, SSN

ENTITIES = (EMAIL, PHONE, CARD, IBAN, IP, SSN, PERSON)
LANGUAGES = ("en", "ja", "zh", "es", "de", "ru", "ar", "fr", "ko")
NO_SPACE_LANGUAGES = ("ja", "zh")


@dataclass(frozen=True)
class TurnShape:
    """How long a kind of turn is (log-normal characters) and what goes into it."""

    median_chars: float
    sigma: float
    max_chars: int
    assistant: bool = False
    numeric_rate: float = 0.05
    pii_rate: float = 0.0


@dataclass(frozen=True)
class Plant:
    """A carrier sentence holding one PII value at text[start:end]."""

    text: str
    entity: str
    start: int
    end: int


@dataclass(frozen=True)
class LabelledText:
    text: str
    lang: str
    spans: tuple[tuple[str, int, int], ...]  # (entity_type, start, end)


# ----------------------------------------------------------------------------- sentences


def _english_sentences() -> list[str]:
    found: set[str] = set()
    for question, answer, follow_up, follow_answer, slots in fixtures.TEMPLATES:
        for slot in slots:
            for text in (question, answer, follow_up, follow_answer):
                filled = text.replace("{x}", slot).replace("{X}", slot[:1].upper() + slot[1:])
                found.update(fixtures.sentences(filled))
    found.update(fixtures.OPENERS)
    return sorted(found)


def _language_sentences(lang: str) -> list[str]:
    found: set[str] = set()
    for question, answer in fixtures.LANG_QA[lang]:
        found.update(fixtures.sentences(question))
        found.update(fixtures.sentences(answer))
    found.update(fixtures.sentences(fixtures.LANG_FOLLOW_UP[lang]))
    found.update(fixtures.sentences(fixtures.LANG_CLOSING[lang]))
    return sorted(found)


CODE_BLOCKS = (
    "```python\nimport math\n\ndef area(radius: float) -> float:\n"
    "    return math.pi * radius ** 2\n\nprint(area(2.5))\n```",
    "```python\nwith open('data.csv', encoding='utf-8') as handle:\n"
    "    rows = [line.rstrip('\\n').split(',') for line in handle]\nprint(len(rows))\n```",
    "```javascript\nconst total = items.reduce((sum, item) => sum + item.price, 0);\n"
    "console.log(`Total: ${total.toFixed(2)}`);\n```",
    "```sql\nSELECT customer_id, COUNT(*) AS orders\nFROM orders\nWHERE created_at >= "
    "'2023-01-01'\nGROUP BY customer_id\nORDER BY orders DESC\nLIMIT 10;\n```",
    "```bash\npython -m venv .venv\nsource .venv/bin/activate\n"
    "pip install -r requirements.txt\n```",
)


# ----------------------------------------------------------------------------- PII values

LATIN_FIRST = (
    "Emily", "James", "Sofia", "Lucas", "Olivia", "Daniel", "Hannah", "Mateo", "Chloe", "Noah",
    "Grace", "Leon", "Clara", "Julien", "Amelie", "Marco", "Elena", "Tomas", "Ingrid", "Pablo",
    "Laura", "Felix", "Nora", "Victor", "Isabel", "Oscar", "Maya", "Henrik", "Alice", "Samuel",
)  # fmt: skip
LATIN_LAST = (
    "Whitaker", "Fernandez", "Müller", "Schneider", "Dubois", "Moreau", "García", "Lopez",
    "Rossi", "Bianchi", "Novak", "Larsen", "Okafor", "Mensah", "Kowalski", "Brennan",
    "O'Connor", "Hughes", "Patel", "Nguyen", "Anderson", "Becker", "Laurent", "Romero", "Silva",
    "Costa", "Jensen", "Fischer", "Harris", "Walsh",
)  # fmt: skip
NATIVE_NAMES = {
    "ru": ("Иван Петров", "Анна Смирнова", "Дмитрий Козлов", "Ольга Иванова", "Сергей Волков"),
    "ja": ("山田太郎", "佐藤花子", "鈴木一郎", "高橋美咲", "田中健太", "伊藤由美"),
    "zh": ("李明", "王小明", "张伟", "刘洋", "陈静", "杨帆"),
    "ar": ("محمد أحمد", "فاطمة علي", "يوسف حسن", "ليلى محمود"),
    "ko": ("김민수", "이지은", "박서준", "최유나"),
}
ROMANISED = {
    "ja": ("taro.yamada", "hanako.sato", "ichiro.suzuki", "misaki.takahashi"),
    "zh": ("wang.wei", "li.ming", "zhang.wei", "liu.yang"),
    "ru": ("ivan.petrov", "anna.smirnova", "dmitry.kozlov"),
    "ar": ("ahmed.ali", "fatima.hassan", "youssef.mahmoud"),
    "ko": ("kim.minsu", "lee.jieun", "park.seojun"),
}
DOMAINS = {
    # Not the reserved example.com/.net/.org (RFC 2606), which the engine rightly keeps.
    "en": ("fastmail.com", "outlook.com", "mail.btinternet.com", "example.co.uk"),
    "de": ("example.de", "gmx.de"),
    "es": ("example.es", "telefonica.net"),
    "fr": ("example.fr", "orange.fr"),
    "ru": ("example.ru", "yandex.ru"),
    "ja": ("example.jp", "example.co.jp"),
    "zh": ("example.cn", "qq.com"),
    "ar": ("maktoob.com", "example.ae"),
    "ko": ("example.co.kr", "naver.com"),
}

# Carrier sentences per entity and language; "hard" ones lack what makes a value findable
# without a model (a self-introduction, a context word, separators).
TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    EMAIL: {
        "en": (
            "You can reach me at {v} if anything is unclear.",
            "Please send the signed form to {v} by Friday.",
            "My work address is {v}, but I only check it once a day.",
        ),
        "es": ("Puedes escribirme a {v} cuando quieras.",),
        "de": ("Meine E-Mail-Adresse lautet {v}.",),
        "fr": ("Vous pouvez m'écrire à {v} pour plus de détails.",),
        "ru": ("Пишите мне на {v}, я отвечу в течение дня.",),
        "ja": ("連絡先のメールアドレスは{v}です。",),
        "zh": ("我的邮箱是{v}，有问题请联系我。",),
        "ar": ("بريدي الإلكتروني هو {v} ويمكنك مراسلتي.",),
        "ko": ("제 이메일은 {v}입니다.",),
    },
    PHONE: {
        "en": (
            "Call me on {v} after six in the evening.",
            "The office phone number is {v}.",
            "If the line is busy, try my mobile: {v}.",
        ),
        "es": ("Mi teléfono es {v}, llámame por la tarde.",),
        "de": ("Meine Telefonnummer ist {v}.",),
        "fr": ("Mon numéro de téléphone est le {v}.",),
        "ru": ("Мой телефон {v}, звоните в любое время.",),
        "ja": ("電話番号は{v}です。",),
        "zh": ("我的手机号码是{v}，随时联系。",),
        "ar": ("رقم هاتفي هو {v}.",),
        "ko": ("제 전화번호는 {v}입니다.",),
    },
    PERSON: {
        "en": ("Hi, my name is {v} and I need some advice.", "I'm {v}, a nurse from Leeds."),
        "es": ("Hola, me llamo {v} y necesito ayuda.",),
        "de": ("Hallo, ich heiße {v} und brauche Hilfe.",),
        "fr": ("Bonjour, je m'appelle {v} et j'ai une question.",),
        "ru": ("Здравствуйте, меня зовут {v}.",),
        "ja": ("私の名前は{v}です。",),
        "zh": ("我叫{v}，今年三十岁。",),
        "ar": ("اسمي {v} وأنا طالب.",),
        "ko": ("제 이름은 {v}입니다.",),
    },
    CARD: {
        "en": (
            "My card number is {v}, expiring next year.",
            "I was charged twice on the card ending in the number {v}.",
        ),
        "de": ("Meine Kreditkartennummer ist {v}.",),
        "ja": ("カード番号は{v}です。",),
    },
    IBAN: {
        "en": ("Please transfer the deposit to IBAN {v}.",),
        "de": ("Bitte überweisen Sie den Betrag auf das Konto {v}.",),
        "es": ("Mi cuenta bancaria es {v}.",),
    },
    IP: {
        "en": (
            "The server at {v} stopped responding last night.",
            "Our VPN gateway is {v}, can you check the firewall rules?",
        ),
    },
    SSN: {
        "en": ("My social security number is {v}.", "SSN on the form: {v}."),
    },
}
HARD_TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    PERSON: {"en": ("Please forward the report to {v} in accounting.", "Yesterday {v} said no.")},
    PHONE: {"en": ("Text {v} when you land.",)},
}
ENTITY_WEIGHTS = {EMAIL: 28, PHONE: 22, PERSON: 20, CARD: 6, IBAN: 6, IP: 10, SSN: 8}
HARD_RATE = 0.15


def _luhn_complete(rng: np.random.Generator, prefix: str, length: int) -> str:
    body = prefix + "".join(map(str, rng.integers(0, 10, length - len(prefix) - 1)))
    return fixtures.luhn_complete(body)


def _grouped(digits: str, sizes: tuple[int, ...], sep: str) -> str:
    return fixtures.grouped(digits, sizes, sep)


def _digits(rng: np.random.Generator, n: int) -> str:
    return "".join(map(str, rng.integers(0, 10, n)))


class ValueFactory:
    """Random synthetic PII values, per entity type and language."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def pick(self, options: tuple[str, ...] | list[str]) -> str:
        return options[int(self.rng.integers(len(options)))]

    def make(self, entity: str, lang: str) -> str:
        return getattr(self, entity.lower())(lang)

    def person(self, lang: str) -> str:
        if lang in NATIVE_NAMES:
            return self.pick(NATIVE_NAMES[lang])
        return f"{self.pick(LATIN_FIRST)} {self.pick(LATIN_LAST)}"

    def email_address(self, lang: str) -> str:
        if lang in ROMANISED:
            local = self.pick(ROMANISED[lang])
        else:
            first, last = self.pick(LATIN_FIRST), self.pick(LATIN_LAST)
            local = f"{first}.{last}".lower().replace("'", "")
        if self.rng.random() < 0.4:
            local += str(int(self.rng.integers(1, 99)))
        return f"{local}@{self.pick(DOMAINS.get(lang, DOMAINS['en']))}"

    def phone_number(self, lang: str) -> str:
        d = self._d
        formats = {
            "en": (
                lambda: f"+1 212-555-01{d(2)}",
                lambda: f"(212) 555-01{d(2)}",
                lambda: f"+44 20 7946 0{d(3)}",
            ),
            "de": (lambda: f"030 {1 + int(self.rng.integers(9))}{d(7)}", lambda: f"+49 151 {d(8)}"),
            "es": (lambda: f"+34 612 {d(2)} {d(2)} {d(2)}", lambda: f"612 345 {d(3)}"),
            "fr": (lambda: f"06 12 34 {d(2)} {d(2)}", lambda: f"+33 6 12 34 {d(2)} {d(2)}"),
            "ru": (lambda: f"+7 495 123-{d(2)}-{d(2)}",),
            "ja": (lambda: f"090-{d(4)}-{d(4)}",),
            "zh": (lambda: f"138 {d(4)} {d(4)}", lambda: f"+86 138 {d(4)} {d(4)}"),
            "ar": (lambda: f"+971 50 {d(3)} {d(4)}",),
            "ko": (lambda: f"010-{1 + int(self.rng.integers(9))}{d(3)}-{d(4)}",),
        }
        return self.pick(formats.get(lang, formats["en"]))()

    def bare_phone(self) -> str:
        return f"212555{self._d(4)}"

    def credit_card(self, lang: str) -> str:
        kind = int(self.rng.integers(4))
        sep = self.pick((" ", "-", ""))
        if kind == 0:
            number = _luhn_complete(self.rng, "4", 16)
        elif kind == 1:
            number = _luhn_complete(self.rng, f"5{1 + int(self.rng.integers(5))}", 16)
        elif kind == 2:
            number = _luhn_complete(self.rng, "6011", 16)
        else:
            number = _luhn_complete(self.rng, self.pick(("34", "37")), 15)
            return _grouped(number, (4, 6, 5), sep) if sep else number
        return _grouped(number, (4, 4, 4, 4), sep) if sep else number

    def iban_code(self, lang: str) -> str:
        country = self.pick(("DE", "ES", "NL", "GB"))
        letters = "".join(self.pick(string.ascii_uppercase) for _ in range(4))
        bban = {
            "DE": lambda: self._d(18),
            "ES": lambda: self._d(20),
            "NL": lambda: letters + self._d(10),
            "GB": lambda: letters + self._d(14),
        }[country]()
        iban = fixtures.make_iban(country, bban)
        if self.rng.random() < 0.6:
            return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
        return iban

    def ip_address(self, lang: str) -> str:
        if self.rng.random() < 0.15:
            hextets = ":".join(f"{int(x):x}" for x in self.rng.integers(1, 0xFFFF, 3))
            return f"2001:db8:{hextets}::{int(self.rng.integers(1, 0xFFFF)):x}"
        prefix = self.pick(("192.0.2", "198.51.100", "203.0.113", "10.20.30", "172.16.5"))
        return f"{prefix}.{int(self.rng.integers(1, 255))}"

    def us_ssn(self, lang: str) -> str:
        area = int(self.rng.integers(1, 900))
        area = 667 if area == 666 else area
        group, serial = int(self.rng.integers(1, 100)), int(self.rng.integers(1, 10000))
        return f"{area:03d}-{group:02d}-{serial:04d}"

    def _d(self, n: int) -> str:
        return _digits(self.rng, n)


# ----------------------------------------------------------------------------- look-alikes

NUMERIC_TEMPLATES = (
    "The event starts on {date} at {time}.",
    "Upgrade to version {version} to fix the bug.",
    "The total comes to ${price}, including tax.",
    "Your order number is {order}.",
    "Commit {sha} introduced the regression.",
    "The ISBN of the second edition is {isbn}.",
    "In {year}, the city had {population} inhabitants.",
    "Call random.seed({seed}) so the results are reproducible.",
    "The answer is {a} × {b} = {c}.",
    "The meeting moved to room {room} on {date}.",
    "Between {year} and {year2}, sales grew by {pct}%.",
    "Python {version} was released on {date}.",
)


class NumericFactory:
    """Benign sentences full of digits: the false-positive bait of a PII scanner."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def sentence(self) -> str:
        rng, d = self.rng, lambda n: _digits(self.rng, n)
        a, b = int(rng.integers(12, 999)), int(rng.integers(12, 999))
        values = {
            "date": f"20{rng.integers(10, 24)}-{rng.integers(1, 13):02d}-{rng.integers(1, 29):02d}",
            "time": f"{rng.integers(7, 20)}:{self._pick(('00', '15', '30', '45'))}",
            "version": f"{rng.integers(1, 12)}.{rng.integers(0, 20)}.{rng.integers(0, 30)}",
            "price": f"{rng.integers(5, 4000)}.{rng.integers(0, 100):02d}",
            "order": _order_number(rng),
            "sha": "".join(self._pick(tuple("0123456789abcdef")) for _ in range(40)),
            "isbn": f"978-{rng.integers(0, 10)}-{d(2)}-{d(6)}-{rng.integers(0, 10)}",
            "year": str(rng.integers(1950, 2024)),
            "year2": str(rng.integers(2024, 2031)),
            "population": f"{rng.integers(1, 999)},{d(3)},{d(3)}",
            "seed": str(rng.integers(1_000_000_000, 9_999_999_999)),
            "a": str(a),
            "b": str(b),
            "c": str(a * b),
            "room": str(rng.integers(100, 999)),
            "pct": str(rng.integers(2, 80)),
        }
        return self._pick(NUMERIC_TEMPLATES).format(**values)

    def _pick(self, options: tuple[str, ...]) -> str:
        return options[int(self.rng.integers(len(options)))]


def _order_number(rng: np.random.Generator) -> str:
    """A 16-digit number grouped like a card that fails the Luhn check."""
    good = _luhn_complete(rng, "4532", 16)
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    return _grouped(bad, (4, 4, 4, 4), " ")


# ----------------------------------------------------------------------------- turns


@dataclass(frozen=True)
class SentencePool:
    sentences: np.ndarray  # object array of str
    mean_len: float
    joiner: str


class TextFactory:
    """Turns of chat text in bulk; one seeded generator drives every choice."""

    LIST_RATE = 0.2
    CODE_RATE = 0.03

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.values = ValueFactory(self.rng)
        self.numbers = NumericFactory(self.rng)
        self.pools = {lang: _pool(lang) for lang in LANGUAGES}
        self.numeric_pool = np.array([self.numbers.sentence() for _ in range(4000)], dtype=object)
        self.planted: Counter[str] = Counter()

    def turns(self, langs: np.ndarray, shape: TurnShape) -> list[str]:
        """One turn per entry of `langs` (language codes), shaped by `shape`."""
        n = len(langs)
        target = np.minimum(
            self.rng.lognormal(np.log(shape.median_chars), shape.sigma, n), shape.max_chars
        )
        out: list[str] = [""] * n
        for lang in np.unique(langs).tolist():
            rows = np.flatnonzero(langs == lang)
            self._fill(out, rows, lang, target[rows], shape)
        return out

    def _fill(
        self, out: list[str], rows: np.ndarray, lang: str, target: np.ndarray, shape: TurnShape
    ) -> None:
        pool = self.pools[lang]
        counts = np.maximum(1, np.rint(target / pool.mean_len)).astype(np.int64)
        picks = pool.sentences[self.rng.integers(0, len(pool.sentences), counts.sum())].tolist()
        ends = np.cumsum(counts).tolist()
        numeric = (self.rng.random(len(rows)) < shape.numeric_rate).tolist()
        pii = (self.rng.random(len(rows)) < shape.pii_rate).tolist()
        layout = self.rng.random(len(rows)).tolist()
        start = 0
        for j, row in enumerate(rows.tolist()):
            parts = picks[start : ends[j]]
            start = ends[j]
            if numeric[j] and lang == "en":
                parts.insert(self._position(len(parts)), self._numeric())
            if pii[j]:
                parts.insert(self._position(len(parts)), self.plant(lang).text)
            out[row] = self._layout(parts, pool.joiner, layout[j], shape.assistant)

    def _layout(self, parts: list[str], joiner: str, draw: float, assistant: bool) -> str:
        if not assistant or len(parts) < 3:
            return joiner.join(parts)
        if draw < self.LIST_RATE:
            items = "\n".join(f"{i}. {p}" for i, p in enumerate(parts[1:], 1))
            return f"{parts[0]}\n\n{items}"
        paragraphs = [joiner.join(parts[i : i + 3]) for i in range(0, len(parts), 3)]
        if draw < self.LIST_RATE + self.CODE_RATE:
            paragraphs.insert(1, CODE_BLOCKS[int(self.rng.integers(len(CODE_BLOCKS)))])
        return "\n\n".join(paragraphs)

    def _position(self, length: int) -> int:
        return int(self.rng.integers(0, length + 1))

    def _numeric(self) -> str:
        return self.numeric_pool[int(self.rng.integers(len(self.numeric_pool)))]

    def plant(self, lang: str, entity: str | None = None) -> Plant:
        """A carrier sentence in `lang` with one synthetic value of `entity` (or a random one)."""
        entity = entity or self._entity(lang)
        hard = HARD_TEMPLATES.get(entity, {}).get(lang)
        if hard and self.rng.random() < HARD_RATE:
            template = hard[int(self.rng.integers(len(hard)))]
            value = self.values.bare_phone() if entity == PHONE else self.values.make(entity, lang)
        else:
            options = TEMPLATES[entity][lang]
            template = options[int(self.rng.integers(len(options)))]
            value = self.values.make(entity, lang)
        start = template.index("{v}")
        self.planted[entity] += 1
        return Plant(template.replace("{v}", value), entity, start, start + len(value))

    def _entity(self, lang: str) -> str:
        entities = [e for e in ENTITIES if lang in TEMPLATES[e]]
        weights = np.array([ENTITY_WEIGHTS[e] for e in entities], dtype=float)
        return entities[int(self.rng.choice(len(entities), p=weights / weights.sum()))]

    # ------------------------------------------------------------------------- labelled sets

    def labelled_pii(self, n: int, plant_rate: float = 0.7) -> list[LabelledText]:
        """Texts with planted values at known spans, and texts with look-alikes only."""
        langs = self.language_mix(n, english_share=0.6)
        out = []
        for lang in langs.tolist():
            pool = self.pools[lang]
            count = int(self.rng.integers(2, 9))
            parts = pool.sentences[self.rng.integers(0, len(pool.sentences), count)].tolist()
            plants: list[tuple[int, Plant]] = []
            if self.rng.random() < 0.5:
                parts.insert(self._position(len(parts)), self._numeric())
            if self.rng.random() < plant_rate:
                for _ in range(1 + int(self.rng.random() < 0.25)):
                    position = self._position(len(parts))
                    plant = self.plant(lang)
                    plants = [(i + (i >= position), p) for i, p in plants]
                    plants.append((position, plant))
                    parts.insert(position, plant.text)
            out.append(_with_spans(parts, pool.joiner, lang, dict(plants)))
        return out

    def labelled_languages(self, n: int) -> list[tuple[str, str]]:
        """(language, user turn): half English, half spread over the other languages."""
        langs = self.language_mix(n, english_share=0.5)
        shape = TurnShape(median_chars=220, sigma=0.7, max_chars=2000, numeric_rate=0.05)
        return list(zip(langs.tolist(), self.turns(langs, shape), strict=True))

    def language_mix(self, n: int, english_share: float) -> np.ndarray:
        others = [lang for lang in LANGUAGES if lang != "en"]
        weights = [english_share] + [(1 - english_share) / len(others)] * len(others)
        return self.rng.choice(np.array(LANGUAGES, dtype=object), size=n, p=weights)


def _pool(lang: str) -> SentencePool:
    found = _english_sentences() if lang == "en" else _language_sentences(lang)
    sentences = np.array(found, dtype=object)
    joiner = "" if lang in NO_SPACE_LANGUAGES else " "
    return SentencePool(sentences, float(np.mean([len(s) for s in found])), joiner)


def _with_spans(parts: list[str], joiner: str, lang: str, plants: dict[int, Plant]) -> LabelledText:
    spans, offset = [], 0
    for i, part in enumerate(parts):
        if i in plants:
            plant = plants[i]
            spans.append((plant.entity, offset + plant.start, offset + plant.end))
        offset += len(part) + len(joiner)
    return LabelledText(joiner.join(parts), lang, tuple(spans))
