"""Re-export of ``tinytorch.models.transformer`` under older upstream TinyTorch's plural
``tinytorch.core.transformers`` path; the same classes as ``tinytorch.core.transformer``.
Everything lives in ``tinytorch.models.transformer``; add new names there and here.
"""

from tinytorch.core.attention import MultiHeadAttention
from tinytorch.models.transformer import GPT, MLP, LayerNorm, TransformerBlock

__all__ = ["LayerNorm", "MLP", "TransformerBlock", "GPT", "MultiHeadAttention"]
