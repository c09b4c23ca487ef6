"""MultiHeadAttention: construction, values vs a float64 numpy reference, finite-difference
gradients of every projection weight, masking, causality, shape errors."""

import numpy as np
import pytest

from tinytorch.core.attention import MultiHeadAttention, causal_mask, padding_mask
from tinytorch.core.layers import Linear, Module
from tinytorch.core.tensor import Tensor


def reference_mha(x, mha, mask=None, bias=None):
    """Multi-head attention in float64 numpy, head by head with explicit loops (``mask``: bool,
    False = blocked; ``bias``: added to the scores, broadcast like the mask)."""
    x = np.asarray(x, dtype=np.float64)
    def proj(lin, a):
        out = a @ lin.weight.data.astype(np.float64)
        return out + lin.bias.data if lin.bias is not None else out
    q, k, v = proj(mha.q_proj, x), proj(mha.k_proj, x), proj(mha.v_proj, x)
    batch, seq, d = x.shape
    hd = d // mha.num_heads
    heads = np.zeros((batch, seq, d))
    for b in range(batch):
        for h in range(mha.num_heads):
            cols = slice(h * hd, (h + 1) * hd)
            scores = q[b, :, cols] @ k[b, :, cols].T / np.sqrt(hd)
            if bias is not None:
                scores = scores + np.broadcast_to(bias, (batch, mha.num_heads, seq, seq))[b, h]
            if mask is not None:
                m = np.broadcast_to(np.asarray(mask, dtype=bool), (batch, mha.num_heads, seq, seq))[b, h]
                scores = np.where(m, scores, -np.inf)
            e = np.exp(scores - scores.max(axis=-1, keepdims=True))
            heads[b, :, cols] = (e / e.sum(axis=-1, keepdims=True)) @ v[b, :, cols]
    return proj(mha.out_proj, heads)


def to_float64(mha):
    for lin in (mha.q_proj, mha.k_proj, mha.v_proj, mha.out_proj):
        lin.weight = Tensor(lin.weight.data, dtype=np.float64, requires_grad=True)
        if lin.bias is not None:
            lin.bias = Tensor(np.random.default_rng(9).normal(size=lin.bias.shape) * 0.1, dtype=np.float64, requires_grad=True)
    return mha


def test_construction_and_parameters():
    mha = MultiHeadAttention(embed_dim=12, num_heads=3, seed=0)
    assert isinstance(mha, Module)
    assert (mha.embed_dim, mha.num_heads, mha.head_dim) == (12, 3, 4)
    projections = [mha.q_proj, mha.k_proj, mha.v_proj, mha.out_proj]
    for lin in projections:
        assert isinstance(lin, Linear) and lin.weight.shape == (12, 12) and lin.bias.shape == (12,)
    expected = [p for lin in projections for p in (lin.weight, lin.bias)]
    params = mha.parameters()
    assert len(params) == 8 and all(a is b for a, b in zip(params, expected))
    assert len({id(lin.weight) for lin in projections}) == 4
    assert not np.array_equal(mha.q_proj.weight.data, mha.k_proj.weight.data)
    np.testing.assert_array_equal(MultiHeadAttention(12, 3, seed=0).v_proj.weight.data, mha.v_proj.weight.data)
    assert len(MultiHeadAttention(12, 3, bias=False, seed=0).parameters()) == 4

    with pytest.raises(ValueError, match=r"embed_dim=10 must be divisible by num_heads=3"):
        MultiHeadAttention(10, 3)
    with pytest.raises(ValueError, match=r"num_heads must be a positive int.*0"):
        MultiHeadAttention(8, 0)
    with pytest.raises(TypeError, match=r"embed_dim must be a positive int"):
        MultiHeadAttention(8.0, 2)


def test_forward_matches_float64_reference():
    rng = np.random.default_rng(0)
    mha = MultiHeadAttention(embed_dim=8, num_heads=2, seed=0)
    x = rng.normal(size=(3, 5, 8)).astype(np.float32)
    out = mha(Tensor(x))
    assert out.shape == (3, 5, 8) and out.dtype == np.float32
    np.testing.assert_allclose(out.data, reference_mha(x, mha), rtol=1e-4, atol=1e-5)
    # (seq, embed_dim) input equals the batched computation.
    np.testing.assert_allclose(mha(Tensor(x[1])).data, out.data[1], rtol=1e-6, atol=1e-6)

    to_float64(mha)
    out64 = mha(Tensor(x, dtype=np.float64))
    assert out64.dtype == np.float64
    np.testing.assert_allclose(out64.data, reference_mha(x, mha), rtol=1e-12, atol=1e-13)
    mask = causal_mask(5)
    np.testing.assert_allclose(
        mha(Tensor(x, dtype=np.float64), mask=mask).data, reference_mha(x, mha, mask.data), rtol=1e-12, atol=1e-13
    )


