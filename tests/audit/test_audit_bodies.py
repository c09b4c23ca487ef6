"""The audit's twelve test bodies (docs: /work/shared/spec/module11-integration-audit.md,
"Missing Test Coverage Analysis", tests 1-12), pasted unchanged as methods of one class.

Issue 3: "The audit's twelve test bodies, pasted unchanged into a test that depends on all
modules, pass." Nothing below the fixture is edited; the bodies draw from numpy's legacy global
generator, so the fixture seeds it to make every run identical (layers built without seed= draw
their generator from it too: tinytorch.core.layers.make_rng).
"""

import numpy as np
import pytest


class TestAuditBodies:
    @pytest.fixture(autouse=True)
    def _seed_global_numpy_rng(self):
        np.random.seed(0)
        yield

    def test_tokenizer_embedding_pipeline(self):
        """Test token IDs from tokenizer work with embeddings."""
        from tinytorch.text.tokenization import CharTokenizer
        from tinytorch.text.embeddings import Embedding
        from tinytorch.core.tensor import Tensor

        # Tokenize text
        tokenizer = CharTokenizer()
        text = "Hello, world!"
        token_ids = tokenizer.encode(text)  # Returns list of IDs

        # Create embedding
        vocab_size = len(tokenizer.vocab)
        embed = Embedding(vocab_size=vocab_size, embed_dim=64)

        # Convert to tensor and embed
        tokens_tensor = Tensor(np.array([token_ids]))  # (1, seq_len)
        embeddings = embed.forward(tokens_tensor)

        # Validate
        assert embeddings.shape == (1, len(token_ids), 64)
        assert embeddings.requires_grad == True  # Should track gradients

    def test_embedding_index_out_of_bounds(self):
        """Test embedding handles invalid token IDs gracefully."""
        from tinytorch.text.embeddings import Embedding
        from tinytorch.core.tensor import Tensor

        embed = Embedding(vocab_size=100, embed_dim=64)

        # Test negative indices
        try:
            invalid_tokens = Tensor(np.array([[-1, 0, 1]]))
            output = embed.forward(invalid_tokens)
            assert False, "Should raise ValueError for negative indices"
        except ValueError as e:
            assert "out of range" in str(e).lower()

        # Test indices >= vocab_size
        try:
            invalid_tokens = Tensor(np.array([[0, 1, 100]]))  # 100 >= vocab_size
            output = embed.forward(invalid_tokens)
            assert False, "Should raise ValueError for indices >= vocab_size"
        except ValueError as e:
            assert "out of range" in str(e).lower()

    def test_embedding_gradient_flow(self):
        """Test gradients flow back to embedding weights."""
        from tinytorch.text.embeddings import Embedding
        from tinytorch.core.tensor import Tensor

        embed = Embedding(vocab_size=50, embed_dim=32)
        tokens = Tensor(np.array([[1, 2, 3]]))  # (1, 3)

        # Forward pass
        output = embed.forward(tokens)
        assert output.requires_grad == True

        # Check backward function attached
        assert hasattr(output, '_grad_fn')
        assert output._grad_fn is not None

        # Verify embedding weights are marked for gradients
        assert embed.weight.requires_grad == True

    def test_positional_encoding_max_seq_len(self):
        """Test positional encoding respects max_seq_len."""
        from tinytorch.text.embeddings import PositionalEncoding
        from tinytorch.core.tensor import Tensor

        max_seq_len = 512
        pos_enc = PositionalEncoding(max_seq_len=max_seq_len, embed_dim=64)

        # Test at limit (should work)
        x_valid = Tensor(np.random.randn(2, 512, 64))  # (batch, seq, embed)
        output = pos_enc.forward(x_valid)
        assert output.shape == (2, 512, 64)

        # Test beyond limit (should fail)
        try:
            x_invalid = Tensor(np.random.randn(2, 513, 64))  # Exceeds max_seq_len
            output = pos_enc.forward(x_invalid)
            assert False, "Should raise ValueError for seq_len > max_seq_len"
        except ValueError as e:
            assert "exceeds maximum" in str(e).lower()

    def test_embedding_attention_shape_compatibility(self):
        """Test embedding output shapes work with attention input requirements."""
        from tinytorch.text.embeddings import EmbeddingLayer
        from tinytorch.core.tensor import Tensor

        # Create embedding layer
        embed_layer = EmbeddingLayer(
            vocab_size=1000,
            embed_dim=512,
            max_seq_len=128,
            pos_encoding='learned'
        )

        # Simulate tokenized batch
        batch_size, seq_len = 4, 32
        tokens = Tensor(np.random.randint(0, 1000, (batch_size, seq_len)))

        # Get embeddings
        embeddings = embed_layer.forward(tokens)

        # Validate attention-compatible shape (batch, seq, embed)
        assert embeddings.shape == (batch_size, seq_len, 512)
        assert embeddings.requires_grad == True

        # Verify positional information is added
        # (Different positions should have different representations)
        # This is implicit validation - attention expects position-aware inputs

    def test_variable_sequence_length_handling(self):
        """Test embeddings handle variable sequence lengths correctly."""
        from tinytorch.text.embeddings import EmbeddingLayer
        from tinytorch.core.tensor import Tensor

        embed_layer = EmbeddingLayer(
            vocab_size=500,
            embed_dim=256,
            max_seq_len=512
        )

        # Test different sequence lengths
        for seq_len in [10, 50, 100, 256, 512]:
            tokens = Tensor(np.random.randint(0, 500, (2, seq_len)))
            output = embed_layer.forward(tokens)

            assert output.shape == (2, seq_len, 256)
            assert output.requires_grad == True

    def test_embedding_positional_composition(self):
        """Test token embeddings correctly combine with positional encodings."""
        from tinytorch.text.embeddings import Embedding, PositionalEncoding
        from tinytorch.core.tensor import Tensor

        # Create components
        token_embed = Embedding(vocab_size=100, embed_dim=64)
        pos_enc = PositionalEncoding(max_seq_len=128, embed_dim=64)

        # Token sequence
        tokens = Tensor(np.array([[1, 2, 3, 4]]))  # (1, 4)

        # Manual composition
        token_embeds = token_embed.forward(tokens)  # (1, 4, 64)
        position_aware = pos_enc.forward(token_embeds)  # (1, 4, 64)

        # Validate shape preservation
        assert position_aware.shape == token_embeds.shape

        # Validate it's not just token embeddings (positional info added)
        # NOTE: Can't easily test this without comparing values,
        # but gradients should flow through both components
        assert hasattr(position_aware, '_grad_fn')

    def test_embedding_parameters_optimizable(self):
        """Test embedding parameters work with optimizers."""
        from tinytorch.text.embeddings import EmbeddingLayer
        from tinytorch.core.optimizers import SGD
        from tinytorch.core.tensor import Tensor
        import numpy as np

        # Create embedding layer
        embed_layer = EmbeddingLayer(
            vocab_size=200,
            embed_dim=128,
            pos_encoding='learned'
        )

        # Get parameters
        params = embed_layer.parameters()

        # Should have 2 parameter sets: token embeddings + positional encodings
        assert len(params) == 2
        assert all(p.requires_grad for p in params)

        # Create optimizer
        optimizer = SGD(params, lr=0.01)

        # Verify optimizer accepted parameters
        assert len(optimizer.parameters) == 2

    def test_embedding_training_updates(self):
        """Test embeddings update during training."""
        from tinytorch.text.embeddings import Embedding
        from tinytorch.core.tensor import Tensor
        from tinytorch.core.losses import mse_loss
        import numpy as np

        embed = Embedding(vocab_size=50, embed_dim=32)

        # Save initial weights
        initial_weights = embed.weight.data.copy()

        # Forward pass
        tokens = Tensor(np.array([[1, 2, 3]]))
        output = embed.forward(tokens)

        # Compute loss (dummy target)
        target = Tensor(np.random.randn(1, 3, 32))
        loss = mse_loss(output, target)

        # Backward pass
        loss.backward()

        # Verify gradients computed
        assert embed.weight.grad is not None
        assert embed.weight.grad.shape == embed.weight.shape

        # Gradients should be non-zero for used embeddings
        # (Only tokens 1, 2, 3 should have gradients)
        # This validates sparse gradient accumulation

    def test_sinusoidal_vs_learned_positional(self):
        """Test both positional encoding types work correctly."""
        from tinytorch.text.embeddings import EmbeddingLayer
        from tinytorch.core.tensor import Tensor

        tokens = Tensor(np.random.randint(0, 100, (2, 10)))

        # Learned positional encoding
        embed_learned = EmbeddingLayer(
            vocab_size=100,
            embed_dim=64,
            pos_encoding='learned'
        )
        output_learned = embed_learned.forward(tokens)
        assert output_learned.shape == (2, 10, 64)

        # Should have trainable positional parameters
        params_learned = embed_learned.parameters()
        assert len(params_learned) == 2  # Token + Positional

        # Sinusoidal positional encoding
        embed_sinusoidal = EmbeddingLayer(
            vocab_size=100,
            embed_dim=64,
            pos_encoding='sinusoidal'
        )
        output_sinusoidal = embed_sinusoidal.forward(tokens)
        assert output_sinusoidal.shape == (2, 10, 64)

        # Should only have token embeddings as parameters (sinusoidal is fixed)
        params_sinusoidal = embed_sinusoidal.parameters()
        assert len(params_sinusoidal) == 1  # Only token embeddings

        # No positional encoding
        embed_none = EmbeddingLayer(
            vocab_size=100,
            embed_dim=64,
            pos_encoding=None
        )
        output_none = embed_none.forward(tokens)
        assert output_none.shape == (2, 10, 64)

    def test_prior_stack_stable_through_embeddings(self):
        """Verify embedding development didn't break Modules 01-10."""
        # Module 01: Tensor
        from tinytorch.core.tensor import Tensor
        t = Tensor([1, 2, 3])
        assert t.shape == (3,)

        # Module 02: Activations
        from tinytorch.core.activations import ReLU
        relu = ReLU()
        assert hasattr(relu, 'forward')

        # Module 05: Autograd
        from tinytorch.core.autograd import AddBackward
        assert AddBackward is not None

        # Module 10: Tokenization
        from tinytorch.text.tokenization import CharTokenizer
        tokenizer = CharTokenizer()
        encoded = tokenizer.encode("test")
        assert isinstance(encoded, list)

    def test_embedding_memory_scaling(self):
        """Test embedding memory scales as expected."""
        from tinytorch.text.embeddings import Embedding

        # Small embedding
        embed_small = Embedding(vocab_size=1000, embed_dim=128)
        memory_small = embed_small.weight.data.nbytes

        # Large embedding (4x vocabulary, 2x dimensions)
        embed_large = Embedding(vocab_size=4000, embed_dim=256)
        memory_large = embed_large.weight.data.nbytes

        # Memory should scale proportionally: 4 * 2 = 8x
        expected_ratio = 8.0
        actual_ratio = memory_large / memory_small

        assert np.isclose(actual_ratio, expected_ratio, rtol=0.1)
