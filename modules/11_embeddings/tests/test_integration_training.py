"""
Module 11: Progressive Integration Tests -- part 5 of 6: embeddings + losses + optimizers
(integration_training_test).
Tests that Module 11 (Embeddings) works correctly AND integrates with prior modules.

DEPENDENCY CHAIN: 01_tensor → 05_autograd → 10_tokenization → 11_embeddings → 12_attention

Depends on //modules/04_losses:losses, //modules/06_optimizers:optimizers and
//modules/11_embeddings:embeddings (+ 01_tensor): embedding tables are optimizer parameters, a
backward of mse_loss gives the hand-computed sparse gradient, and one SGD step moves exactly the
used rows by -lr * grad while every other row stays bit-identical.
"""

import numpy as np

from tinytorch.core.losses import mse_loss
from tinytorch.core.optimizers import SGD
from tinytorch.core.tensor import Tensor
from tinytorch.text.embeddings import (
    Embedding,
    EmbeddingLayer,
    PositionalEncoding,
    SinusoidalPositionalEncoding,
    create_sinusoidal_embeddings,
)


class TestCrossModuleIntegration:
    """Module 11 with 04 (losses) and 06 (optimizers)."""

    def test_embedding_parameters_optimizable(self):
        """The very table Tensors are what SGD holds and updates."""
        layer = EmbeddingLayer(vocab_size=200, embed_dim=128, pos_encoding="learned", seed=0)
        params = layer.parameters()
        assert len(params) == 2
        assert params[0] is layer.token_embedding.weight
        assert params[1] is layer.pos_encoding.position_embeddings
        assert params[0].shape == (200, 128) and params[1].shape == (512, 128)  # default max_seq_len
        assert all(p.requires_grad and p.dtype == np.float32 for p in params)

        optimizer = SGD(params, lr=0.01)
        assert len(optimizer.parameters) == 2
        assert all(a is b for a, b in zip(optimizer.parameters, params))

        before = [p.data.copy() for p in params]
        layer(np.array([[5, 6]])).sum().backward()
        optimizer.step()
        # d(sum)/d(row) = 1 for each use: token rows 5, 6 and position rows 0, 1 move by -0.01.
        moved_tok = before[0].copy()
        moved_tok[[5, 6]] -= np.float32(0.01)
        np.testing.assert_array_equal(params[0].data, moved_tok)
        moved_pos = before[1].copy()
        moved_pos[[0, 1]] -= np.float32(0.01)
        np.testing.assert_array_equal(params[1].data, moved_pos)

        for pos_encoding in ("sinusoidal", None):
            fixed = EmbeddingLayer(vocab_size=200, embed_dim=16, pos_encoding=pos_encoding, seed=0)
            assert fixed.parameters() == [fixed.token_embedding.weight]
            assert SGD(fixed.parameters(), lr=0.1).parameters[0] is fixed.token_embedding.weight

    def test_embedding_training_updates(self):
        """mse_loss backward gives 2 (out - target) / N scattered into used rows; SGD moves only them."""
        rng = np.random.default_rng(0)
        embed = Embedding(vocab_size=50, embed_dim=32, seed=0)
        initial = embed.weight.data.copy()
        tokens = Tensor(np.array([[1, 2, 3, 2]]))  # id 2 twice
        output = embed.forward(tokens)
        target = Tensor(rng.normal(size=(1, 4, 32)))
        loss = mse_loss(output, target)
        expected_loss = np.mean((initial[[1, 2, 3, 2]] - target.data[0]) ** 2)
        np.testing.assert_allclose(loss.item(), expected_loss, rtol=1e-5)
        loss.backward()

        grad = embed.weight.grad
        assert grad.shape == embed.weight.shape and grad.dtype == np.float32
        d_out = 2.0 * (output.data[0].astype(np.float64) - target.data[0]) / output.size
        expected = np.zeros((50, 32))
        expected[1] = d_out[0]
        expected[2] = d_out[1] + d_out[3]  # repeated id: both gradients accumulate
        expected[3] = d_out[2]
        np.testing.assert_allclose(grad.data, expected, rtol=1e-5, atol=1e-8)
        used = np.flatnonzero(np.abs(grad.data).sum(axis=1))
        np.testing.assert_array_equal(used, [1, 2, 3])

        lr = 0.5
        optimizer = SGD(embed.parameters(), lr=lr)
        optimizer.step()
        after = embed.weight.data
        np.testing.assert_array_equal(after, initial - lr * grad.data)  # same float32 arithmetic as SGD
        unused = np.setdiff1d(np.arange(50), [1, 2, 3])
        assert after[unused].tobytes() == initial[unused].tobytes()  # bit-identical
        assert not np.array_equal(after[[1, 2, 3]], initial[[1, 2, 3]])
        np.testing.assert_allclose(after[[1, 2, 3]], initial[[1, 2, 3]] - lr * expected[[1, 2, 3]], rtol=1e-5, atol=1e-7)

        # Training actually learns: the loss falls monotonically to its minimum, reached when
        # rows 1 and 3 equal their targets and row 2 (used twice) the mean of its two targets.
        optimizer = SGD(embed.parameters(), lr=16.0)
        losses = []
        for _ in range(40):
            optimizer.zero_grad()
            step_loss = mse_loss(embed(tokens), target)
            step_loss.backward()
            optimizer.step()
            losses.append(step_loss.item())
        early = losses[:10]  # later steps change the loss by less than float32 resolution
        assert all(b < a for a, b in zip(early, early[1:]))
        t = target.data[0].astype(np.float64)
        minimum = 2 * np.sum(((t[1] - t[3]) / 2) ** 2) / output.size
        np.testing.assert_allclose(losses[-1], minimum, rtol=1e-3)
        np.testing.assert_allclose(embed.weight.data[2], (t[1] + t[3]) / 2, rtol=1e-3, atol=1e-4)

    def test_sinusoidal_vs_learned_encoding(self):
        """Learned positions train (only the used rows); sinusoidal positions never change."""
        rng = np.random.default_rng(1)
        tokens = rng.integers(0, 100, size=(2, 10))
        target = Tensor(rng.normal(size=(2, 10, 16)))

        learned = EmbeddingLayer(vocab_size=100, embed_dim=16, max_seq_len=20, pos_encoding="learned", seed=0)
        table_before = learned.pos_encoding.position_embeddings.data.copy()
        optimizer = SGD(learned.parameters(), lr=0.1)
        mse_loss(learned(tokens), target).backward()
        pos_grad = learned.pos_encoding.position_embeddings.grad.data.copy()
        optimizer.step()
        table_after = learned.pos_encoding.position_embeddings.data
        np.testing.assert_array_equal(table_after, table_before - 0.1 * pos_grad)
        assert np.all(np.abs(table_after[:10] - table_before[:10]).sum(axis=1) > 0)
        assert table_after[10:].tobytes() == table_before[10:].tobytes()

        sinus = EmbeddingLayer(vocab_size=100, embed_dim=16, max_seq_len=20, pos_encoding="sinusoidal", seed=0)
        assert isinstance(sinus.pos_encoding, SinusoidalPositionalEncoding)
        optimizer = SGD(sinus.parameters(), lr=0.1)
        for _ in range(3):
            optimizer.zero_grad()
            mse_loss(sinus(tokens), target).backward()
            optimizer.step()
        assert sinus.pos_encoding.encodings.grad is None
        np.testing.assert_array_equal(sinus.pos_encoding.encodings.data, create_sinusoidal_embeddings(20, 16).data)
        # ... while its token table did train.
        assert not np.array_equal(
            sinus.token_embedding.weight.data,
            EmbeddingLayer(100, 16, max_seq_len=20, pos_encoding="sinusoidal", seed=0).token_embedding.weight.data,
        )

    def test_sinusoidal_vs_learned_positional(self):
        """Same token table, three encodings: outputs differ by exactly the positional table."""
        rng = np.random.default_rng(2)
        tokens = Tensor(rng.integers(0, 100, size=(2, 10)))
        layers = {
            kind: EmbeddingLayer(vocab_size=100, embed_dim=64, pos_encoding=kind, seed=0)
            for kind in ("learned", "sinusoidal", None)
        }
        shared = layers["learned"].token_embedding.weight.data
        for layer in layers.values():
            layer.token_embedding.weight.data[...] = shared
        outputs = {kind: layer.forward(tokens) for kind, layer in layers.items()}
        for out in outputs.values():
            assert out.shape == (2, 10, 64) and out.dtype == np.float32

        plain = outputs[None].data
        np.testing.assert_array_equal(plain, shared[tokens.data])
        np.testing.assert_array_equal(
            outputs["learned"].data, plain + layers["learned"].pos_encoding.position_embeddings.data[:10]
        )
        np.testing.assert_array_equal(outputs["sinusoidal"].data, plain + create_sinusoidal_embeddings(512, 64).data[:10])

        assert [len(layers[k].parameters()) for k in ("learned", "sinusoidal", None)] == [2, 1, 1]
        assert isinstance(layers["learned"].pos_encoding, PositionalEncoding)
        assert layers["learned"].pos_encoding.max_seq_len == 512
