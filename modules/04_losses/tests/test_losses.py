"""Loss values against direct float64 formulas, stability and validation.

Module 04 may not depend on module 05, so gradient checks of the losses live in
modules/05_autograd/tests/test_loss_grads.py; here a fake engine checks what the fused losses record.
"""

import numpy as np
import pytest

from tinytorch.core.losses import (
    BCEWithLogitsLoss,
    BinaryCrossEntropyLoss,
    CrossEntropyLoss,
    MSELoss,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    log_softmax,
    mse_loss,
)
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


# --- log_softmax ------------------------------------------------------------------------------
def test_log_softmax_values_dims_and_stability():
    x = RNG.standard_normal((2, 3, 4))
    for dim in (-1, 0, 1):
        want = x - np.log(np.exp(x).sum(axis=dim, keepdims=True))
        np.testing.assert_allclose(log_softmax(Tensor(x, dtype=np.float64), dim=dim).data, want, rtol=1e-12)
    np.testing.assert_allclose(log_softmax(Tensor([[1.0, 2.0, 3.0]])).data, [[-2.4076059, -1.4076059, -0.4076059]], rtol=1e-6)
    big = log_softmax(Tensor([[100.0, 101.0, 102.0], [1e4, 0.0, -1e4]])).data  # upstream's stability case, and worse
    assert np.all(np.isfinite(big))
    np.testing.assert_allclose(np.exp(big).sum(axis=-1), 1.0, rtol=1e-6)
    with pytest.raises(ValueError, match=r"LogSoftmax\(dim=2\) is out of range for input of shape \(2, 2\) \(allowed: -2..1\)"):
        log_softmax(Tensor(np.ones((2, 2))), dim=2)


# --- binary cross-entropy ---------------------------------------------------------------------
def reference_bce(p, y):
    p, y = np.asarray(p, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p)))


def test_bce_on_probabilities_matches_the_formula():
    p, y = RNG.uniform(0.01, 0.99, size=(4, 3)), (RNG.random((4, 3)) < 0.5).astype(float)
    assert binary_cross_entropy(Tensor(p, dtype=np.float64), y).item() == pytest.approx(reference_bce(p, y), rel=1e-12)
    loss = BinaryCrossEntropyLoss()(Tensor(p), Tensor(y))
    assert loss.shape == () and loss.dtype == np.float32
    assert loss.item() == pytest.approx(reference_bce(p, y), rel=1e-6)
    soft = RNG.uniform(0, 1, size=(4, 3))  # soft labels
    assert binary_cross_entropy(Tensor(p, dtype=np.float64), soft).item() == pytest.approx(reference_bce(p, soft), rel=1e-12)


def test_bce_upstream_cases():
    """Upstream's unit test: near-perfect, worst, uniform and exactly-0/1 predictions."""
    loss = BinaryCrossEntropyLoss()
    y = Tensor([1.0, 0.0, 1.0, 0.0])
    assert loss(Tensor([0.9999, 0.0001, 0.9999, 0.0001]), y).item() < 0.01
    assert loss.forward(Tensor([0.0001, 0.9999, 0.0001, 0.9999]), y).item() > 5.0
    assert loss(Tensor([0.5, 0.5, 0.5, 0.5]), y).item() == pytest.approx(np.log(2), rel=1e-6)
    boundary = loss(Tensor([0.0, 1.0, 0.0, 1.0]), Tensor([0.0, 1.0, 1.0, 0.0])).item()
    assert boundary == pytest.approx(50.0)  # each log clamped at -100, as PyTorch's BCELoss


