"""Attention: scaled dot-product attention, masks, and multi-head attention.

    scaled_dot_product_attention(Q, K, V, mask) -> (output, attention_weights)
    causal_mask(seq_len)          (seq_len, seq_len) bool: position t may attend to 0..t
    padding_mask(attention_mask)  (batch, seq) 1/0 -> (batch, 1, 1, seq) bool: keys that are real
    combine_masks(*masks)         all the masks at once (keep-masks ANDed, additive ones added)
    MultiHeadAttention(embed_dim, num_heads)(x, mask=None, attention_mask=None)

Two kinds of mask, never mixed up:
  * ``mask=`` is a pattern over the scores (..., seq_q, seq_k), like PyTorch's ``attn_mask``:
    causal_mask(seq) (seq, seq), padding_mask(attention_mask) (batch, 1, 1, seq_k), or
    (batch, [heads,] seq_q, seq_k). A 2-D mask always means (seq_q, seq_k). Its values decide
    how it is read:
      - keep-mask: bool, or numbers that are all 0/1 (ints or floats, like upstream TinyTorch's
        ``Tensor(np.tril(np.ones((seq, seq))))``): 1/True = may attend, 0/False = blocked. A float
        mask of zeros only is a keep-mask too: it blocks every key (pass mask=None for no mask).
      - additive mask: floats <= 0 with at least one negative value, like PyTorch's float
        ``attn_mask``: added to the scores before the softmax. -inf blocks a key exactly; a finite
        value such as -1e9 is a bias (its key's weight is ~0, but a row where every key gets the
        same value is not blocked: the softmax ignores a common shift).
      Anything else (values in (0, 1) or above 1, 1s mixed with negatives, NaN, negative ints) is
      refused with the values found.
  * A tokenizer's attention_mask (batch, seq), 1 = real token, 0 = padding, goes through
    ``padding_mask(attention_mask)`` or ``MultiHeadAttention(...)(x, attention_mask=...)`` (the
    role of PyTorch's ``key_padding_mask``, with the opposite polarity: pass
    ``~key_padding_mask``). Given as ``mask=`` it would be read as (seq_q, seq_k), wrongly (or
    refused by the shape check when batch != seq).

Blocked positions get exactly 0 attention weight; a query row with every key blocked (or with no
keys at all, seq_k = 0) gets all-zero weights (and a zero output) instead of NaN.

The maths, read top to bottom: ``attention`` (the kernel every call goes through) computes
scores = (Q * scale) @ K^T (+ an additive mask), weights = ``masked_softmax(scores)`` recorded as
autograd's "softmax" op, and output = weights @ V, all autograd ops, so their backward is the
textbook one autograd chains (for P = softmax(S), G = dL/dout: dV = P^T G, dP = G V^T,
dS = P * (dP - rowsum(dP * P)), dQ = scale dS K, dK = scale dS^T Q; blocked entries have P = 0
and get no gradient).

Speed lives in module 18: ``tinytorch.core.acceleration.enable()`` installs, through the kernel
registry (``tinytorch.core.kernels``), a fused blocked attention for ``need_weights=False`` (what
MultiHeadAttention uses) that skips masked blocks, and an in-place softmax. Outputs and gradients
agree with this reference within float32 rounding (bitwise for the softmax).
"""

from __future__ import annotations

import math

import numpy as np

from tinytorch.core.autograd import apply_op
from tinytorch.core.checks import check_bool, check_positive_int
from tinytorch.core.kernels import kernel, register_kernel
from tinytorch.core.layers import Linear, Module, make_rng
from tinytorch.core.tensor import Tensor

__all__ = [
    "scaled_dot_product_attention",
    "causal_mask",
    "padding_mask",
    "combine_masks",
    "MultiHeadAttention",
    "masked_softmax",
    "attention",
]


def _as_float_tensor(x, name: str) -> Tensor:
    x = x if isinstance(x, Tensor) else Tensor(x)
    if x.dtype.kind != "f":
        raise TypeError(
            f"attention input {name} must be a float tensor, got dtype {x.dtype}. "
            "Hint: embed token ids first (EmbeddingLayer) and project them (Linear)."
        )
    return x


