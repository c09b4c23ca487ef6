"""Tensor values, dtype policy, error messages and the autograd extension point.

This file deliberately does not import tinytorch.core.autograd: it checks that ops compute values
without an engine, that backward() explains how to enable autograd, and that ops are recorded
through a registered engine (a fake one here). Gradient values are tested in module 05.
"""

import re

import numpy as np
import pytest

from tinytorch.core.tensor import Tensor, autograd_engine, is_grad_enabled, no_grad, record_op, register_autograd_engine


class FakeEngine:
    """Records (op_name, inputs, saved) instead of building a graph."""

    def __init__(self):
        self.calls = []
        self.backward_calls = []

    def record(self, op_name, out, inputs, /, **saved):
        self.calls.append((op_name, inputs, saved))
        out._grad_fn = op_name
        out.requires_grad = True

    def backward(self, tensor, grad):
        self.backward_calls.append((tensor, grad))


@pytest.fixture
def no_engine():
    previous = register_autograd_engine(None)
    yield
    register_autograd_engine(previous)


@pytest.fixture
def fake_engine():
    engine = FakeEngine()
    previous = register_autograd_engine(engine)
    yield engine
    register_autograd_engine(previous)


# --- construction and dtype policy --------------------------------------------------------------
def test_float_inputs_become_float32():
    assert Tensor(2.5).dtype == np.float32
    assert Tensor([1.0, 2.0]).dtype == np.float32
    t = Tensor(np.array([[1.5, 2.5]], dtype=np.float64))
    assert t.dtype == np.float32
    np.testing.assert_array_equal(t.data, np.array([[1.5, 2.5]], dtype=np.float32))


def test_integer_inputs_become_int64_and_bool_stays_bool():
    assert Tensor([1, 2, 3]).dtype == np.int64
    assert Tensor(np.array([1, 2], dtype=np.uint8)).dtype == np.int64
    assert Tensor(np.array([1, 2], dtype=np.int32)).dtype == np.int64
    assert Tensor([True, False]).dtype == np.bool_


def test_explicit_dtype_keeps_float64():
    t = Tensor([0.1, 0.2], dtype=np.float64)
    assert t.dtype == np.float64
    assert t.data[0] == 0.1
    assert (t * 0.1).dtype == np.float64  # scalar operands adopt the tensor's float dtype
    assert (t * 0.1).data[0] == 0.1 * 0.1


def test_unsupported_dtype_rejected():
    with pytest.raises(TypeError, match=r"dtype int8 is not supported.*Allowed: float32, float64, int64, bool"):
        Tensor([1], dtype=np.int8)


def test_unknown_dtype_names_value_and_allowed_dtypes():
    with pytest.raises(TypeError, match=r"dtype 'foo' is not a dtype numpy understands\. Allowed: float32, float64, int64, bool.*Hint"):
        Tensor([1.0], dtype="foo")


def test_whole_floats_convert_to_int64():
    t = Tensor([3.0, -2.0, 0.0, -(2.0**63)], dtype=np.int64)
    assert t.dtype == np.int64
    np.testing.assert_array_equal(t.data, np.array([3, -2, 0, -(2**63)], dtype=np.int64))
    np.testing.assert_array_equal(Tensor(np.array([7, 2**63 - 1], dtype=np.uint64)).data, [7, 2**63 - 1])
    assert Tensor(Tensor([4.0]), dtype="int64").data.tolist() == [4]


def test_int_dtype_rejects_fractional_floats():
    with pytest.raises(ValueError, match=r"int64 cannot represent the value 1\.7 at index 0: it has a fractional part.*"
                       r"Hint: round explicitly with np\.round\(x\)\.astype\(np\.int64\)"):
        Tensor([1.7], dtype=np.int64)
    with pytest.raises(ValueError, match=r"value 0\.5 at index \(1, 0\).*1 of 4 values"):
        Tensor(Tensor(np.array([[1.0, 2.0], [0.5, 3.0]]), dtype=np.float64), dtype=np.int64)


