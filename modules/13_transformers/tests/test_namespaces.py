"""The import paths of module 13 (reexports_test): ``tinytorch.nn``, ``tinytorch.core.transformer``
and ``tinytorch.core.transformers`` hand out the very classes of the modules that define them
(one class each, so isinstance and registries agree), list exactly what they export, and
``nn.Sequential`` chains layers."""

import numpy as np
import pytest

import tinytorch.core.activations as activations
import tinytorch.core.attention as attention
import tinytorch.core.layers as layers
import tinytorch.core.losses as losses
import tinytorch.core.transformer as core_transformer
import tinytorch.core.transformers as core_transformers
import tinytorch.models.transformer as models_transformer
import tinytorch.nn as nn
import tinytorch.text.embeddings as embeddings
from tinytorch.core.tensor import Tensor


def test_nn_names_are_the_defining_modules_classes():
    sources = {
        "Module": layers, "Layer": layers, "Linear": layers, "Dropout": layers,
        "ReLU": activations, "GELU": activations, "Sigmoid": activations, "Tanh": activations,
        "Softmax": activations, "LogSoftmax": activations,
        "MSELoss": losses, "CrossEntropyLoss": losses, "BinaryCrossEntropyLoss": losses, "BCEWithLogitsLoss": losses,
        "Embedding": embeddings, "PositionalEncoding": embeddings, "SinusoidalPositionalEncoding": embeddings,
        "EmbeddingLayer": embeddings,
        "MultiHeadAttention": attention, "scaled_dot_product_attention": attention,
        "LayerNorm": models_transformer, "MLP": models_transformer, "TransformerBlock": models_transformer,
        "GPT": models_transformer,
    }
    assert sorted(nn.__all__) == sorted(list(sources) + ["Sequential"])
    for name, module in sources.items():
        assert getattr(nn, name) is getattr(module, name), name
    assert nn.Layer is nn.Module  # upstream's name for the base class
    assert issubclass(nn.GPT, nn.Module) and issubclass(nn.Sequential, nn.Module)


def test_core_transformer_paths_are_the_same_classes():
    names = ["LayerNorm", "MLP", "TransformerBlock", "GPT", "MultiHeadAttention"]
    for module in (core_transformer, core_transformers):
        assert sorted(module.__all__) == sorted(names)
        for name in names[:4]:
            assert getattr(module, name) is getattr(models_transformer, name)
        assert module.MultiHeadAttention is attention.MultiHeadAttention
    assert sorted(models_transformer.__all__) == sorted(names[:4])


def test_upstream_style_usage_through_nn():
    """The upstream examples' form: nn.GPT(...).forward(Tensor(ids)), a generate with a prompt."""
    model = nn.GPT(vocab_size=50, embed_dim=16, num_layers=1, num_heads=4, max_seq_len=16, seed=0)
    tokens = Tensor(np.random.default_rng(0).integers(0, 50, (2, 10)))
    assert model.forward(tokens).shape == (2, 10, 50)
    generated = model.generate(Tensor([[1, 2, 3]]), max_new_tokens=5, seed=0)
    assert generated.shape == (1, 8)
    block = nn.TransformerBlock(embed_dim=16, num_heads=4)
    assert block.forward(Tensor(np.zeros((2, 5, 16)))).shape == (2, 5, 16)


def test_sequential_chains_layers():
    rng = np.random.default_rng(0)
    first, second = nn.Linear(4, 8, seed=0), nn.Linear(8, 3, seed=1)
    seq = nn.Sequential(first, nn.GELU(), nn.LayerNorm(8), nn.Dropout(0.5, seed=0), second)
    assert len(seq) == 5 and seq[0] is first and list(seq)[-1] is second
    params = seq.parameters()
    expected = [first.weight, first.bias, seq[2].gamma, seq[2].beta, second.weight, second.bias]
    assert len(params) == 6 and all(a is b for a, b in zip(params, expected))
    x = Tensor(rng.normal(size=(5, 4)))
    seq.eval()
    assert not seq[3].training  # eval() reaches the layers
    np.testing.assert_allclose(seq(x).data, second(seq[2](seq[1](first(x)))).data, rtol=1e-6)
    seq.train()
    assert seq[3].training
    # Gradients flow through the chain.
    seq.eval()
    seq(x).sum().backward()
    assert all(p.grad is not None for p in params)
    # A list works as well as separate arguments; a shared layer is one set of parameters.
    assert len(nn.Sequential([first, first]).parameters()) == 2
    assert "Sequential(" in repr(seq) and "LayerNorm(8" in repr(seq)


def test_sequential_bad_layers():
    with pytest.raises(ValueError, match="Sequential needs at least one layer"):
        nn.Sequential()
    with pytest.raises(TypeError, match=r"Sequential layer 1 is the class ReLU, not an instance. Hint: call it"):
        nn.Sequential(nn.Linear(2, 2), nn.ReLU)
    with pytest.raises(TypeError, match=r"Sequential layer 0 must be a Module or a callable, got int 3"):
        nn.Sequential(3)
