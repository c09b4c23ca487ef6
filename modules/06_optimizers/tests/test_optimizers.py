"""SGD and Adam updates against hand-computed values (gradients set by hand), and validation."""

import numpy as np
import pytest

from tinytorch.core.optimizers import SGD, Adam
from tinytorch.core.tensor import Tensor


def param(values, grad=None, dtype=np.float64):
    p = Tensor(values, dtype=dtype, requires_grad=True)
    p.grad = None if grad is None else Tensor(grad, dtype=dtype)
    return p


# --- SGD --------------------------------------------------------------------------------------
def test_sgd_single_step():
    p = param([1.0, -2.0], [0.5, 0.25])
    SGD([p], lr=0.1).step()
    np.testing.assert_allclose(p.data, [1.0 - 0.05, -2.0 - 0.025])


def test_sgd_momentum_two_steps():
    p = param([1.0], [0.5])
    opt = SGD([p], lr=0.1, momentum=0.9)
    opt.step()  # buf = 0.5 -> p = 1 - 0.05 = 0.95
    np.testing.assert_allclose(p.data, [0.95])
    p.grad = Tensor([0.2], dtype=np.float64)
    opt.step()  # buf = 0.9 * 0.5 + 0.2 = 0.65 -> p = 0.95 - 0.065 = 0.885
    np.testing.assert_allclose(p.data, [0.885])


def test_sgd_weight_decay():
    p = param([2.0, -1.0], [0.0, 1.0])
    SGD([p], lr=0.5, weight_decay=0.1).step()  # g = grad + 0.1 p = [0.2, 0.9]
    np.testing.assert_allclose(p.data, [2.0 - 0.1, -1.0 - 0.45])


def test_sgd_float32_params_stay_float32_and_in_place():
    p = param([1.0, 2.0], [1.0, 1.0], dtype=np.float32)
    data = p.data
    SGD([p], lr=0.25).step()
    assert p.data is data and p.dtype == np.float32
    np.testing.assert_allclose(p.data, [0.75, 1.75])


# --- Adam -------------------------------------------------------------------------------------
def test_adam_first_step_is_lr_times_sign_thanks_to_bias_correction():
    p = param([1.0, -2.0, 3.0], [0.5, -0.25, 4.0])
    Adam([p], lr=0.01).step()
    # m_hat = g and v_hat = g^2 after bias correction, so the step is lr * g / (|g| + eps).
    g = np.array([0.5, -0.25, 4.0])
    np.testing.assert_allclose(p.data, np.array([1.0, -2.0, 3.0]) - 0.01 * g / (np.abs(g) + 1e-8), rtol=1e-12)
    # Without the correction the first step would be 0.01 * 0.1 g / sqrt(0.001 g^2) ~ 0.0316 per element.
    np.testing.assert_allclose(np.abs(p.data - [1.0, -2.0, 3.0]), 0.01, rtol=1e-6)


def test_adam_two_steps_hand_computed():
    p = param([1.0], [0.5])
    opt = Adam([p], lr=0.01, betas=(0.9, 0.999), eps=1e-8)
    opt.step()
    np.testing.assert_allclose(p.data, [0.99], rtol=1e-9)
    p.grad = Tensor([0.1], dtype=np.float64)
    opt.step()
    # m = 0.9 * 0.05 + 0.1 * 0.1 = 0.055;  v = 0.999 * 0.00025 + 0.001 * 0.01 = 0.00025975
    # m_hat = 0.055 / (1 - 0.9^2) = 0.28947368;  v_hat = 0.00025975 / (1 - 0.999^2) = 0.12993997
    # step = 0.01 * 0.28947368 / (sqrt(0.12993997) + 1e-8) = 0.00803041
    np.testing.assert_allclose(opt.m[0], [0.055], rtol=1e-12)
    np.testing.assert_allclose(opt.v[0], [0.00025975], rtol=1e-12)
    np.testing.assert_allclose(p.data, [0.99 - 0.008030409561534821], rtol=1e-9)
    assert opt.steps == [2]


def test_adam_weight_decay_adds_l2_to_gradient():
    p = param([2.0], [0.0])
    Adam([p], lr=0.1, weight_decay=0.5).step()  # g = 0 + 0.5 * 2 = 1 -> step lr * sign(g)
    np.testing.assert_allclose(p.data, [1.9], rtol=1e-9)


# --- shared behaviour -------------------------------------------------------------------------
@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1, momentum=0.9), lambda ps: Adam(ps, lr=0.1)])
def test_params_without_grad_are_skipped(make):
    used, unused = param([1.0], [1.0]), param([5.0])
    opt = make([used, unused])
    opt.step()
    np.testing.assert_array_equal(unused.data, [5.0])
    assert used.data[0] < 1.0


def test_parameters_attribute_and_zero_grad():
    params = [param([1.0], [1.0]), param([2.0], [3.0])]
    opt = SGD(params, lr=0.1)
    assert opt.parameters is params
    opt.zero_grad()
    assert all(p.grad is None for p in params)
    generator_opt = Adam(p for p in params)
    assert generator_opt.parameters == params


