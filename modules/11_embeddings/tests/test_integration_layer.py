"""
Module 11: Progressive Integration Tests -- part 2 of 6: positions and EmbeddingLayer
(integration_layer_test).
Tests that Module 11 (Embeddings) works correctly AND integrates with prior modules.

DEPENDENCY CHAIN: 01_tensor → 05_autograd → 10_tokenization → 11_embeddings → 12_attention

Depends on //modules/11_embeddings:embeddings (+ 01_tensor): learned and sinusoidal positional
encodings and the complete EmbeddingLayer, checked value by value against numpy references, and
its gradients against central finite differences.
"""

import math

import numpy as np
import pytest

from tinytorch.core.tensor import Tensor
from tinytorch.text.embeddings import (
    EmbeddingLayer,
    PositionalEncoding,
    SinusoidalPositionalEncoding,
    create_sinusoidal_embeddings,
)


def closed_form_sinusoidal(max_seq_len, embed_dim):
    """PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i+1] = cos(pos / 10000^(2i/d)), by loops."""
    table = np.zeros((max_seq_len, embed_dim), dtype=np.float64)
    for pos in range(max_seq_len):
        for two_i in range(0, embed_dim, 2):
            angle = pos / 10000.0 ** (two_i / embed_dim)
            table[pos, two_i] = math.sin(angle)
            if two_i + 1 < embed_dim:
                table[pos, two_i + 1] = math.cos(angle)
    return table


def central_differences(loss_value, table, entries, eps=1e-6):
    numeric = {}
    for idx in entries:
        old = table[idx]
        table[idx] = old + eps
        plus = loss_value()
        table[idx] = old - eps
        minus = loss_value()
        table[idx] = old
        numeric[idx] = (plus - minus) / (2 * eps)
    return numeric


