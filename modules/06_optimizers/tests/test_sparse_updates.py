"""SGD and Adam with row-sparse gradients (embedding_lookup(..., sparse=True)): row updates."""

import numpy as np

from tinytorch.core.autograd import embedding_lookup
from tinytorch.core.optimizers import SGD, Adam
from tinytorch.core.tensor import Tensor

IDS = np.array([[3, 1, 3], [0, 3, 1]])  # rows 2 and 4 unused; row 3 three times


def tables(vocab=5, dim=2):
    init = np.random.default_rng(0).standard_normal((vocab, dim)).astype(np.float32)
    return Tensor(init, requires_grad=True), Tensor(init, requires_grad=True)


def backward_both(dense, sparse, seed):
    upstream = np.random.default_rng(seed).standard_normal(IDS.shape + (dense.shape[1],)).astype(np.float32)
    embedding_lookup(dense, IDS).backward(upstream)
    embedding_lookup(sparse, IDS, sparse=True).backward(upstream)


def test_plain_sgd_row_update_equals_dense_update_exactly():
    dense, sparse = tables()
    before = sparse.data.copy()
    opt_dense, opt_sparse = SGD([dense], lr=0.1), SGD([sparse], lr=0.1)
    for step in range(3):
        opt_dense.zero_grad()
        opt_sparse.zero_grad()
        backward_both(dense, sparse, step)
        opt_dense.step()
        opt_sparse.step()
        np.testing.assert_array_equal(sparse.data, dense.data)
    np.testing.assert_array_equal(sparse.data[[2, 4]], before[[2, 4]])  # unused rows untouched


def test_sgd_with_momentum_and_weight_decay_uses_the_dense_update():
    dense, sparse = tables()
    opt_dense = SGD([dense], lr=0.1, momentum=0.9, weight_decay=0.01)
    opt_sparse = SGD([sparse], lr=0.1, momentum=0.9, weight_decay=0.01)
    for step in range(3):
        opt_dense.zero_grad()
        opt_sparse.zero_grad()
        backward_both(dense, sparse, step)
        opt_dense.step()
        opt_sparse.step()
    np.testing.assert_array_equal(sparse.data, dense.data)


def test_adam_row_update_is_lazy_adam():
    _, sparse = tables()
    p = sparse.data.astype(np.float64)
    m, v = np.zeros_like(p), np.zeros_like(p)
    lr, (b1, b2), eps, wd = 0.01, (0.9, 0.999), 1e-8, 0.1
    opt = Adam([sparse], lr=lr, weight_decay=wd)
    for step in range(1, 4):
        opt.zero_grad()
        upstream = np.random.default_rng(step).standard_normal(IDS.shape + (2,)).astype(np.float32)
        embedding_lookup(sparse, IDS, sparse=True).backward(upstream)
        opt.step()
        # Reference: the Adam formulas applied to the used rows only (torch.optim.SparseAdam style).
        rows = np.unique(IDS)
        g = np.zeros_like(p)
        np.add.at(g, IDS.reshape(-1), upstream.reshape(-1, 2))
        g = g[rows] + wd * p[rows]
        m[rows] = b1 * m[rows] + (1 - b1) * g
        v[rows] = b2 * v[rows] + (1 - b2) * g * g
        p[rows] -= lr * (m[rows] / (1 - b1**step)) / (np.sqrt(v[rows] / (1 - b2**step)) + eps)
        np.testing.assert_allclose(sparse.data, p, rtol=1e-5, atol=1e-7)
    assert opt.steps == [3]
    np.testing.assert_array_equal(opt.m[0][[2, 4]], 0.0)  # unused rows: moments never touched


def test_adam_with_every_row_present_equals_dense_adam():
    dense, sparse = tables(vocab=4)
    ids = np.array([0, 1, 2, 3, 1])
    opt_dense, opt_sparse = Adam([dense], lr=0.05), Adam([sparse], lr=0.05)
    for step in range(3):
        opt_dense.zero_grad()
        opt_sparse.zero_grad()
        upstream = np.random.default_rng(step).standard_normal((5, 2)).astype(np.float32)
        embedding_lookup(dense, ids).backward(upstream)
        embedding_lookup(sparse, ids, sparse=True).backward(upstream)
        opt_dense.step()
        opt_sparse.step()
        np.testing.assert_allclose(sparse.data, dense.data, rtol=1e-6, atol=1e-7)
