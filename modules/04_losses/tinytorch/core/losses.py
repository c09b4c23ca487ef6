"""Loss functions: mean squared error and cross-entropy (mean reduction).

``mse_loss`` is composed of module 01 Tensor ops. ``cross_entropy`` is one fused op recorded via
``record_op("cross_entropy", ...)``; its backward rule (softmax - one_hot) lives in module 05, so
this module depends on 01 only and its gradients work whenever 05 is imported.
"""

from __future__ import annotations

import numbers

import numpy as np

from tinytorch.core.tensor import Tensor, record_op

__all__ = ["mse_loss", "cross_entropy", "MSELoss", "CrossEntropyLoss"]


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
