"""Loss functions (mean reduction): mean squared error, cross-entropy, binary cross-entropy.

``mse_loss`` is composed of module 01 Tensor ops. ``cross_entropy``, ``binary_cross_entropy``
and ``binary_cross_entropy_with_logits`` are fused ops recorded via ``record_op``; their backward
rules live in module 05, so this module depends on 01 (and on 02 for ``log_softmax``) only and its
gradients work whenever 05 is imported.

    mse_loss(pred, target)                          MSELoss()
    cross_entropy(logits, target_ids)               CrossEntropyLoss()      logits + class ids
    binary_cross_entropy(probs, targets)            BinaryCrossEntropyLoss()  probabilities in [0, 1]
    binary_cross_entropy_with_logits(z, targets)    BCEWithLogitsLoss()     raw scores, stable for any z
    log_softmax(x, dim=-1)                          the log-probabilities cross_entropy is built on
"""

from __future__ import annotations

import numbers

import numpy as np

from tinytorch.core.activations import LogSoftmax
from tinytorch.core.tensor import Tensor, record_op

__all__ = [
    "mse_loss",
    "cross_entropy",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "log_softmax",
    "MSELoss",
    "CrossEntropyLoss",
    "BinaryCrossEntropyLoss",
    "BCEWithLogitsLoss",
]


