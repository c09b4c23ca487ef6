"""Acceleration (module 18): the speed work for the reference kernels of modules 05, 11 and 12.

    from tinytorch.core import acceleration
    acceleration.enable()     # fast kernels and engine from now on
    acceleration.disable()    # back to the reference path (the plain maths)

Modules 05 and 12 compute every op through named kernels (``tinytorch.core.kernels``), whose
reference implementations are the plain numpy maths. ``enable()`` installs faster ones under the
same names and registers a faster autograd engine; nothing else changes, and nothing is patched:

====================  ==============================================  ==========================
kernel / engine       accelerated implementation                      result vs reference
====================  ==============================================  ==========================
"gather_rows"         row chunks over ``tinytorch.core.parallel``     bitwise
                      threads (embedding forward)
"scatter_add_rows"    rounds of unique ids, row ranges over threads   bitwise (same order of
                      (dense embedding backward, RowSparseGrad)        additions as np.add.at)
"masked_softmax"      in place, one buffer                            bitwise
"attention"           fused blocked attention for need_weights=False  float32 rounding
                      (skips masked blocks), op "fused_attention"      (summation order)
autograd engine       ``AcceleratedEngine``: keeps fresh gradient     bitwise
                      buffers and row-sparse views without copies
====================  ==============================================  ==========================

SGD / Adam apply row-sparse gradients (``Embedding(sparse=True)``) as row updates on both paths.
Importing this module only registers the "fused_attention" backward rule; it changes nothing
until ``enable()`` is called.
"""

from __future__ import annotations

from tinytorch.acceleration import attention as _attention
from tinytorch.acceleration import rows as _rows
from tinytorch.acceleration.engine import AcceleratedEngine
import tinytorch.core.attention  # noqa: F401  (registers the reference kernels this module speeds up)
from tinytorch.core.autograd import reference_engine
from tinytorch.core.checks import check_bool
from tinytorch.core.kernels import accelerate, kernel, restore
from tinytorch.core.tensor import autograd_engine, register_autograd_engine

__all__ = ["enable", "disable", "is_enabled", "enabled", "KERNELS", "AcceleratedEngine"]

# Kernel name -> its accelerated implementation (the names are those of the reference kernels).
KERNELS = {
    "gather_rows": _rows.gather_rows,
    "scatter_add_rows": _rows.scatter_add_rows,
    "masked_softmax": _attention.masked_softmax,
    "attention": _attention.attention,
}

_ENGINE = AcceleratedEngine()


def enable() -> None:
    """Uses the accelerated kernels and engine from now on (idempotent)."""
    for name, fn in KERNELS.items():
        accelerate(name, fn)
    if autograd_engine() is not _ENGINE:
        register_autograd_engine(_ENGINE)


def disable() -> None:
    """Back to the reference kernels and engine (idempotent)."""
    for name in KERNELS:
        restore(name)
    if autograd_engine() is _ENGINE:
        register_autograd_engine(reference_engine())


def is_enabled() -> bool:
    return autograd_engine() is _ENGINE and all(kernel(name) is fn for name, fn in KERNELS.items())


class enabled:
    """Context manager: acceleration on inside the block, the previous state restored after.

        with acceleration.enabled():
            loss.backward()
    """

    def __init__(self, on: bool = True):
        self.on = check_bool("on", on, "acceleration.enabled")

    def __enter__(self):
        self.previous = is_enabled()
        enable() if self.on else disable()
        return self

    def __exit__(self, *exc):
        enable() if self.previous else disable()
        return False
