"""encode_batch: padding, truncation, attention masks and their errors,
shared by every Tokenizer subclass through the base class."""

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


@pytest.fixture
def tok():
    return CharTokenizer("abc")  # a=4, b=5, c=6


def test_pads_to_longest_with_mask(tok):
    enc = tok.encode_batch(["ab", "abc", "a"])
    assert enc.input_ids == [[4, 5, PAD_ID], [4, 5, 6], [4, PAD_ID, PAD_ID]]
    assert enc.attention_mask == [[1, 1, 0], [1, 1, 1], [1, 0, 0]]


def test_dict_style_access(tok):
    enc = tok.encode_batch(["ab", "c"])
    assert isinstance(enc, BatchEncoding)
    assert enc["input_ids"] == [[4, 5], [6, PAD_ID]]
    assert enc["attention_mask"] == [[1, 1], [1, 0]]
    assert sorted(enc.keys()) == ["attention_mask", "input_ids"]
    assert dict(enc) == {"input_ids": [[4, 5], [6, 1]], "attention_mask": [[1, 1], [1, 0]]}


def test_padding_true_with_max_length_pads_to_max_length(tok):
    enc = tok.encode_batch(["ab", "c"], max_length=4)
    assert enc.input_ids == [[4, 5, 1, 1], [6, 1, 1, 1]]
    assert enc.attention_mask == [[1, 1, 0, 0], [1, 0, 0, 0]]


def test_padding_modes(tok):
    longest = tok.encode_batch(["ab", "c"], max_length=4, padding="longest")
    assert longest.input_ids == [[4, 5], [6, 1]]
    assert longest.attention_mask == [[1, 1], [1, 0]]

    fixed = tok.encode_batch(["ab", "c"], max_length=3, padding="max_length")
    assert fixed.input_ids == [[4, 5, 1], [6, 1, 1]]
    assert fixed.attention_mask == [[1, 1, 0], [1, 0, 0]]

    ragged = tok.encode_batch(["ab", "c"], padding=False)
    assert ragged.input_ids == [[4, 5], [6]]
    assert ragged.attention_mask == [[1, 1], [1]]
    assert tok.encode_batch(["ab", "c"], padding="do_not_pad").input_ids == [[4, 5], [6]]


def test_add_special_tokens_are_unmasked(tok):
    enc = tok.encode_batch(["ab", ""], add_special_tokens=True)
    assert enc.input_ids == [[BOS_ID, 4, 5, EOS_ID], [BOS_ID, EOS_ID, PAD_ID, PAD_ID]]
    assert enc.attention_mask == [[1, 1, 1, 1], [1, 1, 0, 0]]


def test_truncation_cuts_to_max_length(tok):
    enc = tok.encode_batch(["abcabc", "ab"], max_length=4, truncation=True)
    assert enc.input_ids == [[4, 5, 6, 4], [4, 5, 1, 1]]
    assert enc.attention_mask == [[1, 1, 1, 1], [1, 1, 0, 0]]


def test_truncation_keeps_bos_and_eos(tok):
    enc = tok.encode_batch(["abcabc"], max_length=4, truncation=True, add_special_tokens=True)
    assert enc.input_ids == [[BOS_ID, 4, 5, EOS_ID]]
    enc = tok.encode_batch(["abc"], max_length=2, truncation=True, add_special_tokens=True)
    assert enc.input_ids == [[BOS_ID, EOS_ID]]


def test_exact_max_length_needs_no_truncation(tok):
    enc = tok.encode_batch(["abc"], max_length=3)
    assert enc.input_ids == [[4, 5, 6]]
    assert enc.attention_mask == [[1, 1, 1]]


def test_unknown_chars_are_real_tokens_in_mask(tok):
    enc = tok.encode_batch(["xz", "a"])
    assert enc.input_ids == [[0, 0], [4, 1]]
    assert enc.attention_mask == [[1, 1], [1, 0]]


def test_empty_batch_and_empty_strings(tok):
    enc = tok.encode_batch([])
    assert enc.input_ids == [] and enc.attention_mask == []
    enc = tok.encode_batch(["", ""])
    assert enc.input_ids == [[], []]
    assert enc.attention_mask == [[], []]


def test_tuple_batch_accepted(tok):
    assert tok.encode_batch(("a", "bc")).input_ids == [[4, 1], [5, 6]]


