"""Re-export of ``tinytorch.text.embeddings`` under upstream TinyTorch's ``tinytorch.core`` path,
so ``from tinytorch.core.embeddings import EmbeddingLayer`` and
``from tinytorch.text.embeddings import EmbeddingLayer`` give the very same class. Everything
lives in the text module; add new names there and here.
"""

from tinytorch.text.embeddings import (
    POS_ENCODINGS,
    Embedding,
    EmbeddingLayer,
    PositionalEncoding,
    SinusoidalPositionalEncoding,
    create_sinusoidal_embeddings,
)
from tinytorch.text.embeddings import __all__  # noqa: F401  (same public names)
