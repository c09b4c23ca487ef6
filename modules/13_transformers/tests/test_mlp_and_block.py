"""MLP and TransformerBlock: values against float64 numpy references, finite-difference gradients,
dropout, the pre-norm residual layout, causal masking (flag and mask), padding, parameters, and
bad input."""

import math

import numpy as np
import pytest

from tinytorch.core.attention import causal_mask, combine_masks, padding_mask
from tinytorch.core.tensor import Tensor
from tinytorch.models.transformer import MLP, LayerNorm, TransformerBlock


def central_differences(loss, t, eps=1e-6):
    """d loss() / d t.data by central differences, element by element (float64)."""
    numeric = np.zeros_like(t.data)
    for idx in np.ndindex(t.shape):
        old = t.data[idx]
        t.data[idx] = old + eps
        plus = loss().item()
        t.data[idx] = old - eps
        minus = loss().item()
        t.data[idx] = old
        numeric[idx] = (plus - minus) / (2 * eps)
    return numeric


def to_float64(module, rng=None):
    """Every parameter as float64 (biases and LayerNorm shifts randomised, so they matter)."""
    for p in module.parameters():
        p.data = p.data.astype(np.float64)
        if rng is not None and p.ndim == 1:
            p.data += rng.normal(size=p.shape) * 0.1
    return module


def linear(lin, a):
    out = a @ lin.weight.data
    return out + lin.bias.data if lin.bias is not None else out


def reference_mlp(mlp, x):
    hidden = linear(mlp.linear1, x)
    return linear(mlp.linear2, mlp.gelu(Tensor(hidden, dtype=np.float64)).data)


def reference_layer_norm(ln, x):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + ln.eps) * ln.gamma.data + ln.beta.data


def reference_attention(mha, x, allowed):
    """Multi-head self-attention in float64 numpy, head by head; allowed: bool (batch, seq, seq)."""
    q, k, v = linear(mha.q_proj, x), linear(mha.k_proj, x), linear(mha.v_proj, x)
    batch, seq, d = x.shape
    hd = d // mha.num_heads
    heads = np.zeros((batch, seq, d))
    for b in range(batch):
        for h in range(mha.num_heads):
            cols = slice(h * hd, (h + 1) * hd)
            scores = np.where(allowed[b], q[b, :, cols] @ k[b, :, cols].T / np.sqrt(hd), -np.inf)
            e = np.exp(scores - scores.max(axis=-1, keepdims=True))
            heads[b, :, cols] = (e / e.sum(axis=-1, keepdims=True)) @ v[b, :, cols]
    return linear(mha.out_proj, heads)


def reference_block(block, x, allowed):
    x = x + reference_attention(block.attention, reference_layer_norm(block.ln1, x), allowed)
    return x + reference_mlp(block.mlp, reference_layer_norm(block.ln2, x))


# ----------------------------------------------------------------------------------------------
# MLP
# ----------------------------------------------------------------------------------------------
def test_mlp_structure_and_parameters():
    mlp = MLP(8, seed=0)
    assert (mlp.embed_dim, mlp.hidden_dim) == (8, 32)  # 4x expansion by default
    assert mlp.linear1.weight.shape == (8, 32) and mlp.linear2.weight.shape == (32, 8)
    expected = [mlp.linear1.weight, mlp.linear1.bias, mlp.linear2.weight, mlp.linear2.bias]
    params = mlp.parameters()
    assert len(params) == 4 and all(a is b for a, b in zip(params, expected))
    assert MLP(8, hidden_dim=12).hidden_dim == 12
    assert mlp.dropout.p == 0.1 and mlp.dropout_prob == 0.1
    assert mlp.gelu.approximate == "tanh"  # GPT-2's form by default; "none" is the exact one
    assert MLP(8, gelu_approximate="none").gelu.approximate == "none"
    np.testing.assert_array_equal(MLP(8, seed=0).linear2.weight.data, mlp.linear2.weight.data)
    assert not np.array_equal(MLP(8, seed=1).linear2.weight.data, mlp.linear2.weight.data)


