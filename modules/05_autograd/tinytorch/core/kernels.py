"""Kernel registry: the named numpy kernels that ops call, and the one place to swap them.

Modules 05, 11 and 12 register the *reference* implementation of each kernel, the plain maths a
learner reads (``@register_kernel("gather_rows")``). An op calls ``kernel(name)(...)``, which is
the reference unless a faster implementation was installed with ``accelerate(name, fn)``; module
18 (``tinytorch.core.acceleration.enable()``) does that for every kernel it speeds up and
``restore(name)`` undoes it. Nothing is patched: the registry is the extension point.
"""

from __future__ import annotations

__all__ = ["register_kernel", "same_definition", "kernel", "reference_kernel", "accelerate", "restore", "accelerated_kernels", "kernel_names"]

_REFERENCE: dict = {}
_ACCELERATED: dict = {}


def same_definition(a, b) -> bool:
    """Are ``a`` and ``b`` the same function or class, possibly re-imported (same qualified name)?
    Registries accept re-registering that and refuse anything else, which would silently change
    the maths."""
    return (a.__module__, a.__qualname__) == (b.__module__, b.__qualname__)


def register_kernel(name: str):
    """Decorator: makes ``fn`` the reference implementation of kernel ``name``."""

    def decorator(fn):
        existing = _REFERENCE.get(name)
        if existing is not None and not same_definition(existing, fn):
            raise ValueError(
                f"kernel {name!r} already has the reference {existing.__module__}.{existing.__qualname__}; "
                f"refusing {fn.__module__}.{fn.__qualname__}. Hint: pick a new kernel name, or use accelerate()."
            )
        _REFERENCE[name] = fn
        return fn

    return decorator


def _known(name: str) -> None:
    if name not in _REFERENCE:
        raise ValueError(
            f"unknown kernel {name!r}; registered kernels: {sorted(_REFERENCE)}. "
            "Hint: import the module that registers it (e.g. tinytorch.core.attention) first."
        )


def kernel(name: str):
    """The implementation ops use for ``name``: the accelerated one if installed, else the reference."""
    fast = _ACCELERATED.get(name)
    if fast is not None:
        return fast
    _known(name)
    return _REFERENCE[name]


def reference_kernel(name: str):
    """The reference implementation of ``name`` (what an accelerated kernel falls back to)."""
    _known(name)
    return _REFERENCE[name]


def accelerate(name: str, fn) -> None:
    """Installs ``fn`` (same arguments and results as the reference) for kernel ``name``."""
    _known(name)
    if not callable(fn):
        raise TypeError(f"accelerate({name!r}, fn) needs a callable, got {type(fn).__name__}.")
    _ACCELERATED[name] = fn


def restore(name: str) -> None:
    """Makes kernel ``name`` use its reference implementation again (no-op if it already does)."""
    _known(name)
    _ACCELERATED.pop(name, None)


def accelerated_kernels() -> dict:
    """A copy of the installed accelerated kernels, name -> function."""
    return dict(_ACCELERATED)


def kernel_names() -> list:
    return sorted(_REFERENCE)
