"""Gradients of every Tensor op against central finite differences (float64), plus engine behaviour:
broadcasting, accumulation, error messages and the backward registry."""

import math

import numpy as np
import pytest

import tinytorch.core.autograd as autograd
from tinytorch.core.autograd import Function, apply_op, backward_registry, enable_autograd, is_autograd_enabled, reference_engine, register_backward
from tinytorch.core.tensor import Tensor, autograd_engine, no_grad, register_autograd_engine

RNG = np.random.default_rng(0)


def numeric_grads(fn, arrays, weights, eps=1e-6):
    """d sum(fn(*arrays) * weights) / d arrays[i] by central differences, for every i."""
    grads = []
    for i, base in enumerate(arrays):
        g = np.zeros_like(base)
        for idx in np.ndindex(base.shape):
            vals = []
            for step in (eps, -eps):
                shifted = [a.copy() for a in arrays]
                shifted[i][idx] += step
                out = fn(*[Tensor(a, dtype=np.float64) for a in shifted])
                vals.append(np.sum(out.data * weights))
            g[idx] = (vals[0] - vals[1]) / (2 * eps)
        grads.append(g)
    return grads


def gradcheck(fn, *arrays, rtol=1e-5, atol=1e-7):
    """Compares backward() of fn at float64 ``arrays`` with finite differences; returns the output."""
    arrays = [np.array(a, dtype=np.float64) for a in arrays]
    tensors = [Tensor(a, dtype=np.float64, requires_grad=True) for a in arrays]
    out = fn(*tensors)
    weights = RNG.standard_normal(out.shape)
    out.backward(weights)
    for t, expected in zip(tensors, numeric_grads(fn, arrays, weights)):
        assert t.grad is not None and t.grad.shape == t.shape
        np.testing.assert_allclose(t.grad.data, expected, rtol=rtol, atol=atol)
    return out


def rand(*shape, low=-1.0, high=1.0):
    return RNG.uniform(low, high, size=shape)


# --- elementwise ops with broadcasting --------------------------------------------------------
@pytest.mark.parametrize("shape_a,shape_b", [((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((4, 1, 3), (2, 1)), ((), (2, 2))])
def test_add_sub_mul_grads_with_broadcasting(shape_a, shape_b):
    a, b = rand(*shape_a), rand(*shape_b)
    gradcheck(lambda x, y: x + y, a, b)
    gradcheck(lambda x, y: x - y, a, b)
    gradcheck(lambda x, y: x * y, a, b)


@pytest.mark.parametrize("shape_a,shape_b", [((2, 3), (2, 3)), ((2, 3), (3,)), ((3, 1), (1, 2))])
def test_div_grads(shape_a, shape_b):
    gradcheck(lambda x, y: x / y, rand(*shape_a), rand(*shape_b, low=0.5, high=2.0))


def test_broadcast_grad_is_summed_over_broadcast_axes():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    b = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * b).sum().backward()
    np.testing.assert_allclose(b.grad.data, [2, 2, 2])
    np.testing.assert_allclose(x.grad.data, [[1, 2, 3], [1, 2, 3]])


def test_scalar_and_reflected_ops_grads():
    x = rand(2, 3, low=0.5, high=2.0)
    gradcheck(lambda t: 3.0 - t, x)
    gradcheck(lambda t: 2.0 / t, x)
    gradcheck(lambda t: t * 4.0 + 1.0, x)
    gradcheck(lambda t: 2.0**t, x)
    gradcheck(lambda t: np.array([1.0, 2.0, 3.0]) * t, x)


def test_neg_grad():
    gradcheck(lambda t: -t, rand(3, 2))


@pytest.mark.parametrize("p", [2, 3, 0.5, 0, -1, -1.5])
def test_pow_grads(p):
    gradcheck(lambda t: t**p, rand(2, 3, low=0.5, high=2.0))


@pytest.mark.parametrize("shape_x,shape_e", [((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 3), ()), ((3,), (2, 3))])
def test_pow_with_tensor_exponent_grads_for_both_inputs(shape_x, shape_e):
    out = gradcheck(lambda x, e: x**e, rand(*shape_x, low=0.5, high=2.0), rand(*shape_e, low=-1.5, high=2.5))
    assert type(out.grad_fn).__name__ == "TensorPowBackward"


def test_pow_tensor_exponent_grad_closed_form():
    """e.grad = sum over the broadcast of x**e * ln x (the bug: a 0-d exponent used to get none)."""
    x0 = np.array([[0.5, 1.0, 2.0], [3.0, 4.0, 5.0]])
    x, e = Tensor(x0, dtype=np.float64, requires_grad=True), Tensor(1.5, dtype=np.float64, requires_grad=True)
    (x**e).sum().backward()
    np.testing.assert_allclose(e.grad.data, np.sum(x0**1.5 * np.log(x0)), rtol=1e-12)
    np.testing.assert_allclose(x.grad.data, 1.5 * x0**0.5, rtol=1e-12)
    assert e.grad.shape == ()
    # At x = 0: d/de 0**e = 0 for e >= 0 (PyTorch's convention), d/dx x**0 = 0; no nan or warning.
    x, e = Tensor([0.0, 0.0, 2.0], dtype=np.float64, requires_grad=True), Tensor([2.0, 0.0, 0.0], dtype=np.float64, requires_grad=True)
    with np.errstate(all="raise"):
        (x**e).sum().backward()
    np.testing.assert_array_equal(e.grad.data, [0.0, 0.0, np.log(2.0)])
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0, 0.0])


