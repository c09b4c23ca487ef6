"""The embedding backward's scatter (scatter_add_rows), its memory use, and gradient ownership."""

import tracemalloc

import numpy as np
import pytest

from tinytorch.core.autograd import embedding_lookup, scatter_add_rows
from tinytorch.core.parallel import set_num_threads
from tinytorch.core.tensor import Tensor


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


def test_scatter_add_rows_hand_computed_and_row_shapes():
    positions = np.array([1, 0, 1])
    rows = np.arange(3 * 2 * 2, dtype=np.float64).reshape(3, 2, 2)  # (n, 2, 2) rows, float64 kept
    out = scatter_add_rows(positions, rows, 3)
    np.testing.assert_array_equal(out[0], rows[1])
    np.testing.assert_array_equal(out[1], rows[0] + rows[2])
    np.testing.assert_array_equal(out[2], np.zeros((2, 2)))
    assert out.dtype == np.float64
    empty = scatter_add_rows(np.zeros(0, dtype=np.int64), np.zeros((0, 4), np.float32), 3)
    np.testing.assert_array_equal(empty, np.zeros((3, 4), np.float32))


def test_dense_backward_never_builds_a_tokens_by_vocab_matrix():
    # (tokens, vocab) one-hot would be 4096 * 20000 * 4 B = 328 MB; the gradient table is 1.3 MB.
    vocab, dim, tokens = 20_000, 16, 4096
    rng = np.random.default_rng(0)
    w = Tensor(rng.standard_normal((vocab, dim)).astype(np.float32), requires_grad=True)
    ids = rng.integers(0, vocab, size=(8, tokens // 8))
    upstream = rng.standard_normal((8, tokens // 8, dim)).astype(np.float32)
    out = embedding_lookup(w, ids)
    tracemalloc.start()
    try:
        out.backward(upstream)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    table_bytes, upstream_bytes = w.data.nbytes, upstream.nbytes
    one_hot_bytes = tokens * vocab * 4
    # The table, one upstream-sized temporary and index arrays; nothing proportional to tokens * vocab.
    assert peak < 2 * (table_bytes + upstream_bytes), (peak, table_bytes, upstream_bytes)
    assert peak < one_hot_bytes / 50
    np.testing.assert_array_equal(w.grad.data, add_at_reference(ids.reshape(-1), upstream.reshape(-1, dim), vocab))


def test_leaf_grads_are_never_shared_arrays():
    # The engine stores fresh gradients (EmbeddingBackward's table) without a copy; every other
    # gradient is copied, so in-place edits of one .grad cannot leak into another or into `up`.
    a = Tensor(np.ones((2, 3)), requires_grad=True)
    b = Tensor(np.ones((2, 3)), requires_grad=True)
    up = np.full((2, 3), 2.0, dtype=np.float32)
    (a + b).backward(up)  # AddBackward hands the same upstream array to both inputs
    a.grad.data *= 10.0
    np.testing.assert_array_equal(b.grad.data, np.full((2, 3), 2.0))
    np.testing.assert_array_equal(up, np.full((2, 3), 2.0))

    w = Tensor(np.ones((4, 2)), requires_grad=True)
    embedding_lookup(w, [1, 1, 3]).backward(np.ones((3, 2), dtype=np.float32))
    first = w.grad.data
    np.testing.assert_array_equal(first, [[0, 0], [2, 2], [0, 0], [1, 1]])
    embedding_lookup(w, [0]).backward(np.ones((1, 2), dtype=np.float32))  # accumulates: a new array
    np.testing.assert_array_equal(w.grad.data, [[1, 1], [2, 2], [0, 0], [1, 1]])
    np.testing.assert_array_equal(first, [[0, 0], [2, 2], [0, 0], [1, 1]])


def test_table_used_twice_sums_both_gradients():
    # Two lookups of one table: the engine adds the two fresh tables (the sum is fresh too).
    w = Tensor(np.zeros((3, 1)), requires_grad=True)
    (embedding_lookup(w, [0, 2]) * 2.0 + embedding_lookup(w, [2, 2])).sum().backward()
    np.testing.assert_array_equal(w.grad.data, [[2.0], [0.0], [4.0]])


def test_scatter_add_rows_refuses_positions_outside_the_table():
    rows = np.ones((2, 3), np.float32)
    for positions in (np.array([0, -1]), np.array([4, 0])):
        with pytest.raises(ValueError, match=r"positions must lie in \[0, 3\] for num_rows=4.*wrap"):
            scatter_add_rows(positions, rows, 4)
