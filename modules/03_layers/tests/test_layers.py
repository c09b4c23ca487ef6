"""Module, Linear and Dropout: values, init, modes and validation.

Module 03 may not depend on module 05, so gradient checks of these layers live in
modules/05_autograd/tests/test_layer_grads.py.
"""

import re

import numpy as np
import pytest

from tinytorch.core.layers import Dropout, Layer, Linear, Module, make_rng
from tinytorch.core.tensor import Tensor


# --- Linear -----------------------------------------------------------------------------------
def test_linear_shapes_dtypes_and_parameters():
    layer = Linear(4, 3, seed=0)
    assert layer.weight.shape == (4, 3) and layer.bias.shape == (3,)
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    assert layer.weight.requires_grad and layer.bias.requires_grad
    params = layer.parameters()
    assert len(params) == 2 and params[0] is layer.weight and params[1] is layer.bias
    np.testing.assert_array_equal(layer.bias.data, np.zeros(3))


def test_linear_forward_is_x_at_w_plus_b():
    layer = Linear(3, 2, seed=0)
    layer.bias = Tensor([0.5, -1.0], requires_grad=True)
    x = np.array([[1.0, 2.0, 3.0], [-1.0, 0.0, 1.0]], dtype=np.float32)
    np.testing.assert_allclose(layer(Tensor(x)).data, x @ layer.weight.data + np.array([0.5, -1.0]), rtol=1e-6)
    layer.weight = Tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    np.testing.assert_allclose(layer(x).data, [[16.5, 21.0], [4.5, 3.0]])


def test_linear_on_batched_3d_input():
    layer = Linear(4, 5, seed=1)
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    out = layer(Tensor(x))
    assert out.shape == (2, 3, 5)
    np.testing.assert_allclose(out.data, x @ layer.weight.data + layer.bias.data, rtol=1e-5, atol=1e-6)


def test_linear_without_bias():
    layer = Linear(3, 2, bias=False, seed=0)
    assert layer.bias is None
    assert layer.parameters() == [layer.weight]
    x = np.ones((1, 3), dtype=np.float32)
    np.testing.assert_allclose(layer(x).data, x @ layer.weight.data, rtol=1e-6)


def test_linear_init_is_seeded_and_bounded():
    a, b = Linear(64, 32, seed=7), Linear(64, 32, seed=7)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    assert not np.array_equal(a.weight.data, Linear(64, 32, seed=8).weight.data)
    xavier = np.sqrt(6.0 / (64 + 32))
    assert np.abs(a.weight.data).max() <= xavier
    assert np.abs(a.weight.data).max() > 0.9 * xavier  # uses the whole range
    kaiming = Linear(64, 32, init="kaiming", seed=7)
    assert np.sqrt(6.0 / (64 + 32)) < np.abs(kaiming.weight.data).max() <= np.sqrt(6.0 / 64)
    # rng= draws from the given generator: the same weights as seed=3, and the generator moves on.
    rng = np.random.default_rng(3)
    np.testing.assert_array_equal(Linear(2, 2, rng=rng).weight.data, Linear(2, 2, seed=3).weight.data)
    assert not np.array_equal(Linear(2, 2, rng=rng).weight.data, Linear(2, 2, seed=3).weight.data)


def test_unseeded_layers_follow_numpy_global_seed():
    # No seed and no rng: the generator is seeded from np.random's global state, so
    # np.random.seed(n) makes the whole model reproducible (like torch.manual_seed).
    np.random.seed(3)
    first = Linear(4, 3)
    np.random.seed(3)
    again = Linear(4, 3)
    np.testing.assert_array_equal(first.weight.data, again.weight.data)
    other = Linear(4, 3)  # the global state moved on: a different draw
    assert not np.array_equal(other.weight.data, first.weight.data)


def test_make_rng_sources_and_errors():
    gen = np.random.default_rng(1)
    assert make_rng(rng=gen) is gen
    np.testing.assert_array_equal(make_rng(seed=5).random(3), np.random.default_rng(5).random(3))
    with pytest.raises(ValueError, match="either seed or rng"):
        make_rng(seed=1, rng=gen)
    with pytest.raises(TypeError, match="rng must be a numpy Generator, got RandomState"):
        make_rng(rng=np.random.RandomState(0))


def test_linear_bad_arguments():
    with pytest.raises(ValueError, match=r"in_features must be a positive int \(>= 1\), got 0"):
        Linear(0, 3)
    with pytest.raises(TypeError, match=r"out_features must be a positive int, got float 2\.5"):
        Linear(3, 2.5)
    with pytest.raises(TypeError, match=r"Linear bias must be True or False, got str 'no'"):
        Linear(3, 2, bias="no")
    for seed, error in ((1.5, TypeError), ("a", TypeError), (True, TypeError), (-1, ValueError)):
        with pytest.raises(error, match=r"seed must be a non-negative int, got .*Hint: seed=0"):
            Linear(3, 2, seed=seed)
    with pytest.raises(ValueError, match=r"init must be 'xavier' or 'kaiming', got 'normal'"):
        Linear(3, 2, init="normal")
    with pytest.raises(ValueError, match=r"either seed or rng"):
        Linear(3, 2, seed=0, rng=np.random.default_rng(0))


