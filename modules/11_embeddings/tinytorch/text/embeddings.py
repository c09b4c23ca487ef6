"""Embeddings: token lookup plus positional information, the input stage of a transformer.

    Embedding                    token id -> trainable vector (from tinytorch.text.embedding_core)
    PositionalEncoding           learned (trainable) table of one vector per position
    create_sinusoidal_embeddings the fixed sin/cos table of "Attention Is All You Need"
    SinusoidalPositionalEncoding layer adding that fixed table (no parameters)
    EmbeddingLayer               token embedding (optionally * sqrt(embed_dim)) + positional encoding

Positional encodings add row ``p`` of their table to the vector at position ``p``, so the same
token at two positions yields two different vectors: attention (module 12) is otherwise blind to
order. Output shapes are what module 12 expects: (batch, seq_len, embed_dim) float32.
"""

from __future__ import annotations

import math

import numpy as np

from tinytorch.core.checks import check_bool, check_positive_int
from tinytorch.core.layers import Module, make_rng
from tinytorch.core.tensor import Tensor
from tinytorch.text.embedding_core import Embedding, init_table, validate_token_ids

__all__ = [
    "Embedding",
    "PositionalEncoding",
    "SinusoidalPositionalEncoding",
    "create_sinusoidal_embeddings",
    "EmbeddingLayer",
    "POS_ENCODINGS",
]

# The values EmbeddingLayer's pos_encoding argument accepts.
POS_ENCODINGS = ("learned", "sinusoidal", None)


def create_sinusoidal_embeddings(max_seq_len: int, embed_dim: int) -> Tensor:
    """The fixed sinusoidal position table (Vaswani et al., 2017).

    PE[pos, 2i]   = sin(pos / 10000^(2i / embed_dim))
    PE[pos, 2i+1] = cos(pos / 10000^(2i / embed_dim))

    () -> (max_seq_len, embed_dim) float32 Tensor, requires_grad=False. An odd embed_dim is
    allowed: its last column is a sine. Computed in float64, then rounded to float32.
    """
    max_seq_len = check_positive_int("max_seq_len", max_seq_len, "create_sinusoidal_embeddings")
    embed_dim = check_positive_int("embed_dim", embed_dim, "create_sinusoidal_embeddings")
    pos = np.arange(max_seq_len, dtype=np.float64)[:, None]
    col = np.arange(embed_dim)
    # Columns 2i and 2i+1 share the frequency of their even member 2i.
    even = (col - col % 2).astype(np.float64)
    angle = pos / np.power(10000.0, even / embed_dim)
    table = np.where(col % 2 == 0, np.sin(angle), np.cos(angle))
    return Tensor(table.astype(np.float32))


class _PositionalBase(Module):
    """Shared input checks of the positional encodings; subclasses provide ``_table()``."""

    def __init__(self, max_seq_len: int, embed_dim: int):
        super().__init__()
        owner = type(self).__name__
        self.max_seq_len = check_positive_int("max_seq_len", max_seq_len, owner)
        self.embed_dim = check_positive_int("embed_dim", embed_dim, owner)

    def _table(self) -> Tensor:
        raise NotImplementedError

    def _check_input(self, x) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x)
        name, d = type(self).__name__, self.embed_dim
        expected = f"(batch, seq_len, {d}) or (seq_len, {d})"
        if x.ndim not in (2, 3):
            raise ValueError(
                f"{name} expects input of shape {expected}, got shape {x.shape}. "
                "Hint: pass embedded tokens (the output of Embedding), not token ids."
            )
        if x.dtype.kind != "f":
            raise TypeError(
                f"{name} expects float embeddings of shape {expected}, got dtype {x.dtype}. "
                "Hint: embed token ids with Embedding first; positions are added to vectors, not ids."
            )
        if x.shape[-1] != d:
            raise ValueError(
                f"{name} was built with embed_dim={d} but the input's last dim is {x.shape[-1]} "
                f"(shape {x.shape}); expected {expected}. "
                "Hint: use the same embed_dim for the token embedding and the positional encoding."
            )
        seq_len = x.shape[-2]
        if seq_len > self.max_seq_len:
            raise ValueError(
                f"sequence length {seq_len} exceeds maximum {self.max_seq_len} (max_seq_len of {name}). "
                "Hint: truncate the input (e.g. tokenizer.encode_batch(texts, max_length=..., truncation=True)) "
                f"or build the encoding with max_seq_len >= {seq_len}."
            )
        return x

    def forward(self, x) -> Tensor:
        """(batch, seq_len, embed_dim) -> same shape, with table row p added at position p.
        Also (seq_len, embed_dim) -> (seq_len, embed_dim)."""
        return self.add_to(self._check_input(x))

    def add_to(self, x: Tensor) -> Tensor:
        """x + the table's first seq_len rows, for an x already checked (e.g. by EmbeddingLayer)."""
        return x + self._table()[: x.shape[-2]]