@pytest.mark.filterwarnings("error")  # numpy's cast only warns (RuntimeWarning) and stores -2**63
@pytest.mark.parametrize("bad,shown", [(np.nan, "nan"), (np.inf, "inf"), (-np.inf, "-inf")])
def test_int_dtype_rejects_non_finite_floats(bad, shown):
    with pytest.raises(ValueError, match=rf"int64 cannot represent the value {shown} at index 1: it is not finite.*Hint: replace NaN/inf"):
        Tensor([1.0, bad, 2.5], dtype=np.int64)


def test_int64_rejects_values_out_of_range():
    with pytest.raises(ValueError, match=r"int64 cannot represent the value 9223372036854775813 at index 1: it is outside the int64 range"):
        Tensor(np.array([1, 2**63 + 5], dtype=np.uint64))
    with pytest.raises(ValueError, match=r"value 1e\+19 at index 0: it is outside the int64 range.*\[-9223372036854775808, 9223372036854775807\]"):
        Tensor([1e19], dtype=np.int64)
    with pytest.raises(ValueError, match=r"value 9223372036854775808 at index 0: it is outside"):
        Tensor([2**63])  # numpy stores it as uint64; int64 would wrap it to -2**63


def test_constructor_copies_data():
    arr = np.array([1.0, 2.0], dtype=np.float32)
    t = Tensor(arr)
    t.data[0] = 5.0
    assert arr[0] == 1.0


def test_tensor_from_tensor_keeps_dtype():
    t = Tensor([1.0, 2.0], dtype=np.float64)
    assert Tensor(t).dtype == np.float64


def test_properties():
    t = Tensor(np.arange(24).reshape(2, 3, 4))
    assert t.shape == (2, 3, 4)
    assert t.ndim == 3
    assert t.size == 24
    assert len(t) == 2
    assert t.requires_grad is False
    assert t.grad is None
    assert t._grad_fn is None
    assert t.is_leaf is True


def test_len_of_scalar_raises():
    with pytest.raises(TypeError, match="0-d tensor"):
        len(Tensor(3.0))


def test_item_numpy_and_array_protocol():
    t = Tensor([[1.0, 2.0], [3.0, 4.0]])
    assert Tensor([[7.5]]).item() == 7.5
    assert isinstance(Tensor(3).item(), int)
    assert t.numpy() is t.data
    assert np.allclose(t, [[1, 2], [3, 4]])
    np.testing.assert_array_equal(np.asarray(t), t.data)
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    assert float(Tensor(2.5)) == 2.5
    with pytest.raises(ValueError, match=r"exactly 1 element, got shape \(2, 2\)"):
        t.item()


def test_iteration_yields_rows():
    rows = list(Tensor([[1, 2], [3, 4]]))
    assert [r.data.tolist() for r in rows] == [[1, 2], [3, 4]]


def test_repr():
    assert repr(Tensor([1.0, 2.0])) == "Tensor([1., 2.])"
    assert repr(Tensor([1, 2])) == "Tensor([1, 2], dtype=int64)"
    assert repr(Tensor([1.0], requires_grad=True)) == "Tensor([1.], requires_grad=True)"


# --- bad input --------------------------------------------------------------------------------
def test_string_input_rejected():
    with pytest.raises(TypeError, match=r"must be numeric, got str 'hello'.*Allowed: a number.*Hint"):
        Tensor("hello")


def test_string_inside_list_rejected():
    with pytest.raises(TypeError, match=r"got str 'a' in \[1, 'a'\].*Allowed"):
        Tensor([1, "a"])


def test_ragged_list_rejected():
    with pytest.raises(ValueError, match=r"ragged nested sequence.*\[\[1, 2\], \[3\]\].*Hint: pad every row"):
        Tensor([[1, 2], [3]])


