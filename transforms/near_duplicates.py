"""Near-duplicate dialogues, within and across datasets: MinHash LSH over both sides.

Two dialogues are near-duplicates when their prompts are alike AND their answers are. A
dialogue has two sides: the prompt (every turn not by the assistant: user and system
turns) and the answer (the assistant's turns), turns joined by a newline. Judging the
sides apart is what keeps different answers to one prompt apart (equal prompts, unlike
answers) and identical short answers to different prompts ("I'm sorry, I can't help with
that.") too: pooled into one text, a long side that matches would outweigh a short one
that does not, and either pair would pass for a lightly edited copy.

Steps, all pure functions; a dialogue's signatures depend on nothing else in its batch:

1. Words (`words`): NFKC, lower case, maximal runs of Unicode word characters (Polars'
   Rust regex `\\w+`, which keeps Indic vowel signs inside their word where Python's `re`
   splits them off). Lower case is not full case folding: "Straße" and "STRASSE" differ
   by a word. Chinese and Japanese, written without spaces, give one word per run between
   punctuation marks, so an edit there changes a whole clause. Measured alternative: one
   word per Han/kana character collapses more edited copies of the bundled UltraChat rows
   (92.9 % against 91.2 %; their Chinese and Japanese rows are most misses) but merges
   different answers that the benchmark corpus draws from its 30-sentence Chinese and
   Japanese pools (3.3 % of Arena-shaped pairs lost instead of 0.9 %, 1.1 % of 20,000
   singletons instead of 0.15 %).
2. Shingles (`shingle_keys`): runs of `shingle` = 2 consecutive words. A text with fewer
   words is one shingle (its words padded); an empty side is one constant shingle, so two
   empty sides are equal and an empty side matches no text. Chosen by measurement (exact
   Jaccard on planted pairs, then these signatures): word 3-grams lose more edited copies
   whose short prompt took an edit (92 % collapsed on real text against 95 %, 88 % against
   91 % on the UltraChat rows); single words and character 5-grams make different answers
   drawn from the benchmark's sentence pools look alike (4.2 % and 2.6 % of pairs reach
   0.5, against 1 % with word pairs). A word is hashed once per slice of dialogues with
   blake2b (64 bits, the same on every machine and in every Polars or Python version); a
   shingle's key is MurmurHash3's finaliser over an odd-weighted sum of its word hashes,
   top 32 bits kept.
3. Signatures (`minhash`, `signatures`): `num_perm` = 126 positions per side. Position i
   holds min over the keys x of (a_i·x + b_i) mod 2^64, top 32 bits kept: Dietzfelbinger's
   multiply-add-shift, strongly universal on 32-bit keys. It replaces (a·x + b) mod
   (2^61 - 1), whose 122-bit products numpy does not have (in 64 bits they silently
   wrap), at 0.5 ns per key and position. a_i, b_i come from PCG64 seeded by `seed`. The
   fraction of equal positions estimates the Jaccard similarity J of two shingle sets,
   with standard deviation sqrt(J (1 - J) / 126): 0.045 at J = 0.5.
4. Candidates (`band_keys`, `band_frame`, `candidate_pairs`): `bands` = 42 bands of 3
   positions per side. Band i's 64-bit key hashes band i's 3 prompt and 3 answer
   positions, so a pair collides in a band with probability (J_p·J_a)^3 and becomes a
   candidate with P = 1 - (1 - (J_p·J_a)^3)^42:

       J of both sides      0.4     0.5     0.6     0.7     0.8     0.9
       P(candidate)         0.158   0.484   0.866   0.995   1.000   1.000

   At (0.5, 0.7) P = 0.841, at (0.5, 0.9) 0.982. With one side identical and the other at
   0.1 / 0.2 / 0.3 / 0.4 / 0.5, P = 0.041 / 0.286 / 0.683 / 0.938 / 0.996: those pairs
   are verified and rejected below. Two unrelated real dialogues (J near 0.05 a side) are
   candidates with P < 1e-6. A bucket (band, key) of at most `max_bucket` = 64 ids yields
   all its pairs; a larger one (a big family of copies, or a band whose minima are
   shingles much of a corpus shares: 252 ids at 20,000 dialogues of the benchmark's
   synthetic text) pairs each id with its smallest only, so work stays linear in rows.
5. Verification (`verified_pairs`): a candidate is kept when the estimated J reaches
   `threshold` = 0.5 on both sides and `closer_threshold` = 0.7 on one of them, so LSH
   false positives never merge. A copy with a handful of words changed keeps one side
   nearly intact; two dialogues written apart from shared material (template text) are
   middling on both, and the second threshold removes 86 % of those merges among 20,000
   benchmark dialogues for 0.7 points of recall on real text. A side whose true J is
   0.40 / 0.45 / 0.50 / 0.55 / 0.60 reaches 0.5 with probability 0.015 / 0.15 / 0.54 /
   0.89 / 0.99, and one at 0.60 / 0.65 / 0.70 / 0.75 / 0.80 reaches 0.7 with 0.009 /
   0.11 / 0.48 / 0.89 / 0.996 (binomial, 126 positions).
6. Clusters (`clusters`): connected components of the verified pairs (union-find): a
   chain A~B~C is one cluster even if A and C alone would not pass. A cluster is named by
   its smallest id, its survivor. The caller numbers rows in order of preference:
   ascending (catalogue rank of the dataset, split, source_file, source_row), the order in
   which the exact-duplicate stage keeps rows (transforms/silver.py), so the survivor is
   the copy from the dataset listed first, then the earliest row. Ids belong to rows, so
   clusters and survivors are the same in any row or batch order. The report is the
   verified pairs with both similarities and one row per member (`cluster_members`).

Memory is bounded by the batch: `signatures` holds the words of 1,000 dialogues at a time
and returns 2 × 126 × 4 = 1,008 bytes a dialogue; band keys take 42 × 8 = 336 bytes. For
a corpus larger than memory the caller saves each batch's signatures (np.save, read back
with mmap_mode="r") and writes its `band_frame` to disk, runs `candidate_pairs` and
`verified_pairs` one band at a time (ids are rows of the signature arrays), and passes
every verified pair to `clusters`. `near_duplicates` does it all in memory for one batch.

Measured (one core, POLARS_MAX_THREADS=1). An edited copy has 3-5 random words of the
dialogue replaced by random words of the corpus; a different-answer pair keeps a
dialogue's first user turn and takes another dialogue's first answer:

- Real chat text (evaluation/data/real_text: 1,154 ShareGPT and Arena-Hard exchanges;
  5 draws of 200 copies, 200 different-answer pairs, 754 singletons): 95.2 % of copies
  collapse (93 % at worst); 100 % of different-answer pairs and of the same-answer pairs
  with another prompt they create are kept; 99.7 % of singletons are kept. What merges is
  "hi" / "HI" answered "How can I help / assist you today?", and "Thank you." / "thank
  you" with a canned reply one word apart. What is missed: copies whose prompt of 3 to 13
  words took 1 or 2 of the edits.
- Bundled UltraChat rows (147 dialogues, 8 draws): 91.2 % of copies collapse, nearly all
  misses in the Chinese and Japanese rows (see 1); 100 % of different-answer pairs are
  kept. These rows are template fillers: siblings one topic apart ("...for an exam in
  sociology?") are closer than a copy with 3-5 words changed, and 75 % of the rows merge
  with a sibling.
- Benchmark corpus text (bench/text_pools.py; 100,000 UltraChat-shaped dialogues plus
  planted pairs, and 5,000 Arena-shaped pairs of answers to one prompt): 100 % of copies
  collapse; 99.5 % of singletons and 99.1 % of Arena pairs are kept. What merges is
  non-English text drawn from pools of about 25 sentences; it grows with the corpus.
- Throughput (5 runs): 2,500-3,600 dialogues/s (13-19 M characters/s) on 5,300-character
  dialogues, 6,900-7,900 a second on 1,950-character ones; 70 % of the time is Polars'
  text work (NFKC, words, word hashes), 20 % the MinHash. Peak memory over the input for
  10,000 dialogues, from signatures to clusters: 70-80 MB (1,950 characters each),
  120-130 MB (5,300).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from transforms.cleaning import MESSAGES

_DIALOGUES = 1000  # dialogues whose words are in memory at once in `signatures`
_CHUNK = 8192  # shingles per MinHash step: a num_perm × _CHUNK uint64 block (8 MB)
_PAIR_CHUNK = 1 << 16  # pairs per verification step
_MAX = np.iinfo(np.uint64).max


@dataclass(frozen=True)
class NearDuplicateSettings:
    """How near-duplicates are found; the module docstring says why these defaults."""

    num_perm: int = 126  # signature positions per side
    bands: int = 42  # LSH bands; num_perm / bands positions of each side per band
    shingle: int = 2  # words per shingle
    threshold: float = 0.5  # estimated Jaccard similarity both sides must reach
    closer_threshold: float = 0.7  # ... and the closer side this (moot if below threshold)
    max_bucket: int = 64  # a larger LSH bucket is paired with its smallest id only
    seed: int = 17  # of every hash constant: change it and every signature changes

    def __post_init__(self) -> None:
        if self.num_perm % self.bands:
            raise ValueError("num_perm must be a multiple of bands")
        if self.shingle < 1 or self.max_bucket < 2:
            raise ValueError("need shingle >= 1 and max_bucket >= 2")
        if not (0.0 < self.threshold <= 1.0 and 0.0 <= self.closer_threshold <= 1.0):
            raise ValueError("need 0 < threshold <= 1 and 0 <= closer_threshold <= 1")

    @property
    def rows(self) -> int:
        """Signature positions of each side in one band."""
        return self.num_perm // self.bands


@dataclass(frozen=True)
class NearDuplicates:
    """What `near_duplicates` found: the verified pairs and every clustered id's cluster."""

    pairs: pl.DataFrame  # left, right, user_similarity, assistant_similarity
    cluster_of: dict[int, int]  # id -> its cluster's smallest id (the survivor)


