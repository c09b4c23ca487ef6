"""SGD, Adam and AdamW with row-sparse gradients (embedding_lookup(..., sparse=True)): row
updates, Adam's with torch.optim.SparseAdam's formula."""

import math

import numpy as np

from tinytorch.core.autograd import embedding_lookup
from tinytorch.core.optimizers import SGD, Adam, AdamW
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


def sparse_adam_reference(p, m, v, rows, g, t, lr, b1, b2, eps):
    """torch.optim.SparseAdam's update of the given rows (torch/optim/_functional.py sparse_adam):
    the moments as in Adam, then p -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)."""
    m[rows] = b1 * m[rows] + (1 - b1) * g
    v[rows] = b2 * v[rows] + (1 - b2) * g * g
    step_size = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
    p[rows] -= step_size * m[rows] / (np.sqrt(v[rows]) + eps)


def test_adam_row_update_is_sparse_adam():
    _, sparse = tables()
    p = sparse.data.astype(np.float64)
    m, v = np.zeros_like(p), np.zeros_like(p)
    lr, (b1, b2), eps, wd = 0.01, (0.9, 0.999), 1e-3, 0.1  # a large eps, so where it enters shows
    opt = Adam([sparse], lr=lr, eps=eps, weight_decay=wd)
    for step in range(1, 4):
        opt.zero_grad()
        upstream = np.random.default_rng(step).standard_normal(IDS.shape + (2,)).astype(np.float32)
        embedding_lookup(sparse, IDS, sparse=True).backward(upstream)
        opt.step()
        rows = np.unique(IDS)
        g = np.zeros_like(p)
        np.add.at(g, IDS.reshape(-1), upstream.reshape(-1, 2))
        sparse_adam_reference(p, m, v, rows, g[rows] + wd * p[rows], step, lr, b1, b2, eps)
        np.testing.assert_allclose(sparse.data, p, rtol=1e-5, atol=1e-7)
    assert opt.steps == [3]
    np.testing.assert_array_equal(opt.m_buffers[0][[2, 4]], 0.0)  # unused rows: moments never touched
    np.testing.assert_allclose(opt.v_buffers[0], v, rtol=1e-5)


def test_adam_with_every_row_present_is_dense_adam_with_eps_rescaled():
    """Every row present: SparseAdam equals dense Adam whose eps is eps / sqrt(1 - b2^t)."""
    dense, sparse = tables(vocab=4)
    ids = np.array([0, 1, 2, 3, 1])
    opt_sparse = Adam([sparse], lr=0.05, eps=1e-3)
    p, m, v = dense.data.astype(np.float64), np.zeros((4, 2)), np.zeros((4, 2))
    for step in range(1, 4):
        opt_sparse.zero_grad()
        upstream = np.random.default_rng(step).standard_normal((5, 2)).astype(np.float32)
        embedding_lookup(sparse, ids, sparse=True).backward(upstream)
        opt_sparse.step()
        g = np.zeros((4, 2))
        np.add.at(g, ids, upstream)
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
        eps_t = 1e-3 / math.sqrt(1 - 0.999**step)
        p -= 0.05 * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + eps_t)
        np.testing.assert_allclose(sparse.data, p, rtol=1e-5, atol=1e-7)
    # With the default eps = 1e-8 the two placements agree to float32 precision.
    dense, sparse = tables(vocab=4)
    opt_dense, opt_sparse = Adam([dense], lr=0.05), Adam([sparse], lr=0.05)
    upstream = np.random.default_rng(9).standard_normal((5, 2)).astype(np.float32)
    embedding_lookup(dense, ids).backward(upstream)
    embedding_lookup(sparse, ids, sparse=True).backward(upstream)
    opt_dense.step()
    opt_sparse.step()
    np.testing.assert_allclose(sparse.data, dense.data, rtol=1e-6, atol=1e-6)


def test_adamw_row_update_decays_and_updates_only_the_rows_present():
    _, sparse = tables()
    before = sparse.data.astype(np.float64)
    lr, wd = 0.01, 0.5
    opt = AdamW([sparse], lr=lr, weight_decay=wd)
    upstream = np.random.default_rng(3).standard_normal(IDS.shape + (2,)).astype(np.float32)
    embedding_lookup(sparse, IDS, sparse=True).backward(upstream)
    opt.step()
    rows = np.unique(IDS)
    g = np.zeros_like(before)
    np.add.at(g, IDS.reshape(-1), upstream.reshape(-1, 2))
    p, m, v = before.copy(), np.zeros_like(before), np.zeros_like(before)
    p[rows] *= 1 - lr * wd
    sparse_adam_reference(p, m, v, rows, g[rows], 1, lr, 0.9, 0.999, 1e-8)
    np.testing.assert_allclose(sparse.data, p, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(sparse.data[[2, 4]], before[[2, 4]].astype(np.float32))  # lazy: absent rows untouched
