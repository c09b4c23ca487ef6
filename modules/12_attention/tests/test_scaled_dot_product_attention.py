"""scaled_dot_product_attention, causal_mask, padding_mask, combine_masks: values vs a float64
numpy reference, finite-difference gradients, masking, causality, stability, errors."""

import numpy as np
import pytest

from tinytorch.core.attention import causal_mask, combine_masks, padding_mask, scaled_dot_product_attention
from tinytorch.core.tensor import Tensor


def reference(Q, K, V, mask=None, bias=None):
    """Attention in float64 numpy, written independently of the implementation (``mask``: bool,
    False = blocked; ``bias``: added to the scores)."""
    Q, K, V = (np.asarray(a, dtype=np.float64) for a in (Q, K, V))
    scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1])
    if bias is not None:
        scores = scores + bias
    if mask is not None:
        scores = np.where(np.asarray(mask, dtype=bool), scores, -np.inf)
    scores = scores - scores.max(axis=-1, keepdims=True)
    e = np.exp(scores)
    weights = e / e.sum(axis=-1, keepdims=True)
    return weights @ V, weights


def t64(a, grad=False):
    return Tensor(a, dtype=np.float64, requires_grad=grad)


def finite_difference(loss_value, array, eps=1e-6):
    numeric = np.zeros_like(array)
    for idx in np.ndindex(array.shape):
        old = array[idx]
        array[idx] = old + eps
        plus = loss_value()
        array[idx] = old - eps
        minus = loss_value()
        array[idx] = old
        numeric[idx] = (plus - minus) / (2 * eps)
    return numeric


def test_values_match_float64_reference():
    rng = np.random.default_rng(0)
    Q, K, V = rng.normal(size=(2, 3, 5, 4)), rng.normal(size=(2, 3, 6, 4)), rng.normal(size=(2, 3, 6, 7))
    out, weights = scaled_dot_product_attention(t64(Q), t64(K), t64(V))
    ref_out, ref_w = reference(Q, K, V)
    assert out.shape == (2, 3, 5, 7) and weights.shape == (2, 3, 5, 6)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.data, ref_out, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(weights.data, ref_w, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(weights.data.sum(axis=-1), 1.0, rtol=1e-12)

    out32, w32 = scaled_dot_product_attention(Tensor(Q), Tensor(K), Tensor(V))
    assert out32.dtype == np.float32 and w32.dtype == np.float32
    np.testing.assert_allclose(out32.data, ref_out, rtol=1e-5, atol=1e-5)
    # Unbatched (seq, d) inputs and broadcast leading dims (one K/V shared by the batch).
    out2, _ = scaled_dot_product_attention(t64(Q[0, 0]), t64(K[0, 0]), t64(V[0, 0]))
    np.testing.assert_allclose(out2.data, ref_out[0, 0], rtol=1e-12)
    out_b, _ = scaled_dot_product_attention(t64(Q), t64(K[0, 0]), t64(V[0, 0]))
    np.testing.assert_allclose(out_b.data, reference(Q, K[0, 0], V[0, 0])[0], rtol=1e-12)


@pytest.mark.parametrize("masked", [False, True])
def test_gradients_match_finite_differences_for_q_k_v(masked):
    rng = np.random.default_rng(1)
    Q, K, V = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3, 5))
    R_out, R_w = rng.normal(size=(2, 3, 5)), rng.normal(size=(2, 3, 3))
    mask = causal_mask(3) if masked else None
    q, k, v = t64(Q, True), t64(K, True), t64(V, True)

    def loss(q, k, v):
        out, w = scaled_dot_product_attention(q, k, v, mask)
        return (out * t64(R_out)).sum() + (w * t64(R_w)).sum()

    loss(q, k, v).backward()
    for tensor, array in ((q, Q), (k, K), (v, V)):
        numeric = finite_difference(lambda: loss(t64(Q), t64(K), t64(V)).item(), array)
        np.testing.assert_allclose(tensor.grad.data, numeric, rtol=1e-6, atol=1e-8)
    assert type(loss(q, k, v)._grad_fn).__name__ == "AddBackward"


