"""Gradients of the losses of module 04 (CrossEntropyBackward, BCEBackward and
BCEWithLogitsBackward live in module 05)."""

import numpy as np
import pytest

from tinytorch.core.autograd import enable_autograd
from tinytorch.core.losses import binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, log_softmax, mse_loss
from tinytorch.core.tensor import Tensor

enable_autograd()
RNG = np.random.default_rng(0)


def numeric_grad(f, x, eps=1e-6):
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[idx] += eps
        minus[idx] -= eps
        g[idx] = (f(plus) - f(minus)) / (2 * eps)
    return g


def test_mse_grads_for_pred_and_target():
    p0, t0 = RNG.standard_normal((3, 2)), RNG.standard_normal((3, 2))
    pred, target = Tensor(p0, dtype=np.float64, requires_grad=True), Tensor(t0, dtype=np.float64, requires_grad=True)
    mse_loss(pred, target).backward()

    def f(p, t):
        return mse_loss(Tensor(p, dtype=np.float64), Tensor(t, dtype=np.float64)).item()

    np.testing.assert_allclose(pred.grad.data, numeric_grad(lambda p: f(p, t0), p0), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(target.grad.data, numeric_grad(lambda t: f(p0, t), t0), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(pred.grad.data, 2 * (p0 - t0) / p0.size, rtol=1e-12)


@pytest.mark.parametrize("shape,ignore", [((4, 3), False), ((2, 3, 5), False), ((5, 4), True)])
def test_cross_entropy_grads(shape, ignore):
    z0 = RNG.standard_normal(shape) * 2.0
    ids = RNG.integers(0, shape[-1], size=shape[:-1])
    if ignore:
        ids[1] = ids[3] = -100
    logits = Tensor(z0, dtype=np.float64, requires_grad=True)
    loss = cross_entropy(logits, ids)
    assert type(loss._grad_fn).__name__ == "CrossEntropyBackward"
    loss.backward()
    expected = numeric_grad(lambda z: cross_entropy(Tensor(z, dtype=np.float64), ids).item(), z0)
    np.testing.assert_allclose(logits.grad.data, expected, rtol=1e-6, atol=1e-9)
    if ignore:
        np.testing.assert_array_equal(logits.grad.data[[1, 3]], 0.0)


def test_cross_entropy_grad_closed_form_for_huge_logits():
    z = np.array([[1e4, 0.0, -1e4], [0.0, 1e4, 1e4 - 2.0]], dtype=np.float32)
    logits = Tensor(z, requires_grad=True)
    cross_entropy(logits, [1, 2]).backward()
    p1 = np.array([0.0, 1.0, np.exp(-2.0)]) / (1.0 + np.exp(-2.0))
    expected = np.array([[1.0, -1.0, 0.0], p1 - np.eye(3)[2]]) / 2
    assert logits.grad.dtype == np.float32
    np.testing.assert_allclose(logits.grad.data, expected, rtol=1e-5, atol=1e-7)


def test_cross_entropy_upstream_grad_scales():
    z0 = RNG.standard_normal((3, 4))
    logits = Tensor(z0, dtype=np.float64, requires_grad=True)
    (cross_entropy(logits, [0, 1, 2]) * 3.0).backward()
    p = np.exp(z0) / np.exp(z0).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(logits.grad.data, 3.0 * (p - np.eye(4)[[0, 1, 2]]) / 3, rtol=1e-10)


def test_bce_on_probabilities_grads():
    p0 = RNG.uniform(0.05, 0.95, size=(3, 4))
    y = RNG.uniform(0, 1, size=(3, 4))  # soft labels: the formula is the same
    p = Tensor(p0, dtype=np.float64, requires_grad=True)
    loss = binary_cross_entropy(p, y)
    assert type(loss._grad_fn).__name__ == "BCEBackward"
    loss.backward()
    expected = numeric_grad(lambda a: binary_cross_entropy(Tensor(a, dtype=np.float64), y).item(), p0)
    np.testing.assert_allclose(p.grad.data, expected, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(p.grad.data, (p0 - y) / (p0 * (1 - p0)) / p0.size, rtol=1e-12)


def test_bce_grad_at_exact_zero_and_one_is_finite():
    p = Tensor([0.0, 1.0, 0.5], requires_grad=True)
    binary_cross_entropy(p, [1.0, 0.0, 1.0]).backward()
    assert np.all(np.isfinite(p.grad.data))
    assert p.grad.data[0] < -1e10 and p.grad.data[1] > 1e10  # (p - y) / max(p (1 - p), 1e-12) / n, as PyTorch
    np.testing.assert_allclose(p.grad.data[2], (0.5 - 1.0) / 0.25 / 3, rtol=1e-6)


def test_bce_with_logits_grads():
    z0 = RNG.standard_normal((2, 5)) * 3.0
    y = (RNG.random((2, 5)) < 0.5).astype(np.float64)
    z = Tensor(z0, dtype=np.float64, requires_grad=True)
    loss = binary_cross_entropy_with_logits(z, y)
    assert type(loss._grad_fn).__name__ == "BCEWithLogitsBackward"
    (loss * 2.0).backward()
    expected = numeric_grad(lambda a: 2.0 * binary_cross_entropy_with_logits(Tensor(a, dtype=np.float64), y).item(), z0)
    np.testing.assert_allclose(z.grad.data, expected, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(z.grad.data, 2.0 * (1 / (1 + np.exp(-z0)) - y) / z0.size, rtol=1e-10)
    huge = Tensor([1e4, -1e4, 0.0], requires_grad=True)  # float32, saturated sigmoid: still exact
    binary_cross_entropy_with_logits(huge, [0.0, 1.0, 1.0]).backward()
    np.testing.assert_allclose(huge.grad.data, np.array([1.0, -1.0, -0.5]) / 3, rtol=1e-6)


def test_log_softmax_function_grads():
    x0 = RNG.standard_normal((3, 4))
    w = RNG.standard_normal((3, 4))
    for dim in (-1, 0):
        x = Tensor(x0, dtype=np.float64, requires_grad=True)
        (log_softmax(x, dim=dim) * Tensor(w, dtype=np.float64)).sum().backward()
        expected = numeric_grad(lambda a: float(np.sum(log_softmax(Tensor(a, dtype=np.float64), dim=dim).data * w)), x0)
        np.testing.assert_allclose(x.grad.data, expected, rtol=1e-6, atol=1e-9)
