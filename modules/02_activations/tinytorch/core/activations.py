"""Activation functions: ReLU, Sigmoid, Tanh, GELU (exact erf form, or the tanh approximation),
Softmax, LogSoftmax.

Each computes its forward with numpy and records itself through module 01's ``record_op`` under
an op name ("relu", "sigmoid", "tanh", "gelu", "softmax", "log_softmax") whose backward rule lives
in module 05 (``tinytorch.core.autograd``). This module therefore depends on 01 only; gradients
flow whenever 05 has been imported. Every activation keeps the input's shape and dtype.

``act(x)`` calls ``act.forward(x)`` and passes extra arguments on, so upstream TinyTorch's
``Softmax()(x, dim=-1)`` works as well as ``Softmax(dim=-1)(x)``.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from tinytorch.core.tensor import Tensor, record_op

__all__ = ["Activation", "ReLU", "Sigmoid", "Tanh", "GELU", "Softmax", "LogSoftmax"]

_GELU_C = math.sqrt(2.0 / math.pi)  # a Python float: a numpy float64 would promote float32 input
_GELU_APPROXIMATIONS = ("none", "tanh")


def _as_tensor(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _erf(x: np.ndarray) -> np.ndarray:
    """The error function elementwise, in float64: numpy has none, so math.erf on each element."""
    return np.vectorize(math.erf, otypes=[np.float64])(x)


class Activation:
    """Base class: ``act(x, ...)`` calls ``act.forward(x, ...)``; activations have no parameters."""

    def forward(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def __call__(self, x, *args, **kwargs) -> Tensor:
        return self.forward(_as_tensor(x), *args, **kwargs)

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
    """Gaussian Error Linear Unit, like ``torch.nn.GELU(approximate=...)``. (...) -> (...)

    approximate="none" (the default, as in PyTorch): the exact form x * Phi(x) = 0.5 x (1 + erf(x / sqrt(2))),
        Phi the standard normal CDF (erf from math.erf, elementwise).
    approximate="tanh": 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), as in GPT-2 and upstream
        TinyTorch; within ~1e-3 of the exact form.
    """

    def __init__(self, approximate: str = "none"):
        if approximate not in _GELU_APPROXIMATIONS:
            raise ValueError(
                f"GELU approximate must be one of {_GELU_APPROXIMATIONS}, got {approximate!r}. "
                "Hint: 'none' is the exact erf form (PyTorch's default), 'tanh' the GPT-2 approximation."
            )
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        x = _as_tensor(x)
        a = x.data
        dtype = a.dtype if a.dtype.kind == "f" else np.float32
        if self.approximate == "tanh":
            out = 0.5 * a * (1.0 + np.tanh(_GELU_C * (a + 0.044715 * (a * a * a))))  # a*a*a: float32 ** is slow
            return record_op("gelu", out.astype(dtype, copy=False), (x,), approximate="tanh")
        cdf = 0.5 * (1.0 + _erf(a.astype(np.float64) / math.sqrt(2.0)))  # Phi(x), in float64
        return record_op("gelu", (a * cdf).astype(dtype, copy=False), (x,), approximate="none", cdf=cdf)

    def __repr__(self) -> str:
        return "GELU()" if self.approximate == "none" else f"GELU(approximate={self.approximate!r})"


class _AlongDim(Activation):
    def __init__(self, dim: int = -1):
        self.dim = self._check_dim(dim)

    def _check_dim(self, dim) -> int:
        if isinstance(dim, bool) or not isinstance(dim, (numbers.Integral, np.integer)):
            raise TypeError(f"{type(self).__name__}(dim=...) needs an int, got {dim!r}. Hint: dim=-1 is the last axis.")
        return int(dim)

    def _axis(self, x: Tensor, dim) -> int:
        """The non-negative axis for ``dim`` (``forward``'s argument, else the constructor's)."""
        dim = self.dim if dim is None else self._check_dim(dim)
        if not -x.ndim <= dim < x.ndim:
            raise ValueError(
                f"{type(self).__name__}(dim={dim}) is out of range for input of shape {x.shape} "
                f"(allowed: {-x.ndim}..{x.ndim - 1}). Hint: dim=-1 normalizes over the last axis."
            )
        axis = dim % x.ndim
        if x.shape[axis] == 0:
            # A distribution over zero entries is undefined (its max and its normalizer do not exist).
            raise ValueError(
                f"{type(self).__name__}(dim={dim}) needs at least one element along dim {dim}, "
                f"got input of shape {x.shape}. Hint: check that the class/feature axis is not empty."
            )
        return axis

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dim={self.dim})"


class Softmax(_AlongDim):
    """exp(x) / sum(exp(x)) along ``dim``; the max is subtracted first so logits like 1e4 do not
    overflow. (...) -> (...), entries along ``dim`` sum to 1; ``dim`` must have >= 1 entry.
    ``forward(x, dim=None)``: a ``dim`` given here overrides the constructor's (upstream's form)."""

    def forward(self, x: Tensor, dim: int | None = None) -> Tensor:
        x = _as_tensor(x)
        axis = self._axis(x, dim)
        e = np.exp(x.data - np.max(x.data, axis=axis, keepdims=True))
        out = e / np.sum(e, axis=axis, keepdims=True)
        return record_op("softmax", out, (x,), out=out, dim=axis)


class LogSoftmax(_AlongDim):
    """x - logsumexp(x) along ``dim`` (stable for huge logits). (...) -> (...); ``dim`` must have
    >= 1 entry. ``forward(x, dim=None)``: a ``dim`` given here overrides the constructor's."""

    def forward(self, x: Tensor, dim: int | None = None) -> Tensor:
        x = _as_tensor(x)
        axis = self._axis(x, dim)
        shifted = x.data - np.max(x.data, axis=axis, keepdims=True)
        out = shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
        return record_op("log_softmax", out, (x,), out=out, dim=axis)
