"""Specification of transforms.near_duplicates: MinHash LSH over a dialogue's two sides."""

from __future__ import annotations

import json
import random
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from transforms.cleaning import MESSAGES
from transforms.near_duplicates import (
    NearDuplicateSettings,
    band_frame,
    band_keys,
    candidate_pairs,
    cluster_members,
    clusters,
    dialogue_sides,
    near_duplicates,
    shingle_keys,
    signatures,
    verified_pairs,
    words,
)

ROOT = Path(__file__).resolve().parents[2]
REAL_TEXT = ROOT / "evaluation" / "data" / "real_text" / "texts.jsonl"
ULTRACHAT = sorted((ROOT / "sources" / "samples" / "stingning" / "ultrachat").glob("*.jsonl"))
SETTINGS = NearDuplicateSettings()
WORD = re.compile(r"\w+")

PROMPT = "Can you explain how a heat pump works and whether it makes sense in a cold climate?"
# 131 words, no bigram twice: changing 4 words far apart changes 8 of its 130 bigrams, so
# such a copy has Jaccard similarity (130 - 8) / (130 + 8) = 0.884 on this side.
ANSWER = (
    "A heat pump moves warmth instead of making it. In winter its outdoor unit pulls heat "
    "out of the air, even cold air holds some energy, and a compressor raises that heat to "
    "a useful temperature before a fan spreads it through your home. Because moving heat "
    "takes far less electricity than creating it, a typical unit delivers three units of "
    "warmth for each unit of power it uses. Modern models built for snowy regions work well "
    "below freezing, though their efficiency drops as temperatures fall. For very harsh "
    "winters many households pair one with a small backup heater. Whether it pays off "
    "depends on local electricity prices, how well your house is insulated, and what "
    "fuel you would otherwise burn, so ask an installer to calculate your heat loss first."
)
REFUSAL = "I'm sorry, I can't help with that."


def dialogue(prompt: str, answer: str | None = None) -> list[dict[str, str]]:
    turns = [{"role": "user", "content": prompt}]
    return turns if answer is None else [*turns, {"role": "assistant", "content": answer}]


def with_words_changed(
    turns: list[dict[str, str]], rng: random.Random, vocabulary: list[str], n: int
) -> list[dict[str, str]]:
    """A copy with n random words of the dialogue replaced by random vocabulary words."""
    spans = [
        (t, m.start(), m.end())
        for t, turn in enumerate(turns)
        for m in WORD.finditer(turn["content"])
    ]
    texts = [turn["content"] for turn in turns]
    for t, start, end in sorted(rng.sample(spans, n), key=lambda span: -span[1]):
        texts[t] = texts[t][:start] + rng.choice(vocabulary) + texts[t][end:]
    return [{**turn, "content": text} for turn, text in zip(turns, texts, strict=True)]


def merged(cluster_of: dict[int, int], i: int, j: int) -> bool:
    return cluster_of.get(i, i) == cluster_of.get(j, j)


def exact_jaccard(a: str, b: str, k: int = 2) -> float:
    def shingles(text: str) -> set[tuple[str, ...]]:
        tokens = words(pl.Series([text]))[0].to_list()
        return {tuple(tokens[i : i + k]) for i in range(max(len(tokens) - k + 1, 1))}

    sa, sb = shingles(a), shingles(b)
    return len(sa & sb) / len(sa | sb)


# --- sides, words, shingles ------------------------------------------------------------------


def test_the_prompt_side_is_every_turn_not_by_the_assistant():
    conversation = [
        {"role": "system", "content": "Be brief."},
        *dialogue("Hi", "Hello"),
        *dialogue("And?", "Bye"),
    ]
    sides = dialogue_sides([conversation, dialogue("Only a question")])
    assert sides.rows() == [("Be brief.\nHi\nAnd?", "Hello\nBye"), ("Only a question", "")]


def test_words_are_nfkc_lower_case_runs_of_word_characters():
    found = words(pl.Series(["Hello, ＷＯＲＬＤ! It's 2 o'clock.", "", " \n\t"])).to_list()
    assert found == [["hello", "world", "it", "s", "2", "o", "clock"], [], []]


def test_a_text_shorter_than_a_shingle_is_one_shingle():
    keys, counts = shingle_keys(pl.Series(["a b c d", "A, b!", "one", "", "   "]), SETTINGS)
    assert counts.tolist() == [3, 1, 1, 1, 1]
    abcd, ab, one, empty, blank = np.split(keys, np.cumsum(counts)[:-1])
    assert ab[0] == abcd[0]  # "a b" is the first window of "a b c d"
    assert len(set(abcd.tolist())) == 3
    assert empty[0] == blank[0]  # no words at all: the one constant shingle
    assert len({one[0], empty[0], ab[0]}) == 3