_MASK_FORMS = (
    "Allowed: a keep-mask (bool, or numbers that are all 0/1: 1 = attend, 0 = blocked) or an additive "
    "float mask (values <= 0: 0 = attend, -inf = blocked, e.g. -1e9 = almost blocked)."
)


def _mask_input(mask, what: str) -> np.ndarray:
    """A mask (Tensor, array or nested list) as an array; ragged nested lists get a padding hint."""
    if isinstance(mask, Tensor):
        return mask.data
    try:
        arr = np.asarray(mask)
    except ValueError:  # numpy's "inhomogeneous shape": rows of different lengths
        arr = np.empty(0, dtype=object)
    if arr.dtype == object:
        try:
            shown = [len(row) for row in mask]
            lengths = f"of lengths {shown[:8]}" + (" ..." if len(shown) > 8 else "")
        except TypeError:
            lengths = "of unequal lengths"
        raise ValueError(
            f"{what} must be rectangular (every row the same length), got rows {lengths}. "
            "Hint: pad the sequences to one length first; tokenizer.encode_batch(texts) returns "
            "input_ids and an attention_mask of shape (batch, seq) with 0 for padding."
        )
    return arr


_TOKENIZER_MASK_HINT = "a tokenizer's attention_mask holds 1 (real token) and 0 (padding); an additive pattern over the scores goes in mask=."


def _keep_mask(mask, what: str, hint: str = _TOKENIZER_MASK_HINT) -> np.ndarray:
    """A keep-mask (bool, or 0/1 numbers: 1 = attend / real token) -> bool array."""
    arr = _mask_input(mask, what)
    if arr.dtype.kind == "b":
        return arr
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{what} must be bool or 0/1 numbers, got dtype {arr.dtype}. {_MASK_FORMS}")
    bad = np.unique(arr[(arr != 0) & (arr != 1)])
    if bad.size:
        raise ValueError(f"{what} values must be 1/True (attend) or 0/False (blocked), got {bad[:3].tolist()}. Hint: {hint}")
    return arr != 0


def _mask_parts(mask, what: str) -> tuple:
    """A ``mask=`` pattern -> (allowed, bias): ``allowed`` bool (False = blocked), ``bias`` None or
    the float values an additive mask adds to the scores (0 where blocked). See the module
    docstring for how the values decide between a keep-mask and an additive mask."""
    arr = _mask_input(mask, what)
    if arr.dtype.kind != "f":
        return _keep_mask(arr, what, "an additive mask is floats, e.g. np.where(keep, 0.0, -np.inf)."), None
    if np.isnan(arr).any():
        raise ValueError(f"{what} holds NaN. {_MASK_FORMS} Hint: build the mask with np.where(keep, 0.0, -np.inf).")
    if ((arr == 0) | (arr == 1)).all():
        return arr != 0, None  # a keep-mask of 0/1 floats, as upstream TinyTorch writes them
    if (arr <= 0).all():
        allowed = arr > -np.inf
        bias = np.where(allowed, arr, 0.0)
        return allowed, (bias if bias.any() else None)
    odd = np.unique(arr[(arr > 0) & (arr != 1)])  # fits neither form; else it is 1s mixed with negatives
    shown = odd[:3].tolist() if odd.size else [1.0, float(arr.min())]
    raise ValueError(
        f"{what} is neither a keep-mask nor an additive mask: it holds {shown} "
        f"(values between {arr.min()} and {arr.max()}). {_MASK_FORMS} Hint: bools or 0/1 for a keep-mask, "
        "np.where(keep, 0.0, -np.inf) for an additive one; 1s and negatives cannot be mixed."
    )


def _check_mask_shape(allowed: np.ndarray, expected: tuple, what: str) -> None:
    """ValueError unless ``allowed`` broadcasts to the scores' shape ``expected`` exactly."""
    try:
        ok = np.broadcast_shapes(allowed.shape, expected) == expected
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(
            f"{what} of shape {allowed.shape} does not broadcast to the scores' shape {expected} "
            f"(expected (..., seq_q, seq_k) = (..., {expected[-2]}, {expected[-1]})). "
            "Hint: causal_mask(seq) gives (seq, seq); padding_mask(attention_mask) gives (batch, 1, 1, seq); "
            "a tokenizer's (batch, seq) attention_mask goes through padding_mask(...) or MultiHeadAttention's attention_mask=."
        )