class TestModule11EmbeddingsCore:
    """Positional encodings and EmbeddingLayer in isolation."""

    def test_positional_encoding_creation(self):
        """Learned table is trainable and seeded; sinusoidal table is fixed and matches the closed form."""
        learned = PositionalEncoding(max_seq_len=16, embed_dim=8, seed=0)
        table = learned.position_embeddings
        assert table.shape == (16, 8) and table.dtype == np.float32 and table.requires_grad
        assert learned.parameters() == [table] and learned.parameters()[0] is table
        assert len({row.tobytes() for row in table.data}) == 16  # every position distinct
        np.testing.assert_array_equal(PositionalEncoding(16, 8, seed=0).position_embeddings.data, table.data)
        assert not np.array_equal(PositionalEncoding(16, 8, seed=1).position_embeddings.data, table.data)

        for d in (8, 7, 1):  # odd embed_dim allowed: its last column is a sine
            fixed = create_sinusoidal_embeddings(max_seq_len=50, embed_dim=d)
            assert isinstance(fixed, Tensor) and fixed.shape == (50, d) and fixed.dtype == np.float32
            assert not fixed.requires_grad
            np.testing.assert_allclose(fixed.data, closed_form_sinusoidal(50, d), rtol=0, atol=1e-6)
        pe = create_sinusoidal_embeddings(4, 6).data
        np.testing.assert_allclose(pe[0], [0, 1, 0, 1, 0, 1], atol=0)  # sin(0) = 0, cos(0) = 1
        np.testing.assert_allclose(pe[1, :2], [math.sin(1.0), math.cos(1.0)], rtol=1e-6)

        sinus = SinusoidalPositionalEncoding(max_seq_len=50, embed_dim=8)
        assert sinus.parameters() == []
        np.testing.assert_array_equal(sinus.encodings.data, create_sinusoidal_embeddings(50, 8).data)

        for cls in (PositionalEncoding, SinusoidalPositionalEncoding):
            with pytest.raises(ValueError, match="max_seq_len must be a positive int.*0"):
                cls(max_seq_len=0, embed_dim=8)
            with pytest.raises(ValueError, match="embed_dim must be a positive int.*-2"):
                cls(max_seq_len=8, embed_dim=-2)
            with pytest.raises(TypeError, match="max_seq_len must be a positive int.*12.5"):
                cls(max_seq_len=12.5, embed_dim=8)
        with pytest.raises(TypeError, match="embed_dim must be a positive int"):
            create_sinusoidal_embeddings(10, "8")

    def test_embedding_layer_complete_system(self):
        """out == W[ids] * scale + table[:seq] exactly, for every pos_encoding and scale option."""
        ids = np.array([[3, 1, 4, 1, 5], [9, 2, 6, 5, 3]])
        d = 16
        for pos_encoding in ("learned", "sinusoidal", None):
            for scale in (False, True):
                layer = EmbeddingLayer(
                    vocab_size=10, embed_dim=d, max_seq_len=8, pos_encoding=pos_encoding,
                    scale_embeddings=scale, seed=0,
                )
                assert layer.embed_scale == (4.0 if scale else 1.0)  # sqrt(16)
                w = layer.token_embedding.weight
                assert w.shape == (10, d)
                token_part = w.data[ids] * np.float32(4.0) if scale else w.data[ids]
                if pos_encoding == "learned":
                    assert isinstance(layer.pos_encoding, PositionalEncoding)
                    table = layer.pos_encoding.position_embeddings.data
                    assert layer.parameters() == [w, layer.pos_encoding.position_embeddings]
                elif pos_encoding == "sinusoidal":
                    assert isinstance(layer.pos_encoding, SinusoidalPositionalEncoding)
                    table = create_sinusoidal_embeddings(8, d).data
                    assert layer.parameters() == [w]
                else:
                    assert layer.pos_encoding is None
                    table = np.zeros((8, d), dtype=np.float32)
                    assert layer.parameters() == [w]
                out = layer(Tensor(ids))
                assert out.shape == (2, 5, d) and out.dtype == np.float32 and out.requires_grad
                np.testing.assert_array_equal(out.data, token_part + table[:5])
                # (seq,) input -> (seq, embed_dim), equal to the batched row.
                single = layer(list(ids[1]))
                assert single.shape == (5, d)
                np.testing.assert_array_equal(single.data, out.data[1])

        with pytest.raises(ValueError, match=r"pos_encoding must be one of 'learned', 'sinusoidal' or None, got 'rope'"):
            EmbeddingLayer(10, 8, pos_encoding="rope")
        with pytest.raises(ValueError, match=r"one of 'learned', 'sinusoidal' or None, got 'Learned'"):
            EmbeddingLayer(10, 8, pos_encoding="Learned")
        with pytest.raises(ValueError, match=r"got 'none'"):
            EmbeddingLayer(10, 8, pos_encoding="none")
        with pytest.raises(ValueError, match=r"got 1"):
            EmbeddingLayer(10, 8, pos_encoding=1)
        with pytest.raises(ValueError, match="max_seq_len must be a positive int.*-1"):
            EmbeddingLayer(10, 8, max_seq_len=-1)
        with pytest.raises(TypeError, match="vocab_size must be a positive int"):
            EmbeddingLayer(10.0, 8)
        with pytest.raises(TypeError, match="scale_embeddings must be True or False"):
            EmbeddingLayer(10, 8, scale_embeddings="yes")
        with pytest.raises(ValueError, match=r"ids of shape \(batch, seq_len\) or \(seq_len,\), got shape \(1, 2, 3\)"):
            EmbeddingLayer(10, 8, seed=0)(np.zeros((1, 2, 3), dtype=np.int64))