def test_scalar_base_pow_grad_is_b_to_the_t_ln_b():
    t0 = np.array([-1.0, 0.0, 0.5, 3.0])
    t = Tensor(t0, dtype=np.float64, requires_grad=True)
    out = 10**t
    assert type(out.grad_fn).__name__ == "TensorPowBackward"
    out.backward(np.ones(4))
    np.testing.assert_allclose(t.grad.data, 10.0**t0 * np.log(10.0), rtol=1e-12)
    gradcheck(lambda a: 2.5**a, rand(2, 2))
    t32 = Tensor([3.0], requires_grad=True)
    out32 = 10**t32
    assert out32.data[0] == 1000.0 and out32.dtype == np.float32
    out32.backward(np.ones(1))
    assert t32.grad.dtype == np.float32
    np.testing.assert_allclose(t32.grad.data, [1000.0 * np.log(10.0)], rtol=1e-6)


def test_numpy_op_ufuncs_are_differentiable_and_other_ufuncs_are_not():
    x0 = rand(2, 3, low=0.5, high=2.0)
    gradcheck(lambda t: np.exp(t) * np.sqrt(t) + np.log(t), x0)
    gradcheck(lambda t: np.array([[1.0], [2.0]]) * t - np.ones(3), x0)  # ndarray on the left
    x = Tensor(x0, requires_grad=True)
    assert type(np.abs(x)) is np.ndarray  # no op for abs: a numpy value, outside the graph
    (x * np.abs(x)).sum().backward()  # np.abs(x) acts as a constant
    np.testing.assert_allclose(x.grad.data, np.abs(x0), rtol=1e-6)


def test_grad_behaves_like_an_array():
    """Upstream's grads are numpy arrays: .copy(), np.abs(), np.allclose() and friends work."""
    x = Tensor([2.0, -1.0], requires_grad=True)
    (x * 3).sum().backward()
    first = x.grad.copy()
    (x * 5).sum().backward()
    assert np.allclose(x.grad, first + 5.0)
    np.testing.assert_array_equal(first.data, [3.0, 3.0])  # the snapshot did not accumulate
    assert np.abs(x.grad).max() == 8.0 and np.sum(x.grad) == 16.0 and float(np.max(np.abs(x.grad - first))) == 5.0
    assert x.grad.data.dtype == np.float32 and isinstance(x.grad, Tensor)


# --- matmul -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "shape_a,shape_b",
    [((2, 3), (3, 4)), ((2, 2, 3), (3, 4)), ((3,), (3, 4)), ((2, 3), (3,)), ((3,), (3,)), ((2, 1, 4, 3), (5, 3, 2)), ((2, 3), (2, 3, 4))],
)
def test_matmul_grads(shape_a, shape_b):
    gradcheck(lambda x, y: x @ y, rand(*shape_a), rand(*shape_b))


def test_matmul_grad_closed_form():
    a, b = rand(2, 3), rand(3, 4)
    ta, tb = Tensor(a, dtype=np.float64, requires_grad=True), Tensor(b, dtype=np.float64, requires_grad=True)
    g = rand(2, 4)
    (ta @ tb).backward(g)
    np.testing.assert_allclose(ta.grad.data, g @ b.T)
    np.testing.assert_allclose(tb.grad.data, a.T @ g)


