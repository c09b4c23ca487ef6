"""What the mutation run of 05's embedding ops found untested (tools/mutation/run.sh
//modules/05_autograd:autograd --scope embedding): the range check of embedding_lookup on its own,
the upstream calling form with list and Tensor ids, and RowSparseGrad's array protocol."""

import numpy as np
import pytest

from tinytorch.core.autograd import EmbeddingBackward, EmbeddingSparseBackward, RowSparseGrad, embedding_lookup
from tinytorch.core.tensor import Tensor


def table(rows=5, cols=3):
    return Tensor(np.arange(rows * cols, dtype=np.float32).reshape(rows, cols), requires_grad=True)


@pytest.mark.parametrize("ids, bad", [([5], [5]), ([-1], [-1]), ([[0, 5]], [5]), ([[-1, 4]], [-1])])
def test_lookup_refuses_an_id_one_past_either_end(ids, bad):
    with pytest.raises(ValueError) as info:
        embedding_lookup(table(), ids)
    message = str(info.value)
    assert f"embedding ids {bad} are out of range" in message and "allowed: 0..4" in message and "Hint" in message


def test_lookup_accepts_both_ends():
    np.testing.assert_array_equal(embedding_lookup(table(), [0, 4]).data, table().data[[0, 4]])


def test_lookup_names_the_sparse_flag():
    with pytest.raises(TypeError) as info:
        embedding_lookup(table(), [0], sparse="yes")
    assert str(info.value).startswith("embedding_lookup sparse ") and "Hint" in str(info.value)


@pytest.mark.parametrize("make_ids", [lambda: [[0, 2, 2]], lambda: Tensor(np.array([[0, 2, 2]])), lambda: np.array([[0.0, 2.0, 2.0]])])
def test_upstream_backward_form_takes_lists_tensors_and_whole_floats(make_ids):
    w = table()
    grad = np.ones((1, 3, 3), np.float32)
    (dense,) = EmbeddingBackward(w, make_ids()).apply(grad)
    np.testing.assert_array_equal(dense, [[1, 1, 1], [0, 0, 0], [2, 2, 2], [0, 0, 0], [0, 0, 0]])
    (sparse,) = EmbeddingSparseBackward(w, make_ids()).apply(grad)
    np.testing.assert_array_equal(sparse.to_dense(), dense)


def test_row_sparse_grad_array_protocol():
    g = RowSparseGrad(np.array([3, 1, 3]), np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], np.float32), (4, 2))
    want = np.array([[0, 0], [3, 4], [0, 0], [6, 8]], np.float32)
    assert g.ndim == 2
    np.testing.assert_array_equal(np.asarray(g), want)
    as64 = np.asarray(g, dtype=np.float64)
    assert as64.dtype == np.float64 and np.asarray(g).dtype == np.float32
    np.testing.assert_array_equal(as64, want)
    ids, rows = g.coalesce()
    np.testing.assert_array_equal(ids, [1, 3])
    np.testing.assert_array_equal(rows, [[3, 4], [6, 8]])
    assert repr(g) == "RowSparseGrad(shape=(4, 2), entries=3, dtype=float32)"
