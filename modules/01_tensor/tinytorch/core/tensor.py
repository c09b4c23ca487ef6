"""Tensor: an n-dimensional numpy array that can record the operations applied to it.

Design (autograd as an explicit extension point)
------------------------------------------------
Every operation computes its forward value with numpy and then calls
``record_op(op_name, out_data, inputs, **saved)``. ``record_op`` wraps the result in a Tensor and,
only if an autograd engine is registered, grad mode is on and some input requires grad, asks the
engine to record a graph node: ``engine.record(op_name, out, inputs, **saved)`` (which sets
``out._grad_fn`` and ``out.requires_grad``). ``Tensor.backward`` forwards to ``engine.backward``.

This module knows nothing about how gradients are computed: the backward rules live in module 05
(``tinytorch.core.autograd``), which registers its engine on import via
``register_autograd_engine``. Modules numbered below 05 (activations, layers, losses) create
differentiable ops by calling ``record_op`` with an op name whose backward rule 05 registers, so
they depend on this module only, and their gradients work whenever 05 is loaded.

dtype policy: float input (Python floats, float16/32/64 arrays) -> float32, integer input ->
int64 (token ids stay exact), bool stays bool; integer input with ``requires_grad=True`` becomes
float32 (a parameter must be floating point: ``Tensor([1, 2], requires_grad=True)`` is a float32
leaf, as in upstream TinyTorch). Pass ``dtype=np.float64`` to keep double precision (e.g. for
gradient checks). Non-Tensor operands of an op (scalars, lists, arrays) adopt the Tensor's float
dtype.

numpy interop (so ``x.grad`` can be used like the array it is in upstream TinyTorch):
  * ``np.asarray(t)`` and every numpy *function* (``np.sum``, ``np.allclose``, ``np.testing``,
    ``np.concatenate``, ...) see a Tensor as its ``data`` array and return plain numpy results.
  * numpy *ufuncs* that are also Tensor operations (``np.add``, ``np.subtract``, ``np.multiply``,
    ``np.divide``, ``np.power``, ``np.matmul``, ``np.negative``, ``np.exp``, ``np.log``,
    ``np.sqrt`` and the comparisons) return that operation's Tensor, recorded in the graph like
    the operator: this is also what makes ``ndarray + Tensor`` a Tensor. Every other ufunc
    (``np.abs``, ``np.sign``, ``np.maximum``, ``np.isnan``, ...), and any ufunc call with ``out=``,
    ``where=`` or ``dtype=`` or a method like ``np.add.reduce``, computes on the data and returns
    a numpy array: a value outside the graph, with no gradient.
  * ``t.copy()`` is a new Tensor with a copy of the data (no graph), like ``ndarray.copy()``;
    ``t.grad.data`` is the gradient's array, as before.
"""

from __future__ import annotations

import contextlib
import numbers
import operator

import numpy as np

from tinytorch.core.checks import check_bool

__all__ = [
    "Tensor",
    "record_op",
    "register_autograd_engine",
    "autograd_engine",
    "no_grad",
    "is_grad_enabled",
]

_ALLOWED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.int64), np.dtype(np.bool_))
_ALLOWED_DTYPE_NAMES = ", ".join(d.name for d in _ALLOWED_DTYPES)

_ENGINE = None
_GRAD_ENABLED = True

_NO_AUTOGRAD_MESSAGE = (
    "Tensor.backward() called but autograd is not enabled: no autograd engine is registered. "
    "Fix: make the target depend on //modules/05_autograd:autograd and `import tinytorch.core.autograd` "
    "(importing it registers the engine)."
)


# ----------------------------------------------------------------------------------------------
# Autograd extension point
# ----------------------------------------------------------------------------------------------
def register_autograd_engine(engine):
    """Installs the engine that records graph nodes and runs backward; returns the previous one.

    ``engine`` must provide ``record(op_name, out, inputs, /, **saved)`` (called positionally, so
    saved values may be named ``out``) and ``backward(tensor, grad)``. Pass None to disable autograd
    (ops then only compute values).
    """
    global _ENGINE
    if engine is not None and not (callable(getattr(engine, "record", None)) and callable(getattr(engine, "backward", None))):
        raise TypeError(
            f"autograd engine must have callable record(op_name, out, inputs, **saved) and "
            f"backward(tensor, grad) methods, got {engine!r}. "
            "Hint: `import tinytorch.core.autograd` registers the standard engine."
        )
    previous, _ENGINE = _ENGINE, engine
    return previous


