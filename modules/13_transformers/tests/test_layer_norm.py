"""LayerNorm: values against a float64 numpy reference, finite-difference gradients of the input,
gamma and beta, parameters and their names, constant rows, dtypes, and bad input."""

import numpy as np
import pytest

from tinytorch.core.tensor import Tensor
from tinytorch.models.transformer import LayerNorm


def reference(x, gamma, beta, axes, eps):
    x = np.asarray(x, dtype=np.float64)
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


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


def to_float64(ln):
    ln.gamma.data = ln.gamma.data.astype(np.float64)
    ln.beta.data = ln.beta.data.astype(np.float64)
    return ln


def test_parameters_names_and_initial_values():
    ln = LayerNorm(6)
    assert ln.normalized_shape == (6,) and ln.eps == 1e-5
    params = ln.parameters()
    assert len(params) == 2 and params[0] is ln.gamma and params[1] is ln.beta
    assert ln.weight is ln.gamma and ln.bias is ln.beta  # PyTorch's names, the same Tensors
    np.testing.assert_array_equal(ln.gamma.data, np.ones(6))
    np.testing.assert_array_equal(ln.beta.data, np.zeros(6))
    assert ln.gamma.dtype == np.float32 and ln.gamma.requires_grad and ln.beta.requires_grad
    assert LayerNorm((3, 4)).gamma.shape == (3, 4)
    assert repr(LayerNorm(6)) == "LayerNorm(6, eps=1e-05)"


def test_values_match_the_float64_reference():
    rng = np.random.default_rng(0)
    for shape, normalized in (((5, 8), 8), ((2, 3, 8), 8), ((2, 3, 4), (3, 4))):
        ln = to_float64(LayerNorm(normalized, eps=1e-3))
        ln.gamma.data = rng.normal(size=ln.gamma.shape)
        ln.beta.data = rng.normal(size=ln.beta.shape)
        x = rng.normal(size=shape) * 3 + 2
        axes = tuple(range(len(shape) - len(ln.normalized_shape), len(shape)))
        out = ln(Tensor(x, dtype=np.float64))
        assert out.shape == shape and out.dtype == np.float64
        np.testing.assert_allclose(out.data, reference(x, ln.gamma.data, ln.beta.data, axes, 1e-3), rtol=1e-12, atol=1e-12)


def test_each_row_is_normalized_to_mean_0_and_std_1():
    """Upstream's own check: with gamma = 1, beta = 0 every position has mean 0 and std 1."""
    out = LayerNorm(4)(Tensor([[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data.mean(axis=-1), 0.0, atol=1e-6)
    np.testing.assert_allclose(out.data.std(axis=-1), 1.0, atol=1e-4)
    np.testing.assert_allclose(out.data[0], [-1.3416, -0.4472, 0.4472, 1.3416], atol=1e-4)
    # Each row on its own: scaling and shifting one row changes nothing.
    np.testing.assert_allclose(LayerNorm(4)(Tensor([[10.0, 20.0, 30.0, 40.0]])).data[0], out.data[0], atol=1e-5)


def test_gradients_match_finite_differences():
    rng = np.random.default_rng(1)
    for shape, normalized in (((2, 3, 5), 5), ((2, 3, 4), (3, 4))):
        ln = to_float64(LayerNorm(normalized))
        ln.gamma.data = rng.normal(size=ln.gamma.shape)
        ln.beta.data = rng.normal(size=ln.beta.shape)
        x = Tensor(rng.normal(size=shape), dtype=np.float64, requires_grad=True)
        R = Tensor(rng.normal(size=shape), dtype=np.float64)

        def loss():
            return (ln(x) * R).sum()

        loss().backward()
        for t in (x, ln.gamma, ln.beta):
            assert t.grad.shape == t.shape
            np.testing.assert_allclose(t.grad.data, central_differences(loss, t), rtol=1e-6, atol=1e-8)
        # The closed forms: d/d beta = sum of R over the batch dims, d/d gamma = sum of R * x_hat.
        lead = tuple(range(len(shape) - len(ln.normalized_shape)))
        axes = tuple(range(len(lead), len(shape)))
        x_hat = reference(x.data, 1.0, 0.0, axes, ln.eps)
        np.testing.assert_allclose(ln.beta.grad.data, R.data.sum(axis=lead), rtol=1e-12)
        np.testing.assert_allclose(ln.gamma.grad.data, (R.data * x_hat).sum(axis=lead), rtol=1e-10)
        # The input gradient of a normalized row sums to 0 (the mean is subtracted).
        ln.gamma.data[...] = 1.0
        x.grad = None
        (ln(x) * R).sum().backward()
        np.testing.assert_allclose(x.grad.data.sum(axis=axes), 0.0, atol=1e-10)


def test_constant_rows_give_beta_and_finite_gradients():
    ln = LayerNorm(3)
    ln.beta.data[...] = [0.5, -1.0, 2.0]
    x = Tensor(np.full((2, 3), 7.0), requires_grad=True)
    out = ln(x)
    np.testing.assert_allclose(out.data, [[0.5, -1.0, 2.0]] * 2, atol=1e-6)
    out.sum().backward()
    assert np.all(np.isfinite(x.grad.data)) and np.all(np.isfinite(ln.gamma.grad.data))


def test_float32_stays_float32_and_lists_are_accepted():
    out = LayerNorm(3)([[1.0, 2.0, 4.0]])
    assert out.dtype == np.float32 and out.shape == (1, 3)


def test_bad_arguments_and_inputs():
    for bad in (0, -2):
        with pytest.raises(ValueError, match=rf"normalized_shape must be a positive int \(>= 1\), got {bad}"):
            LayerNorm(bad)
    for bad in (2.5, "64", True, None, ()):
        with pytest.raises(TypeError, match="normalized_shape must be a positive int"):
            LayerNorm(bad)
    for bad in (0, -1e-5, float("nan"), float("inf"), "1e-5", True):
        with pytest.raises(ValueError, match=r"eps must be a positive finite number.*Hint"):
            LayerNorm(4, eps=bad)
    ln = LayerNorm(4)
    with pytest.raises(ValueError, match=r"expects input of shape \(\.\.\., 4\), got \(2, 3\).*Hint"):
        ln(Tensor(np.zeros((2, 3))))
    with pytest.raises(ValueError, match=r"expects input of shape \(\.\.\., 3, 4\), got \(4,\)"):
        LayerNorm((3, 4))(Tensor(np.zeros(4)))
    with pytest.raises(TypeError, match=r"float tensor.*got dtype int64.*Hint"):
        ln(Tensor(np.zeros((2, 4), dtype=np.int64)))