@register_kernel("masked_softmax")
def masked_softmax(x: np.ndarray, allowed) -> np.ndarray:
    """Softmax over the last axis of ``x`` among the ``allowed`` entries (bool, broadcastable; None:
    all). Blocked entries get weight 0; a row with every entry blocked (or no entries) is all 0."""
    if allowed is not None:
        x = np.where(allowed, x, -np.inf)
    row_max = np.max(x, axis=-1, keepdims=True, initial=-np.inf)
    e = np.exp(x - np.where(np.isfinite(row_max), row_max, 0))  # a fully blocked row: exp(-inf) = 0
    total = np.sum(e, axis=-1, keepdims=True)
    return e / np.where(total == 0, 1, total)


@register_kernel("attention")
def attention(Q: Tensor, K: Tensor, V: Tensor, allowed, bias, scale: float, need_weights: bool):
    """softmax(Q K^T * scale + bias, restricted to ``allowed``) V from Tensor ops, so autograd
    derives the backward (matmul, transpose, softmax rules). Returns (output, weights or None)."""
    # Scaling Q (seq x d) instead of the scores (seq x seq): same maths, a smaller array.
    scores = (Q * scale) @ K.transpose(-2, -1)
    if bias is not None:
        scores = scores + Tensor._wrap(bias.astype(scores.dtype))  # an additive mask: a constant
    weights = kernel("masked_softmax")(scores.data, allowed)
    weights = apply_op("softmax", weights, (scores,), out=weights, dim=scores.ndim - 1)
    return weights @ V, (weights if need_weights else None)


