"""Activation functions: ReLU, Sigmoid, Tanh, GELU (tanh approximation), Softmax, LogSoftmax.

Each computes its forward with numpy and records itself through module 01's ``record_op`` under
an op name ("relu", "sigmoid", "tanh", "gelu", "softmax", "log_softmax") whose backward rule lives
in module 05 (``tinytorch.core.autograd``). This module therefore depends on 01 only; gradients
flow whenever 05 has been imported. Every activation keeps the input's shape and dtype.
"""

from __future__ import annotations

import numbers

import numpy as np

from tinytorch.core.tensor import Tensor, record_op

__all__ = ["Activation", "ReLU", "Sigmoid", "Tanh", "GELU", "Softmax", "LogSoftmax"]

_GELU_C = np.sqrt(2.0 / np.pi)


def _as_tensor(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


class Activation:
    """Base class: ``act(x)`` calls ``act.forward(x)``; activations have no parameters."""

    def forward(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def __call__(self, x) -> Tensor:
        return self.forward(_as_tensor(x))

    def parameters(self) -> list:
        return []

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ReLU(Activation):
    """max(x, 0) elementwise. (...) -> (...)"""

    def forward(self, x: Tensor) -> Tensor:
        x = _as_tensor(x)
        return record_op("relu", np.maximum(x.data, 0).astype(x.dtype, copy=False), (x,))


class Sigmoid(Activation):
    """1 / (1 + exp(-x)) elementwise, without overflow for large |x|. (...) -> (...)"""

    def forward(self, x: Tensor) -> Tensor:
        x = _as_tensor(x)
        # exp(-|x|) <= 1 never overflows; pick the algebraically equal form for each sign.
        e = np.exp(-np.abs(x.data))
        out = np.where(x.data >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        return record_op("sigmoid", out, (x,), out=out)


class Tanh(Activation):
    """tanh(x) elementwise. (...) -> (...)"""

    def forward(self, x: Tensor) -> Tensor:
        x = _as_tensor(x)
        out = np.tanh(x.data)
        return record_op("tanh", out, (x,), out=out)


class GELU(Activation):
    """Gaussian Error Linear Unit, tanh approximation (as GPT-2 and
    ``torch.nn.GELU(approximate="tanh")``): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
    (...) -> (...)"""

    def forward(self, x: Tensor) -> Tensor:
        x = _as_tensor(x)
        a = x.data
        out = 0.5 * a * (1.0 + np.tanh(_GELU_C * (a + 0.044715 * a**3)))
        return record_op("gelu", out, (x,))


class _AlongDim(Activation):
    def __init__(self, dim: int = -1):
        if isinstance(dim, bool) or not isinstance(dim, (numbers.Integral, np.integer)):
            raise TypeError(f"{type(self).__name__}(dim=...) needs an int, got {dim!r}. Hint: dim=-1 is the last axis.")
        self.dim = int(dim)

    def _axis(self, x: Tensor) -> int:
        if not -x.ndim <= self.dim < x.ndim:
            raise ValueError(
                f"{type(self).__name__}(dim={self.dim}) is out of range for input of shape {x.shape} "
                f"(allowed: {-x.ndim}..{x.ndim - 1}). Hint: dim=-1 normalizes over the last axis."
            )
        axis = self.dim % x.ndim
        if x.shape[axis] == 0:
            # A distribution over zero entries is undefined (its max and its normalizer do not exist).
            raise ValueError(
                f"{type(self).__name__}(dim={self.dim}) needs at least one element along dim {self.dim}, "
                f"got input of shape {x.shape}. Hint: check that the class/feature axis is not empty."
            )
        return axis

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dim={self.dim})"


class Softmax(_AlongDim):
    """exp(x) / sum(exp(x)) along ``dim``; the max is subtracted first so logits like 1e4 do not
    overflow. (...) -> (...), entries along ``dim`` sum to 1; ``dim`` must have >= 1 entry."""

    def forward(self, x: Tensor) -> Tensor:
        x = _as_tensor(x)
        axis = self._axis(x)
        e = np.exp(x.data - np.max(x.data, axis=axis, keepdims=True))
        out = e / np.sum(e, axis=axis, keepdims=True)
        return record_op("softmax", out, (x,), out=out, dim=axis)


class LogSoftmax(_AlongDim):
    """x - logsumexp(x) along ``dim`` (stable for huge logits). (...) -> (...); ``dim`` must have
    >= 1 entry."""

    def forward(self, x: Tensor) -> Tensor:
        x = _as_tensor(x)
        axis = self._axis(x)
        shifted = x.data - np.max(x.data, axis=axis, keepdims=True)
        out = shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
        return record_op("log_softmax", out, (x,), out=out, dim=axis)
