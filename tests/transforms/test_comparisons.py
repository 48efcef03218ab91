"""UltraFeedback is parsed whatever its annotation shape; votes keep the judged turn only."""

import json

import pytest

from transforms.comparisons import (
    MalformedComparison,
    judged_dialogue,
    parse_completions,
    parse_rating,
    prompt_id,
    split_last_reply,
)


def completion(response="ok", overall=7.5, helpfulness="4", shape="object", **extra):
    aspect = {"Rating": helpfulness, "Rationale": "r"}
    return {
        "model": "gpt-4",
        "principle": "helpfulness",
        "custom_system_prompt": "Be helpful.",
        "response": response,
        "annotations": {
            "helpfulness": [aspect] if shape == "list" else aspect,
            "honesty": {"Rating": "N/A", "Rationale": "r"},
        },
        "critique": "fine",
        "overall_score": overall,
        "fine-grained_score": 3.5,
        **extra,
    }


def test_ratings_are_numbers_and_na_is_missing_not_zero():
    assert parse_rating("4") == 4.0
    assert parse_rating("N/A") is None
    assert parse_rating(None) is None


def test_both_annotation_shapes_give_the_same_ratings():
    as_object = parse_completions(json.dumps([completion(), completion(helpfulness="2")]))
    as_list = parse_completions(
        json.dumps([completion(shape="list"), completion(helpfulness="2", shape="list")])
    )
    assert as_object == as_list
    assert [c["ratings"]["helpfulness"] for c in as_object] == [4.0, 2.0]
    assert as_object[0]["ratings"]["honesty"] is None
    assert as_object[0]["ratings"]["truthfulness"] is None  # aspect absent


def test_missing_overall_score_is_kept_as_missing():
    parsed = parse_completions(json.dumps([completion(overall=None), completion()]))
    assert parsed[0]["overall_score"] is None


def test_unusable_completions_are_rejected_with_a_reason():
    with pytest.raises(MalformedComparison) as error:
        parse_completions(json.dumps([completion()]))
    assert error.value.reason == "too_few_completions"
    with pytest.raises(MalformedComparison) as error:
        parse_completions(json.dumps({"not": "a list"}))
    assert error.value.reason == "malformed_completions"


def test_a_missing_prompt_id_is_the_sha256_of_the_instruction():
    assert (
        prompt_id(None, "abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
    assert prompt_id("D2TC9GP_0", "abc") == "D2TC9GP_0"


def test_a_turn_one_vote_judges_only_the_first_exchange():
    dialogue = [
        {"role": "user", "content": "q1"},
        {"role": "assistant", "content": "a1"},
        {"role": "user", "content": "q2"},
        {"role": "assistant", "content": "a2"},
    ]
    assert [m["content"] for m in judged_dialogue(dialogue, 1).messages] == ["q1", "a1"]
    assert [m["content"] for m in judged_dialogue(dialogue, 2).messages] == ["q1", "a1", "q2", "a2"]
    assert judged_dialogue(dialogue, 3).rejection == "judged_turn_missing"
    prompt, reply = split_last_reply(judged_dialogue(dialogue, 2).messages)
    assert [m["content"] for m in prompt] == ["q1", "a1", "q2"] and reply == "a2"
