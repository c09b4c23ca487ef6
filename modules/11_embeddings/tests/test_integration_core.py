"""
Module 11: Progressive Integration Tests -- part 1 of 6: the lookup table (integration_core_test).
Tests that Module 11 (Embeddings) works correctly AND integrates with prior modules.

DEPENDENCY CHAIN: 01_tensor → 05_autograd → 10_tokenization → 11_embeddings → 12_attention

This target depends on //modules/11_embeddings:embedding_core alone (plus 01_tensor and
05_autograd, which it imports): the Embedding lookup table must work without positional
encodings, tokenizers or attention. The other parts live in test_integration_layer.py,
test_integration_forward_contract.py, test_integration_tokenizer.py,
test_integration_training.py and test_integration_prior_stack.py; see TESTS.md.
"""

import numpy as np
import pytest

from tinytorch.core.autograd import EmbeddingBackward, backward_registry, is_autograd_enabled
from tinytorch.core.tensor import Tensor
from tinytorch.text.embedding_core import Embedding


def central_differences(loss_value, table, eps=1e-6):
    """d loss / d table by central differences in place (float64 table), one entry at a time."""
    numeric = np.zeros_like(table)
    for idx in np.ndindex(table.shape):
        old = table[idx]
        table[idx] = old + eps
        plus = loss_value()
        table[idx] = old - eps
        minus = loss_value()
        table[idx] = old
        numeric[idx] = (plus - minus) / (2 * eps)
    return numeric


def hand_scatter(vocab_size, embed_dim, ids, upstream):
    """The gradient of out = W[ids] w.r.t. W, written as an explicit loop (the reference)."""
    expected = np.zeros((vocab_size, embed_dim), dtype=np.float64)
    flat_ids = np.asarray(ids).reshape(-1)
    flat_up = np.asarray(upstream, dtype=np.float64).reshape(len(flat_ids), embed_dim)
    for token, row in zip(flat_ids, flat_up):
        expected[token] += row
    return expected


class TestPriorStackStillWorking:
    """Modules 01 and 05 still behave after the embedding core is loaded."""

    def test_tensor_functionality_stable(self):
        """Module 01: Tensor values and dtype policy; Module 05: gradients, incl. the embedding rule."""
        Embedding(10, 4, seed=0)  # building a table must not disturb the stack below

        t = Tensor([1, 2, 3])
        assert t.shape == (3,) and t.dtype == np.int64
        f = Tensor([[1.0, 2.0], [3.0, 4.0]])
        assert f.dtype == np.float32
        np.testing.assert_array_equal((f + 1).data, [[2, 3], [4, 5]])
        np.testing.assert_array_equal((f @ f).data, [[7, 10], [15, 22]])
        np.testing.assert_array_equal(f.sum(axis=0).data, [4, 6])

        assert is_autograd_enabled()
        a = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True, dtype=np.float64)
        b = Tensor([[0.5, -1.0], [2.0, 0.0]], requires_grad=True, dtype=np.float64)
        (a * b + a).sum().backward()
        np.testing.assert_array_equal(a.grad.data, b.data + 1)
        np.testing.assert_array_equal(b.grad.data, a.data)

        # The op module 11 relies on is module 05's own rule, not a replacement.
        assert backward_registry()["embedding"] is EmbeddingBackward
        assert EmbeddingBackward.__module__ == "tinytorch.core.autograd"
        # 01's integer-array indexing uses that same rule: repeated rows accumulate.
        w = Tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
        picked = w[np.array([2, 0, 2])]
        assert type(picked._grad_fn).__name__ == "EmbeddingBackward"
        picked.sum().backward()
        np.testing.assert_array_equal(w.grad.data, [[1, 1], [0, 0], [2, 2]])


