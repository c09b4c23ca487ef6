"""Gaps the mutation run (tools/mutation, TESTS.md of module 11, "Mutation score") found in the
code module 18 took over: the fused attention when leading keys are padding (whole blocks of keys
skipped, whole blocks of queries with nothing to attend to), causal + additive masks over several
blocks, the threaded scatter when a thread's row range receives no ids, and rows larger than the
per-thread grain."""

import numpy as np
import pytest

from tinytorch.acceleration.attention import FusedAttentionBackward
from tinytorch.acceleration.rows import gather_rows, scatter_add_rows
from tinytorch.core import acceleration
from tinytorch.core.attention import (
    MultiHeadAttention,
    causal_mask,
    combine_masks,
    padding_mask,
    scaled_dot_product_attention,
)
from tinytorch.core.autograd import embedding_lookup
from tinytorch.core.parallel import set_num_threads
from tinytorch.core.tensor import Tensor


@pytest.fixture(autouse=True)
def accelerated():
    with acceleration.enabled():
        yield


@pytest.fixture
def two_threads():
    set_num_threads(2)
    try:
        yield
    finally:
        set_num_threads(None)


# --- fused attention: left padding (at seq_k <= 256 a block is 32 query rows)

SEQ = 100  # blocks of rows 0:32, 32:64, 64:96, 96:100
PADS = (40, 70)  # leading padding keys of the two sequences: more than one block of keys


def left_padded_attention_mask():
    return (np.arange(SEQ)[None, :] >= np.array(PADS)[:, None]).astype(np.int64)  # (2, SEQ), 0 = padding


def qkv(seed=0, lead=(2, 3), d=8, dv=5):
    rng = np.random.default_rng(seed)
    return tuple(rng.normal(size=lead + (SEQ, w)).astype(np.float32) for w in (d, d, dv))


def run(Q, K, V, mask, need_weights, upstream):
    q, k, v = (Tensor(a, requires_grad=True) for a in (Q, K, V))
    out, _ = scaled_dot_product_attention(q, k, v, mask, need_weights=need_weights)
    out.backward(upstream)
    return out, (out.data, q.grad.data, k.grad.data, v.grad.data)


def assert_fused_matches_reference(mask, seed=0, lead=(2, 3)):
    Q, K, V = qkv(seed, lead)
    upstream = np.random.default_rng(seed + 1).normal(size=lead + (SEQ, 5)).astype(np.float32)
    fused_out, fused = run(Q, K, V, mask, False, upstream)
    # The reference with acceleration off: module 12's kernels and engine, none of module 18's
    # (the accelerated masked_softmax shares its exp helper with the fused op).
    with acceleration.enabled(False):
        _, reference = run(Q, K, V, mask, True, upstream)
    assert isinstance(fused_out.grad_fn, FusedAttentionBackward)
    assert fused[0].dtype == np.float32
    for name, got, want in zip(("out", "dQ", "dK", "dV"), fused, reference):
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6, err_msg=name)
    return fused_out, fused


def test_left_padding_skips_the_padded_keys_and_matches_the_reference():
    mask = padding_mask(left_padded_attention_mask())
    out, (data, dq, dk, dv) = assert_fused_matches_reference(mask)
    # Keys 0..39 are padding in both sequences: no block multiplies them.
    spans = [b[:4] for b in out.grad_fn.blocks]
    assert spans == [(0, 32, 40, 100), (32, 64, 40, 100), (64, 96, 40, 100), (96, 100, 40, 100)]
    np.testing.assert_array_equal(dk[:, :, :40], 0.0)
    np.testing.assert_array_equal(dv[:, :, :40], 0.0)
    np.testing.assert_array_equal(dk[1, :, :70], 0.0)  # the longer padding of sequence 1


def test_left_padding_with_causal_mask_zeroes_whole_blocks_of_queries():
    # Causal + left padding: query t < pad sees only padding, so rows 0..39 of sequence 0
    # (rows 0..69 of sequence 1) have every key blocked: the first block entirely, the second
    # one in part. Their output and gradients are exactly zero.
    mask = combine_masks(causal_mask(SEQ), padding_mask(left_padded_attention_mask()))
    out, (data, dq, dk, dv) = assert_fused_matches_reference(mask, seed=2)
    spans = [b[:4] for b in out.grad_fn.blocks]
    assert spans == [(32, 64, 40, 64), (64, 96, 40, 96), (96, 100, 40, 100)]  # block 0:32 skipped
    np.testing.assert_array_equal(data[0, :, :40], 0.0)
    np.testing.assert_array_equal(data[1, :, :70], 0.0)
    np.testing.assert_array_equal(dq[0, :, :40], 0.0)
    assert np.abs(data[0, :, 40:]).min() > 0 and np.abs(data[1, :, 70:]).min() > 0


