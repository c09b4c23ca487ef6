"""Attention: scaled dot-product attention, masks, and multi-head attention.

    scaled_dot_product_attention(Q, K, V, mask) -> (output, attention_weights)
    causal_mask(seq_len)          (seq_len, seq_len) bool: position t may attend to 0..t
    padding_mask(attention_mask)  (batch, seq) 1/0 -> (batch, 1, 1, seq) bool: keys that are real
    combine_masks(*masks)         elementwise AND, broadcast
    MultiHeadAttention(embed_dim, num_heads)

Mask convention (as in HuggingFace attention_mask): 1/True = may attend, 0/False = blocked.
Blocked positions get exactly 0 attention weight; a query row with every key blocked gets all-zero
weights (and a zero output) instead of NaN.

Differentiability: Q @ K^T, the scaling and weights @ V are Tensor ops; the masked softmax is one
fused op recorded with autograd's ``apply_op`` under the existing "softmax" rule, whose backward
s * (g - sum(g * s)) is also exact for masked entries (s = 0 there, so they get no gradient).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from tinytorch.core.autograd import apply_op
from tinytorch.core.layers import Linear, Module
from tinytorch.core.tensor import Tensor

__all__ = [
    "scaled_dot_product_attention",
    "causal_mask",
    "padding_mask",
    "combine_masks",
    "MultiHeadAttention",
]


def _positive_int(name: str, value, owner: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{owner} {name} must be a positive int, got {type(value).__name__} {value!r}.")
    if value < 1:
        raise ValueError(f"{owner} {name} must be a positive int (>= 1), got {value!r}.")
    return int(value)


def _as_float_tensor(x, name: str) -> Tensor:
    x = x if isinstance(x, Tensor) else Tensor(x)
    if x.dtype.kind != "f":
        raise TypeError(
            f"attention input {name} must be a float tensor, got dtype {x.dtype}. "
            "Hint: embed token ids first (EmbeddingLayer) and project them (Linear)."
        )
    return x


def _mask_array(mask) -> np.ndarray:
    """A 1/0 or bool mask -> bool array; refuses other values (e.g. additive -inf masks)."""
    arr = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
    if arr.dtype.kind == "b":
        return arr
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"attention mask must be bool or 0/1 numbers, got dtype {arr.dtype}.")
    bad = arr[(arr != 0) & (arr != 1)]
    if bad.size:
        raise ValueError(
            f"attention mask values must be 1/True (attend) or 0/False (blocked), got {bad.reshape(-1)[:3].tolist()}. "
            "Hint: additive masks (0 / -inf) are not supported; convert with mask = (additive == 0)."
        )
    return arr != 0


def _masked_softmax(scores: Tensor, allowed) -> Tensor:
    """softmax over the last axis of ``scores`` restricted to ``allowed`` entries (bool array
    broadcastable to scores, or None). Differentiable via the "softmax" backward rule."""
    x = scores.data
    if allowed is not None:
        x = np.where(allowed, x, -np.inf)
    row_max = np.max(x, axis=-1, keepdims=True)
    # A fully blocked row has max -inf; shifting by 0 instead keeps exp(-inf) = 0 and avoids NaN.
    row_max = np.where(np.isfinite(row_max), row_max, 0.0)
    e = np.exp(x - row_max)
    total = np.sum(e, axis=-1, keepdims=True)
    weights = (e / np.where(total > 0, total, 1.0)).astype(scores.dtype, copy=False)
    return apply_op("softmax", weights, (scores,), out=weights, dim=scores.ndim - 1)


def scaled_dot_product_attention(Q, K, V, mask=None):
    """softmax(Q K^T / sqrt(d_k) restricted to ``mask``) V.

    Args:
        Q: (..., seq_q, d_k) float queries.
        K: (..., seq_k, d_k) float keys.
        V: (..., seq_k, d_v) float values. Leading (batch, head) dims broadcast.
        mask: None, or 1/True (attend) / 0/False (blocked) values broadcastable to
            (..., seq_q, seq_k); e.g. ``causal_mask(seq)`` of shape (seq, seq) broadcasts over
            batch and heads, ``padding_mask(attention_mask)`` of shape (batch, 1, 1, seq_k)
            over heads and queries.

    Returns:
        (output, attention_weights): (..., seq_q, d_v) and (..., seq_q, seq_k), same float dtype
        as the inputs. Each row of attention_weights sums to 1 (0 if every key is blocked).
    """
    Q, K, V = _as_float_tensor(Q, "Q"), _as_float_tensor(K, "K"), _as_float_tensor(V, "V")
    for name, t in (("Q", Q), ("K", K), ("V", V)):
        if t.ndim < 2:
            raise ValueError(
                f"attention input {name} must have shape (..., seq, d) with at least 2 dims, got {t.shape}. "
                "Hint: add a sequence axis, e.g. x.reshape(1, -1)."
            )
    if K.shape[-1] != Q.shape[-1]:
        raise ValueError(
            f"attention K must have shape (..., seq_k, {Q.shape[-1]}) to match Q {Q.shape}, got K {K.shape}. "
            "Hint: queries and keys need the same feature size d_k."
        )
    if V.shape[-2] != K.shape[-2]:
        raise ValueError(
            f"attention V must have shape (..., {K.shape[-2]}, d_v) (one value per key of K {K.shape}), "
            f"got V {V.shape}. Hint: K and V come from the same sequence."
        )
    try:
        lead = np.broadcast_shapes(Q.shape[:-2], K.shape[:-2], V.shape[:-2])
    except ValueError:
        raise ValueError(
            f"attention batch/head dims of Q {Q.shape}, K {K.shape} and V {V.shape} do not broadcast. "
            "Hint: Q, K, V should share their leading (batch, heads) dims."
        ) from None

    scores = (Q @ K.transpose(-2, -1)) * (1.0 / math.sqrt(Q.shape[-1]))
    allowed = None
    if mask is not None:
        allowed = _mask_array(mask)
        expected = tuple(lead) + (Q.shape[-2], K.shape[-2])
        try:
            ok = np.broadcast_shapes(allowed.shape, expected) == expected
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(
                f"attention mask of shape {allowed.shape} does not broadcast to the scores' shape {expected} "
                f"(expected (..., seq_q, seq_k) = (..., {Q.shape[-2]}, {K.shape[-2]})). "
                "Hint: causal_mask(seq) gives (seq, seq); padding_mask(attention_mask) gives (batch, 1, 1, seq)."
            )
    weights = _masked_softmax(scores, allowed)
    return weights @ V, weights


def causal_mask(seq_len: int) -> Tensor:
    """(seq_len, seq_len) bool Tensor, True where key j <= query i: position i attends to 0..i."""
    seq_len = _positive_int("seq_len", seq_len, "causal_mask")
    return Tensor(np.tril(np.ones((seq_len, seq_len), dtype=bool)))


def padding_mask(attention_mask) -> Tensor:
    """(batch, seq) 1 = real token / 0 = padding (a tokenizer's attention_mask)
    -> (batch, 1, 1, seq) bool Tensor that blocks padded keys for every head and query."""
    arr = _mask_array(attention_mask)
    if arr.ndim != 2:
        raise ValueError(
            f"padding_mask expects an attention_mask of shape (batch, seq), got {arr.shape}. "
            "Hint: use tokenizer.encode_batch(texts).attention_mask."
        )
    return Tensor(arr[:, None, None, :])


def combine_masks(*masks) -> Tensor:
    """Elementwise AND of 1/0 or bool masks (broadcast), e.g. combine_masks(causal, padding)."""
    if not masks:
        raise ValueError("combine_masks needs at least one mask.")
    arrays = [_mask_array(m) for m in masks]
    try:
        out = np.logical_and.reduce(np.broadcast_arrays(*arrays))
    except ValueError:
        raise ValueError(
            f"combine_masks: mask shapes {[a.shape for a in arrays]} do not broadcast. "
            "Hint: (seq, seq) and (batch, 1, 1, seq) combine to (batch, 1, seq, seq)."
        ) from None
    return Tensor(np.asarray(out, dtype=bool))


class MultiHeadAttention(Module):
    """Multi-head self-attention (Vaswani et al., 2017).

    Args:
        embed_dim: model width; must be divisible by num_heads.
        num_heads: number of heads, each of size head_dim = embed_dim // num_heads.
        bias: whether the four projections have biases.
        seed / rng: make the projection weights reproducible.

    Attributes:
        q_proj, k_proj, v_proj, out_proj: Linear(embed_dim, embed_dim) (weight shape
            (in_features, out_features), i.e. y = x @ weight + bias).

    Shapes:
        forward(x, mask=None): (batch, seq, embed_dim) float32 -> (batch, seq, embed_dim) float32
        (also (seq, embed_dim) -> (seq, embed_dim)).
        mask: 1/True = attend, 0/False = blocked; (seq, seq) (e.g. causal_mask),
        (batch, seq, seq), (batch, heads or 1, seq, seq) or (batch, 1, 1, seq) (padding_mask).
    """

    def __init__(self, embed_dim: int, num_heads: int, *, bias: bool = True, seed=None, rng=None):
        super().__init__()
        self.embed_dim = _positive_int("embed_dim", embed_dim, "MultiHeadAttention")
        self.num_heads = _positive_int("num_heads", num_heads, "MultiHeadAttention")
        if self.embed_dim % self.num_heads:
            raise ValueError(
                f"MultiHeadAttention embed_dim={self.embed_dim} must be divisible by num_heads={self.num_heads} "
                f"(embed_dim % num_heads = {self.embed_dim % self.num_heads}). "
                "Hint: each head gets embed_dim // num_heads features; pick num_heads dividing embed_dim."
            )
        self.head_dim = self.embed_dim // self.num_heads
        if seed is not None and rng is not None:
            raise ValueError("pass either seed or rng, not both. Hint: rng=np.random.default_rng(seed).")
        gen = rng if rng is not None else np.random.default_rng(seed)
        self.q_proj = Linear(self.embed_dim, self.embed_dim, bias=bias, rng=gen)
        self.k_proj = Linear(self.embed_dim, self.embed_dim, bias=bias, rng=gen)
        self.v_proj = Linear(self.embed_dim, self.embed_dim, bias=bias, rng=gen)
        self.out_proj = Linear(self.embed_dim, self.embed_dim, bias=bias, rng=gen)

    def _split_heads(self, t: Tensor) -> Tensor:
        """(..., seq, embed_dim) -> (..., heads, seq, head_dim)"""
        *lead, seq, _ = t.shape
        return t.reshape(*lead, seq, self.num_heads, self.head_dim).transpose(-3, -2)

    def forward(self, x, mask=None) -> Tensor:
        """(batch, seq, embed_dim) -> (batch, seq, embed_dim); see the class docstring."""
        x = _as_float_tensor(x, "x")
        if x.ndim not in (2, 3) or x.shape[-1] != self.embed_dim:
            raise ValueError(
                f"MultiHeadAttention(embed_dim={self.embed_dim}, num_heads={self.num_heads}) expects x of shape "
                f"(batch, seq, {self.embed_dim}) or (seq, {self.embed_dim}), got {x.shape}. "
                "Hint: the input's last dim must equal embed_dim (e.g. EmbeddingLayer(..., embed_dim) output)."
            )
        if mask is not None:
            m = _mask_array(mask)
            if x.ndim == 3 and m.ndim == 3:
                m = m[:, None]  # (batch, seq, seq): the same mask for every head
            mask = m
        q, k, v = self._split_heads(self.q_proj(x)), self._split_heads(self.k_proj(x)), self._split_heads(self.v_proj(x))
        attended, _ = scaled_dot_product_attention(q, k, v, mask)
        *lead, seq = x.shape[:-1]
        merged = attended.transpose(-3, -2).reshape(*lead, seq, self.embed_dim)
        return self.out_proj(merged)

    def __repr__(self) -> str:
        return f"MultiHeadAttention(embed_dim={self.embed_dim}, num_heads={self.num_heads})"