def test_mlp_values_match_the_reference():
    rng = np.random.default_rng(0)
    mlp = to_float64(MLP(6, hidden_dim=10, seed=0), rng).eval()
    x = rng.normal(size=(2, 3, 6))
    out = mlp(Tensor(x, dtype=np.float64))
    assert out.shape == (2, 3, 6) and out.dtype == np.float64
    np.testing.assert_allclose(out.data, reference_mlp(mlp, x), rtol=1e-12, atol=1e-12)
    # float32 in, float32 out; 2-D input works too.
    out32 = MLP(6, seed=0)(Tensor(x[0]))
    assert out32.dtype == np.float32 and out32.shape == (3, 6)
    # The hidden activation is GELU in the chosen form, written out here.
    h = linear(mlp.linear1, x)
    tanh_form = 0.5 * h * (1 + np.tanh(np.sqrt(2 / np.pi) * (h + 0.044715 * h**3)))
    np.testing.assert_allclose(out.data, linear(mlp.linear2, tanh_form), rtol=1e-12, atol=1e-12)
    exact = MLP(6, hidden_dim=10, gelu_approximate="none", seed=0).eval()
    for a, b in zip(exact.parameters(), mlp.parameters()):
        a.data = b.data.copy()
    erf = np.vectorize(math.erf)
    np.testing.assert_allclose(
        exact(Tensor(x, dtype=np.float64)).data, linear(mlp.linear2, h * 0.5 * (1 + erf(h / np.sqrt(2)))), rtol=1e-12, atol=1e-12
    )


def test_mlp_dropout_only_in_training():
    mlp = MLP(4, hidden_dim=8, dropout_prob=0.5, seed=0)
    x = Tensor(np.random.default_rng(1).normal(size=(50, 4)))
    mlp.eval()
    clean = mlp(x).data
    np.testing.assert_array_equal(mlp(x).data, clean)  # eval: deterministic
    mlp.train()
    noisy = mlp(x).data
    dropped = noisy == 0
    assert 0.3 < dropped.mean() < 0.7
    np.testing.assert_allclose(noisy[~dropped], 2.0 * clean[~dropped], rtol=1e-5)  # kept / (1 - p)
    np.testing.assert_array_equal(MLP(4, hidden_dim=8, dropout_prob=0.0, seed=0)(x).data, clean)


def test_mlp_gradients_match_finite_differences():
    rng = np.random.default_rng(2)
    for form in ("tanh", "none"):
        mlp = to_float64(MLP(3, hidden_dim=5, dropout_prob=0.0, gelu_approximate=form, seed=3), rng)
        x = Tensor(rng.normal(size=(2, 2, 3)), dtype=np.float64, requires_grad=True)
        R = Tensor(rng.normal(size=(2, 2, 3)), dtype=np.float64)

        def loss():
            return (mlp(x) * R).sum()

        loss().backward()
        for t in [x] + mlp.parameters():
            np.testing.assert_allclose(t.grad.data, central_differences(loss, t), rtol=1e-6, atol=1e-8)


def test_mlp_bad_arguments():
    with pytest.raises(ValueError, match=r"MLP embed_dim must be a positive int \(>= 1\), got 0"):
        MLP(0)
    with pytest.raises(TypeError, match=r"MLP hidden_dim must be a positive int, got float 2.5"):
        MLP(4, hidden_dim=2.5)
    for bad in (1.0, -0.1, float("nan")):
        with pytest.raises(ValueError, match=r"MLP dropout_prob must be in \[0, 1\), got .*Hint"):
            MLP(4, dropout_prob=bad)
    with pytest.raises(TypeError, match=r"MLP dropout_prob must be a number in \[0, 1\), got str"):
        MLP(4, dropout_prob="0.1")
    with pytest.raises(ValueError, match=r"MLP\(embed_dim=4\) expects input of shape \(\.\.\., 4\), got \(2, 5\)"):
        MLP(4)(Tensor(np.zeros((2, 5))))
    with pytest.raises(TypeError, match="float tensor"):
        MLP(4)(Tensor(np.zeros((2, 4), dtype=np.int64)))
    with pytest.raises(ValueError, match=r"MLP gelu_approximate must be one of \('tanh', 'none'\), got 'erf'"):
        MLP(4, gelu_approximate="erf")