def test_object_array_rejected():
    with pytest.raises(TypeError, match=r"got NoneType None in array\(\[1, None\], dtype=object\)"):
        Tensor(np.array([1, None], dtype=object))


def test_none_and_complex_rejected():
    with pytest.raises(TypeError, match="got NoneType None"):
        Tensor(None)
    with pytest.raises(TypeError, match=r"complex \(1\+2j\).*complex numbers are not supported"):
        Tensor([1 + 2j])


def test_integer_data_that_requires_grad_becomes_float32():
    """Upstream's Tensor([1, 2, 3], requires_grad=True) is a float parameter; ids without
    requires_grad stay int64 (exact)."""
    for data in ([1, 2, 3], np.array([1, 2, 3], dtype=np.int32), np.array([1, 2, 3], dtype=np.uint8), Tensor([1, 2, 3])):
        t = Tensor(data, requires_grad=True)
        assert t.dtype == np.float32 and t.requires_grad is True
        np.testing.assert_array_equal(t.data, [1.0, 2.0, 3.0])
    assert Tensor(7, requires_grad=True).dtype == np.float32
    assert Tensor([1, 2, 3]).dtype == np.int64 and Tensor([1, 2, 3], requires_grad=False).dtype == np.int64
    assert Tensor([1.5], dtype=np.float64, requires_grad=True).dtype == np.float64


def test_requires_grad_on_explicit_int_or_bool_rejected():
    with pytest.raises(TypeError, match=r"only floating-point tensors can require gradients, got dtype int64\. "
                       r"Allowed: float32 or float64\. Hint: .*without a dtype"):
        Tensor([1, 2], dtype=np.int64, requires_grad=True)
    with pytest.raises(TypeError, match=r"got dtype bool"):
        Tensor([True, False], requires_grad=True)
    ids = Tensor([1, 2])
    with pytest.raises(TypeError, match=r"got dtype int64.*Tensor\(t\.data, dtype=np\.float32, requires_grad=True\)"):
        ids.requires_grad = True  # an existing tensor is never converted in place
    assert ids.dtype == np.int64 and ids.requires_grad is False


@pytest.mark.parametrize("flag", ["no", 1, None, np.float32(1.0)])
def test_requires_grad_must_be_bool(flag):
    # The facts a message must carry: the name, the allowed values, the offending value, a hint.
    with pytest.raises(TypeError, match=rf"requires_grad must be True or False, got .*{re.escape(repr(flag))}.*Hint"):
        Tensor([1.0], requires_grad=flag)
    t = Tensor([1.0])
    with pytest.raises(TypeError, match=r"requires_grad must be True or False"):
        t.requires_grad = flag
    assert t.requires_grad is False


def test_requires_grad_accepts_numpy_bool():
    t = Tensor([1.0], requires_grad=np.True_)
    assert t.requires_grad is True
    t.requires_grad = np.False_
    assert t.requires_grad is False


def test_string_operand_rejected():
    with pytest.raises(TypeError, match="got str 'x'"):
        Tensor([1.0]) + "x"


# --- arithmetic -------------------------------------------------------------------------------
def test_elementwise_arithmetic_values():
    a = Tensor([[1.0, 2.0], [3.0, 4.0]])
    b = Tensor([[5.0, 6.0], [7.0, 8.0]])
    np.testing.assert_allclose((a + b).data, [[6, 8], [10, 12]])
    np.testing.assert_allclose((a - b).data, [[-4, -4], [-4, -4]])
    np.testing.assert_allclose((a * b).data, [[5, 12], [21, 32]])
    np.testing.assert_allclose((a / b).data, [[0.2, 1 / 3], [3 / 7, 0.5]], rtol=1e-6)
    np.testing.assert_allclose((-a).data, [[-1, -2], [-3, -4]])
    np.testing.assert_allclose((a**2).data, [[1, 4], [9, 16]])
    np.testing.assert_allclose((a**0.5).data, np.sqrt([[1, 2], [3, 4]]), rtol=1e-6)
    assert (a + b).dtype == np.float32


