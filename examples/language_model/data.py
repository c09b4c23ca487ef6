"""Data for the tiny language model: the corpus, the tokenizer, batches and the unigram baseline.

    load_corpus(path)                         text file -> str (CorpusError if unusable)
    split_text(text, val_fraction)            str -> (train_text, val_text), cut at whitespace
    build_tokenizer(kind, train_text, size)   a CharTokenizer or BPETokenizer fit on train_text
    batch_loader(ids, batch, seq_len, steps, seed)
                                              (n,) ids -> a DataLoader (module 08) of `steps` batches
                                              (inputs, targets): (batch, seq_len) int64 Tensors each
    unigram_cross_entropy(train, val, vocab)  the loss of "predict token frequencies" on val

The tokenizer is fit on the training text only, so the validation text is really unseen.
"""

from __future__ import annotations

import os

import numpy as np

from tinytorch.core.checks import check_positive_int
from tinytorch.core.dataloader import DataLoader, RandomSampler, TokenWindowDataset
from tinytorch.text.tokenization import BPETokenizer, CharTokenizer, Tokenizer

__all__ = [
    "DEFAULT_CORPUS",
    "CorpusError",
    "load_corpus",
    "split_text",
    "build_tokenizer",
    "batch_loader",
    "unigram_cross_entropy",
    "UNIGRAM_ALPHA",
]

# Original prose about ML frameworks, shipped next to this file (about 6 KB).
DEFAULT_CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus.txt")

# Add-alpha smoothing of the unigram baseline: a validation token never seen in training would
# otherwise have probability 0 (infinite loss).
UNIGRAM_ALPHA = 0.1


class CorpusError(ValueError):
    """The corpus cannot be used; the message names the path and says what to do."""


def load_corpus(path: str) -> str:
    """Reads a UTF-8 text file -> its text. CorpusError if it is missing, unreadable, not
    UTF-8, or has no non-whitespace characters."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise CorpusError(f"--corpus {path}: no such file. Hint: pass the path of a UTF-8 text file.") from None
    except IsADirectoryError:
        raise CorpusError(f"--corpus {path}: is a directory, not a text file. Hint: pass a file inside it.") from None
    except PermissionError:
        raise CorpusError(f"--corpus {path}: permission denied. Hint: check the file's read permission.") from None
    except UnicodeDecodeError as exc:
        raise CorpusError(
            f"--corpus {path}: not UTF-8 text (byte {exc.start} is 0x{exc.object[exc.start]:02x}). "
            "Hint: pass a plain-text file, or convert it with iconv -t utf-8."
        ) from None
    except OSError as exc:
        raise CorpusError(f"--corpus {path}: cannot be read ({exc.strerror}).") from None
    if not text.strip():
        raise CorpusError(
            f"--corpus {path}: the file is empty ({len(text)} characters, none visible). "
            "Hint: a few KB of prose trains a tiny model in a minute."
        )
    return text


def split_text(text: str, val_fraction: float = 0.1) -> tuple:
    """str -> (train_text, val_text): the last ``val_fraction`` of the characters, moved back to
    the previous whitespace so no word is cut in two, is held out for validation."""
    cut = int(len(text) * (1.0 - val_fraction))
    space = text.rfind(" ", 0, cut)
    newline = text.rfind("\n", 0, cut)
    boundary = max(space, newline)
    if boundary > 0:
        cut = boundary
    return text[:cut], text[cut:]


def build_tokenizer(kind: str, train_text: str, vocab_size: int | None = None) -> Tokenizer:
    """'char' -> CharTokenizer with the characters of ``train_text``;
    'bpe' -> BPETokenizer trained on ``train_text`` up to ``vocab_size`` ids (at least 260)."""
    if kind == "char":
        tokenizer = CharTokenizer()
        tokenizer.build_vocab(train_text)
        return tokenizer
    if kind == "bpe":
        tokenizer = BPETokenizer(vocab_size)
        tokenizer.train(train_text)
        return tokenizer
    raise ValueError(f"tokenizer must be 'bpe' or 'char', got {kind!r}.")


def batch_loader(ids, batch_size: int, seq_len: int, steps: int, seed) -> DataLoader:
    """(n,) int64 token ids -> a DataLoader whose one epoch is ``steps`` training batches.

    Each batch is (inputs, targets), two (batch_size, seq_len) int64 Tensors. Row b is a window
    of seq_len + 1 consecutive tokens starting at s_b: inputs are its first seq_len tokens,
    targets its last seq_len (the same tokens shifted one to the left), so targets[b, t] is the
    token that follows inputs[b, :t + 1]. The starts are drawn uniformly from 0 .. n - seq_len - 1
    with replacement (module 08's TokenWindowDataset with stride=1 holds every start,
    RandomSampler(replacement=True) draws steps * batch_size of them), so each step sees fresh
    random windows however short the corpus and however many steps.

    ``seed`` is anything RandomSampler's seed takes (an int, or a tuple of ints such as
    (run_seed, 1)): the starts of the whole run are then exactly
    ``np.random.default_rng(seed).integers(0, n - seq_len, size=steps * batch_size)``, the
    first batch_size of them for step 0, the next for step 1, and so on. The order is drawn
    when the loader is iterated, once per epoch; a second epoch draws new starts.
    """
    batch_size = check_positive_int("batch_size", batch_size, "batch_loader", example="batch_size=16")
    steps = check_positive_int("steps", steps, "batch_loader", example="steps=1200")
    windows = TokenWindowDataset(ids, seq_len, stride=1)
    sampler = RandomSampler(windows, replacement=True, num_samples=steps * batch_size, seed=seed)
    return DataLoader(windows, batch_size=batch_size, sampler=sampler)


def unigram_cross_entropy(train_ids: np.ndarray, val_ids: np.ndarray, vocab_size: int,
                          alpha: float = UNIGRAM_ALPHA) -> float:
    """Mean -log p(token) over ``val_ids`` under token frequencies counted on ``train_ids``:
    p(i) = (count_i + alpha) / (n_train + alpha * vocab_size), for every id i < vocab_size.
    This is the loss to beat: a model that ignores the context can do no better than this."""
    for name, ids in (("train_ids", train_ids), ("val_ids", val_ids)):
        if len(ids) and (np.min(ids) < 0 or np.max(ids) >= vocab_size):
            raise ValueError(
                f"unigram_cross_entropy: {name} must lie in [0, {vocab_size - 1}] for vocab_size={vocab_size}, "
                f"got ids from {np.min(ids)} to {np.max(ids)}. Hint: pass the tokenizer's vocab_size."
            )
    counts = np.bincount(train_ids, minlength=vocab_size).astype(np.float64)
    probs = (counts + alpha) / (counts.sum() + alpha * vocab_size)
    return float(-np.mean(np.log(probs[val_ids])))
