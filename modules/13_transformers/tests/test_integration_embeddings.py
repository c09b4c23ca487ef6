"""
Module 11 → Module 13: the embedding stage of a GPT (gpt_embedding_integration_test).

DEPENDENCY CHAIN: 01_tensor → 05_autograd → 11_embeddings → 12_attention → 13_transformers

The audit's "Module 11 → Module 13 (Transformers)" points, each checked by value:
  * EmbeddingLayer provides the complete input pipeline (token + positional) of a GPT;
  * embedding scaling (sqrt(embed_dim)) matches transformer conventions: off by default
    (GPT-2), on with scale_embeddings=True (Vaswani et al.), and the tied head uses the unscaled
    table, as in the paper;
  * learned vs sinusoidal positional encodings (and none) end to end;
  * gradient accumulation for a shared embedding: the tied token table gets the sum of the
    gradients of its two uses (lookup and output head), checked against an untied twin.
"""

import math

import numpy as np

from tinytorch.core.tensor import Tensor
from tinytorch.models.transformer import GPT
from tinytorch.text.embeddings import (
    EmbeddingLayer,
    PositionalEncoding,
    SinusoidalPositionalEncoding,
    create_sinusoidal_embeddings,
)

IDS = np.array([[2, 7, 7, 0, 5], [9, 1, 3, 3, 8]])


def blocks_and_norm(model, x):
    """Everything after the input stage, in eval mode, from the model's own parts."""
    for block in model.blocks:
        x = block(x, causal=True)
    return model.ln_f(x)


class TestEmbeddingLayerIsTheInputStage:
    def test_the_model_is_embedding_layer_then_blocks_then_head(self):
        model = GPT(10, 8, 2, 2, max_seq_len=6, seed=0).eval()
        assert isinstance(model.embedding, EmbeddingLayer)
        assert model.embedding.vocab_size == 10 and model.embedding.embed_dim == 8 and model.embedding.max_seq_len == 6
        assert isinstance(model.position_embedding, PositionalEncoding)  # learned by default (GPT-2)
        W = model.token_embedding.weight.data
        P = model.position_embedding.position_embeddings.data
        x = model.embedding(IDS)
        # The complete pipeline: W[ids] + P[:seq], exactly, no scaling by default.
        assert model.embedding.embed_scale == 1.0
        np.testing.assert_array_equal(x.data, W[IDS] + P[:5])
        np.testing.assert_allclose(model(IDS).data, blocks_and_norm(model, x).data @ W.T, rtol=1e-5, atol=1e-6)

    def test_sequence_limit_is_the_models_and_the_layers(self):
        model = GPT(10, 8, 1, 2, max_seq_len=4, seed=0)
        assert model.embedding.max_seq_len == model.max_seq_len == 4
        assert model.position_embedding.position_embeddings.shape == (4, 8)
        assert model(np.zeros((1, 4), dtype=np.int64)).shape == (1, 4, 10)  # exactly the limit works


class TestEmbeddingScaling:
    def test_scale_is_sqrt_embed_dim_and_the_head_uses_the_unscaled_table(self):
        model = GPT(10, 16, 1, 4, max_seq_len=6, scale_embeddings=True, seed=1).eval()
        assert model.embedding.scale_embeddings and model.embedding.embed_scale == math.sqrt(16) == 4.0
        W = model.token_embedding.weight.data
        P = model.position_embedding.position_embeddings.data
        x = model.embedding(IDS)
        np.testing.assert_allclose(x.data, W[IDS] * 4.0 + P[:5], rtol=1e-6)
        np.testing.assert_allclose(model(IDS).data, blocks_and_norm(model, x).data @ W.T, rtol=1e-5, atol=1e-6)
        # Unscaled twin with the same weights: different input stage, so different logits.
        plain = GPT(10, 16, 1, 4, max_seq_len=6, scale_embeddings=False, seed=1).eval()
        np.testing.assert_array_equal(plain.token_embedding.weight.data, W)
        assert np.abs(plain(IDS).data - model(IDS).data).max() > 1e-3

    def test_scaled_tied_table_gradient_is_sqrt_d_lookup_plus_head(self):
        """d loss / d W = sqrt(d) * scatter(d loss / d x) + (d loss / d logits)^T h: checked
        against finite differences in float64."""
        rng = np.random.default_rng(2)
        model = GPT(6, 4, 1, 2, max_seq_len=3, scale_embeddings=True, dropout_prob=0.0, seed=3)
        for p in model.parameters():
            p.data = p.data.astype(np.float64)
        W = model.token_embedding.weight
        ids = np.array([[1, 4, 1]])
        R = Tensor(rng.normal(size=(1, 3, 6)), dtype=np.float64)

        def loss():
            return (model(ids) * R).sum()

        loss().backward()
        numeric = np.zeros_like(W.data)
        for idx in np.ndindex(W.shape):
            old = W.data[idx]
            W.data[idx] = old + 1e-6
            plus = loss().item()
            W.data[idx] = old - 1e-6
            minus = loss().item()
            W.data[idx] = old
            numeric[idx] = (plus - minus) / 2e-6
        np.testing.assert_allclose(W.grad.data, numeric, rtol=1e-6, atol=1e-9)


