"""BPETokenizer: byte fallback, hand-checked merges, determinism, lossless
round trips, and agreement with a slow from-scratch reference trainer."""

import random
import re

import pytest

from tinytorch.text.tokenization import (
    BOS_ID,
    BPE_PRETOKENIZE_PATTERN,
    EOS_ID,
    PAD_ID,
    SPECIAL_TOKENS,
    UNK_ID,
    BPETokenizer,
)

# A few KB of plain English written for these tests.
CORPUS = """\
A tokenizer is the first piece of every language model. It reads raw text and
turns it into a list of integers, one integer for each token. The model never
sees letters; it only sees those integers, and it learns an embedding vector
for each one. The choice of tokenizer therefore decides how long the sequences
are, how large the embedding table is, and which words the model can spell.

The simplest tokenizer is the character tokenizer. It gives every character its
own id. The vocabulary is tiny, so the embedding table is tiny too, but the
sequences are long: a sentence of forty words becomes two hundred tokens, and
attention cost grows with the square of the sequence length. The character
tokenizer also has a blind spot: a character that was never seen during
training has no id at all, so it is mapped to the unknown token and lost.

Byte pair encoding starts from the other end. It begins with the two hundred
and fifty six possible byte values, so that every string, in every language,
with every emoji, can be written down without an unknown token. Then it counts
which pairs of neighbouring tokens appear most often in the training text, and
it merges the most frequent pair into a new token. It counts again, merges
again, and keeps going until the vocabulary reaches the size that was asked
for. Frequent words such as the, and, of, token and tokenizer end up as single
tokens, while rare words are split into a few familiar pieces.

The merges are learned once, during training, and then they are replayed in
the same order whenever new text is encoded. Because the replay follows the
learned order, the same text always gives the same tokens, and decoding simply
glues the bytes of the tokens back together. Nothing is ever thrown away, so
decoding the encoded text gives back exactly the text that went in.

Padding is the last piece of the puzzle. A batch holds several sequences of
different lengths, but a tensor must be rectangular, so short sequences are
padded with a special padding token until they are as long as the longest one.
An attention mask records which positions hold real tokens and which hold
padding, so that attention can ignore the padding and the loss can skip it.
Special tokens for the beginning and the end of a sequence tell the model where
a text starts and where it stops, which matters when texts are packed together.

When the model is trained, the tokens of the training text are fed in, and the
model predicts the next token at every position. When the model generates text,
it predicts one token, appends it, and predicts again, and the tokenizer turns
the final list of tokens back into text for the reader. A good tokenizer keeps
the sequences short without making the vocabulary too large, and it treats
every language and every symbol fairly. The tokenizer is small, but it shapes
everything the model can learn, so it is worth understanding it well.

Counting pairs again after every merge would be slow on a large corpus, so a
careful trainer only updates the counts of the words that contained the merged
pair. The rest of the counts do not change. With that trick the trainer spends
its time where the text actually changed, and training on a few thousand words
takes a moment rather than a minute.
"""

TRICKY_STRINGS = [
    "",
    " ",
    "\n\n\t  \r\n",
    "hello world",
    "Grüße aus Köln",
    "naïve café résumé",
    "e\u0301\u0302 a\u0308 combining marks",
    "日本語のテキストと中文文本",
    "한국어 텍스트",
    "مرحبا بالعالم",
    "שלום עולם",
    "emoji 🙂👍🏽🇯🇵👨‍👩‍👧‍👦",
    "math ∑∫√∞ ≠ ≤ ≥",
    "zero\u200bwidth\ufeffjoiner",
    "control \x00\x01\x7f chars",
    "<UNK><PAD><BOS><EOS>",
    "snake_case__dunder__ 123_456",
    "tabs\tand\tnewlines\nmix  \n",
    "lone surrogate \ud800 kept",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 astral plane 𐍈",
    "\U0010ffff max code point",
]