def test_equal_signature_positions_estimate_the_jaccard_similarity():
    rng = random.Random(3)
    vocabulary = [f"v{i}" for i in range(400)]
    pairs = []
    for rate in np.linspace(0.0, 0.5, 60):
        base = rng.choices(vocabulary, k=100)
        other = [rng.choice(vocabulary) if rng.random() < rate else w for w in base]
        pairs.append((" ".join(base), " ".join(other)))
    sig, _ = signatures([dialogue(a) for pair in pairs for a in pair], SETTINGS)
    estimates = (sig[0::2] == sig[1::2]).mean(axis=1)
    errors = estimates - np.array([exact_jaccard(a, b) for a, b in pairs])
    # 126 positions: standard deviation sqrt(J (1 - J) / 126) <= 0.045 per pair.
    assert abs(errors.mean()) < 0.02
    assert np.abs(errors).max() < 0.2


# --- what is and is not a near-duplicate -----------------------------------------------------


def test_identical_dialogues_are_one_cluster_and_the_first_id_survives():
    rows = [dialogue(PROMPT, ANSWER)] * 3 + [dialogue("Something else entirely", REFUSAL)]
    found = near_duplicates(rows, SETTINGS)
    assert found.cluster_of == {0: 0, 1: 0, 2: 0}
    assert found.pairs.select("user_similarity", "assistant_similarity").unique().rows() == [
        (1.0, 1.0)
    ]


def test_a_copy_with_a_handful_of_words_changed_collapses():
    vocabulary = WORD.findall(ANSWER)
    rows = [dialogue(PROMPT, ANSWER)]
    for seed, n in enumerate((3, 4, 5) * 4):
        rows.append(with_words_changed(rows[0], random.Random(seed), vocabulary, n))
    found = near_duplicates(rows, SETTINGS)
    assert found.cluster_of == {i: 0 for i in range(len(rows))}


def test_four_words_changed_far_apart_leave_a_jaccard_of_0_884():
    tokens = words(pl.Series([ANSWER]))[0].to_list()
    copy = " ".join(f"changed{i}" if i in (10, 40, 70, 100) else w for i, w in enumerate(tokens))
    assert len(tokens) == 131 and exact_jaccard(ANSWER, copy) == pytest.approx(122 / 138)
    found = near_duplicates([dialogue(PROMPT, ANSWER), dialogue(PROMPT, copy)], SETTINGS)
    assert found.cluster_of == {0: 0, 1: 0}
    assert found.pairs["assistant_similarity"][0] == pytest.approx(122 / 138, abs=0.15)


def test_different_answers_to_the_same_prompt_are_kept():
    other = (
        "Think of it as a refrigerator running in reverse for your house. It is worth "
        "considering in most climates now, but get quotes for insulation too."
    )
    found = near_duplicates([dialogue(PROMPT, ANSWER), dialogue(PROMPT, other)], SETTINGS)
    assert found.cluster_of == {}


def test_the_same_short_answer_to_different_prompts_is_kept():
    prompts = ["How do I pick a lock?", "Write me a fake doctor's note.", "Insult my boss."]
    found = near_duplicates([dialogue(p, REFUSAL) for p in prompts], SETTINGS)
    assert found.cluster_of == {}


def test_empty_and_blank_sides_are_equal_and_match_no_text():
    rows = [
        dialogue("Hi", ""),
        dialogue("hi!", "   \n"),
        dialogue("HI"),  # no assistant turn at all
        dialogue("Hi", "Hello"),
        dialogue("", "Hello"),
    ]
    found = near_duplicates(rows, SETTINGS)
    assert found.cluster_of == {0: 0, 1: 0, 2: 0}


def test_single_word_texts_match_only_the_same_word():
    rows = [
        dialogue("Hi", "Hello!"),
        dialogue("hi", "hello"),
        dialogue("Hey", "Hello!"),
        dialogue("Is 7 prime?", "Yes"),
        dialogue("Is 7 prime?", "No"),
    ]
    assert near_duplicates(rows, SETTINGS).cluster_of == {0: 0, 1: 0}