def _mix(x: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser, elementwise and in place (uint64 arithmetic wraps)."""
    x ^= x >> np.uint64(33)
    x *= np.uint64(0xFF51AFD7ED558CCD)
    x ^= x >> np.uint64(33)
    x *= np.uint64(0xC4CEB9FE1A85EC53)
    x ^= x >> np.uint64(33)
    return x


def _constants(seed: int, purpose: int, n: int) -> np.ndarray:
    """n random 64-bit words, the same on every machine (PCG64 seeded by seed and purpose)."""
    rng = np.random.default_rng([seed, purpose])
    return rng.integers(0, _MAX, n, dtype=np.uint64, endpoint=True)


def dialogue_sides(messages: pl.Series | Sequence[Sequence[dict]]) -> pl.DataFrame:
    """Each dialogue's `prompt` (its turns not by the assistant) and `answer` (its assistant
    turns), turns joined by a newline; "" for a side without turns."""
    series = messages if isinstance(messages, pl.Series) else pl.Series(messages, dtype=MESSAGES)
    role = pl.element().struct.field("role")
    content = pl.element().struct.field("content")
    turns = pl.col("messages")
    return (
        pl.DataFrame({"messages": series})
        .select(
            prompt=turns.list.eval(content.filter(role != "assistant")).list.join("\n"),
            answer=turns.list.eval(content.filter(role == "assistant")).list.join("\n"),
        )
        .fill_null("")
    )


def words(texts: pl.Series) -> pl.Series:
    """Each text's words: NFKC, lower case, maximal runs of Unicode word characters."""
    return texts.str.normalize("NFKC").str.to_lowercase().str.extract_all(r"\w+")