# ----------------------------------------------------------------------------------------------
# TransformerBlock
# ----------------------------------------------------------------------------------------------
def test_block_structure_and_parameters():
    block = TransformerBlock(16, 4, seed=0)
    assert (block.embed_dim, block.num_heads, block.attention.head_dim) == (16, 4, 4)
    assert isinstance(block.ln1, LayerNorm) and isinstance(block.ln2, LayerNorm) and isinstance(block.mlp, MLP)
    assert block.mlp.hidden_dim == 64 and block.mlp.dropout.p == 0.1 and block.dropout.p == 0.1
    # Upstream's order: attention (4 projections x weight, bias), ln1, ln2, mlp.
    att = block.attention
    expected = [p for lin in (att.q_proj, att.k_proj, att.v_proj, att.out_proj) for p in (lin.weight, lin.bias)]
    expected += [block.ln1.gamma, block.ln1.beta, block.ln2.gamma, block.ln2.beta] + block.mlp.parameters()
    params = block.parameters()
    assert len(params) == 16 and all(a is b for a, b in zip(params, expected))
    assert TransformerBlock(128, 8, mlp_ratio=2).mlp.hidden_dim == 256  # upstream's check
    assert TransformerBlock(8, 2, mlp_ratio=1.5).mlp.hidden_dim == 12
    np.testing.assert_array_equal(TransformerBlock(16, 4, seed=0).mlp.linear1.weight.data, block.mlp.linear1.weight.data)