def test_reflected_ops_with_scalars_and_arrays():
    a = Tensor([1.0, 2.0, 4.0])
    np.testing.assert_allclose((1 + a).data, [2, 3, 5])
    np.testing.assert_allclose((1 - a).data, [0, -1, -3])
    np.testing.assert_allclose((3 * a).data, [3, 6, 12])
    np.testing.assert_allclose((8 / a).data, [8, 4, 2])
    np.testing.assert_allclose((2**a).data, [2, 4, 16], rtol=1e-6)
    out = np.array([10.0, 20.0, 30.0]) - a
    assert isinstance(out, Tensor)
    np.testing.assert_allclose(out.data, [9, 18, 26])
    assert out.dtype == np.float32
    m = np.eye(3) @ a
    assert isinstance(m, Tensor)
    np.testing.assert_allclose(m.data, [1, 2, 4])


def test_int_tensor_arithmetic_dtypes():
    i = Tensor([1, 2, 3])
    assert (i + 1).dtype == np.int64
    assert (i / 2).dtype == np.float32
    np.testing.assert_allclose((i / 2).data, [0.5, 1.0, 1.5])
    assert (i * 2.5).dtype == np.float32
    np.testing.assert_allclose((i**-1).data, [1, 0.5, 1 / 3], rtol=1e-6)


def test_broadcasting_values():
    a = Tensor(np.arange(6, dtype=np.float32).reshape(2, 3))
    b = Tensor([10.0, 20.0, 30.0])
    c = Tensor([[100.0], [200.0]])
    np.testing.assert_allclose((a + b).data, [[10, 21, 32], [13, 24, 35]])
    np.testing.assert_allclose((a * c).data, [[0, 100, 200], [600, 800, 1000]])


def test_broadcast_mismatch_message():
    with pytest.raises(ValueError, match=r"shapes \(2, 3\) and \(4,\) cannot be broadcast for '\+'.*Hint"):
        Tensor(np.ones((2, 3))) + Tensor(np.ones(4))