def test_left_padding_through_multihead_attention_matches_the_reference_path():
    mha = MultiHeadAttention(16, 4, seed=0)
    x = Tensor(np.random.default_rng(5).normal(size=(2, SEQ, 16)).astype(np.float32), requires_grad=True)
    am = left_padded_attention_mask()
    out = mha(x, causal_mask(SEQ), attention_mask=am)
    out.sum().backward()
    fused_grad = x.grad.data.copy()
    x.grad = None
    split = mha._split_heads
    keep = combine_masks(causal_mask(SEQ), padding_mask(am))
    with acceleration.enabled(False):  # the same projections through module 12's reference path
        attended, _ = scaled_dot_product_attention(split(mha.q_proj(x)), split(mha.k_proj(x)), split(mha.v_proj(x)), keep)
        want = mha.out_proj(attended.transpose(-3, -2).reshape(2, SEQ, 16))
        want.sum().backward()
    np.testing.assert_allclose(out.data, want.data, rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(fused_grad, x.grad.data, rtol=2e-4, atol=2e-5)


def additive_bias(seed):
    return -np.random.default_rng(seed).random((SEQ, SEQ))


def test_causal_plus_additive_bias_over_several_blocks_matches_the_reference():
    mask = combine_masks(causal_mask(SEQ), additive_bias(7))  # float: bias below the diagonal, -inf above
    assert mask.dtype == np.float64 and np.isneginf(mask.data[0, 1]) and mask.data[1, 0] < 0
    out, _ = assert_fused_matches_reference(mask, seed=3)
    assert [b[:4] for b in out.grad_fn.blocks] == [(0, 32, 0, 32), (32, 64, 0, 64), (64, 96, 0, 96), (96, 100, 0, 100)]


def test_causal_additive_bias_with_left_padding_slices_the_bias_at_the_span():
    # The spans start at key 40 here, so a bias read from column 0 instead of k0 would show.
    mask = combine_masks(causal_mask(SEQ), padding_mask(left_padded_attention_mask()), additive_bias(8))
    assert mask.shape == (2, 1, SEQ, SEQ)
    out, _ = assert_fused_matches_reference(mask, seed=4)
    assert [b[2] for b in out.grad_fn.blocks] == [40, 40, 40]


def test_additive_left_padding_of_one_query_row_broadcasts_over_the_queries():
    # (batch, 1, 1, seq) additive mask: -inf on the padding, a finite bias on the real keys.
    bias = -np.random.default_rng(9).random((2, SEQ))
    mask = np.where(left_padded_attention_mask() == 1, bias, -np.inf)[:, None, None, :]
    out, _ = assert_fused_matches_reference(mask, seed=5)
    assert [b[2:4] for b in out.grad_fn.blocks] == [(40, 100)] * 4


def test_three_dimensional_inputs_with_left_padding_and_without_a_mask():
    # (batch, seq, d) inputs: no head axis, so lead has one dim only.
    keep = left_padded_attention_mask()[:, None, :] == 1  # (2, 1, SEQ)
    out, _ = assert_fused_matches_reference(keep, seed=6, lead=(2,))
    assert [b[2:4] for b in out.grad_fn.blocks] == [(40, 100)] * 4
    out, _ = assert_fused_matches_reference(None, seed=7, lead=(2,))
    assert [b[:4] for b in out.grad_fn.blocks] == [(0, 32, 0, 100), (32, 64, 0, 100), (64, 96, 0, 100), (96, 100, 0, 100)]


def test_block_whose_first_query_row_blocks_nothing():
    # Only row 5 of each block (rows 5, 37, 69) blocks keys 0..9: masking must start at the first
    # *column* with a blocked entry in any row, not at the first blocked entry in row order.
    keep = np.ones((SEQ, SEQ), dtype=bool)
    keep[np.arange(SEQ) % 32 == 5, :10] = False
    assert_fused_matches_reference(keep, seed=8)


def test_sliding_window_key_spans_follow_the_block_rows():
    # Query t attends keys t-8..t: block r0:r1 needs keys r0-8 .. r1-1, read from its own rows.
    t = np.arange(SEQ)
    keep = (t[None, :] <= t[:, None]) & (t[None, :] >= t[:, None] - 8)
    out, _ = assert_fused_matches_reference(keep, seed=9)
    assert [b[:4] for b in out.grad_fn.blocks] == [(0, 32, 0, 32), (32, 64, 24, 64), (64, 96, 56, 96), (96, 100, 88, 100)]


def test_large_scores_with_left_padding_do_not_overflow():
    # Scores near 100 overflow exp in float32 unless each row is shifted by its maximum first.
    Q, K, V = qkv(10)
    q = Tensor(Q * 40, requires_grad=True)
    mask = padding_mask(left_padded_attention_mask())
    out, _ = scaled_dot_product_attention(q, Tensor(K), Tensor(V), mask, need_weights=False)
    assert np.abs((Q * 40) @ np.swapaxes(K, -1, -2) / np.sqrt(8)).max() > 89
    with acceleration.enabled(False):
        want, _ = scaled_dot_product_attention(Tensor(Q * 40), Tensor(K), Tensor(V), mask)
    assert np.isfinite(out.data).all()
    np.testing.assert_allclose(out.data, want.data, rtol=2e-5, atol=2e-5)


# --- the threaded row kernels


def add_at(positions, rows, num_rows):
    out = np.zeros((num_rows,) + rows.shape[1:], dtype=rows.dtype)
    np.add.at(out, positions, rows)
    return out


# 10,000 rows of 16 float32 = 640 KB: two 256 KiB grains, so 2 threads take rows 0:5000 and 5000:10000.
NUM_ROWS, WIDTH = 10_000, 16


@pytest.mark.parametrize(
    "positions",
    [
        np.r_[np.arange(50), np.arange(10), np.full(40, 3)],  # all in the first thread's range; id 3 heavy
        np.r_[np.arange(9_990, 10_000), np.full(35, 9_999), [5_000]],  # all in the second one's
    ],
    ids=["first-rows", "last-rows"],
)
def test_scatter_with_a_thread_range_receiving_no_ids_is_bitwise_np_add_at(two_threads, positions):
    rng = np.random.default_rng(9)
    positions = rng.permutation(positions).astype(np.int64)
    rows = rng.standard_normal((positions.size, WIDTH)).astype(np.float32)
    out = scatter_add_rows(positions, rows, NUM_ROWS)
    assert out.shape == (NUM_ROWS, WIDTH) and out.dtype == np.float32
    np.testing.assert_array_equal(out, add_at(positions, rows, NUM_ROWS))


def test_dense_embedding_backward_with_ids_in_the_first_rows_only(two_threads):
    w = Tensor(np.zeros((NUM_ROWS, WIDTH), dtype=np.float32), requires_grad=True)
    ids = np.array([[0, 1, 1], [2, 0, 0]])
    upstream = np.random.default_rng(10).standard_normal((2, 3, WIDTH)).astype(np.float32)
    out = embedding_lookup(w, ids)
    out.backward(upstream)
    np.testing.assert_array_equal(w.grad.data, add_at(ids.reshape(-1), upstream.reshape(-1, WIDTH), NUM_ROWS))


# A row of 70,000 float32 is 280 KB, more than the 256 KiB grain: every row is worth a thread.
BIG = 70_000


def test_gather_rows_larger_than_the_grain_split_over_threads(two_threads):
    rng = np.random.default_rng(11)
    weights = rng.standard_normal((4, BIG)).astype(np.float32)
    for ids in (np.array([2, 0, 3]), np.array([[1, 1], [3, 0]]), np.array([3])):
        out = gather_rows(weights, ids)
        assert out.shape == ids.shape + (BIG,)
        np.testing.assert_array_equal(out, weights[ids])
    assert gather_rows(weights, np.zeros((0,), dtype=np.int64)).shape == (0, BIG)


def test_scatter_rows_larger_than_the_grain_split_over_threads(two_threads):
    rng = np.random.default_rng(12)
    positions = np.array([1, 1, 0, 1], dtype=np.int64)  # row 2 of 3 receives nothing
    rows = rng.standard_normal((4, BIG)).astype(np.float32)
    out = scatter_add_rows(positions, rows, 3)
    np.testing.assert_array_equal(out, add_at(positions, rows, 3))
    np.testing.assert_array_equal(out[2], 0.0)


def test_scatter_of_no_ids_and_of_one_id():
    # The early exit for zero ids and the smallest non-empty case beside it.
    empty = scatter_add_rows(np.zeros((0,), dtype=np.int64), np.zeros((0, 3), dtype=np.float32), 4)
    assert empty.shape == (4, 3) and empty.dtype == np.float32
    np.testing.assert_array_equal(empty, 0.0)
    row = np.array([[1.5, -2.0, 3.25]], dtype=np.float32)
    one = scatter_add_rows(np.array([2], dtype=np.int64), row, 4)
    np.testing.assert_array_equal(one, add_at(np.array([2]), row, 4))
    np.testing.assert_array_equal(one[2], row[0])