class TestModule11EmbeddingsCore:
    """The Embedding lookup table in isolation."""

    def test_embedding_creation(self):
        """Shape, dtype, trainability, seeded init, parameters() and constructor errors."""
        embed = Embedding(vocab_size=100, embed_dim=64, seed=0)
        w = embed.weight
        assert w.shape == (100, 64) and w.dtype == np.float32
        assert w.requires_grad and w.grad is None and w.is_leaf
        assert embed.parameters() == [w] and embed.parameters()[0] is w
        bound = np.sqrt(6.0 / (100 + 64))
        assert np.abs(w.data).max() <= bound
        assert w.data.std() > bound / 3  # not a constant or all-zero table

        np.testing.assert_array_equal(Embedding(100, 64, seed=0).weight.data, w.data)
        np.testing.assert_array_equal(Embedding(100, 64, rng=np.random.default_rng(0)).weight.data, w.data)
        assert not np.array_equal(Embedding(100, 64, seed=1).weight.data, w.data)
        assert len({row.tobytes() for row in w.data}) == 100  # every token gets its own vector

        for bad in (0, -3):
            with pytest.raises(ValueError, match=rf"vocab_size must be a positive int.*{bad}"):
                Embedding(vocab_size=bad, embed_dim=8)
            with pytest.raises(ValueError, match=rf"embed_dim must be a positive int.*{bad}"):
                Embedding(vocab_size=8, embed_dim=bad)
        for bad in (2.5, "10", True, None):
            with pytest.raises(TypeError, match="vocab_size must be a positive int"):
                Embedding(vocab_size=bad, embed_dim=8)
            with pytest.raises(TypeError, match="embed_dim must be a positive int"):
                Embedding(vocab_size=8, embed_dim=bad)
        with pytest.raises(ValueError, match="either seed or rng"):
            Embedding(8, 4, seed=0, rng=np.random.default_rng(0))