def naive_bpe_merges(texts, vocab_size):
    """Slow but obviously correct trainer: full recount before every merge."""
    chunks = [c for t in texts for c in re.findall(BPE_PRETOKENIZE_PATTERN, t)]
    words = [[4 + b for b in c.encode("utf-8", "surrogatepass")] for c in chunks]
    token_bytes = [t.encode() for t in SPECIAL_TOKENS] + [bytes([b]) for b in range(256)]
    merges = []
    while len(token_bytes) < vocab_size:
        counts = {}
        for w in words:
            for pair in zip(w, w[1:]):
                counts[pair] = counts.get(pair, 0) + 1
        if not counts:
            break
        best = min(counts, key=lambda p: (-counts[p], token_bytes[p[0]], token_bytes[p[1]], p))
        if counts[best] < 2:
            break
        new_id = len(token_bytes)
        token_bytes.append(token_bytes[best[0]] + token_bytes[best[1]])
        merges.append((token_bytes[best[0]], token_bytes[best[1]]))
        for k, w in enumerate(words):
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(new_id)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            words[k] = out
    return merges


def random_unicode_strings(seed, count):
    rng = random.Random(seed)
    ranges = [
        (0x20, 0x7E),  # ASCII
        (0x00, 0x1F),  # controls
        (0xA0, 0x24F),  # Latin-1 / Latin extended
        (0x300, 0x36F),  # combining marks
        (0x400, 0x4FF),  # Cyrillic
        (0x4E00, 0x9FFF),  # CJK
        (0xAC00, 0xD7A3),  # Hangul
        (0x1F300, 0x1FAFF),  # emoji
        (0x10000, 0x10FFFF),  # anything astral
    ]
    out = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(0, 40)):
            lo, hi = rng.choice(ranges)
            parts.append(chr(rng.randint(lo, hi)))
        out.append("".join(parts))
    return out


@pytest.fixture(scope="module")
def trained():
    tok = BPETokenizer(vocab_size=512)
    tok.train(CORPUS)
    return tok


# ------------------------------------------------------------ layout


def test_base_vocabulary_layout():
    tok = BPETokenizer(300)
    vocab = tok.vocab
    assert tok.vocab_size == 260 == len(vocab) == len(tok)
    assert vocab[:4] == ["<UNK>", "<PAD>", "<BOS>", "<EOS>"]
    assert vocab[4:] == [bytes([b]) for b in range(256)]
    assert tok.merges == []
    assert tok.target_vocab_size == 300


def test_untrained_tokenizer_encodes_utf8_bytes():
    tok = BPETokenizer(260)
    assert tok.encode("Hi!") == [4 + 72, 4 + 105, 4 + 33]
    assert tok.encode("é") == [4 + 0xC3, 4 + 0xA9]
    assert tok.encode("🙂") == [4 + b for b in "🙂".encode("utf-8")]
    assert tok.encode("ab", add_special_tokens=True) == [BOS_ID, 4 + 97, 4 + 98, EOS_ID]
    assert tok.decode([4 + 0xC3, 4 + 0xA9]) == "é"


# ------------------------------------------------------------ training


def test_hand_checked_merges_on_classic_example():
    # aaabdaaabac: (a,a) occurs 4 times (overlaps count) -> first merge.
    # After "aa" -> Z the text is "Z a b d Z a b a c" where (Z,a) and (a,b)
    # both occur twice; the tie goes to the smaller byte pair (b"a", b"b").
    # Then "Z Y d Z Y a c" has (Z,Y) twice -> X = b"aaab", leaving
    # "X d X a c" where nothing repeats.
    tok = BPETokenizer(vocab_size=1000)
    tok.train("aaabdaaabac")
    assert tok.merges == [(b"a", b"a"), (b"a", b"b"), (b"aa", b"ab")]
    assert tok.merge_ids == [(101, 101), (101, 102), (260, 261)]
    assert tok.vocab_size == 263
    assert tok.vocab[260:] == [b"aa", b"ab", b"aaab"]
    assert tok.encode("aaabdaaabac") == [262, 4 + ord("d"), 262, 4 + ord("a"), 4 + ord("c")]
    assert tok.decode([262, 4 + ord("d")]) == "aaabd"


