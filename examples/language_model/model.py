"""TinyLM: a one-block causal attention language model built from tinytorch modules.

    token ids (batch, seq_len) int64
      -> x = EmbeddingLayer(ids): token vectors + positions  (batch, seq_len, embed_dim)
      -> x + MultiHeadAttention(x, causal mask)             (batch, seq_len, embed_dim)
      -> x + MLP(x)   (Linear -> ReLU -> Linear)             (batch, seq_len, embed_dim)
      -> Linear head: a score for every token                (batch, seq_len, vocab_size)
    (with dropout on each of the first three outputs while training)

The scores at position t are the model's guess for token t + 1. The causal mask lets position t
attend only to positions 0..t, so the guess never peeks at the answer. The two ``x + ...``
residual connections let each stage add to the vectors instead of replacing them, which keeps
the gradient path from the loss to the embeddings short.
"""

from __future__ import annotations

import numpy as np

from tinytorch.core.activations import ReLU
from tinytorch.core.attention import MultiHeadAttention, causal_mask
from tinytorch.core.layers import Dropout, Linear, Module
from tinytorch.core.tensor import Tensor
from tinytorch.text.embeddings import EmbeddingLayer

__all__ = ["TinyLM", "POS_ENCODINGS"]

# What --pos-encoding accepts; "none" becomes EmbeddingLayer's pos_encoding=None.
POS_ENCODINGS = ("learned", "sinusoidal", "none")


class TinyLM(Module):
    """One transformer-style block between an embedding and a vocabulary-sized head.

    Args:
        vocab_size: number of token ids (the tokenizer's vocab_size).
        embed_dim: vector size; must be divisible by num_heads.
        num_heads: attention heads, each of size embed_dim // num_heads.
        max_seq_len: longest sequence the position table covers.
        pos_encoding: 'learned', 'sinusoidal' or 'none'.
        mlp_ratio: the MLP's hidden size is mlp_ratio * embed_dim.
        dropout: probability of zeroing each feature of the embedding, attention and MLP outputs
            while training (call ``model.eval()`` to turn it off).
        seed: makes every initial weight reproducible.

    Shapes:
        forward: (batch, seq_len) int64 ids -> (batch, seq_len, vocab_size) float32 logits.
    """

    def __init__(self, vocab_size: int, embed_dim: int, num_heads: int, max_seq_len: int,
                 pos_encoding: str = "learned", mlp_ratio: int = 4, dropout: float = 0.0, seed: int = 0):
        super().__init__()
        if pos_encoding not in POS_ENCODINGS:
            raise ValueError(f"pos_encoding must be one of {POS_ENCODINGS}, got {pos_encoding!r}.")
        rng = np.random.default_rng(seed)  # one generator, so each layer gets different weights
        self.max_seq_len = max_seq_len
        self.embedding = EmbeddingLayer(
            vocab_size, embed_dim, max_seq_len,
            pos_encoding=None if pos_encoding == "none" else pos_encoding,
            # The sin/cos table has amplitude 1 while the token table starts near 0.1; scaling the
            # tokens by sqrt(embed_dim) keeps them from being drowned out by their positions.
            scale_embeddings=pos_encoding == "sinusoidal",
            rng=rng,
        )
        self.attention = MultiHeadAttention(embed_dim, num_heads, rng=rng)
        self.mlp_in = Linear(embed_dim, mlp_ratio * embed_dim, init="kaiming", rng=rng)
        self.relu = ReLU()
        self.mlp_out = Linear(mlp_ratio * embed_dim, embed_dim, rng=rng)
        self.head = Linear(embed_dim, vocab_size, rng=rng)
        # Dropout zeroes random features while training (never in eval mode), so the model cannot
        # lean on any single one: on a few KB of text that is what keeps it from memorising.
        self.dropout = Dropout(dropout, rng=rng)

    def forward(self, ids) -> Tensor:
        """(batch, seq_len) int64 token ids -> (batch, seq_len, vocab_size) float32 logits."""
        ids = np.asarray(ids.data if isinstance(ids, Tensor) else ids)
        if ids.ndim != 2:
            raise ValueError(
                f"TinyLM expects token ids of shape (batch, seq_len), got shape {ids.shape}. "
                "Hint: one sequence is ids[None, :]."
            )
        seq_len = ids.shape[-1]
        x = self.dropout(self.embedding(ids))                                  # (batch, seq, embed)
        x = x + self.dropout(self.attention(x, mask=causal_mask(seq_len)))     # (batch, seq, embed)
        x = x + self.dropout(self.mlp_out(self.relu(self.mlp_in(x))))          # (batch, seq, embed)
        return self.head(x)                                                    # (batch, seq, vocab)

    def num_parameters(self) -> int:
        return sum(p.size for p in self.parameters())
