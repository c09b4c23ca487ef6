"""Re-export of ``tinytorch.text.tokenization`` under upstream TinyTorch's
``tinytorch.core`` path, so ``from tinytorch.core.tokenization import
CharTokenizer`` and ``from tinytorch.text.tokenization import CharTokenizer``
give the very same class. Everything lives in the text module; add new names
there and here.
"""

from tinytorch.text.tokenization import (
    BOS_ID,
    BOS_TOKEN,
    BPE_PRETOKENIZE_PATTERN,
    DEFAULT_CHAR_VOCAB,
    EOS_ID,
    EOS_TOKEN,
    PAD_ID,
    PAD_TOKEN,
    SPECIAL_TOKENS,
    UNK_ID,
    UNK_TOKEN,
    BatchEncoding,
    BPETokenizer,
    CharTokenizer,
    Tokenizer,
)
from tinytorch.text.tokenization import __all__  # noqa: F401  (same public names)