def test_pow_with_tensor_and_array_exponents():
    base = Tensor([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_allclose((base ** Tensor([2.0, 0.5])).data, [[1, np.sqrt(2)], [9, 2]], rtol=1e-6)
    np.testing.assert_allclose((base ** np.array([3.0, 1.0])).data, [[1, 2], [27, 4]])
    np.testing.assert_allclose((base ** Tensor(2.0)).data, [[1, 4], [9, 16]])  # 0-d exponent broadcasts
    assert (base ** Tensor([2.0, 0.5])).dtype == np.float32
    assert (Tensor([2, 3]) ** Tensor([2, 3])).data.tolist() == [4, 27]  # ints stay ints
    np.testing.assert_allclose((Tensor([2, 4]) ** Tensor([-1, 2])).data, [0.5, 16])  # int ** negative int -> float
    with pytest.raises(ValueError, match=r"shapes \(2, 2\) and \(3,\) cannot be broadcast for '\*\*'.*Hint"):
        base ** Tensor([1.0, 2.0, 3.0])
    for bad in (True, "2", None):
        with pytest.raises(TypeError, match=rf"needs a number or a Tensor/array of numbers, got {type(bad).__name__}.*Hint"):
            base ** bad


def test_scalar_base_power_is_numpy_power_exactly():
    assert (10 ** Tensor([3.0])).data[0] == np.float32(1000.0)  # exact, not exp(3 ln 10)
    assert (10 ** Tensor([3.0])).dtype == np.float32
    exponents = np.array([-2.0, 0.0, 0.5, 3.0, 7.0], dtype=np.float32)
    np.testing.assert_array_equal((2.5 ** Tensor(exponents)).data, np.power(np.float32(2.5), exponents))
    np.testing.assert_array_equal((10 ** Tensor([2, 3])).data, [100, 1000])  # int ** int stays int64
    with np.errstate(invalid="ignore"):  # like numpy (and PyTorch): a negative base gives nan for fractions
        out = (-8.0) ** Tensor([2.0, 1.0 / 3.0])
    assert out.data[0] == 64.0 and np.isnan(out.data[1])
    with pytest.raises(TypeError, match=r"must be numeric, got str 'a'"):
        "a" ** Tensor([1.0])


# --- matmul -----------------------------------------------------------------------------------
def test_matmul_values():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_allclose((Tensor(a) @ Tensor(b)).data, a @ b)
    np.testing.assert_allclose((Tensor(a) @ b).data, a @ b)
    np.testing.assert_allclose(Tensor(a).matmul(Tensor(b)).data, a @ b)
    batch = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    np.testing.assert_allclose((Tensor(batch) @ Tensor(b.T)).data, batch @ b.T)
    v = np.array([1.0, -1.0, 2.0], dtype=np.float32)
    np.testing.assert_allclose((Tensor(a) @ Tensor(v)).data, a @ v)
    assert (Tensor(v) @ Tensor(v)).item() == pytest.approx(6.0)


def test_matmul_shape_mismatch_message():
    with pytest.raises(ValueError, match=r"matmul shape mismatch: \(2, 3\) @ \(4, 5\): inner dimensions 3 and 4 differ.*Hint"):
        Tensor(np.ones((2, 3))) @ Tensor(np.ones((4, 5)))


def test_matmul_scalar_rejected():
    with pytest.raises(ValueError, match=r"at least 1 dim, got shapes \(\) @ \(2,\)"):
        Tensor(2.0) @ Tensor([1.0, 2.0])


# --- reductions and elementwise functions -----------------------------------------------------
def test_sum_mean_max_values():
    x = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], dtype=np.float32)
    t = Tensor(x)
    assert t.sum().item() == 21.0
    np.testing.assert_allclose(t.sum(axis=0).data, [5, 7, 9])
    np.testing.assert_allclose(t.sum(axis=1, keepdims=True).data, [[9], [12]])
    np.testing.assert_allclose(t.sum(axis=(0, 1)).data, 21)
    assert t.mean().item() == pytest.approx(3.5)
    np.testing.assert_allclose(t.mean(axis=-1).data, [3, 4])
    assert t.max().item() == 6.0
    np.testing.assert_allclose(t.max(axis=1).data, [5, 6])
    np.testing.assert_allclose(t.max(axis=0, keepdims=True).data, [[4, 5, 6]])


@pytest.mark.parametrize("op", ["sum", "mean", "max"])
@pytest.mark.parametrize("flag", ["yes", 1, None])
def test_reduction_keepdims_must_be_bool(op, flag):
    with pytest.raises(TypeError, match=rf"{op}\(keepdims=\.\.\.\) must be True or False, got .*{re.escape(repr(flag))}.*Hint"):
        getattr(Tensor(np.ones((2, 3))), op)(axis=1, keepdims=flag)


@pytest.mark.parametrize("op", ["sum", "mean", "max"])
def test_reduction_docstrings_state_shapes_that_hold(op):
    doc = getattr(Tensor, op).__doc__
    assert "(d0, d1, d2), axis=1 -> (d0, d2); keepdims=True -> (d0, 1, d2); axis=None -> ()" in doc
    t = Tensor(np.arange(24.0).reshape(2, 3, 4))
    assert getattr(t, op)(axis=1).shape == (2, 4)
    assert getattr(t, op)(axis=1, keepdims=True).shape == (2, 1, 4)
    assert getattr(t, op)(axis=1, keepdims=np.True_).shape == (2, 1, 4)
    assert getattr(t, op)().shape == ()


