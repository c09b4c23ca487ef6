"""Embedding(sparse=True): row-sparse weight gradients, same values as the dense mode."""

import numpy as np
import pytest

from tinytorch.core.autograd import RowSparseGrad
from tinytorch.core.optimizers import SGD
from tinytorch.core.tensor import Tensor
from tinytorch.text.embedding_core import Embedding


def test_sparse_embedding_matches_dense_forward_gradient_and_sgd_step():
    dense, sparse = Embedding(50, 8, seed=0), Embedding(50, 8, seed=0, sparse=True)
    ids = np.array([[3, 7, 3, 0], [49, 3, 7, 7]])
    upstream = Tensor(np.random.default_rng(1).normal(size=(2, 4, 8)))
    out_dense, out_sparse = dense(ids), sparse(ids)
    np.testing.assert_array_equal(out_sparse.data, out_dense.data)
    (out_dense * upstream).sum().backward()
    (out_sparse * upstream).sum().backward()
    grad = sparse.weight.grad
    assert isinstance(grad, RowSparseGrad) and grad.shape == (50, 8)
    np.testing.assert_array_equal(grad.indices, ids.reshape(-1))  # one entry per token
    np.testing.assert_array_equal(grad.to_dense(), dense.weight.grad.data)
    SGD([dense.weight], lr=0.5).step()
    SGD([sparse.weight], lr=0.5).step()
    np.testing.assert_array_equal(sparse.weight.data, dense.weight.data)


def test_sparse_flag_is_checked_and_shown():
    assert repr(Embedding(4, 2, sparse=True)) == "Embedding(vocab_size=4, embed_dim=2, sparse=True)"
    assert repr(Embedding(4, 2)) == "Embedding(vocab_size=4, embed_dim=2)"
    with pytest.raises(TypeError, match=r"sparse must be True or False, got str 'yes'"):
        Embedding(4, 2, sparse="yes")