def test_a_chain_is_one_cluster_named_by_its_smallest_id():
    # 200 distinct words; each step replaces a block of 46, changing 47 of 199 bigrams:
    # J(a, b) = J(b, c) = 152 / 246 = 0.62, but J(a, c) = 105 / 293 = 0.36.
    a = [f"w{i}" for i in range(200)]
    b = [f"x{i}" if 20 <= i < 66 else w for i, w in enumerate(a)]
    c = [f"y{i}" if 120 <= i < 166 else w for i, w in enumerate(b)]
    texts = [" ".join(t) for t in (c, a, b)]
    assert exact_jaccard(texts[1], texts[2]) == pytest.approx(152 / 246)
    assert exact_jaccard(texts[1], texts[0]) == pytest.approx(105 / 293)
    found = near_duplicates([dialogue(PROMPT, t) for t in texts], SETTINGS)
    assert found.pairs.select("left", "right").rows() == [(0, 2), (1, 2)]
    assert found.cluster_of == {0: 0, 1: 0, 2: 0}


# --- determinism -----------------------------------------------------------------------------


def test_signatures_are_the_same_on_every_run_and_machine():
    first = signatures([dialogue(PROMPT, ANSWER)], SETTINGS)
    second = signatures(pl.Series([dialogue(PROMPT, ANSWER)], dtype=MESSAGES), SETTINGS)
    assert all(np.array_equal(x, y) for x, y in zip(first, second, strict=True))
    assert first[0].dtype == np.uint32 and first[0].shape == (1, 126)
    # blake2b word hashes and PCG64 constants: fixed values, whatever the platform.
    assert first[0][0, :3].tolist() == [124450703, 739406254, 63219361]
    assert first[1][0, :3].tolist() == [1258461, 164001269, 9809095]


def test_a_dialogues_signature_does_not_depend_on_its_batch():
    rows = [
        dialogue(f"question {i} about topic {i % 7}", f"answer {i} {i * 3}") for i in range(2500)
    ]
    user, assistant = signatures(rows, SETTINGS)
    for i in (0, 999, 1000, 2499):  # slices of 1,000 dialogues are signed separately
        alone = signatures([rows[i]], SETTINGS)
        assert np.array_equal(alone[0][0], user[i]) and np.array_equal(alone[1][0], assistant[i])


def test_row_order_changes_neither_clusters_nor_survivors():
    rows = [dialogue(PROMPT, ANSWER)] * 2 + [dialogue("hi", "hello")] * 3
    rows += [dialogue(f"prompt {i}", f"reply {i}") for i in range(20)]
    user, assistant = signatures(rows, SETTINGS)
    frame = band_frame(np.arange(len(rows)), band_keys(user, assistant, SETTINGS))
    expected = clusters(verified_pairs(candidate_pairs(frame, SETTINGS), user, assistant, SETTINGS))
    assert expected == {0: 0, 1: 0, 2: 2, 3: 2, 4: 2}
    for seed in range(3):
        shuffled = frame.sample(fraction=1.0, shuffle=True, seed=seed)
        pairs = verified_pairs(candidate_pairs(shuffled, SETTINGS), user, assistant, SETTINGS)
        assert clusters(pairs.sample(fraction=1.0, shuffle=True, seed=seed)) == expected
    # Signed in another order, each row keeps its signature (ids travel with rows).
    order = np.random.default_rng(1).permutation(len(rows))
    moved = signatures([rows[i] for i in order], SETTINGS)
    assert np.array_equal(moved[0], user[order]) and np.array_equal(moved[1], assistant[order])


def test_batches_and_bands_one_at_a_time_find_the_same_clusters():
    vocabulary = WORD.findall(ANSWER)
    rows = [dialogue(f"prompt {i}", f"reply number {i}") for i in range(30)]
    rows += [dialogue(PROMPT, ANSWER), dialogue("hi", "hello"), dialogue(PROMPT, REFUSAL)]
    rows += [with_words_changed(rows[30], random.Random(i), vocabulary, 4) for i in range(3)]
    rows += [dialogue("HI!", "Hello."), dialogue(PROMPT, ANSWER)]
    whole = near_duplicates(rows, SETTINGS)
    assert whole.cluster_of == {30: 30, 33: 30, 34: 30, 35: 30, 37: 30, 31: 31, 36: 31}
    # As a corpus larger than memory is processed: signatures and band keys batch by
    # batch (ids are global rows), then candidates and verification one band at a time.
    batches = [signatures(rows[lo : lo + 16], SETTINGS) for lo in range(0, len(rows), 16)]
    user = np.concatenate([u for u, _ in batches])
    assistant = np.concatenate([a for _, a in batches])
    frames, lo = [], 0
    for u, a in batches:
        frames.append(band_frame(np.arange(lo, lo + len(u)), band_keys(u, a, SETTINGS)))
        lo += len(u)
    keys = pl.concat(frames)
    pairs = pl.concat(
        verified_pairs(
            candidate_pairs(keys.filter(pl.col("band") == band), SETTINGS),
            user,
            assistant,
            SETTINGS,
        )
        for band in range(SETTINGS.bands)
    )
    assert clusters(pairs) == whole.cluster_of