def test_reduction_bad_axis_message():
    with pytest.raises(ValueError, match=r"sum\(axis=2\) is out of range for a tensor with 2 dims \(allowed: -2..1\)"):
        Tensor(np.ones((2, 3))).sum(axis=2)


def test_exp_log_sqrt_values():
    x = np.array([0.5, 1.0, 4.0], dtype=np.float32)
    t = Tensor(x)
    np.testing.assert_allclose(t.exp().data, np.exp(x), rtol=1e-6)
    np.testing.assert_allclose(t.log().data, np.log(x), rtol=1e-6)
    np.testing.assert_allclose(t.sqrt().data, [np.sqrt(0.5), 1, 2], rtol=1e-6)


# --- shape ops and indexing -------------------------------------------------------------------
def test_reshape():
    t = Tensor(np.arange(6))
    assert t.reshape(2, 3).shape == (2, 3)
    assert t.reshape((3, 2)).shape == (3, 2)
    assert t.reshape(-1, 2).data.tolist() == [[0, 1], [2, 3], [4, 5]]
    with pytest.raises(ValueError, match=r"cannot reshape a tensor of shape \(6,\) \(6 elements\) into \(4,\)"):
        t.reshape(4)


def test_transpose_and_permute():
    x = np.arange(24).reshape(2, 3, 4)
    t = Tensor(x)
    np.testing.assert_array_equal(t.transpose().data, np.swapaxes(x, -1, -2))
    np.testing.assert_array_equal(t.transpose(0, 2).data, np.swapaxes(x, 0, 2))
    np.testing.assert_array_equal(t.permute(2, 0, 1).data, np.transpose(x, (2, 0, 1)))
    m = Tensor(np.arange(6).reshape(2, 3))
    np.testing.assert_array_equal(m.T.data, np.arange(6).reshape(2, 3).T)
    np.testing.assert_array_equal(m.transpose(0, 1).data, np.arange(6).reshape(2, 3).T)
    np.testing.assert_array_equal(t.transpose(0, 2, 1).data, np.transpose(x, (0, 2, 1)))  # numpy-style permutation
    with pytest.raises(ValueError, match=r"transpose\(\) takes 0 dims, 2 dims to swap, or a permutation of all 3 dims; got \(0, 1, 2, 3\)"):
        t.transpose(0, 1, 2, 3)
    with pytest.raises(ValueError, match=r"permute\(0, 0, 1\) is not a permutation"):
        t.permute(0, 0, 1)


def test_indexing_values():
    x = np.arange(12).reshape(3, 4)
    t = Tensor(x)
    np.testing.assert_array_equal(t[1].data, x[1])
    np.testing.assert_array_equal(t[:, 1:3].data, x[:, 1:3])
    np.testing.assert_array_equal(t[np.array([2, 0, 2])].data, x[[2, 0, 2]])
    np.testing.assert_array_equal(t[Tensor([[0, 1], [1, 2]])].data, x[np.array([[0, 1], [1, 2]])])
    np.testing.assert_array_equal(t[[-1, 0]].data, x[[-1, 0]])
    np.testing.assert_array_equal(t[t > 5].data, x[x > 5])
    assert t[2, 3].item() == 11


def test_index_out_of_range_message():
    with pytest.raises(IndexError, match=r"index \[3\] is out of range for axis 0 of shape \(3, 4\) \(allowed: -3..2\)"):
        Tensor(np.ones((3, 4)))[np.array([0, 3])]
    with pytest.raises(IndexError, match=r"invalid for a tensor of shape \(3, 4\)"):
        Tensor(np.ones((3, 4)))[0, 7]


def test_comparisons_return_bool_tensors():
    t = Tensor([1.0, 2.0, 3.0])
    assert (t > 1.5).data.tolist() == [False, True, True]
    assert (t <= 2).data.tolist() == [True, True, False]
    assert (t == Tensor([1.0, 0.0, 3.0])).data.tolist() == [True, False, True]
    assert (t != 2).data.tolist() == [True, False, True]
    assert (t == None) is False  # noqa: E711 (identity fallback, like other Python objects)
    assert (t > 1.5).requires_grad is False


