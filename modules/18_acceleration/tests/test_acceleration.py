"""enable() / disable(), and the accelerated path against the reference path: bitwise where the
maths is the same (embedding, softmax, the engine), float32 rounding for the fused attention."""

import numpy as np
import pytest

from tinytorch.acceleration.engine import AcceleratedEngine
from tinytorch.core import acceleration
from tinytorch.core.attention import MultiHeadAttention, causal_mask, scaled_dot_product_attention
from tinytorch.core.autograd import AutogradEngine, RowSparseGrad, embedding_lookup, reference_engine
from tinytorch.core.kernels import accelerate, accelerated_kernels, kernel, reference_kernel, restore
from tinytorch.core.tensor import Tensor, autograd_engine
from tinytorch.text.embedding_core import Embedding

# Importing module 18 (above) must not switch anything on: this is read before any test runs.
ENABLED_AT_IMPORT = acceleration.is_enabled()
ACCELERATED_AT_IMPORT = accelerated_kernels()


@pytest.fixture(autouse=True)
def reference_afterwards():
    yield
    acceleration.disable()


def both_paths(fn):
    """fn() on the reference path, then on the accelerated one."""
    acceleration.disable()
    reference = fn()
    acceleration.enable()
    accelerated = fn()
    acceleration.disable()
    return reference, accelerated


def test_import_registers_only_and_enable_disable_switch_every_kernel_and_the_engine():
    assert ENABLED_AT_IMPORT is False and ACCELERATED_AT_IMPORT == {}
    acceleration.enable()
    acceleration.enable()  # idempotent
    assert acceleration.is_enabled() and isinstance(autograd_engine(), AcceleratedEngine)
    assert set(accelerated_kernels()) == set(acceleration.KERNELS) == {"gather_rows", "scatter_add_rows", "masked_softmax", "attention"}
    for name, fn in acceleration.KERNELS.items():
        assert kernel(name) is fn and reference_kernel(name) is not fn
    acceleration.disable()
    acceleration.disable()
    assert not acceleration.is_enabled() and autograd_engine() is reference_engine()
    assert accelerated_kernels() == {}
    assert all(kernel(name) is reference_kernel(name) for name in acceleration.KERNELS)
    with acceleration.enabled():
        assert acceleration.is_enabled()
    assert not acceleration.is_enabled()


def test_registry_refuses_unknown_kernels_with_a_hint():
    with pytest.raises(ValueError, match=r"unknown kernel 'nope'.*gather_rows.*Hint"):
        accelerate("nope", len)
    with pytest.raises(ValueError, match=r"unknown kernel 'nope'"):
        restore("nope")
    with pytest.raises(TypeError, match=r"needs a callable, got int"):
        accelerate("gather_rows", 3)


def grads_of(fn, *tensors):
    out = fn()
    return out.data.copy(), [t.grad.data.copy() for t in tensors]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_embedding_dense_forward_and_backward_are_bitwise_the_same(dtype):
    rng = np.random.default_rng(0)
    # Heavy ids (padding 0 used 600 times), a long tail and rows never used.
    ids = np.concatenate([np.zeros(600, np.int64), rng.zipf(1.3, size=3000) % 5000]).reshape(8, -1)
    upstream = rng.standard_normal(ids.shape + (32,)).astype(dtype)

    def run():
        w = Tensor(np.random.default_rng(1).standard_normal((5000, 32)), dtype=dtype, requires_grad=True)
        out = embedding_lookup(w, ids)
        out.backward(upstream)
        embedding_lookup(w, ids[:, :7]).backward(upstream[:, :7])  # accumulates into the same table
        return out.data, w.grad.data

    (out_ref, grad_ref), (out_fast, grad_fast) = both_paths(run)
    np.testing.assert_array_equal(out_fast, out_ref)
    np.testing.assert_array_equal(grad_fast, grad_ref)
    assert grad_fast.dtype == dtype


def test_embedding_sparse_gradients_are_bitwise_the_same_and_accelerated_values_are_read_only():
    rng = np.random.default_rng(2)
    ids = rng.integers(0, 300, size=(4, 50))
    upstream = rng.standard_normal((4, 50, 8)).astype(np.float32)
    grads = []

    def run():
        emb = Embedding(300, 8, seed=0, sparse=True)
        emb(ids).backward(upstream)
        emb(ids[:, :3]).backward(upstream[:, :3])  # sparse + sparse stays sparse
        grads.append(emb.weight.grad)
        return emb.weight.grad.coalesce()

    (rows_ref, sums_ref), (rows_fast, sums_fast) = both_paths(run)
    np.testing.assert_array_equal(rows_fast, rows_ref)
    np.testing.assert_array_equal(sums_fast, sums_ref)
    assert all(isinstance(g, RowSparseGrad) for g in grads)
    one = Tensor(np.zeros((5, 2), np.float32), requires_grad=True)
    with acceleration.enabled():
        embedding_lookup(one, [1, 3], sparse=True).backward(np.ones((2, 2), np.float32))
        with pytest.raises(ValueError, match="read-only"):
            one.grad.values[0, 0] = 5.0  # kept without a copy, like PyTorch


@pytest.mark.parametrize("mask", [None, "causal"])
def test_attention_with_weights_is_bitwise_the_same(mask):
    # need_weights=True runs the same ops on both paths; only the softmax is done in place.
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal((2, 3, 40, 8)).astype(np.float32) for _ in range(3)]
    upstream = rng.standard_normal((2, 3, 40, 8)).astype(np.float32)

    def run():
        q, k, v = (Tensor(a, requires_grad=True) for a in arrays)
        out, weights = scaled_dot_product_attention(q, k, v, causal_mask(40) if mask else None)
        out.backward(upstream)
        return [out.data, weights.data, q.grad.data, k.grad.data, v.grad.data]

    reference, accelerated = both_paths(run)
    for got, want in zip(accelerated, reference):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype, rtol", [(np.float32, 2e-5), (np.float64, 1e-12)])
def test_multihead_attention_training_step_agrees_within_rounding(dtype, rtol):
    rng = np.random.default_rng(4)
    x_data = rng.standard_normal((2, 70, 16))

    def run():
        mha = MultiHeadAttention(16, 4, seed=0)
        for p in mha.parameters():
            p.data = p.data.astype(dtype)
        x = Tensor(x_data, dtype=dtype, requires_grad=True)
        out = mha(x, causal_mask(70))
        (out * out).sum().backward()
        return [out.data, x.grad.data] + [p.grad.data for p in mha.parameters()]

    reference, accelerated = both_paths(run)
    for got, want in zip(accelerated, reference):
        assert got.dtype == dtype
        # The k_proj bias gradient is 0 in exact arithmetic (a softmax ignores a common shift):
        # both paths give rounding noise there, so the absolute tolerance is on the scale of 1.
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * max(1.0, np.abs(want).max()))


def test_the_accelerated_engine_is_an_autograd_engine():
    # enable_autograd() (called by tests and by upstream code) must keep the accelerated engine.
    from tinytorch.core.autograd import enable_autograd

    with acceleration.enabled():
        assert isinstance(autograd_engine(), AutogradEngine)
        assert enable_autograd() is autograd_engine() and acceleration.is_enabled()


@pytest.mark.parametrize("flag", ["no", 0, None])
def test_enabled_refuses_a_flag_that_is_not_a_bool(flag):
    before = acceleration.is_enabled()
    with pytest.raises(TypeError) as info:
        acceleration.enabled(flag)
    message = str(info.value)
    assert message.startswith("acceleration.enabled on ") and repr(flag)[:10] in message and "Hint" in message
    assert acceleration.is_enabled() == before