def test_first_merge_stops_at_vocab_size():
    tok = BPETokenizer(vocab_size=261)
    tok.train("aaabdaaabac")
    assert tok.merges == [(b"a", b"a")]
    assert tok.vocab_size == 261
    assert tok.encode("aaab") == [260, 4 + ord("a"), 4 + ord("b")]


def test_tie_break_is_lexicographic_on_bytes():
    # "xy" and "ab" each occur twice: (a,b) < (x,y) so it is merged first.
    tok = BPETokenizer(vocab_size=262)
    tok.train(["xy", "ab", "xy", "ab"])
    assert tok.merges == [(b"a", b"b"), (b"x", b"y")]


def test_no_merge_for_pairs_seen_once():
    tok = BPETokenizer(vocab_size=400)
    tok.train("abcdef")
    assert tok.merges == []
    assert tok.vocab_size == 260


def test_merges_do_not_cross_documents_or_words():
    # "ab" is split across two documents / across a space: never a pair.
    tok = BPETokenizer(vocab_size=400)
    tok.train(["xa", "bx", "xa", "bx"])
    assert (b"a", b"b") not in tok.merges
    tok.train("a.b a.b a.b")
    # chunks are "a", ".", "b", " a", ".", "b", ... so only (" ", "a") repeats
    assert tok.merges == [(b" ", b"a")]


def test_reaches_target_vocab_on_corpus(trained):
    assert trained.vocab_size == 512
    assert len(trained.merges) == 512 - 260
    assert len(trained.vocab) == 512
    # every merged token is the concatenation of its pair
    for k, (a, b) in enumerate(trained.merges):
        assert trained.vocab[260 + k] == a + b


def test_matches_slow_reference_trainer(trained):
    assert trained.merges == naive_bpe_merges([CORPUS], 512)
    small = BPETokenizer(300)
    docs = CORPUS.split("\n\n")
    small.train(docs)
    assert small.merges == naive_bpe_merges(docs, 300)


def test_frequent_words_become_single_tokens(trained):
    assert trained.convert_ids_to_tokens(trained.encode(" the")) == [" the"]
    assert trained.convert_ids_to_tokens(trained.encode(" tokenizer")) == [" tokenizer"]


def test_encoding_is_shorter_than_bytes(trained):
    ids = trained.encode(CORPUS)
    n_bytes = len(CORPUS.encode("utf-8"))
    assert len(ids) < n_bytes / 2
    assert trained.decode(ids) == CORPUS


def test_training_is_deterministic():
    a = BPETokenizer(450)
    a.train(CORPUS)
    b = BPETokenizer(450)
    b.train(CORPUS)
    assert a.merges == b.merges
    assert a.vocab == b.vocab
    assert a.encode(CORPUS) == b.encode(CORPUS)


def test_retraining_discards_previous_merges():
    tok = BPETokenizer(300)
    tok.train(CORPUS)
    tok.train("aaabdaaabac")
    assert tok.merges == [(b"a", b"a"), (b"a", b"b"), (b"aa", b"ab")]
    assert tok.encode("aaab") == [262]


def test_train_vocab_size_override():
    tok = BPETokenizer(1000)
    tok.train("aaabdaaabac", vocab_size=262)
    assert tok.target_vocab_size == 262
    assert tok.merges == [(b"a", b"a"), (b"a", b"b")]


# ------------------------------------------------------------ round trips


@pytest.mark.parametrize("text", TRICKY_STRINGS)
def test_round_trip_tricky_strings(trained, text):
    ids = trained.encode(text)
    assert UNK_ID not in ids
    assert all(4 <= i < trained.vocab_size for i in ids)
    assert trained.decode(ids) == text
    assert trained.decode(trained.encode(text, add_special_tokens=True)) == text