# --- autograd extension point -----------------------------------------------------------------
def test_backward_without_autograd_raises_clear_error(no_engine):
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    assert y.item() == 5.0
    assert y._grad_fn is None
    with pytest.raises(RuntimeError, match=r"autograd is not enabled.*//modules/05_autograd:autograd.*import tinytorch\.core\.autograd"):
        y.backward()


def test_register_engine_requires_record_and_backward(no_engine):
    with pytest.raises(TypeError, match=r"must have callable record.*backward"):
        register_autograd_engine(object())
    assert autograd_engine() is None


def test_ops_are_recorded_only_when_inputs_require_grad(fake_engine):
    x = Tensor([1.0, 2.0], requires_grad=True)
    c = Tensor([3.0, 4.0])
    y = x * c
    assert y.requires_grad is True
    assert y._grad_fn == "mul"
    op, inputs, saved = fake_engine.calls[-1]
    assert op == "mul" and inputs[0] is x and inputs[1] is c and saved == {}
    n = len(fake_engine.calls)
    z = c + c
    assert len(fake_engine.calls) == n and z.requires_grad is False and z._grad_fn is None


def test_op_names_and_saved_values(fake_engine):
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    names = []
    for build in (
        lambda: x + 1, lambda: x - 1, lambda: 2 - x, lambda: x * 2, lambda: x / 2, lambda: -x, lambda: x**3,
        lambda: x @ np.ones((3, 2)), lambda: x.sum(axis=1), lambda: x.mean(), lambda: x.max(axis=0),
        lambda: x.exp(), lambda: x.log(), lambda: x.sqrt(), lambda: x.reshape(3, 2), lambda: x.transpose(),
        lambda: x[0, 1:], lambda: x[np.array([1, 1])],
    ):
        build()
        names.append(fake_engine.calls[-1][0])
    assert names == [
        "add", "sub", "sub", "mul", "div", "neg", "pow", "matmul", "sum", "mean", "max",
        "exp", "log", "sqrt", "reshape", "transpose", "slice", "embedding",
    ]
    x.sum(axis=-1, keepdims=True)
    assert fake_engine.calls[-1][2] == {"axis": (1,), "keepdims": True}
    x[np.array([1, -2])]
    np.testing.assert_array_equal(fake_engine.calls[-1][2]["indices"], [1, 0])


def test_no_grad_disables_recording(fake_engine):
    x = Tensor([1.0], requires_grad=True)
    with no_grad():
        assert is_grad_enabled() is False
        y = x * 2
    assert is_grad_enabled() is True
    assert y.requires_grad is False
    assert fake_engine.calls == []


def test_backward_delegates_to_engine(fake_engine):
    x = Tensor([1.0], requires_grad=True)
    x.backward(np.ones(1))
    assert fake_engine.backward_calls[0][0] is x
    np.testing.assert_array_equal(fake_engine.backward_calls[0][1], [1.0])


def test_record_op_public_hook(fake_engine):
    x = Tensor([1.0, -2.0], requires_grad=True)
    out = record_op("my_op", np.abs(x.data).astype(np.float64), (x,), note=7)
    assert out.dtype == np.float32  # narrowed: no float64 input
    np.testing.assert_array_equal(out.data, [1.0, 2.0])
    assert fake_engine.calls[-1][0] == "my_op" and fake_engine.calls[-1][2] == {"note": 7}
    with pytest.raises(TypeError, match=r"inputs must be Tensors, got ndarray"):
        record_op("my_op", x.data, (x.data,))


def test_zero_grad_and_detach():
    x = Tensor([1.0, 2.0], requires_grad=True)
    x.grad = Tensor([0.5, 0.5])
    x.zero_grad()
    assert x.grad is None
    d = x.detach()
    assert d.requires_grad is False and d.data is x.data