def test_gradients_match_finite_differences():
    rng = np.random.default_rng(1)
    mha = to_float64(MultiHeadAttention(embed_dim=4, num_heads=2, seed=1))
    x = Tensor(rng.normal(size=(2, 3, 4)), dtype=np.float64, requires_grad=True)
    R = Tensor(rng.normal(size=(2, 3, 4)), dtype=np.float64)
    mask = causal_mask(3)

    def loss():
        return (mha(x, mask=mask) * R).sum()

    loss().backward()
    tensors = [x] + mha.parameters()
    analytic = [t.grad.data.copy() for t in tensors]
    eps = 1e-6
    for tensor, grad in zip(tensors, analytic):
        numeric = np.zeros_like(tensor.data)
        for idx in np.ndindex(tensor.shape):
            old = tensor.data[idx]
            tensor.data[idx] = old + eps
            plus = loss().item()
            tensor.data[idx] = old - eps
            minus = loss().item()
            tensor.data[idx] = old
            numeric[idx] = (plus - minus) / (2 * eps)
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)
        assert np.abs(grad).sum() > 0


def test_masks_in_multihead_attention():
    rng = np.random.default_rng(2)
    mha = MultiHeadAttention(embed_dim=8, num_heads=4, seed=2)
    x = rng.normal(size=(2, 6, 8)).astype(np.float32)

    # Causal: the output at t ignores inputs after t.
    base = mha(Tensor(x), mask=causal_mask(6)).data
    for t in range(6):
        changed = x.copy()
        changed[:, t + 1:] = rng.normal(size=changed[:, t + 1:].shape) * 5
        np.testing.assert_array_equal(mha(Tensor(changed), mask=causal_mask(6)).data[:, : t + 1], base[:, : t + 1])

    # Padding: whatever sits in the padded slots does not reach the real positions.
    attention_mask = np.array([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]])
    pm = padding_mask(attention_mask)
    base = mha(Tensor(x), mask=pm).data
    changed = x.copy()
    changed[0, 4:] = 100.0
    after = mha(Tensor(changed), mask=pm).data
    np.testing.assert_array_equal(after[0, :4], base[0, :4])
    np.testing.assert_array_equal(after[1], base[1])
    assert not np.allclose(mha(Tensor(changed)).data[0, :4], mha(Tensor(x)).data[0, :4])  # unmasked: it does

    # A (batch, seq, seq) mask applies to every head, like the same mask given per head.
    per_batch = np.stack([np.tril(np.ones((6, 6), dtype=bool)), np.ones((6, 6), dtype=bool)])
    np.testing.assert_array_equal(
        mha(Tensor(x), mask=per_batch).data, mha(Tensor(x), mask=np.repeat(per_batch[:, None], 4, axis=1)).data
    )
    np.testing.assert_allclose(mha(Tensor(x), mask=per_batch).data[0], mha(Tensor(x[:1]), mask=causal_mask(6)).data[0], rtol=1e-6)


def test_bad_inputs_name_the_expected_shape():
    mha = MultiHeadAttention(embed_dim=8, num_heads=2, seed=0)
    for shape in ((2, 5, 6), (8,), (1, 2, 5, 8)):
        with pytest.raises(ValueError, match=r"expects x of shape \(batch, seq, 8\) or \(seq, 8\), got " + repr(shape).replace("(", r"\(").replace(")", r"\)")):
            mha(Tensor(np.zeros(shape, dtype=np.float32)))
    with pytest.raises(ValueError, match=r"mask of shape \(2, 1, 1, 4\) does not broadcast to the scores' shape \(2, 2, 5, 5\)"):
        mha(Tensor(np.zeros((2, 5, 8), dtype=np.float32)), mask=padding_mask(np.ones((2, 4))))
    with pytest.raises(TypeError, match="must be a float tensor, got dtype int64"):
        mha(Tensor(np.zeros((2, 5, 8), dtype=np.int64)))