class TestLearnedVsSinusoidalPositions:
    def test_parameters_tables_and_outputs_per_encoding(self):
        models = {enc: GPT(10, 8, 1, 2, max_seq_len=6, pos_encoding=enc, seed=4).eval() for enc in ("learned", "sinusoidal", None)}
        learned, sinus, none = models["learned"], models["sinusoidal"], models[None]
        # One learned table more than the others; the sinusoidal table is not a parameter.
        assert learned.num_parameters() - sinus.num_parameters() == 6 * 8
        assert sinus.num_parameters() == none.num_parameters()
        assert isinstance(sinus.position_embedding, SinusoidalPositionalEncoding) and none.position_embedding is None
        assert not sinus.position_embedding.encodings.requires_grad
        W = sinus.token_embedding.weight.data
        np.testing.assert_array_equal(sinus.embedding(IDS).data, W[IDS] + create_sinusoidal_embeddings(6, 8).data[:5])
        np.testing.assert_array_equal(none.embedding(IDS).data, none.token_embedding.weight.data[IDS])
        for model in models.values():
            assert model(IDS).shape == (2, 5, 10)

    def test_gradients_reach_the_learned_table_only(self):
        for enc in ("learned", "sinusoidal"):
            model = GPT(10, 8, 1, 2, max_seq_len=6, pos_encoding=enc, dropout_prob=0.0, seed=5)
            (model(IDS) * model(IDS)).sum().backward()
            pos = model.position_embedding
            if enc == "learned":
                g = pos.position_embeddings.grad.data
                assert np.all(np.abs(g[:5]).sum(axis=1) > 0)
                np.testing.assert_array_equal(g[5:], 0.0)  # position 5 was never used
            else:
                assert pos.encodings.grad is None
            assert np.abs(model.token_embedding.weight.grad.data).sum() > 0

    def test_positions_are_what_orders_the_context(self):
        """The last position attends to the whole prefix. Without positions, attention over it
        is a set operation: permuting the earlier tokens leaves the last logits unchanged. With
        learned or sinusoidal positions, the order shows."""
        ids = np.array([[3, 1, 4, 1, 5]])
        permuted = np.array([[4, 1, 1, 3, 5]])  # same multiset before the last token
        for enc, order_matters in (("learned", True), ("sinusoidal", True), (None, False)):
            model = GPT(10, 8, 1, 2, max_seq_len=6, pos_encoding=enc, seed=6).eval()
            a, b = model(ids).data[0, -1], model(permuted).data[0, -1]
            if order_matters:
                assert np.abs(a - b).max() > 1e-3, enc
            else:
                np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


class TestWeightTying:
    def test_tied_gradient_is_the_sum_of_lookup_and_head_gradients(self):
        """An untied twin holds the same table twice (token embedding, and its transpose as the
        head): the tied table's gradient must equal the sum of the twin's two gradients, and the
        tied model's logits the twin's."""
        tied = GPT(12, 8, 2, 2, max_seq_len=6, dropout_prob=0.0, seed=7)
        twin = GPT(12, 8, 2, 2, max_seq_len=6, dropout_prob=0.0, tie_weights=False, seed=7)
        for a, b in zip(tied.parameters(), twin.parameters()):
            b.data[...] = a.data  # same embedding, positions, blocks and ln_f
        twin.lm_head.weight.data[...] = tied.token_embedding.weight.data.T
        rng = np.random.default_rng(8)
        R = rng.normal(size=(2, 5, 12)).astype(np.float32)
        ids = np.array([[1, 1, 5, 2, 0], [3, 5, 5, 4, 2]])  # ids 6..11 only reach the head
        lt, lu = tied(ids), twin(ids)
        np.testing.assert_allclose(lt.data, lu.data, rtol=1e-5, atol=1e-6)
        (lt * Tensor(R)).sum().backward()
        (lu * Tensor(R)).sum().backward()
        lookup = twin.token_embedding.weight.grad.data
        head = twin.lm_head.weight.grad.data.T
        np.testing.assert_array_equal(lookup[6:], 0.0)
        np.testing.assert_allclose(tied.token_embedding.weight.grad.data, lookup + head, rtol=1e-4, atol=1e-6)
        # Rows used by no input still learn through the head; every other parameter matches too.
        assert np.all(np.abs(tied.token_embedding.weight.grad.data[6:]).sum(axis=1) > 0)
        for a, b in zip(tied.parameters()[1:], twin.parameters()[1:-1]):
            np.testing.assert_allclose(a.grad.data, b.grad.data, rtol=1e-4, atol=1e-6)

    def test_gradient_accumulates_over_backward_calls(self):
        model = GPT(8, 4, 1, 2, max_seq_len=4, dropout_prob=0.0, seed=9)
        W = model.token_embedding.weight
        model(IDS[:, :3] % 8).sum().backward()
        first = W.grad.data.copy()
        model(IDS[:, :3] % 8).sum().backward()
        np.testing.assert_allclose(W.grad.data, 2 * first, rtol=1e-5, atol=1e-7)
        model.zero_grad()
        assert W.grad is None