# --- numpy interop: .grad and other Tensors used like arrays ----------------------------------
def test_copy_is_an_independent_tensor():
    x = Tensor([1.0, 2.0], requires_grad=True)
    snapshot = x.copy()
    assert isinstance(snapshot, Tensor) and snapshot.requires_grad is False and snapshot.is_leaf
    snapshot.data[0] = 9.0
    assert x.data[0] == 1.0
    np.testing.assert_array_equal((snapshot + 5.0).data, [14.0, 7.0])


def test_non_op_ufuncs_return_numpy_arrays():
    t = Tensor([[-1.5, 2.0], [0.0, -3.0]], requires_grad=True)
    for ufunc, want in ((np.abs, [[1.5, 2.0], [0.0, 3.0]]), (np.sign, [[-1, 1], [0, -1]]), (np.square, [[2.25, 4], [0, 9]])):
        out = ufunc(t)
        assert type(out) is np.ndarray and out.dtype == np.float32
        np.testing.assert_array_equal(out, want)
    assert type(np.maximum(t, 0)) is np.ndarray and np.maximum(t, 0).tolist() == [[0, 2], [0, 0]]
    assert np.isnan(Tensor([np.nan, 1.0])).tolist() == [True, False]
    assert np.add.reduce(t, axis=0).tolist() == [-1.5, -1.0]  # ufunc methods compute on the data
    np.testing.assert_array_equal(np.abs(t).max(), 3.0)


def test_op_ufuncs_are_the_tensor_operations():
    t = Tensor([1.0, 4.0])
    for got, want in ((np.add(t, 1), t + 1), (np.subtract(10, t), 10 - t), (np.multiply(t, t), t * t),
                      (np.divide(t, 2), t / 2), (np.power(t, 2), t**2), (np.negative(t), -t), (np.exp(t), t.exp()),
                      (np.log(t), t.log()), (np.sqrt(t), t.sqrt()), (np.matmul(t, t), t @ t)):
        assert isinstance(got, Tensor)
        np.testing.assert_array_equal(got.data, want.data)
    assert isinstance(np.greater(t, 2), Tensor) and np.greater(t, 2).data.tolist() == [False, True]
    assert isinstance(np.float32(2.0) * t, Tensor)  # numpy scalars on the left too
    out = np.array([1.0, 2.0], dtype=np.float32)
    np.add(t, 1, out=out)  # with out= it is a plain numpy call
    assert out.tolist() == [2.0, 5.0]


def test_op_ufuncs_are_recorded_in_the_graph(fake_engine):
    x = Tensor([1.0, 2.0], requires_grad=True)
    for build, name in ((lambda: np.exp(x), "exp"), (lambda: np.array([1.0, 1.0]) + x, "add"), (lambda: np.sqrt(x), "sqrt")):
        out = build()
        assert out.requires_grad and fake_engine.calls[-1][0] == name
    n = len(fake_engine.calls)
    assert type(np.abs(x)) is np.ndarray and len(fake_engine.calls) == n  # outside the graph


def test_numpy_functions_see_the_data():
    g = Tensor([[1.0, -2.0], [3.0, 4.0]])
    assert np.sum(g) == 6.0 and np.mean(g) == 1.5 and np.max(g) == 4.0
    assert type(np.sum(g, axis=0)) is np.ndarray and np.sum(g, axis=0).tolist() == [4.0, 2.0]
    assert np.allclose(g, [[1, -2], [3, 4]]) and np.array_equal(g, g.data)
    np.testing.assert_allclose(g, [[1, -2], [3, 4]])
    np.testing.assert_array_equal(np.concatenate([g, g]), np.vstack([g.data, g.data]))
    assert np.zeros_like(g).shape == (2, 2) and type(np.reshape(g, 4)) is np.ndarray
    assert np.linalg.norm(Tensor([3.0, 4.0])) == 5.0