def test_mask_blocks_positions_exactly():
    rng = np.random.default_rng(2)
    Q, K, V = rng.normal(size=(2, 2, 4, 3)), rng.normal(size=(2, 2, 5, 3)), rng.normal(size=(2, 2, 5, 3))
    mask = rng.random((4, 5)) < 0.5
    mask[:, 0] = True  # every query may attend somewhere
    out, w = scaled_dot_product_attention(t64(Q), t64(K), t64(V), mask=mask)
    assert np.all(w.data[..., ~mask] == 0.0)  # exactly zero, broadcast over batch and heads
    assert np.all(w.data[..., mask] > 0.0)
    np.testing.assert_allclose(w.data.sum(axis=-1), 1.0, rtol=1e-12)
    ref_out, ref_w = reference(Q, K, V, mask)
    np.testing.assert_allclose(out.data, ref_out, rtol=1e-12)
    np.testing.assert_allclose(w.data, ref_w, rtol=1e-12)

    # bool, 0/1 ints, 0/1 floats, additive 0/-inf floats and Tensors of them mean the same thing,
    # in 2-D (always (seq_q, seq_k)) as with leading dims.
    additive = np.where(mask, 0.0, -np.inf)
    for same in (Tensor(mask), mask.astype(np.int64), mask.astype(np.float32), mask[None].astype(np.float64),
                 Tensor(mask[None].astype(np.int64)), additive, Tensor(additive[None])):
        np.testing.assert_array_equal(scaled_dot_product_attention(t64(Q), t64(K), t64(V), same)[1].data, w.data)

    # Blocked keys get no gradient: key 4 blocked for every query.
    mask[:, 4] = False
    k, v = t64(K, True), t64(V, True)
    out, _ = scaled_dot_product_attention(t64(Q), k, v, mask)
    out.sum().backward()
    np.testing.assert_array_equal(k.grad.data[..., 4, :], 0.0)
    np.testing.assert_array_equal(v.grad.data[..., 4, :], 0.0)
    assert np.all(np.abs(v.grad.data[..., 0, :]) > 0)

    # A query row with every key blocked gets all-zero weights and a zero output, not NaN.
    mask[2] = False
    out, w = scaled_dot_product_attention(t64(Q), t64(K), t64(V), mask)
    np.testing.assert_array_equal(w.data[..., 2, :], 0.0)
    np.testing.assert_array_equal(out.data[..., 2, :], 0.0)
    assert np.all(np.isfinite(out.data))


def test_causal_mask_and_causal_property():
    m = causal_mask(4)
    assert isinstance(m, Tensor) and m.dtype == np.bool_ and m.shape == (4, 4)
    np.testing.assert_array_equal(m.data, np.tril(np.ones((4, 4), dtype=bool)))
    np.testing.assert_array_equal(causal_mask(1).data, [[True]])
    with pytest.raises(ValueError, match="seq_len must be a positive int.*0"):
        causal_mask(0)
    with pytest.raises(TypeError, match="seq_len must be a positive int"):
        causal_mask(2.0)

    rng = np.random.default_rng(3)
    seq = 6
    Q, K, V = rng.normal(size=(2, seq, 4)), rng.normal(size=(2, seq, 4)), rng.normal(size=(2, seq, 4))
    out, w = scaled_dot_product_attention(t64(Q), t64(K), t64(V), causal_mask(seq))
    assert np.all(np.triu(np.ones((seq, seq)), k=1)[None] * w.data == 0.0)
    for t in range(seq):
        Q2, K2, V2 = Q.copy(), K.copy(), V.copy()
        for a in (Q2, K2, V2):
            a[:, t + 1:] = rng.normal(size=a[:, t + 1:].shape) * 10
        out2, _ = scaled_dot_product_attention(t64(Q2), t64(K2), t64(V2), causal_mask(seq))
        np.testing.assert_array_equal(out2.data[:, : t + 1], out.data[:, : t + 1])  # unaffected by the future
        if t + 1 < seq:
            assert not np.allclose(out2.data[:, t + 1:], out.data[:, t + 1:])


