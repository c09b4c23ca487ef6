"""
Module 11: Progressive Integration Tests -- part 3 of 6: the contract Module 11 owes Module 12
(integration_forward_contract_test).
Tests that Module 11 (Embeddings) works correctly AND integrates with prior modules.

DEPENDENCY CHAIN: 01_tensor → 05_autograd → 10_tokenization → 11_embeddings → 12_attention

Module 11 may not depend on Module 12, so the test that actually feeds MultiHeadAttention lives
in //modules/12_attention:embedding_attention_contract_test. Here Module 11 checks its side of
that contract: outputs are (batch, seq_len, embed_dim) float32 Tensors that require grad, are
position-aware (the same token at two positions differs by exactly the difference of their
position rows), respect max_seq_len and accept any sequence length up to it.
Depends on //modules/11_embeddings:embeddings (+ 01_tensor).
"""

import numpy as np
import pytest

from tinytorch.core.tensor import Tensor
from tinytorch.text.embeddings import (
    Embedding,
    EmbeddingLayer,
    PositionalEncoding,
    SinusoidalPositionalEncoding,
    create_sinusoidal_embeddings,
)


class TestForwardIntegration:
    """What attention (Module 12) may rely on."""

    def test_embedding_attention_compatibility(self):
        """Module 11 → 12: (batch, seq, embed_dim) float32, grad-tracking, position-aware output."""
        rng = np.random.default_rng(0)
        for pos_encoding in ("learned", "sinusoidal"):
            layer = EmbeddingLayer(vocab_size=50, embed_dim=32, max_seq_len=16, pos_encoding=pos_encoding, seed=0)
            tokens = rng.integers(0, 50, size=(3, 10))
            out = layer(tokens)
            assert isinstance(out, Tensor)
            assert out.shape == (3, 10, 32) and out.ndim == 3
            assert out.dtype == np.float32 and out.requires_grad
            assert np.all(np.isfinite(out.data))

            # Position-aware: one token repeated over every position gives 10 different vectors,
            # and their differences are exactly the differences of the position rows.
            same = layer(np.full((1, 10), 7))
            assert len({row.tobytes() for row in same.data[0]}) == 10
            table = (
                layer.pos_encoding.position_embeddings.data
                if pos_encoding == "learned"
                else create_sinusoidal_embeddings(16, 32).data
            )
            np.testing.assert_allclose(same.data[0] - same.data[0, :1], table[:10] - table[:1], rtol=0, atol=1e-6)

        # Without positional encoding the output is order-blind: exactly what the contract forbids.
        blind = EmbeddingLayer(vocab_size=50, embed_dim=32, max_seq_len=16, pos_encoding=None, seed=0)
        assert len({row.tobytes() for row in blind(np.full((1, 10), 7)).data[0]}) == 1

    def test_embedding_attention_shape_compatibility(self):
        """The audit's large configuration: shape, dtype, and position rows added at each position."""
        rng = np.random.default_rng(1)
        layer = EmbeddingLayer(vocab_size=1000, embed_dim=512, max_seq_len=128, pos_encoding="learned", seed=0)
        batch_size, seq_len = 4, 32
        tokens = Tensor(rng.integers(0, 1000, size=(batch_size, seq_len)))
        out = layer.forward(tokens)
        assert out.shape == (batch_size, seq_len, 512)
        assert out.dtype == np.float32 and out.requires_grad
        token_part = layer.token_embedding.weight.data[tokens.data]
        # Not "implicit validation": row p of the position table is added at position p.
        np.testing.assert_array_equal(out.data, token_part + layer.pos_encoding.position_embeddings.data[:seq_len])
        assert not np.array_equal(out.data, token_part)
        # Batch rows are independent: the same sequence in two rows gives identical outputs.
        twice = layer(np.stack([tokens.data[0], tokens.data[0]]))
        np.testing.assert_array_equal(twice.data[0], twice.data[1])
        np.testing.assert_array_equal(twice.data[0], out.data[0])

    def test_positional_encoding_sequence_limits(self):
        """Every positional path refuses seq_len > max_seq_len, naming both numbers."""
        emb = Embedding(20, 8, seed=0)
        for pe in (PositionalEncoding(max_seq_len=6, embed_dim=8, seed=0), SinusoidalPositionalEncoding(6, 8)):
            assert pe(emb(np.zeros((2, 6), dtype=np.int64))).shape == (2, 6, 8)  # at the limit
            with pytest.raises(ValueError, match=rf"sequence length 7 exceeds maximum 6 \(max_seq_len of {type(pe).__name__}\)") as info:
                pe(emb(np.zeros((2, 7), dtype=np.int64)))
            assert "truncation=True" in str(info.value) and "max_seq_len >= 7" in str(info.value)
            with pytest.raises(ValueError, match="exceeds maximum 6"):
                pe(emb(np.zeros((7,), dtype=np.int64)))
        for pos_encoding in ("learned", "sinusoidal", None):
            layer = EmbeddingLayer(20, 8, max_seq_len=6, pos_encoding=pos_encoding, seed=0)
            assert layer(np.zeros((1, 6), dtype=np.int64)).shape == (1, 6, 8)
            with pytest.raises(ValueError, match=r"sequence length 9 exceeds maximum 6 \(max_seq_len of EmbeddingLayer\)") as info:
                layer(np.zeros((1, 9), dtype=np.int64))
            assert "truncation=True" in str(info.value)

    def test_positional_encoding_max_seq_len(self):
        """At max_seq_len=512 the full table is added row by row; 513 raises "exceeds maximum"."""
        rng = np.random.default_rng(2)
        pos_enc = PositionalEncoding(max_seq_len=512, embed_dim=64, seed=0)
        x = Tensor(rng.normal(size=(2, 512, 64)))
        out = pos_enc.forward(x)
        assert out.shape == (2, 512, 64) and out.dtype == np.float32
        np.testing.assert_array_equal(out.data, x.data + pos_enc.position_embeddings.data[None])
        two_d = pos_enc(Tensor(rng.normal(size=(512, 64))))
        assert two_d.shape == (512, 64)
        with pytest.raises(ValueError, match="exceeds maximum") as info:
            pos_enc.forward(Tensor(rng.normal(size=(2, 513, 64))))
        assert "513" in str(info.value) and "512" in str(info.value)

    def test_variable_sequence_length_handling(self):
        """Any seq_len up to max works, and position p means the same thing at every length."""
        rng = np.random.default_rng(3)
        layer = EmbeddingLayer(vocab_size=500, embed_dim=32, max_seq_len=512, seed=0)
        longest = rng.integers(0, 500, size=(2, 512))
        full = layer(longest).data
        for seq_len in (1, 10, 50, 100, 256, 511, 512):
            out = layer.forward(Tensor(longest[:, :seq_len]))
            assert out.shape == (2, seq_len, 32) and out.requires_grad
            # The output for a prefix is the prefix of the output: no length-dependent positions.
            np.testing.assert_array_equal(out.data, full[:, :seq_len])

    def test_embedding_positional_composition(self):
        """token embeddings + positional encodings: exact sum, and gradients reach both tables."""
        token_embed = Embedding(vocab_size=100, embed_dim=64, seed=0)
        pos_enc = PositionalEncoding(max_seq_len=128, embed_dim=64, seed=1)
        tokens = Tensor(np.array([[1, 2, 3, 4], [4, 3, 2, 1]]))
        token_embeds = token_embed.forward(tokens)
        position_aware = pos_enc.forward(token_embeds)
        assert position_aware.shape == token_embeds.shape == (2, 4, 64)
        np.testing.assert_array_equal(
            position_aware.data, token_embed.weight.data[tokens.data] + pos_enc.position_embeddings.data[:4]
        )
        assert not np.array_equal(position_aware.data, token_embeds.data)
        # Same token at different positions -> different vectors (token 1 at positions 0 and 3).
        assert not np.allclose(position_aware.data[0, 0], position_aware.data[1, 3])
        np.testing.assert_array_equal(
            position_aware.data[0, 0] - position_aware.data[1, 3],
            (pos_enc.position_embeddings.data[0] + token_embed.weight.data[1])
            - (pos_enc.position_embeddings.data[3] + token_embed.weight.data[1]),
        )

        upstream = np.random.default_rng(4).normal(size=(2, 4, 64)).astype(np.float32)
        position_aware.backward(upstream)
        expected_pos = np.zeros((128, 64), dtype=np.float32)
        expected_pos[:4] = upstream.sum(axis=0)
        np.testing.assert_allclose(pos_enc.position_embeddings.grad.data, expected_pos, rtol=1e-6, atol=1e-7)
        expected_tok = np.zeros((100, 64), dtype=np.float64)
        for (b, s), token in np.ndenumerate(tokens.data):
            expected_tok[token] += upstream[b, s]
        np.testing.assert_allclose(token_embed.weight.grad.data, expected_tok, rtol=1e-6, atol=1e-7)

    def test_positional_encoding_input_errors(self):
        """Wrong last dim, rank or dtype: errors naming the expected (batch, seq_len, embed_dim)."""
        for pe in (PositionalEncoding(max_seq_len=8, embed_dim=16, seed=0), SinusoidalPositionalEncoding(8, 16)):
            name = type(pe).__name__
            with pytest.raises(ValueError, match=rf"{name} was built with embed_dim=16 but the input's last dim is 12") as info:
                pe(Tensor(np.zeros((2, 4, 12), dtype=np.float32)))
            assert "(batch, seq_len, 16)" in str(info.value)
            with pytest.raises(ValueError, match=r"expects input of shape \(batch, seq_len, 16\) or \(seq_len, 16\), got shape \(16,\)"):
                pe(Tensor(np.zeros(16, dtype=np.float32)))
            with pytest.raises(ValueError, match=r"got shape \(1, 2, 4, 16\)"):
                pe(Tensor(np.zeros((1, 2, 4, 16), dtype=np.float32)))
            with pytest.raises(TypeError, match="expects float embeddings.*int64.*not ids"):
                pe(Tensor(np.zeros((2, 4, 16), dtype=np.int64)))
