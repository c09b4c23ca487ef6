"""Transformers: LayerNorm, the MLP, the pre-norm TransformerBlock and a GPT language model.

    LayerNorm(normalized_shape, eps=1e-5)              (..., *normalized_shape) -> same shape
    MLP(embed_dim, hidden_dim=None, dropout_prob=0.1)  (..., embed_dim) -> (..., embed_dim)
    TransformerBlock(embed_dim, num_heads, mlp_ratio=4, dropout_prob=0.1)
        forward(x, mask=None, *, attention_mask=None, causal=False)
                                                       (batch, seq, embed_dim) -> same shape
    GPT(vocab_size, embed_dim, num_layers, num_heads, max_seq_len=1024)
        forward(ids)     (batch, seq) int ids -> (batch, seq, vocab_size) logits
        generate(ids, max_new_tokens, temperature=1.0, top_k=None, seed=None)
                         (batch, seq) -> (batch, seq + max_new_tokens) int64 ids

How the pieces fit (GPT-2's layout, "pre-norm"):

    ids -> EmbeddingLayer (module 11: token vectors + positions) -> dropout
        -> num_layers x [ x = x + dropout(attention(ln1(x), causal mask))
                          x = x + mlp(ln2(x)) ]
        -> ln_f -> head: x @ token_table.T (tied, default) or Linear(embed_dim, vocab_size)

Every op is one that already has a backward rule (module 05's Tensor ops and activations, 11's
embedding lookup, 12's fused attention), so this module registers no rule of its own: LayerNorm is
mean / subtract / square / mean / sqrt / divide; the tied head is a matmul with the transposed
token table, so the table's gradient is the sum of what its two uses (lookup and head) send back,
which the autograd engine adds up.

Masks are module 12's: a keep-mask (bool or 0/1: 1 = may attend) such as causal_mask(seq), or an
additive float mask (0 = attend, -inf = blocked) such as upstream TinyTorch's
``Tensor(np.triu(np.ones((seq, seq)) * -np.inf, k=1))``; a tokenizer's (batch, seq) padding mask
goes in ``attention_mask=``.

Dropout is active in training mode (the default for new modules); call ``model.eval()`` for
deterministic outputs. ``GPT.generate`` switches to eval mode by itself and restores the modes.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from tinytorch.core.activations import GELU
from tinytorch.core.attention import MultiHeadAttention, causal_mask, combine_masks
from tinytorch.core.layers import Dropout, Linear, Module, check_bool, check_positive_int, make_rng
from tinytorch.core.tensor import Tensor, no_grad
from tinytorch.text.embedding_core import validate_token_ids
from tinytorch.text.embeddings import POS_ENCODINGS, EmbeddingLayer

__all__ = ["LayerNorm", "MLP", "TransformerBlock", "GPT"]

# What MLP's gelu_approximate accepts (module 02's GELU(approximate=...)).
_GELU_FORMS = ("tanh", "none")


# ----------------------------------------------------------------------------------------------
# Argument checks
# ----------------------------------------------------------------------------------------------
def _is_real(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (numbers.Real, np.floating, np.integer))


def _check_probability(name: str, value, owner: str) -> float:
    """``value`` as a float in [0, 1); TypeError for non-numbers, ValueError outside the range."""
    if not _is_real(value):
        raise TypeError(
            f"{owner} {name} must be a number in [0, 1), got {type(value).__name__} {value!r}. "
            f"Hint: {name} is the probability of zeroing an element, e.g. {name}=0.1 (0 disables dropout)."
        )
    if not (math.isfinite(value) and 0.0 <= value < 1.0):
        raise ValueError(
            f"{owner} {name} must be in [0, 1), got {value!r}. "
            f"Hint: {name} is the probability of zeroing an element, e.g. {name}=0.1 (0 disables dropout)."
        )
    return float(value)


def _check_heads(embed_dim: int, num_heads: int, owner: str) -> None:
    if embed_dim % num_heads:
        divisors = [h for h in range(1, embed_dim + 1) if embed_dim % h == 0]
        shown = ", ".join(map(str, divisors[:12])) + (", ..." if len(divisors) > 12 else "")
        raise ValueError(
            f"{owner} embed_dim={embed_dim} must be divisible by num_heads={num_heads} "
            f"(embed_dim % num_heads = {embed_dim % num_heads}). Allowed num_heads for embed_dim={embed_dim}: "
            f"{shown}. Hint: each head gets embed_dim // num_heads features; change num_heads or embed_dim."
        )


def _check_mlp_ratio(mlp_ratio, embed_dim: int, owner: str) -> int:
    """The MLP hidden size int(embed_dim * mlp_ratio), which must be >= 1."""
    if not _is_real(mlp_ratio):
        raise TypeError(
            f"{owner} mlp_ratio must be a positive number, got {type(mlp_ratio).__name__} {mlp_ratio!r}. "
            "Hint: the MLP's hidden size is int(embed_dim * mlp_ratio); GPT-2 uses mlp_ratio=4."
        )
    hidden = int(embed_dim * mlp_ratio) if math.isfinite(mlp_ratio) and mlp_ratio > 0 else 0
    if hidden < 1:
        raise ValueError(
            f"{owner} mlp_ratio={mlp_ratio!r} gives an MLP hidden size int({embed_dim} * {mlp_ratio!r}) = {hidden}; "
            f"allowed: mlp_ratio > 0 with embed_dim * mlp_ratio >= 1. Hint: GPT-2 uses mlp_ratio=4."
        )
    return hidden


def _as_float_tensor(x, owner: str, expected: str) -> Tensor:
    x = x if isinstance(x, Tensor) else Tensor(x)
    if x.dtype.kind != "f":
        raise TypeError(
            f"{owner} expects a float tensor of shape {expected}, got dtype {x.dtype} (shape {x.shape}). "
            "Hint: token ids go through an EmbeddingLayer (or GPT) first; blocks work on vectors."
        )
    return x


def _module_tree(root: Module) -> list:
    """``root`` and every Module below it, each once (a tied head reaches the embedding twice)."""
    found, seen, stack = [], set(), [root]
    while stack:
        m = stack.pop()
        if id(m) in seen:
            continue
        seen.add(id(m))
        found.append(m)
        stack.extend(m.children())
    return found


# ----------------------------------------------------------------------------------------------
# LayerNorm
# ----------------------------------------------------------------------------------------------
class LayerNorm(Module):
    """Layer normalization (Ba et al., 2016) over the last dims, with a learned scale and shift.

    Args:
        normalized_shape: int (the feature size, usually embed_dim) or tuple of ints: the trailing
            dims every sample is normalized over.
        eps: added to the variance before the square root (default 1e-5, as PyTorch).

    Attributes:
        gamma: (*normalized_shape) float32 scale, ones at start, requires_grad=True.
        beta: (*normalized_shape) float32 shift, zeros at start, requires_grad=True.
        weight, bias: the same two Tensors under PyTorch's names.

    Shapes:
        (..., *normalized_shape) float -> same shape and dtype:
        out = (x - mean) / sqrt(var + eps) * gamma + beta, mean and the biased variance taken
        over the trailing dims of each sample separately.

    Composed of Tensor ops (mean, -, *, sqrt, /), so autograd differentiates it exactly,
    including the gradient through the mean and the variance.
    """

    def __init__(self, normalized_shape, eps: float = 1e-5):
        super().__init__()
        if isinstance(normalized_shape, (numbers.Integral, np.integer)) and not isinstance(normalized_shape, bool):
            normalized_shape = (normalized_shape,)
        if not isinstance(normalized_shape, (tuple, list)) or not normalized_shape:
            raise TypeError(
                f"LayerNorm normalized_shape must be a positive int or a non-empty tuple of them, got "
                f"{type(normalized_shape).__name__} {normalized_shape!r}. Hint: LayerNorm(embed_dim), e.g. LayerNorm(64)."
            )
        self.normalized_shape = tuple(check_positive_int("normalized_shape", d, "LayerNorm") for d in normalized_shape)
        if not _is_real(eps) or not (math.isfinite(eps) and eps > 0):
            raise ValueError(
                f"LayerNorm eps must be a positive finite number, got {eps!r}. "
                "Hint: eps keeps the division finite for constant inputs; the default is 1e-5."
            )
        self.eps = float(eps)
        self.gamma = Tensor(np.ones(self.normalized_shape, dtype=np.float32), requires_grad=True)
        self.beta = Tensor(np.zeros(self.normalized_shape, dtype=np.float32), requires_grad=True)

    @property
    def weight(self) -> Tensor:
        """PyTorch's name for ``gamma``."""
        return self.gamma

    @property
    def bias(self) -> Tensor:
        """PyTorch's name for ``beta``."""
        return self.beta

    def forward(self, x) -> Tensor:
        """(..., *normalized_shape) -> same shape; see the class docstring."""
        shape = self.normalized_shape
        expected = "(..., " + ", ".join(map(str, shape)) + ")"
        x = _as_float_tensor(x, "LayerNorm", expected)
        k = len(shape)
        if x.ndim < k or x.shape[x.ndim - k:] != shape:
            raise ValueError(
                f"LayerNorm(normalized_shape={shape}) expects input of shape {expected}, got {x.shape}. "
                "Hint: the trailing dims must equal normalized_shape (usually the embedding size)."
            )
        axes = tuple(range(x.ndim - k, x.ndim))
        centered = x - x.mean(axis=axes, keepdims=True)
        variance = (centered * centered).mean(axis=axes, keepdims=True)
        normalized = centered / (variance + self.eps).sqrt()
        return normalized * self.gamma + self.beta

    def __repr__(self) -> str:
        shape = self.normalized_shape[0] if len(self.normalized_shape) == 1 else self.normalized_shape
        return f"LayerNorm({shape}, eps={self.eps})"


