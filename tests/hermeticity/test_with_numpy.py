"""This target declares @pypi//numpy and one module: exactly those are importable, from runfiles."""

import importlib.util
import os

import numpy as np
import tinytorch.core.tensor


def test_numpy_comes_from_the_lock_not_the_host():
    runfiles = os.environ["TEST_SRCDIR"]
    assert os.path.realpath(np.__file__).endswith("/pypi/numpy/site/numpy/__init__.py")
    assert np.__file__.startswith(runfiles)
    assert np.__version__ == "2.4.6"  # the version pinned in requirements_lock.txt


def test_declared_module_is_importable_and_undeclared_ones_are_not():
    assert tinytorch.core.tensor.__file__.endswith("modules/01_tensor/tinytorch/core/tensor.py")
    assert importlib.util.find_spec("tinytorch.core.autograd") is None  # 05 is not a dep here
    assert importlib.util.find_spec("tinytorch.core.attention") is None  # nor is 12
