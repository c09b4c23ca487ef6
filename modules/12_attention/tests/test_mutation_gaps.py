"""Gaps the mutation run (tools/mutation, TESTS.md of module 11, "Mutation score") found in module
12: non-Tensor input (numpy arrays, nested lists) to scaled_dot_product_attention and
MultiHeadAttention, and combine_masks() called with no mask."""

import numpy as np
import pytest

from tinytorch.core.attention import (
    MultiHeadAttention,
    causal_mask,
    combine_masks,
    scaled_dot_product_attention,
)
from tinytorch.core.tensor import Tensor


def qkv(seed=0, lead=(2,), seq=5, d=4):
    rng = np.random.default_rng(seed)
    return tuple(rng.normal(size=lead + (seq, d)) for _ in range(3))


def attention_by_hand(Q, K, V, keep=None):
    """softmax(Q K^T / sqrt(d), restricted to keep) V in float64 numpy: the reference values."""
    scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1])
    if keep is not None:
        scores = np.where(keep, scores, -np.inf)
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights /= weights.sum(axis=-1, keepdims=True)
    return weights @ V, weights


CONVERSIONS = {
    "float64-array": lambda a: a,
    "float32-array": lambda a: a.astype(np.float32),
    "list": lambda a: a.tolist(),
}


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("name", sorted(CONVERSIONS))
def test_attention_accepts_arrays_and_lists_like_tensors(name, need_weights):
    Q, K, V = qkv()
    convert = CONVERSIONS[name]
    mask = causal_mask(5)
    out, weights = scaled_dot_product_attention(convert(Q), convert(K), convert(V), mask, need_weights=need_weights)
    want, want_weights = scaled_dot_product_attention(Tensor(Q), Tensor(K), Tensor(V), mask, need_weights=need_weights)
    # Converted as Tensor(x) is: float32, and the very same result as Tensor input.
    assert isinstance(out, Tensor) and out.shape == (2, 5, 4) and out.dtype == np.float32
    np.testing.assert_array_equal(out.data, want.data)
    hand_out, hand_weights = attention_by_hand(Q, K, V, mask.data)
    np.testing.assert_allclose(out.data, hand_out, rtol=1e-5, atol=1e-6)
    if need_weights:
        assert isinstance(weights, Tensor)
        np.testing.assert_array_equal(weights.data, want_weights.data)
        np.testing.assert_allclose(weights.data, hand_weights, rtol=1e-5, atol=1e-6)
    else:
        assert weights is None


def test_attention_mixes_tensor_and_array_inputs():
    Q, K, V = qkv(seed=1)
    q = Tensor(Q, requires_grad=True)
    out, _ = scaled_dot_product_attention(q, K, V.tolist())
    np.testing.assert_array_equal(out.data, scaled_dot_product_attention(Tensor(Q), Tensor(K), Tensor(V))[0].data)
    out.sum().backward()
    assert q.grad is not None and q.grad.shape == (2, 5, 4) and np.isfinite(q.grad.data).all()


@pytest.mark.parametrize("which", ["Q", "K", "V"])
def test_attention_refuses_integer_arrays_and_lists_naming_input_and_dtype(which):
    Q, K, V = qkv()
    inputs = {"Q": Q, "K": K, "V": V}
    inputs[which] = np.arange(40).reshape(2, 5, 4) if which != "V" else np.arange(40).reshape(2, 5, 4).tolist()
    with pytest.raises(TypeError) as info:
        scaled_dot_product_attention(inputs["Q"], inputs["K"], inputs["V"])
    message = str(info.value)
    assert f"attention input {which} must be a float tensor" in message and "dtype int64" in message
    assert "Hint" in message


def test_attention_refuses_one_dimensional_array_naming_its_shape():
    Q, K, V = qkv()
    with pytest.raises(ValueError) as info:
        scaled_dot_product_attention(np.ones(4), K, V)
    assert "attention input Q" in str(info.value) and "(4,)" in str(info.value)


@pytest.mark.parametrize("name", sorted(CONVERSIONS))
def test_multihead_attention_accepts_arrays_and_lists_like_tensors(name):
    mha = MultiHeadAttention(4, 2, seed=0)
    x = np.random.default_rng(3).normal(size=(2, 5, 4))
    am = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    out = mha(CONVERSIONS[name](x), causal_mask(5), attention_mask=am)
    want = mha(Tensor(x), causal_mask(5), attention_mask=am)
    assert isinstance(out, Tensor) and out.shape == (2, 5, 4) and out.dtype == np.float32
    np.testing.assert_array_equal(out.data, want.data)
    # Unbatched (seq, embed_dim) input as a list, too.
    np.testing.assert_array_equal(mha(CONVERSIONS[name](x[1])).data, mha(Tensor(x[1])).data)


