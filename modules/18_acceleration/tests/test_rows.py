"""The accelerated row kernels (tinytorch.acceleration.rows) against their references: the
threaded gather is fancy indexing, the scatter in rounds is bitwise np.add.at, on any thread count."""

import numpy as np
import pytest

from tinytorch.acceleration.rows import gather_rows, scatter_add_rows
from tinytorch.core import acceleration
from tinytorch.core.autograd import embedding_lookup
from tinytorch.core.parallel import set_num_threads
from tinytorch.core.tensor import Tensor


@pytest.fixture(autouse=True)
def accelerated():
    with acceleration.enabled():
        yield


def add_at_reference(positions, rows, num_rows):
    out = np.zeros((num_rows,) + rows.shape[1:], dtype=rows.dtype)
    np.add.at(out, positions, rows)
    return out


@pytest.mark.parametrize(
    "positions",
    [
        np.array([3, 0, 3, 3, 1]),                                      # hand-sized, repeats
        np.random.default_rng(0).integers(0, 50, size=400),             # many short rounds
        np.r_[np.zeros(300, dtype=np.int64), np.arange(1, 40)],         # one id 300 times: add.at tail
        np.random.default_rng(1).zipf(1.3, size=2000) % 97,             # text-like: heavy head, long tail
        np.arange(60)[::-1].copy(),                                      # all unique: one round
    ],
    ids=["hand", "uniform", "padding-heavy", "zipf", "unique"],
)
def test_scatter_add_rows_is_bitwise_np_add_at(positions):
    rng = np.random.default_rng(2)
    num_rows = int(positions.max()) + 3  # the last rows never occur and must stay zero
    rows = rng.standard_normal((positions.size, 5)).astype(np.float32)
    out = scatter_add_rows(positions.astype(np.int64), rows, num_rows)
    assert out.shape == (num_rows, 5) and out.dtype == np.float32
    # Same additions in the same order as np.add.at, so not just close: identical.
    np.testing.assert_array_equal(out, add_at_reference(positions, rows, num_rows))
    np.testing.assert_array_equal(out[-2:], 0.0)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_scatter_add_rows_split_over_threads_is_bitwise_np_add_at(threads):
    # 30,000 rows of 16 float32 = 1.9 MB: above the 256 KiB grain, so 2-3 threads each take a
    # row range. Ids on both sides of every range boundary, heavy ids (padding) among them.
    rng = np.random.default_rng(4)
    num_rows = 30_000
    boundaries = [num_rows * i // threads for i in range(1, threads)]
    positions = np.concatenate([
        rng.integers(0, num_rows, size=6000),
        np.repeat(np.array([b - 1 for b in boundaries] + boundaries, dtype=np.int64), 40),  # heavy rows at each boundary
        np.full(500, 0), np.full(3, num_rows - 1),
    ])
    rng.shuffle(positions)
    rows = rng.standard_normal((positions.size, 16)).astype(np.float32)
    set_num_threads(threads)
    try:
        out = scatter_add_rows(positions, rows, num_rows)
    finally:
        set_num_threads(None)
    np.testing.assert_array_equal(out, add_at_reference(positions, rows, num_rows))


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("ids_shape", [(0,), (7,), (2, 2500), (3, 4, 500)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gather_rows_equals_fancy_indexing_on_any_thread_count(threads, ids_shape, dtype):
    # (2, 2500) ids of 64-float32 rows make 1.2 MiB: above the 256 KiB grain, so 2-3 threads split it.
    rng = np.random.default_rng(7)
    weights = rng.standard_normal((3000, 64)).astype(dtype)
    ids = rng.integers(0, 3000, size=ids_shape)
    set_num_threads(threads)
    try:
        out = gather_rows(weights, ids)
    finally:
        set_num_threads(None)
    assert out.shape == ids_shape + (64,) and out.dtype == dtype
    np.testing.assert_array_equal(out, weights[ids])
    assert not np.shares_memory(out, weights)


def test_lookup_is_the_same_on_one_and_two_threads():
    rng = np.random.default_rng(3)
    w = Tensor(rng.standard_normal((5000, 128)).astype(np.float32), requires_grad=True)
    ids = rng.integers(0, 5000, size=(8, 512))
    results = []
    for threads in (1, 2):
        set_num_threads(threads)
        try:
            results.append(embedding_lookup(w, ids).data)
        finally:
            set_num_threads(None)
    np.testing.assert_array_equal(results[0], results[1])
    np.testing.assert_array_equal(results[1], w.data[ids])