# ----------------------------------------------------------------------------------------------
# MLP
# ----------------------------------------------------------------------------------------------
class MLP(Module):
    """The position-wise feed-forward network of a transformer block: Linear -> GELU -> Linear,
    then dropout.

    Args:
        embed_dim: input and output size.
        hidden_dim: size of the middle layer (default 4 * embed_dim, as GPT-2).
        dropout_prob: dropout on the output while training (default 0.1; 0 disables it).
        gelu_approximate: "tanh" (default): GPT-2's tanh form of GELU, plain numpy and fast;
            "none": the exact erf form (PyTorch's default GELU), computed element by element
            with math.erf, so several times slower. Passed to module 02's GELU(approximate=...).
        seed / rng: make the weights (and the dropout masks) reproducible.

    Attributes:
        linear1: Linear(embed_dim, hidden_dim); gelu: GELU(approximate=gelu_approximate);
        linear2: Linear(hidden_dim, embed_dim); dropout: Dropout(dropout_prob); embed_dim, hidden_dim.

    Shapes:
        (..., embed_dim) float -> (..., embed_dim): dropout(linear2(gelu(linear1(x)))).
    """

    def __init__(
        self, embed_dim: int, hidden_dim: int | None = None, dropout_prob: float = 0.1,
        *, gelu_approximate: str = "tanh", seed=None, rng=None,
    ):
        super().__init__()
        self.embed_dim = check_positive_int("embed_dim", embed_dim, "MLP")
        self.hidden_dim = 4 * self.embed_dim if hidden_dim is None else check_positive_int("hidden_dim", hidden_dim, "MLP")
        self.dropout_prob = _check_probability("dropout_prob", dropout_prob, "MLP")
        if gelu_approximate not in _GELU_FORMS:
            raise ValueError(
                f"MLP gelu_approximate must be one of {_GELU_FORMS}, got {gelu_approximate!r}. "
                "Hint: 'tanh' is GPT-2's fast form (the default), 'none' the exact erf form."
            )
        gen = make_rng(seed, rng)
        self.linear1 = Linear(self.embed_dim, self.hidden_dim, rng=gen)
        self.gelu = GELU(approximate=gelu_approximate)
        self.linear2 = Linear(self.hidden_dim, self.embed_dim, rng=gen)
        self.dropout = Dropout(self.dropout_prob, rng=gen)

    def forward(self, x) -> Tensor:
        """(..., embed_dim) -> (..., embed_dim); see the class docstring."""
        x = _as_float_tensor(x, "MLP", f"(..., {self.embed_dim})")
        if x.ndim == 0 or x.shape[-1] != self.embed_dim:
            raise ValueError(
                f"MLP(embed_dim={self.embed_dim}) expects input of shape (..., {self.embed_dim}), got {x.shape}. "
                "Hint: the last dim must equal embed_dim."
            )
        return self.dropout(self.linear2(self.gelu(self.linear1(x))))

    def __repr__(self) -> str:
        return (
            f"MLP(embed_dim={self.embed_dim}, hidden_dim={self.hidden_dim}, dropout_prob={self.dropout_prob}, "
            f"gelu_approximate={self.gelu.approximate!r})"
        )


