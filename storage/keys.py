"""Every table of the lake by name: (layer, table), the path under LAKE_ROOT. Assets,
checks, the benchmark and readers name tables through these, never as typed strings."""

Key = tuple[str, str]

BRONZE_QUARANTINE: Key = ("bronze", "quarantine")

DIALOGUES: Key = ("silver", "dialogues")
CONVERSATIONS: Key = ("silver", "conversations")
COMPARISONS: Key = ("silver", "comparisons")
PII_AUDIT: Key = ("silver", "pii_audit")
QUARANTINE: Key = ("silver", "quarantine")
TEXT_CACHE: Key = ("silver", "text_cache")
PII_REVIEW: Key = ("silver", "pii_review")
PII_REVIEW_CACHE: Key = ("silver", "pii_review_cache")

GOLD_TABLES = ("sft_by", "sft_by_nc", "prefs_by", "prefs_by_nc", "prompts_by")
"""The training tables, one per kind and licence class."""
ARENA_FILTERED: Key = ("gold", "arena_filtered")
SIGNATURES: Key = ("gold", "minhash_signatures")
NEAR_DUPLICATES: Key = ("gold", "near_duplicates")
LEAKAGE_PROMPTS: Key = ("gold", "leakage_prompts")
LEAKAGE_NEAR: Key = ("gold", "leakage_near")


def gold_key(table: str) -> Key:
    return ("gold", table)


def bronze_key(dataset: str) -> Key:
    return ("bronze", dataset)


def view_key(name: str) -> Key:
    return ("views", name)
