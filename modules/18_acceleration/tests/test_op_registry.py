"""One op, one name, one place: every op name recorded into the autograd graph, on the reference
and the accelerated path, has exactly one registered backward, and every registered backward is
recorded by some op (a typo in an op name fails here, not in a learner's run)."""

import numpy as np

from tinytorch.core import acceleration
from tinytorch.core.activations import GELU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from tinytorch.core.attention import MultiHeadAttention, causal_mask, scaled_dot_product_attention
from tinytorch.core.autograd import AutogradEngine, backward_registry, embedding_lookup
from tinytorch.core.losses import binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, mse_loss
from tinytorch.core.tensor import Tensor, register_autograd_engine


class RecordingEngine(AutogradEngine):
    """The reference engine, noting each op name and the rule class it recorded."""

    def __init__(self):
        self.recorded = {}

    def record(self, op_name, out, inputs, /, **saved):
        super().record(op_name, out, inputs, **saved)
        self.recorded.setdefault(op_name, set()).add(type(out._grad_fn))


def every_op():
    x = Tensor(np.random.default_rng(0).uniform(0.5, 2.0, size=(2, 3)), requires_grad=True)
    y = Tensor(np.full((2, 3), 1.5), requires_grad=True)
    x + y, x - y, x * y, x / y, -x, x**2, x**y, x @ y.T, x.sum(), x.mean(), x.max()
    x.exp(), x.log(), x.sqrt(), x.reshape(3, 2), x.transpose(), x.permute(1, 0), x[:, 1], x[np.array([0, 0])]
    for act in (ReLU(), Sigmoid(), Tanh(), GELU(), Softmax(), LogSoftmax()):
        act(x)
    cross_entropy(x, np.array([0, 2])), mse_loss(x, y)
    binary_cross_entropy(Sigmoid()(x), np.ones((2, 3))), binary_cross_entropy_with_logits(x, np.ones((2, 3)))
    w = Tensor(np.ones((4, 3)), requires_grad=True)
    embedding_lookup(w, [1, 2]), embedding_lookup(w, [1, 2], sparse=True)
    q = Tensor(np.ones((2, 5, 4)), requires_grad=True)
    scaled_dot_product_attention(q, q, q, causal_mask(5))
    MultiHeadAttention(8, 2, seed=0)(Tensor(np.ones((1, 5, 8)), requires_grad=True), causal_mask(5))


def recorded_ops(accelerated):
    engine = RecordingEngine()
    previous = register_autograd_engine(engine)
    try:
        if accelerated:
            acceleration.enable()  # registers its own engine: put the recorder back
            register_autograd_engine(engine)
        every_op()
    finally:
        acceleration.disable()
        register_autograd_engine(previous)
    return engine.recorded


def test_every_recorded_op_has_exactly_one_registered_backward_and_every_rule_is_used():
    # The library's rules (a test file elsewhere may register its own, e.g. module 05's "test_cube").
    registry = {name: cls for name, cls in backward_registry().items() if cls.__module__.startswith("tinytorch.")}
    recorded = {}
    for accelerated in (False, True):
        for name, classes in recorded_ops(accelerated).items():
            recorded.setdefault(name, set()).update(classes)
    assert set(recorded) <= set(registry), sorted(set(recorded) - set(registry))
    for name, classes in recorded.items():
        assert classes == {registry[name]}, (name, classes)
    assert set(registry) == set(recorded), sorted(set(registry) - set(recorded))
    assert {"transpose", "permute", "fused_attention"} <= set(recorded)


def test_transpose_and_permute_record_their_own_ops():
    x = Tensor(np.ones((2, 3, 4)), requires_grad=True)
    assert type(x.transpose(0, 2).grad_fn).__name__ == "TransposeBackward"
    assert type(x.permute(2, 0, 1).grad_fn).__name__ == "PermuteBackward"
    assert type(x.T.grad_fn).__name__ == "PermuteBackward"