def test_bpe_batch_matches_single_encodes():
    bpe = BPETokenizer(1000)
    bpe.train("aaabdaaabac")
    texts = ["aaab", "d", "aaabdaaabac"]
    enc = bpe.encode_batch(texts)
    singles = [bpe.encode(t) for t in texts]
    assert singles == [[262], [104], [262, 104, 262, 101, 103]]
    width = 5
    assert enc.input_ids == [s + [PAD_ID] * (width - len(s)) for s in singles]
    assert enc.attention_mask == [[1, 0, 0, 0, 0], [1, 0, 0, 0, 0], [1, 1, 1, 1, 1]]
    for row, mask, text in zip(enc.input_ids, enc.attention_mask, texts):
        assert bpe.decode([i for i, m in zip(row, mask) if m]) == text
        assert bpe.decode(row) == text  # padding is skipped by default


# ------------------------------------------------------------ errors


def test_too_long_without_truncation_raises(tok):
    with pytest.raises(ValueError, match=r"texts\[1\] encodes to 5 tokens, longer than max_length=4.*truncation=True"):
        tok.encode_batch(["ab", "abcab"], max_length=4)
    with pytest.raises(ValueError, match=r"texts\[0\] encodes to 4 tokens, longer than max_length=3"):
        tok.encode_batch(["ab"], max_length=3, add_special_tokens=True)


def test_bad_max_length_raises(tok):
    with pytest.raises(ValueError, match=r"max_length=0 is out of range: must be >= 1"):
        tok.encode_batch(["a"], max_length=0)
    with pytest.raises(ValueError, match=r"max_length=1 is out of range: must be >= 2"):
        tok.encode_batch(["a"], max_length=1, add_special_tokens=True)
    with pytest.raises(TypeError, match=r"max_length must be an int, got float \(4\.0\)"):
        tok.encode_batch(["a"], max_length=4.0)


def test_truncation_without_max_length_raises(tok):
    with pytest.raises(ValueError, match=r"truncation=True needs max_length; hint: pass max_length=N"):
        tok.encode_batch(["abcabc", "a"], truncation=True)
    with pytest.raises(ValueError, match=r"truncation=True needs max_length"):
        tok.encode_batch(["abc"], truncation=True, padding=False)


@pytest.mark.parametrize("name", ["truncation", "add_special_tokens"])
@pytest.mark.parametrize("flag", ["no", 0, None])
def test_batch_bool_flags_must_be_real_bools(tok, name, flag):
    with pytest.raises(TypeError, match=rf"{name} must be True or False, got {type(flag).__name__} \({flag!r}\)"):
        tok.encode_batch(["ab"], max_length=4, **{name: flag})


def test_bad_padding_raises(tok):
    with pytest.raises(ValueError, match=r"padding='max_length' needs max_length"):
        tok.encode_batch(["a"], padding="max_length")
    with pytest.raises(ValueError, match=r"padding='left' is not supported"):
        tok.encode_batch(["a"], padding="left")


def test_bad_texts_raise(tok):
    with pytest.raises(TypeError, match=r"texts must be a list or tuple of str, got str.*encode_batch\(\[text\]\)"):
        tok.encode_batch("abc")
    with pytest.raises(TypeError, match=r"texts\[1\] must be a str, got int"):
        tok.encode_batch(["a", 5])


def test_base_tokenizer_is_abstract():
    base = Tokenizer()
    with pytest.raises(NotImplementedError, match=r"Tokenizer must implement _encode_text"):
        base.encode("hi")
    with pytest.raises(NotImplementedError, match=r"Tokenizer must implement the vocab_size property"):
        base.decode([0])


def test_minimal_subclass_inherits_encode_batch():
    class Upper(Tokenizer):
        """ids: specials, then 'A'..'Z' -> 4..29."""

        @property
        def vocab_size(self):
            return 30

        def _encode_text(self, text):
            return [ord(c) - ord("A") + 4 for c in text.upper()]

        def _decode_ids(self, ids, skip_special_tokens):
            return "".join(chr(i - 4 + ord("A")) for i in ids if i >= 4)

    t = Upper()
    assert t.encode("ab", add_special_tokens=True) == [BOS_ID, 4, 5, EOS_ID]
    assert t.decode([4, 5, PAD_ID]) == "AB"
    enc = t.encode_batch(["abc", "z"])
    assert enc.input_ids == [[4, 5, 6], [29, 1, 1]]
    assert enc.attention_mask == [[1, 1, 1], [1, 0, 0]]
    with pytest.raises(ValueError, match=r"token id 30 .*out of range \[0, 30\)"):
        t.decode([30])
