"""Argument checks shared by every module's public entry points (bools, positive ints, dtypes).

Each public function or constructor checks its arguments once, with these; what it calls
internally trusts them. Every message names the offending value, the allowed range and a hint.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["check_bool", "check_positive_int", "check_float_dtype"]


def _prefix(owner: str) -> str:
    return f"{owner} " if owner else ""


def check_bool(name: str, value, owner: str = "") -> bool:
    """``value`` as a bool; TypeError for anything but True/False (a string like 'no' is truthy)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(
            f"{_prefix(owner)}{name} must be True or False, got {type(value).__name__} {value!r:.60}. "
            f"Hint: e.g. {name}=False (pass a bool; strings like 'no' are truthy)."
        )
    return bool(value)


def check_positive_int(name: str, value, owner: str = "", example: str = "") -> int:
    """``value`` as an int; TypeError if it is not an integer, ValueError if it is < 1.
    ``example`` is the hint's example call (default ``name=64``)."""
    example = example or f"{name}=64"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(
            f"{_prefix(owner)}{name} must be a positive int, got {type(value).__name__} {value!r:.60}. "
            f"Hint: an integer >= 1 (not a bool or a float), e.g. {example}."
        )
    if value < 1:
        raise ValueError(f"{_prefix(owner)}{name} must be a positive int (>= 1), got {value!r}. Hint: e.g. {example}.")
    return int(value)


def check_float_dtype(name: str, dtype, owner: str = "", hint: str = "convert with .astype(np.float32).") -> np.dtype:
    """``dtype`` if it is a float dtype; TypeError naming it otherwise."""
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"{_prefix(owner)}{name} must be a float tensor (float32 or float64), got dtype {dtype}. Hint: {hint}")
    return dtype
