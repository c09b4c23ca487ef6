"""Optimizers: SGD (with momentum and weight decay), Adam and AdamW, following PyTorch's update rules.

They read ``p.grad`` and update ``p.data`` in place, so they need only module 01's Tensor.
Parameters whose ``grad`` is None (unused in the last backward) are skipped; a ``grad`` may be a
Tensor or a numpy array of the parameter's shape (e.g. set by hand), anything else is rejected.

State, named as in upstream TinyTorch: ``params`` (the list given; settable: tensors already in
the old list keep their state), ``step_count`` (calls of ``step()``), SGD's
``momentum_buffers``, Adam's and AdamW's ``m_buffers`` / ``v_buffers`` (None until a parameter's
first update) and ``steps`` (updates each parameter received: its bias-correction step t).

Row-sparse gradients (``Embedding(..., sparse=True)``: ``p.grad.is_sparse`` is True and
``p.grad.coalesce()`` gives (row ids, summed rows)) are applied as row updates, so a step costs
O(rows used) instead of O(vocab): exactly the dense update for plain SGD, and lazy Adam for
Adam / AdamW (only the rows present get their moments updated), with
``torch.optim.SparseAdam``'s formula.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from tinytorch.core.tensor import Tensor

__all__ = ["Optimizer", "SGD", "Adam", "AdamW"]


def _check_number(name, value, low, high=None, low_inclusive=True):
    """ValueError unless low <= value (< high); the message names the value and the range."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}. Hint: e.g. {name}=0.01.")
    ok_low = value >= low if low_inclusive else value > low
    ok_high = high is None or value < high
    if not (ok_low and ok_high):
        allowed = ("[" if low_inclusive else "(") + f"{low}, " + (f"{high})" if high is not None else "inf)")
        raise ValueError(f"{name} must be in {allowed}, got {value!r}.")
    return float(value)


