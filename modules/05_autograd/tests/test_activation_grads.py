"""Gradients of the activations of module 02 (their backward rules live in module 05)."""

import math

import numpy as np
import pytest

from tinytorch.core.activations import GELU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from tinytorch.core.autograd import enable_autograd
from tinytorch.core.tensor import Tensor

enable_autograd()
RNG = np.random.default_rng(0)


def gradcheck(fn, x, eps=1e-6, rtol=1e-5, atol=1e-8):
    """backward() of fn at float64 x against central differences of sum(fn(x) * w)."""
    x = np.array(x, dtype=np.float64)
    t = Tensor(x, dtype=np.float64, requires_grad=True)
    out = fn(t)
    w = RNG.standard_normal(out.shape)
    out.backward(w)
    numeric = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[idx] += eps
        minus[idx] -= eps
        numeric[idx] = (np.sum(fn(Tensor(plus, dtype=np.float64)).data * w) - np.sum(fn(Tensor(minus, dtype=np.float64)).data * w)) / (2 * eps)
    np.testing.assert_allclose(t.grad.data, numeric, rtol=rtol, atol=atol)
    return out


# Values kept away from 0 so ReLU's kink is not inside the finite-difference step.
X = np.array([[-2.0, -0.7, 0.3], [0.9, 1.7, 3.1]])


@pytest.mark.parametrize(
    "act,name",
    [(ReLU(), "ReLUBackward"), (Sigmoid(), "SigmoidBackward"), (Tanh(), "TanhBackward"), (GELU(), "GELUBackward"),
     (GELU(approximate="tanh"), "GELUBackward"),
     (Softmax(), "SoftmaxBackward"), (Softmax(dim=0), "SoftmaxBackward"), (LogSoftmax(), "LogSoftmaxBackward"),
     (LogSoftmax(dim=0), "LogSoftmaxBackward")],
)
def test_activation_grads(act, name):
    out = gradcheck(act, X)
    assert type(out._grad_fn).__name__ == name


def test_softmax_grad_3d():
    gradcheck(Softmax(dim=1), RNG.standard_normal((2, 3, 4)))


def test_relu_grad_closed_form():
    x = Tensor([-1.0, 0.5, 2.0], requires_grad=True)
    ReLU()(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0, 1, 1])


def test_softmax_grad_finite_for_huge_logits():
    x = Tensor([[1e4, 1e4 - 1.0, -1e4]], requires_grad=True)
    s = Softmax()(x)
    (s * Tensor([[1.0, 0.0, 0.0]])).sum().backward()
    p = s.data[0].astype(np.float64)
    np.testing.assert_allclose(x.grad.data[0], p[0] * (np.eye(3)[0] - p), rtol=1e-5, atol=1e-30)


def test_sigmoid_grad_float32_closed_form():
    x = Tensor([0.0, 2.0], requires_grad=True)
    Sigmoid()(x).sum().backward()
    s = 1 / (1 + np.exp(-np.array([0.0, 2.0])))
    np.testing.assert_allclose(x.grad.data, s * (1 - s), rtol=1e-6)
    assert x.grad.dtype == np.float32


def test_gelu_exact_grad_closed_form():
    """d/dx x Phi(x) = Phi(x) + x phi(x), against math.erf directly (and finite differences above)."""
    xs = np.linspace(-5.0, 5.0, 41)
    x = Tensor(xs, dtype=np.float64, requires_grad=True)
    GELU()(x).sum().backward()
    want = [0.5 * (1 + math.erf(v / math.sqrt(2))) + v * math.exp(-v * v / 2) / math.sqrt(2 * math.pi) for v in xs]
    np.testing.assert_allclose(x.grad.data, want, rtol=1e-12, atol=1e-15)
    x32 = Tensor(xs, requires_grad=True)
    GELU()(x32).sum().backward()
    assert x32.grad.dtype == np.float32
    np.testing.assert_allclose(x32.grad.data, want, rtol=1e-6, atol=1e-7)


def test_gelu_tanh_grad_closed_form():
    xs = np.linspace(-4.0, 4.0, 33)
    x = Tensor(xs, dtype=np.float64, requires_grad=True)
    GELU(approximate="tanh")(x).sum().backward()
    c = math.sqrt(2 / math.pi)
    t = np.tanh(c * (xs + 0.044715 * xs**3))
    want = 0.5 * (1 + t) + 0.5 * xs * (1 - t**2) * c * (1 + 3 * 0.044715 * xs**2)
    np.testing.assert_allclose(x.grad.data, want, rtol=1e-12)