def test_bce_with_logits_is_stable_and_equals_bce_of_sigmoid():
    z = np.array([-30.0, -3.0, -0.2, 0.0, 0.7, 4.0, 30.0])
    y = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0])
    want = np.mean(np.logaddexp(0, -z) * y + np.logaddexp(0, z) * (1 - y))  # -ln sigmoid(z), -ln(1 - sigmoid(z))
    assert binary_cross_entropy_with_logits(Tensor(z, dtype=np.float64), y).item() == pytest.approx(want, rel=1e-12)
    assert BCEWithLogitsLoss()(Tensor(z), Tensor(y)).item() == pytest.approx(want, rel=1e-6)
    mid = z[1:-1]
    sig = 1 / (1 + np.exp(-mid))
    assert binary_cross_entropy_with_logits(Tensor(mid, dtype=np.float64), y[1:-1]).item() == pytest.approx(
        binary_cross_entropy(Tensor(sig, dtype=np.float64), y[1:-1]).item(), rel=1e-12
    )
    with np.errstate(over="raise"):
        huge = binary_cross_entropy_with_logits(Tensor([1e4, -1e4]), Tensor([0.0, 1.0])).item()
    assert huge == pytest.approx(1e4)  # exact: sigmoid would round to 1 and 0 here
    assert repr(BCEWithLogitsLoss()) == "BCEWithLogitsLoss()" and repr(BinaryCrossEntropyLoss()) == "BinaryCrossEntropyLoss()"


@pytest.mark.parametrize("fn", [binary_cross_entropy, binary_cross_entropy_with_logits])
def test_bce_bad_inputs(fn):
    name = fn.__name__
    what = "predictions" if fn is binary_cross_entropy else "logits"
    with pytest.raises(ValueError, match=rf"{name} needs {what} and targets of the same shape, got {what} \(4, 1\) and targets \(4,\)\..*Hint: .*reshape"):
        fn(Tensor(np.full((4, 1), 0.5)), np.ones(4))
    with pytest.raises(ValueError, match=rf"{name} targets must be labels in \[0, 1\].*got \[2\.0, -1\.0\]\. Hint: .*cross_entropy"):
        fn(Tensor([0.5, 0.5, 0.5]), [2.0, 1.0, -1.0])
    with pytest.raises(TypeError, match=rf"{name} {what} must be floats, got dtype int64\. Hint"):
        fn(Tensor([1, 0]), [1.0, 0.0])
    with pytest.raises(ValueError, match=rf"{name} of empty {what} \(shape \(0,\)\)"):
        fn(Tensor(np.zeros(0)), np.zeros(0))
    target = Tensor([1.0, 0.0], requires_grad=True)
    with pytest.raises(ValueError, match=rf"{name} targets are labels and get no gradient.*Hint: pass targets\.detach\(\)"):
        fn(Tensor([0.5, 0.5]), target)


def test_bce_refuses_values_that_are_not_probabilities():
    for bad, shown in (([0.5, 1.5], r"\[1\.5\]"), ([-0.2, 0.3], r"\[-0\.2"), ([np.nan, 0.3], r"\[nan\]")):
        with pytest.raises(ValueError, match=rf"predictions must be probabilities in \[0, 1\], got {shown}.*Hint: apply Sigmoid.*with_logits"):
            binary_cross_entropy(Tensor(bad), [1.0, 0.0])
    with pytest.raises(ValueError, match=r"needs finite logits, got \[inf\]"):
        binary_cross_entropy_with_logits(Tensor([np.inf, 0.0]), [1.0, 0.0])


def test_bce_losses_record_fused_ops():
    calls = []

    class FakeEngine:
        def record(self, op_name, out, inputs, /, **saved):
            calls.append((op_name, inputs, saved))

        def backward(self, tensor, grad):
            raise AssertionError("not used")

    previous = register_autograd_engine(FakeEngine())
    try:
        p = Tensor([0.25, 0.5], requires_grad=True)
        binary_cross_entropy(p, [1, 0])
        binary_cross_entropy_with_logits(p, Tensor([True, False]))
    finally:
        register_autograd_engine(previous)
    assert [c[0] for c in calls] == ["binary_cross_entropy", "binary_cross_entropy_with_logits"]
    for _, inputs, saved in calls:
        assert inputs == (p,) and saved["target"].dtype == np.float32
        np.testing.assert_array_equal(saved["target"], [1.0, 0.0])
