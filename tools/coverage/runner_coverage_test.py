"""The coverage helpers of tools/testing/pytest_runner.py (the `main` of every test)."""

import os
import sys

from tools.testing import pytest_runner

MANIFEST = """\
modules/11_embeddings/tinytorch/core/embeddings.py
modules/11_embeddings/tinytorch/text/embedding_core.py

modules/11_embeddings/data/table.txt
external/pypi/numpy/site/numpy/__init__.py
modules/11_embeddings/tinytorch/text/embeddings.py
"""


def test_manifest_sources_keeps_this_workspace_python_files():
    assert pytest_runner.manifest_sources(MANIFEST) == [
        "modules/11_embeddings/tinytorch/core/embeddings.py",
        "modules/11_embeddings/tinytorch/text/embedding_core.py",
        "modules/11_embeddings/tinytorch/text/embeddings.py",
    ]


def test_manifest_sources_of_an_empty_manifest():
    assert pytest_runner.manifest_sources("") == []


def test_lcov_names_files_by_workspace_path():
    names = {"/work/main/modules/11_embeddings/tinytorch/text/embeddings.py": "modules/11_embeddings/tinytorch/text/embeddings.py"}
    lcov = "SF:/work/main/modules/11_embeddings/tinytorch/text/embeddings.py\nDA:1,1\nend_of_record\nSF:/elsewhere/x.py\nend_of_record\n"
    assert pytest_runner.lcov_with_workspace_paths(lcov, names) == (
        "SF:modules/11_embeddings/tinytorch/text/embeddings.py\nDA:1,1\nend_of_record\nSF:/elsewhere/x.py\nend_of_record\n")
    assert pytest_runner.lcov_with_workspace_paths("", names) == ""


def test_no_coverage_outside_bazel_coverage(tmp_path):
    manifest = tmp_path / "manifest"
    manifest.write_text(MANIFEST)
    env = {"COVERAGE_MANIFEST": str(manifest), "COVERAGE_DIR": str(tmp_path)}
    assert pytest_runner.start_coverage(env) is None  # COVERAGE unset: `bazel test`
    assert pytest_runner.start_coverage(dict(env, COVERAGE="1", TEST_SRCDIR=str(tmp_path), TEST_WORKSPACE="ws")) is None  # no listed file exists
    assert not (tmp_path / pytest_runner.LCOV_NAME).exists()


def test_bazel_test_never_imports_coverage():
    if os.environ.get("COVERAGE") != "1":  # under `bazel coverage` the runner has started it
        assert "coverage" not in sys.modules


def test_one_blas_thread_unless_the_environment_sets_it():
    env = {}
    pytest_runner.single_blas_thread(env)
    assert env == {"OPENBLAS_NUM_THREADS": "1"}
    env = {"OPENBLAS_NUM_THREADS": "4"}
    pytest_runner.single_blas_thread(env)
    assert env == {"OPENBLAS_NUM_THREADS": "4"}