def scaled_dot_product_attention(Q, K, V, mask=None, need_weights: bool = True):
    """softmax(Q K^T / sqrt(d_k) restricted to ``mask``) V.

    Args:
        Q: (..., seq_q, d_k) float queries.
        K: (..., seq_k, d_k) float keys.
        V: (..., seq_k, d_v) float values. Leading (batch, head) dims broadcast.
        mask: None, or a pattern broadcastable to (..., seq_q, seq_k), like PyTorch's
            attn_mask; e.g. ``causal_mask(seq)`` of shape (seq, seq) broadcasts over batch and
            heads, ``padding_mask(attention_mask)`` of shape (batch, 1, 1, seq_k) over heads and
            queries. A 2-D mask is always (seq_q, seq_k). Read by its values:
              keep-mask: bool, or numbers all 0/1 (1 = attend, 0 = blocked; a float mask of
                only zeros blocks everything);
              additive: floats <= 0 with some negative (0 = attend, -inf = blocked, finite
                negatives such as -1e9 are added to the scores as they are).
            A tokenizer's (batch, seq) attention_mask goes through padding_mask(attention_mask).
        need_weights: True (default): the teaching reference path, plain Tensor ops, returns
            the weights. False: returns (output, None) and, when Q, K and V share their leading
            dims and dtype, computes the output as one fused, blocked op (faster; no
            (seq_q, seq_k) weights kept). The output and its gradients are the same.

    Returns:
        (output, attention_weights): (..., seq_q, d_v) and (..., seq_q, seq_k), same float dtype
        as the inputs. Each row of attention_weights sums to 1 (0 if every key is blocked; with
        seq_k = 0 the weights are empty and the output is zeros, on both paths).

    Raises:
        ValueError: shapes that do not fit together, d_k = 0, or mask values that are neither
            form (the message lists them).
        TypeError: integer inputs, or need_weights not True/False.
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
    if Q.shape[-1] == 0:  # the scale 1 / sqrt(d_k) is undefined
        raise ValueError(
            f"attention Q and K need at least one feature (d_k >= 1), got Q {Q.shape} and K {K.shape}. "
            "Hint: d_k is the last dim, e.g. head_dim = embed_dim // num_heads."
        )
    need_weights = check_bool("need_weights", need_weights, "scaled_dot_product_attention")

    scale = 1.0 / math.sqrt(Q.shape[-1])
    allowed = bias = None
    if mask is not None:
        allowed, bias = _mask_parts(mask, "attention mask")
        _check_mask_shape(allowed, tuple(lead) + (Q.shape[-2], K.shape[-2]), "attention mask")
    return _attend(Q, K, V, allowed, bias, scale, need_weights)


def _attend(Q: Tensor, K: Tensor, V: Tensor, allowed, bias, scale: float, need_weights: bool):
    """Attention of checked inputs; allowed / bias as ``_mask_parts`` returns them."""
    if allowed is not None and allowed.all():
        allowed = None  # nothing blocked (e.g. an additive mask of finite values only)
    return kernel("attention")(Q, K, V, allowed, bias, scale, need_weights)


def causal_mask(seq_len: int) -> Tensor:
    """(seq_len, seq_len) bool Tensor, True where key j <= query i: position i attends to 0..i."""
    seq_len = check_positive_int("seq_len", seq_len, "causal_mask")
    return Tensor(np.tril(np.ones((seq_len, seq_len), dtype=bool)))


def padding_mask(attention_mask) -> Tensor:
    """(batch, seq) 1 = real token / 0 = padding (a tokenizer's attention_mask; bool or 0/1 numbers)
    -> (batch, 1, 1, seq) bool Tensor that blocks padded keys for every head and query."""
    arr = _keep_mask(attention_mask, "padding_mask attention_mask")
    if arr.ndim != 2:
        raise ValueError(
            f"padding_mask expects an attention_mask of shape (batch, seq), got {arr.shape}. "
            "Hint: use tokenizer.encode_batch(texts).attention_mask."
        )
    return Tensor(arr[:, None, None, :])


def combine_masks(*masks) -> Tensor:
    """All of ``masks`` (each a ``mask=`` pattern) as one, broadcast: e.g.
    combine_masks(causal_mask(seq), padding_mask(am)) -> (batch, 1, seq, seq). Keep-masks are
    ANDed into a bool Tensor; if any mask is additive, the result is an additive float mask
    (the finite values summed, -inf where some mask blocks)."""
    if not masks:
        raise ValueError(
            "combine_masks needs at least one mask, got none. "
            "Hint: combine_masks(causal_mask(seq), padding_mask(attention_mask)); for no mask at all pass mask=None."
        )
    parts = [_mask_parts(m, "combine_masks mask") for m in masks]
    try:
        allowed = np.logical_and.reduce(np.broadcast_arrays(*(a for a, _ in parts)))
    except ValueError:
        raise ValueError(
            f"combine_masks: mask shapes {[a.shape for a, _ in parts]} do not broadcast. "
            "Hint: (seq, seq) and (batch, 1, 1, seq) combine to (batch, 1, seq, seq)."
        ) from None
    biases = [b for _, b in parts if b is not None]
    if not biases:
        return Tensor(np.asarray(allowed, dtype=bool))
    return Tensor(np.where(allowed, sum(biases), -np.inf), dtype=np.float64)


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
        forward(x, mask=None, attention_mask=None):
            (batch, seq, embed_dim) float32 -> (batch, seq, embed_dim) float32
            (also (seq, embed_dim) -> (seq, embed_dim)).
        mask: pattern over the scores (PyTorch's attn_mask): (seq, seq) (e.g. causal_mask),
            (batch, seq, seq) (the same for every head), (batch, heads or 1, seq, seq) or
            (batch, 1, 1, seq) (padding_mask). A keep-mask (bool or all-0/1 numbers, 1 = attend)
            or an additive float mask (0 = attend, -inf = blocked), as for
            scaled_dot_product_attention. A 2-D mask is always (seq_q, seq_k).
        attention_mask: a tokenizer's mask of shape (batch, seq) (or (seq,) for unbatched x),
            1/True = real token, 0/False = padding, e.g. ``encode_batch(texts).attention_mask``
            (HuggingFace convention); padded keys are blocked for every head and query. Opposite
            of PyTorch's key_padding_mask (True = ignore): pass ``~key_padding_mask``.
            Combined with ``mask`` by AND, e.g. mha(x, mask=causal_mask(seq), attention_mask=am).
    """

    def __init__(self, embed_dim: int, num_heads: int, *, bias: bool = True, seed=None, rng=None):
        super().__init__()
        bias = check_bool("bias", bias, "MultiHeadAttention")
        self.embed_dim = check_positive_int("embed_dim", embed_dim, "MultiHeadAttention")
        self.num_heads = check_positive_int("num_heads", num_heads, "MultiHeadAttention")
        if self.embed_dim % self.num_heads:
            raise ValueError(
                f"MultiHeadAttention embed_dim={self.embed_dim} must be divisible by num_heads={self.num_heads} "
                f"(embed_dim % num_heads = {self.embed_dim % self.num_heads}). "
                "Hint: each head gets embed_dim // num_heads features; pick num_heads dividing embed_dim."
            )
        self.head_dim = self.embed_dim // self.num_heads
        gen = make_rng(seed, rng)
        self.q_proj = Linear(self.embed_dim, self.embed_dim, bias=bias, rng=gen)
        self.k_proj = Linear(self.embed_dim, self.embed_dim, bias=bias, rng=gen)
        self.v_proj = Linear(self.embed_dim, self.embed_dim, bias=bias, rng=gen)
        self.out_proj = Linear(self.embed_dim, self.embed_dim, bias=bias, rng=gen)

    def _split_heads(self, t: Tensor) -> Tensor:
        """(..., seq, embed_dim) -> (..., heads, seq, head_dim)"""
        *lead, seq, _ = t.shape
        return t.reshape(*lead, seq, self.num_heads, self.head_dim).transpose(-3, -2)

    def forward(self, x, mask=None, attention_mask=None) -> Tensor:
        """(batch, seq, embed_dim) -> (batch, seq, embed_dim); see the class docstring."""
        x = _as_float_tensor(x, "x")
        if x.ndim not in (2, 3) or x.shape[-1] != self.embed_dim:
            raise ValueError(
                f"MultiHeadAttention(embed_dim={self.embed_dim}, num_heads={self.num_heads}) expects x of shape "
                f"(batch, seq, {self.embed_dim}) or (seq, {self.embed_dim}), got {x.shape}. "
                "Hint: the input's last dim must equal embed_dim (e.g. EmbeddingLayer(..., embed_dim) output)."
            )
        *lead, seq = x.shape[:-1]
        scores = tuple(lead) + (self.num_heads, seq, seq)
        allowed = bias = None
        if mask is not None:
            allowed, bias = _mask_parts(mask, "MultiHeadAttention mask")
            if x.ndim == 3 and allowed.ndim == 3:  # (batch, seq, seq): the same mask for every head
                allowed, bias = allowed[:, None], (None if bias is None else bias[:, None])
            _check_mask_shape(allowed, scores, "MultiHeadAttention mask")
        if attention_mask is not None:
            keys = _keep_mask(attention_mask, "MultiHeadAttention attention_mask")
            if keys.shape != x.shape[:-1]:
                raise ValueError(
                    f"MultiHeadAttention attention_mask must have shape {x.shape[:-1]} "
                    f"({'(batch, seq)' if x.ndim == 3 else '(seq,)'} like x {x.shape}; 1 = real token, 0 = padding), "
                    f"got {keys.shape}. Hint: pass encode_batch(texts).attention_mask for the same texts as x; "
                    "a (seq_q, seq_k) or (batch, 1, 1, seq) pattern goes in mask=."
                )
            keys = keys[..., None, None, :]  # (batch, 1, 1, seq): every head and query
            allowed = keys if allowed is None else np.logical_and(allowed, keys)
        q, k, v = self._split_heads(self.q_proj(x)), self._split_heads(self.k_proj(x)), self._split_heads(self.v_proj(x))
        attended, _ = _attend(q, k, v, allowed, bias, 1.0 / math.sqrt(self.head_dim), False)
        merged = attended.transpose(-3, -2).reshape(*lead, seq, self.embed_dim)
        return self.out_proj(merged)

    def __repr__(self) -> str:
        return f"MultiHeadAttention(embed_dim={self.embed_dim}, num_heads={self.num_heads})"
