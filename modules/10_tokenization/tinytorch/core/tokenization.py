"""Re-export of ``tinytorch.text.tokenization`` under upstream TinyTorch's
``tinytorch.core`` path, so ``from tinytorch.core.tokenization import
CharTokenizer`` and ``from tinytorch.text.tokenization import CharTokenizer``
give the very same class. Everything lives in the text module; add new names
there and here (tests/test_char_tokenizer.py checks that both lists agree).
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

# The same public names as tinytorch.text.tokenization, written out: a re-export needs a literal
# __all__ (the import checker reads it to know what this module provides).
__all__ = [
    "UNK_TOKEN",
    "PAD_TOKEN",
    "BOS_TOKEN",
    "EOS_TOKEN",
    "UNK_ID",
    "PAD_ID",
    "BOS_ID",
    "EOS_ID",
    "SPECIAL_TOKENS",
    "DEFAULT_CHAR_VOCAB",
    "BPE_PRETOKENIZE_PATTERN",
    "BatchEncoding",
    "Tokenizer",
    "CharTokenizer",
    "BPETokenizer",
]