# --- reductions -------------------------------------------------------------------------------
@pytest.mark.parametrize("axis,keepdims", [(None, False), (None, True), (0, False), (1, True), ((0, 2), False), (-1, False)])
def test_sum_mean_grads(axis, keepdims):
    x = rand(2, 3, 4)
    gradcheck(lambda t: t.sum(axis=axis, keepdims=keepdims), x)
    gradcheck(lambda t: t.mean(axis=axis, keepdims=keepdims), x)


@pytest.mark.parametrize("axis,keepdims", [(None, False), (0, False), (1, True), ((0, 1), False)])
def test_max_grads(axis, keepdims):
    x = RNG.permutation(24).reshape(2, 3, 4) / 7.0  # distinct values: max is differentiable
    gradcheck(lambda t: t.max(axis=axis, keepdims=keepdims), x)


def test_max_ties_share_gradient():
    x = Tensor([[1.0, 3.0, 3.0], [2.0, 0.0, 1.0]], requires_grad=True)
    x.max(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad.data, [[0, 0.5, 0.5], [1, 0, 0]])


# --- elementwise functions --------------------------------------------------------------------
def test_exp_log_sqrt_grads():
    gradcheck(lambda t: t.exp(), rand(2, 3))
    gradcheck(lambda t: t.log(), rand(2, 3, low=0.5, high=3.0))
    gradcheck(lambda t: t.sqrt(), rand(2, 3, low=0.5, high=3.0))


# --- shape ops and indexing -------------------------------------------------------------------
def test_reshape_transpose_permute_grads():
    x = rand(2, 3, 4)
    gradcheck(lambda t: t.reshape(4, 6), x)
    gradcheck(lambda t: t.reshape(-1), x)
    gradcheck(lambda t: t.transpose(), x)
    gradcheck(lambda t: t.transpose(0, 2), x)
    gradcheck(lambda t: t.permute(1, 2, 0), x)
    gradcheck(lambda t: t.T, x)


@pytest.mark.parametrize(
    "index",
    [
        (slice(1, None), slice(None, None, 2)),
        (Ellipsis, 0),
        (1,),
        (slice(None), np.array([0, 0, 2])),  # advanced index on axis 1 with a repeat
        (np.array([[True, False, True, False], [False, True, True, True], [True, True, False, False]]),),
    ],
)
def test_slice_grads(index):
    x = rand(3, 4)
    index = index if len(index) > 1 else index[0]
    gradcheck(lambda t: t[index], x)


def test_integer_index_uses_embedding_backward_and_accumulates():
    x = Tensor(np.arange(8.0).reshape(4, 2), requires_grad=True)
    out = x[np.array([3, 1, 3, -1])]
    assert type(out._grad_fn).__name__ == "EmbeddingBackward"
    out.backward(np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]]))
    np.testing.assert_allclose(x.grad.data, [[0, 0], [3, 4], [0, 0], [1 + 5 + 7, 2 + 6 + 8]])
    gradcheck(lambda t: t[Tensor([[0, 2], [2, 2]])] * t[np.array([1, 0])], rand(3, 2))


# --- composite graphs and accumulation ---------------------------------------------------------
def test_composite_expression_grads():
    gradcheck(lambda a, b: ((a @ b).exp() / (1.0 + (a @ b).exp())).sum(axis=0) * 2.0 - b.mean(), rand(2, 3), rand(3, 4))
    gradcheck(lambda a: (a * a).sqrt() + (a**2 + 1.0).log(), rand(3, low=0.5, high=2.0))


def test_tensor_used_twice_accumulates_gradient():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x + x * 3.0).sum().backward()  # d/dx (x^2 + 3x) = 2x + 3
    np.testing.assert_allclose(x.grad.data, [5, 7, 9])


def test_diamond_graph():
    x = Tensor([2.0], requires_grad=True)
    a = x * 3.0
    b = a + a  # b = 6x, used together with a: f = a * b = 18 x^2
    (a * b).sum().backward()
    np.testing.assert_allclose(x.grad.data, [36 * 2.0])
    gradcheck(lambda t: (t * 3.0) * ((t * 3.0) + (t * 3.0)), rand(3))