class PositionalEncoding(_PositionalBase):
    """Learned positional encoding: one trainable vector per position (BERT/GPT-2 style).

    Args:
        max_seq_len: number of positions; longer inputs raise ValueError ("exceeds maximum").
        embed_dim: vector size; must equal the input's last dim.
        seed / rng: make the initial table reproducible.

    Attributes:
        position_embeddings: (max_seq_len, embed_dim) float32 Tensor, requires_grad=True.

    Shapes:
        (batch, seq_len, embed_dim) float32 -> (batch, seq_len, embed_dim) float32
        (seq_len, embed_dim) float32 -> (seq_len, embed_dim) float32
        out[..., p, :] = x[..., p, :] + position_embeddings[p], for p in 0 .. seq_len - 1.
    """

    def __init__(self, max_seq_len: int, embed_dim: int, *, seed=None, rng=None):
        super().__init__(max_seq_len, embed_dim)
        self.position_embeddings = Tensor(
            init_table(self.max_seq_len, self.embed_dim, seed, rng), requires_grad=True
        )

    def _table(self) -> Tensor:
        return self.position_embeddings

    def __repr__(self) -> str:
        return f"PositionalEncoding(max_seq_len={self.max_seq_len}, embed_dim={self.embed_dim})"


class SinusoidalPositionalEncoding(_PositionalBase):
    """Fixed sinusoidal positional encoding (no parameters); see ``create_sinusoidal_embeddings``.

    Attributes:
        encodings: (max_seq_len, embed_dim) float32 Tensor, requires_grad=False.

    Shapes: as ``PositionalEncoding``; out[..., p, :] = x[..., p, :] + encodings[p].
    """

    def __init__(self, max_seq_len: int, embed_dim: int):
        super().__init__(max_seq_len, embed_dim)
        self.encodings = create_sinusoidal_embeddings(self.max_seq_len, self.embed_dim)

    def _table(self) -> Tensor:
        return self.encodings

    def __repr__(self) -> str:
        return f"SinusoidalPositionalEncoding(max_seq_len={self.max_seq_len}, embed_dim={self.embed_dim})"


