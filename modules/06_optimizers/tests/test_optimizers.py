"""SGD, Adam and AdamW updates against hand-computed values (gradients set by hand), optimizer
state, upstream TinyTorch's unit tests, and validation."""

import numpy as np
import pytest

from tinytorch.core.optimizers import SGD, Adam, AdamW, Optimizer
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
    np.testing.assert_allclose(opt.m_buffers[0], [0.055], rtol=1e-12)
    np.testing.assert_allclose(opt.v_buffers[0], [0.00025975], rtol=1e-12)
    np.testing.assert_allclose(p.data, [0.99 - 0.008030409561534821], rtol=1e-9)
    assert opt.steps == [2] and opt.step_count == 2


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
    assert opt.parameters is params and opt.params is params
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


# --- AdamW ------------------------------------------------------------------------------------
def test_adamw_is_decoupled_weight_decay_like_torch():
    """torch.optim.AdamW: p *= 1 - lr * wd, then Adam's update with the plain gradient."""
    lr, (b1, b2), eps, wd = 0.01, (0.9, 0.999), 1e-8, 0.1
    p0, grads = np.array([1.0, -2.0, 0.5]), [np.array([0.3, -0.1, 0.0]), np.array([0.2, 0.4, -0.5])]
    p = param(p0.copy())
    opt = AdamW([p], lr=lr, weight_decay=wd)
    ref, m, v = p0.copy(), np.zeros(3), np.zeros(3)
    for t, g in enumerate(grads, start=1):
        p.grad = Tensor(g, dtype=np.float64)
        opt.step()
        ref *= 1 - lr * wd
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
        ref -= lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        np.testing.assert_allclose(p.data, ref, rtol=1e-12)
    np.testing.assert_allclose(opt.m_buffers[0], m, rtol=1e-12)  # the decay never enters the moments
    assert AdamW([param([1.0])]).weight_decay == 0.01  # PyTorch's and upstream's default


def test_adamw_differs_from_adam_l2_and_equals_adam_without_decay():
    a, w = param([1.0, 2.0], [0.1, 0.2]), param([1.0, 2.0], [0.1, 0.2])
    Adam([a], lr=0.01, weight_decay=0.01).step()
    AdamW([w], lr=0.01, weight_decay=0.01).step()
    assert not np.allclose(a.data, w.data, rtol=1e-6)
    a, w = param([1.0, 2.0], [0.1, 0.2]), param([1.0, 2.0], [0.1, 0.2])
    Adam([a], lr=0.01).step()
    AdamW([w], lr=0.01, weight_decay=0.0).step()
    np.testing.assert_array_equal(a.data, w.data)
    # A parameter with zero gradient still decays: p -= lr * wd * p (Adam's L2 would move it by lr).
    z = param([2.0], [0.0])
    AdamW([z], lr=0.1, weight_decay=0.5).step()
    np.testing.assert_allclose(z.data, [2.0 * (1 - 0.05)], rtol=1e-12)


def test_adamw_validates_like_adam():
    with pytest.raises(ValueError, match=r"weight_decay must be in \[0.0, inf\), got -1"):
        AdamW([param([1.0])], weight_decay=-1)
    with pytest.raises(ValueError, match=r"betas\[0\] must be in \[0.0, 1.0\), got 1.5"):
        AdamW([param([1.0])], betas=(1.5, 0.9))


# --- optimizer state: params, step_count, buffers ---------------------------------------------
def test_step_count_counts_step_calls_and_buffers_start_empty():
    p, q = param([1.0], [1.0]), param([2.0])
    for opt, buffers in ((SGD([p, q], momentum=0.9), ("momentum_buffers",)), (Adam([p, q]), ("m_buffers", "v_buffers")),
                         (AdamW([p, q]), ("m_buffers", "v_buffers"))):
        assert opt.step_count == 0 and all(getattr(opt, b) == [None, None] for b in buffers)
        opt.step()
        opt.step()
        assert opt.step_count == 2
        assert all(getattr(opt, b)[0] is not None and getattr(opt, b)[1] is None for b in buffers)  # q has no grad
    assert SGD([p]).lr == 0.01  # upstream TinyTorch's default (PyTorch's is 0.001)


