"""CharTokenizer: exact ids, special tokens, unknowns, round trips, errors."""

import string

import pytest

import tinytorch.core.tokenization as core_tok
import tinytorch.text.tokenization as text_tok
from tinytorch.text.tokenization import (
    BOS_ID,
    DEFAULT_CHAR_VOCAB,
    EOS_ID,
    PAD_ID,
    SPECIAL_TOKENS,
    UNK_ID,
    CharTokenizer,
)


def test_special_token_ids_are_fixed():
    assert (UNK_ID, PAD_ID, BOS_ID, EOS_ID) == (0, 1, 2, 3)
    assert SPECIAL_TOKENS == ("<UNK>", "<PAD>", "<BOS>", "<EOS>")
    tok = CharTokenizer("xyz")
    assert tok.vocab[:4] == ["<UNK>", "<PAD>", "<BOS>", "<EOS>"]
    assert [tok.token_to_id[t] for t in SPECIAL_TOKENS] == [0, 1, 2, 3]


def test_tiny_vocab_exact_ids():
    tok = CharTokenizer(["h", "e", "l", "o"])
    assert tok.vocab == ["<UNK>", "<PAD>", "<BOS>", "<EOS>", "h", "e", "l", "o"]
    assert tok.vocab_size == 8
    assert tok.encode("hello") == [4, 5, 6, 6, 7]
    assert tok.encode("hello", add_special_tokens=True) == [2, 4, 5, 6, 6, 7, 3]
    assert tok.decode([4, 5, 6, 6, 7]) == "hello"


def test_vocab_duplicates_and_specials_are_skipped():
    tok = CharTokenizer(["b", "a", "b", "<PAD>", "a", "c"])
    assert tok.vocab == ["<UNK>", "<PAD>", "<BOS>", "<EOS>", "b", "a", "c"]
    assert tok.token_to_id == {"<UNK>": 0, "<PAD>": 1, "<BOS>": 2, "<EOS>": 3, "b": 4, "a": 5, "c": 6}
    assert tok.char_to_id == tok.token_to_id


def test_unknown_character_maps_to_unk_id():
    tok = CharTokenizer("ab")
    assert tok.encode("abzа") == [4, 5, 0, 0]  # 'z' and Cyrillic 'а' are unknown
    # UNK is a special token: dropped by default, shown on request.
    assert tok.decode(tok.encode("azb")) == "ab"
    assert tok.decode(tok.encode("azb"), skip_special_tokens=False) == "a<UNK>b"


def test_special_token_text_is_not_parsed_as_special():
    tok = CharTokenizer()
    ids = tok.encode("<PAD>")
    assert PAD_ID not in ids
    assert ids == [ord(c) - 25 for c in "<PAD>"]
    assert tok.decode(ids) == "<PAD>"


def test_decode_special_tokens_skipped_or_shown():
    tok = CharTokenizer("hi")
    ids = [BOS_ID, 4, 5, EOS_ID, PAD_ID, PAD_ID]
    assert tok.decode(ids) == "hi"
    assert tok.decode(ids, skip_special_tokens=False) == "<BOS>hi<EOS><PAD><PAD>"
    assert tok.convert_ids_to_tokens(ids) == ["<BOS>", "h", "i", "<EOS>", "<PAD>", "<PAD>"]


def test_default_vocab_is_printable_ascii_without_vt_ff():
    tok = CharTokenizer()
    expected = sorted(set(string.printable) - {"\x0b", "\x0c"})
    assert list(DEFAULT_CHAR_VOCAB) == expected
    assert tok.vocab == list(SPECIAL_TOKENS) + expected
    assert tok.vocab_size == 102 == len(tok)
    assert tok.encode("\t\n\r") == [4, 5, 6]
    assert tok.encode(" ~") == [7, 101]
    assert tok.encode("\x0b\x0c") == [UNK_ID, UNK_ID]


def test_default_tokenizer_audit_usage():
    tokenizer = CharTokenizer()
    ids = tokenizer.encode("Hello, world!")
    # ' '..'~' are contiguous after the 3 whitespace controls: id = ord(c) - 25.
    assert ids == [ord(c) - 25 for c in "Hello, world!"]
    assert ids == [47, 76, 83, 83, 86, 19, 7, 94, 86, 89, 83, 75, 8]
    assert all(0 <= i < len(tokenizer.vocab) for i in ids)
    assert [tokenizer.vocab[i] for i in ids] == list("Hello, world!")
    assert tokenizer.decode(ids) == "Hello, world!"


