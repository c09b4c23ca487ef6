"""Accelerated need_weights=False: the fused, blocked attention op (FusedAttentionBackward) gives
the same output and gradients as the reference path, skips keys a mask blocks for a whole block,
stays float32."""

import numpy as np
import pytest

from tinytorch.acceleration.attention import FusedAttentionBackward
from tinytorch.core import acceleration
from tinytorch.core.attention import (
    MultiHeadAttention,
    causal_mask,
    combine_masks,
    padding_mask,
    scaled_dot_product_attention,
)
from tinytorch.core.tensor import Tensor

@pytest.fixture(autouse=True)
def accelerated():
    with acceleration.enabled():
        yield


SEQ = 150  # several blocks of query rows (32 each at this length), the last one partial


def qkv(seq_q=SEQ, seq_k=SEQ, lead=(2, 3), d=8, dv=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=lead + (seq_q, d)), rng.normal(size=lead + (seq_k, d)), rng.normal(size=lead + (seq_k, dv))


def run(Q, K, V, mask, need_weights, upstream):
    q, k, v = (Tensor(a, dtype=np.float64, requires_grad=True) for a in (Q, K, V))
    out, _ = scaled_dot_product_attention(q, k, v, mask, need_weights=need_weights)
    out.backward(upstream)
    return out, q.grad.data, k.grad.data, v.grad.data


def random_mask(seq_q, seq_k, seed):
    mask = np.random.default_rng(seed).random((seq_q, seq_k)) < 0.3
    mask[5] = False  # one query row with every key blocked
    return mask


MASKS = {
    "none": lambda: None,
    "causal": lambda: causal_mask(SEQ),
    "random_2d": lambda: random_mask(SEQ, SEQ, 1),
    "padding": lambda: padding_mask(np.arange(SEQ)[None, :] < np.array([[SEQ - 20], [SEQ]])),  # (2, 1, 1, SEQ)
    "causal_and_padding": lambda: combine_masks(causal_mask(SEQ), padding_mask(np.ones((2, SEQ)))),
    "float_keep": lambda: np.tril(np.ones((2, 1, SEQ, SEQ))),  # upstream's 0/1 float mask
    "additive_inf": lambda: np.where(np.tril(np.ones((SEQ, SEQ), dtype=bool)), 0.0, -np.inf),
    "additive_1e9": lambda: np.where(np.tril(np.ones((SEQ, SEQ), dtype=bool)), 0.0, -1e9),
    "additive_bias": lambda: np.where(random_mask(SEQ, SEQ, 3) | np.eye(SEQ, dtype=bool), -np.random.default_rng(4).random((SEQ, SEQ)), -np.inf),
}


@pytest.mark.parametrize("mask_name", sorted(MASKS))
def test_fused_path_matches_composite_path(mask_name):
    Q, K, V = qkv()
    mask = MASKS[mask_name]()
    upstream = np.random.default_rng(2).normal(size=(2, 3, SEQ, 5))
    fused = run(Q, K, V, mask, False, upstream)
    composite = run(Q, K, V, mask, True, upstream)
    assert isinstance(fused[0].grad_fn, FusedAttentionBackward)
    for got, want in zip(fused, composite):
        np.testing.assert_allclose(getattr(got, "data", got), getattr(want, "data", want), rtol=1e-10, atol=1e-12)


def test_fused_gradients_match_finite_differences():
    Q, K, V = qkv(seq_q=4, seq_k=6, lead=(2,), d=3, dv=2, seed=3)
    mask = np.tril(np.ones((4, 6), dtype=bool), k=2)
    R = np.random.default_rng(4).normal(size=(2, 4, 2))

    def loss(q, k, v):
        return (scaled_dot_product_attention(q, k, v, mask, need_weights=False)[0] * Tensor(R, dtype=np.float64)).sum()

    q, k, v = (Tensor(a, dtype=np.float64, requires_grad=True) for a in (Q, K, V))
    loss(q, k, v).backward()
    eps = 1e-6
    for tensor, array in ((q, Q), (k, K), (v, V)):
        numeric = np.zeros_like(array)
        for idx in np.ndindex(array.shape):
            old = array[idx]
            array[idx] = old + eps
            plus = loss(*(Tensor(a, dtype=np.float64) for a in (Q, K, V))).item()
            array[idx] = old - eps
            minus = loss(*(Tensor(a, dtype=np.float64) for a in (Q, K, V))).item()
            array[idx] = old
            numeric[idx] = (plus - minus) / (2 * eps)
        np.testing.assert_allclose(tensor.grad.data, numeric, rtol=1e-6, atol=1e-8)


