"""What silver is: its tables' row keys and text fields, and the settings its text
engines run with (the run config of the silver assets, which the checks read to judge a
table with the settings that built it)."""

import os
from dataclasses import dataclass

from dagster import Config

from storage.keys import COMPARISONS, DIALOGUES
from transforms.language import LanguageSettings
from transforms.pii import MODEL_WRITTEN, PiiSettings
from transforms.scrub import TextField


class BatchConfig(Config):
    batch_rows: int = 10_000
    """Rows processed at a time: memory is bounded by one batch, whatever the size of the
    dataset, and the result does not depend on it."""


class SilverConfig(BatchConfig):
    """Text-engine settings; the defaults are the documented behaviour."""

    language_user_turns: int = 1
    """How many user turns the language is detected on."""
    language_max_chars: int = 200
    """Only this many characters of that text are examined."""
    language_min_chars: int = 20
    """Shorter text is `und` (undetermined)."""
    pii_entities: list[str] = list(PiiSettings().entities)
    pii_score_threshold: float = PiiSettings().score_threshold
    pii_allow_list: list[str] = []
    """Exact strings never treated as PII."""
    pii_deny_list: list[str] = []
    """Exact strings always redacted (as DENY_LIST)."""
    pii_ner_model: str | None = None
    """An installed spaCy pipeline (e.g. en_core_web_lg) adding NER for PERSON and LOCATION;
    never downloaded. Without one, PERSON comes from transforms/person_names.py."""
    pii_person_names: str = PiiSettings().person_names
    """"cued": names a personal cue introduces, or in a text holding contact details;
    "broad": every known full name (more recall, many characters and public figures)."""
    workers: int = 0
    """Processes for the text engines; 0 means one per core."""
    force: bool = False
    """Rebuild even when the bronze table, the settings and the transforms are unchanged
    since this slice was last written."""

    def language(self) -> LanguageSettings:
        return LanguageSettings(
            min_chars=self.language_min_chars, max_chars=self.language_max_chars
        )

    def pii(self) -> PiiSettings:
        return PiiSettings(
            entities=tuple(self.pii_entities),
            score_threshold=self.pii_score_threshold,
            allow_list=tuple(self.pii_allow_list),
            deny_list=tuple(self.pii_deny_list),
            ner_model=self.pii_ner_model,
            person_names=self.pii_person_names,
        )

    def worker_count(self) -> int:
        return self.workers or os.cpu_count() or 1


@dataclass(frozen=True)
class SilverTable:
    key: tuple[str, str]
    row_key: str
    fields: tuple[TextField, ...]
    language_column: str


DIALOGUES_TABLE = SilverTable(
    DIALOGUES,
    "conversation_id",
    (
        TextField(
            "messages",
            "content",
            author_column="user_written_by",
            reply_author_column="reply_written_by",
        ),
    ),
    "messages",
)
COMPARISONS_TABLE = SilverTable(
    COMPARISONS,
    "comparison_id",
    (
        TextField("prompt", "content", author_column="prompt_written_by"),
        *(
            TextField(column, author=MODEL_WRITTEN, author_column="reply_written_by")
            for column in ("response_a", "response_b")
        ),
        *(
            TextField(
                column,
                "content",
                author_column="prompt_written_by",
                reply_author_column="reply_written_by",
            )
            for column in ("conversation_a", "conversation_b")
        ),
        TextField(
            "completions", "response", author=MODEL_WRITTEN, author_column="reply_written_by"
        ),
    ),
    "prompt",
)
