"""The data pipeline of the tiny language model: corpus loading, split, batches (module 08's
DataLoader), unigram baseline."""

import math
import re

import numpy as np
import pytest

from examples.language_model import data
from tinytorch.core.tensor import Tensor
from tinytorch.text.tokenization import BPETokenizer, CharTokenizer


def test_default_corpus_ships_a_few_tens_of_kb_of_text():
    # 7 KB was too little for a GPT: its LayerNorms let it memorise the text (README, tiny_lm).
    text = data.load_corpus(data.DEFAULT_CORPUS)
    assert 20_000 <= len(text.encode("utf-8")) <= 40_000
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


def test_batch_loader_targets_are_inputs_shifted_by_one():
    ids = np.arange(100, 150, dtype=np.int64)
    loader = data.batch_loader(ids, 8, 10, steps=5, seed=0)
    batches = list(loader)
    assert len(batches) == len(loader) == 5
    for inputs, targets in batches:
        assert isinstance(inputs, Tensor) and isinstance(targets, Tensor)
        assert inputs.shape == targets.shape == (8, 10) and inputs.dtype == targets.dtype == np.int64
        assert not inputs.requires_grad
        np.testing.assert_array_equal(targets.data, inputs.data + 1)  # consecutive ids: next token = id + 1
        np.testing.assert_array_equal(np.diff(inputs.data, axis=1), np.ones((8, 9)))
        assert inputs.data.min() >= 100 and targets.data.max() <= 149


def test_batch_loader_starts_are_one_generator_drawn_step_after_step():
    """The windows tiny_lm trained on before it used module 08: step k's starts are the k-th
    batch_size draws of default_rng(seed).integers(0, n - seq_len), so the losses did not change."""
    ids = np.random.default_rng(99).integers(4, 300, size=70).astype(np.int64)
    batch, seq_len, steps = 3, 6, 12
    rng = np.random.default_rng([5, 1])
    batches = list(data.batch_loader(ids, batch, seq_len, steps, seed=(5, 1)))
    assert len(batches) == steps
    for inputs, targets in batches:
        starts = rng.integers(0, len(ids) - seq_len, size=batch)
        windows = np.stack([ids[s:s + seq_len + 1] for s in starts])
        np.testing.assert_array_equal(inputs.data, windows[:, :-1])
        np.testing.assert_array_equal(targets.data, windows[:, 1:])
    # The last start that can occur is n - seq_len - 1: its window ends on the last token.
    every_start = np.concatenate([b[0].data[:, 0] for b in data.batch_loader(np.arange(8), 50, 3, 40, seed=0)])
    assert set(every_start.tolist()) == {0, 1, 2, 3, 4}


def test_batch_loader_is_deterministic_per_seed():
    ids = np.arange(200, dtype=np.int64)

    def starts(loader):
        return [inputs.data[:, 0].tolist() for inputs, _ in loader]

    a = data.batch_loader(ids, 4, 8, 6, seed=(3, 1))
    b = data.batch_loader(ids, 4, 8, 6, seed=(3, 1))
    first = starts(a)
    assert starts(b) == first
    assert starts(data.batch_loader(ids, 4, 8, 6, seed=(4, 1))) != first
    assert starts(a) != first  # a second epoch continues the generator: new windows


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
    with pytest.raises(ValueError, match=r"at least seq_len \+ 1 = 6 tokens .*but the corpus has 5 tokens") as info:
        data.batch_loader(np.arange(5), 2, 5, 10, seed=0)
    assert "smaller seq_len (at most 4)" in str(info.value)
    with pytest.raises(ValueError, match=r"batch_loader steps must be a positive int \(>= 1\), got 0"):
        data.batch_loader(np.arange(50), 2, 5, 0, seed=0)
    with pytest.raises(TypeError, match=r"batch_loader batch_size must be a positive int, got float 2.0"):
        data.batch_loader(np.arange(50), 2.0, 5, 10, seed=0)
    with pytest.raises(ValueError, match=r"seed must be .* got -1"):
        data.batch_loader(np.arange(50), 2, 5, 10, seed=-1)
    with pytest.raises(TypeError, match=r"token_ids must be integers, got dtype float64"):
        data.batch_loader(np.linspace(0, 1, 50), 2, 5, 10, seed=0)
    with pytest.raises(ValueError, match=r"val_ids must lie in \[0, 9\] for vocab_size=10, got ids from 0 to 12"):
        data.unigram_cross_entropy(np.array([1, 2]), np.array([0, 12]), 10)