def _word_hash(word: str) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")


def _word_hashes(flat: pl.Series) -> np.ndarray:
    """Every word's stable 64-bit hash, computed once per distinct word."""
    distinct = flat.unique()
    hashes = pl.Series([_word_hash(w) for w in distinct.to_list()], dtype=pl.UInt64)
    return flat.replace_strict(distinct, hashes, return_dtype=pl.UInt64).to_numpy()


def shingle_keys(
    texts: pl.Series, settings: NearDuplicateSettings
) -> tuple[np.ndarray, np.ndarray]:
    """Every text's shingles (runs of `settings.shingle` words) as 32-bit keys, concatenated,
    and how many each text has. A shorter text is one shingle, an empty one too."""
    tokens = words(texts)
    counts = tokens.list.len().to_numpy().astype(np.int64)
    hashes = _word_hashes(tokens.explode(empty_as_null=False, keep_nulls=False))
    k = settings.shingle
    per_text = np.maximum(counts - k + 1, 1)
    # Each text is laid out with k zero words after it, so no window leaves its text.
    starts = np.cumsum(counts + k) - (counts + k)
    padded = np.zeros(int(counts.sum()) + k * len(counts), dtype=np.uint64)
    at_word = np.repeat(starts - (np.cumsum(counts) - counts), counts)
    padded[at_word + np.arange(len(hashes))] = hashes
    at = np.repeat(starts - (np.cumsum(per_text) - per_text), per_text)
    at += np.arange(len(at))
    weights = _constants(settings.seed, 0, k) | np.uint64(1)
    combined = np.full(len(at), 0x9E3779B97F4A7C15, dtype=np.uint64)
    for i in range(k):
        combined += padded[at + i] * weights[i]
    return _mix(combined) >> np.uint64(32), per_text