def test_round_trip_seeded_random_strings(trained):
    for text in random_unicode_strings(seed=0, count=300):
        assert trained.decode(trained.encode(text)) == text


def test_round_trip_untrained_tokenizer():
    tok = BPETokenizer(260)
    for text in TRICKY_STRINGS + random_unicode_strings(seed=1, count=50):
        assert tok.decode(tok.encode(text)) == text


def test_special_tokens_in_decode(trained):
    ids = [BOS_ID] + trained.encode("hi") + [EOS_ID, PAD_ID, UNK_ID]
    assert trained.decode(ids) == "hi"
    assert trained.decode(ids, skip_special_tokens=False) == "<BOS>hi<EOS><PAD><UNK>"


def test_special_token_text_is_ordinary_bytes(trained):
    ids = trained.encode("<PAD>")
    assert PAD_ID not in ids
    assert trained.decode(ids) == "<PAD>"


def test_decode_of_split_multibyte_char_uses_replacement_char():
    tok = BPETokenizer(260)
    first_byte_of_e_acute = 4 + 0xC3
    assert tok.decode([4 + ord("a"), first_byte_of_e_acute, 4 + ord("b")]) == "a\ufffdb"


def test_convert_ids_to_tokens_shows_partial_bytes_escaped():
    tok = BPETokenizer(260)
    assert tok.convert_ids_to_tokens(tok.encode("é") + [BOS_ID]) == ["\\xc3", "\\xa9", "<BOS>"]


# ------------------------------------------------------------ errors


def test_vocab_size_below_minimum_raises():
    with pytest.raises(ValueError, match=r"vocab_size=259 is too small: the minimum is 260 \(4 special tokens \+ 256 byte tokens\)"):
        BPETokenizer(259)
    with pytest.raises(ValueError, match=r"vocab_size=0 .*minimum is 260"):
        BPETokenizer(vocab_size=0)
    tok = BPETokenizer(300)
    with pytest.raises(ValueError, match=r"vocab_size=10 .*minimum is 260"):
        tok.train("abc", vocab_size=10)


def test_vocab_size_wrong_type_raises():
    with pytest.raises(TypeError, match=r"vocab_size must be an int, got float \(300\.0\)"):
        BPETokenizer(300.0)
    with pytest.raises(TypeError, match=r"vocab_size must be an int, got str"):
        BPETokenizer("512")


def test_empty_corpus_raises():
    tok = BPETokenizer(300)
    with pytest.raises(ValueError, match=r"corpus is empty"):
        tok.train("")
    with pytest.raises(ValueError, match=r"corpus is empty \(0 text\(s\)"):
        tok.train([])


def test_train_bad_corpus_type_raises():
    tok = BPETokenizer(300)
    with pytest.raises(TypeError, match=r"corpus\[0\] must be a str, got bytes"):
        tok.train([b"abc"])


def test_encode_non_str_raises():
    tok = BPETokenizer(300)
    with pytest.raises(TypeError, match=r"text must be a str, got NoneType"):
        tok.encode(None)
    with pytest.raises(TypeError, match=r"text must be a str, got bytes"):
        tok.encode(b"abc")


def test_decode_bad_ids_raise(trained):
    with pytest.raises(ValueError, match=r"token id 512 at position 0 is out of range \[0, 512\)"):
        trained.decode([512])
    untrained = BPETokenizer(512)
    with pytest.raises(ValueError, match=r"token id 300 at position 2 is out of range \[0, 260\)"):
        untrained.decode([5, 6, 300])
    with pytest.raises(TypeError, match=r"ids\[0\] must be an int, got float"):
        trained.decode([1.5])
    with pytest.raises(TypeError, match=r"ids must be a sequence of ints, got NoneType"):
        trained.decode(None)
