"""The benchmark harness counts what it says it does, writes where it says, and the scatter
candidates of scatter.py all compute np.add.at's result. No timing is asserted."""

import json
import os

import numpy as np
import pytest

import report
import scatter
from timing import Case, side_by_side


def test_side_by_side_runs_setup_untimed_and_every_case_each_round():
    calls = {"setup": 0, "a": 0, "b": 0}

    def count(name):
        calls[name] += 1

    stats = side_by_side(
        {"a": Case(lambda: count("a"), setup=lambda: count("setup")), "b": Case(lambda: count("b"))},
        repeats=5,
        warmup=2,
    )
    assert calls == {"setup": 7, "a": 7, "b": 7}
    assert set(stats) == {"a", "b"}
    assert stats["a"].repeats == 5 and stats["a"].min_ms <= stats["a"].median_ms <= stats["a"].max_ms


def test_output_dir_prefers_flag_then_bazel_workspace(tmp_path, monkeypatch):
    assert report.output_dir(str(tmp_path / "x")) == str(tmp_path / "x")
    monkeypatch.setenv("BUILD_WORKSPACE_DIRECTORY", str(tmp_path))
    assert report.output_dir() == str(tmp_path / "out" / "benchmarks")
    assert os.path.isdir(tmp_path / "out" / "benchmarks")
    report.write_json(str(tmp_path / "r.json"), {"rows": [{"ratio": 1.5}]})
    assert json.loads((tmp_path / "r.json").read_text()) == {"rows": [{"ratio": 1.5}]}


def test_markdown_table_formats_numbers_and_blanks():
    table = report.markdown_table(
        [{"k": "Embedding", "ms": 0.012345, "big": 1234.5}, {"k": "x", "ms": None, "big": 2.0}],
        [("kernel", "k"), ("ms", "ms"), ("big", "big"), ("double", lambda r: r["big"] * 2)],
    )
    assert table.splitlines() == [
        "| kernel | ms | big | double |",
        "|---|---|---|---|",
        "| Embedding | 0.0123 | 1234.5 | 2469.0 |",
        "| x |  | 2 | 4 |",
    ]


@pytest.mark.parametrize("method", scatter.CANDIDATES, ids=lambda m: m.__name__)
def test_every_scatter_candidate_computes_the_gradient_table(method):
    rng = np.random.default_rng(0)
    ids = np.r_[rng.integers(0, 40, size=300), np.zeros(100, dtype=np.int64)]  # uniform + one heavy id
    rows = rng.standard_normal((ids.size, 6)).astype(np.float32)
    want = np.zeros((40, 6), np.float32)
    np.add.at(want, ids, rows)
    got = method(ids, rows, 40)
    assert got.shape == (40, 6) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_reused_table_zeroes_what_the_previous_call_wrote():
    rng = np.random.default_rng(1)
    reused = scatter.ReusedTable()
    for call in range(3):
        ids = rng.integers(0, 30, size=50)
        rows = rng.standard_normal((50, 4)).astype(np.float32)
        want = np.zeros((30, 4), np.float32)
        np.add.at(want, ids, rows)
        np.testing.assert_array_equal(reused(ids, rows, 30), want)


@pytest.mark.parametrize("method", scatter.GATHERS, ids=lambda m: m.__name__)
def test_every_gather_candidate_computes_the_lookup(method):
    rng = np.random.default_rng(2)
    table = rng.standard_normal((50, 3)).astype(np.float32)
    ids = rng.integers(0, 50, size=101)
    np.testing.assert_array_equal(method(table, ids), table[ids])