def test_padding_mask_and_combined_masks():
    attention_mask = [[1, 1, 1, 0], [1, 1, 0, 0]]
    pm = padding_mask(attention_mask)
    assert pm.shape == (2, 1, 1, 4) and pm.dtype == np.bool_
    np.testing.assert_array_equal(pm.data[:, 0, 0], np.array(attention_mask, dtype=bool))

    rng = np.random.default_rng(4)
    Q, K, V = rng.normal(size=(2, 3, 4, 5)), rng.normal(size=(2, 3, 4, 5)), rng.normal(size=(2, 3, 4, 5))
    _, w = scaled_dot_product_attention(t64(Q), t64(K), t64(V), pm)
    np.testing.assert_array_equal(w.data[0, ..., 3], 0.0)
    np.testing.assert_array_equal(w.data[1, ..., 2:], 0.0)
    np.testing.assert_allclose(w.data.sum(axis=-1), 1.0, rtol=1e-12)

    both = combine_masks(causal_mask(4), pm)
    assert both.shape == (2, 1, 4, 4)
    expected = np.tril(np.ones((4, 4), dtype=bool))[None, None] & np.array(attention_mask, dtype=bool)[:, None, None, :]
    np.testing.assert_array_equal(both.data, expected)
    out, w = scaled_dot_product_attention(t64(Q), t64(K), t64(V), both)
    ref_out, ref_w = reference(Q, K, V, expected)
    np.testing.assert_allclose(w.data, ref_w, rtol=1e-12)
    np.testing.assert_allclose(out.data, ref_out, rtol=1e-12)
    with pytest.raises(ValueError, match="padding_mask expects an attention_mask of shape \\(batch, seq\\)"):
        padding_mask([1, 1, 0])
    with pytest.raises(ValueError, match="do not broadcast"):
        combine_masks(causal_mask(3), causal_mask(4))


def test_stability_with_large_logits():
    rng = np.random.default_rng(5)
    Q = rng.normal(size=(2, 4, 8)) * 1e3
    K = rng.normal(size=(2, 4, 8)) * 1e3  # scores around 1e6: exp() would overflow without the max shift
    V = rng.normal(size=(2, 4, 8))
    q = Tensor(Q, requires_grad=True)  # float32
    out, w = scaled_dot_product_attention(q, Tensor(K), Tensor(V))
    assert np.all(np.isfinite(out.data)) and np.all(np.isfinite(w.data))
    np.testing.assert_allclose(w.data.sum(axis=-1), 1.0, rtol=1e-6)
    ref_out, ref_w = reference(Q.astype(np.float32), K.astype(np.float32), V.astype(np.float32))
    np.testing.assert_allclose(w.data, ref_w, atol=1e-5)
    np.testing.assert_allclose(out.data, ref_out, rtol=1e-4, atol=1e-4)
    out.sum().backward()
    assert np.all(np.isfinite(q.grad.data))

    # Equal huge scores share the weight evenly.
    same = np.full((1, 3, 2), 1e4)
    _, w = scaled_dot_product_attention(t64(same), t64(same), t64(np.eye(3)[None, :, :2]))
    np.testing.assert_allclose(w.data, 1.0 / 3.0, rtol=1e-12)


def test_errors_name_the_expected_shape():
    x = Tensor(np.zeros((2, 3, 4), dtype=np.float32))
    with pytest.raises(ValueError, match=r"K must have shape \(\.\.\., seq_k, 4\) to match Q \(2, 3, 4\), got K \(2, 3, 5\)"):
        scaled_dot_product_attention(x, Tensor(np.zeros((2, 3, 5), dtype=np.float32)), x)
    with pytest.raises(ValueError, match=r"V must have shape \(\.\.\., 3, d_v\).*got V \(2, 2, 4\)"):
        scaled_dot_product_attention(x, x, Tensor(np.zeros((2, 2, 4), dtype=np.float32)))
    with pytest.raises(ValueError, match=r"Q must have shape \(\.\.\., seq, d\).*got \(4,\)"):
        scaled_dot_product_attention(Tensor(np.zeros(4, dtype=np.float32)), x, x)
    with pytest.raises(ValueError, match=r"batch/head dims .* do not broadcast"):
        scaled_dot_product_attention(x, Tensor(np.zeros((5, 3, 4), dtype=np.float32)), Tensor(np.zeros((5, 3, 4), dtype=np.float32)))
    with pytest.raises(ValueError, match=r"mask of shape \(3, 2\) does not broadcast to the scores' shape \(2, 3, 3\)"):
        scaled_dot_product_attention(x, x, x, mask=np.ones((3, 2), dtype=bool))
    with pytest.raises(ValueError, match=r"mask of shape \(2, 3\) does not broadcast.*Hint: .*attention_mask goes through padding_mask"):
        scaled_dot_product_attention(x, x, x, mask=np.ones((2, 3)))  # a tokenizer's (batch, seq) mask given as mask=
    with pytest.raises(TypeError, match="must be a float tensor, got dtype int64"):
        scaled_dot_product_attention(Tensor(np.zeros((3, 4), dtype=np.int64)), x, x)