def test_tokenizer_attention_mask_goes_through_attention_mask_not_mask():
    """A 2-D mask= is always (seq_q, seq_k), like PyTorch's attn_mask and upstream TinyTorch, for
    numbers as for bools; a tokenizer's (batch, seq) mask goes through attention_mask= (PyTorch's
    key_padding_mask, 1 = real token). With batch == seq both shapes fit, so they are told apart
    by the argument, never guessed."""
    mha = MultiHeadAttention(8, 2, seed=0)
    x = Tensor(np.random.default_rng(3).normal(size=(3, 3, 8)))
    attention_mask = [[1, 1, 0], [1, 1, 1], [1, 0, 0]]
    pattern = np.array(attention_mask, dtype=bool)
    as_pattern = mha(x, mask=attention_mask).data  # read as (seq_q, seq_k): query i may see keys pattern[i]
    np.testing.assert_allclose(as_pattern, reference_mha(x.data, mha, pattern), rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(as_pattern, mha(x, mask=pattern).data)
    np.testing.assert_array_equal(as_pattern, mha(x, mask=np.array(attention_mask, dtype=np.float32)).data)
    assert not np.allclose(as_pattern, mha(x, attention_mask=attention_mask).data)  # a different mask

    # attention_mask= takes it as it comes from the tokenizer: 1 = real token, 0 = padding.
    keys = np.array(attention_mask, dtype=bool)[:, None, None, :]
    want = reference_mha(x.data, mha, keys)
    for given in (attention_mask, np.array(attention_mask, dtype=bool), Tensor(np.array(attention_mask))):
        out = mha(x, attention_mask=given)
        np.testing.assert_allclose(out.data, want, rtol=1e-4, atol=1e-5)
        np.testing.assert_array_equal(out.data, mha(x, mask=padding_mask(attention_mask)).data)
    # ANDed with mask=: the same as combining the patterns by hand.
    causal = np.tril(np.ones((3, 3), dtype=bool))
    np.testing.assert_allclose(
        mha(x, mask=causal_mask(3), attention_mask=attention_mask).data,
        reference_mha(x.data, mha, causal[None, None] & keys), rtol=1e-4, atol=1e-5,
    )
    # Unbatched x (seq, embed_dim) takes a (seq,) attention_mask: the same as that batch row.
    np.testing.assert_allclose(
        mha(x[2], attention_mask=attention_mask[2]).data, mha(x, attention_mask=attention_mask).data[2], rtol=1e-6
    )

    with pytest.raises(ValueError, match=r"attention_mask must have shape \(3, 3\) \(\(batch, seq\) like x \(3, 3, 8\); .*got \(3, 1, 1, 3\)\. Hint"):
        mha(x, attention_mask=padding_mask(attention_mask))
    with pytest.raises(ValueError, match=r"attention_mask must have shape \(3,\) \(\(seq,\) like x \(3, 8\); .*got \(2,\)"):
        mha(x[0], attention_mask=[1, 1])
    with pytest.raises(ValueError, match=r"MultiHeadAttention attention_mask must be rectangular .*lengths \[3, 2, 3\]\. Hint: pad"):
        mha(x, attention_mask=[[1, 1, 1], [1, 1], [1, 0, 0]])
    with pytest.raises(ValueError, match=r"MultiHeadAttention mask of shape \(4, 4\) does not broadcast to the scores' shape \(3, 2, 3, 3\)"):
        mha(x, mask=causal_mask(4), attention_mask=attention_mask)


def test_bias_flag_must_be_a_bool():
    with pytest.raises(TypeError, match=r"MultiHeadAttention bias must be True or False, got str 'no'\. Hint"):
        MultiHeadAttention(8, 2, bias="no")
    assert MultiHeadAttention(8, 2, bias=np.bool_(False), seed=0).q_proj.bias is None


def test_upstream_style_float_masks_in_multihead_attention():
    """Upstream's masks are 0/1 floats, (seq, seq) or (batch, seq, seq); additive 0/-inf masks
    (PyTorch's float attn_mask) mean the same."""
    mha = MultiHeadAttention(8, 2, seed=1)
    x = np.random.default_rng(4).normal(size=(2, 5, 8))
    keep = np.tril(np.ones((5, 5)))
    want = mha(Tensor(x), mask=causal_mask(5)).data
    for mask in (Tensor(keep), keep, Tensor(np.tril(np.ones((2, 5, 5)))), np.where(keep == 1, 0.0, -np.inf)):
        np.testing.assert_array_equal(mha(Tensor(x), mask=mask).data, want)
    np.testing.assert_allclose(mha(Tensor(x), mask=np.where(keep == 1, 0.0, -1e9)).data, want, rtol=1e-5, atol=1e-6)
    bias = -np.abs(np.random.default_rng(5).normal(size=(5, 5)))  # a finite additive bias, every key kept
    np.testing.assert_allclose(
        mha(Tensor(x, dtype=np.float64), mask=bias).data, reference_mha(x, mha, None, bias=bias), rtol=1e-10, atol=1e-12
    )
    with pytest.raises(ValueError, match=r"MultiHeadAttention mask is neither a keep-mask nor an additive mask: it holds \[0\.5\]"):
        mha(Tensor(x), mask=np.full((5, 5), 0.5))
