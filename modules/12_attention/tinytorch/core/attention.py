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

Two paths, same maths:
  * Teaching reference: ``need_weights=True`` (the default) is built from plain Tensor ops, so
    autograd derives its backward: the scaling, Q @ K^T, adding an additive mask and weights @ V
    are Tensor ops and the masked softmax is one op recorded with ``apply_op`` under the existing
    "softmax" rule, whose backward s * (g - sum(g * s)) is also exact for masked entries (s = 0
    there, no gradient). Read this path first; it also returns the (..., seq_q, seq_k) weights.
  * Fast path: ``need_weights=False`` (what MultiHeadAttention uses) computes the same output as
    one op, "scaled_dot_product_attention": ``_fused_attention`` forward, ``AttentionBackward``
    backward, its gradients derived by hand from the reference path's (see its docstring). Why a
    separate op: it works in blocks of query rows, so keys that the mask blocks for a whole block
    (the upper triangle of a causal mask) are never multiplied, each block's softmax runs in place
    on a buffer that fits in cache, and no (seq, seq) temporary is allocated (above ~32 MiB every
    fresh buffer costs page faults). float32 throughout; ``benchmarks/kernels.py`` measures it
    against PyTorch, and tests/test_fused_attention.py checks it against the reference path.
"""

from __future__ import annotations

import math
import threading

import numpy as np

from tinytorch.core.autograd import Function, apply_op, register_backward
from tinytorch.core.layers import Linear, Module, check_bool, check_positive_int, make_rng
from tinytorch.core.tensor import Tensor, is_grad_enabled

__all__ = [
    "scaled_dot_product_attention",
    "causal_mask",
    "padding_mask",
    "combine_masks",
    "MultiHeadAttention",
    "AttentionBackward",
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


def _exp_rows_in_place(x: np.ndarray) -> np.ndarray:
    """x <- exp(x - rowmax(x)) over the last axis, in place (blocked entries hold -inf); returns
    the row sums (..., 1), with 1 for rows where every entry was blocked (they become zeros)."""
    if x.shape[-1] == 0:  # no keys at all: like a fully blocked row (np.max has no identity here)
        return np.ones(x.shape[:-1] + (1,), dtype=x.dtype)
    row_max = np.max(x, axis=-1, keepdims=True)
    # A fully blocked row has max -inf; shifting by 0 instead keeps exp(-inf) = 0 and avoids NaN.
    row_max[~np.isfinite(row_max)] = 0.0
    x -= row_max
    np.exp(x, out=x)
    total = np.sum(x, axis=-1, keepdims=True)
    total[total == 0] = 1.0
    return total


def _softmax_in_place(x: np.ndarray) -> np.ndarray:
    """Stable softmax over the last axis, overwriting ``x``: one buffer instead of a new array
    per step. A row with every entry -inf becomes all zeros."""
    x /= _exp_rows_in_place(x)
    return x


def _masked_softmax(scores: Tensor, allowed) -> Tensor:
    """softmax over the last axis of ``scores`` restricted to ``allowed`` entries (bool array
    broadcastable to scores, or None). Differentiable via the "softmax" backward rule."""
    # One fresh buffer (scores.data belongs to the graph), then every step in place.
    x = np.array(scores.data) if allowed is None else np.where(allowed, scores.data, -np.inf)
    weights = _softmax_in_place(x.astype(scores.dtype, copy=False))
    return apply_op("softmax", weights, (scores,), out=weights, dim=scores.ndim - 1)


def _block_rows(seq_k: int) -> int:
    """Query rows per block of the fused attention. Smaller blocks skip more of a causal mask's
    upper triangle but make more, smaller matmuls; one-thread CPU time at (b, h, seq, 64):
    seq 128 is fastest with 32 rows (4.9 ms vs 5.6 with 64), seq 512 with 64-128 (41 ms vs 43
    with 32, 49 with 256)."""
    return 32 if seq_k <= 256 else 64


def _key_span(allowed_rows, seq_k: int) -> tuple:
    """[k0, k1): the keys that some row of a block may attend to (all keys without a mask)."""
    if allowed_rows is None:
        return 0, seq_k
    usable = np.flatnonzero(allowed_rows.any(axis=tuple(range(allowed_rows.ndim - 1))))
    return (int(usable[0]), int(usable[-1]) + 1) if usable.size else (0, 0)


def _block_plan(seq_q: int, seq_k: int, allowed) -> list:
    """(r0, r1, k0, k1) for each block of query rows: rows r0:r1 attend only within keys k0:k1
    (k0 == k1: every key blocked)."""
    plan, rows = [], _block_rows(seq_k)
    for r0 in range(0, seq_q, rows):
        r1 = min(r0 + rows, seq_q)
        plan.append((r0, r1) + _key_span(None if allowed is None else allowed[..., r0:r1, :], seq_k))
    return plan


class _Arena:
    """Hands out C-contiguous arrays carved from one flat buffer: one allocation per call instead
    of one per block (here every fresh buffer of a few MiB costs thousands of page faults).
    ``reset()`` makes the buffer reusable, for scratch space whose contents die with the block."""

    def __init__(self, buffer: np.ndarray):
        self.buffer = buffer
        self.used = 0

    def take(self, shape) -> np.ndarray:
        n = math.prod(shape)
        view = self.buffer[self.used : self.used + n].reshape(shape)
        self.used += n
        return view

    def reset(self) -> "_Arena":
        self.used = 0
        return self


_THREAD_SCRATCH = threading.local()


def _scratch(size: int, dtype) -> np.ndarray:
    """A flat buffer of ``size`` elements owned by the calling thread and reused by later calls,
    so attention without a backward (and every backward) allocates no scratch after the first
    call. Only for data that dies before the call returns; one buffer per thread keeps it safe
    under threads. Not reentrant: a caller must be done with it before anything else takes it."""
    buffer = getattr(_THREAD_SCRATCH, "buffer", None)
    if buffer is None or buffer.size < size or buffer.dtype != dtype:
        buffer = _THREAD_SCRATCH.buffer = np.empty(size, dtype=dtype)
    return buffer[:size]


def _fused_attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, allowed, scale: float, keep: bool, bias=None):
    """softmax(q k^T * scale + bias restricted to ``allowed``) v, one block of query rows at a time.

    q (..., seq_q, d), k (..., seq_k, d), v (..., seq_k, d_v) with equal leading dims and dtype;
    allowed None or bool and bias None or float, broadcastable to (..., seq_q, seq_k) (an additive
    mask's finite values; it is a constant, so the backward is the same). Returns (out, qs, blocks):
    out (..., seq_q, d_v); if ``keep`` (for the backward) qs = q * scale and one
    (r0, r1, k0, k1, e, inv_total) per block: the softmax weights of query rows r0:r1 over keys
    k0:k1 are e * inv_total, every other key has weight 0 (else qs is None, blocks empty).
    Scaling q (seq x d) instead of the scores (seq x seq) saves a pass; the weights are never
    normalised: dividing the (rows x d_v) output by the row sums is cheaper than (rows x keys).
    """
    lead, seq_q, seq_k = q.shape[:-2], q.shape[-2], k.shape[-2]
    if allowed is not None:
        # A view with full (seq_q, seq_k) trailing dims, so rows can be sliced (padding masks
        # have a query dim of 1); leading dims stay as given and broadcast later.
        allowed = np.broadcast_to(allowed, allowed.shape[:-2] + (seq_q, seq_k))
    if bias is not None:
        bias = np.broadcast_to(bias, bias.shape[:-2] + (seq_q, seq_k))
    plan = _block_plan(seq_q, seq_k, allowed)
    sizes = [math.prod(lead) * (r1 - r0) * (k1 - k0) for r0, r1, k0, k1 in plan]
    # What the backward needs (qs and every block's weights) gets fresh memory, in one piece.
    # Without a backward, qs and one block's worth of weights live in this thread's scratch,
    # reused block after block and call after call.
    if keep:
        arena = _Arena(np.empty(q.size + sum(sizes), q.dtype))
    else:
        arena = _Arena(_scratch(q.size + max(sizes, default=0), q.dtype))
    qs = np.multiply(q, scale, out=arena.take(q.shape))
    weights_start = arena.used
    out = np.empty(q.shape[:-1] + v.shape[-1:], dtype=q.dtype)
    blocks = []
    for r0, r1, k0, k1 in plan:
        rows_out = out[..., r0:r1, :]
        if k0 == k1:  # every key blocked for these rows: zero weights, zero output
            rows_out[...] = 0.0
            continue
        if not keep:
            arena.used = weights_start
        e = arena.take(lead + (r1 - r0, k1 - k0))
        np.matmul(qs[..., r0:r1, :], np.swapaxes(k[..., k0:k1, :], -1, -2), out=e)
        if bias is not None:
            e += bias[..., r0:r1, k0:k1]
        if allowed is not None:
            blocked = ~allowed[..., r0:r1, k0:k1]
            # Mask only from the first column with a blocked entry (for a causal mask, the
            # diagonal square of this block), not the whole span.
            partial = np.flatnonzero(blocked.any(axis=tuple(range(blocked.ndim - 1))))
            if partial.size:
                c0 = int(partial[0])
                np.copyto(e[..., c0:], -np.inf, where=blocked[..., c0:])
        total = _exp_rows_in_place(e)
        np.matmul(e, v[..., k0:k1, :], out=rows_out)
        rows_out /= total
        if keep:
            blocks.append((r0, r1, k0, k1, e, 1.0 / total))
    return out, (qs if keep else None), blocks


@register_backward("scaled_dot_product_attention")
class AttentionBackward(Function):
    """out = softmax(Q K^T / sqrt(d) restricted to a mask) V for Q, K, V of equal leading dims,
    computed by ``_fused_attention``. (saved: qs = Q / sqrt(d), scale, out, blocks)

    The fast path's backward, derived by hand from the reference path (need_weights=True), whose
    matmul and softmax rules autograd chains for it; written out here so a block's weights are
    reused from the forward instead of recorded as a graph of (seq, seq) Tensors.

    Per block of query rows with weights P = e / t over keys k0:k1 and upstream gradient G:
        dV += P^T G;  dP = G V^T;  dS = P * (dP - rowsum(dP * P));  dQ = scale dS K;  dK += dS^T qs.
    rowsum(dP * P) equals rowsum(G * out) (out = P V): (rows x d_v) work, not (rows x keys). With
    Gt = G / t (rows scaled): P^T G = e^T Gt and dS = e * (Gt V^T - rowsum(Gt * out)), so e is
    used as saved. Blocked entries have P = 0, so they get no gradient.
    """

    fresh_grads = True  # dq, dk, dv are allocated here: the engine need not copy them for leaves

    def backward(self, grad):
        q, k, v = (t.data for t in self.inputs)
        dq, dk, dv = np.zeros_like(q), np.zeros_like(k), np.zeros_like(v)
        lead = q.shape[:-2]
        # Scratch for one block at a time: dS, and the dK / dV contributions before adding.
        largest = max((e.size for *_, e, _ in self.blocks), default=0)
        widest = max((k1 - k0 for _, _, k0, k1, *_ in self.blocks), default=0)
        scratch = _Arena(_scratch(largest + math.prod(lead) * widest * (k.shape[-1] + v.shape[-1]), q.dtype))
        for r0, r1, k0, k1, e, inv_total in self.blocks:
            scratch.reset()
            g = grad[..., r0:r1, :] * inv_total
            contribution = scratch.take(lead + (k1 - k0, v.shape[-1]))
            dv[..., k0:k1, :] += np.matmul(np.swapaxes(e, -1, -2), g, out=contribution)
            ds = np.matmul(g, np.swapaxes(v[..., k0:k1, :], -1, -2), out=scratch.take(e.shape))
            ds -= np.sum(g * self.out[..., r0:r1, :], axis=-1, keepdims=True)
            ds *= e
            np.matmul(ds, k[..., k0:k1, :], out=dq[..., r0:r1, :])
            contribution = scratch.take(lead + (k1 - k0, k.shape[-1]))
            dk[..., k0:k1, :] += np.matmul(np.swapaxes(ds, -1, -2), self.qs[..., r0:r1, :], out=contribution)
        dq *= self.scale
        return dq, dk, dv


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
    if not need_weights and Q.shape[:-2] == K.shape[:-2] == V.shape[:-2] and Q.dtype == K.dtype == V.dtype:
        # Contiguous copies of (possibly transposed) head views: each block then reads whole rows.
        q, k, v = (np.ascontiguousarray(t.data) for t in (Q, K, V))
        keep = is_grad_enabled() and (Q.requires_grad or K.requires_grad or V.requires_grad)
        out, qs, blocks = _fused_attention(q, k, v, allowed, scale, keep, bias)
        return apply_op("scaled_dot_product_attention", out, (Q, K, V), qs=qs, scale=scale, out=out, blocks=blocks), None
    # Scaling Q (seq x d) instead of the scores (seq x seq): same maths, a smaller array.
    scores = (Q * scale) @ K.transpose(-2, -1)
    if bias is not None:
        scores = scores + Tensor._wrap(bias.astype(scores.dtype))  # an additive mask: a constant
    weights = _masked_softmax(scores, allowed)
    return weights @ V, (weights if need_weights else None)


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
        raise ValueError("combine_masks needs at least one mask.")
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