class TestBackwardIntegration:
    """Module 11 on top of 01 (Tensor in/out) and 05 (EmbeddingBackward)."""

    def test_embedding_gradient_flow(self):
        """Module 05 → 11: the gradient is the scatter-add of the upstream gradient."""
        rng = np.random.default_rng(0)
        embed = Embedding(vocab_size=8, embed_dim=3, seed=0)
        tokens = np.array([[1, 2, 3], [3, 3, 0]])  # id 3 three times, ids 4..7 unused
        out = embed(tokens)
        assert out.shape == (2, 3, 3) and out.dtype == np.float32
        np.testing.assert_array_equal(out.data, embed.weight.data[tokens])
        assert out.requires_grad
        assert type(out._grad_fn).__name__ == "EmbeddingBackward"
        assert out._grad_fn.inputs[0] is embed.weight

        upstream = rng.normal(size=out.shape).astype(np.float32)
        out.backward(upstream)
        expected = hand_scatter(8, 3, tokens, upstream)
        np.testing.assert_allclose(embed.weight.grad.data, expected, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(embed.weight.grad.data[3], upstream[0, 2] + upstream[1, 0] + upstream[1, 1], rtol=1e-6)
        used = np.abs(embed.weight.grad.data).sum(axis=1) != 0
        np.testing.assert_array_equal(np.flatnonzero(used), [0, 1, 2, 3])
        np.testing.assert_array_equal(embed.weight.grad.data[4:], 0.0)

        # A second backward accumulates into .grad (until zero_grad), as in PyTorch.
        embed(tokens).backward(upstream)
        np.testing.assert_allclose(embed.weight.grad.data, 2 * expected, rtol=1e-6, atol=1e-7)
        embed.zero_grad()
        assert embed.weight.grad is None

        # Central finite differences in float64 of a non-linear loss of the lookup.
        embed.weight = Tensor(embed.weight.data, dtype=np.float64, requires_grad=True)
        weights = rng.normal(size=(2, 3, 3))

        def loss_value():
            o = embed(tokens)
            return float(((o * o) * Tensor(weights, dtype=np.float64)).sum().item())

        o = embed(tokens)
        ((o * o) * Tensor(weights, dtype=np.float64)).sum().backward()
        analytic = embed.weight.grad.data
        numeric = central_differences(loss_value, embed.weight.data)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)

    def test_shared_embedding_gradient_accumulation(self):
        """One table used three times in one graph (two lookups and weight tying, logits = a @ W.T):
        its gradient is the sum over every use, in closed form and by float64 finite differences."""
        rng = np.random.default_rng(5)
        embed = Embedding(vocab_size=6, embed_dim=4, seed=1)
        embed.weight = Tensor(embed.weight.data, dtype=np.float64, requires_grad=True)
        src, tgt = np.array([[0, 2, 2]]), np.array([[2, 5, 1]])  # id 2 in both lookups
        mix = rng.normal(size=(1, 3, 6))

        def loss():
            a, b = embed(src), embed(tgt)
            logits = a @ embed.weight.T  # (1, 3, 4) @ (4, 6) -> (1, 3, 6): the tied output layer
            return (a * b).sum() + (logits * Tensor(mix, dtype=np.float64)).sum()

        loss().backward()
        analytic = embed.weight.grad.data.copy()

        W = embed.weight.data
        a, b = W[src[0]], W[tgt[0]]
        closed = hand_scatter(6, 4, src, b) + hand_scatter(6, 4, tgt, a)  # a*b through each lookup
        closed += hand_scatter(6, 4, src, mix[0] @ W)  # the logits through the lookup a
        closed += mix[0].T @ a  # the logits through W.T
        np.testing.assert_allclose(analytic, closed, rtol=1e-12, atol=1e-12)
        assert np.abs(analytic[[3, 4]]).max() > 0  # rows used only by tying still get gradient

        numeric = central_differences(lambda: float(loss().item()), W)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)

    def test_slicing_and_reshaping_the_output_keep_the_lookup(self):
        """Tensor ops of 01 on the lookup's output: values stay the table's rows, and the gradient
        flows back through the slice / reshape / row index to exactly the ids they kept."""
        embed = Embedding(vocab_size=10, embed_dim=4, seed=0)
        ids = np.array([[1, 7, 3], [3, 7, 0]])
        out = embed(ids)
        column = out[:, 1]  # (2, 4): position 1 of both sequences, id 7 twice
        np.testing.assert_array_equal(column.data, embed.weight.data[[7, 7]])
        flat = out.reshape(-1, 4)  # (6, 4) in row-major id order
        np.testing.assert_array_equal(flat.data, embed.weight.data[ids.reshape(-1)])

        column.reshape(-1).sum().backward()
        expected = np.zeros((10, 4), dtype=np.float32)
        expected[7] = 2.0
        np.testing.assert_array_equal(embed.weight.grad.data, expected)

        embed.zero_grad()
        picked = flat[np.array([0, 5, 5])]  # ids 1, 0, 0
        (picked * Tensor(np.arange(12.0).reshape(3, 4))).sum().backward()
        expected = np.zeros((10, 4), dtype=np.float32)
        expected[1] = [0, 1, 2, 3]
        expected[0] = np.array([4, 5, 6, 7]) + np.array([8, 9, 10, 11])
        np.testing.assert_array_equal(embed.weight.grad.data, expected)

    def test_embedding_index_out_of_bounds(self):
        """Integer ids < 0 or >= vocab_size: ValueError naming the id, where it is, and [0, vocab-1]."""
        embed = Embedding(vocab_size=100, embed_dim=4, seed=0)
        before = embed.weight.data.copy()
        negatives = [Tensor(np.array([[-1, 0, 1]])), np.array([[-1, 0, 1]]), [[-1, 0, 1]], [-1, 0, 1]]
        for tokens in negatives:
            with pytest.raises(ValueError, match="out of range") as info:
                embed.forward(tokens)
            message = str(info.value)
            assert "token id -1 at index" in message
            assert "[0, 99]" in message and "vocab_size=100" in message
            assert "tokenizer" in message and "negative ids are never valid" in message

        with pytest.raises(ValueError, match=r"token id 100 at index \(0, 2\) is out of range.*\[0, 99\]"):
            embed.forward(Tensor(np.array([[0, 1, 100]])))
        with pytest.raises(ValueError, match=r"token id 1000000000000 at index 1 is out of range"):
            embed([5, 10**12])
        with pytest.raises(ValueError, match=r"token id -7 at index \(0, 1\) \(and 2 more: 250, -1\) is out of range"):
            embed([[0, -7, 250], [-1, 3, 99]])
        with pytest.raises(ValueError, match="token id 100 is out of range"):
            embed(np.int64(100))
        # A failed lookup changes nothing and leaves no gradient behind.
        np.testing.assert_array_equal(embed.weight.data, before)
        assert embed.weight.grad is None

    def test_embedding_index_validation(self):
        """Ids that are not integers: floats must hold whole numbers; NaN/inf/fractions/text refused."""
        embed = Embedding(vocab_size=100, embed_dim=4, seed=0)
        ints = np.array([[0, 99, 42]])
        reference = embed(ints).data
        np.testing.assert_array_equal(reference, embed.weight.data[ints])  # both boundary ids accepted
        np.testing.assert_array_equal(embed(Tensor([[0.0, 99.0, 42.0]])).data, reference)
        np.testing.assert_array_equal(embed(np.array([[0.0, 99.0, 42.0]], dtype=np.float64)).data, reference)
        np.testing.assert_array_equal(embed(np.array([[0, 99, 42]], dtype=np.uint8)).data, reference)

        with pytest.raises(ValueError, match=r"token id 100 at index \(0, 1\) is out of range.*\[0, 99\]"):
            embed(np.array([[3.0, 100.0]]))
        with pytest.raises(ValueError, match=r"token id -1 at index 0 is out of range"):
            embed(Tensor([-1.0, 2.0]))
        with pytest.raises(ValueError, match=r"must be finite integers, got nan at index \(0, 1\)"):
            embed(np.array([[1.0, np.nan, 2.0]]))
        with pytest.raises(ValueError, match=r"must be finite integers, got inf at index 2"):
            embed([1.0, 2.0, np.inf])
        with pytest.raises(ValueError, match=r"must be finite integers, got -inf"):
            embed([-np.inf])
        with pytest.raises(ValueError, match=r"must be finite integers, got 2.5 at index 1"):
            embed(Tensor([1.0, 2.5]))
        with pytest.raises(TypeError, match="token ids must be integers.*non-numeric"):
            embed(np.array(["a", "b"]))
        with pytest.raises(TypeError, match="token ids must be integers.*non-numeric"):
            embed([1, None])
        with pytest.raises(TypeError, match="token ids must be integers, got str"):
            embed("hello")
        with pytest.raises(TypeError, match="token ids must be integers, got booleans"):
            embed(np.array([True, False]))
        with pytest.raises(ValueError, match="ragged"):
            embed([[1, 2], [3]])