def test_2d_number_mask_is_seq_q_by_seq_k_like_pytorch_and_upstream():
    """A 2-D mask= is (seq_q, seq_k) whatever its dtype (PyTorch's attn_mask; upstream's 0/1 float
    masks). A tokenizer's (batch, seq) attention_mask goes through padding_mask: with batch == seq
    the two readings differ, and the function that is called says which one is meant."""
    rng = np.random.default_rng(6)
    Q, K, V = rng.normal(size=(3, 2, 3, 4)), rng.normal(size=(3, 2, 3, 4)), rng.normal(size=(3, 2, 3, 2))  # (batch, heads, seq, d)
    attention_mask = [[1, 1, 0], [1, 1, 1], [1, 0, 0]]  # batch 3 == seq 3
    pattern = np.array(attention_mask, dtype=bool)
    want = reference(Q, K, V, pattern)[0]
    for mask in (attention_mask, np.array(attention_mask, dtype=np.float32), Tensor(np.array(attention_mask)), pattern):
        for need_weights in (True, False):
            out, _ = scaled_dot_product_attention(t64(Q), t64(K), t64(V), mask, need_weights=need_weights)
            np.testing.assert_allclose(out.data, want, rtol=1e-12)
    combined = combine_masks(causal_mask(3), attention_mask)
    np.testing.assert_array_equal(combined.data, np.tril(np.ones((3, 3), dtype=bool)) & pattern)

    # The tokenizer mask through padding_mask blocks each sequence's padded keys instead.
    out, w = scaled_dot_product_attention(t64(Q), t64(K), t64(V), padding_mask(attention_mask))
    keys = pattern[:, None, None, :]
    np.testing.assert_allclose(out.data, reference(Q, K, V, keys)[0], rtol=1e-12)
    np.testing.assert_array_equal(w.data[~np.broadcast_to(keys, w.shape)], 0.0)
    assert not np.allclose(out.data, want)


def test_upstream_attention_unit_test():
    """Upstream TinyTorch's test_unit_scaled_dot_product_attention, as written there."""
    batch_size, seq_len, d_model = 2, 4, 8
    Q = Tensor(np.random.randn(batch_size, seq_len, d_model))
    K = Tensor(np.random.randn(batch_size, seq_len, d_model))
    V = Tensor(np.random.randn(batch_size, seq_len, d_model))
    output, weights = scaled_dot_product_attention(Q, K, V)
    assert output.shape == (batch_size, seq_len, d_model) and weights.shape == (batch_size, seq_len, seq_len)
    assert np.allclose(weights.data.sum(axis=2), np.ones((batch_size, seq_len)), atol=1e-6)
    mask = Tensor(np.tril(np.ones((batch_size, seq_len, seq_len)), k=0))
    _, weights_masked = scaled_dot_product_attention(Q, K, V, mask)
    for b in range(batch_size):
        for i in range(seq_len):
            for j in range(i + 1, seq_len):
                assert abs(weights_masked.data[b, i, j]) < 1e-6


