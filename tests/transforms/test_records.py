"""Raw records become bronze rows or rejections with a reason: never both, never neither."""

import json
import re

import polars as pl
import pytest

from transforms.catalogue import parse_type
from transforms.records import (
    MalformedJsonArray,
    SchemaMismatch,
    conform,
    content_hash,
    normalise_text,
    parse_jsonl,
    split_jsonl,
)

SCHEMA = {"id": "string", "data": "list<string>"}
POLARS_SCHEMA = pl.Schema({"id": pl.String, "data": pl.List(pl.String)})


def parse(text: bytes):
    return parse_jsonl(split_jsonl(text), SCHEMA, POLARS_SCHEMA, ["data"])


def test_integer_ids_are_tolerated_as_their_text():
    parsed = parse(b'{"id": 7, "data": ["hi", "hello"]}\n')
    assert parsed.rows == [{"id": "7", "data": ["hi", "hello"], "extra_fields": None}]


def test_every_bad_line_is_rejected_with_its_reason_and_position():
    text = (
        b'{"id": "0", "data": ["a", "b"]}\n'
        b'{"id": "1", "data": ["a", \n'  # truncated JSON
        b'{"id": "2", "data": "not a list"}\n'
        b'["an", "array"]\n'
        b'{"id": "4"}\n'  # required data missing
        b'{"id": "5", "data": ["\xff\xfe"]}\n'  # invalid UTF-8
    )
    parsed = parse(text)
    assert [r["id"] for r in parsed.rows] == ["0"]
    reasons = {r.source_row: r.reason for r in parsed.rejections}
    assert reasons == {
        1: "invalid_json",
        2: "schema_mismatch",
        3: "schema_mismatch",
        4: "missing_required",
        5: "invalid_utf8",
    }
    assert parsed.records_in == 6
    assert parsed.rejections[1].payload == '{"id": "2", "data": "not a list"}'
    assert "data: expected list, got str" in parsed.rejections[1].detail


def test_bom_crlf_and_blank_lines_are_tolerated_and_counted():
    parsed = parse(b'\xef\xbb\xbf{"id": "0", "data": ["a"]}\r\n\r\n{"id": "1", "data": ["b"]}\r\n')
    assert [r["id"] for r in parsed.rows] == ["0", "1"]
    assert parsed.row_positions == [0, 2]
    assert parsed.blank_lines == 1


def test_undeclared_keys_are_kept_as_json_not_dropped():
    parsed = parse(b'{"id": "0", "data": ["a"], "lang": "en"}\n')
    assert json.loads(parsed.rows[0]["extra_fields"]) == {"lang": "en"}


def test_no_other_coercion_happens():
    with pytest.raises(SchemaMismatch, match="expected int64, got bool"):
        conform(True, pl.Int64(), "turn")
    with pytest.raises(SchemaMismatch, match=r"unexpected fields \['x'\]"):
        conform(
            {"content": "a", "role": "user", "x": 1},
            parse_type("struct<content: string, role: string>"),
            "m",
        )
    assert conform(3, pl.Float64(), "tstamp") == 3.0


def test_content_hash_ignores_normalisation_differences_only():
    nfd = "Cafe\u0301 au lait  "
    nfc = "Café au lait"
    assert normalise_text(nfd) == nfc
    assert content_hash({"data": [nfd]}) == content_hash({"data": [nfc]})
    assert content_hash({"data": [nfc]}) != content_hash({"data": ["Café au lait!"]})


def test_a_file_holding_one_json_array_yields_its_elements_as_records():
    text = (
        b'\xef\xbb\xbf\n[\n  {"id": "0", "data": ["a", "b"]},\n'
        b'  {"id": "1", "data": "not a list"},\n'
        b'  {"id": "2", "data": ["caf\xe9"]},\n'
        b'  {"id": "3", "data": ["[x, y]", "}, {"]}\n]\n'
    )
    records = list(split_jsonl(text))
    assert [index for index, _ in records] == [0, 1, 2, 3]
    assert records[1][1] == b'{"id": "1", "data": "not a list"}'  # the element as written
    parsed = parse(text)
    assert [r["id"] for r in parsed.rows] == ["0", "3"]
    assert parsed.rows[1]["data"] == ["[x, y]", "}, {"]
    assert parsed.row_positions == [0, 3]
    assert {r.source_row: r.reason for r in parsed.rejections} == {
        1: "schema_mismatch",
        2: "invalid_utf8",  # only that element: the array around it still parses
    }
    assert list(split_jsonl(b"[]")) == [] and list(split_jsonl(b" [ ]\n")) == []


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (b'[{"id": "0", "data": ["a"]}, {"id": "1", "da', "element 1: Unterminated string"),
        (b'[{"id": "0", "data": ["a"]}\n', "the file ends after element 0"),
        (b'[{"id": "0", "data": ["a"]} {"id": "1"}]', "after element 0: expected ',' or ']'"),
        (b'[{"id": "0", "data": ["a"]},]', "element 1: Expecting value"),
        (b'[{"id": "0", "data": ["a"]}] [{"id": "1"}]', "text after its closing ']'"),
    ],
)
def test_a_malformed_json_array_rejects_the_file_whole_before_any_record(text, says):
    records = split_jsonl(text)
    with pytest.raises(MalformedJsonArray, match=re.escape(says)):
        next(records)
    # An OSError: bronze quarantines the file as `unreadable_file`, as a corrupt Parquet file.
    assert issubclass(MalformedJsonArray, OSError)


def test_json_lines_whose_lines_are_arrays_are_still_json_lines_after_an_object_line():
    parsed = parse(b'{"id": "0", "data": ["a"]}\n["an", "array"]\n')
    assert {r.source_row: r.reason for r in parsed.rejections} == {1: "schema_mismatch"}
