"""Re-export of ``tinytorch.models.transformer`` under upstream TinyTorch's ``tinytorch.core.transformer``
path (``from tinytorch.core.transformer import GPT, MultiHeadAttention, LayerNorm, MLP``), so both
paths give the very same classes. Everything lives in ``tinytorch.models.transformer`` (and
MultiHeadAttention in module 12's ``tinytorch.core.attention``); add new names there and here.
"""

from tinytorch.core.attention import MultiHeadAttention
from tinytorch.models.transformer import GPT, MLP, LayerNorm, TransformerBlock

__all__ = ["LayerNorm", "MLP", "TransformerBlock", "GPT", "MultiHeadAttention"]
