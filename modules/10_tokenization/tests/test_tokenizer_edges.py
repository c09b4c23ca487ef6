"""Edges the mutation run (tools/mutation/run.sh //modules/10_tokenization:tokenization) found
untested: BPE training that runs out of mergeable pairs, the chunk cache and its bound, numpy-style
booleans and array-likes recognised by duck typing, batch inputs that are not lists, padding of
empty rows, and the reprs."""

import pytest

from tinytorch.text.tokenization import (
    BOS_ID,
    EOS_ID,
    PAD_ID,
    BatchEncoding,
    BPETokenizer,
    CharTokenizer,
    Tokenizer,
)

BYTE = 4  # id of byte value 0


# ---------------------------------------------------------------- BPE training stops early


def test_training_stops_when_no_pair_occurs_twice_before_the_target_size():
    # "abbb": (b, b) occurs twice and is merged; then (a, bb) and (bb, b) occur once each, and
    # (a, b) is gone (its stale heap entry must be skipped, not taken for a live pair).
    tok = BPETokenizer(vocab_size=1000)
    tok.train("abbb")
    a, b = BYTE + ord("a"), BYTE + ord("b")
    assert tok.merges == [(b"b", b"b")]
    assert tok.merge_ids == [(b, b)]
    assert tok.vocab_size == 261 and tok.target_vocab_size == 1000
    assert tok.encode("abbb") == [a, 260, b]
    assert tok.decode(tok.encode("abbb")) == "abbb"


def test_training_on_a_corpus_without_any_repeated_pair_learns_nothing():
    tok = BPETokenizer(vocab_size=300)
    tok.train(["abc", "xyz"])
    assert tok.merges == [] and tok.vocab_size == 260
    assert tok.encode("abc") == [BYTE + ord("a"), BYTE + ord("b"), BYTE + ord("c")]


def test_default_target_vocab_size_is_512():
    assert BPETokenizer().target_vocab_size == 512
    assert repr(BPETokenizer()) == "BPETokenizer(vocab_size=260, target_vocab_size=512, merges=0)"


# ---------------------------------------------------------------- the chunk cache


