"""embedding_lookup(..., sparse=True): row-sparse gradients (RowSparseGrad) and how they add up."""

import numpy as np
import pytest

from tinytorch.core.autograd import EmbeddingSparseBackward, RowSparseGrad, embedding_lookup
from tinytorch.core.tensor import Tensor


def edit_in_place(values):
    """values *= 2, or nothing if they are read-only: either way no other array may change."""
    try:
        values *= 2.0
    except ValueError as error:
        assert "read-only" in str(error)


def weight(vocab=6, dim=3):
    return Tensor(np.arange(vocab * dim, dtype=np.float32).reshape(vocab, dim) / 10, requires_grad=True)


def test_sparse_grad_holds_one_entry_per_looked_up_id():
    w = weight()
    ids = np.array([[4, 1], [4, 0]])
    upstream = np.arange(12, dtype=np.float32).reshape(2, 2, 3)
    out = embedding_lookup(w, ids, sparse=True)
    np.testing.assert_array_equal(out.data, w.data[ids])
    assert isinstance(out.grad_fn, EmbeddingSparseBackward)
    out.backward(upstream)
    g = w.grad
    assert isinstance(g, RowSparseGrad) and g.is_sparse and g.shape == (6, 3) and g.dtype == np.float32
    np.testing.assert_array_equal(g.indices, [4, 1, 4, 0])
    np.testing.assert_array_equal(g.values, upstream.reshape(4, 3))
    rows, summed = g.coalesce()
    np.testing.assert_array_equal(rows, [0, 1, 4])
    np.testing.assert_array_equal(summed, [upstream[1, 1], upstream[0, 1], upstream[0, 0] + upstream[1, 0]])
    # Editing the gradient in place cannot change the upstream array (the reference engine keeps
    # a copy; the accelerated one a read-only view, tested in module 18).
    edit_in_place(g.values)
    np.testing.assert_array_equal(upstream, np.arange(12, dtype=np.float32).reshape(2, 2, 3))


def test_two_sparse_tables_sharing_one_upstream_array_stay_independent():
    a, b = weight(4, 2), weight(4, 2)
    (embedding_lookup(a, [1, 2], sparse=True) + embedding_lookup(b, [3, 3], sparse=True)).backward(
        np.ones((2, 2), np.float32)
    )  # AddBackward hands both lookups the same array
    np.testing.assert_array_equal(a.grad.to_dense(), [[0, 0], [1, 1], [1, 1], [0, 0]])
    edit_in_place(a.grad.values)
    np.testing.assert_array_equal(b.grad.to_dense(), [[0, 0], [0, 0], [0, 0], [2, 2]])


def test_sparse_and_dense_modes_give_the_same_gradient():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 9, size=(5, 7))
    upstream = rng.standard_normal((5, 7, 4)).astype(np.float32)
    dense, sparse = weight(9, 4), weight(9, 4)
    embedding_lookup(dense, ids).backward(upstream)
    embedding_lookup(sparse, ids, sparse=True).backward(upstream)
    np.testing.assert_array_equal(sparse.grad.to_dense(), dense.grad.data)
    np.testing.assert_array_equal(sparse.grad.data, dense.grad.data)


def test_sparse_grads_accumulate_sparse_and_mix_with_dense():
    w = weight(4, 2)
    embedding_lookup(w, [1], sparse=True).backward(np.ones((1, 2), np.float32))
    embedding_lookup(w, [3, 1], sparse=True).backward(np.full((2, 2), 2.0, np.float32))
    assert isinstance(w.grad, RowSparseGrad)
    np.testing.assert_array_equal(w.grad.indices, [1, 3, 1])
    np.testing.assert_array_equal(w.grad.data, [[0, 0], [3, 3], [0, 0], [2, 2]])
    # A dense use of the same table (e.g. tied input/output embeddings) turns the sum dense.
    (w * 1.0).sum().backward()
    assert isinstance(w.grad, Tensor)
    np.testing.assert_array_equal(w.grad.data, [[1, 1], [4, 4], [1, 1], [3, 3]])


def test_tied_table_in_one_graph_sums_sparse_and_dense():
    w = weight(3, 2)
    loss = embedding_lookup(w, [2, 2], sparse=True).sum() + (w * 3.0).sum()
    loss.backward()
    assert isinstance(w.grad, Tensor)
    np.testing.assert_array_equal(w.grad.data, [[3, 3], [3, 3], [5, 5]])


def test_non_leaf_table_receives_a_dense_gradient():
    w = weight(3, 2)
    scaled = w * 2.0  # not a leaf: the sparse gradient is densified before MulBackward
    embedding_lookup(scaled, [0, 0, 2], sparse=True).sum().backward()
    np.testing.assert_array_equal(w.grad.data, [[4, 4], [0, 0], [2, 2]])


def test_row_sparse_grad_checks_value_shape():
    with pytest.raises(ValueError, match=r"values must have shape \(n, \*row_shape\) = \(2, 3\).*got \(2, 4\)"):
        RowSparseGrad(np.array([0, 1]), np.zeros((2, 4)), (5, 3))


def test_row_sparse_grad_scales_and_converts_like_an_array():
    grad = RowSparseGrad(np.array([2, 0, 2]), np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), (4, 2))
    dense = np.array([[3.0, 4.0], [0.0, 0.0], [6.0, 8.0], [0.0, 0.0]])
    np.testing.assert_array_equal(grad.numpy(), dense)
    np.testing.assert_array_equal(np.asarray(grad), dense)
    for scaled in (grad * 0.5, 0.5 * grad):
        assert isinstance(scaled, RowSparseGrad)  # still one entry per id, not a dense table
        np.testing.assert_array_equal(scaled.indices, [2, 0, 2])
        np.testing.assert_array_equal(scaled.to_dense(), dense * 0.5)
    with pytest.raises(TypeError, match=r"multiplied by a number, got ndarray\. Hint: use grad\.to_dense\(\)"):
        grad * np.ones((4, 2))
    snapshot = grad.copy()
    snapshot.values[0] = 0.0  # writable and independent
    np.testing.assert_array_equal(grad.to_dense(), dense)
    assert isinstance(snapshot, RowSparseGrad) and snapshot.values.flags.writeable


def test_backward_rejects_a_non_numeric_grad():
    y = weight().sum()
    with pytest.raises(TypeError, match=r"backward\(grad\) needs numbers of the output's shape \(\), got str 'a'"):
        y.backward("a")
