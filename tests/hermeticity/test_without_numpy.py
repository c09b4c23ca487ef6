"""This target declares no @pypi//numpy: numpy must be invisible, though the host has it."""

import importlib.util
import sys


def test_numpy_is_not_importable():
    assert importlib.util.find_spec("numpy") is None, "host site-packages leaked into the test"


def test_interpreter_runs_isolated():
    assert sys.flags.no_site == 1  # -S
    assert sys.flags.no_user_site == 1  # -s
    assert sys.flags.safe_path  # -P: the script's real folder is not on sys.path
    assert not [p for p in sys.path if p.endswith(("site-packages", "dist-packages"))]


def test_undeclared_sibling_file_is_not_importable():
    assert importlib.util.find_spec("undeclared_sibling") is None


def test_no_module_folder_is_importable_without_deps():
    assert importlib.util.find_spec("tinytorch") is None