# ----------------------------------------------------------------------------------------------
# TransformerBlock
# ----------------------------------------------------------------------------------------------
class TransformerBlock(Module):
    """One pre-norm transformer block (GPT-2): attention and an MLP, each on a LayerNorm'd input
    and added back to the residual stream.

        x = x + dropout(attention(ln1(x), mask))
        x = x + mlp(ln2(x))            (the MLP applies its own dropout)

    Args:
        embed_dim: model width; must be divisible by num_heads.
        num_heads: attention heads of embed_dim // num_heads features each.
        mlp_ratio: the MLP's hidden size is int(embed_dim * mlp_ratio) (default 4).
        dropout_prob: dropout on the attention and MLP outputs while training (default 0.1).
        seed / rng: make every weight (and the dropout masks) reproducible.

    Attributes:
        attention: MultiHeadAttention(embed_dim, num_heads) (module 12); ln1, ln2: LayerNorm(embed_dim);
        mlp: MLP(embed_dim, int(embed_dim * mlp_ratio), dropout_prob); dropout: Dropout(dropout_prob).

    Shapes:
        forward(x, mask=None, *, attention_mask=None, causal=False):
            (batch, seq, embed_dim) float -> (batch, seq, embed_dim); also (seq, embed_dim).
        mask: module 12's pattern over the scores, (seq, seq), (batch, [heads,] seq, seq) or
            padding_mask(am) (batch, 1, 1, seq): a keep-mask (1/True = attend, e.g. causal_mask(seq))
            or an additive float mask (0 = attend, -inf = blocked; upstream's causal form).
        attention_mask: a tokenizer's (batch, seq) 1 = real token / 0 = padding.
        causal: True adds causal_mask(seq) (combined with ``mask`` by combine_masks): position t
            sees 0..t only.
    """

    def __init__(self, embed_dim: int, num_heads: int, mlp_ratio=4, dropout_prob: float = 0.1, *, seed=None, rng=None):
        super().__init__()
        self.embed_dim = check_positive_int("embed_dim", embed_dim, "TransformerBlock")
        self.num_heads = check_positive_int("num_heads", num_heads, "TransformerBlock")
        _check_heads(self.embed_dim, self.num_heads, "TransformerBlock")
        hidden_dim = _check_mlp_ratio(mlp_ratio, self.embed_dim, "TransformerBlock")
        self.mlp_ratio = mlp_ratio
        self.dropout_prob = _check_probability("dropout_prob", dropout_prob, "TransformerBlock")
        gen = make_rng(seed, rng)
        # Attribute order = parameters() order, as upstream: attention, ln1, ln2, mlp.
        self.attention = MultiHeadAttention(self.embed_dim, self.num_heads, rng=gen)
        self.ln1 = LayerNorm(self.embed_dim)
        self.ln2 = LayerNorm(self.embed_dim)
        self.mlp = MLP(self.embed_dim, hidden_dim, self.dropout_prob, rng=gen)
        self.dropout = Dropout(self.dropout_prob, rng=gen)

    def forward(self, x, mask=None, *, attention_mask=None, causal: bool = False) -> Tensor:
        """(batch, seq, embed_dim) -> (batch, seq, embed_dim); see the class docstring."""
        d = self.embed_dim
        expected = f"(batch, seq, {d}) or (seq, {d})"
        x = _as_float_tensor(x, "TransformerBlock", expected)
        if x.ndim not in (2, 3) or x.shape[-1] != d:
            raise ValueError(
                f"TransformerBlock(embed_dim={d}, num_heads={self.num_heads}) expects x of shape {expected}, "
                f"got {x.shape}. Hint: embed token ids first (EmbeddingLayer(vocab_size, {d}, ...))."
            )
        causal = check_bool("causal", causal, "TransformerBlock.forward")
        seq = x.shape[-2]
        if causal and seq > 0:
            mask = causal_mask(seq) if mask is None else combine_masks(causal_mask(seq), mask)
        x = x + self.dropout(self.attention(self.ln1(x), mask=mask, attention_mask=attention_mask))
        return x + self.mlp(self.ln2(x))

    def __repr__(self) -> str:
        return (
            f"TransformerBlock(embed_dim={self.embed_dim}, num_heads={self.num_heads}, "
            f"mlp_ratio={self.mlp_ratio}, dropout_prob={self.dropout_prob})"
        )


