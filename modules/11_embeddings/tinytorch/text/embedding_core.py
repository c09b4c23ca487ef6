"""Embedding: a trainable lookup table from integer token ids to dense vectors.

This file is the core of module 11 and its own Bazel target
(``//modules/11_embeddings:embedding_core``): it needs only the Tensor (01), the ``Module`` base
(03) and the embedding op of autograd (05). Positional encodings and ``EmbeddingLayer`` live in
``tinytorch.text.embeddings``, which builds on this file.

The lookup itself is autograd's embedding op (``lookup_rows``): the forward is ``weight[ids]``,
the backward ``np.add.at(grad_table, ids, grad)`` (``EmbeddingBackward``), so repeated ids
accumulate and unused rows get exactly zero. This file adds what a user-facing layer owes on
top: token ids validated once, with error messages that point at the likely cause (usually a
tokenizer whose vocabulary does not match the table). ``tinytorch.core.acceleration`` (module
18) makes the same op faster; the results are the same.
"""

from __future__ import annotations

import numpy as np

from tinytorch.core.autograd import lookup_rows
from tinytorch.core.checks import check_bool, check_positive_int
from tinytorch.core.layers import Module, make_rng
from tinytorch.core.tensor import Tensor

__all__ = ["Embedding", "validate_token_ids"]

_MAX_REPORTED = 5


def _where(ids: np.ndarray, mask: np.ndarray) -> str:
    """'id X at index (i, j)' for the first True of ``mask``, plus a count of the others."""
    if ids.ndim == 0:
        return _format_id(ids[()])
    positions = np.argwhere(mask)
    first = tuple(int(i) for i in positions[0])
    index = first[0] if len(first) == 1 else first
    extra = len(positions) - 1
    others = ""
    if extra:
        bad = ids[mask].reshape(-1)
        shown = ", ".join(_format_id(v) for v in bad[1 : _MAX_REPORTED + 1])
        more = ", ..." if extra > _MAX_REPORTED else ""
        others = f" (and {extra} more: {shown}{more})"
    return f"{_format_id(ids[first])} at index {index}{others}"


def _format_id(value) -> str:
    value = value.item() if isinstance(value, np.generic) else value
    if isinstance(value, float) and np.isfinite(value) and value.is_integer():
        return str(int(value))
    return repr(value)


def validate_token_ids(tokens, vocab_size: int) -> np.ndarray:
    """Token ids of any shape -> the same ids as an int64 numpy array, checked against the table.

    Accepts a Tensor, a numpy array, a (nested) list/tuple or a Python/numpy integer. Integer
    dtypes pass; floats are accepted only if every value is a whole number (``3.0``), since
    ``Tensor([3.0])`` is how ids often arrive after a float conversion.

    Raises:
        TypeError: non-numeric ids (strings, None, objects) or booleans.
        ValueError: ragged nested lists; NaN, infinite or fractional ids ("finite integers");
            ids outside [0, vocab_size - 1] ("out of range", naming the id and its index).
    """
    data = tokens.data if isinstance(tokens, Tensor) else tokens
    if isinstance(data, (str, bytes)) or data is None:
        raise TypeError(
            f"token ids must be integers, got {type(data).__name__} {data!r:.60}. "
            "Hint: encode text with a tokenizer first, e.g. ids = tokenizer.encode(text)."
        )
    try:
        ids = np.asarray(data)
    except ValueError:
        raise ValueError(
            f"token ids form a ragged nested list (rows of different lengths): {data!r:.80}. "
            "Hint: pad every row to the same length, e.g. tokenizer.encode_batch(texts) pads with PAD_ID."
        ) from None
    kind = ids.dtype.kind
    if kind == "b":
        raise TypeError(
            "token ids must be integers, got booleans. "
            "Hint: a boolean array is usually a mask; pass the ids it selects instead."
        )
    if kind not in "iuf":
        raise TypeError(
            f"token ids must be integers, got non-numeric data (numpy dtype {ids.dtype}): {data!r:.60}. "
            "Hint: non-numeric values cannot index a table; encode text with a tokenizer first."
        )
    if kind == "f":
        not_integer = ~np.isfinite(ids) | (ids != np.round(ids))
        if not_integer.any():
            raise ValueError(
                f"token ids must be finite integers, got {_where(ids, not_integer)}. "
                "Hint: NaN, inf and fractional values are not token ids; check how the ids were computed."
            )
    out_of_range = (ids < 0) | (ids >= vocab_size)
    if out_of_range.any():
        raise ValueError(
            f"token id {_where(ids, out_of_range)} is out of range for an embedding table of "
            f"vocab_size={vocab_size}: allowed ids are [0, {vocab_size - 1}]. Hint: the tokenizer's "
            "vocab_size must not exceed the embedding's vocab_size (a tokenizer/vocab size mismatch), "
            "and negative ids are never valid."
        )
    return ids.astype(np.int64)