def test_build_vocab_sorted_after_specials():
    tok = CharTokenizer()
    tok.build_vocab(["hello", "world"])
    assert tok.vocab == ["<UNK>", "<PAD>", "<BOS>", "<EOS>", "d", "e", "h", "l", "o", "r", "w"]
    assert tok.encode("world") == [10, 8, 9, 7, 4]
    assert tok.encode("help") == [6, 5, 7, 0]


def test_build_vocab_accepts_single_string_and_is_deterministic():
    a = CharTokenizer()
    a.build_vocab("banana")
    b = CharTokenizer()
    b.build_vocab(iter(["nab", "", "ana"]))
    assert a.vocab == b.vocab == ["<UNK>", "<PAD>", "<BOS>", "<EOS>", "a", "b", "n"]


def test_round_trip_known_symbols():
    text = "The quick brown fox\tjumps over 13 lazy dogs!\r\n{[(<>)]} ~`'\"\\|"
    tok = CharTokenizer()
    assert tok.decode(tok.encode(text)) == text


def test_round_trip_unicode_after_build_vocab():
    texts = ["naïve café", "日本語のテキスト", "emoji 🙂👍🏽", "e\u0301 combining", "مرحبا"]
    tok = CharTokenizer()
    tok.build_vocab(texts)
    for text in texts:
        ids = tok.encode(text)
        assert UNK_ID not in ids
        assert len(ids) == len(text)
        assert tok.decode(ids) == text


def test_vocab_property_is_a_copy():
    tok = CharTokenizer("ab")
    tok.vocab.append("zzz")
    assert tok.vocab_size == 6
    assert len(tok.vocab) == 6


def test_numpy_style_integers_accepted_by_decode():
    class FakeInt(int):
        pass

    tok = CharTokenizer("ab")
    assert tok.decode([FakeInt(4), FakeInt(5)]) == "ab"
    assert tok.decode((4, 5)) == "ab"


class FakeDtype(str):
    """str(dtype) is its name; kind is numpy's one-letter code."""

    @property
    def kind(self):
        return {"int64": "i", "uint8": "u", "float32": "f"}[self]


class FakeArray:
    """The numpy-array surface decode() relies on (this test target does not depend on numpy)."""

    def __init__(self, values, dtype="int64"):
        self._values, self.dtype = values, FakeDtype(dtype)
        self.shape = () if not isinstance(values, list) else (len(values),) + (
            (len(values[0]),) if values and isinstance(values[0], list) else ()
        )
        self.ndim = len(self.shape)

    def tolist(self):
        return self._values

    def __array__(self):
        return self


class FakeTensor:
    """Like module 01's Tensor: the ids live in .data and iterating gives 0-d tensors, not ints."""

    def __init__(self, values, dtype="int64"):
        self.data = FakeArray(values, dtype)

    def __iter__(self):
        return (FakeTensor(v) for v in self.data.tolist())


def test_decode_accepts_integer_arrays_and_tensors():
    tok = CharTokenizer()
    assert tok.decode(FakeTensor([40, 41])) == "AB"  # Tensor-like: ids in .data
    assert tok.decode(FakeArray([40, 41], dtype="uint8")) == "AB"  # array-like: __array__
    assert tok.convert_ids_to_tokens(FakeTensor([2, 40])) == ["<BOS>", "A"]
    assert tok.decode(FakeTensor([])) == ""


def test_decode_rejects_float_scalar_and_2d_arrays():
    tok = CharTokenizer()
    with pytest.raises(TypeError, match=r"ids must hold integer token ids, got FakeTensor of dtype float32.*astype"):
        tok.decode(FakeTensor([40.0, 41.0], dtype="float32"))
    with pytest.raises(TypeError, match=r"got a single id \(FakeArray 40\).*decode\(\[5\]\)"):
        tok.decode(FakeArray(40))
    with pytest.raises(ValueError, match=r"ids must be 1-D \(seq_len,\), got FakeTensor of shape \(2, 2\).*one row at a time"):
        tok.decode(FakeTensor([[40, 41], [42, 43]]))
    with pytest.raises(ValueError, match=r"token id 500 at position 1 is out of range"):
        tok.decode(FakeTensor([40, 500]))