def test_adam_step_counts_only_updated_params():
    a, b = param([1.0], [1.0]), param([1.0])
    opt = Adam([a, b], lr=0.1)
    opt.step()
    b.grad = Tensor([1.0], dtype=np.float64)
    opt.step()
    assert opt.steps == [2, 1]
    np.testing.assert_allclose(b.data, [1.0 - 0.1 / (1.0 + 1e-8)], rtol=1e-12)  # b's first step is bias-corrected too


@pytest.mark.parametrize("lr", [-0.1, float("nan"), "0.1"])
def test_bad_lr(lr):
    with pytest.raises(ValueError, match=r"lr must be"):
        SGD([param([1.0])], lr=lr)
    with pytest.raises(ValueError, match=r"lr must be"):
        Adam([param([1.0])], lr=lr)


def test_bad_hyperparameter_messages():
    p = [param([1.0])]
    with pytest.raises(ValueError, match=r"lr must be in \[0.0, inf\), got -1"):
        SGD(p, lr=-1)
    with pytest.raises(ValueError, match=r"momentum must be in \[0.0, inf\), got -0.5"):
        SGD(p, lr=0.1, momentum=-0.5)
    with pytest.raises(ValueError, match=r"betas\[0\] must be in \[0.0, 1.0\), got 1.0"):
        Adam(p, betas=(1.0, 0.999))
    with pytest.raises(ValueError, match=r"betas\[1\] must be in \[0.0, 1.0\), got -0.1"):
        Adam(p, betas=(0.9, -0.1))
    with pytest.raises(ValueError, match=r"betas must be a pair \(beta1, beta2\), got 0.9"):
        Adam(p, betas=0.9)
    with pytest.raises(ValueError, match=r"weight_decay must be in \[0.0, inf\), got -0.01"):
        Adam(p, weight_decay=-0.01)


def test_empty_and_non_tensor_params():
    with pytest.raises(ValueError, match=r"empty parameter list.*model.parameters\(\)"):
        SGD([], lr=0.1)
    with pytest.raises(ValueError, match=r"empty parameter list"):
        Adam(iter([]))
    with pytest.raises(TypeError, match=r"params\[1\] must be a Tensor, got ndarray"):
        SGD([param([1.0]), np.ones(2)], lr=0.1)
    with pytest.raises(TypeError, match=r"got a single Tensor.*\[tensor\]"):
        SGD(param([1.0]), lr=0.1)


class _Model:
    def __init__(self):
        self.w = param([1.0], [1.0])

    def parameters(self):
        return [self.w]


def test_uncalled_parameters_method_hints_to_call_it():
    model = _Model()
    with pytest.raises(TypeError, match=r"got the callable _Model\.parameters itself.*call model\.parameters\(\)"):
        SGD(model.parameters, lr=0.1)
    with pytest.raises(TypeError, match=r"call model\.parameters\(\)"):
        Adam(model.parameters)
    with pytest.raises(TypeError, match=r"params must be a list \(or iterable\) of Tensors, got int 5"):
        SGD(5, lr=0.1)


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1), lambda ps: Adam(ps, lr=0.1)])
def test_duplicate_parameters_rejected(make):
    p, q = param([1.0], [1.0]), param([2.0], [1.0])
    with pytest.raises(ValueError, match=r"params\[2\] is the same Tensor \(shape \(1,\)\) as params\[0\].*list every parameter once"):
        make([p, q, p])
    # Equal values in distinct tensors are fine: only identity counts.
    twin = param([1.0], [1.0])
    opt = make([p, twin])
    opt.step()
    np.testing.assert_array_equal(p.data, twin.data)


@pytest.mark.parametrize(
    "make", [lambda ps: SGD(ps, lr=0.5), lambda ps: SGD(ps, lr=0.5, momentum=0.9, weight_decay=0.1), lambda ps: Adam(ps, lr=0.01)]
)
def test_numpy_grad_set_by_hand_matches_tensor_grad(make):
    by_array, by_tensor = param([1.0, -2.0]), param([1.0, -2.0], [0.5, 0.25])
    by_array.grad = np.array([0.5, 0.25])
    opt_a, opt_t = make([by_array]), make([by_tensor])
    for _ in range(2):
        opt_a.step()
        opt_t.step()
    np.testing.assert_array_equal(by_array.data, by_tensor.data)
    assert not np.array_equal(by_array.data, [1.0, -2.0])


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1), lambda ps: Adam(ps, lr=0.1)])
def test_bad_grad_set_by_hand(make):
    p = param([[1.0, 2.0]])
    opt = make([p])
    p.grad = np.ones(2)
    with pytest.raises(ValueError, match=r"parameters\[0\]\.grad must be a number array of the parameter's shape \(1, 2\), got shape \(2,\)"):
        opt.step()
    p.grad = Tensor(np.ones((2, 1)))
    with pytest.raises(ValueError, match=r"shape \(1, 2\), got shape \(2, 1\) dtype float32"):
        opt.step()
    p.grad = [[0.1, 0.2]]
    with pytest.raises(TypeError, match=r"parameters\[0\]\.grad must be a Tensor or numpy array of shape \(1, 2\), got list.*p\.grad = Tensor"):
        opt.step()
    np.testing.assert_array_equal(p.data, [[1.0, 2.0]])  # nothing was updated