@pytest.mark.parametrize("need_weights", [True, False])
def test_additive_masks_are_added_to_the_scores(need_weights):
    rng = np.random.default_rng(11)
    Q, K, V = rng.normal(size=(2, 5, 4)), rng.normal(size=(2, 6, 4)), rng.normal(size=(2, 6, 3))
    keep = np.tril(np.ones((5, 6), dtype=bool), k=1)
    # 0 / -inf: exactly the keep-mask.
    out_inf, _ = scaled_dot_product_attention(t64(Q), t64(K), t64(V), np.where(keep, 0.0, -np.inf), need_weights=need_weights)
    np.testing.assert_allclose(out_inf.data, reference(Q, K, V, keep)[0], rtol=1e-12)
    # 0 / -1e9 (upstream's MASK_VALUE): the blocked keys' weights underflow to 0.
    out_big, _ = scaled_dot_product_attention(t64(Q), t64(K), t64(V), np.where(keep, 0.0, -1e9), need_weights=need_weights)
    np.testing.assert_allclose(out_big.data, out_inf.data, rtol=1e-12)
    # Finite negative values are a bias on the scores (and -inf still blocks).
    bias = -np.abs(rng.normal(size=(2, 5, 6)))
    mixed = np.where(keep, bias, -np.inf)
    q, k, v = t64(Q, True), t64(K, True), t64(V, True)
    out, w = scaled_dot_product_attention(q, k, v, Tensor(mixed, dtype=np.float64), need_weights=need_weights)
    ref_out, ref_w = reference(Q, K, V, keep, np.where(keep, bias, 0.0))
    np.testing.assert_allclose(out.data, ref_out, rtol=1e-12)
    if need_weights:
        np.testing.assert_allclose(w.data, ref_w, rtol=1e-12)
        assert np.all(w.data[:, ~keep] == 0.0)
    R = rng.normal(size=out.shape)
    (out * t64(R)).sum().backward()

    def loss():
        return float(np.sum(scaled_dot_product_attention(t64(Q), t64(K), t64(V), mixed, need_weights=need_weights)[0].data * R))

    for tensor, array in ((q, Q), (k, K), (v, V)):
        np.testing.assert_allclose(tensor.grad.data, finite_difference(loss, array), rtol=1e-6, atol=1e-8)


def test_mask_values_decide_the_form_or_are_refused():
    x = Tensor(np.random.default_rng(12).normal(size=(2, 3, 4)))
    # A float mask of zeros only is a keep-mask (upstream's reading): every key blocked, zero output.
    out, w = scaled_dot_product_attention(x, x, x, np.zeros((3, 3)))
    np.testing.assert_array_equal(out.data, 0.0)
    np.testing.assert_array_equal(w.data, 0.0)
    for bad, shown in ((np.full((3, 3), 0.5), r"\[0\.5\]"), (np.where(np.eye(3), 1.0, -np.inf), r"\[1\.0, -inf\]"),
                       (np.array([[2.0, 0, 0]] * 3), r"\[2\.0\]"), (np.where(np.eye(3), 1.0, -1e9), r"\[1\.0, -1000000000\.0\]")):
        with pytest.raises(ValueError, match=rf"attention mask is neither a keep-mask nor an additive mask: it holds {shown}.*"
                           r"Allowed: a keep-mask \(bool, or numbers that are all 0/1.*additive float mask \(values <= 0.*Hint"):
            scaled_dot_product_attention(x, x, x, bad)
    with pytest.raises(ValueError, match=r"attention mask holds NaN\. Allowed: .*Hint: .*np\.where"):
        scaled_dot_product_attention(x, x, x, np.full((3, 3), np.nan))
    with pytest.raises(ValueError, match=r"attention mask values must be 1/True \(attend\) or 0/False \(blocked\), got \[-1, 2\]\. Hint: an additive mask is floats"):
        scaled_dot_product_attention(x, x, x, np.array([[0, -1, 2]] * 3))
    with pytest.raises(TypeError, match=r"attention mask must be bool or 0/1 numbers, got dtype <U1\. Allowed"):
        scaled_dot_product_attention(x, x, x, np.full((3, 3), "1"))
    with pytest.raises(ValueError, match=r"padding_mask attention_mask values must be 1/True .*got \[-inf\]\. Hint: a tokenizer's attention_mask holds 1"):
        padding_mask(np.array([[0.0, -np.inf, 0.0]]))  # a tokenizer mask is a keep-mask