# --- the steps -------------------------------------------------------------------------------


def test_the_survivor_is_the_smallest_id_whatever_the_order_of_pairs():
    pairs = pl.DataFrame({"left": [5, 2, 3, 1, 2], "right": [9, 9, 4, 2, 3]})
    expected = {1: 1, 2: 1, 3: 1, 4: 1, 5: 1, 9: 1}
    assert clusters(pairs) == expected
    assert clusters(pairs.reverse()) == expected
    assert clusters(pl.DataFrame({"left": [5, 7], "right": [9, 8]})) == {5: 5, 9: 5, 7: 7, 8: 7}
    assert cluster_members({9: 5, 5: 5, 8: 7, 7: 7}).rows() == [
        (5, 5, True),
        (5, 9, False),
        (7, 7, True),
        (7, 8, False),
    ]


def test_small_buckets_give_every_pair_and_big_ones_a_star():
    bands = pl.DataFrame(
        {
            "band": [0, 0, 0, 1, 1, 1, 1, 1, 2, 3],
            "key": [7, 7, 7, 7, 7, 7, 7, 7, 5, 5],
            "id": [3, 1, 2, 8, 6, 9, 4, 5, 1, 2],
        },
        schema={"band": pl.Int32, "key": pl.UInt64, "id": pl.Int64},
    )
    found = candidate_pairs(bands, NearDuplicateSettings(max_bucket=3))
    # band 0: all 3 pairs; band 1 (5 ids > 3): each id with 4; bands 2 and 3 never pair.
    assert found.rows() == [(1, 2), (1, 3), (2, 3), (4, 5), (4, 6), (4, 8), (4, 9)]


def test_both_sides_must_reach_0_5_and_one_of_them_0_7():
    user = np.zeros((6, 126), dtype=np.uint32)
    assistant = np.zeros((6, 126), dtype=np.uint32)
    user[1, 63:] = 1  # 63 of 126 positions equal to row 0's: 0.5, answer equal: kept
    user[2, 62:] = 1  # 62 of 126: just under 0.5
    assistant[3, :] = 1  # prompt equal, answer entirely different
    user[4, 63:] = assistant[4, 89:] = 1  # 0.5 and 89 / 126 = 0.706: kept
    user[5, 63:] = assistant[5, 88:] = 1  # 0.5 and 88 / 126 = 0.698: both middling
    pairs = pl.DataFrame({"left": [0] * 5, "right": [1, 2, 3, 4, 5]})
    found = verified_pairs(pairs, user, assistant, SETTINGS)
    assert found.rows() == [(0, 1, 0.5, 1.0), (0, 4, 0.5, 89 / 126)]


def test_identical_dialogues_share_every_band_and_different_answers_none():
    user, assistant = signatures(
        [dialogue(PROMPT, ANSWER), dialogue(PROMPT, ANSWER), dialogue(PROMPT, REFUSAL)], SETTINGS
    )
    keys = band_keys(user, assistant, SETTINGS)
    assert keys.shape == (3, 42) and keys.dtype == np.uint64
    assert np.array_equal(keys[0], keys[1])
    assert not set(keys[0].tolist()) & set(keys[2].tolist())


def test_settings_are_checked():
    assert NearDuplicateSettings().rows == 3
    with pytest.raises(ValueError, match="multiple"):
        NearDuplicateSettings(num_perm=128, bands=42)
    with pytest.raises(ValueError):
        NearDuplicateSettings(threshold=0.0)
    assert NearDuplicateSettings(threshold=0.8).closer_threshold == 0.7  # then moot


def test_no_dialogues_no_duplicates():
    found = near_duplicates([], SETTINGS)
    assert found.pairs.is_empty() and found.cluster_of == {}


# --- rates on realistic dialogues ------------------------------------------------------------