def minhash(keys: np.ndarray, counts: np.ndarray, settings: NearDuplicateSettings) -> np.ndarray:
    """Each text's MinHash signature (texts × num_perm, uint32) from its shingle keys:
    position i is the top 32 bits of min over keys x of (a_i·x + b_i) mod 2^64."""
    a = _constants(settings.seed, 1, settings.num_perm)[:, None]
    b = _constants(settings.seed, 2, settings.num_perm)[:, None]
    owner = np.repeat(np.arange(len(counts)), counts)
    out = np.full((settings.num_perm, len(counts)), _MAX, dtype=np.uint64)
    block = np.empty((settings.num_perm, _CHUNK), dtype=np.uint64)
    for lo in range(0, len(keys), _CHUNK):
        chunk, of = keys[lo : lo + _CHUNK], owner[lo : lo + _CHUNK]
        values = np.multiply(a, chunk, out=block[:, : len(chunk)])
        values += b
        starts = np.flatnonzero(np.r_[True, of[1:] != of[:-1]])
        texts = of[starts]
        out[:, texts] = np.minimum(out[:, texts], np.minimum.reduceat(values, starts, axis=1))
    return (out.T >> np.uint64(32)).astype(np.uint32)


def signatures(
    messages: pl.Series | Sequence[Sequence[dict]], settings: NearDuplicateSettings
) -> tuple[np.ndarray, np.ndarray]:
    """The prompt-side and the answer-side signatures (dialogues × num_perm, uint32)."""
    sides = dialogue_sides(messages)
    user = [np.empty((0, settings.num_perm), dtype=np.uint32)]
    assistant = list(user)
    for lo in range(0, sides.height, _DIALOGUES):
        part = sides.slice(lo, _DIALOGUES)
        both = minhash(
            *shingle_keys(pl.concat([part["prompt"], part["answer"]]), settings), settings
        )
        user.append(both[: part.height])
        assistant.append(both[part.height :])
    return np.concatenate(user), np.concatenate(assistant)


def band_keys(
    user_sig: np.ndarray, assistant_sig: np.ndarray, settings: NearDuplicateSettings
) -> np.ndarray:
    """dialogues × bands uint64: band i's key hashes band i of both signatures."""
    n, r = len(user_sig), settings.rows
    both = np.concatenate(
        [user_sig.reshape(n, settings.bands, r), assistant_sig.reshape(n, settings.bands, r)],
        axis=2,
    ).astype(np.uint64)
    both *= _constants(settings.seed, 3, 2 * r) | np.uint64(1)
    return _mix(both.sum(axis=2, dtype=np.uint64))