class TestRegressionPrevention:
    """Memory model and edge cases of the lookup."""

    def test_embedding_memory_scaling(self):
        """The table costs exactly vocab_size * embed_dim * 4 bytes (float32)."""
        small = Embedding(vocab_size=1000, embed_dim=128, seed=0)
        large = Embedding(vocab_size=4000, embed_dim=256, seed=0)
        assert small.weight.data.nbytes == 1000 * 128 * 4
        assert large.weight.data.nbytes == 4000 * 256 * 4
        assert large.weight.data.nbytes == 8 * small.weight.data.nbytes
        assert small.weight.dtype == np.float32 and large.weight.dtype == np.float32
        # The lookup output costs batch * seq * embed_dim * 4 bytes, independent of vocab_size.
        out = large(np.zeros((3, 7), dtype=np.int64))
        assert out.data.nbytes == 3 * 7 * 256 * 4

    def test_embedding_lookup_edge_cases(self):
        """Empty sequence, single token, a 0-d id, a sequence of one repeated id."""
        embed = Embedding(vocab_size=10, embed_dim=3, seed=0)
        w = embed.weight.data

        empty = embed([])
        assert empty.shape == (0, 3) and empty.dtype == np.float32
        assert embed(np.zeros((2, 0), dtype=np.int64)).shape == (2, 0, 3)
        empty.sum().backward()
        np.testing.assert_array_equal(embed.weight.grad.data, np.zeros((10, 3)))
        embed.zero_grad()

        np.testing.assert_array_equal(embed([7]).data, w[[7]])
        np.testing.assert_array_equal(embed(7).data, w[7])
        assert embed(np.int64(7)).shape == (3,)

        repeated = embed([4, 4, 4, 4, 4])
        np.testing.assert_array_equal(repeated.data, np.tile(w[4], (5, 1)))
        repeated.sum().backward()
        expected = np.zeros((10, 3), dtype=np.float32)
        expected[4] = 5.0
        np.testing.assert_array_equal(embed.weight.grad.data, expected)