def test_multihead_attention_array_input_matches_the_projections_by_hand():
    mha = MultiHeadAttention(4, 2, seed=1)
    x = np.random.default_rng(4).normal(size=(1, 3, 4)).astype(np.float32)
    out = mha(x)
    lin = lambda layer, a: a @ layer.weight.data + layer.bias.data
    heads = lambda a: a.reshape(1, 3, 2, 2).transpose(0, 2, 1, 3)
    attended, _ = attention_by_hand(heads(lin(mha.q_proj, x)), heads(lin(mha.k_proj, x)), heads(lin(mha.v_proj, x)))
    want = lin(mha.out_proj, attended.transpose(0, 2, 1, 3).reshape(1, 3, 4))
    np.testing.assert_allclose(out.data, want, rtol=1e-5, atol=1e-6)


def test_multihead_attention_refuses_integer_array_naming_the_dtype():
    mha = MultiHeadAttention(4, 2, seed=0)
    for x in (np.arange(40).reshape(2, 5, 4), np.arange(20).reshape(5, 4).tolist()):
        with pytest.raises(TypeError) as info:
            mha(x)
        message = str(info.value)
        assert "attention input x must be a float tensor" in message and "dtype int64" in message


def test_combine_masks_without_a_mask_is_refused():
    with pytest.raises(ValueError) as info:
        combine_masks()
    assert "combine_masks" in str(info.value) and "at least one mask" in str(info.value)


def test_combine_masks_with_one_mask_returns_it():
    # The smallest accepted call, beside the refused empty one: one keep-mask comes back as bool.
    out = combine_masks(causal_mask(3))
    assert out.dtype == np.bool_
    np.testing.assert_array_equal(out.data, np.tril(np.ones((3, 3), dtype=bool)))


# --- survivors of the re-score after module 18 (tools/mutation/run.sh //modules/12_attention:attention) ---


@pytest.mark.parametrize("which", ["Q", "K", "V"])
def test_a_one_dimensional_input_is_named(which):
    q, k, v = (np.ones((3, 4), np.float32) for _ in range(3))
    args = {"Q": q, "K": k, "V": v}
    args[which] = np.ones(4, np.float32)
    with pytest.raises(ValueError) as info:
        scaled_dot_product_attention(args["Q"], args["K"], args["V"])
    message = str(info.value)
    assert f"attention input {which} " in message and "(4,)" in message and "Hint" in message


@pytest.mark.parametrize("rows, cut", [(8, False), (9, True)])
def test_a_ragged_mask_lists_at_most_eight_row_lengths(rows, cut):
    ragged = [[1] * (1 + i % 2) for i in range(rows)]
    with pytest.raises(ValueError) as info:
        combine_masks(ragged)
    message = str(info.value)
    shown = [1 + i % 2 for i in range(min(rows, 8))]
    assert f"of lengths {shown}" in message and "rectangular" in message and "Hint" in message
    assert (f"of lengths {shown} ..." in message) == cut


def test_a_mask_whose_rows_have_no_length_is_called_unequal():
    with pytest.raises(ValueError) as info:
        combine_masks([[1, 0], 1])
    assert "of unequal lengths" in str(info.value)


def test_a_mask_of_odd_values_lists_the_first_three():
    with pytest.raises(ValueError) as info:
        combine_masks(np.array([[0.25, 0.5], [0.75, 2.0]]))
    message = str(info.value)
    assert "[0.25, 0.5, 0.75]" in message and "2.0]" not in message.split("(values")[0] and "Hint" in message


@pytest.mark.parametrize(
    "make, prefix",
    [
        (lambda: causal_mask(0), "causal_mask seq_len "),
        (lambda: MultiHeadAttention(0, 1), "MultiHeadAttention embed_dim "),
        (lambda: MultiHeadAttention(4, 0), "MultiHeadAttention num_heads "),
        (lambda: combine_masks(np.array([[0.5]])), "combine_masks mask "),
    ],
)
def test_errors_name_their_function_and_argument(make, prefix):
    with pytest.raises((TypeError, ValueError)) as info:
        make()
    assert str(info.value).startswith(prefix) and "Hint" in str(info.value)


def test_multihead_attention_repr_names_its_sizes():
    assert repr(MultiHeadAttention(8, 2, seed=0)) == "MultiHeadAttention(embed_dim=8, num_heads=2)"
