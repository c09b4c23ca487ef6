"""Forward values, stability and op recording of the activations.

Module 02 may not depend on module 05, so gradient checks of these activations live in
modules/05_autograd/tests/test_activation_grads.py; here a fake engine checks that each
activation records the op name (and saved values) that 05's backward rules expect.
"""

import math
import re

import numpy as np
import pytest

from tinytorch.core.activations import GELU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from tinytorch.core.tensor import Tensor, register_autograd_engine

X = np.array([[-3.0, -0.5, 0.0], [0.5, 2.0, 10.0]], dtype=np.float32)


class FakeEngine:
    def __init__(self):
        self.calls = []

    def record(self, op_name, out, inputs, /, **saved):
        self.calls.append((op_name, inputs, saved))
        out.requires_grad = True

    def backward(self, tensor, grad):
        raise AssertionError("not used")


@pytest.fixture
def fake_engine():
    engine = FakeEngine()
    previous = register_autograd_engine(engine)
    yield engine
    register_autograd_engine(previous)


def test_relu_values():
    out = ReLU()(Tensor(X))
    np.testing.assert_array_equal(out.data, [[0, 0, 0], [0.5, 2, 10]])
    assert out.dtype == np.float32 and out.shape == X.shape


def test_sigmoid_values_and_no_overflow():
    x64 = X.astype(np.float64)
    np.testing.assert_allclose(Sigmoid()(Tensor(X)).data, 1 / (1 + np.exp(-x64)), rtol=1e-6)
    with np.errstate(over="raise"):
        out = Sigmoid()(Tensor([-1000.0, 0.0, 1000.0])).data
    np.testing.assert_allclose(out, [0.0, 0.5, 1.0])


def test_tanh_values():
    np.testing.assert_allclose(Tanh()(Tensor(X)).data, np.tanh(X.astype(np.float64)), rtol=1e-6)


def test_gelu_default_is_the_exact_erf_form():
    xs = np.linspace(-6.0, 6.0, 241)
    want = np.array([0.5 * x * (1.0 + math.erf(x / math.sqrt(2.0))) for x in xs])
    got = GELU()(Tensor(xs, dtype=np.float64)).data
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)  # math.erf itself: far inside 1e-6
    assert np.max(np.abs(GELU(approximate="none")(Tensor(xs)).data - want)) < 1e-6  # float32 rounding only
    # x Phi(x) at 1 is 0.8413447461 (the tanh approximation gives 0.8411919906).
    np.testing.assert_allclose(GELU()(Tensor([1.0, -1.0, 0.0])).data, [0.8413447461, -0.1586552539, 0.0], rtol=1e-6)
    assert GELU()(Tensor(X)).dtype == np.float32 and GELU()(Tensor([1, 2])).dtype == np.float32


def test_gelu_tanh_approximation():
    out = GELU(approximate="tanh")(Tensor([1.0, -1.0, 2.0, 0.0])).data
    # 0.5 x (1 + tanh(sqrt(2/pi)(x + 0.044715 x^3))), as torch.nn.GELU(approximate="tanh").
    np.testing.assert_allclose(out, [0.8411919906, -0.1588080094, 1.9545976941, 0.0], rtol=1e-6)
    x64 = X.astype(np.float64)
    expected = 0.5 * x64 * (1 + np.tanh(np.sqrt(2 / np.pi) * (x64 + 0.044715 * x64**3)))
    np.testing.assert_allclose(GELU(approximate="tanh")(Tensor(X)).data, expected, rtol=1e-6, atol=1e-7)
    xs = Tensor(np.linspace(-5, 5, 101), dtype=np.float64)
    assert np.max(np.abs(GELU("tanh")(xs).data - GELU()(xs).data)) < 1e-3  # close, but not the same function


@pytest.mark.parametrize("bad", ["exact", "Tanh", None, 1])
def test_gelu_bad_approximate(bad):
    with pytest.raises(ValueError, match=rf"GELU approximate must be one of \('none', 'tanh'\), got {re.escape(repr(bad))}\. Hint"):
        GELU(approximate=bad)


def test_softmax_values_and_dims():
    x64 = X.astype(np.float64)
    expected_last = np.exp(x64) / np.exp(x64).sum(axis=-1, keepdims=True)
    expected_first = np.exp(x64) / np.exp(x64).sum(axis=0, keepdims=True)
    np.testing.assert_allclose(Softmax()(Tensor(X)).data, expected_last, rtol=1e-6)
    np.testing.assert_allclose(Softmax(dim=0)(Tensor(X)).data, expected_first, rtol=1e-6)
    np.testing.assert_allclose(Softmax(dim=-1)(Tensor(X)).data.sum(axis=-1), [1, 1], rtol=1e-6)