class Optimizer:
    """Base class: holds ``params``, counts ``step_count`` and clears grads.

    ``params`` must be distinct leaf Tensors that require grad (what ``model.parameters()``
    returns): a tensor listed twice would be stepped twice, a computed (non-leaf) tensor is
    rebuilt from its inputs by the next forward, and one that does not require grad never gets a
    gradient, so updating either would change nothing. ``parameters`` is another name for it.

    Subclasses name their per-parameter state in ``_state`` ({attribute: initial value}); each is
    a list in the order of ``params``, re-ordered when ``params`` is set.
    """

    _state: dict = {}

    def __init__(self, params):
        self.params = params
        self.step_count = 0

    @property
    def params(self) -> list:
        return self._params

    @params.setter
    def params(self, params):
        params = _check_params(params)
        old = {id(p): i for i, p in enumerate(getattr(self, "_params", []))}
        for name, initial in self._state.items():
            values = getattr(self, name, None)
            setattr(self, name, [values[old[id(p)]] if values is not None and id(p) in old else initial for p in params])
        self._params = params

    parameters = params

    def zero_grad(self) -> None:
        """Sets every parameter's grad to None (PyTorch's default set_to_none=True)."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement step()")


def _check_params(params) -> list:
    """``params`` as a list of distinct leaf Tensors that require grad, else TypeError/ValueError."""
    if isinstance(params, Tensor):
        raise TypeError("params must be a list of Tensors, got a single Tensor. Hint: pass [tensor] or model.parameters().")
    if callable(params):
        raise TypeError(
            f"params must be a list of Tensors, got the callable {getattr(params, '__qualname__', type(params).__name__)} "
            "itself. Hint: call model.parameters() (with the parentheses)."
        )
    try:
        params = params if isinstance(params, list) else list(params)
    except TypeError:
        raise TypeError(
            f"params must be a list (or iterable) of Tensors, got {type(params).__name__} {params!r:.80}. "
            "Hint: pass model.parameters()."
        ) from None
    if not params:
        raise ValueError(
            "optimizer got an empty parameter list. "
            "Hint: pass model.parameters() after the model creates its layers."
        )
    first_index = {}
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"params[{i}] must be a Tensor, got {type(p).__name__} {p!r}. Hint: pass model.parameters().")
        if id(p) in first_index:
            raise ValueError(
                f"params[{i}] is the same Tensor (shape {p.shape}) as params[{first_index[id(p)]}]; "
                "each step would update it twice. Hint: list every parameter once (e.g. a weight shared "
                "by two layers appears once in model.parameters())."
            )
        first_index[id(p)] = i
        if not p.is_leaf:
            raise ValueError(
                f"params[{i}] (shape {p.shape}, grad_fn={type(p.grad_fn).__name__}) is not a leaf Tensor: it was "
                "computed from other tensors, so the next forward recomputes it and the update would be lost. "
                "Hint: optimise the leaf it came from, e.g. the layer's weight instead of weight * 1.0."
            )
        if not p.requires_grad:
            raise ValueError(
                f"params[{i}] (shape {p.shape}, dtype {p.dtype}) does not require gradients: backward() never "
                "fills its grad, so the optimizer could never update it. Allowed: Tensors with requires_grad=True. "
                "Hint: create it with Tensor(..., requires_grad=True), or leave it out (model.parameters() lists "
                "only tensors that require grad)."
            )
    return params


class SGD(Optimizer):
    """Stochastic gradient descent, PyTorch semantics (dampening 0, no Nesterov):

        g = grad + weight_decay * p
        buf = g (first step) or momentum * buf + g;  g = buf   (if momentum > 0)
        p -= lr * g

    lr defaults to 0.01 (upstream TinyTorch's default; PyTorch's is 0.001).
    """

    _state = {"momentum_buffers": None}

    def __init__(self, params, lr: float = 0.01, momentum: float = 0.0, weight_decay: float = 0.0):
        super().__init__(params)
        self.lr = _check_number("lr", lr, 0.0)
        self.momentum = _check_number("momentum", momentum, 0.0)
        self.weight_decay = _check_number("weight_decay", weight_decay, 0.0)

    def step(self) -> None:
        self.step_count += 1
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            _check_grad(i, p)
            if _is_row_sparse(p.grad) and not (self.momentum or self.weight_decay):
                # Rows absent from the gradient would get p -= lr * 0: skipping them is the same update.
                rows, g = p.grad.coalesce()
                p.data[rows] -= (self.lr * g).astype(p.dtype, copy=False)
                continue
            # Momentum and weight decay change every row, so a sparse gradient takes the dense path.
            g = _dense_grad(p)
            if self.weight_decay:
                g = g + self.weight_decay * p.data
            if self.momentum:
                buf = self.momentum_buffers[i]
                self.momentum_buffers[i] = g = np.array(g, copy=True) if buf is None else self.momentum * buf + g
            p.data -= (self.lr * g).astype(p.dtype, copy=False)


class Adam(Optimizer):
    """Adam (Kingma & Ba), PyTorch semantics (weight_decay is L2 added to the gradient):

        g = grad + weight_decay * p;  t += 1
        m = b1 m + (1 - b1) g;   v = b2 v + (1 - b2) g^2
        p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)

    The bias corrections 1 - b^t undo the zero initialisation of m and v; ``t`` counts the steps
    each parameter actually received (``steps[i]``, like PyTorch's per-parameter state; it equals
    ``step_count`` while every parameter gets a gradient each step).

    A row-sparse gradient updates only its rows (lazy Adam, like ``torch.optim.SparseAdam``): m, v
    and p of rows absent from it are left as they are that step, where dense Adam would decay m, v
    and still move p. Its update is SparseAdam's, which adds eps before the bias correction:

        p[rows] -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)

    i.e. dense Adam with eps / sqrt(1 - b2^t) in place of eps (the same to float32 precision
    with the default eps = 1e-8). SparseAdam has no weight decay; here weight_decay * p[rows] is
    added to the rows' gradient.
    """

    _state = {"m_buffers": None, "v_buffers": None, "steps": 0}
    decoupled_weight_decay = False  # AdamW: the decay shrinks p directly instead of joining g

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0):
        super().__init__(params)
        self.lr = _check_number("lr", lr, 0.0)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}. Hint: betas=(0.9, 0.999).")
        self.betas = (_check_number("betas[0]", betas[0], 0.0, 1.0), _check_number("betas[1]", betas[1], 0.0, 1.0))
        self.eps = _check_number("eps", eps, 0.0)
        self.weight_decay = _check_number("weight_decay", weight_decay, 0.0)

    def step(self) -> None:
        self.step_count += 1
        b1, b2 = self.betas
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            _check_grad(i, p)
            if self.m_buffers[i] is None:
                self.m_buffers[i], self.v_buffers[i] = np.zeros_like(p.data), np.zeros_like(p.data)
            self.steps[i] += 1
            t = self.steps[i]
            if _is_row_sparse(p.grad):
                self._row_step(i, p, t)
                continue
            g = _dense_grad(p)
            if self.weight_decay and self.decoupled_weight_decay:
                p.data *= 1.0 - self.lr * self.weight_decay
            elif self.weight_decay:
                g = g + self.weight_decay * p.data
            self.m_buffers[i] = b1 * self.m_buffers[i] + (1.0 - b1) * g
            self.v_buffers[i] = b2 * self.v_buffers[i] + (1.0 - b2) * g * g
            m_hat = self.m_buffers[i] / (1.0 - b1**t)
            v_hat = self.v_buffers[i] / (1.0 - b2**t)
            p.data -= (self.lr * m_hat / (np.sqrt(v_hat) + self.eps)).astype(p.dtype, copy=False)

    def _row_step(self, i, p, t) -> None:
        """Lazy Adam on the rows of a row-sparse gradient, torch.optim.SparseAdam's formula."""
        b1, b2 = self.betas
        rows, g = p.grad.coalesce()
        if self.weight_decay and self.decoupled_weight_decay:
            p.data[rows] *= 1.0 - self.lr * self.weight_decay
        elif self.weight_decay:
            g = g + self.weight_decay * p.data[rows]
        m = b1 * self.m_buffers[i][rows] + (1.0 - b1) * g
        v = b2 * self.v_buffers[i][rows] + (1.0 - b2) * g * g
        self.m_buffers[i][rows], self.v_buffers[i][rows] = m, v
        step_size = self.lr * math.sqrt(1.0 - b2**t) / (1.0 - b1**t)
        p.data[rows] -= (step_size * m / (np.sqrt(v) + self.eps)).astype(p.dtype, copy=False)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), PyTorch's ``torch.optim.AdamW``:

        p *= 1 - lr * weight_decay          (the decay: not part of g, so not rescaled by v)
        m, v, p updated as Adam with the plain gradient g = grad

    weight_decay defaults to 0.01 as in PyTorch; with weight_decay=0 it is exactly Adam. A
    row-sparse gradient decays and updates only its rows (lazily, like Adam's row update).
    """

    decoupled_weight_decay = True

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.01):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)


def _is_row_sparse(grad) -> bool:
    """True for a row-sparse gradient (autograd's RowSparseGrad; duck-typed so this module needs
    only module 01)."""
    return getattr(grad, "is_sparse", False) is True


def _check_grad(i, p) -> None:
    """TypeError/ValueError unless ``p.grad`` is a Tensor, numpy array or row-sparse gradient of
    p's shape (grads set by hand are the usual culprit)."""
    g = p.grad
    if not (isinstance(g, (Tensor, np.ndarray)) or _is_row_sparse(g)):
        raise TypeError(
            f"parameters[{i}].grad must be a Tensor or numpy array of shape {p.shape}, got {type(g).__name__} {g!r:.80}. "
            "Hint: let backward() fill it, or set p.grad = Tensor(array)."
        )
    if tuple(g.shape) != p.shape or g.dtype.kind not in "iuf":
        raise ValueError(
            f"parameters[{i}].grad must be a number array of the parameter's shape {p.shape}, got shape "
            f"{tuple(g.shape)} dtype {g.dtype}. Hint: a gradient has exactly its parameter's shape; "
            "reduce (e.g. sum over the batch axis) before assigning it."
        )


def _dense_grad(p) -> np.ndarray:
    """p.grad as an array of p's shape (Tensor.data, a numpy array as is, or a sparse grad densified)."""
    return p.grad if isinstance(p.grad, np.ndarray) else p.grad.data
