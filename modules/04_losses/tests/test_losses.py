"""Loss values against direct float64 formulas, stability and validation.

Module 04 may not depend on module 05, so gradient checks of the losses live in
modules/05_autograd/tests/test_loss_grads.py; here a fake engine checks what cross_entropy records.
"""

import numpy as np
import pytest

from tinytorch.core.losses import CrossEntropyLoss, MSELoss, cross_entropy, mse_loss
from tinytorch.core.tensor import Tensor, register_autograd_engine

RNG = np.random.default_rng(0)


def reference_cross_entropy(logits, ids, ignore_index=-100):
    """Direct float64 formula: mean over kept rows of -log(exp(z_y) / sum_c exp(z_c))."""
    z = np.asarray(logits, dtype=np.float64).reshape(-1, np.shape(logits)[-1])
    y = np.asarray(ids).reshape(-1)
    losses = [-np.log(np.exp(z[i, y[i]]) / np.exp(z[i]).sum()) for i in range(len(y)) if y[i] != ignore_index]
    return np.mean(losses)


# --- MSE --------------------------------------------------------------------------------------
def test_mse_value():
    pred = Tensor([[1.0, 2.0], [3.0, 4.0]])
    target = np.array([[0.0, 2.0], [5.0, 3.0]])
    assert mse_loss(pred, target).item() == pytest.approx((1 + 0 + 4 + 1) / 4)
    assert MSELoss()(pred, Tensor(target)).item() == pytest.approx(1.5)
    assert mse_loss(pred, target).shape == ()
    assert mse_loss(pred, target).dtype == np.float32


def test_mse_shape_mismatch_message():
    with pytest.raises(ValueError, match=r"same shape, got pred \(4, 1\) and target \(4,\).*reshape"):
        mse_loss(Tensor(np.ones((4, 1))), np.ones(4))


# --- cross-entropy ----------------------------------------------------------------------------
def test_cross_entropy_matches_float64_formula():
    logits = RNG.standard_normal((5, 4)).astype(np.float32)
    ids = np.array([0, 3, 1, 1, 2])
    loss = cross_entropy(Tensor(logits), ids)
    assert loss.shape == () and loss.dtype == np.float32
    assert loss.item() == pytest.approx(reference_cross_entropy(logits, ids), rel=1e-6)
    assert CrossEntropyLoss()(Tensor(logits), Tensor(ids)).item() == pytest.approx(loss.item())


def test_cross_entropy_known_value():
    # uniform logits over 4 classes: -log(1/4)
    assert cross_entropy(Tensor(np.zeros((3, 4))), [0, 1, 2]).item() == pytest.approx(np.log(4.0), rel=1e-6)


def test_cross_entropy_on_3d_logits():
    logits = RNG.standard_normal((2, 3, 5))
    ids = RNG.integers(0, 5, size=(2, 3))
    loss = cross_entropy(Tensor(logits, dtype=np.float64), ids)
    assert loss.dtype == np.float64
    assert loss.item() == pytest.approx(reference_cross_entropy(logits, ids), rel=1e-12)


def test_cross_entropy_stable_for_huge_logits():
    logits = np.array([[1e4, 0.0, -1e4], [0.0, 1e4, 1e4 - 2.0]], dtype=np.float32)
    loss = cross_entropy(Tensor(logits), [1, 2]).item()
    # row 0: target logit 1e4 below the max -> loss 1e4; row 1: 2 + log(1 + e^-2)
    expected = (1e4 + 2.0 + np.log1p(np.exp(-2.0))) / 2
    assert np.isfinite(loss)
    assert loss == pytest.approx(expected, rel=1e-6)


def test_cross_entropy_ignore_index():
    logits = RNG.standard_normal((4, 3))
    ids = np.array([2, -100, 0, -100])
    loss = cross_entropy(Tensor(logits, dtype=np.float64), ids).item()
    assert loss == pytest.approx(reference_cross_entropy(logits, ids), rel=1e-12)
    ids7 = np.array([2, 7, 0, 7])
    assert CrossEntropyLoss(ignore_index=7)(Tensor(logits, dtype=np.float64), ids7).item() == pytest.approx(loss, rel=1e-12)
    assert cross_entropy(Tensor(logits), np.full(4, -100)).item() == 0.0


def test_cross_entropy_out_of_range_ids_message():
    with pytest.raises(ValueError, match=r"target ids \[3, -1\] are out of range for 3 classes \(allowed: 0..2, or ignore_index=-100\)"):
        cross_entropy(Tensor(np.zeros((4, 3))), [0, 3, -1, 2])


def test_cross_entropy_shape_mismatch_message():
    with pytest.raises(ValueError, match=r"target_ids shape \(3,\) must equal logits shape \(4, 5\) without its last.*\(4,\)"):
        cross_entropy(Tensor(np.zeros((4, 5))), [0, 1, 2])


def test_cross_entropy_float_targets_rejected():
    with pytest.raises(TypeError, match=r"integer class ids, got dtype float64.*not one-hot"):
        cross_entropy(Tensor(np.zeros((2, 3))), np.array([0.0, 1.0]))


def test_cross_entropy_needs_at_least_one_class():
    with pytest.raises(ValueError, match=r"at least one class \(C >= 1\), got logits of shape \(2, 0\).*Hint"):
        cross_entropy(Tensor(np.ones((2, 0))), [-100, -100])
    with pytest.raises(ValueError, match=r"shape \(1, 2, 0\)"):
        CrossEntropyLoss()(Tensor(np.ones((1, 2, 0))), [[-100, -100]])
    # An empty batch over C >= 1 classes is not an error: nothing to average, loss 0.
    assert cross_entropy(Tensor(np.ones((0, 3))), np.zeros(0, dtype=np.int64)).item() == 0.0


def test_cross_entropy_ragged_target_ids_message():
    with pytest.raises(ValueError, match=r"target_ids must be rectangular.*got ragged \[\[0, 1\], \[2\]\].*pad short rows with ignore_index"):
        cross_entropy(Tensor(np.zeros((2, 2, 3))), [[0, 1], [2]])


@pytest.mark.parametrize("bad", ["x", 1.0, True, None])
def test_cross_entropy_loss_validates_ignore_index_at_construction(bad):
    with pytest.raises(TypeError, match=rf"ignore_index must be an int, got {type(bad).__name__} {bad!r}.*ignore_index=-100"):
        CrossEntropyLoss(ignore_index=bad)
    with pytest.raises(TypeError, match=r"ignore_index must be an int"):
        cross_entropy(Tensor(np.zeros((1, 2))), [0], ignore_index=bad)
    assert CrossEntropyLoss(ignore_index=np.int64(3)).ignore_index == 3


def test_cross_entropy_records_fused_op():
    calls = []

    class FakeEngine:
        def record(self, op_name, out, inputs, /, **saved):
            calls.append((op_name, inputs, saved))

        def backward(self, tensor, grad):
            raise AssertionError("not used")

    previous = register_autograd_engine(FakeEngine())
    try:
        logits = Tensor([[0.0, np.log(3.0)], [0.0, 0.0]], requires_grad=True)
        cross_entropy(logits, [1, -100])
    finally:
        register_autograd_engine(previous)
    op, inputs, saved = calls[-1]
    assert op == "cross_entropy" and inputs == (logits,)
    np.testing.assert_allclose(saved["probs"], [[0.25, 0.75], [0.5, 0.5]], rtol=1e-6)
    np.testing.assert_array_equal(saved["target"], [1, 0])
    np.testing.assert_array_equal(saved["weight"], [1.0, 0.0])
