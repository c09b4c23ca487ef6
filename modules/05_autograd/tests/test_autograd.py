"""Gradients of every Tensor op against central finite differences (float64), plus engine behaviour:
broadcasting, accumulation, error messages and the backward registry."""

import numpy as np
import pytest

import tinytorch.core.autograd as autograd
from tinytorch.core.autograd import Function, apply_op, backward_registry, enable_autograd, is_autograd_enabled, register_backward
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
        "ReshapeBackward": x.reshape(6), "TransposeBackward": x.transpose(), "SliceBackward": x[:, 1],
        "EmbeddingBackward": x[np.array([0, 0])],
    }
    assert {name: type(t.grad_fn).__name__ for name, t in cases.items()} == {name: name for name in cases}
    assert repr(x + 1).endswith("grad_fn=<AddBackward>)")


def test_registry_lists_every_op():
    names = set(backward_registry())
    assert {
        "add", "sub", "mul", "div", "neg", "pow", "matmul", "sum", "mean", "max", "exp", "log", "sqrt", "reshape",
        "transpose", "slice", "embedding", "relu", "sigmoid", "tanh", "gelu", "softmax", "log_softmax", "cross_entropy",
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
        assert enable_autograd() is engine and autograd_engine() is engine
    finally:
        register_autograd_engine(previous)


def test_unbroadcast_helper():
    g = np.ones((4, 2, 3))
    np.testing.assert_allclose(autograd.unbroadcast(g, (2, 1)), np.full((2, 1), 12.0))
    np.testing.assert_allclose(autograd.unbroadcast(g, (3,)), np.full(3, 8.0))