def autograd_engine():
    """The registered autograd engine, or None if autograd is not enabled."""
    return _ENGINE


def is_grad_enabled() -> bool:
    """False inside a ``no_grad()`` block."""
    return _GRAD_ENABLED


@contextlib.contextmanager
def no_grad():
    """Context manager: ops inside compute values but record no graph (like ``torch.no_grad``)."""
    global _GRAD_ENABLED
    previous, _GRAD_ENABLED = _GRAD_ENABLED, False
    try:
        yield
    finally:
        _GRAD_ENABLED = previous


def record_op(op_name: str, out_data, inputs, /, **saved) -> "Tensor":
    """Wraps ``out_data`` in a Tensor and, if autograd is on, records it as ``op_name(*inputs)``.

    Args:
        op_name: name of a backward rule registered with the engine (e.g. "add", "relu").
        out_data: the forward result (array-like). float64 is narrowed to float32 unless some
            input is float64, so float32 graphs stay float32.
        inputs: the Tensors the result depends on (their order is the order the backward rule
            returns gradients in).
        **saved: whatever the backward rule needs besides the inputs (e.g. ``axis=1``).
    """
    inputs = tuple(inputs)
    for t in inputs:
        if not isinstance(t, Tensor):
            raise TypeError(
                f"record_op({op_name!r}) inputs must be Tensors, got {type(t).__name__} {t!r}. "
                "Hint: wrap constants with Tensor(...) first."
            )
    out_data = np.asarray(out_data)
    if out_data.dtype == np.float64 and not any(t.data.dtype == np.float64 for t in inputs):
        out_data = out_data.astype(np.float32)
    out = Tensor._wrap(out_data)
    if _ENGINE is not None and _GRAD_ENABLED and any(t.requires_grad for t in inputs):
        _ENGINE.record(op_name, out, inputs, **saved)
    return out