def test_grad_accumulates_across_backward_calls_until_zero_grad():
    x = Tensor([1.0, -1.0], requires_grad=True)
    (x * 2.0).sum().backward()
    (x * 2.0).sum().backward()
    np.testing.assert_allclose(x.grad.data, [4, 4])
    x.zero_grad()
    assert x.grad is None
    (x * 5.0).sum().backward()
    np.testing.assert_allclose(x.grad.data, [5, 5])


def test_constants_get_no_grad_and_grad_dtype_matches_leaf():
    x = Tensor([1.0, 2.0], requires_grad=True)
    c = Tensor([3.0, 4.0])
    (x * c).sum().backward()
    assert c.grad is None
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.data, [3, 4])


def test_retain_grad_on_intermediate():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x * 3.0).retain_grad()
    (y * y).sum().backward()
    np.testing.assert_allclose(y.grad.data, [6, 12])
    np.testing.assert_allclose(x.grad.data, [18, 36])


def test_deep_chain_does_not_hit_recursion_limit():
    x = Tensor([1.0], requires_grad=True)
    y = x
    for _ in range(3000):
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, [1.0001**3000], rtol=1e-4)


def test_no_grad_builds_no_graph():
    x = Tensor([1.0], requires_grad=True)
    with no_grad():
        y = x * 2.0
    assert y.requires_grad is False and y._grad_fn is None


# --- errors -----------------------------------------------------------------------------------
def test_backward_on_non_scalar_without_grad_raises():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"needs a single-element output, got shape \(2, 3\).*\.sum\(\)"):
        (x * 2.0).backward()


def test_backward_with_wrong_grad_shape_raises():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=r"grad of the output's shape \(2, 3\), got \(3,\)"):
        (x * 2.0).backward(np.ones(3))


def test_backward_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match=r"does not require grad.*requires_grad=True"):
        Tensor([1.0]).backward()


# --- registry and extension API ---------------------------------------------------------------
def test_grad_fn_names():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    cases = {
        "AddBackward": x + 1, "SubBackward": x - 1, "MulBackward": x * 2, "DivBackward": x / 2, "NegBackward": -x,
        "PowBackward": x**2, "MatmulBackward": x @ np.ones((3, 2)), "SumBackward": x.sum(), "MeanBackward": x.mean(),
        "MaxBackward": x.max(), "ExpBackward": x.exp(), "LogBackward": x.log(), "SqrtBackward": x.sqrt(),
        "ReshapeBackward": x.reshape(6), "TransposeBackward": x.transpose(), "PermuteBackward": x.permute(1, 0),
        "SliceBackward": x[:, 1],
        "EmbeddingBackward": x[np.array([0, 0])],
    }
    assert {name: type(t.grad_fn).__name__ for name, t in cases.items()} == {name: name for name in cases}
    assert repr(x + 1).endswith("grad_fn=<AddBackward>)")


def test_registry_lists_every_op():
    names = set(backward_registry())
    assert {
        "add", "sub", "mul", "div", "neg", "pow", "pow_tensor", "matmul", "sum", "mean", "max", "exp", "log", "sqrt",
        "reshape", "transpose", "permute", "slice", "embedding", "embedding_sparse", "relu", "sigmoid", "tanh", "gelu", "softmax",
        "log_softmax", "cross_entropy", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    } <= names
    assert all(issubclass(cls, Function) for cls in backward_registry().values())


def test_custom_op_via_register_backward_and_apply_op():
    @register_backward("test_cube")
    class CubeBackward(Function):
        """out = a ** 3"""

        def backward(self, grad):
            return (grad * 3.0 * self.inputs[0].data ** 2 * self.scale,)

    def cube(t):
        return apply_op("test_cube", t.data**3, (t,), scale=1.0)

    out = gradcheck(cube, rand(2, 2))
    assert type(out._grad_fn).__name__ == "CubeBackward"
    register_backward("test_cube")(CubeBackward)  # re-registering the same class is a no-op


def test_registry_refuses_conflicts_and_unknown_ops():
    class OtherAdd(Function):
        def backward(self, grad):
            return (grad, grad)

    with pytest.raises(ValueError, match=r"op 'add' already has backward AddBackward.*pick a new op name"):
        register_backward("add")(OtherAdd)
    with pytest.raises(TypeError, match=r"needs a Function subclass"):
        register_backward("bad")(object)
    with pytest.raises(ValueError, match=r"unknown op 'nope'.*@register_backward\('nope'\)"):
        apply_op("nope", np.zeros(1), (Tensor([1.0], requires_grad=True),))


