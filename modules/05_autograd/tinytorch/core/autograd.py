"""Autograd: backward rules for every tensor op, and the engine that runs them.

Design
------
``tinytorch.core.tensor`` (module 01) computes every forward with numpy and calls
``record_op(op_name, out_data, inputs, **saved)``; when an engine is registered it calls
``engine.record(op_name, out, inputs, **saved)``. This module provides that engine:

* an explicit registry ``op name -> Function subclass`` filled by the ``@register_backward(name)``
  decorator. Ops of lower-numbered modules (activations, losses) have their rules here too, so
  02/03/04 only need module 01; later modules (11, 12) can register new ops with the decorator.
* ``record`` instantiates the op's Function with the inputs and saved values
  (``cls(*inputs, **saved)``) and stores it as ``out._grad_fn``; ``backward`` topologically sorts
  the graph and calls each node's ``backward(grad)``, summing gradients of tensors used more than
  once and accumulating into the ``.grad`` of leaves across calls (until ``zero_grad()``), like
  PyTorch.
* every rule can also be used by hand, in upstream TinyTorch's form
  ``MulBackward(a, b).apply(grad)`` (see ``Function``); upstream's class names (ReLUBackward,
  GELUBackward, BCEBackward, ...) are the names here.

Importing this module registers the engine (``enable_autograd()``, idempotent). No class of
module 01 is patched. Build differentiable ops from other modules with
``apply_op(op_name, out_data, inputs, **saved)``; ``embedding_lookup(weight, indices)`` is the
embedding op used by module 11.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from tinytorch.core.checks import check_bool
from tinytorch.core.kernels import kernel, register_kernel, same_definition
from tinytorch.core.tensor import Tensor, autograd_engine, record_op, register_autograd_engine

__all__ = [
    "Function",
    "register_backward",
    "backward_registry",
    "unbroadcast",
    "AutogradEngine",
    "enable_autograd",
    "is_autograd_enabled",
    "apply_op",
    "embedding_lookup",
    "lookup_rows",
    "check_output_grad",
    "reference_engine",
    "gather_rows",
    "scatter_add_rows",
    "RowSparseGrad",
    # backward rules (upstream TinyTorch exports them too)
    "AddBackward",
    "SubBackward",
    "MulBackward",
    "DivBackward",
    "NegBackward",
    "PowBackward",
    "TensorPowBackward",
    "MatmulBackward",
    "SumBackward",
    "MeanBackward",
    "MaxBackward",
    "ExpBackward",
    "LogBackward",
    "SqrtBackward",
    "ReshapeBackward",
    "TransposeBackward",
    "PermuteBackward",
    "SliceBackward",
    "EmbeddingBackward",
    "EmbeddingSparseBackward",
    "ReLUBackward",
    "SigmoidBackward",
    "TanhBackward",
    "GELUBackward",
    "SoftmaxBackward",
    "LogSoftmaxBackward",
    "CrossEntropyBackward",
    "BCEBackward",
    "BCEWithLogitsBackward",
]

_BACKWARDS: dict[str, type] = {}


def register_backward(op_name: str):
    """Class decorator: makes ``cls`` the backward rule of ``op_name`` (as used in record_op)."""

    def decorator(cls):
        if not (isinstance(cls, type) and issubclass(cls, Function)):
            raise TypeError(f"@register_backward({op_name!r}) needs a Function subclass, got {cls!r}.")
        existing = _BACKWARDS.get(op_name)
        if existing is not None and not same_definition(existing, cls):
            raise ValueError(
                f"op {op_name!r} already has backward {existing.__qualname__} ({existing.__module__}); "
                f"refusing to replace it with {cls.__qualname__}. Hint: pick a new op name."
            )
        _BACKWARDS[op_name] = cls
        return cls

    return decorator


def backward_registry() -> dict:
    """A copy of the op name -> Function class registry."""
    return dict(_BACKWARDS)


class Function:
    """A node of the graph: the inputs of one op and what its backward needs.

    Subclasses implement ``backward(grad) -> tuple`` with one numpy gradient (or None) per input;
    ``grad`` has the op output's shape. Saved keyword values become attributes.

    Two ways to build one: the engine records ``cls(*inputs, **saved)`` with what the forward
    saved; by hand (upstream TinyTorch's form) ``AddBackward(a, b).apply(grad)`` gives the
    gradients of the inputs that require grad (None for the others). Built by hand, a rule that
    needs the forward's output works it out again from the inputs (``derive_saved``); a value it
    cannot work out (listed in ``needs``, e.g. a slice's ``index``) must be passed by keyword.
    Upstream-style subclasses that implement ``apply`` instead of ``backward`` work as well, and
    ``saved_tensors`` is another name for ``inputs``.
    """

    num_inputs = None  # how many input Tensors the op takes (None: any number)
    needs = ()  # saved values a caller must pass: they cannot be worked out from the inputs
    # A saved value upstream's form passes as one more positional argument (e.g. the targets of
    # BCEBackward(predictions, targets)), or None.
    positional_saved = None

    def __init__(self, *inputs, **saved):
        if len(inputs) == 1 and isinstance(inputs[0], (tuple, list)):
            inputs = tuple(inputs[0])  # Function((a, b), **saved): a sequence of inputs
        extra = self.positional_saved
        if extra and self.num_inputs is not None and len(inputs) == self.num_inputs + 1 and extra not in saved:
            *inputs, saved[extra] = inputs
        name = type(self).__name__
        for i, t in enumerate(inputs):
            if not isinstance(t, Tensor):
                raise TypeError(
                    f"{name} inputs must be Tensors, got {type(t).__name__} {t!r:.60} as input {i}. "
                    f"Hint: saved values go by keyword, e.g. {name}(x, dim=-1)."
                )
        if self.num_inputs is not None and len(inputs) != self.num_inputs:
            raise TypeError(
                f"{name} takes {self.num_inputs} input Tensor(s), got {len(inputs)}. "
                "Hint: pass the op's inputs only; saved values (the forward's out, dim, ...) go by keyword."
            )
        missing = [n for n in self.needs if n not in saved]
        if missing:
            raise TypeError(
                f"{name} needs the saved value(s) {missing}, which cannot be worked out from its inputs. "
                f"Hint: pass them by keyword, e.g. {name}(x, {missing[0]}=...)."
            )
        self.inputs = tuple(inputs)
        self.__dict__.update(saved)
        self.derive_saved()

    @property
    def saved_tensors(self) -> tuple:
        """The inputs (upstream TinyTorch's name)."""
        return self.inputs

    def derive_saved(self) -> None:
        """Fills in saved values the caller left out (built by hand) from the inputs; no-op here."""

    def backward(self, grad: np.ndarray) -> tuple:
        if type(self).apply is not Function.apply:  # an upstream-style subclass implements apply
            return self.apply(grad)
        raise NotImplementedError(f"{type(self).__name__}.backward is not implemented")

    def apply(self, grad) -> tuple:
        """Upstream TinyTorch's calling form: the gradient of each input for ``grad`` (the output's
        gradient, an array or Tensor), None for inputs that do not require grad."""
        grad = np.asarray(grad.data if isinstance(grad, Tensor) else grad)
        grads = self.backward(grad)
        return tuple(g if t.requires_grad else None for t, g in zip(self.inputs, grads))

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sums ``grad`` over the axes that broadcasting added or stretched, giving ``shape``."""
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


def _expand(grad, axis, keepdims, shape):
    """Broadcasts the gradient of a reduction back to the input ``shape``."""
    if axis is not None and not keepdims:
        grad = np.expand_dims(grad, axis)
    return np.broadcast_to(grad, shape)


# ----------------------------------------------------------------------------------------------
# Tensor ops (module 01)
# ----------------------------------------------------------------------------------------------
@register_backward("add")
class AddBackward(Function):
    """out = a + b"""

    num_inputs = 2

    def backward(self, grad):
        a, b = self.inputs
        return unbroadcast(grad, a.shape), unbroadcast(grad, b.shape)


@register_backward("sub")
class SubBackward(Function):
    """out = a - b"""

    num_inputs = 2

    def backward(self, grad):
        a, b = self.inputs
        return unbroadcast(grad, a.shape), unbroadcast(-grad, b.shape)


@register_backward("mul")
class MulBackward(Function):
    """out = a * b"""

    num_inputs = 2

    def backward(self, grad):
        a, b = self.inputs
        return unbroadcast(grad * b.data, a.shape), unbroadcast(grad * a.data, b.shape)


@register_backward("div")
class DivBackward(Function):
    """out = a / b"""

    num_inputs = 2

    def backward(self, grad):
        a, b = self.inputs
        return unbroadcast(grad / b.data, a.shape), unbroadcast(-grad * a.data / b.data**2, b.shape)


@register_backward("neg")
class NegBackward(Function):
    """out = -a"""

    num_inputs = 1

    def backward(self, grad):
        return (-grad,)


@register_backward("pow")
class PowBackward(Function):
    """out = a ** exponent   (saved: exponent, a number)"""

    num_inputs = 1
    needs = ("exponent",)

    def backward(self, grad):
        if self.exponent == 0:
            return (np.zeros_like(grad),)  # d/da a^0 = 0 even at a = 0 (where a^-1 is inf)
        a = self.inputs[0].data
        return (grad * self.exponent * a ** (self.exponent - 1),)


@register_backward("pow_tensor")
class TensorPowBackward(Function):
    """out = a ** b with b a Tensor too (shapes broadcast)   (saved: out)

        d out / d a = b * a^(b - 1)     (0 where b == 0, as for a scalar exponent)
        d out / d b = a^b * ln(a)       (0 where a == 0 and b >= 0, as in PyTorch; nan for a < 0)
    """

    num_inputs = 2

    def derive_saved(self):
        if not hasattr(self, "out"):
            self.out = np.power(self.inputs[0].data, self.inputs[1].data)

    def backward(self, grad):
        a, b = (t.data for t in self.inputs)
        grad_a = grad_b = None
        with np.errstate(divide="ignore", invalid="ignore"):  # 0 ** negative and ln(0) are masked below
            if self.inputs[0].requires_grad:
                grad_a = unbroadcast(grad * np.where(b == 0, 0.0, b * np.power(a, b - 1.0)), a.shape)
            if self.inputs[1].requires_grad:
                grad_b = unbroadcast(grad * np.where((a == 0) & (b >= 0), 0.0, self.out * np.log(a)), b.shape)
        return grad_a, grad_b


@register_backward("matmul")
class MatmulBackward(Function):
    """out = a @ b   (numpy matmul: 1-D operands and broadcast batch dims allowed)"""

    num_inputs = 2

    def backward(self, grad):
        a, b = self.inputs
        # Promote vectors to matrices so one formula covers every case, then undo it.
        A = a.data[None, :] if a.ndim == 1 else a.data
        B = b.data[:, None] if b.ndim == 1 else b.data
        G = np.expand_dims(grad, -1) if b.ndim == 1 else grad
        G = np.expand_dims(G, -2) if a.ndim == 1 else G
        grad_a = unbroadcast(G @ np.swapaxes(B, -1, -2), A.shape).reshape(a.shape)
        grad_b = unbroadcast(np.swapaxes(A, -1, -2) @ G, B.shape).reshape(b.shape)
        return grad_a, grad_b


class _Reduction(Function):
    """A reduction over ``axis`` (None: every axis; saved as a tuple of non-negative axes)."""

    num_inputs = 1
    axis = None
    keepdims = False

    def derive_saved(self):
        if self.axis is not None:  # by hand: axis=1 or axis=(0, -1) like Tensor.sum's argument
            axes = (self.axis,) if isinstance(self.axis, (numbers.Integral, np.integer)) else self.axis
            self.axis = tuple(sorted(int(a) % self.inputs[0].ndim for a in axes))


@register_backward("sum")
class SumBackward(_Reduction):
    """out = a.sum(axis, keepdims)   (saved: axis tuple or None, keepdims)"""

    def backward(self, grad):
        return (_expand(grad, self.axis, self.keepdims, self.inputs[0].shape),)


@register_backward("mean")
class MeanBackward(_Reduction):
    """out = a.mean(axis, keepdims)   (saved: axis tuple or None, keepdims)"""

    def backward(self, grad):
        a = self.inputs[0]
        count = a.size if self.axis is None else int(np.prod([a.shape[i] for i in self.axis]))
        return (_expand(grad, self.axis, self.keepdims, a.shape) / count,)


@register_backward("max")
class MaxBackward(_Reduction):
    """out = a.max(axis, keepdims); tied maxima share the gradient equally."""

    def backward(self, grad):
        a = self.inputs[0].data
        is_max = a == np.max(a, axis=self.axis, keepdims=True)
        share = is_max / np.sum(is_max, axis=self.axis, keepdims=True)
        return (_expand(grad, self.axis, self.keepdims, a.shape) * share,)


@register_backward("exp")
class ExpBackward(Function):
    """out = exp(a)   (saved: out)"""

    num_inputs = 1

    def derive_saved(self):
        if not hasattr(self, "out"):
            self.out = np.exp(self.inputs[0].data)

    def backward(self, grad):
        return (grad * self.out,)


@register_backward("log")
class LogBackward(Function):
    """out = log(a)"""

    num_inputs = 1

    def backward(self, grad):
        return (grad / self.inputs[0].data,)


@register_backward("sqrt")
class SqrtBackward(Function):
    """out = sqrt(a)   (saved: out)"""

    num_inputs = 1

    def derive_saved(self):
        if not hasattr(self, "out"):
            self.out = np.sqrt(self.inputs[0].data)

    def backward(self, grad):
        return (grad / (2.0 * self.out),)


@register_backward("reshape")
class ReshapeBackward(Function):
    """out = a.reshape(shape)"""

    num_inputs = 1

    def backward(self, grad):
        return (grad.reshape(self.inputs[0].shape),)


@register_backward("transpose")
class TransposeBackward(Function):
    """out = a.transpose(dim0, dim1): two dims swapped   (saved: dim0, dim1; by hand -2 and -1,
    like Tensor.transpose())"""

    num_inputs = 1
    dim0, dim1 = -2, -1

    def backward(self, grad):
        return (np.swapaxes(grad, self.dim0, self.dim1),)


@register_backward("permute")
class PermuteBackward(Function):
    """out = a.permute(axes): every dim reordered   (saved: axes, a full permutation)"""

    num_inputs = 1
    needs = ("axes",)

    def backward(self, grad):
        return (np.transpose(grad, np.argsort(self.axes)),)


@register_backward("slice")
class SliceBackward(Function):
    """out = a[index]   (saved: index, basic=True when index is slices/ints, i.e. no repeats)"""

    num_inputs = 1
    needs = ("index",)
    basic = False  # by hand: np.add.at is right for any index

    def backward(self, grad):
        full = np.zeros(self.inputs[0].shape, dtype=grad.dtype)
        if self.basic:
            full[self.index] = grad
        else:
            np.add.at(full, self.index, grad)  # advanced indices may repeat an element
        return (full,)


# ----------------------------------------------------------------------------------------------
# Embedding: the reference kernels (module 18 registers faster ones under the same names)
# ----------------------------------------------------------------------------------------------
@register_kernel("gather_rows")
def gather_rows(table: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """out[i] = table[ids[i]]: (num_rows, *row) and int ids in [0, num_rows) -> (*ids.shape, *row)."""
    return table[ids]


@register_kernel("scatter_add_rows")
def scatter_add_rows(positions: np.ndarray, rows: np.ndarray, num_rows: int) -> np.ndarray:
    """The inverse of gather_rows: out[i] = sum of rows[k] with positions[k] == i (zero if none).
    positions (n,) int in [0, num_rows), rows (n, *row) -> (num_rows, *row)."""
    out = np.zeros((num_rows,) + rows.shape[1:], dtype=rows.dtype)
    np.add.at(out, positions, rows)  # unlike out[positions] += rows, repeated positions add up
    return out


def lookup_rows(weight: Tensor, ids: np.ndarray, sparse: bool = False) -> Tensor:
    """The embedding op on checked arguments: weight (vocab, dim), ids int64 in [0, vocab)."""
    out = kernel("gather_rows")(weight.data, ids)
    return apply_op("embedding_sparse" if sparse else "embedding", out, (weight,), indices=ids)


class RowSparseGrad:
    """A gradient that is zero except in some rows of a (num_rows, *row_shape) parameter:
    what ``embedding_lookup(weight, ids, sparse=True)`` gives ``weight.grad`` (like PyTorch's
    ``nn.Embedding(sparse=True)``).

    Attributes:
        indices: (n,) int64 row ids; may repeat (uncoalesced: one entry per looked-up token).
        values: (n, *row_shape) the gradient of each entry; rows with equal ids add up. As a
            leaf's ``.grad`` this is a read-only view of the gradient that reached the lookup
            (no copy, as in PyTorch): copy it before editing.
        shape: the parameter's shape (num_rows, *row_shape). ``dtype``, ``ndim`` as for arrays.

    ``to_dense()`` (also ``.data``, computed once) gives the equivalent dense array;
    ``coalesce()`` gives (unique sorted ids, summed rows), which optimizers apply as row updates.
    Adding two RowSparseGrads concatenates them; adding a dense array gives a dense array.
    """

    is_sparse = True
    __array_ufunc__ = None  # so `ndarray + RowSparseGrad` calls our __radd__

    def __init__(self, indices: np.ndarray, values: np.ndarray, shape: tuple):
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        self.values = values
        self.shape = tuple(shape)
        if values.shape != (self.indices.size,) + self.shape[1:]:
            raise ValueError(
                f"RowSparseGrad values must have shape (n, *row_shape) = {(self.indices.size,) + self.shape[1:]} "
                f"for {self.indices.size} indices of a {self.shape} parameter, got {values.shape}."
            )
        self._dense = None

    @property
    def dtype(self) -> np.dtype:
        return self.values.dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def data(self) -> np.ndarray:
        """The dense (num_rows, *row_shape) gradient, built on first access."""
        if self._dense is None:
            self._dense = self.to_dense()
        return self._dense

    def to_dense(self) -> np.ndarray:
        return kernel("scatter_add_rows")(self.indices, self.values, self.shape[0])

    def numpy(self) -> np.ndarray:
        """The dense gradient as a numpy array (like ``Tensor.numpy``)."""
        return self.data

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    def coalesce(self) -> tuple:
        """(ids (m,) unique ascending int64, rows (m, *row_shape)): the rows of each id summed."""
        ids, slot = np.unique(self.indices, return_inverse=True)
        return ids, kernel("scatter_add_rows")(slot.reshape(-1), self.values, ids.size)

    def astype(self, dtype) -> "RowSparseGrad":
        return RowSparseGrad(self.indices, self.values.astype(dtype), self.shape)

    def copy(self) -> "RowSparseGrad":
        """An independent, writable copy (like ``Tensor.copy()`` for a dense grad)."""
        return RowSparseGrad(self.indices.copy(), self.values.copy(), self.shape)

    def __add__(self, other):
        if isinstance(other, RowSparseGrad):
            return RowSparseGrad(
                np.concatenate([self.indices, other.indices]), np.concatenate([self.values, other.values]), self.shape
            )
        dense = np.array(np.broadcast_to(other, self.shape), dtype=np.result_type(self.dtype, other))
        ids, rows = self.coalesce()
        dense[ids] += rows
        return dense

    __radd__ = __add__

    def __mul__(self, scale):
        """A scalar times the gradient (e.g. clipping) stays row-sparse: only the values scale."""
        if isinstance(scale, bool) or not isinstance(scale, (numbers.Real, np.number)):
            raise TypeError(
                f"a RowSparseGrad can be multiplied by a number, got {type(scale).__name__}. "
                "Hint: use grad.to_dense() for array arithmetic."
            )
        return RowSparseGrad(self.indices, self.values * scale, self.shape)

    __rmul__ = __mul__

    def __repr__(self) -> str:
        return f"RowSparseGrad(shape={self.shape}, entries={self.indices.size}, dtype={self.dtype})"


@register_backward("embedding")
class EmbeddingBackward(Function):
    """out = weight[indices] (rows of a (vocab, *dims) table, ids of any shape)   (saved: indices)

    Each output row's gradient is added into its id's row of a zero table, so repeated ids
    accumulate and unused rows stay zero: ``np.add.at(grad_table, ids, grad)``."""

    num_inputs = 1
    needs = ("indices",)
    positional_saved = "indices"  # upstream: EmbeddingBackward(weight, indices)

    def derive_saved(self):
        self.indices = _int_ids(self.indices)

    def backward(self, grad):
        vocab, *dims = self.inputs[0].shape
        return (kernel("scatter_add_rows")(self.indices.reshape(-1), grad.reshape(-1, *dims), vocab),)


@register_backward("embedding_sparse")
class EmbeddingSparseBackward(EmbeddingBackward):
    """out = weight[indices], like "embedding", but the gradient is kept as (ids, rows): a
    RowSparseGrad with one entry per looked-up id, O(tokens) instead of O(vocab)."""

    def backward(self, grad):
        vocab, *dims = self.inputs[0].shape
        return (RowSparseGrad(self.indices.reshape(-1), grad.reshape(-1, *dims), (vocab, *dims)),)


# ----------------------------------------------------------------------------------------------
# Activations (module 02) and losses (module 04)
# ----------------------------------------------------------------------------------------------
def _int_ids(ids) -> np.ndarray:
    """Saved ids (array, list or Tensor; whole floats from upstream-style code too) as int64."""
    ids = np.asarray(ids.data if isinstance(ids, Tensor) else ids)
    return ids if ids.dtype == np.int64 else ids.astype(np.int64)


def _saved_array(value) -> np.ndarray:
    return np.asarray(value.data if isinstance(value, Tensor) else value)


@register_backward("relu")
class ReLUBackward(Function):
    """out = max(a, 0)"""

    num_inputs = 1

    def backward(self, grad):
        return (grad * (self.inputs[0].data > 0),)


@register_backward("sigmoid")
class SigmoidBackward(Function):
    """out = 1 / (1 + exp(-a))   (saved: out)"""

    num_inputs = 1

    def derive_saved(self):
        if not hasattr(self, "out"):
            self.out = 0.5 * (1.0 + np.tanh(0.5 * self.inputs[0].data))  # the sigmoid, without overflow

    def backward(self, grad):
        return (grad * self.out * (1.0 - self.out),)


@register_backward("tanh")
class TanhBackward(Function):
    """out = tanh(a)   (saved: out)"""

    num_inputs = 1

    def derive_saved(self):
        if not hasattr(self, "out"):
            self.out = np.tanh(self.inputs[0].data)

    def backward(self, grad):
        return (grad * (1.0 - self.out**2),)


@register_backward("gelu")
class GELUBackward(Function):
    """out = GELU(a)   (saved: approximate, "none" (the default) or "tanh"; for "none" also
    cdf = Phi(a), the standard normal CDF, which the forward computed anyway)

    "none":  out = a Phi(a)  ->  d out / d a = Phi(a) + a phi(a),  phi(a) = exp(-a^2 / 2) / sqrt(2 pi)
    "tanh":  out = 0.5 a (1 + tanh(u)), u = sqrt(2/pi) (a + 0.044715 a^3)
             ->  d out / d a = 0.5 (1 + tanh(u)) + 0.5 a (1 - tanh(u)^2) du/da
    """

    num_inputs = 1
    approximate = "none"

    def derive_saved(self):
        if self.approximate == "none" and not hasattr(self, "cdf"):
            self.cdf = 0.5 * (1.0 + _erf(self.inputs[0].data.astype(np.float64) / math.sqrt(2.0)))

    def backward(self, grad):
        a = self.inputs[0].data
        if self.approximate == "tanh":
            c = math.sqrt(2.0 / math.pi)  # Python floats keep float32 input in float32
            t = np.tanh(c * (a + 0.044715 * (a * a * a)))
            du = c * (1.0 + 3 * 0.044715 * (a * a))
            return (grad * (0.5 * (1.0 + t) + 0.5 * a * (1.0 - t**2) * du),)
        pdf = np.exp(-0.5 * a * a) / math.sqrt(2.0 * math.pi)
        return (grad * (self.cdf + a * pdf),)


def _erf(x: np.ndarray) -> np.ndarray:
    """math.erf elementwise (numpy has no erf), in float64."""
    return np.vectorize(math.erf, otypes=[np.float64])(x)


class _AlongDim(Function):
    """softmax / log_softmax over ``dim``   (saved: out, dim; by hand dim defaults to -1)"""

    num_inputs = 1
    dim = -1

    def _log_probs(self) -> np.ndarray:
        """log_softmax of the input (to rebuild ``out`` when built by hand)."""
        x = self.inputs[0].data
        shifted = x - np.max(x, axis=self.dim, keepdims=True)
        return shifted - np.log(np.sum(np.exp(shifted), axis=self.dim, keepdims=True))


@register_backward("softmax")
class SoftmaxBackward(_AlongDim):
    """out = exp(a) / sum(exp(a), dim)   (saved: out, dim)"""

    def derive_saved(self):
        if not hasattr(self, "out"):
            self.out = np.exp(self._log_probs())

    def backward(self, grad):
        s = self.out
        return (s * (grad - np.sum(grad * s, axis=self.dim, keepdims=True)),)


@register_backward("log_softmax")
class LogSoftmaxBackward(_AlongDim):
    """out = a - logsumexp(a, dim)   (saved: out, dim)"""

    def derive_saved(self):
        if not hasattr(self, "out"):
            self.out = self._log_probs()

    def backward(self, grad):
        return (grad - np.exp(self.out) * np.sum(grad, axis=self.dim, keepdims=True),)


@register_backward("cross_entropy")
class CrossEntropyBackward(Function):
    """out = sum_i weight_i * (logsumexp(logits_i) - logits_i[target_i])
    (saved: probs = softmax(logits) (..., C); target (...) ids; weight (...) = valid / n_valid)

    By hand (upstream's form CrossEntropyBackward(logits, targets)) probs is recomputed and every
    position weighs 1 / n, the mean."""

    num_inputs = 1
    needs = ("target",)
    positional_saved = "target"

    def derive_saved(self):
        self.target = _int_ids(self.target)
        if not hasattr(self, "probs"):
            x = self.inputs[0].data
            e = np.exp(x - np.max(x, axis=-1, keepdims=True))
            self.probs = e / np.sum(e, axis=-1, keepdims=True)
        if not hasattr(self, "weight"):
            self.weight = np.full(self.target.shape, 1.0 / max(self.target.size, 1))

    def backward(self, grad):
        d = self.probs.copy()
        np.put_along_axis(d, self.target[..., None], np.take_along_axis(d, self.target[..., None], -1) - 1, -1)
        return (grad * d * self.weight[..., None],)


@register_backward("binary_cross_entropy")
class BCEBackward(Function):
    """out = mean(-(y ln p + (1 - y) ln(1 - p))) over n elements, each log clamped at -100 as in
    PyTorch's BCELoss   (saved: target y, same shape as p)

        d out / d p = (p - y) / max(p (1 - p), 1e-12) / n

    (the denominator is clamped as in PyTorch, so p = 0 or 1 gives a large finite gradient)."""

    num_inputs = 1
    needs = ("target",)
    positional_saved = "target"  # upstream: BCEBackward(predictions, targets)

    def derive_saved(self):
        self.target = _saved_array(self.target)

    def backward(self, grad):
        p, y = self.inputs[0].data, self.target
        return (grad * (p - y) / np.maximum(p * (1.0 - p), 1e-12) / p.size,)


@register_backward("binary_cross_entropy_with_logits")
class BCEWithLogitsBackward(Function):
    """out = mean(max(z, 0) - z y + ln(1 + exp(-|z|))) = BCE(sigmoid(z), y) over n elements
    (saved: target y)      d out / d z = (sigmoid(z) - y) / n"""

    num_inputs = 1
    needs = ("target",)
    positional_saved = "target"

    def derive_saved(self):
        self.target = _saved_array(self.target)

    def backward(self, grad):
        z = self.inputs[0].data
        sigmoid = 0.5 * (1.0 + np.tanh(0.5 * z))  # equals 1 / (1 + exp(-z)) without overflow
        return (grad * (sigmoid - self.target) / z.size,)


# Our earlier spellings of upstream's ReLUBackward / GELUBackward.
ReluBackward = ReLUBackward
GeluBackward = GELUBackward


# ----------------------------------------------------------------------------------------------
# Engine
# ----------------------------------------------------------------------------------------------
class AutogradEngine:
    """Records graph nodes for module 01's ``record_op`` and runs reverse-mode differentiation.

    The reference engine: a topological sort and one loop, like micrograd. Module 18 registers a
    subclass (``register_autograd_engine``) that saves copies of fresh gradient buffers."""

    def record(self, op_name: str, out: Tensor, inputs: tuple, /, **saved) -> None:
        cls = _BACKWARDS.get(op_name)
        if cls is None:
            raise ValueError(
                f"no backward rule is registered for op {op_name!r}; registered ops: {sorted(_BACKWARDS)}. "
                f"Hint: decorate a Function subclass with @register_backward({op_name!r})."
            )
        out._grad_fn = cls(*inputs, **saved)
        out.requires_grad = True

    def backward(self, tensor: Tensor, grad=None) -> None:
        """d(tensor)/d(leaf) into every leaf's ``.grad`` (added to what is there), ``grad`` being
        d(loss)/d(tensor) (default 1 for a single-element tensor)."""
        grads = {id(tensor): check_output_grad(tensor, grad)}
        for node in reversed(_topological_order(tensor)):
            g = grads.pop(id(node), None)
            if g is None:
                continue
            if node._grad_fn is None or node._retains_grad:
                node.grad = _accumulate(node.grad, g, node.dtype)
            if node._grad_fn is None:
                continue
            # Ops take dense arrays: a row-sparse gradient reaching an op (not a leaf) is densified.
            for inp, g_in in zip(node._grad_fn.inputs, node._grad_fn.backward(np.asarray(g))):
                if g_in is not None and inp.requires_grad:
                    grads[id(inp)] = grads[id(inp)] + g_in if id(inp) in grads else g_in


def check_output_grad(tensor: Tensor, grad) -> np.ndarray:
    """The gradient backward() starts from, checked: ones for a single-element ``tensor``, else
    ``grad`` as an array of the tensor's shape and dtype."""
    if not tensor.requires_grad:
        raise RuntimeError(
            f"backward() on a tensor that does not require grad (shape {tensor.shape}, no grad_fn). "
            "Hint: create the leaves with requires_grad=True and do not compute under no_grad()."
        )
    if grad is None:
        if tensor.size != 1:
            raise RuntimeError(
                f"backward() without a grad argument needs a single-element output, got shape {tensor.shape}. "
                f"Hint: reduce first (loss = out.sum()) or pass grad=np.ones({tensor.shape})."
            )
        return np.ones(tensor.shape, dtype=tensor.dtype)
    raw = grad.data if isinstance(grad, Tensor) else grad
    try:
        grad = np.asarray(raw, dtype=tensor.dtype)
    except (TypeError, ValueError):
        raise TypeError(
            f"backward(grad) needs numbers of the output's shape {tensor.shape}, got "
            f"{type(raw).__name__} {raw!r:.60}. Hint: pass a numpy array or Tensor, e.g. np.ones({tensor.shape})."
        ) from None
    if grad.shape != tensor.shape:
        raise ValueError(
            f"backward(grad) needs grad of the output's shape {tensor.shape}, got {grad.shape}. "
            "Hint: grad holds d(loss)/d(output) for every output element."
        )
    return grad


def _accumulate(existing, g, dtype):
    """The new ``.grad`` of a tensor: ``existing`` (None, a Tensor or a RowSparseGrad) plus ``g``,
    in a new array (upstream gradients may be views or shared between inputs). Row-sparse
    gradients stay row-sparse while everything added to them is row-sparse."""
    if existing is not None:
        g = (existing if isinstance(existing, RowSparseGrad) else existing.data) + g
    if isinstance(g, RowSparseGrad):
        return g.astype(dtype)
    return Tensor._wrap(np.array(g, dtype=dtype))


def _topological_order(root: Tensor) -> list:
    """Tensors reachable from root that require grad, inputs before the ops using them.
    Iterative DFS so deep graphs (long RNN-style chains) do not hit the recursion limit."""
    order, visited, stack = [], set(), [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        if node._grad_fn is not None:
            stack.extend((inp, False) for inp in node._grad_fn.inputs if inp.requires_grad and id(inp) not in visited)
    return order


topological_order = _topological_order


_ENGINE = AutogradEngine()


def enable_autograd() -> AutogradEngine:
    """Registers this module's engine with module 01 unless an AutogradEngine (this one, or the
    subclass module 18 registers) already is; returns the registered engine."""
    if not is_autograd_enabled():
        register_autograd_engine(_ENGINE)
    return autograd_engine()


def reference_engine() -> AutogradEngine:
    """The reference engine (what module 18's disable() registers again)."""
    return _ENGINE


def is_autograd_enabled() -> bool:
    return isinstance(autograd_engine(), AutogradEngine)


def apply_op(op_name: str, out_data, inputs, /, **saved) -> Tensor:
    """Creates a differentiable op result: ``out_data`` computed by the caller from ``inputs``,
    differentiated by the Function registered for ``op_name`` (which receives ``**saved``)."""
    if op_name not in _BACKWARDS:
        raise ValueError(
            f"unknown op {op_name!r}; registered ops: {sorted(_BACKWARDS)}. "
            f"Hint: decorate a Function subclass with @register_backward({op_name!r}) first."
        )
    return record_op(op_name, out_data, inputs, **saved)


def embedding_lookup(weight: Tensor, indices, sparse: bool = False) -> Tensor:
    """Rows of an embedding table: weight (vocab, dim) float, indices int of any shape
    -> (*indices.shape, dim).

    sparse=False: differentiated by EmbeddingBackward, weight.grad is a dense (vocab, dim) Tensor
    (repeated ids accumulate). sparse=True: by EmbeddingSparseBackward, weight.grad is a
    RowSparseGrad holding only the looked-up rows; SGD and Adam apply it as row updates.
    """
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        raise ValueError(
            f"embedding_lookup needs a 2-D (vocab, dim) weight Tensor, got "
            f"{type(weight).__name__} of shape {getattr(weight, 'shape', None)}. Hint: Tensor of shape (vocab, dim)."
        )
    ids = indices.data if isinstance(indices, Tensor) else np.asarray(indices)
    if ids.dtype.kind not in "iu":
        raise TypeError(
            f"embedding indices must be integers, got dtype {ids.dtype}. "
            "Hint: convert token ids with np.asarray(ids, dtype=np.int64)."
        )
    ids = ids.astype(np.int64, copy=False)
    num_rows = weight.shape[0]
    # min/max first: two reductions, no temporaries; the offending ids are only collected on error.
    if ids.size and (ids.min() < 0 or ids.max() >= num_rows):
        bad = ids[(ids < 0) | (ids >= num_rows)]
        raise ValueError(
            f"embedding ids {bad.reshape(-1)[:5].tolist()} are out of range for a table of {num_rows} rows "
            f"(allowed: 0..{num_rows - 1}). Hint: the vocab_size must exceed the largest token id."
        )
    return lookup_rows(weight, ids, check_bool("sparse", sparse, "embedding_lookup"))

enable_autograd()