def band_frame(ids: np.ndarray, keys: np.ndarray) -> pl.DataFrame:
    """(band, key, id), one row per dialogue and band: what `candidate_pairs` groups.
    Frames of several batches concatenate; split by band, they can be grouped one by one."""
    n, bands = keys.shape
    return pl.DataFrame(
        {
            "band": np.tile(np.arange(bands, dtype=np.int32), n),
            "key": keys.ravel(),
            "id": np.repeat(np.asarray(ids, dtype=np.int64), bands),
        }
    )


def candidate_pairs(bands: pl.DataFrame, settings: NearDuplicateSettings) -> pl.DataFrame:
    """Unique (left, right), left < right: ids that share a bucket (band, key). A bucket of
    at most `max_bucket` ids gives all its pairs, a larger one each id with its smallest."""
    buckets = (
        bands.with_columns(
            size=pl.len().over("band", "key"), hub=pl.col("id").min().over("band", "key")
        )
        .filter(pl.col("size") > 1)
        .with_columns(big=pl.col("size") > settings.max_bucket)
    )
    small = buckets.filter(~pl.col("big")).select("band", "key", "id")
    every = small.join(small, on=["band", "key"], suffix="_right").select(
        left="id", right="id_right"
    )
    hubs = buckets.filter(pl.col("big")).select(left="hub", right="id")
    return (
        pl.concat([every, hubs])
        .filter(pl.col("left") < pl.col("right"))
        .unique()
        .sort("left", "right")
    )


def verified_pairs(
    pairs: pl.DataFrame,
    user_sig: np.ndarray,
    assistant_sig: np.ndarray,
    settings: NearDuplicateSettings,
) -> pl.DataFrame:
    """The pairs whose estimated Jaccard similarity reaches `threshold` on both sides and
    `closer_threshold` on one, with both estimates. Ids are rows of the signature arrays
    (which may be memory-mapped)."""
    left, right = pairs["left"].to_numpy(), pairs["right"].to_numpy()
    sides = {"user_similarity": user_sig, "assistant_similarity": assistant_sig}
    estimates = {name: np.empty(len(left)) for name in sides}
    for lo in range(0, len(left), _PAIR_CHUNK):
        i, j = left[lo : lo + _PAIR_CHUNK], right[lo : lo + _PAIR_CHUNK]
        for name, sig in sides.items():
            estimates[name][lo : lo + _PAIR_CHUNK] = (sig[i] == sig[j]).mean(axis=1)
    return pairs.with_columns(
        **{name: pl.Series(values, dtype=pl.Float64) for name, values in estimates.items()}
    ).filter(
        (pl.min_horizontal(*sides) >= settings.threshold)
        & (pl.max_horizontal(*sides) >= settings.closer_threshold)
    )


def clusters(pairs: pl.DataFrame) -> dict[int, int]:
    """{id: cluster} for every id in `pairs`: the connected components of the pairs, each
    named by its smallest id (its survivor), whatever the order of the pairs."""
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        while (up := parent.setdefault(x, x)) != x:
            parent[x] = parent[up]
            x = up
        return x

    for a, b in pairs.select("left", "right").iter_rows():
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {x: root(x) for x in parent}


def cluster_members(cluster_of: dict[int, int]) -> pl.DataFrame:
    """One row per clustered id, (cluster, id, survivor), sorted: the merge report's rows."""
    return (
        pl.DataFrame(
            {"cluster": list(cluster_of.values()), "id": list(cluster_of)},
            schema={"cluster": pl.Int64, "id": pl.Int64},
        )
        .with_columns(survivor=pl.col("id") == pl.col("cluster"))
        .sort("cluster", "id")
    )


def near_duplicates(
    messages: pl.Series | Sequence[Sequence[dict]], settings: NearDuplicateSettings
) -> NearDuplicates:
    """All the steps in memory, for one batch whose ids are its row positions."""
    user, assistant = signatures(messages, settings)
    keys = band_frame(np.arange(len(user)), band_keys(user, assistant, settings))
    pairs = verified_pairs(candidate_pairs(keys, settings), user, assistant, settings)
    return NearDuplicates(pairs, clusters(pairs))