def test_combine_masks_with_additive_masks():
    causal = causal_mask(3)
    bias = np.array([[0.0, -0.5, -1.0]] * 3)
    both = combine_masks(causal, bias)
    assert both.dtype == np.float64
    np.testing.assert_array_equal(both.data, np.where(np.tril(np.ones((3, 3), dtype=bool)), bias, -np.inf))
    x = np.random.default_rng(13).normal(size=(2, 3, 4))
    out, _ = scaled_dot_product_attention(t64(x), t64(x), t64(x), both)
    keep = np.tril(np.ones((3, 3), dtype=bool))
    np.testing.assert_allclose(out.data, reference(x, x, x, keep, bias)[0], rtol=1e-12)
    assert combine_masks(np.where(keep, 0.0, -np.inf), causal).dtype == np.bool_  # 0/-inf only: a plain keep-mask
    np.testing.assert_array_equal(combine_masks(bias, bias).data, 2 * bias)  # additive masks add up


@pytest.mark.parametrize("need_weights", [True, False])
def test_zero_keys_give_zero_output_on_both_paths(need_weights):
    """seq_k = 0 is like a row with every key blocked: zero output (and empty weights), on the
    reference path as on the accelerated (fused) one, with zero gradients for Q."""
    rng = np.random.default_rng(7)
    q = t64(rng.normal(size=(2, 3, 4)), True)
    k, v = t64(np.zeros((2, 0, 4)), True), t64(np.zeros((2, 0, 5)), True)
    out, w = scaled_dot_product_attention(q, k, v, need_weights=need_weights)
    assert out.shape == (2, 3, 5) and out.dtype == np.float64
    np.testing.assert_array_equal(out.data, 0.0)
    if need_weights:
        assert w.shape == (2, 3, 0)
    else:
        assert w is None and out.grad_fn is not None
    out.backward(rng.normal(size=(2, 3, 5)))
    np.testing.assert_array_equal(q.grad.data, np.zeros((2, 3, 4)))
    assert k.grad.shape == (2, 0, 4) and v.grad.shape == (2, 0, 5)
    # The same with a mask of shape (seq_q, 0).
    out, _ = scaled_dot_product_attention(q, k, v, np.ones((3, 0), dtype=bool), need_weights=need_weights)
    np.testing.assert_array_equal(out.data, 0.0)


@pytest.mark.parametrize("need_weights", [True, False])
def test_zero_feature_dim_is_refused(need_weights):
    q, k, v = Tensor(np.zeros((2, 3, 0))), Tensor(np.zeros((2, 4, 0))), Tensor(np.zeros((2, 4, 5)))
    with pytest.raises(ValueError, match=r"at least one feature \(d_k >= 1\), got Q \(2, 3, 0\) and K \(2, 4, 0\)\. Hint"):
        scaled_dot_product_attention(q, k, v, need_weights=need_weights)


def test_need_weights_must_be_a_bool():
    x = Tensor(np.random.default_rng(8).normal(size=(2, 3, 4)))
    for bad in ("no", 0, None, np.array([False])):
        with pytest.raises(TypeError, match=r"scaled_dot_product_attention need_weights must be True or False, got "):
            scaled_dot_product_attention(x, x, x, need_weights=bad)
    with pytest.raises(TypeError, match=r"got str 'no'"):
        scaled_dot_product_attention(x, x, x, need_weights="no")
    out, w = scaled_dot_product_attention(x, x, x, need_weights=np.bool_(False))
    assert w is None and out.shape == (2, 3, 4)


def test_ragged_masks_get_a_padding_hint():
    for call in (
        lambda m: padding_mask(m),
        lambda m: scaled_dot_product_attention(Tensor(np.zeros((2, 2, 4))), Tensor(np.zeros((2, 2, 4))), Tensor(np.zeros((2, 2, 4))), m),
    ):
        with pytest.raises(ValueError, match=r"must be rectangular .*got rows of lengths \[2, 1\]\. Hint: pad .*encode_batch"):
            call([[1, 1], [1]])