def test_causal_blocks_never_touch_future_keys():
    Q, K, V = qkv()
    out, weights = scaled_dot_product_attention(*(Tensor(a) for a in (Q, K, V)), causal_mask(SEQ), need_weights=False)
    assert weights is None
    blocks = out.grad_fn.blocks if out.grad_fn is not None else None
    assert blocks is None  # no input requires grad: nothing recorded
    q = Tensor(Q, requires_grad=True)
    out, _ = scaled_dot_product_attention(q, Tensor(K), Tensor(V), causal_mask(SEQ), need_weights=False)
    spans = [block[:4] for block in out.grad_fn.blocks]
    assert spans == [(0, 32, 0, 32), (32, 64, 0, 64), (64, 96, 0, 96), (96, 128, 0, 128), (128, 150, 0, 150)]
    # Keys multiplied: 32 * (32 + 64 + 96 + 128) + 22 * 150 of 150 * 150; the rest is masked.
    assert sum((r1 - r0) * (k1 - k0) for r0, r1, k0, k1 in spans) == 13540


def test_float32_stays_float32_and_matches_float64():
    Q, K, V = qkv(lead=(2,))
    out32, _ = scaled_dot_product_attention(*(Tensor(a) for a in (Q, K, V)), causal_mask(SEQ), need_weights=False)
    out64, _ = scaled_dot_product_attention(
        *(Tensor(a, dtype=np.float64) for a in (Q, K, V)), causal_mask(SEQ), need_weights=False
    )
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32.data, out64.data, rtol=1e-4, atol=1e-5)


def test_broadcast_leading_dims_fall_back_to_the_composite_path():
    Q, K, V = qkv(lead=(2,))
    out, weights = scaled_dot_product_attention(
        Tensor(Q, requires_grad=True), Tensor(K[0]), Tensor(V[0]), need_weights=False
    )
    assert weights is None and type(out.grad_fn).__name__ == "MatmulBackward"
    want, _ = scaled_dot_product_attention(Tensor(Q), Tensor(K[0]), Tensor(V[0]))
    np.testing.assert_allclose(out.data, want.data, rtol=1e-6)


def test_multihead_attention_uses_the_fused_op_with_the_same_result():
    mha = MultiHeadAttention(16, 4, seed=0)
    x = Tensor(np.random.default_rng(5).normal(size=(2, 70, 16)), dtype=np.float64, requires_grad=True)
    out = mha(x, causal_mask(70))
    out.sum().backward()
    # The same projections through the composite path (need_weights=True).
    split = mha._split_heads
    attended, _ = scaled_dot_product_attention(split(mha.q_proj(x)), split(mha.k_proj(x)), split(mha.v_proj(x)), causal_mask(70))
    want = mha.out_proj(attended.transpose(-3, -2).reshape(2, 70, 16))
    np.testing.assert_allclose(out.data, want.data, rtol=1e-10, atol=1e-12)


def test_additive_inf_mask_skips_the_same_blocks_as_the_keep_mask():
    Q, K, V = qkv()
    q = Tensor(Q, requires_grad=True)
    keep = causal_mask(SEQ)
    spans = lambda mask: [b[:4] for b in scaled_dot_product_attention(q, Tensor(K), Tensor(V), mask, need_weights=False)[0].grad_fn.blocks]
    assert spans(np.where(keep.data, 0.0, -np.inf)) == spans(keep)