def test_params_can_be_replaced_and_keep_the_state_of_known_tensors():
    a, b, c = param([1.0], [1.0]), param([2.0], [1.0]), param([3.0], [1.0])
    opt = Adam([a, b], lr=0.1)
    opt.step()
    m_a, m_b = opt.m_buffers
    opt.params = [c, a]  # c is new, a keeps its moments and step count
    assert opt.params[0] is c and opt.parameters[1] is a
    assert opt.m_buffers[0] is None and opt.m_buffers[1] is m_a and opt.steps == [0, 1]
    opt.step()
    assert opt.steps == [1, 2] and opt.step_count == 2
    np.testing.assert_array_equal(b.data, [2.0 - 0.1 / (1 + 1e-8)])  # b is no longer stepped
    with pytest.raises(ValueError, match=r"params\[1\] is the same Tensor"):
        opt.params = [a, a]
    with pytest.raises(ValueError, match=r"params\[0\] \(shape \(1,\), dtype float64\) does not require gradients"):
        opt.parameters = [Tensor([1.0], dtype=np.float64)]
    assert opt.params[1] is a  # a refused list changes nothing


@pytest.mark.parametrize("make", [lambda ps: Optimizer(ps), lambda ps: SGD(ps), lambda ps: Adam(ps), lambda ps: AdamW(ps)])
def test_params_that_do_not_require_grad_are_refused(make):
    frozen = Tensor([1.0, 2.0])
    with pytest.raises(ValueError, match=r"params\[1\] \(shape \(2,\), dtype float32\) does not require gradients.*"
                       r"Allowed: Tensors with requires_grad=True\. Hint: create it with Tensor\(\.\.\., requires_grad=True\)"):
        make([param([1.0]), frozen])


def test_base_optimizer_step_is_abstract():
    with pytest.raises(NotImplementedError, match=r"Optimizer must implement step\(\)"):
        Optimizer([param([1.0])]).step()


# --- upstream TinyTorch's unit tests, as written there ----------------------------------------
def test_upstream_optimizer_base():
    param1 = Tensor([1.0, 2.0], requires_grad=True)
    param2 = Tensor([[3.0, 4.0], [5.0, 6.0]], requires_grad=True)
    param1.grad = Tensor([0.1, 0.2])
    param2.grad = Tensor([[0.3, 0.4], [0.5, 0.6]])
    optimizer = Optimizer([param1, param2])
    assert len(optimizer.params) == 2
    assert optimizer.params[0] is param1 and optimizer.params[1] is param2
    assert optimizer.step_count == 0
    optimizer.zero_grad()
    assert param1.grad is None and param2.grad is None
    try:
        Optimizer([Tensor([1.0], requires_grad=False)])
        assert False, "Should have raised ValueError"
    except ValueError as e:
        assert "does not require gradients" in str(e)


def test_upstream_sgd_and_adam():
    param_ = Tensor([1.0, 2.0], requires_grad=True)
    param_.grad = Tensor([0.1, 0.2])
    optimizer = SGD([param_], lr=0.1)
    original_data = param_.data.copy()
    optimizer.step()
    assert np.allclose(param_.data, original_data - 0.1 * param_.grad.data)
    assert optimizer.step_count == 1

    param_ = Tensor([1.0, 2.0], requires_grad=True)
    param_.grad = Tensor([0.1, 0.2])
    optimizer = Adam([param_], lr=0.01, betas=(0.9, 0.999), eps=1e-8)
    original_data = param_.data.copy()
    optimizer.step()
    grad = np.array([0.1, 0.2])
    m_hat, v_hat = (0.1 * grad) / (1 - 0.9), (0.001 * grad**2) / (1 - 0.999)
    assert np.allclose(param_.data, original_data - 0.01 * m_hat / (np.sqrt(v_hat) + 1e-8), rtol=1e-6)
    param_.grad = Tensor([0.1, 0.2])
    optimizer.step()
    assert optimizer.m_buffers[0] is not None and optimizer.v_buffers[0] is not None
    assert optimizer.step_count == 2


def test_upstream_params_reassignment():
    """Upstream's module test swaps in a fresh list of the same tensors with `opt.params = params`."""
    params = [param(np.ones(3), np.full(3, 0.1)), param(np.zeros(2), np.full(2, 0.1))]
    adam = Adam([p for p in params], lr=0.001)
    adam.params = params
    adam.step()
    assert all(not np.array_equal(p.data, start) for p, start in zip(params, (np.ones(3), np.zeros(2))))
    adam.zero_grad()
    assert all(p.grad is None for p in params) and adam.m_buffers[0] is not None and adam.step_count == 1