@pytest.mark.parametrize("act", [Softmax, LogSoftmax])
def test_dim_given_to_forward_or_call_overrides_the_constructor(act):
    """Upstream's form: Softmax()(scores, dim=-1) and softmax.forward(x, dim=0)."""
    for dim in (0, 1, -1, -2):
        want = act(dim=dim)(Tensor(X)).data
        np.testing.assert_array_equal(act()(Tensor(X), dim=dim).data, want)
        np.testing.assert_array_equal(act(dim=0).forward(Tensor(X), dim=dim).data, want)
    np.testing.assert_array_equal(act(dim=0).forward(Tensor(X)).data, act(dim=0)(Tensor(X)).data)  # None: the constructor's
    with pytest.raises(ValueError, match=rf"{act.__name__}\(dim=5\) is out of range for input of shape \(2, 3\) \(allowed: -2..1\)"):
        act()(Tensor(X), dim=5)
    with pytest.raises(TypeError, match=r"needs an int, got 1.0"):
        act().forward(Tensor(X), dim=1.0)


def test_softmax_stable_for_huge_logits():
    out = Softmax()(Tensor([[1e4, 1e4 - 1.0, -1e4], [1e4, 1e4, 1e4]])).data
    assert np.all(np.isfinite(out))
    e = np.exp([0.0, -1.0])
    np.testing.assert_allclose(out[0], [e[0] / e.sum(), e[1] / e.sum(), 0.0], rtol=1e-6, atol=1e-30)
    np.testing.assert_allclose(out[1], [1 / 3, 1 / 3, 1 / 3], rtol=1e-6)


def test_log_softmax_values_and_stability():
    x64 = X.astype(np.float64)
    expected = x64 - np.log(np.exp(x64).sum(axis=-1, keepdims=True))
    np.testing.assert_allclose(LogSoftmax()(Tensor(X)).data, expected, rtol=1e-5, atol=1e-6)
    out = LogSoftmax()(Tensor([1e4, 0.0])).data
    np.testing.assert_allclose(out, [0.0, -1e4], rtol=1e-6)


def test_activations_accept_arrays_and_keep_float64():
    out = ReLU()(np.array([-1.0, 2.0]))
    assert isinstance(out, Tensor) and out.data.tolist() == [0.0, 2.0]
    assert Tanh()(Tensor([0.5], dtype=np.float64)).dtype == np.float64
    assert Softmax()(Tensor([0.5, 1.0], dtype=np.float64)).dtype == np.float64


def test_softmax_bad_dim_message():
    with pytest.raises(ValueError, match=r"Softmax\(dim=2\) is out of range for input of shape \(2, 3\) \(allowed: -2..1\)"):
        Softmax(dim=2)(Tensor(X))
    with pytest.raises(TypeError, match=r"dim=\.\.\.\) needs an int, got 'last'"):
        Softmax(dim="last")


@pytest.mark.parametrize("act", [Softmax, LogSoftmax])
def test_softmax_over_an_empty_axis_is_rejected(act):
    name = act.__name__
    with pytest.raises(ValueError, match=rf"{name}\(dim=-1\) needs at least one element along dim -1, got input of shape \(2, 0\)"):
        act()(Tensor(np.ones((2, 0))))
    with pytest.raises(ValueError, match=rf"{name}\(dim=0\) needs at least one element.*shape \(0, 3\).*Hint"):
        act(dim=0)(Tensor(np.ones((0, 3))))
    # An empty batch with a non-empty class axis is fine: an empty result of the same shape.
    assert act()(Tensor(np.ones((0, 3)))).shape == (0, 3)


def test_activations_record_ops_for_autograd(fake_engine):
    x = Tensor(X, requires_grad=True)
    for act, name in [(ReLU(), "relu"), (Sigmoid(), "sigmoid"), (Tanh(), "tanh"), (GELU(), "gelu"),
                      (Softmax(dim=0), "softmax"), (LogSoftmax(), "log_softmax")]:
        out = act(x)
        op, inputs, saved = fake_engine.calls[-1]
        assert op == name and inputs == (x,) and out.requires_grad
    assert fake_engine.calls[4][2]["dim"] == 0
    np.testing.assert_allclose(fake_engine.calls[4][2]["out"], Softmax(dim=0)(Tensor(X)).data)
    assert fake_engine.calls[5][2]["dim"] == 1
    assert fake_engine.calls[3][2]["approximate"] == "none"
    cdf = [[0.5 * (1 + math.erf(float(v) / math.sqrt(2))) for v in row] for row in X]
    np.testing.assert_allclose(fake_engine.calls[3][2]["cdf"], cdf, rtol=1e-12)  # Phi(x), for the backward
    GELU(approximate="tanh")(x)
    assert fake_engine.calls[-1][2] == {"approximate": "tanh"}


def test_no_parameters_and_repr():
    assert ReLU().parameters() == []
    assert repr(Softmax(dim=0)) == "Softmax(dim=0)"
    assert repr(GELU()) == "GELU()"
    assert repr(GELU(approximate="tanh")) == "GELU(approximate='tanh')"
