"""The autograd engine, fast: no defensive copies of fresh gradient buffers, row-sparse views.

``AcceleratedEngine`` is the reference ``AutogradEngine`` of module 05 (same graph, same order of
additions, so bitwise the same gradients) with two savings that matter for large tables:

* a leaf's ``.grad`` is stored without a copy when the array is fresh: allocated by a backward
  rule that returns new buffers (``FRESH_GRAD_RULES``: the embedding table's scatter, the fused
  attention's dq/dk/dv) or a sum made here, and referenced nowhere else. A copy of a large table
  costs as much as the whole scatter.
* a row-sparse gradient (``Embedding(sparse=True)``) keeps the upstream gradient as its values,
  read-only instead of copied (like PyTorch's sparse embedding gradient).

``tinytorch.core.acceleration.enable()`` registers it with module 01 (``register_autograd_engine``).
"""

from __future__ import annotations

import numpy as np

from tinytorch.acceleration.attention import FusedAttentionBackward
from tinytorch.core.autograd import AutogradEngine, EmbeddingBackward, RowSparseGrad, check_output_grad, topological_order
from tinytorch.core.tensor import Tensor

__all__ = ["AcceleratedEngine", "FRESH_GRAD_RULES"]

# Backward rules whose every returned array is newly allocated and referenced nowhere else.
FRESH_GRAD_RULES = (EmbeddingBackward, FusedAttentionBackward)


class AcceleratedEngine(AutogradEngine):
    """AutogradEngine that tracks which pending gradients it may keep without a copy."""

    def backward(self, tensor: Tensor, grad=None) -> None:
        grads = {id(tensor): check_output_grad(tensor, grad)}
        fresh = set()  # ids of tensors whose pending gradient array nothing else references
        for node in reversed(topological_order(tensor)):
            g = grads.pop(id(node), None)
            if g is None:
                continue
            if isinstance(g, RowSparseGrad) and node._grad_fn is not None:
                g = g.to_dense()  # only leaves keep row-sparse gradients; ops get arrays
            if node._grad_fn is None or node._retains_grad:
                node.grad = _accumulate(node.grad, g, node.dtype, owned=node._grad_fn is None and id(node) in fresh)
            if node._grad_fn is None:
                continue
            fn = node._grad_fn
            fresh_rule = type(fn) in FRESH_GRAD_RULES  # exactly these: not the sparse subclass
            for inp, g_in in zip(fn.inputs, fn.backward(g)):
                if g_in is None or not inp.requires_grad:
                    continue
                key = id(inp)
                if key in grads:
                    grads[key] = grads[key] + g_in
                    fresh.add(key)  # a sum is a new array
                else:
                    grads[key] = g_in
                    if fresh_rule:
                        fresh.add(key)


def _accumulate(existing, g, dtype, owned: bool):
    """The new ``.grad`` of a tensor: ``existing`` (None, a Tensor or a RowSparseGrad) plus ``g``.

    Dense gradients are copied unless ``owned`` (the array is fresh and referenced nowhere else),
    because upstream gradients may be views or shared between inputs. Row-sparse gradients stay
    sparse while everything added to them is sparse.
    """
    if isinstance(g, RowSparseGrad):
        if existing is None:
            # The values are a view of the upstream gradient. Like PyTorch's sparse embedding
            # gradient they are kept without a copy (a copy costs as much as the whole sparse
            # backward), but read-only, so editing them in place cannot change another gradient.
            values = g.values.astype(dtype, copy=False).view()
            values.flags.writeable = False
            return RowSparseGrad(g.indices, values, g.shape)
        if isinstance(existing, RowSparseGrad):  # concatenated: new arrays, no copy needed
            total = existing + g
            return RowSparseGrad(total.indices, total.values.astype(dtype, copy=False), total.shape)
        return Tensor._wrap((g + existing.data).astype(dtype, copy=False))
    if existing is None:
        keep = owned and g.dtype == dtype and isinstance(g, np.ndarray)
        return Tensor._wrap(g if keep else np.array(g, dtype=dtype))
    return Tensor._wrap(np.asarray(existing.data + g, dtype=dtype))