def test_block_values_match_the_reference_with_and_without_a_causal_mask():
    rng = np.random.default_rng(4)
    block = to_float64(TransformerBlock(8, 2, seed=1), rng).eval()
    x = rng.normal(size=(2, 5, 8))
    xt = Tensor(x, dtype=np.float64)
    everything = np.ones((2, 5, 5), dtype=bool)
    causal = np.broadcast_to(np.tril(np.ones((5, 5), dtype=bool)), (2, 5, 5))
    out = block(xt)
    assert out.shape == (2, 5, 8) and out.dtype == np.float64
    np.testing.assert_allclose(out.data, reference_block(block, x, everything), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(block(xt, causal=True).data, reference_block(block, x, causal), rtol=1e-10, atol=1e-12)
    # causal=True is exactly mask=causal_mask(seq), and upstream's block(x, mask) with its additive
    # (0 / -inf) or 0/1 float causal masks gives the same (module 12 reads all three forms).
    np.testing.assert_array_equal(block(xt, causal=True).data, block(xt, causal_mask(5)).data)
    additive = Tensor(np.triu(np.ones((5, 5)) * -np.inf, k=1))
    np.testing.assert_allclose(block(xt, additive).data, block(xt, causal=True).data, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(block(xt, Tensor(np.tril(np.ones((5, 5))))).data, block(xt, causal=True).data, rtol=1e-12, atol=1e-12)
    # Unbatched (seq, embed_dim) input gives the batch row.
    np.testing.assert_allclose(block(Tensor(x[1], dtype=np.float64), causal=True).data, block(xt, causal=True).data[1], rtol=1e-12)


def test_block_is_pre_norm_with_residuals():
    """With the attention and MLP output projections zeroed, the block is the identity: both
    sub-layers only add to the residual stream, and nothing normalizes the stream itself."""
    block = TransformerBlock(8, 2, seed=0).eval()
    for lin in (block.attention.out_proj, block.mlp.linear2):
        lin.weight.data[...] = 0.0
        lin.bias.data[...] = 0.0
    x = Tensor(np.random.default_rng(0).normal(size=(2, 3, 8)) * 5 + 3)
    np.testing.assert_array_equal(block(x).data, x.data)
    # The sub-layers see normalized input: scaling x does not change what attention adds.
    block2 = TransformerBlock(8, 2, seed=0).eval()
    block2.mlp.linear2.weight.data[...] = 0.0
    block2.mlp.linear2.bias.data[...] = 0.0
    added = block2(x).data - x.data
    np.testing.assert_allclose(block2(x * 10.0).data - 10.0 * x.data, added, rtol=1e-4, atol=1e-4)


def test_block_causal_outputs_ignore_future_positions():
    rng = np.random.default_rng(5)
    block = TransformerBlock(8, 2, seed=2).eval()
    x = rng.normal(size=(1, 6, 8)).astype(np.float32)
    changed = x.copy()
    changed[0, 4] += rng.normal(size=8).astype(np.float32)  # not a constant: LayerNorm would remove that
    a, b = block(Tensor(x), causal=True).data, block(Tensor(changed), causal=True).data
    np.testing.assert_allclose(a[0, :4], b[0, :4], rtol=1e-6, atol=1e-6)
    assert np.abs(a[0, 4:] - b[0, 4:]).min() > 1e-3
    # Without the causal mask the earlier positions do see the change.
    assert np.abs(block(Tensor(x)).data[0, :4] - block(Tensor(changed)).data[0, :4]).max() > 1e-3


def test_block_padding_mask_and_causal_combine():
    rng = np.random.default_rng(6)
    block = TransformerBlock(8, 2, seed=3).eval()
    x = Tensor(rng.normal(size=(2, 4, 8)))
    am = np.array([[1, 1, 1, 0], [1, 1, 0, 0]])
    expected = block(x, combine_masks(causal_mask(4), padding_mask(am))).data
    np.testing.assert_array_equal(block(x, attention_mask=am, causal=True).data, expected)
    np.testing.assert_array_equal(block(x, padding_mask(am), causal=True).data, expected)
    # The real tokens of row 1 (the first 2) match the same 2 tokens without padding.
    alone = block(Tensor(x.data[1:, :2]), causal=True).data
    np.testing.assert_allclose(expected[1, :2], alone[0], rtol=1e-6, atol=1e-6)


def test_block_gradients_match_finite_differences():
    rng = np.random.default_rng(7)
    block = to_float64(TransformerBlock(4, 2, mlp_ratio=2, dropout_prob=0.0, seed=4), rng)
    x = Tensor(rng.normal(size=(2, 3, 4)), dtype=np.float64, requires_grad=True)
    R = Tensor(rng.normal(size=(2, 3, 4)), dtype=np.float64)

    def loss():
        return (block(x, causal=True) * R).sum()

    loss().backward()
    for t in [x] + block.parameters():
        assert t.grad is not None and t.grad.shape == t.shape
        np.testing.assert_allclose(t.grad.data, central_differences(loss, t), rtol=1e-5, atol=1e-8)


def test_block_dropout_in_training_only():
    block = TransformerBlock(8, 2, dropout_prob=0.5, seed=0)
    x = Tensor(np.random.default_rng(0).normal(size=(2, 3, 8)))
    assert not np.array_equal(block(x).data, block(x).data)  # fresh masks each call
    block.eval()
    assert not block.mlp.dropout.training and not block.dropout.training
    np.testing.assert_array_equal(block(x).data, block(x).data)


def test_block_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match=r"TransformerBlock embed_dim=10 must be divisible by num_heads=3 .*Allowed num_heads for embed_dim=10: 1, 2, 5, 10.*Hint"):
        TransformerBlock(10, 3)
    with pytest.raises(ValueError, match=r"num_heads must be a positive int \(>= 1\), got 0"):
        TransformerBlock(8, 0)
    for bad in (0, -1, 0.05):
        with pytest.raises(ValueError, match=r"mlp_ratio=.* gives an MLP hidden size .*allowed: mlp_ratio > 0"):
            TransformerBlock(8, 2, mlp_ratio=bad)
    for bad in ("4", None, True):
        with pytest.raises(TypeError, match="mlp_ratio must be a positive number"):
            TransformerBlock(8, 2, mlp_ratio=bad)
    with pytest.raises(ValueError, match=r"TransformerBlock dropout_prob must be in \[0, 1\), got 1.5"):
        TransformerBlock(8, 2, dropout_prob=1.5)
    block = TransformerBlock(8, 2, seed=0)
    with pytest.raises(ValueError, match=r"expects x of shape \(batch, seq, 8\) or \(seq, 8\), got \(2, 3, 6\).*Hint"):
        block(Tensor(np.zeros((2, 3, 6))))
    with pytest.raises(ValueError, match=r"got \(8,\)"):
        block(Tensor(np.zeros(8)))
    with pytest.raises(TypeError, match=r"float tensor.*int64.*Hint: token ids go through an EmbeddingLayer"):
        block(Tensor(np.zeros((2, 3), dtype=np.int64)))
    with pytest.raises(TypeError, match=r"causal must be True or False, got str"):
        block(Tensor(np.zeros((2, 3, 8))), causal="yes")
    with pytest.raises(ValueError, match=r"neither a keep-mask nor an additive mask"):
        block(Tensor(np.zeros((2, 3, 8))), Tensor(np.full((3, 3), 0.5)))