def test_linear_bad_input_shape_message():
    with pytest.raises(ValueError, match=r"Linear\(4, 3\) expects input of shape \(\.\.\., 4\), got \(2, 5\)"):
        Linear(4, 3, seed=0)(Tensor(np.ones((2, 5))))


# --- Dropout ----------------------------------------------------------------------------------
def test_dropout_training_zeroes_and_scales():
    drop = Dropout(0.25, seed=0)
    x = Tensor(np.full((200, 50), 2.0))
    out = drop(x).data
    kept = out != 0
    np.testing.assert_allclose(out[kept], 2.0 / 0.75)
    assert abs(1.0 - kept.mean() - 0.25) < 0.02  # 10,000 draws: fraction dropped close to p
    assert abs(out.mean() - 2.0) < 0.05  # inverted scaling keeps the expectation


def test_dropout_is_seeded():
    x = Tensor(np.ones((4, 4)))
    np.testing.assert_array_equal(Dropout(0.5, seed=3)(x).data, Dropout(0.5, seed=3)(x).data)


def test_dropout_eval_and_p_zero_are_identity():
    x = Tensor(np.arange(6.0).reshape(2, 3))
    drop = Dropout(0.9, seed=0)
    assert drop.eval() is drop and drop.training is False
    out = drop(x)
    assert out is x
    assert Dropout(0.0, seed=0)(x) is x
    drop.train()
    assert drop.training is True
    assert np.count_nonzero(drop(Tensor(np.ones(1000))).data) < 200


@pytest.mark.parametrize("p", [-0.1, 1.0000001, 1.5, "0.5", None, True])
def test_dropout_bad_p(p):
    with pytest.raises(ValueError, match=rf"Dropout probability p must be in \[0, 1\], got {re.escape(repr(p))}\. Hint"):
        Dropout(p)


def test_dropout_p_one_zeroes_everything():
    x = Tensor(np.arange(1.0, 7.0).reshape(2, 3), requires_grad=True)
    out = Dropout(1.0, seed=0)(x)
    np.testing.assert_array_equal(out.data, np.zeros((2, 3)))
    assert out.dtype == np.float32 and out.shape == (2, 3)
    assert Dropout(1.0).eval()(x) is x  # eval mode: identity, as for any p


def test_dropout_training_argument_overrides_the_mode():
    """Upstream's form: dropout.forward(x, training=False) / dropout(x, training=True)."""
    x = Tensor(np.ones((50, 40)))
    drop = Dropout(0.5, seed=1)
    assert drop(x, training=False) is x and drop.forward(x, training=False) is x
    dropped = drop.forward(x, training=True).data
    assert 0 < np.count_nonzero(dropped) < dropped.size
    drop.eval()
    assert drop(x) is x  # training=None follows the mode
    again = drop(x, training=True).data
    assert 0 < np.count_nonzero(again) < again.size
    drop.train()
    assert drop(x, training=False) is x
    for bad in ("yes", 1, 0.0):
        with pytest.raises(TypeError, match=r"Dropout\.forward training must be True or False, got .*Hint: e\.g\. training=False"):
            drop(x, training=bad)


def test_layer_is_the_module_base_class():
    """Upstream's layers subclass Layer and override forward (and often parameters)."""

    class Scale(Layer):
        def __init__(self):
            self.w = Tensor([2.0], requires_grad=True)  # no super().__init__(): still a working Module

        def forward(self, x, shift=0.0):
            return x * self.w + shift

    layer = Scale()
    assert Layer is Module and isinstance(layer, Module) and layer.training is True
    assert layer(Tensor([3.0])).item() == 6.0 and layer(Tensor([3.0]), shift=1.0).item() == 7.0
    assert layer.parameters() == [layer.w]
    assert isinstance(Linear(2, 2, seed=0), Layer) and isinstance(Dropout(0.1), Layer)


# --- Module base class ------------------------------------------------------------------------
class TwoLayer(Module):
    def __init__(self):
        super().__init__()
        self.fc1 = Linear(3, 4, seed=0)
        self.drop = Dropout(0.5, seed=0)
        self.blocks = [Linear(4, 4, seed=1), Linear(4, 2, seed=2)]
        self.scale = Tensor([1.0], requires_grad=True)
        self.constant = Tensor([2.0])
        self.shared = self.fc1  # the same parameters must be listed once

    def forward(self, x):
        h = self.drop(self.fc1(x))
        for block in self.blocks:
            h = block(h)
        return h * self.scale


def test_module_collects_parameters_recursively_once():
    net = TwoLayer()
    params = net.parameters()
    expected = [net.fc1.weight, net.fc1.bias, net.blocks[0].weight, net.blocks[0].bias,
                net.blocks[1].weight, net.blocks[1].bias, net.scale]
    assert len(params) == len(expected) and all(p is q for p, q in zip(params, expected))


def test_module_train_eval_propagate_and_call_forward():
    net = TwoLayer()
    net.eval()
    assert net.training is False and net.drop.training is False and net.blocks[1].training is False
    x = np.ones((2, 3), dtype=np.float32)
    np.testing.assert_array_equal(net(x).data, net(x).data)  # deterministic in eval mode
    assert net(x).shape == (2, 2)
    net.train()
    assert net.drop.training is True


def test_module_zero_grad_and_forward_required():
    net = TwoLayer()
    for p in net.parameters():
        p.grad = Tensor(np.ones(p.shape))
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    with pytest.raises(NotImplementedError, match="Module must implement forward"):
        Module()(1)