def test_enable_autograd_is_idempotent():
    engine = enable_autograd()
    assert enable_autograd() is engine
    assert autograd_engine() is engine
    assert is_autograd_enabled()
    previous = register_autograd_engine(None)
    try:
        assert not is_autograd_enabled()
        # Nothing registered: the reference engine (module 18's disable() registers it the same way).
        assert enable_autograd() is reference_engine() and autograd_engine() is reference_engine()
    finally:
        register_autograd_engine(previous)


def test_unbroadcast_helper():
    g = np.ones((4, 2, 3))
    np.testing.assert_allclose(autograd.unbroadcast(g, (2, 1)), np.full((2, 1), 12.0))
    np.testing.assert_allclose(autograd.unbroadcast(g, (3,)), np.full(3, 8.0))


# --- upstream's calling form: XBackward(*inputs).apply(grad) ------------------------------------
def test_upstream_function_classes_test():
    """Upstream TinyTorch's test_unit_function_classes, as written there (int data that requires
    grad becomes float32)."""
    a = Tensor([1, 2, 3], requires_grad=True)
    b = Tensor([4, 5, 6], requires_grad=True)
    grad_output = np.array([1, 1, 1])
    grad_a, grad_b = autograd.AddBackward(a, b).apply(grad_output)
    assert np.allclose(grad_a, grad_output) and np.allclose(grad_b, grad_output)
    grad_a, grad_b = autograd.MulBackward(a, b).apply(grad_output)
    assert np.allclose(grad_a, b.data) and np.allclose(grad_b, a.data)
    a_mat = Tensor([[1, 2], [3, 4]], requires_grad=True)
    b_mat = Tensor([[5, 6], [7, 8]], requires_grad=True)
    grad_a, grad_b = autograd.MatmulBackward(a_mat, b_mat).apply(np.ones((2, 2)))
    assert grad_a.shape == a_mat.shape and grad_b.shape == b_mat.shape
    np.testing.assert_allclose(grad_a, np.ones((2, 2)) @ b_mat.data.T)


def test_apply_gives_none_for_inputs_that_need_no_grad():
    a, c = Tensor([1.0, 2.0], requires_grad=True), Tensor([3.0, 4.0])
    grad_a, grad_c = autograd.MulBackward(a, c).apply(Tensor([1.0, 1.0]))
    np.testing.assert_array_equal(grad_a, [3.0, 4.0])
    assert grad_c is None
    assert autograd.SubBackward(a, c).saved_tensors == (a, c)


def by_hand_and_recorded(build, *arrays):
    """The gradients of XBackward(*inputs).apply(g) and of the recorded graph, for the same g."""
    inputs = [Tensor(a, dtype=np.float64, requires_grad=True) for a in arrays]
    out = build(*inputs)
    g = RNG.standard_normal(out.shape)
    recorded = out.grad_fn.backward(g)
    by_hand = type(out.grad_fn)(*inputs).apply(g)
    return by_hand, recorded


@pytest.mark.parametrize(
    "build,shapes",
    [
        (lambda x: x.exp(), [(2, 3)]), (lambda x: x.sqrt(), [(2, 3)]), (lambda x: x.log(), [(2, 3)]),
        (lambda x: x.sum(), [(2, 3)]), (lambda x: x.mean(), [(2, 3)]), (lambda x: x.max(), [(2, 3)]),
        (lambda x: x.transpose(), [(2, 3, 4)]), (lambda x: x.reshape(6), [(2, 3)]), (lambda x: -x, [(2,)]),
        (lambda x, y: x / y, [(2, 3), (3,)]), (lambda x, y: x**y, [(2, 3), (2, 3)]),
    ],
)
def test_by_hand_functions_work_out_what_the_forward_saved(build, shapes):
    arrays = [rand(*shape, low=0.5, high=2.0) for shape in shapes]
    by_hand, recorded = by_hand_and_recorded(build, *arrays)
    for h, r in zip(by_hand, recorded):
        np.testing.assert_allclose(h, r, rtol=1e-12)