class TestBackwardIntegration:
    """Gradients through the whole embedding pipeline (05 → 11)."""

    def test_embedding_pipeline_gradients_match_finite_differences(self):
        """d(loss)/d(token table) and d(loss)/d(position table) vs central differences in float64."""
        rng = np.random.default_rng(0)
        layer = EmbeddingLayer(vocab_size=6, embed_dim=4, max_seq_len=5, scale_embeddings=True, seed=0)
        layer.token_embedding.weight = Tensor(layer.token_embedding.weight.data, dtype=np.float64, requires_grad=True)
        layer.pos_encoding.position_embeddings = Tensor(
            layer.pos_encoding.position_embeddings.data, dtype=np.float64, requires_grad=True
        )
        ids = np.array([[1, 2, 1], [4, 1, 0]])  # id 1 three times; 3 and 5 unused; positions 3, 4 unused
        weights = Tensor(rng.normal(size=(2, 3, 4)), dtype=np.float64)

        def loss():
            out = layer(ids)
            assert out.dtype == np.float64
            return ((out * out) * weights).sum()

        loss().backward()
        tok = layer.token_embedding.weight
        pos = layer.pos_encoding.position_embeddings
        for table in (tok, pos):
            entries = list(np.ndindex(table.shape))
            numeric = central_differences(lambda: float(loss().item()), table.data, entries)
            numeric = np.array([numeric[i] for i in entries]).reshape(table.shape)
            np.testing.assert_allclose(table.grad.data, numeric, rtol=1e-6, atol=1e-8)
        np.testing.assert_array_equal(tok.grad.data[[3, 5]], 0.0)
        np.testing.assert_array_equal(pos.grad.data[3:], 0.0)
        assert np.all(np.abs(tok.grad.data[[0, 1, 2, 4]]).sum(axis=1) > 0)

        # Closed form: with loss = sum(R * out^2), d/d(out) = 2 R out; the token row gets scale *
        # the sum over its occurrences, the position row the sum over the batch.
        out = layer(ids).data
        upstream = 2 * weights.data * out
        expected_tok = np.zeros((6, 4))
        for (b, s), token in np.ndenumerate(ids):
            expected_tok[token] += 2.0 * upstream[b, s]
        np.testing.assert_allclose(tok.grad.data, expected_tok, rtol=1e-10)
        np.testing.assert_allclose(pos.grad.data[:3], upstream.sum(axis=0), rtol=1e-10)

        # Sinusoidal: the fixed table receives nothing.
        fixed = EmbeddingLayer(vocab_size=6, embed_dim=4, max_seq_len=5, pos_encoding="sinusoidal", seed=0)
        fixed(ids).sum().backward()
        assert fixed.pos_encoding.encodings.grad is None
        expected = np.zeros((6, 4), dtype=np.float32)
        np.add.at(expected, ids.reshape(-1), 1.0)
        np.testing.assert_array_equal(fixed.token_embedding.weight.grad.data, expected)


class TestRegressionPrevention:
    """Edge cases of the complete layer."""

    def test_embedding_edge_cases(self):
        """Empty sequence, single token, exactly max length, repeated ids."""
        d, max_len = 6, 4
        layer = EmbeddingLayer(vocab_size=12, embed_dim=d, max_seq_len=max_len, seed=0)
        w = layer.token_embedding.weight.data
        pe = layer.pos_encoding.position_embeddings.data

        empty = layer([])
        assert empty.shape == (0, d) and empty.dtype == np.float32
        assert layer(np.zeros((3, 0), dtype=np.int64)).shape == (3, 0, d)
        empty.sum().backward()
        np.testing.assert_array_equal(layer.token_embedding.weight.grad.data, 0.0)
        np.testing.assert_array_equal(layer.pos_encoding.position_embeddings.grad.data, 0.0)
        layer.zero_grad()

        single = layer([[7]])
        assert single.shape == (1, 1, d)
        np.testing.assert_array_equal(single.data[0, 0], w[7] + pe[0])

        at_limit = layer(np.arange(max_len)[None, :])
        assert at_limit.shape == (1, max_len, d)
        np.testing.assert_array_equal(at_limit.data[0, -1], w[max_len - 1] + pe[max_len - 1])
        with pytest.raises(ValueError, match=f"sequence length {max_len + 1} exceeds maximum {max_len}"):
            layer(np.arange(max_len + 1))

        repeated = layer([5, 5, 5, 5])
        np.testing.assert_array_equal(repeated.data, w[5] + pe[:4])
        assert len({row.tobytes() for row in repeated.data}) == 4  # positions tell them apart
        repeated.sum().backward()
        expected = np.zeros((12, d), dtype=np.float32)
        expected[5] = 4.0
        np.testing.assert_array_equal(layer.token_embedding.weight.grad.data, expected)
        np.testing.assert_array_equal(layer.pos_encoding.position_embeddings.grad.data, 1.0)
