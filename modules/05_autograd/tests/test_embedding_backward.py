"""The embedding backward's scatter (the "scatter_add_rows" kernel), its memory use, and gradient ownership."""

import tracemalloc

import numpy as np
import pytest

from tinytorch.core.autograd import embedding_lookup, scatter_add_rows
from tinytorch.core.tensor import Tensor


def add_at_reference(positions, rows, num_rows):
    out = np.zeros((num_rows,) + rows.shape[1:], dtype=rows.dtype)
    np.add.at(out, positions, rows)
    return out


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