# ----------------------------------------------------------------------------------------------
# Input validation helpers
# ----------------------------------------------------------------------------------------------
def _short(value, limit=80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _first_non_numeric(value):
    """The first leaf of a nested list/tuple/array that is not a real number, wrapped in a 1-tuple
    (so a bad ``None`` is distinguishable from "nothing bad"), or None if every leaf is numeric."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "biuf":
            return None
        value = value.tolist() if value.ndim else [value.item()]
    if isinstance(value, (list, tuple)):
        for item in value:
            bad = _first_non_numeric(item)
            if bad is not None:
                return bad
        return None
    if isinstance(value, (Tensor, np.bool_)) or isinstance(value, numbers.Real):
        return None
    return (value,)


def _parse_dtype(dtype) -> np.dtype:
    """A user-given dtype (np.float32, 'float32', float, ...) -> one of _ALLOWED_DTYPES, else TypeError."""
    allowed = f"Allowed: {_ALLOWED_DTYPE_NAMES} (e.g. np.float32 or 'float32')."
    try:
        target = np.dtype(dtype)
    except (TypeError, ValueError):
        raise TypeError(
            f"Tensor dtype {_short(dtype)} is not a dtype numpy understands. {allowed} "
            "Hint: check the spelling, or use dtype=np.float32 (the default for float data)."
        ) from None
    if target not in _ALLOWED_DTYPES:
        raise TypeError(
            f"Tensor dtype {target} is not supported. {allowed} "
            "Hint: use dtype=np.float32 (the default for float data)."
        )
    return target


def _check_int_conversion(arr: np.ndarray, target: np.dtype) -> None:
    """ValueError unless ``arr.astype(target)`` keeps every value exactly.

    numpy's cast truncates 1.7 -> 1, turns NaN into -2**63 and wraps uint64 above 2**63 - 1 to
    negatives, silently. Callers only run this when the cast can lose information (float -> int or
    a wider unsigned int), so ordinary int and float tensors skip the extra passes over the data.
    """
    info = np.iinfo(target)
    if arr.dtype.kind == "f":
        # 2.0 ** 63 is exact in every float type, so `< hi` rejects the first value that overflows
        # int64; NaN fails every comparison, inf fails the range check.
        hi = 2.0 ** (info.bits - 1)
        ok = (arr == np.trunc(arr)) & (arr >= -hi) & (arr < hi)
    else:
        ok = arr <= info.max  # only unsigned sources get here, so there is no lower bound to check
    if ok.all():
        return
    idx = np.unravel_index(np.argmin(ok), arr.shape)  # first False in C order
    value = arr[idx]
    if arr.dtype.kind == "f" and not np.isfinite(value):
        reason, hint = "it is not finite", "replace NaN/inf first (e.g. np.nan_to_num(x)) or keep a float dtype"
    elif arr.dtype.kind == "f" and value != np.trunc(value):
        reason = f"it has a fractional part, which {target} would silently truncate"
        hint = f"round explicitly with np.round(x).astype(np.{target}) if truncation is intended"
    else:
        reason, hint = f"it is outside the {target} range", "keep large values as floats (dtype=np.float64)"
    where = int(idx[0]) if len(idx) == 1 else tuple(int(i) for i in idx)
    raise ValueError(
        f"Tensor dtype {target} cannot represent the value {value} at index {where}: {reason}; "
        f"{int(np.count_nonzero(~ok))} of {arr.size} values cannot be converted. "
        f"Allowed: finite whole numbers in [{info.min}, {info.max}]. Hint: {hint}."
    )


def _to_array(data, dtype=None, float_dtype=np.float32, int_dtype=np.int64) -> np.ndarray:
    """Validates ``data`` and converts it to a fresh numpy array following the dtype policy
    (integer data becomes ``int_dtype``: int64, or float32 for a Tensor that requires grad)."""
    allowed = "a number, a (nested) list/tuple of numbers, a numpy array of numbers, or a Tensor"
    if isinstance(data, Tensor):
        arr = data.data
        if dtype is None and arr.dtype.kind != "i":
            dtype = arr.dtype  # Tensor(t) keeps t's dtype, like torch.tensor(t)
    else:
        if isinstance(data, (str, bytes)) or data is None:
            raise TypeError(
                f"Tensor data must be numeric, got {type(data).__name__} {_short(data)}. "
                f"Allowed: {allowed}. Hint: parse text into numbers (e.g. token ids) before building a Tensor."
            )
        try:
            arr = np.asarray(data)
        except ValueError as exc:
            raise ValueError(
                f"Tensor data is a ragged nested sequence (rows of different lengths): {_short(data)} "
                f"({exc}). Allowed: {allowed} with a rectangular shape. "
                "Hint: pad every row to the same length."
            ) from None
        except TypeError as exc:
            raise TypeError(
                f"Tensor data must be numeric, got {type(data).__name__} {_short(data)} ({exc}). "
                f"Allowed: {allowed}."
            ) from None
    kind = arr.dtype.kind
    if kind not in "biuf":
        bad = _first_non_numeric(data)
        what = f"{type(bad[0]).__name__} {_short(bad[0])}" if bad else f"dtype {arr.dtype}"
        raise TypeError(
            f"Tensor data must be numeric, got {what} in {_short(data)} (numpy dtype {arr.dtype}). "
            f"Allowed: {allowed} (float, int or bool). "
            "Hint: convert strings/objects to numbers first; complex numbers are not supported."
        )
    if dtype is None:
        target = np.dtype({"f": float_dtype, "i": int_dtype, "u": int_dtype, "b": np.bool_}[kind])
    else:
        target = _parse_dtype(dtype)
    if target.kind == "i" and kind in "fiu" and not np.can_cast(arr.dtype, target):
        _check_int_conversion(arr, target)
    return np.array(arr, dtype=target, copy=True)


def _coerce(other, like: "Tensor") -> "Tensor":
    """Turns an operand of an op on ``like`` into a Tensor; float constants adopt like's float dtype."""
    if isinstance(other, Tensor):
        return other
    float_dtype = like.data.dtype if like.data.dtype.kind == "f" else np.float32
    return Tensor._wrap(_to_array(other, float_dtype=float_dtype))


def _normalize_axis(axis, ndim, op) -> tuple | None:
    """None or an int/tuple of ints -> None or a sorted tuple of non-negative axes."""
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, (numbers.Integral, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not isinstance(a, (numbers.Integral, np.integer)) or isinstance(a, bool):
            raise TypeError(f"{op}(axis=...) needs ints, got {a!r}. Hint: pass an int or a tuple of ints.")
        if not -ndim <= a < ndim:
            raise ValueError(
                f"{op}(axis={axis!r}) is out of range for a tensor with {ndim} dims "
                f"(allowed: {-ndim}..{ndim - 1}). Hint: negative axes count from the end."
            )
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}(axis={axis!r}) repeats an axis. Hint: list every axis once.")
    return tuple(sorted(out))


def _broadcast(fn, a: "Tensor", b: "Tensor", symbol: str) -> np.ndarray:
    try:
        return fn(a.data, b.data)
    except ValueError:
        raise ValueError(
            f"shapes {a.shape} and {b.shape} cannot be broadcast for '{symbol}'. Allowed: shapes that "
            "match, or are 1, in each trailing dimension (NumPy/PyTorch broadcasting). "
            "Hint: reshape one operand, e.g. b.reshape(1, -1)."
        ) from None


def _as_index(index):
    """Converts Tensors inside an index to numpy arrays (lists become arrays, as in numpy)."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, list):
        return np.asarray(index)
    if isinstance(index, tuple):
        return tuple(_as_index(i) for i in index)
    return index


def _is_basic(index) -> bool:
    """True if ``index`` is numpy basic indexing (ints, slices, None, Ellipsis): a view, no repeats."""
    parts = index if isinstance(index, tuple) else (index,)
    for p in parts:
        if isinstance(p, np.ndarray) and not (p.ndim == 0 and p.dtype.kind in "iu"):
            return False
        if not isinstance(p, (numbers.Integral, np.integer, slice, type(None), type(Ellipsis), np.ndarray)):
            return False
    return True


# ----------------------------------------------------------------------------------------------
# Tensor
# ----------------------------------------------------------------------------------------------
class Tensor:
    """An n-dimensional array with optional gradient tracking.

    Tensor(data, requires_grad=False, dtype=None)
        data: number, nested list/tuple, numpy array or Tensor (copied). float -> float32,
        int -> int64 (float32 if requires_grad=True), bool -> bool unless ``dtype``
        (float32/float64/int64/bool) is given. Conversion to int64 is exact or a ValueError (no
        silent truncation of 1.7, NaN or 2**63).
        requires_grad: True or False; only floating tensors can require gradients (an explicit
        integer or bool dtype with requires_grad=True is a TypeError).

    Attributes: ``data`` (numpy array), ``grad`` (Tensor or None), ``_grad_fn`` (the backward node
    that produced this tensor, set by the autograd engine, or None for leaves). numpy functions
    and ufuncs accept Tensors (see the module docstring for what they return).
    """

    __hash__ = object.__hash__

    def __init__(self, data, requires_grad: bool = False, dtype=None):
        requires_grad = check_bool("requires_grad", requires_grad)
        # A parameter must be floating point: integer data that is to require grad becomes float32.
        self.data = _to_array(data, dtype, int_dtype=np.float32 if requires_grad else np.int64)
        self._init_state()
        self.requires_grad = requires_grad

    @classmethod
    def _wrap(cls, array: np.ndarray) -> "Tensor":
        """A Tensor around an existing array (no copy, no dtype policy): for op results."""
        t = cls.__new__(cls)
        t.data = array
        t._init_state()
        return t

    def _init_state(self):
        self._requires_grad = False
        self.grad = None
        self._grad_fn = None
        self._retains_grad = False

    # --- properties -------------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool):
        value = check_bool("requires_grad", value)
        if value and self.data.dtype.kind != "f":
            raise TypeError(
                f"only floating-point tensors can require gradients, got dtype {self.data.dtype}. "
                "Allowed: float32 or float64. Hint: Tensor(data, requires_grad=True) without a dtype turns "
                "integer data into float32; for an existing tensor use Tensor(t.data, dtype=np.float32, requires_grad=True)."
            )
        self._requires_grad = value

    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def grad_fn(self):
        """The backward node that produced this tensor (None for leaves), like PyTorch."""
        return self._grad_fn

    @property
    def is_leaf(self) -> bool:
        return self._grad_fn is None

    @property
    def T(self) -> "Tensor":
        """All dims reversed (the matrix transpose for 2-D tensors)."""
        return self.permute(*reversed(range(self.ndim)))

    # --- autograd ---------------------------------------------------------------------------
    def backward(self, grad=None) -> None:
        """Accumulates d(self)/d(leaf) * grad into ``leaf.grad`` for every leaf requiring grad.

        ``grad`` (same shape as self) may be omitted for single-element tensors.
        Needs the autograd engine of //modules/05_autograd:autograd.
        """
        if _ENGINE is None:
            raise RuntimeError(_NO_AUTOGRAD_MESSAGE)
        _ENGINE.backward(self, grad)

    def zero_grad(self) -> None:
        """Clears the accumulated gradient (sets ``grad`` to None, like PyTorch's set_to_none)."""
        self.grad = None

    def retain_grad(self) -> "Tensor":
        """Asks backward() to also store ``grad`` on this non-leaf tensor."""
        self._retains_grad = True
        return self

    def detach(self) -> "Tensor":
        """Same data (shared), no graph, requires_grad=False."""
        return Tensor._wrap(self.data)

    def copy(self) -> "Tensor":
        """A new Tensor holding a copy of the data: no graph, requires_grad=False, like
        ``ndarray.copy()`` (PyTorch: ``t.detach().clone()``). ``x.grad.copy()`` snapshots a gradient."""
        return Tensor._wrap(self.data.copy())

    # --- conversion -------------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """The underlying numpy array (shared, not copied)."""
        return self.data

    def item(self):
        """The single element as a Python number; ValueError for tensors with more elements."""
        if self.data.size != 1:
            raise ValueError(
                f"item() needs a tensor with exactly 1 element, got shape {self.shape} "
                f"({self.size} elements). Hint: reduce first, e.g. t.sum().item(), or index one element."
            )
        return self.data.reshape(()).item()

    def __array__(self, dtype=None, copy=None):
        if dtype is None and not copy:
            return self.data
        return np.array(self.data, dtype=dtype, copy=True)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """``np.add(a, t)``, ``ndarray + t``, ``np.exp(t)``, ...: the Tensor operation (in the graph)
        for the ufuncs in _UFUNC_OPS; any other ufunc or call form computes on the data and
        returns numpy arrays (no graph, no gradient)."""
        op = _UFUNC_OPS.get(ufunc)
        if op is not None and method == "__call__" and not kwargs:
            return op(*(x if isinstance(x, Tensor) else _coerce(x, self) for x in inputs))
        if "out" in kwargs:
            kwargs["out"] = _unwrap(kwargs["out"])
        return getattr(ufunc, method)(*_unwrap(inputs), **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        """``np.sum(t)``, ``np.allclose(t, x)``, ``np.concatenate([t, u])``, ...: numpy functions
        see Tensors as their data arrays and return numpy results (no graph)."""
        return func(*_unwrap(args), **_unwrap(kwargs))

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(
                f"the truth value of a tensor with {self.size} elements (shape {self.shape}) is ambiguous. "
                "Hint: use (t > 0).numpy().any() / .all()."
            )
        return bool(self.data.reshape(()))

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor is undefined. Hint: use .item() for its value.")
        return self.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", precision=4, prefix="Tensor(")
        extras = []
        if self.dtype != np.float32:
            extras.append(f"dtype={self.dtype}")
        if self._grad_fn is not None:
            extras.append(f"grad_fn=<{type(self._grad_fn).__name__}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "Tensor(" + ", ".join([body] + extras) + ")"

    # --- elementwise arithmetic -------------------------------------------------------------
    def __add__(self, other):
        other = _coerce(other, self)
        return record_op("add", _broadcast(np.add, self, other, "+"), (self, other))

    def __radd__(self, other):
        other = _coerce(other, self)
        return record_op("add", _broadcast(np.add, other, self, "+"), (other, self))

    def __sub__(self, other):
        other = _coerce(other, self)
        return record_op("sub", _broadcast(np.subtract, self, other, "-"), (self, other))

    def __rsub__(self, other):
        other = _coerce(other, self)
        return record_op("sub", _broadcast(np.subtract, other, self, "-"), (other, self))

    def __mul__(self, other):
        other = _coerce(other, self)
        return record_op("mul", _broadcast(np.multiply, self, other, "*"), (self, other))

    def __rmul__(self, other):
        other = _coerce(other, self)
        return record_op("mul", _broadcast(np.multiply, other, self, "*"), (other, self))

    def __truediv__(self, other):
        other = _coerce(other, self)
        return record_op("div", _broadcast(np.true_divide, self, other, "/"), (self, other))

    def __rtruediv__(self, other):
        other = _coerce(other, self)
        return record_op("div", _broadcast(np.true_divide, other, self, "/"), (other, self))

    def __neg__(self):
        return record_op("neg", np.negative(self.data), (self,))

    def __pow__(self, exponent):
        """Elementwise ``self ** exponent``. A number exponent is a constant of the op ("pow");
        a Tensor (or array) exponent is a second input ("pow_tensor", shapes broadcast), so it gets
        a gradient too: d(x**e)/de = x**e * ln(x)."""
        if isinstance(exponent, bool) or exponent is None or isinstance(exponent, (str, bytes)):
            raise TypeError(
                f"Tensor ** exponent needs a number or a Tensor/array of numbers, got {type(exponent).__name__} "
                f"{_short(exponent)}. Hint: e.g. x ** 2, x ** 0.5 or x ** Tensor([1.0, 2.0])."
            )
        if isinstance(exponent, numbers.Real):
            base = self.data
            if base.dtype.kind != "f" and not (float(exponent).is_integer() and exponent >= 0):
                base = base.astype(np.float32)  # numpy refuses int ** negative int
            return record_op("pow", np.power(base, exponent), (self,), exponent=exponent)
        return _tensor_pow(self, _coerce(exponent, self))

    def __rpow__(self, base):
        """``base ** self`` for a number (or array) base, computed by np.power, so it is exact where
        numpy's is (``10 ** Tensor([3.0])`` is 1000.0). Differentiable in self: d(b**t)/dt = b**t * ln(b)
        (nan for a negative base, as in PyTorch)."""
        return _tensor_pow(_coerce(base, self), self)

    # --- matmul -----------------------------------------------------------------------------
    def __matmul__(self, other):
        other = _coerce(other, self)
        return _matmul(self, other)

    def __rmatmul__(self, other):
        other = _coerce(other, self)
        return _matmul(other, self)

    def matmul(self, other):
        return self @ other

    # --- comparisons (not differentiable) ---------------------------------------------------
    def _compare(self, other, fn, symbol):
        if other is None or isinstance(other, (str, bytes)):
            return NotImplemented  # so `t == None` is False, as for other Python objects
        other = _coerce(other, self)
        return Tensor._wrap(_broadcast(fn, self, other, symbol))

    def __eq__(self, other):
        return self._compare(other, np.equal, "==")

    def __ne__(self, other):
        return self._compare(other, np.not_equal, "!=")

    def __lt__(self, other):
        return self._compare(other, np.less, "<")

    def __le__(self, other):
        return self._compare(other, np.less_equal, "<=")

    def __gt__(self, other):
        return self._compare(other, np.greater, ">")

    def __ge__(self, other):
        return self._compare(other, np.greater_equal, ">=")

    # --- reductions -------------------------------------------------------------------------
    def sum(self, axis=None, keepdims: bool = False) -> "Tensor":
        """Sum over ``axis`` (int, tuple of ints, or None for all dims).

        Shapes: (d0, d1, d2), axis=1 -> (d0, d2); keepdims=True -> (d0, 1, d2); axis=None -> ().
        """
        axes = _normalize_axis(axis, self.ndim, "sum")
        keepdims = check_bool("sum(keepdims=...)", keepdims)
        out = np.sum(self.data, axis=axes, keepdims=keepdims)
        return record_op("sum", out, (self,), axis=axes, keepdims=keepdims)

    def mean(self, axis=None, keepdims: bool = False) -> "Tensor":
        """Mean over ``axis`` (int, tuple of ints, or None for all dims).

        Shapes: (d0, d1, d2), axis=1 -> (d0, d2); keepdims=True -> (d0, 1, d2); axis=None -> ().
        """
        axes = _normalize_axis(axis, self.ndim, "mean")
        keepdims = check_bool("mean(keepdims=...)", keepdims)
        out = np.mean(self.data, axis=axes, keepdims=keepdims)
        return record_op("mean", out, (self,), axis=axes, keepdims=keepdims)

    def max(self, axis=None, keepdims: bool = False) -> "Tensor":
        """Max values over ``axis``; the gradient is split evenly between tied maxima.

        Shapes: (d0, d1, d2), axis=1 -> (d0, d2); keepdims=True -> (d0, 1, d2); axis=None -> ().
        """
        axes = _normalize_axis(axis, self.ndim, "max")
        keepdims = check_bool("max(keepdims=...)", keepdims)
        if self.size == 0:
            raise ValueError(f"max() of an empty tensor (shape {self.shape}) is undefined. Hint: check the input.")
        out = np.max(self.data, axis=axes, keepdims=keepdims)
        return record_op("max", out, (self,), axis=axes, keepdims=keepdims)

    # --- elementwise functions --------------------------------------------------------------
    def exp(self) -> "Tensor":
        out = np.exp(self.data)
        return record_op("exp", out, (self,), out=out)

    def log(self) -> "Tensor":
        """Natural log (nan/-inf for non-positive entries, as in numpy)."""
        return record_op("log", np.log(self.data), (self,))

    def sqrt(self) -> "Tensor":
        out = np.sqrt(self.data)
        return record_op("sqrt", out, (self,), out=out)

    # --- shape ops --------------------------------------------------------------------------
    def reshape(self, *shape) -> "Tensor":
        """reshape(2, 3) or reshape((2, 3)); one dim may be -1."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        try:
            out = self.data.reshape(shape)
        except (ValueError, TypeError):
            raise ValueError(
                f"cannot reshape a tensor of shape {self.shape} ({self.size} elements) into {shape}. "
                "Allowed: a shape with the same number of elements, at most one -1. "
                f"Hint: the product of the new dims must be {self.size}."
            ) from None
        return record_op("reshape", out, (self,))

    view = reshape

    def transpose(self, *dims) -> "Tensor":
        """Swaps two dims like ``torch.transpose``: ``transpose()`` swaps the last two (no-op for
        ndim < 2), ``transpose(d0, d1)`` swaps d0 and d1. With ndim > 2 dims, all of them, it is a
        full permutation as in numpy (same as ``permute``)."""
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        if len(dims) == 0:
            if self.ndim < 2:
                return self.permute(*range(self.ndim))
            dims = (-2, -1)
        if len(dims) == self.ndim and self.ndim > 2:
            return self.permute(*dims)
        if len(dims) != 2:
            raise ValueError(
                f"transpose() takes 0 dims, 2 dims to swap, or a permutation of all {self.ndim} dims; "
                f"got {dims} for a tensor of shape {self.shape}. Hint: transpose(-2, -1) swaps the last two."
            )
        a, b = _normalize_axis(dims[0], self.ndim, "transpose")[0], _normalize_axis(dims[1], self.ndim, "transpose")[0]
        return record_op("transpose", np.swapaxes(self.data, a, b), (self,), dim0=a, dim1=b)

    def permute(self, *dims) -> "Tensor":
        """Reorders all dims: out.shape[i] == self.shape[dims[i]]."""
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        try:
            perm = tuple(int(d) % self.ndim if self.ndim else int(d) for d in dims)
            if sorted(perm) != list(range(self.ndim)):
                raise ValueError
        except (ValueError, TypeError):
            raise ValueError(
                f"permute{tuple(dims)} is not a permutation of the {self.ndim} dims of shape {self.shape}. "
                f"Allowed: each of 0..{self.ndim - 1} exactly once. Hint: transpose(d0, d1) swaps two dims."
            ) from None
        return record_op("permute", np.transpose(self.data, perm), (self,), axes=perm)

    # --- indexing ---------------------------------------------------------------------------
    def __getitem__(self, index) -> "Tensor":
        """numpy indexing. An integer array / integer Tensor index selects rows of axis 0 and is
        differentiated like an embedding lookup (repeated rows accumulate their gradients)."""
        index = _as_index(index)
        if isinstance(index, np.ndarray) and index.ndim >= 1 and index.dtype.kind in "iu":
            rows = self.shape[0] if self.ndim else 0
            if index.size and (index.min() < -rows or index.max() >= rows):
                bad = index[(index < -rows) | (index >= rows)]
                raise IndexError(
                    f"index {bad.reshape(-1)[:5].tolist()} is out of range for axis 0 of shape {self.shape} "
                    f"(allowed: {-rows}..{rows - 1}). Hint: check ids against the table size."
                )
            index = np.where(index < 0, index + rows, index).astype(np.int64)
            return record_op("embedding", self.data[index], (self,), indices=index)
        try:
            out = self.data[index]
        except IndexError as exc:
            raise IndexError(
                f"index {_short(index)} is invalid for a tensor of shape {self.shape}: {exc}. "
                "Hint: indices must be within each dim's size."
            ) from None
        return record_op("slice", out, (self,), index=index, basic=_is_basic(index))


def _tensor_pow(base: Tensor, exponent: Tensor) -> Tensor:
    """base ** exponent elementwise (broadcast), recorded as "pow_tensor" with both as inputs."""

    def power(a, e):
        if a.dtype.kind != "f" and e.dtype.kind != "f" and np.any(e < 0):
            a = a.astype(np.float32)  # numpy refuses int ** negative int
        return np.power(a, e)

    out = _broadcast(power, base, exponent, "**")
    return record_op("pow_tensor", out, (base, exponent), out=out)


def _unwrap(value):
    """Tensors (also inside lists, tuples and dicts) replaced by their data arrays."""
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(v) for v in value)
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    return value


# numpy ufuncs that are Tensor operations: called on Tensors they give the operation's Tensor.
_UFUNC_OPS = {
    np.add: operator.add,
    np.subtract: operator.sub,
    np.multiply: operator.mul,
    np.true_divide: operator.truediv,
    np.power: operator.pow,
    np.matmul: operator.matmul,
    np.negative: operator.neg,
    np.exp: Tensor.exp,
    np.log: Tensor.log,
    np.sqrt: Tensor.sqrt,
    np.equal: operator.eq,
    np.not_equal: operator.ne,
    np.less: operator.lt,
    np.less_equal: operator.le,
    np.greater: operator.gt,
    np.greater_equal: operator.ge,
}


def _matmul(a: Tensor, b: Tensor) -> Tensor:
    hint = "Allowed: (..., n, k) @ (..., k, m), or 1-D vectors of length k. Hint: did you mean to transpose one operand (e.g. b.T)?"
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul needs tensors with at least 1 dim, got shapes {a.shape} @ {b.shape}. {hint}")
    k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if a.shape[-1] != k_b:
        raise ValueError(
            f"matmul shape mismatch: {a.shape} @ {b.shape}: inner dimensions {a.shape[-1]} and {k_b} differ. {hint}"
        )
    try:
        out = np.matmul(a.data, b.data)
    except ValueError:
        raise ValueError(f"matmul batch dims do not broadcast: {a.shape} @ {b.shape}. {hint}") from None
    return record_op("matmul", out, (a, b))
