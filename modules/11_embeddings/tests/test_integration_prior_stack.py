"""
Module 11: Progressive Integration Tests -- part 6 of 6: the whole prior stack
(integration_prior_stack_test).
Tests that Module 11 (Embeddings) works correctly AND integrates with prior modules.

DEPENDENCY CHAIN: 01_tensor → 05_autograd → 10_tokenization → 11_embeddings → 12_attention

Depends on every module below 11 that exists (01-06, 10) and on //modules/11_embeddings:embeddings:
with Module 11 loaded, each earlier module still computes the right values, and Module 11 added
no autograd rule and replaced none.
"""

import numpy as np

from tinytorch.core.activations import ReLU, Softmax
from tinytorch.core.autograd import AddBackward, backward_registry
from tinytorch.core.layers import Linear, Module
from tinytorch.core.losses import cross_entropy, mse_loss
from tinytorch.core.optimizers import SGD
from tinytorch.core.tensor import Tensor
from tinytorch.core.tokenization import CharTokenizer as CoreCharTokenizer
from tinytorch.text.embeddings import EmbeddingLayer
from tinytorch.text.tokenization import CharTokenizer


class TestRegressionPrevention:
    """Module 11 must not break Modules 01-10."""

    def test_prior_stack_stable_through_embeddings(self):
        """Values from 01, 02, 03, 04, 05, 06 and 10, computed after Module 11 is built and used."""
        layer = EmbeddingLayer(vocab_size=30, embed_dim=4, max_seq_len=8, seed=0)
        layer(np.array([[1, 2, 3]])).sum().backward()

        # 01 Tensor
        t = Tensor([1, 2, 3])
        assert t.shape == (3,) and t.dtype == np.int64
        np.testing.assert_array_equal((Tensor([1.0, 2.0]) * 3).data, [3.0, 6.0])

        # 02 Activations (values and gradient)
        x = Tensor([-1.0, 0.5, 2.0], requires_grad=True)
        y = ReLU()(x)
        np.testing.assert_array_equal(y.data, [0.0, 0.5, 2.0])
        y.sum().backward()
        np.testing.assert_array_equal(x.grad.data, [0.0, 1.0, 1.0])
        np.testing.assert_allclose(Softmax()(Tensor([0.0, np.log(3.0)])).data, [0.25, 0.75], rtol=1e-6)

        # 03 Layers: Linear is x @ W + b; the embedding layer is a Module like it.
        lin = Linear(3, 2, seed=0)
        inp = np.array([[1.0, 2.0, 3.0]], dtype=np.float32)
        np.testing.assert_allclose(lin(Tensor(inp)).data, inp @ lin.weight.data + lin.bias.data, rtol=1e-6)
        assert isinstance(layer, Module) and isinstance(layer.token_embedding, Module)

        # 04 Losses
        np.testing.assert_allclose(mse_loss(Tensor([1.0, 3.0]), Tensor([0.0, 0.0])).item(), 5.0)
        np.testing.assert_allclose(cross_entropy(Tensor([[0.0, 0.0]]), np.array([1])).item(), np.log(2.0), rtol=1e-6)

        # 05 Autograd: Module 11 registered no op of its own and replaced none.
        registry = backward_registry()
        assert registry["add"] is AddBackward
        # (Other code in the same process, e.g. module 12 or a test, may register ops of its own.)
        owners = {cls.__module__ for cls in registry.values()}
        assert not {m for m in owners if m.startswith("tinytorch.text.") or m == "tinytorch.core.embeddings"}
        assert all(registry[op].__module__ == "tinytorch.core.autograd" for op in ("add", "embedding", "softmax"))
        assert type(layer(np.array([[1]]))._grad_fn).__name__ == "AddBackward"  # token + position

        # 06 Optimizers
        p = Tensor([1.0, 2.0], requires_grad=True)
        (p * p).sum().backward()
        SGD([p], lr=0.25).step()
        np.testing.assert_array_equal(p.data, [0.5, 1.0])

        # 10 Tokenization (both import paths give the same class)
        tokenizer = CharTokenizer()
        encoded = tokenizer.encode("test")
        assert isinstance(encoded, list) and encoded == [ord(c) - 25 for c in "test"]
        assert CoreCharTokenizer is CharTokenizer
