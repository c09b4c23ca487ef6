"""``tinytorch.nn``: the building blocks of modules 02-13 under one PyTorch-style namespace.

    import tinytorch.nn as nn
    model = nn.GPT(vocab_size=100, embed_dim=64, num_layers=2, num_heads=4)
    head = nn.Sequential(nn.Linear(64, 64), nn.GELU(), nn.Linear(64, 10))

Every name except ``Sequential`` is the very class of the module that defines it (``nn.Linear is
tinytorch.core.layers.Linear``), so isinstance checks and registries see one class. Only modules
numbered 13 or lower are re-exported here (layering). ``Sequential`` is defined here because
module 03 has none.

    layers (03)       Module (and its upstream name Layer), Linear, Dropout
    activations (02)  ReLU, GELU, Sigmoid, Tanh, Softmax, LogSoftmax
    losses (04)       MSELoss, CrossEntropyLoss, BinaryCrossEntropyLoss, BCEWithLogitsLoss
    embeddings (11)   Embedding, PositionalEncoding, SinusoidalPositionalEncoding, EmbeddingLayer
    attention (12)    MultiHeadAttention, scaled_dot_product_attention
    transformer (13)  LayerNorm, MLP, TransformerBlock, GPT
    this file         Sequential
"""

from __future__ import annotations

from tinytorch.core.activations import GELU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from tinytorch.core.attention import MultiHeadAttention, scaled_dot_product_attention
from tinytorch.core.layers import Dropout, Layer, Linear, Module
from tinytorch.core.losses import BCEWithLogitsLoss, BinaryCrossEntropyLoss, CrossEntropyLoss, MSELoss
from tinytorch.models.transformer import GPT, MLP, LayerNorm, TransformerBlock
from tinytorch.text.embeddings import Embedding, EmbeddingLayer, PositionalEncoding, SinusoidalPositionalEncoding

__all__ = [
    "Module",
    "Layer",
    "Linear",
    "Dropout",
    "Sequential",
    "ReLU",
    "GELU",
    "Sigmoid",
    "Tanh",
    "Softmax",
    "LogSoftmax",
    "MSELoss",
    "CrossEntropyLoss",
    "BinaryCrossEntropyLoss",
    "BCEWithLogitsLoss",
    "Embedding",
    "PositionalEncoding",
    "SinusoidalPositionalEncoding",
    "EmbeddingLayer",
    "MultiHeadAttention",
    "scaled_dot_product_attention",
    "LayerNorm",
    "MLP",
    "TransformerBlock",
    "GPT",
]


class Sequential(Module):
    """Applies layers one after another: ``Sequential(a, b, c)(x) == c(b(a(x)))``.

    Args:
        *layers: Modules (Linear, LayerNorm, ...) or other callables with no parameters
            (activations such as GELU()); at least one. A single list or tuple is unpacked.

    Attributes:
        layers: the list of layers, in order. ``len(seq)``, ``seq[i]`` and iteration work on it.

    ``parameters()`` are the layers' parameters in order (each Tensor once); ``train()`` /
    ``eval()`` reach every Module layer. Shapes are whatever the chain of layers does.
    """

    def __init__(self, *layers):
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        if not layers:
            raise ValueError("Sequential needs at least one layer. Hint: Sequential(Linear(4, 8), ReLU(), Linear(8, 2)).")
        for i, layer in enumerate(layers):
            if isinstance(layer, type):
                raise TypeError(
                    f"Sequential layer {i} is the class {layer.__name__}, not an instance. "
                    f"Hint: call it, e.g. {layer.__name__}(...)."
                )
            if not callable(layer):
                raise TypeError(
                    f"Sequential layer {i} must be a Module or a callable, got {type(layer).__name__} {layer!r:.60}. "
                    "Hint: pass layer objects such as Linear(4, 8) or ReLU()."
                )
        self.layers = list(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, index):
        return self.layers[index]

    def __iter__(self):
        return iter(self.layers)

    def __repr__(self) -> str:
        inner = ",\n".join("  " + repr(layer) for layer in self.layers)
        return f"Sequential(\n{inner}\n)"