# ---------------------------------------------------------------- errors


def test_encode_non_str_raises_type_error():
    tok = CharTokenizer()
    with pytest.raises(TypeError, match=r"text must be a str, got int"):
        tok.encode(42)
    with pytest.raises(TypeError, match=r"got bytes.*decode bytes first"):
        tok.encode(b"hi")
    with pytest.raises(TypeError, match=r"got list"):
        tok.encode(["a", "b"])


def test_decode_out_of_range_raises_value_error():
    tok = CharTokenizer("ab")  # vocab_size 6
    with pytest.raises(ValueError, match=r"token id 6 at position 1 is out of range \[0, 6\)"):
        tok.decode([4, 6])
    with pytest.raises(ValueError, match=r"token id -1 .*out of range"):
        tok.decode([-1])


def test_decode_non_int_ids_raise_type_error():
    tok = CharTokenizer("ab")
    with pytest.raises(TypeError, match=r"ids\[1\] must be an int, got float \(4\.0\)"):
        tok.decode([4, 4.0])
    with pytest.raises(TypeError, match=r"ids\[0\] must be an int, got str"):
        tok.decode(["a"])
    with pytest.raises(TypeError, match=r"ids\[0\] must be an int, got bool"):
        tok.decode([True])
    with pytest.raises(TypeError, match=r"ids must be a sequence of ints, got int.*decode\(\[5\]\)"):
        tok.decode(5)
    with pytest.raises(TypeError, match=r"ids must be a sequence of ints, got str"):
        tok.decode("45")


def test_empty_corpus_raises_value_error():
    tok = CharTokenizer()
    with pytest.raises(ValueError, match=r"corpus is empty \(1 text\(s\), 0 characters\)"):
        tok.build_vocab("")
    with pytest.raises(ValueError, match=r"corpus is empty \(0 text\(s\)"):
        tok.build_vocab([])
    with pytest.raises(ValueError, match=r"corpus is empty \(2 text\(s\)"):
        tok.build_vocab(["", ""])


def test_bad_corpus_types_raise_type_error():
    tok = CharTokenizer()
    with pytest.raises(TypeError, match=r"corpus\[1\] must be a str, got int"):
        tok.build_vocab(["ok", 3])
    with pytest.raises(TypeError, match=r"corpus must be a str or an iterable of str, got int"):
        tok.build_vocab(7)
    with pytest.raises(TypeError, match=r"corpus must be a str or an iterable of str, got bytes"):
        tok.build_vocab(b"abc")


def test_bad_vocab_symbols_raise():
    with pytest.raises(ValueError, match=r"vocab\[1\]='ab' has length 2.*single characters"):
        CharTokenizer(["a", "ab"])
    with pytest.raises(TypeError, match=r"vocab\[0\] must be a str, got int"):
        CharTokenizer([1])


def test_core_path_reexports_the_same_objects():
    assert core_tok.__all__ == text_tok.__all__
    for name in text_tok.__all__:
        assert getattr(core_tok, name) is getattr(text_tok, name), name


def test_non_iterable_vocab_raises_type_error():
    with pytest.raises(TypeError, match=r"vocab must be an iterable of single-character str, got int \(5\).*vocab=None"):
        CharTokenizer(vocab=5)
    with pytest.raises(TypeError, match=r"got bytes"):
        CharTokenizer(vocab=b"abc")


@pytest.mark.parametrize("vocab", ["", [], ["<PAD>", "<UNK>"]])
def test_vocab_without_characters_raises_value_error(vocab):
    with pytest.raises(ValueError, match=r"has no characters besides the special tokens.*<UNK>.*at least one character"):
        CharTokenizer(vocab=vocab)


@pytest.mark.parametrize("flag", ["no", 1, None])
def test_bool_flags_must_be_real_bools(flag):
    tok = CharTokenizer("ab")
    with pytest.raises(TypeError, match=rf"add_special_tokens must be True or False, got {type(flag).__name__} \({flag!r}\)"):
        tok.encode("ab", add_special_tokens=flag)
    with pytest.raises(TypeError, match=r"skip_special_tokens must be True or False"):
        tok.decode([4], skip_special_tokens=flag)
    assert tok.decode([BOS_ID, 4], skip_special_tokens=False) == "<BOS>a"
