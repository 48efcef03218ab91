"""The no_pii review's cache: each text its rules must read is read once per version of the
rules, whatever table holds it, and the hits are those the rules give."""

import polars as pl

from storage.keys import PII_REVIEW_CACHE
from storage.review_cache import CachedReview
from transforms.pii_review import review_texts

TEXTS = pl.Series(
    [
        "Hi, I'm moving flats next week. Call me on 312-748-2261 or write to "
        "marisol.quenby@fernwood-mail.net if the keys are not there.",
        "Bind the server to 127.0.0.1:8080 and read the config from /etc/app.yaml.",
        "Dear Mr. Abernathy, thank you for your letter of 3 March.",
        "What is the capital of Australia?",  # no gate passes: the rules never read it
        "Bind the server to 127.0.0.1:8080 and read the config from /etc/app.yaml.",
        None,
    ]
)
ORDER = ["text", "start", "end", "rule"]


def test_a_second_review_of_the_same_texts_reads_none_and_finds_the_same_hits(lake):
    first = CachedReview(lake, "rules-v1")
    found = first(TEXTS)
    assert found.sort(ORDER).equals(review_texts(TEXTS).sort(ORDER))
    assert {"PHONE_NUMBER", "EMAIL_ADDRESS"} <= set(found["entity_type"])
    assert (first.texts_read, first.texts_reused) == (3, 0)  # distinct texts a gate passed

    again = CachedReview(lake, "rules-v1")
    assert again(TEXTS).sort(ORDER).equals(found.sort(ORDER))
    assert (again.texts_read, again.texts_reused) == (0, 3)


def test_a_text_with_no_hits_is_remembered_as_read(lake):
    code = pl.Series(["Bind the server to 127.0.0.1:8080 and read the config from /etc/app."])
    assert CachedReview(lake, "rules-v1")(code).is_empty()  # loopback: no personal data
    again = CachedReview(lake, "rules-v1")
    assert again(code).is_empty()
    assert (again.texts_read, again.texts_reused) == (0, 1)


def test_new_rules_read_every_text_again(lake):
    CachedReview(lake, "rules-v1")(TEXTS)
    changed = CachedReview(lake, "rules-v2")
    changed(TEXTS)
    assert (changed.texts_read, changed.texts_reused) == (3, 0)


def test_the_cache_holds_offsets_and_types_never_text(lake):
    CachedReview(lake, "rules-v1")(TEXTS)
    cached = lake.scan(PII_REVIEW_CACHE).collect()
    assert cached.height == 3
    assert cached.schema["cache_key"] == pl.Binary
    stored = cached.explode("hits").unnest("hits")
    assert "text" not in stored.columns
    assert not any("2261" in str(v) for row in stored.rows() for v in row)