def test_by_hand_saved_values_by_keyword_and_upstream_positional_targets():
    x = Tensor(rand(2, 3), dtype=np.float64, requires_grad=True)
    g = np.ones((2,))
    (grad,) = autograd.SumBackward(x, axis=1).apply(g)
    np.testing.assert_array_equal(grad, np.ones((2, 3)))
    (grad,) = autograd.SliceBackward(x, index=(0, slice(1, None))).apply(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(grad, [[0, 1, 2], [0, 0, 0]])
    # Upstream's loss form: the targets are the second positional argument.
    logits = Tensor([[2.0, 0.0], [0.0, 1.0]], dtype=np.float64, requires_grad=True)
    (grad,) = autograd.CrossEntropyBackward(logits, Tensor([0, 1])).apply(1.0)
    p = np.exp(logits.data) / np.exp(logits.data).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(grad, (p - np.eye(2)) / 2, rtol=1e-12)
    probs = Tensor([0.25, 0.5], dtype=np.float64, requires_grad=True)
    (grad,) = autograd.BCEBackward(probs, Tensor([1.0, 0.0])).apply(np.array(1.0))
    np.testing.assert_allclose(grad, [(0.25 - 1) / (0.25 * 0.75) / 2, 0.5 / 0.25 / 2], rtol=1e-12)
    weight = Tensor(np.zeros((3, 2)), requires_grad=True)
    (grad,) = autograd.EmbeddingBackward(weight, Tensor([2.0, 2.0, 0.0])).apply(np.ones((3, 2)))
    np.testing.assert_array_equal(grad, [[1, 1], [0, 0], [2, 2]])
    (grad,) = autograd.ReLUBackward(Tensor([-1.0, 2.0], requires_grad=True)).apply(np.ones(2))
    np.testing.assert_array_equal(grad, [0.0, 1.0])
    assert autograd.ReluBackward is autograd.ReLUBackward and autograd.GeluBackward is autograd.GELUBackward


def test_by_hand_activation_rules_recompute_their_outputs():
    x0 = np.array([-2.0, -0.3, 0.0, 0.8, 3.0])
    x = Tensor(x0, dtype=np.float64, requires_grad=True)
    s = 1 / (1 + np.exp(-x0))
    np.testing.assert_allclose(autograd.SigmoidBackward(x).apply(np.ones(5))[0], s * (1 - s), rtol=1e-12)
    np.testing.assert_allclose(autograd.TanhBackward(x).apply(np.ones(5))[0], 1 - np.tanh(x0) ** 2, rtol=1e-12)
    e = np.exp(x0 - x0.max())
    soft = e / e.sum()
    g = RNG.standard_normal(5)
    np.testing.assert_allclose(autograd.SoftmaxBackward(x).apply(g)[0], soft * (g - np.sum(g * soft)), rtol=1e-12)
    np.testing.assert_allclose(autograd.LogSoftmaxBackward(x, dim=0).apply(g)[0], g - soft * g.sum(), rtol=1e-12)
    cdf = 0.5 * (1 + np.array([math.erf(v / math.sqrt(2)) for v in x0]))
    pdf = np.exp(-x0**2 / 2) / math.sqrt(2 * math.pi)
    np.testing.assert_allclose(autograd.GELUBackward(x).apply(np.ones(5))[0], cdf + x0 * pdf, rtol=1e-12)


def test_by_hand_bad_calls_say_what_to_pass():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"SigmoidBackward takes 1 input Tensor\(s\), got 2\. Hint: pass the op's inputs only; saved values .* go by keyword"):
        autograd.SigmoidBackward(x, x)
    with pytest.raises(TypeError, match=r"AddBackward takes 2 input Tensor\(s\), got 1"):
        autograd.AddBackward(x)
    with pytest.raises(TypeError, match=r"SoftmaxBackward inputs must be Tensors, got int -1 as input 1\. Hint: .*SoftmaxBackward\(x, dim=-1\)"):
        autograd.SoftmaxBackward(x, -1)
    with pytest.raises(TypeError, match=r"SliceBackward needs the saved value\(s\) \['index'\].*Hint: pass them by keyword, e\.g\. SliceBackward\(x, index=\.\.\.\)"):
        autograd.SliceBackward(x)
    with pytest.raises(TypeError, match=r"PowBackward needs the saved value\(s\) \['exponent'\]"):
        autograd.PowBackward(x)


def test_upstream_style_function_with_apply_runs_in_the_engine():
    @register_backward("test_upstream_square")
    class SquareBackward(Function):
        def apply(self, grad_output):
            (x,) = self.saved_tensors
            return (2.0 * x.data * grad_output,)

    x = Tensor([1.0, -3.0], requires_grad=True)
    apply_op("test_upstream_square", x.data**2, (x,)).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, -6.0])