def _as_tensor(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def mse_loss(pred, target) -> Tensor:
    """mean((pred - target)^2) over all elements. pred, target: same shape -> scalar Tensor."""
    pred, target = _as_tensor(pred), _as_tensor(target)
    if pred.shape != target.shape:
        raise ValueError(
            f"mse_loss needs pred and target of the same shape, got pred {pred.shape} and target {target.shape}. "
            "Hint: silent broadcasting would average the wrong pairs; reshape the target, e.g. target.reshape(pred.shape)."
        )
    diff = pred - target
    return (diff * diff).mean()


def cross_entropy(logits, target_ids, ignore_index: int = -100) -> Tensor:
    """Mean negative log-likelihood of ``target_ids`` under softmax(logits).

    logits: (..., C) float with C >= 1, target_ids: (...) integer class ids in [0, C) -> scalar Tensor.
    Positions whose id equals ``ignore_index`` (default -100, as in PyTorch) are left out of the
    mean; if every position is ignored the loss is 0 (PyTorch would give nan). Uses log-sum-exp
    with the max subtracted, so logits of 1e4 give finite results.
    """
    logits = _as_tensor(logits)
    ids = target_ids.data if isinstance(target_ids, Tensor) else _ids_array(target_ids)
    if logits.ndim == 0:
        raise ValueError("cross_entropy needs logits of shape (..., C), got a 0-d tensor. Hint: e.g. (batch, C).")
    if logits.shape[-1] == 0:
        raise ValueError(
            f"cross_entropy needs at least one class (C >= 1), got logits of shape {logits.shape}. "
            "Hint: the last dim of logits is the number of classes; check the model's output size."
        )
    if ids.dtype.kind not in "iu":
        raise TypeError(
            f"cross_entropy target_ids must be integer class ids, got dtype {ids.dtype}. "
            "Hint: pass class indices (np.int64), not one-hot vectors or probabilities."
        )
    if ids.shape != logits.shape[:-1]:
        raise ValueError(
            f"cross_entropy target_ids shape {ids.shape} must equal logits shape {logits.shape} without its last "
            f"(class) dim, i.e. {logits.shape[:-1]}. Hint: one class id per row of logits."
        )
    _check_ignore_index(ignore_index)
    num_classes = logits.shape[-1]
    valid = ids != ignore_index
    bad = ids[valid & ((ids < 0) | (ids >= num_classes))]
    if bad.size:
        raise ValueError(
            f"cross_entropy target ids {bad.reshape(-1)[:5].tolist()} are out of range for {num_classes} classes "
            f"(allowed: 0..{num_classes - 1}, or ignore_index={ignore_index}). Hint: check the label encoding."
        )
    target = np.where(valid, ids, 0).astype(np.int64)
    n_valid = int(valid.sum())

    x = logits.data if logits.dtype.kind == "f" else logits.data.astype(np.float32)
    shifted = x - np.max(x, axis=-1, keepdims=True)
    exp = np.exp(shifted)
    sum_exp = np.sum(exp, axis=-1, keepdims=True)
    log_probs = shifted - np.log(sum_exp)
    picked = np.take_along_axis(log_probs, target[..., None], axis=-1)[..., 0]
    weight = valid / max(n_valid, 1)
    loss = -np.sum(picked * weight)
    return record_op(
        "cross_entropy", np.asarray(loss, dtype=x.dtype), (logits,),
        probs=exp / sum_exp, target=target, weight=weight.astype(x.dtype),
    )


def log_softmax(x, dim: int = -1) -> Tensor:
    """x - logsumexp(x) along ``dim``, stable for huge values (the max is subtracted first):
    the log-probabilities of softmax(x). (...) -> (...), differentiable ("log_softmax").
    The same as ``LogSoftmax(dim)(x)`` of module 02."""
    return LogSoftmax(dim)(x)


def binary_cross_entropy(predictions, targets) -> Tensor:
    """Mean of -(y ln p + (1 - y) ln(1 - p)) over every element: the loss of probabilities p
    (e.g. a Sigmoid's output) against labels y. predictions, targets: the same shape -> scalar.

    Each log is clamped at -100 (PyTorch's BCELoss does the same), so p = 0 or 1 gives a large
    finite loss instead of inf. For raw scores prefer ``binary_cross_entropy_with_logits``: it is
    exact where sigmoid(z) rounds to 0 or 1. Targets are constants (no gradient); soft labels in
    [0, 1] are allowed.
    """
    p, y = _binary_inputs(predictions, targets, "binary_cross_entropy", "predictions")
    bad = (p.data < 0) | (p.data > 1) | np.isnan(p.data)
    if bad.any():
        raise ValueError(
            f"binary_cross_entropy predictions must be probabilities in [0, 1], got "
            f"{p.data[bad].reshape(-1)[:5].tolist()}. Hint: apply Sigmoid to raw scores first, or use "
            "binary_cross_entropy_with_logits (BCEWithLogitsLoss) on the scores themselves."
        )
    x = p.data
    with np.errstate(divide="ignore"):  # log(0) = -inf, clamped to -100 below
        log_p = np.maximum(np.log(x), -100.0)
        log_1mp = np.maximum(np.log1p(-x), -100.0)
    loss = -np.mean(y.data * log_p + (1.0 - y.data) * log_1mp)
    return record_op("binary_cross_entropy", np.asarray(loss, dtype=x.dtype), (p,), target=y.data)


def binary_cross_entropy_with_logits(logits, targets) -> Tensor:
    """binary_cross_entropy(sigmoid(logits), targets), computed without forming sigmoid:
    mean of max(z, 0) - z y + ln(1 + exp(-|z|)), exact and finite for any z (1e4 too).
    logits, targets: the same shape -> scalar. Targets are constants in [0, 1]."""
    z, y = _binary_inputs(logits, targets, "binary_cross_entropy_with_logits", "logits")
    if not np.isfinite(z.data).all():
        bad = z.data[~np.isfinite(z.data)]
        raise ValueError(
            f"binary_cross_entropy_with_logits needs finite logits, got {bad.reshape(-1)[:5].tolist()}. "
            "Hint: look for an overflow or a division by zero earlier in the model."
        )
    a = z.data
    loss = np.mean(np.maximum(a, 0) - a * y.data + np.log1p(np.exp(-np.abs(a))))
    return record_op("binary_cross_entropy_with_logits", np.asarray(loss, dtype=a.dtype), (z,), target=y.data)


def _binary_inputs(predictions, targets, name: str, what: str) -> tuple:
    """(float Tensor, float Tensor of the same shape with values in [0, 1]) or a clear error."""
    p = _as_tensor(predictions)
    if p.dtype.kind != "f":
        raise TypeError(
            f"{name} {what} must be floats, got dtype {p.dtype}. Hint: the model's output, e.g. Tensor([0.9, 0.2])."
        )
    if isinstance(targets, Tensor) and targets.requires_grad:
        raise ValueError(
            f"{name} targets are labels and get no gradient, got a target that requires grad (shape "
            f"{targets.shape}). Hint: pass targets.detach(); to learn both sides use mse_loss."
        )
    y = Tensor(targets.data if isinstance(targets, Tensor) else targets, dtype=p.dtype)
    if y.shape != p.shape:
        raise ValueError(
            f"{name} needs {what} and targets of the same shape, got {what} {p.shape} and targets {y.shape}. "
            f"Hint: silent broadcasting would pair the wrong elements; reshape, e.g. targets.reshape({p.shape})."
        )
    if p.size == 0:
        raise ValueError(f"{name} of empty {what} (shape {p.shape}) is undefined. Hint: check the batch.")
    bad = (y.data < 0) | (y.data > 1) | np.isnan(y.data)
    if bad.any():
        raise ValueError(
            f"{name} targets must be labels in [0, 1] (0/1, or soft labels), got {y.data[bad].reshape(-1)[:5].tolist()}. "
            "Hint: for class ids 0..C-1 use cross_entropy with C logits."
        )
    return p, y


def _ids_array(target_ids) -> np.ndarray:
    """target ids -> ndarray; ragged nested lists get a ValueError with a hint instead of numpy's."""
    try:
        return np.asarray(target_ids)
    except ValueError:
        text = repr(target_ids)
        raise ValueError(
            f"cross_entropy target_ids must be rectangular (every row the same length), got ragged "
            f"{text if len(text) <= 80 else text[:77] + '...'}. "
            "Hint: pad short rows with ignore_index (default -100) so they are left out of the loss."
        ) from None


def _check_ignore_index(ignore_index) -> int:
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, (numbers.Integral, np.integer)):
        raise TypeError(
            f"ignore_index must be an int, got {type(ignore_index).__name__} {ignore_index!r}. "
            "Hint: use the padding id of your targets, e.g. ignore_index=-100 (the default)."
        )
    return int(ignore_index)