# ----------------------------------------------------------------------------------------------
# GPT
# ----------------------------------------------------------------------------------------------
class _TiedHead(Module):
    """The output head of a GPT with tied weights: logits = x @ embedding.weight.T.

    It holds the Embedding module, not its weight, and reads ``embedding.weight`` at every call,
    so the two stay one table even if the weight Tensor is replaced (e.g. loaded from a file).
    (..., embed_dim) -> (..., vocab_size)."""

    def __init__(self, embedding: Module):
        super().__init__()
        self.embedding = embedding

    @property
    def weight(self) -> Tensor:
        """The shared (vocab_size, embed_dim) token table (note: a Linear's weight is (in, out))."""
        return self.embedding.weight

    def forward(self, x) -> Tensor:
        return x @ self.embedding.weight.T

    def __repr__(self) -> str:
        return f"TiedHead(token_embedding.weight.T: {self.embedding.embed_dim} -> {self.embedding.vocab_size})"


def _sample_next(logits: np.ndarray, temperature: float, top_k, gen: np.random.Generator) -> np.ndarray:
    """One id per row of ``logits`` (batch, vocab), drawn from softmax(logits / temperature)
    restricted to the top_k largest logits (ties at the k-th value are kept)."""
    scaled = logits.astype(np.float64) / temperature
    if top_k is not None and top_k < scaled.shape[-1]:
        kth = np.partition(scaled, -top_k, axis=-1)[:, -top_k][:, None]
        scaled = np.where(scaled < kth, -np.inf, scaled)
    probs = np.exp(scaled - scaled.max(axis=-1, keepdims=True))
    cdf = np.cumsum(probs, axis=-1)
    draws = gen.random(len(probs)) * cdf[:, -1]
    out = np.empty(len(probs), dtype=np.int64)
    for b in range(len(probs)):
        i = int(np.searchsorted(cdf[b], draws[b], side="right"))
        out[b] = i if i < probs.shape[-1] else int(np.flatnonzero(probs[b])[-1])  # rounding at the top end
    return out