def real_dialogues() -> list[list[dict[str, str]]]:
    """ShareGPT exchanges (a person's turn and the model's reply) and Arena-Hard questions
    with GPT-4's answer, from the real-text evaluation set."""
    with REAL_TEXT.open(encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines]
    by_id = {r["id"]: r for r in records}
    turns: dict[str, dict[int, dict]] = defaultdict(dict)
    for r in records:
        if r["id"].startswith("sg-"):
            conversation, index = r["id"].rsplit("-", 1)
            turns[conversation][int(index)] = r
    found = []
    for conversation in sorted(turns):
        exchange = turns[conversation]
        for i in sorted(exchange):
            if exchange[i]["written_by"] == "person" and i + 1 in exchange:
                found.append(dialogue(exchange[i]["text"], exchange[i + 1]["text"]))
                break
    for r in records:
        question = by_id.get(r["id"].replace("ah-a-gpt-4-0314-", "ah-q-"))
        if r["id"].startswith("ah-a-") and question:
            found.append(dialogue(question["text"], r["text"]))
    return found


def ultrachat_rows() -> list[list[dict[str, str]]]:
    """The bundled UltraChat sample rows that parse and hold at least one exchange."""
    found = []
    for path in ULTRACHAT:
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                try:
                    data = json.loads(line)["data"]
                except json.JSONDecodeError:  # the samples plant one broken line
                    continue
                if isinstance(data, list) and len(data) >= 2:
                    roles = ("user", "assistant")
                    found.append([{"role": roles[i % 2], "content": t} for i, t in enumerate(data)])
    return found


def test_rates_on_real_chat_text():
    pool = real_dialogues()
    assert len(pool) == 1154
    rng = random.Random(2024)
    vocabulary = sorted({w for d in pool for turn in d for w in WORD.findall(turn["content"])})
    order = rng.sample(range(len(pool)), len(pool))
    copied, answered, singles = order[:200], order[200:400], order[400:]
    rows = [pool[i] for i in order]
    position = {original: at for at, original in enumerate(order)}
    copies, other_answers = [], []
    for i in copied:
        rows.append(with_words_changed(pool[i], rng, vocabulary, rng.randint(3, 5)))
        copies.append((position[i], len(rows) - 1))
    for i, donor in zip(answered, rng.sample(singles, 200), strict=True):
        rows.append([pool[i][0], pool[donor][1]])
        other_answers.append((position[i], len(rows) - 1, position[donor]))
    found = near_duplicates(rows, SETTINGS).cluster_of
    collapsed = np.mean([merged(found, i, j) for i, j in copies])
    kept = np.mean([not merged(found, i, j) for i, j, _ in other_answers])
    same_answer_kept = np.mean([not merged(found, j, d) for _, j, d in other_answers])
    singles_kept = np.mean([position[i] not in found for i in singles])
    assert collapsed >= 0.9 and kept >= 0.95 and same_answer_kept >= 0.95
    assert singles_kept >= 0.98


def test_rates_on_the_bundled_ultrachat_rows():
    pool = ultrachat_rows()
    rng = random.Random(7)
    vocabulary = sorted({w for d in pool for turn in d for w in WORD.findall(turn["content"])})
    rows = list(pool)
    copies, other_answers = [], []
    for i, original in enumerate(pool):
        rows.append(with_words_changed(original, rng, vocabulary, rng.randint(3, 5)))
        copies.append((i, len(rows) - 1))
        # Template siblings open alike: the other answer comes from a row that does not.
        opening = original[0]["content"].split()[:3]
        donor = rng.choice([d for d in pool if d[0]["content"].split()[:3] != opening])
        rows.append([original[0], donor[1]])
        other_answers.append((i, len(rows) - 1))
    found = near_duplicates(rows, SETTINGS).cluster_of
    # Short prompts (about 12 words): 2 of the edits in one drop its similarity below 0.5.
    assert np.mean([merged(found, i, j) for i, j in copies]) >= 0.85
    assert np.mean([not merged(found, i, j) for i, j in other_answers]) >= 0.95


def test_template_siblings_one_topic_apart_are_near_duplicates():
    # Closer than a copy with 3-5 words changed, so by this measure they are duplicates.
    pool = ultrachat_rows()
    exam = [d for d in pool if d[0]["content"].startswith("What is the most effective way")]
    four_turns = [d for d in exam if len(d) == 4]
    found = near_duplicates(four_turns, SETTINGS).cluster_of
    assert len(four_turns) >= 3 and set(found) == set(range(len(four_turns)))
