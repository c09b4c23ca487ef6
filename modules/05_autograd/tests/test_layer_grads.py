"""Gradients through the layers of module 03 (Linear, Dropout) with module 05's engine."""

import numpy as np

from tinytorch.core.autograd import enable_autograd
from tinytorch.core.layers import Dropout, Linear
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


def check_linear(x_shape):
    layer = Linear(3, 2, seed=0)
    x0, w0, b0 = RNG.standard_normal(x_shape), RNG.standard_normal((3, 2)), RNG.standard_normal(2)
    upstream = RNG.standard_normal(x_shape[:-1] + (2,))

    def loss(x, w, b):
        layer.weight = Tensor(w, dtype=np.float64, requires_grad=True)
        layer.bias = Tensor(b, dtype=np.float64, requires_grad=True)
        xt = Tensor(x, dtype=np.float64, requires_grad=True)
        out = layer(xt)
        return float(np.sum(out.data * upstream)), out, xt

    _, out, xt = loss(x0, w0, b0)
    weight, bias = layer.weight, layer.bias  # loss() below swaps in fresh tensors
    out.backward(upstream)
    w_grad, b_grad = weight.grad.data, bias.grad.data
    np.testing.assert_allclose(xt.grad.data, numeric_grad(lambda x: loss(x, w0, b0)[0], x0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(w_grad, numeric_grad(lambda w: loss(x0, w, b0)[0], w0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(b_grad, numeric_grad(lambda b: loss(x0, w0, b)[0], b0), rtol=1e-6, atol=1e-8)
    # closed form: dW = x^T g summed over all leading dims, db = sum of g
    np.testing.assert_allclose(w_grad, x0.reshape(-1, 3).T @ upstream.reshape(-1, 2), rtol=1e-10)
    np.testing.assert_allclose(b_grad, upstream.reshape(-1, 2).sum(axis=0), rtol=1e-10)


def test_linear_grads_2d_input():
    check_linear((4, 3))


def test_linear_grads_3d_input():
    check_linear((2, 3, 3))


def test_linear_float32_parameters_get_float32_grads():
    layer = Linear(3, 2, seed=0)
    layer(Tensor(np.ones((5, 3)))).sum().backward()
    assert layer.weight.grad.dtype == np.float32
    np.testing.assert_allclose(layer.weight.grad.data, np.full((3, 2), 5.0))
    np.testing.assert_allclose(layer.bias.grad.data, [5.0, 5.0])


def test_dropout_grad_is_mask_over_keep_probability():
    drop = Dropout(0.4, seed=0)
    x = Tensor(RNG.uniform(1.0, 2.0, size=(6, 7)), requires_grad=True)
    out = drop(x)
    out.sum().backward()
    kept = out.data != 0
    np.testing.assert_allclose(x.grad.data, kept / 0.6, rtol=1e-6)
    assert 0 < kept.sum() < kept.size


def test_dropout_eval_passes_gradient_unchanged():
    drop = Dropout(0.4, seed=0).eval()
    x = Tensor(np.ones((2, 2)), requires_grad=True)
    (drop(x) * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.data, np.full((2, 2), 3.0))


def test_dropout_p_one_gives_zero_gradient():
    x = Tensor(np.ones((3, 2)), requires_grad=True)
    out = Dropout(1.0, seed=0)(x)
    (out * 5.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.zeros((3, 2)))


def test_dropout_training_false_passes_gradient_unchanged():
    x = Tensor(np.ones((2, 2)), requires_grad=True)
    (Dropout(0.7, seed=0)(x, training=False) * 2.0).sum().backward()
    np.testing.assert_allclose(x.grad.data, np.full((2, 2), 2.0))
