"""Layers: a small ``Module`` base class (also named ``Layer``), ``Linear`` and ``Dropout``.

Layers are built from module 01's Tensor ops (``x @ W + b``, ``x * mask``), so they depend on 01
only; their gradients come from the autograd engine of module 05 whenever it is imported.
Later modules (embeddings, attention) subclass ``Module``; upstream TinyTorch's layers subclass
``Layer``, which is the same class.
"""

from __future__ import annotations

import numbers

import numpy as np

from tinytorch.core.checks import check_bool, check_positive_int
from tinytorch.core.tensor import Tensor

__all__ = ["Module", "Layer", "Linear", "Dropout", "make_rng", "check_positive_int", "check_bool"]


def make_rng(seed=None, rng=None) -> np.random.Generator:
    """The random generator a layer initialises from: ``rng`` itself, else one seeded with ``seed``,
    else one seeded from numpy's global generator, so ``np.random.seed(0)`` makes layers built
    without a seed reproducible too (as ``torch.manual_seed`` does for PyTorch modules).

    Raises:
        ValueError: both seed and rng given. TypeError: rng is not a numpy Generator.
    """
    if seed is not None and rng is not None:
        raise ValueError("pass either seed or rng, not both. Hint: rng=np.random.default_rng(seed).")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (numbers.Integral, np.integer))):
        raise TypeError(f"seed must be a non-negative int, got {type(seed).__name__} {seed!r}. Hint: seed=0.")
    if seed is not None and seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}. Hint: seed=0.")
    if rng is not None:
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy Generator, got {type(rng).__name__}. Hint: np.random.default_rng(0).")
        return rng
    if seed is None:
        seed = np.random.randint(0, 2**63 - 1, dtype=np.int64)
    return np.random.default_rng(seed)


class Module:
    """Base class for layers and models.

    Subclasses implement ``forward``; ``module(x)`` calls it. ``parameters()`` collects, in
    attribute order, every Tensor attribute with ``requires_grad=True`` and the parameters of
    sub-Modules (also inside lists, tuples and dict values), each parameter once.
    """

    training = True  # class default so subclasses that skip super().__init__() still work

    def __init__(self):
        self.training = True

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def children(self) -> list:
        """Direct sub-Modules, in attribute order."""
        found = []
        for value in vars(self).values():
            items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else (value,)
            found.extend(v for v in items if isinstance(v, Module))
        return found

    def parameters(self) -> list:
        params, seen = [], set()

        def add(t):
            if id(t) not in seen:
                seen.add(id(t))
                params.append(t)

        for value in vars(self).values():
            items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else (value,)
            for v in items:
                if isinstance(v, Tensor) and v.requires_grad:
                    add(v)
                elif isinstance(v, Module):
                    for p in v.parameters():
                        add(p)
        return params

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None

    def train(self, mode: bool = True) -> "Module":
        """Sets training mode on this module and all sub-Modules; returns self."""
        self.training = bool(mode)
        for child in self.children():
            child.train(mode)
        return self

    def eval(self) -> "Module":
        return self.train(False)


# Upstream TinyTorch's name for the base class of layers: ``class MyLayer(Layer)`` is a Module.
Layer = Module


class Linear(Module):
    """y = x @ weight + bias.   (..., in_features) -> (..., out_features)

    weight: (in_features, out_features) float32, bias: (out_features,) float32 (zeros).
    init="xavier" (default): weight ~ U(-b, b), b = sqrt(6 / (in + out)) (Glorot uniform).
    init="kaiming": b = sqrt(6 / in) (He uniform, suited to ReLU).
    Pass seed or rng for reproducible weights.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *, init: str = "xavier", seed=None, rng=None):
        super().__init__()
        self.in_features = check_positive_int("in_features", in_features, "Linear")
        self.out_features = check_positive_int("out_features", out_features, "Linear")
        bias = check_bool("bias", bias, "Linear")
        if init not in ("xavier", "kaiming"):
            raise ValueError(f"Linear init must be 'xavier' or 'kaiming', got {init!r}.")
        fan = self.in_features + self.out_features if init == "xavier" else self.in_features
        bound = np.sqrt(6.0 / fan)
        gen = make_rng(seed, rng)
        self.weight = Tensor(gen.uniform(-bound, bound, size=(self.in_features, self.out_features)), requires_grad=True)
        self.bias = Tensor(np.zeros(self.out_features), requires_grad=True) if bias else None

    def forward(self, x) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"Linear({self.in_features}, {self.out_features}) expects input of shape (..., {self.in_features}), "
                f"got {x.shape}. Hint: the last dim must equal in_features."
            )
        y = x @ self.weight
        return y + self.bias if self.bias is not None else y

    def __repr__(self) -> str:
        return f"Linear(in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None})"


class Dropout(Module):
    """Inverted dropout: in training, zeroes each element with probability p and scales the rest
    by 1 / (1 - p) so the expected value is unchanged; in eval mode (or p == 0) returns x as is;
    p == 1 zeroes everything (the gradient is then zero too). (...) -> (...)

    ``forward(x, training=None)`` / ``dropout(x, training=...)``: training=None follows the module's
    mode (``train()`` / ``eval()``); True or False overrides it for this call (upstream's form).
    """

    def __init__(self, p: float = 0.5, *, seed=None, rng=None):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (numbers.Real, np.floating)) or not 0.0 <= p <= 1.0:
            raise ValueError(
                f"Dropout probability p must be in [0, 1], got {p!r}. "
                "Hint: p is the fraction of elements zeroed, e.g. Dropout(0.1)."
            )
        self.p = float(p)
        self.rng = make_rng(seed, rng)

    def forward(self, x, training=None) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x)
        training = self.training if training is None else check_bool("training", training, "Dropout.forward")
        if not training or self.p == 0.0:
            return x
        dtype = x.dtype if x.dtype.kind == "f" else np.float32
        if self.p == 1.0:
            return x * Tensor._wrap(np.zeros(x.shape, dtype=dtype))
        keep = self.rng.random(x.shape) >= self.p
        scale = (keep / (1.0 - self.p)).astype(dtype)
        return x * Tensor._wrap(scale)

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"
