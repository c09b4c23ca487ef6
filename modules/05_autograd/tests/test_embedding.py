"""embedding_lookup / EmbeddingBackward: values, scatter-add with repeated ids, validation."""

import numpy as np
import pytest

from tinytorch.core.autograd import EmbeddingBackward, embedding_lookup
from tinytorch.core.tensor import Tensor


def table(vocab=5, dim=3, dtype=np.float32):
    return Tensor(np.arange(vocab * dim, dtype=np.float64).reshape(vocab, dim) / 10.0, dtype=dtype, requires_grad=True)


def test_lookup_values_and_grad_fn():
    w = table()
    ids = np.array([[4, 0], [2, 2]])
    out = embedding_lookup(w, ids)
    assert out.shape == (2, 2, 3)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, w.data[ids])
    assert type(out._grad_fn).__name__ == "EmbeddingBackward"
    assert isinstance(out._grad_fn, EmbeddingBackward)


def test_repeated_ids_accumulate_hand_computed():
    w = table(vocab=4, dim=2)
    ids = np.array([1, 3, 1, 1, 0])
    upstream = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [4.0, 40.0], [5.0, 50.0]])
    embedding_lookup(w, ids).backward(upstream)
    expected = np.array([
        [5.0, 50.0],                      # id 0 once (row 4)
        [1.0 + 3 + 4, 10.0 + 30 + 40],    # id 1 three times (rows 0, 2, 3)
        [0.0, 0.0],                       # id 2 unused: dense gradient keeps a zero row
        [2.0, 20.0],                      # id 3 once (row 1)
    ])
    np.testing.assert_allclose(w.grad.data, expected)
    assert w.grad.shape == (4, 2) and w.grad.dtype == np.float32


def test_gradient_matches_one_hot_reference_for_2d_ids():
    rng = np.random.default_rng(0)
    vocab, dim = 7, 4
    w = table(vocab, dim)
    ids = rng.integers(0, vocab, size=(3, 5))
    upstream = rng.standard_normal((3, 5, dim))
    embedding_lookup(w, Tensor(ids)).backward(upstream)
    one_hot = np.eye(vocab)[ids.reshape(-1)]  # reference only: (tokens, vocab)
    np.testing.assert_allclose(w.grad.data, one_hot.T @ upstream.reshape(-1, dim), rtol=1e-5, atol=1e-6)


def test_finite_difference_through_nonlinearity():
    rng = np.random.default_rng(1)
    w0 = rng.standard_normal((4, 3))
    ids = np.array([[0, 2, 2], [3, 0, 2]])

    def loss(w):
        e = embedding_lookup(w, ids)
        return (e * e * e).sum()

    w = Tensor(w0, dtype=np.float64, requires_grad=True)
    loss(w).backward()
    eps, numeric = 1e-6, np.zeros_like(w0)
    for idx in np.ndindex(w0.shape):
        plus, minus = w0.copy(), w0.copy()
        plus[idx] += eps
        minus[idx] -= eps
        numeric[idx] = (loss(Tensor(plus, dtype=np.float64)).item() - loss(Tensor(minus, dtype=np.float64)).item()) / (2 * eps)
    np.testing.assert_allclose(w.grad.data, numeric, rtol=1e-6, atol=1e-8)


def test_empty_ids_give_zero_gradient():
    w = table()
    out = embedding_lookup(w, np.zeros((0,), dtype=np.int64))
    assert out.shape == (0, 3)
    (out.sum() + (w * 0.0).sum()).backward()
    np.testing.assert_array_equal(w.grad.data, np.zeros((5, 3)))


def test_gradient_accumulates_across_lookups():
    w = table(vocab=3, dim=1)
    (embedding_lookup(w, [0, 1]).sum() + embedding_lookup(w, [1, 1]).sum()).backward()
    np.testing.assert_allclose(w.grad.data, [[1], [3], [0]])


def test_out_of_range_ids_rejected():
    with pytest.raises(ValueError, match=r"embedding ids \[5, -1\] are out of range for a table of 5 rows \(allowed: 0..4\)"):
        embedding_lookup(table(), np.array([0, 5, -1]))


def test_float_ids_rejected():
    with pytest.raises(TypeError, match=r"indices must be integers, got dtype float64.*np\.int64"):
        embedding_lookup(table(), np.array([0.0, 1.0]))


def test_weight_must_be_2d_tensor():
    with pytest.raises(ValueError, match=r"2-D \(vocab, dim\) weight Tensor, got Tensor of shape \(5,\)"):
        embedding_lookup(Tensor(np.ones(5), requires_grad=True), [0])
    with pytest.raises(ValueError, match=r"got ndarray of shape \(5, 3\)"):
        embedding_lookup(np.ones((5, 3)), [0])
