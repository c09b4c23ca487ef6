"""Attention, fast: a fused, blocked kernel that skips masked blocks, and an in-place softmax.

Installed by ``tinytorch.core.acceleration.enable()`` under the kernel names "attention" and
"masked_softmax" of module 12. With ``need_weights=False`` and Q, K, V of equal leading dims and
dtype (what MultiHeadAttention passes), ``attention`` records one op, "fused_attention": its
forward works in blocks of query rows, so keys that the mask blocks for a whole block (the upper
triangle of a causal mask) are never multiplied, each block's softmax runs in place on a buffer
that fits in cache, and no (seq, seq) temporary is allocated (above ~32 MiB every fresh buffer
costs page faults). Its backward, ``FusedAttentionBackward``, is derived by hand from the
reference's. Anything else falls back to the reference kernel. Results agree with the reference
within float32 rounding (the summation order differs); ``benchmarks/kernels.py`` measures both.
"""

from __future__ import annotations

import math
import threading

import numpy as np

from tinytorch.core.autograd import Function, apply_op, register_backward
from tinytorch.core.kernels import reference_kernel
from tinytorch.core.tensor import Tensor, is_grad_enabled

__all__ = ["attention", "masked_softmax", "fused_attention", "FusedAttentionBackward"]


def attention(Q: Tensor, K: Tensor, V: Tensor, allowed, bias, scale: float, need_weights: bool):
    """The "attention" kernel (arguments as for the reference ``tinytorch.core.attention.attention``)."""
    if need_weights or not (Q.shape[:-2] == K.shape[:-2] == V.shape[:-2] and Q.dtype == K.dtype == V.dtype):
        return reference_kernel("attention")(Q, K, V, allowed, bias, scale, need_weights)
    # Contiguous copies of (possibly transposed) head views: each block then reads whole rows.
    q, k, v = (np.ascontiguousarray(t.data) for t in (Q, K, V))
    keep = is_grad_enabled() and (Q.requires_grad or K.requires_grad or V.requires_grad)
    out, qs, blocks = fused_attention(q, k, v, allowed, scale, keep, bias)
    return apply_op("fused_attention", out, (Q, K, V), qs=qs, scale=scale, out=out, blocks=blocks), None


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


def masked_softmax(x: np.ndarray, allowed) -> np.ndarray:
    """The "masked_softmax" kernel: bitwise the reference's (same steps in the same order), in
    one fresh buffer (``x`` may belong to the graph) instead of a new array per step."""
    x = np.array(x) if allowed is None else np.where(allowed, x, -np.inf).astype(x.dtype, copy=False)
    return _softmax_in_place(x)


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


def fused_attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, allowed, scale: float, keep: bool, bias=None):
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


@register_backward("fused_attention")
class FusedAttentionBackward(Function):
    """out = softmax(Q K^T / sqrt(d) restricted to a mask) V for Q, K, V of equal leading dims,
    computed by ``fused_attention``. (saved: qs = Q / sqrt(d), scale, out, blocks)

    The fast path's backward, derived by hand from the reference path (need_weights=True), whose
    matmul and softmax rules autograd chains for it; written out here so a block's weights are
    reused from the forward instead of recorded as a graph of (seq, seq) Tensors.

    Per block of query rows with weights P = e / t over keys k0:k1 and upstream gradient G:
        dV += P^T G;  dP = G V^T;  dS = P * (dP - rowsum(dP * P));  dQ = scale dS K;  dK += dS^T qs.
    rowsum(dP * P) equals rowsum(G * out) (out = P V): (rows x d_v) work, not (rows x keys). With
    Gt = G / t (rows scaled): P^T G = e^T Gt and dS = e * (Gt V^T - rowsum(Gt * out)), so e is
    used as saved. Blocked entries have P = 0, so they get no gradient.
    """

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
