"""End to end: autograd gradients + optimizers fit small problems."""

import numpy as np
import pytest

from tinytorch.core.autograd import enable_autograd
from tinytorch.core.layers import Linear
from tinytorch.core.losses import cross_entropy, mse_loss
from tinytorch.core.optimizers import SGD, Adam
from tinytorch.core.tensor import Tensor

enable_autograd()


@pytest.mark.parametrize("make_opt", [lambda ps: SGD(ps, lr=0.1, momentum=0.9), lambda ps: Adam(ps, lr=0.05)])
def test_linear_regression_recovers_weights(make_opt):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3)).astype(np.float32)
    true_w, true_b = np.array([[1.5], [-2.0], [0.5]], dtype=np.float32), 0.3
    y = x @ true_w + true_b
    layer = Linear(3, 1, seed=0)
    opt = make_opt(layer.parameters())
    for _ in range(300):
        opt.zero_grad()
        loss = mse_loss(layer(Tensor(x)), y)
        loss.backward()
        opt.step()
    assert loss.item() < 1e-4
    np.testing.assert_allclose(layer.weight.data, true_w, atol=1e-2)
    np.testing.assert_allclose(layer.bias.data, [true_b], atol=1e-2)


def test_classifier_loss_decreases_with_adam():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((90, 2)).astype(np.float32)
    labels = np.argmax(x @ rng.standard_normal((2, 3)), axis=1)  # linearly separable classes
    layer = Linear(2, 3, seed=0)
    opt = Adam(layer.parameters(), lr=0.1)
    first = None
    for _ in range(100):
        opt.zero_grad()
        loss = cross_entropy(layer(Tensor(x)), labels)
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
    assert loss.item() < 0.5 * first
    accuracy = (layer(Tensor(x)).data.argmax(axis=1) == labels).mean()
    assert accuracy > 0.9


@pytest.mark.parametrize("make_opt", [lambda ps: SGD(ps, lr=0.1), lambda ps: Adam(ps, lr=0.1)])
def test_non_leaf_params_rejected_with_hint(make_opt):
    layer = Linear(2, 1, seed=0)
    scaled = layer.weight * 1.0  # computed from the weight: the next forward would rebuild it
    assert not scaled.is_leaf
    with pytest.raises(ValueError, match=r"params\[1\] \(shape \(2, 1\), grad_fn=\w+\) is not a leaf Tensor.*optimise the leaf.*layer's weight"):
        make_opt([layer.bias, scaled])
    make_opt([Tensor(layer.weight.data, requires_grad=True)])  # a new leaf that requires grad is fine
    with pytest.raises(ValueError, match=r"params\[0\] \(shape \(2, 1\), dtype float32\) does not require gradients.*requires_grad=True"):
        make_opt([layer.weight.detach()])  # a leaf, but backward() would never give it a grad