class MSELoss:
    """Callable wrapper: ``MSELoss()(pred, target) == mse_loss(pred, target)``."""

    def __call__(self, pred, target) -> Tensor:
        return self.forward(pred, target)

    def forward(self, pred, target) -> Tensor:
        return mse_loss(pred, target)

    def __repr__(self) -> str:
        return "MSELoss()"


class CrossEntropyLoss:
    """Callable wrapper: ``CrossEntropyLoss(ignore_index)(logits, ids) == cross_entropy(...)``."""

    def __init__(self, ignore_index: int = -100):
        # Checked here so a typo fails where it was written, not at the first training step.
        self.ignore_index = _check_ignore_index(ignore_index)

    def __call__(self, logits, target_ids) -> Tensor:
        return self.forward(logits, target_ids)

    def forward(self, logits, target_ids) -> Tensor:
        return cross_entropy(logits, target_ids, ignore_index=self.ignore_index)

    def __repr__(self) -> str:
        return f"CrossEntropyLoss(ignore_index={self.ignore_index})"


class BinaryCrossEntropyLoss:
    """Callable wrapper: ``BinaryCrossEntropyLoss()(probs, targets) == binary_cross_entropy(...)``
    (PyTorch's ``nn.BCELoss``; upstream TinyTorch's name)."""

    def __call__(self, predictions, targets) -> Tensor:
        return self.forward(predictions, targets)

    def forward(self, predictions, targets) -> Tensor:
        return binary_cross_entropy(predictions, targets)

    def __repr__(self) -> str:
        return "BinaryCrossEntropyLoss()"


class BCEWithLogitsLoss:
    """Callable wrapper: ``BCEWithLogitsLoss()(logits, targets) == binary_cross_entropy_with_logits(...)``
    (PyTorch's ``nn.BCEWithLogitsLoss``)."""

    def __call__(self, logits, targets) -> Tensor:
        return self.forward(logits, targets)

    def forward(self, logits, targets) -> Tensor:
        return binary_cross_entropy_with_logits(logits, targets)

    def __repr__(self) -> str:
        return "BCEWithLogitsLoss()"