class GPT(Module):
    """A GPT-style decoder-only language model (Radford et al., 2019) built from modules 11-13.

    Args:
        vocab_size: number of token ids (a tokenizer's vocab_size).
        embed_dim: model width; must be divisible by num_heads.
        num_layers: number of TransformerBlocks (>= 1).
        num_heads: attention heads per block.
        max_seq_len: longest sequence forward() accepts (default 1024); generate() crops its
            context to the last max_seq_len ids.
        mlp_ratio: MLP hidden size = int(embed_dim * mlp_ratio) (default 4).
        dropout_prob: dropout on the embeddings and on every attention / MLP output while
            training (default 0.1, as GPT-2; ``model.eval()`` turns it off).
        pos_encoding: 'learned' (default, GPT-2), 'sinusoidal' (fixed table, Vaswani et al.) or
            None, passed to module 11's EmbeddingLayer.
        scale_embeddings: multiply token vectors by sqrt(embed_dim) before adding positions
            (Vaswani et al.; GPT-2 does not, so the default is False). The tied head uses the
            unscaled table.
        tie_weights: True (default): the output head is the token table itself,
            logits = h @ token_embedding.weight.T, so one (vocab_size, embed_dim) table gets the
            gradient of both uses. False: a separate Linear(embed_dim, vocab_size, bias=False).
        seed / rng: make every weight and dropout mask reproducible.

    Attributes:
        embedding: EmbeddingLayer (module 11); token_embedding (its Embedding) and
            position_embedding (its positional layer, or None) as shortcuts.
        dropout: Dropout on the embedding output; blocks: list of TransformerBlock;
        ln_f: final LayerNorm; lm_head: the head (tied: ``lm_head.weight is token_embedding.weight``).

    Shapes:
        forward(ids, attention_mask=None): (batch, seq) int ids -> (batch, seq, vocab_size) float32
            logits (also (seq,) -> (seq, vocab_size)); the logits at position t depend on ids
            0..t only (causal mask), and predict id t + 1.
        generate(ids, ...): (batch, seq) -> (batch, seq + max_new_tokens) int64 Tensor.

    ``parameters()``: token table, position table (if learned), each block's (attention, ln1, ln2,
    mlp), ln_f, and the head's weight only if untied; every Tensor once.
    """

    def __init__(
        self,
        vocab_size: int,
        embed_dim: int,
        num_layers: int,
        num_heads: int,
        max_seq_len: int = 1024,
        *,
        mlp_ratio=4,
        dropout_prob: float = 0.1,
        pos_encoding="learned",
        scale_embeddings: bool = False,
        tie_weights: bool = True,
        seed=None,
        rng=None,
    ):
        super().__init__()
        self.vocab_size = check_positive_int("vocab_size", vocab_size, "GPT")
        self.embed_dim = check_positive_int("embed_dim", embed_dim, "GPT")
        self.num_layers = check_positive_int("num_layers", num_layers, "GPT")
        self.num_heads = check_positive_int("num_heads", num_heads, "GPT")
        self.max_seq_len = check_positive_int("max_seq_len", max_seq_len, "GPT")
        _check_heads(self.embed_dim, self.num_heads, "GPT")
        _check_mlp_ratio(mlp_ratio, self.embed_dim, "GPT")
        self.dropout_prob = _check_probability("dropout_prob", dropout_prob, "GPT")
        if not (pos_encoding is None or (isinstance(pos_encoding, str) and pos_encoding in POS_ENCODINGS)):
            raise ValueError(
                f"GPT pos_encoding must be one of 'learned', 'sinusoidal' or None, got {pos_encoding!r}. "
                "Hint: 'learned' (GPT-2) trains one vector per position, 'sinusoidal' adds the fixed sin/cos "
                "table, None adds no positions (the causal mask alone then tells positions apart)."
            )
        self.tie_weights = check_bool("tie_weights", tie_weights, "GPT")
        scale_embeddings = check_bool("scale_embeddings", scale_embeddings, "GPT")
        gen = make_rng(seed, rng)

        self.embedding = EmbeddingLayer(
            self.vocab_size, self.embed_dim, self.max_seq_len,
            pos_encoding=pos_encoding, scale_embeddings=scale_embeddings, rng=gen,
        )
        self.dropout = Dropout(self.dropout_prob, rng=gen)
        self.blocks = [
            TransformerBlock(self.embed_dim, self.num_heads, mlp_ratio, self.dropout_prob, rng=gen)
            for _ in range(self.num_layers)
        ]
        self.ln_f = LayerNorm(self.embed_dim)
        if self.tie_weights:
            self.lm_head = _TiedHead(self.embedding.token_embedding)
        else:
            self.lm_head = Linear(self.embed_dim, self.vocab_size, bias=False, rng=gen)

    # --- shortcuts with upstream's names -------------------------------------------------------
    @property
    def token_embedding(self):
        """The Embedding(vocab_size, embed_dim) inside ``embedding``."""
        return self.embedding.token_embedding

    @property
    def position_embedding(self):
        """The positional layer inside ``embedding`` (PositionalEncoding, the sinusoidal one, or None)."""
        return self.embedding.pos_encoding

    def num_parameters(self) -> int:
        """Number of trainable scalars, a tied table counted once."""
        return int(sum(p.size for p in self.parameters()))

    # --- input checks ------------------------------------------------------------------------
    def _token_ids(self, ids, what: str) -> np.ndarray:
        """ids -> int64 array of shape (batch, seq) or (seq,), seq >= 1, every id in range."""
        data = ids.data if isinstance(ids, Tensor) else ids
        allowed = f"integer ids in [0, {self.vocab_size - 1}] of shape (batch, seq_len) or (seq_len,)"
        arr = None
        if not (isinstance(data, (str, bytes)) or data is None):
            try:
                arr = np.asarray(data)
            except ValueError:
                arr = None  # ragged: validate_token_ids names the problem
        if arr is not None and arr.dtype.kind == "f":
            raise TypeError(
                f"GPT.{what} token ids must be integers, got dtype {arr.dtype} (shape {arr.shape}). Allowed: {allowed}. "
                "Hint: pass a tokenizer's ids (np.asarray(tokenizer.encode(text))); whole-number floats convert with "
                "ids.astype(np.int64); a float array of shape (..., embed_dim) is embeddings, not ids."
            )
        arr = validate_token_ids(data if arr is None else arr, self.vocab_size)
        if arr.ndim not in (1, 2):
            raise ValueError(
                f"GPT.{what} expects {allowed}, got shape {arr.shape}. "
                "Hint: one sequence is ids[None, :]; stack sequences of equal length into a (batch, seq_len) array."
            )
        if arr.shape[-1] == 0:
            raise ValueError(
                f"GPT.{what} needs at least one token per sequence, got shape {arr.shape}. "
                "Hint: start generation from a prompt of one id, e.g. a BOS token."
            )
        return arr

    # --- forward -----------------------------------------------------------------------------
    def forward(self, ids, attention_mask=None) -> Tensor:
        """(batch, seq) int ids -> (batch, seq, vocab_size) logits; see the class docstring.

        attention_mask: optional (batch, seq) 1 = real token / 0 = padding from a tokenizer's
        encode_batch; padded keys are hidden from every query (on top of the causal mask).
        """
        ids = self._token_ids(ids, "forward")
        seq = ids.shape[-1]
        if seq > self.max_seq_len:
            raise ValueError(
                f"GPT.forward got a sequence of length {seq}, which exceeds max_seq_len={self.max_seq_len}: "
                f"allowed lengths are 1..{self.max_seq_len}. Hint: crop the context to the last "
                f"{self.max_seq_len} ids (ids[..., -{self.max_seq_len}:], as generate() does) or build the model "
                f"with max_seq_len >= {seq}."
            )
        x = self.dropout(self.embedding(ids))            # (batch, seq, embed_dim)
        mask = causal_mask(seq)                          # (seq, seq): position t sees 0..t
        for block in self.blocks:
            x = block(x, mask, attention_mask=attention_mask)
        return self.lm_head(self.ln_f(x))                # (batch, seq, vocab_size)

    # --- generation --------------------------------------------------------------------------
    def generate(self, ids, max_new_tokens: int = 50, temperature: float = 1.0, top_k=None, seed=None, *, rng=None) -> Tensor:
        """Appends ``max_new_tokens`` sampled ids to each sequence, one at a time.

        Each step feeds the last max_seq_len ids, takes the logits of the last position,
        divides them by ``temperature``, keeps the ``top_k`` largest (None: all) and samples from
        their softmax. Runs in eval mode (no dropout) without recording a graph, and restores
        every sub-module's training mode afterwards.

        Args:
            ids: the prompt, (batch, seq) or (seq,) int ids with seq >= 1 (may exceed max_seq_len).
            max_new_tokens: int >= 0.
            temperature: > 0; below 1 sharpens the distribution, above 1 flattens it.
            top_k: None or an int in [1, vocab_size]; top_k=1 is greedy decoding.
            seed / rng: the same seed gives the same ids (without either, numpy's global
                generator seeds it, so np.random.seed(...) makes it reproducible too).

        Returns:
            int64 Tensor (batch, seq + max_new_tokens) (or (seq + max_new_tokens,)): the prompt
            followed by the new ids.
        """
        prompt = self._token_ids(ids, "generate")
        if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, (numbers.Integral, np.integer)):
            raise TypeError(
                f"GPT.generate max_new_tokens must be an int >= 0, got {type(max_new_tokens).__name__} {max_new_tokens!r}. "
                "Hint: e.g. max_new_tokens=50."
            )
        if max_new_tokens < 0:
            raise ValueError(f"GPT.generate max_new_tokens must be an int >= 0, got {max_new_tokens}. Hint: e.g. max_new_tokens=50.")
        if not _is_real(temperature) or not (math.isfinite(temperature) and temperature > 0):
            raise ValueError(
                f"GPT.generate temperature must be a finite number > 0, got {temperature!r}. "
                "Hint: 1.0 samples from the model's distribution, < 1 is more conservative; for greedy decoding use top_k=1."
            )
        if top_k is not None:
            if isinstance(top_k, bool) or not isinstance(top_k, (numbers.Integral, np.integer)):
                raise TypeError(
                    f"GPT.generate top_k must be None or an int in [1, {self.vocab_size}], got {type(top_k).__name__} {top_k!r}. "
                    "Hint: top_k=1 is greedy decoding, None samples from every id."
                )
            if not 1 <= top_k <= self.vocab_size:
                raise ValueError(
                    f"GPT.generate top_k must be None or an int in [1, {self.vocab_size}] (vocab_size), got {top_k}. "
                    "Hint: top_k=1 is greedy decoding, None samples from every id."
                )
        gen = make_rng(seed, rng)

        seqs = prompt[None, :] if prompt.ndim == 1 else prompt
        modules = _module_tree(self)
        modes = [m.training for m in modules]
        for m in modules:
            m.training = False
        try:
            with no_grad():
                for _ in range(int(max_new_tokens)):
                    context = seqs[:, -self.max_seq_len:]
                    logits = self.forward(context).data[:, -1, :]        # (batch, vocab_size)
                    next_ids = _sample_next(logits, float(temperature), top_k, gen)
                    seqs = np.concatenate([seqs, next_ids[:, None]], axis=1)
        finally:
            for m, mode in zip(modules, modes):
                m.training = mode
        return Tensor(seqs[0] if prompt.ndim == 1 else seqs)

    def __repr__(self) -> str:
        return (
            f"GPT(vocab_size={self.vocab_size}, embed_dim={self.embed_dim}, num_layers={self.num_layers}, "
            f"num_heads={self.num_heads}, max_seq_len={self.max_seq_len}, tie_weights={self.tie_weights})"
        )