def init_table(rows: int, cols: int, seed=None, rng=None) -> np.ndarray:
    """(rows, cols) float32 table drawn from U(-b, b), b = sqrt(6 / (rows + cols)) (Glorot uniform,
    like Linear in module 03); ``seed`` or ``rng`` make it reproducible."""
    gen = make_rng(seed, rng)
    bound = np.sqrt(6.0 / (rows + cols))
    return gen.uniform(-bound, bound, size=(rows, cols)).astype(np.float32)


class Embedding(Module):
    """A lookup table of ``vocab_size`` trainable vectors of size ``embed_dim``
    (like ``torch.nn.Embedding``).

    Args:
        vocab_size: number of rows; valid token ids are 0 .. vocab_size - 1.
        embed_dim: size of each vector.
        seed / rng: make the initial table reproducible (pass at most one).
        sparse: if True, ``weight.grad`` is a row-sparse gradient (autograd's RowSparseGrad:
            one row per looked-up id, like ``torch.nn.Embedding(sparse=True)``), which SGD and
            Adam apply as row updates; backward then costs O(tokens) instead of O(vocab).

    Attributes:
        weight: (vocab_size, embed_dim) float32 Tensor, requires_grad=True, initialised from
            U(-b, b) with b = sqrt(6 / (vocab_size + embed_dim)).

    Shapes:
        (seq_len,) int64 -> (seq_len, embed_dim) float32
        (batch, seq_len) int64 -> (batch, seq_len, embed_dim) float32
        In general (*) -> (*, embed_dim). Ids may be a Tensor, a numpy array or a list.

    Gradient: ``out._grad_fn`` is autograd's ``EmbeddingBackward``; backward adds each output
    row's gradient into the row of its id, so only used rows receive gradient and an id used k
    times receives the sum of its k gradients. With ``sparse=True`` it is
    ``EmbeddingSparseBackward`` and the same sums are kept as (ids, rows).
    """

    def __init__(self, vocab_size: int, embed_dim: int, *, seed=None, rng=None, sparse: bool = False):
        super().__init__()
        self.vocab_size = check_positive_int("vocab_size", vocab_size, "Embedding")
        self.embed_dim = check_positive_int("embed_dim", embed_dim, "Embedding")
        self.sparse = check_bool("sparse", sparse, "Embedding")
        self.weight = Tensor(init_table(self.vocab_size, self.embed_dim, seed, rng), requires_grad=True)

    def forward(self, tokens) -> Tensor:
        """(*) integer ids -> (*, embed_dim) float32 rows of ``weight``; see the class docstring."""
        return self.lookup(validate_token_ids(tokens, self.vocab_size))

    def lookup(self, ids: np.ndarray) -> Tensor:
        """The rows of already validated ids (int64 in [0, vocab_size)), e.g. from EmbeddingLayer."""
        return lookup_rows(self.weight, ids, self.sparse)

    def __repr__(self) -> str:
        sparse = ", sparse=True" if self.sparse else ""
        return f"Embedding(vocab_size={self.vocab_size}, embed_dim={self.embed_dim}{sparse})"
