"""The data pipeline of the tiny language model: corpus loading, split, batches, unigram baseline."""

import math
import re

import numpy as np
import pytest

from examples.language_model import data
from tinytorch.text.tokenization import BPETokenizer, CharTokenizer


def test_default_corpus_ships_a_few_kb_of_text():
    text = data.load_corpus(data.DEFAULT_CORPUS)
    assert 4000 <= len(text.encode("utf-8")) <= 8192
    assert text.startswith("How a machine learning framework works")


def test_split_text_holds_out_the_tail_at_a_word_boundary():
    text = "alpha beta gamma delta epsilon zeta eta theta iota kappa"
    train, val = data.split_text(text, 0.25)
    assert train + val == text
    # 0.75 * 56 characters = 42 falls inside "theta": the cut moves back to the space before it.
    assert val == " theta iota kappa"
    assert len(val) >= len(text) * 0.25


def test_build_tokenizer_fits_on_the_training_text_only():
    char = data.build_tokenizer("char", "abca")
    assert isinstance(char, CharTokenizer) and char.vocab_size == 4 + 3
    bpe = data.build_tokenizer("bpe", "the cat the hat the mat", 262)
    assert isinstance(bpe, BPETokenizer) and bpe.vocab_size == 262
    with pytest.raises(ValueError, match="'bpe' or 'char', got 'word'"):
        data.build_tokenizer("word", "text")


def test_sample_batch_targets_are_inputs_shifted_by_one():
    ids = np.arange(100, 150, dtype=np.int64)
    inputs, targets = data.sample_batch(ids, 8, 10, np.random.default_rng(0))
    assert inputs.shape == targets.shape == (8, 10) and inputs.dtype == np.int64
    np.testing.assert_array_equal(targets, inputs + 1)  # consecutive ids: next token = id + 1
    np.testing.assert_array_equal(np.diff(inputs, axis=1), np.ones((8, 9)))
    assert inputs.min() >= 100 and targets.max() <= 149


def test_unigram_cross_entropy_matches_the_formula():
    train = np.array([4, 4, 4, 5], dtype=np.int64)
    val = np.array([4, 5, 6], dtype=np.int64)
    # vocab 7, alpha 0.1: p = (count + 0.1) / (4 + 0.7)
    p = {4: 3.1 / 4.7, 5: 1.1 / 4.7, 6: 0.1 / 4.7}
    expected = -(math.log(p[4]) + math.log(p[5]) + math.log(p[6])) / 3
    assert data.unigram_cross_entropy(train, val, 7) == pytest.approx(expected, rel=1e-12)
    # Without smoothing (alpha -> 0) an unseen token would cost infinitely much.
    assert data.unigram_cross_entropy(train, np.array([6]), 7, alpha=1e-9) > 20


def test_load_corpus_errors_name_the_path(tmp_path):
    missing = tmp_path / "nope.txt"
    with pytest.raises(data.CorpusError, match=re.escape(f"--corpus {missing}: no such file")):
        data.load_corpus(str(missing))
    blank = tmp_path / "blank.txt"
    blank.write_text("  \n\n", encoding="utf-8")
    with pytest.raises(data.CorpusError, match=re.escape(f"--corpus {blank}: the file is empty (4 characters")):
        data.load_corpus(str(blank))
    binary = tmp_path / "data.bin"
    binary.write_bytes(b"ok\xff\xfe")
    with pytest.raises(data.CorpusError, match=r"not UTF-8 text \(byte 2 is 0xff\)"):
        data.load_corpus(str(binary))
    with pytest.raises(data.CorpusError, match=re.escape(f"--corpus {tmp_path}: is a directory")):
        data.load_corpus(str(tmp_path))


def test_helpers_refuse_inputs_they_cannot_use():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"at least seq_len \+ 1 = 6 token ids for one window, got 5"):
        data.sample_batch(np.arange(5), 2, 5, rng)
    with pytest.raises(ValueError, match=r"val_ids must lie in \[0, 9\] for vocab_size=10, got ids from 0 to 12"):
        data.unigram_cross_entropy(np.array([1, 2]), np.array([0, 12]), 10)