class EmbeddingLayer(Module):
    """Token embedding plus positional encoding: the complete input stage of a transformer.

    Args:
        vocab_size: number of token ids (0 .. vocab_size - 1).
        embed_dim: vector size.
        max_seq_len: longest accepted sequence (default 512), enforced for every pos_encoding.
        pos_encoding: 'learned' (PositionalEncoding, trainable), 'sinusoidal'
            (SinusoidalPositionalEncoding, fixed) or None (no positional information).
        scale_embeddings: multiply token embeddings by sqrt(embed_dim) before adding positions,
            as in "Attention Is All You Need".
        seed / rng: make the initial tables reproducible.

    Attributes:
        token_embedding: Embedding(vocab_size, embed_dim).
        pos_encoding: the positional layer, or None.
        embed_scale: sqrt(embed_dim) if scale_embeddings else 1.0.

    Shapes:
        (batch, seq_len) int64 -> (batch, seq_len, embed_dim) float32
        (seq_len,) int64 -> (seq_len, embed_dim) float32
        out = token_embedding(ids) * embed_scale + table[:seq_len]

    ``parameters()``: [token_embedding.weight, pos_encoding.position_embeddings] with 'learned',
    [token_embedding.weight] with 'sinusoidal' or None.
    """

    def __init__(
        self,
        vocab_size: int,
        embed_dim: int,
        max_seq_len: int = 512,
        pos_encoding="learned",
        scale_embeddings: bool = False,
        *,
        seed=None,
        rng=None,
    ):
        super().__init__()
        self.vocab_size = check_positive_int("vocab_size", vocab_size, "EmbeddingLayer")
        self.embed_dim = check_positive_int("embed_dim", embed_dim, "EmbeddingLayer")
        self.max_seq_len = check_positive_int("max_seq_len", max_seq_len, "EmbeddingLayer")
        if not (pos_encoding is None or (isinstance(pos_encoding, str) and pos_encoding in POS_ENCODINGS)):
            raise ValueError(
                f"EmbeddingLayer pos_encoding must be one of 'learned', 'sinusoidal' or None, got {pos_encoding!r}. "
                "Hint: 'learned' trains one vector per position, 'sinusoidal' uses the fixed sin/cos table, "
                "None adds no positional information."
            )
        scale_embeddings = check_bool("scale_embeddings", scale_embeddings, "EmbeddingLayer")
        gen = make_rng(seed, rng)

        self.pos_encoding_type = pos_encoding
        self.scale_embeddings = bool(scale_embeddings)
        self.embed_scale = math.sqrt(self.embed_dim) if self.scale_embeddings else 1.0
        self.token_embedding = Embedding(self.vocab_size, self.embed_dim, rng=gen)
        if pos_encoding == "learned":
            self.pos_encoding = PositionalEncoding(self.max_seq_len, self.embed_dim, rng=gen)
        elif pos_encoding == "sinusoidal":
            self.pos_encoding = SinusoidalPositionalEncoding(self.max_seq_len, self.embed_dim)
        else:
            self.pos_encoding = None

    def forward(self, tokens) -> Tensor:
        """(batch, seq_len) or (seq_len,) integer ids -> (batch, seq_len, embed_dim) or
        (seq_len, embed_dim) float32; see the class docstring."""
        ids = validate_token_ids(tokens, self.vocab_size)
        if ids.ndim not in (1, 2):
            raise ValueError(
                f"EmbeddingLayer expects token ids of shape (batch, seq_len) or (seq_len,), got shape {ids.shape}. "
                "Hint: stack sequences into a 2-D batch (tokenizer.encode_batch pads them to equal length)."
            )
        seq_len = ids.shape[-1]
        if seq_len > self.max_seq_len:
            raise ValueError(
                f"sequence length {seq_len} exceeds maximum {self.max_seq_len} (max_seq_len of EmbeddingLayer). "
                "Hint: truncate the input (e.g. tokenizer.encode_batch(texts, max_length=..., truncation=True)) "
                f"or build the layer with max_seq_len >= {seq_len}."
            )
        x = self.token_embedding.lookup(ids)
        if self.scale_embeddings:
            x = x * self.embed_scale
        if self.pos_encoding is not None:
            x = self.pos_encoding.add_to(x)
        return x

    def __repr__(self) -> str:
        return (
            f"EmbeddingLayer(vocab_size={self.vocab_size}, embed_dim={self.embed_dim}, "
            f"max_seq_len={self.max_seq_len}, pos_encoding={self.pos_encoding_type!r}, "
            f"scale_embeddings={self.scale_embeddings})"
        )