class CountingBPE(BPETokenizer):
    """Counts how often a chunk is encoded from scratch (i.e. missed the cache)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.misses = 0

    def _encode_chunk(self, chunk):
        self.misses += 1
        return super()._encode_chunk(chunk)


def _word(i):
    """A distinct lowercase word per i (letters only: one pre-tokenization chunk with its space)."""
    letters = ""
    while True:
        i, r = divmod(i, 26)
        letters += chr(ord("a") + r)
        if i == 0:
            return letters


def test_repeated_chunks_are_encoded_once():
    tok = CountingBPE()
    ids = tok.encode("the cat the cat the")
    assert tok.misses == 3  # "the", " cat", " the"
    assert tok.encode("the cat the cat the") == ids
    assert tok.misses == 3


def test_chunk_cache_holds_at_most_50000_chunks():
    text = "".join(" " + _word(i) for i in range(50_001))  # 50,001 distinct chunks
    tok = CountingBPE()
    first = tok.encode(text)
    assert tok.misses == 50_001
    # The first 50,000 chunks stay cached; only the one that found the cache full is encoded again.
    assert tok.encode(text) == first
    assert tok.misses == 50_002
    assert tok.decode(first) == text


# ---------------------------------------------------------------- duck-typed numpy inputs


def _fake_numpy_scalar(type_name, module="numpy", value=True):
    cls = type(type_name, (), {"__module__": module, "__bool__": lambda self: value})
    return cls()


@pytest.mark.parametrize("type_name", ["bool_", "bool"])  # numpy 1.x and numpy 2.x spell it so
def test_numpy_booleans_are_accepted_as_flags(type_name):
    tok = CharTokenizer("ab")
    assert tok.encode("a", add_special_tokens=_fake_numpy_scalar(type_name)) == [BOS_ID, 4, EOS_ID]
    assert tok.encode("a", add_special_tokens=_fake_numpy_scalar(type_name, value=False)) == [4]


@pytest.mark.parametrize("type_name, module", [("bool_", "mylib"), ("int64", "numpy"), ("bool", "builtins_like")])
def test_only_numpy_booleans_pass_for_bool(type_name, module):
    tok = CharTokenizer("ab")
    with pytest.raises(TypeError, match=rf"add_special_tokens must be True or False, got {type_name}"):
        tok.encode("a", add_special_tokens=_fake_numpy_scalar(type_name, module))


class _Dtype:
    kind = "i"

    def __str__(self):
        return "int64"


class _NoTolist:
    """Has a dtype and ndim but no tolist(): not array-like, so it is read as a plain sequence."""

    dtype = _Dtype()
    ndim = 1


class _NoNdim:
    dtype = _Dtype()

    def tolist(self):
        raise AssertionError("tolist() of an object without ndim must not be used")


class _NoDtype:
    ndim = 1

    def tolist(self):
        raise AssertionError("tolist() of an object without dtype must not be used")


@pytest.mark.parametrize("data", [_NoTolist(), _NoNdim(), _NoDtype()], ids=["no-tolist", "no-ndim", "no-dtype"])
def test_objects_missing_part_of_the_array_surface_are_read_as_sequences(data):
    class Holder:
        def __init__(self, ids):
            self.data = data  # a .data that is not a whole array: ignored
            self._ids = ids

        def __iter__(self):
            return iter(self._ids)

    tok = CharTokenizer("ab")
    assert tok.decode(Holder([4, 5])) == "ab"


# ---------------------------------------------------------------- batches


@pytest.mark.parametrize("texts", [iter(["a"]), {"a"}, (t for t in ["a"])], ids=["iterator", "set", "generator"])
def test_encode_batch_refuses_iterables_that_are_not_lists_or_tuples(texts):
    with pytest.raises(TypeError, match=r"texts must be a list or tuple of str, got (list_iterator|set|generator)"):
        CharTokenizer("ab").encode_batch(texts)


def test_no_padding_keeps_empty_rows_empty():
    enc = CharTokenizer("ab").encode_batch(["ab", ""], padding=False)
    assert enc.input_ids == [[4, 5], []]
    assert enc.attention_mask == [[1, 1], []]


def test_padding_to_max_length_one_pads_an_empty_row():
    enc = CharTokenizer("ab").encode_batch(["a", ""], max_length=1)
    assert enc.input_ids == [[4], [PAD_ID]]
    assert enc.attention_mask == [[1], [0]]


def test_batch_encoding_repr_shows_both_fields():
    enc = CharTokenizer("ab").encode_batch(["ab", "a"])
    assert isinstance(enc, BatchEncoding)
    assert repr(enc) == "BatchEncoding(input_ids=[[4, 5], [4, 1]], attention_mask=[[1, 1], [1, 0]])"


# ---------------------------------------------------------------- base class, tokens, reprs


def test_subclass_without_decode_ids_says_what_to_implement():
    class EncodeOnly(Tokenizer):
        @property
        def vocab_size(self):
            return 10

        def _encode_text(self, text):
            return [4] * len(text)

    with pytest.raises(NotImplementedError, match=r"EncodeOnly must implement _decode_ids\(\) to support decode\(\)"):
        EncodeOnly().decode([4])


def test_bpe_tokens_of_the_first_byte_ids_are_bytes_not_specials():
    tok = BPETokenizer()
    assert tok.convert_ids_to_tokens([3, 4, BYTE + ord("A")]) == ["<EOS>", "\x00", "A"]


def test_char_tokenizer_repr():
    assert repr(CharTokenizer("abc")) == "CharTokenizer(vocab_size=7)"
    assert repr(CharTokenizer()) == "CharTokenizer(vocab_size=102)"
