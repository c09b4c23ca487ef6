"""DataLoader: from a dataset of single samples to shuffled mini-batches with a leading batch dim.

    Dataset             the interface: len(dataset) and dataset[i] -> one sample
    TensorDataset       samples are the rows of tensors that share their first dimension
    TokenWindowDataset  language modelling: (input, target) windows of a token stream, where the
                        target is the input shifted by one token
    Sampler             the order of one epoch: iter(sampler) -> dataset indices, len(sampler)
    SequentialSampler   0 .. N - 1, every epoch
    RandomSampler       a fresh permutation every epoch, or num_samples indices drawn with
                        replacement (random windows of a corpus, as many as training needs)
    DataLoader          iterates over batches: orders the indices (in order, a fresh shuffle
                        every epoch, or a sampler's order), fetches batch_size samples, collates
                        them into Tensors
    default_collate     stacks each field of equally shaped samples: (batch, *sample_shape)
    pad_collate         pads variable-length token sequences and adds their attention_mask

For a language model the pipeline is

    token ids (N,) --TokenWindowDataset(seq_len)--> sample i: (input (seq_len,), target (seq_len,))
        --DataLoader(batch_size=B)--> (inputs (B, seq_len) int64, targets (B, seq_len) int64)
        --EmbeddingLayer (module 11)--> (B, seq_len, embed_dim) float32

and the last batch of an epoch has len(dataset) % B samples unless ``drop_last=True``.

dtype of a collated field: what ``Tensor(...)`` (module 01) gives it. Integers -> int64 (so token
ids index an embedding table as they are), Python/numpy floats -> float32, bool -> bool; a field
whose samples are Tensors keeps their dtype (a float64 Tensor stays float64). Batches are data:
they never require grad.

Shuffling moves indices, never data: an epoch costs one permutation of len(dataset) ints, and the
samples of one batch are fetched only when that batch is made. Each ``iter(loader)`` (one epoch)
draws a new permutation, from the loader's own ``np.random.default_rng(seed)`` when a seed is given
(the same seed gives the same sequence of epochs) and from numpy's global generator otherwise (so
``np.random.seed`` controls it). A sampler replaces that order: ``DataLoader(ds, batch_size=B,
sampler=RandomSampler(ds, replacement=True, num_samples=steps * B, seed=0))`` makes one epoch of
exactly ``steps`` batches of independently drawn samples.
"""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from collections.abc import Mapping

import numpy as np

from tinytorch.core.checks import check_bool, check_positive_int
from tinytorch.core.tensor import Tensor

__all__ = [
    "Dataset",
    "TensorDataset",
    "TokenWindowDataset",
    "Sampler",
    "SequentialSampler",
    "RandomSampler",
    "DataLoader",
    "default_collate",
    "pad_collate",
]

_PAD_COLLATE_HINT = (
    "variable-length token sequences need padding: DataLoader(..., collate_fn=pad_collate) pads them "
    "and returns an attention_mask"
)


# ----------------------------------------------------------------------------------------------
# Argument checks (shared, so every class reports errors alike)
# ----------------------------------------------------------------------------------------------
def _short(value, limit=60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_int(value) -> bool:
    """A real integer: Python or numpy ints, never bools (True is not a count)."""
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, (bool, np.bool_))


_LOADER_SEED_HINT = "Hint: seed=0 makes the shuffle reproducible; seed=None uses numpy's global generator."


def _check_seed(owner: str, seed, allowed="None or an int >= 0", examples="Allowed: 0, 1, 2, ... or None. ",
                hint=_LOADER_SEED_HINT):
    """None or an int >= 0 -> None or int; the samplers pass their own wording of what is allowed."""
    if seed is None:
        return None
    if not _is_int(seed):
        raise TypeError(f"{owner} seed must be {allowed}, got {type(seed).__name__} {_short(seed)}. {hint}")
    if seed < 0:
        raise ValueError(f"{owner} seed must be {allowed}, got {seed!r}. {examples}{hint}")
    return int(seed)


def _check_index(owner: str, idx, length: int) -> int:
    """``dataset[idx]``'s index as an int in 0 .. length - 1 (negative ints count from the end)."""
    if not _is_int(idx):
        raise TypeError(
            f"{owner} index must be an int, got {type(idx).__name__} {_short(idx)}. "
            "Hint: dataset[i] returns one sample; a DataLoader makes the batches."
        )
    if not -length <= idx < length:
        allowed = f"{-length}..{length - 1}" if length else "none, the dataset is empty"
        raise IndexError(
            f"{owner} index {idx} is out of range for {length} samples (allowed: {allowed}). "
            "Hint: valid samples are 0 .. len(dataset) - 1."
        )
    return int(idx) % length


# ----------------------------------------------------------------------------------------------
# Datasets
# ----------------------------------------------------------------------------------------------
class Dataset(ABC):
    """What every dataset provides (like ``torch.utils.data.Dataset``):

        len(dataset)   the number of samples
        dataset[i]     sample i, for 0 <= i < len(dataset): usually a tuple of fields such as
                       (features, label) or (input_ids, target_ids)

    Subclasses implement both; ``Dataset()`` itself raises TypeError (it is abstract). A
    DataLoader accepts any object with these two methods (a list of samples works too).
    """

    @abstractmethod
    def __len__(self) -> int:
        """The number of samples."""

    @abstractmethod
    def __getitem__(self, idx):
        """Sample ``idx`` (0 <= idx < len(self))."""


class TensorDataset(Dataset):
    """Samples are the rows of tensors that share their first dimension (like PyTorch's).

        ds = TensorDataset(features (N, 3), labels (N,))
        len(ds) == N;   ds[i] == (features[i] (3,), labels[i] ())

    Args:
        *tensors: one or more Tensors or numpy arrays, each with at least one dimension, all
            with the same first dimension N. numpy arrays become ``Tensor(array)`` (float ->
            float32, int -> int64); Tensors are kept as they are (the same objects and dtypes).

    Attributes:
        tensors: tuple of the Tensors.

    ``ds[i]`` is a tuple with row i of every tensor, as new Tensors of the same dtypes (copies
    that never require grad). Negative i counts from the end; out of range is an IndexError.
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError(
                "TensorDataset needs at least one tensor, got none. Hint: TensorDataset(features, labels)."
            )
        converted = []
        for pos, t in enumerate(tensors):
            if isinstance(t, np.ndarray):
                t = Tensor(t)
            elif not isinstance(t, Tensor):
                raise TypeError(
                    f"TensorDataset tensors[{pos}] must be a Tensor or a numpy array, got "
                    f"{type(t).__name__} {_short(t)}. Hint: convert it first, e.g. np.array(values) or Tensor(values)."
                )
            if t.ndim == 0:
                raise ValueError(
                    f"TensorDataset tensors[{pos}] is 0-d (shape ()), so it has no first dimension to take "
                    "samples from. Hint: stack the samples along axis 0, e.g. shape (N,) for N labels."
                )
            converted.append(t)
        lengths = [t.shape[0] for t in converted]
        if len(set(lengths)) != 1:
            shapes = ", ".join(f"tensors[{i}] {t.shape}" for i, t in enumerate(converted))
            raise ValueError(
                f"TensorDataset tensors must have the same first dimension (one row per sample), got "
                f"first dimensions {lengths} ({shapes}). Hint: every tensor needs one row per sample, "
                "e.g. features (N, d) with labels (N,)."
            )
        self.tensors = tuple(converted)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def __getitem__(self, idx):
        i = _check_index("TensorDataset", idx, len(self))
        return tuple(Tensor(t.data[i], dtype=t.dtype) for t in self.tensors)

    def __repr__(self) -> str:
        shapes = ", ".join(f"{t.shape} {t.dtype}" for t in self.tensors)
        return f"TensorDataset({len(self)} samples: {shapes})"


def _token_stream(token_ids) -> np.ndarray:
    """A corpus of token ids (list of ints, 1-D integer array or Tensor) -> (N,) int64 array."""
    if isinstance(token_ids, (str, bytes)):
        raise TypeError(
            f"TokenWindowDataset token_ids must be integer token ids, got {type(token_ids).__name__} "
            f"{_short(token_ids)}. Hint: encode the text first, e.g. token_ids = tokenizer.encode(text)."
        )
    data = token_ids.data if isinstance(token_ids, Tensor) else token_ids
    try:
        ids = np.asarray(data)
    except ValueError:
        ids = None  # ragged nested lists
    if ids is None or ids.ndim != 1:
        shape = "ragged" if ids is None else f"shape {ids.shape}"
        raise ValueError(
            f"TokenWindowDataset token_ids must be one 1-D stream of ids (N,), got {shape}. "
            "Hint: join the documents into one stream, e.g. sum(docs, []) or np.concatenate(docs)."
        )
    if ids.size and ids.dtype.kind not in "iu":
        raise TypeError(
            f"TokenWindowDataset token_ids must be integers, got dtype {ids.dtype} ({_short(token_ids)}). "
            "Hint: token ids come from tokenizer.encode(text); convert floats with .astype(np.int64)."
        )
    ids = ids.astype(np.int64)
    if ids.size and ids.min() < 0:
        pos = int(np.argmax(ids < 0))
        raise ValueError(
            f"TokenWindowDataset token_ids must be >= 0, got {ids[pos]} at position {pos}. "
            "Hint: negative ids are never valid token ids; check how the ids were computed."
        )
    return ids


class TokenWindowDataset(Dataset):
    """Next-token prediction samples from one stream of token ids (a language-model dataset).

        token_ids   t0 t1 t2 ... t(N-1)
        sample i    input  = token_ids[s     : s + seq_len]         with s = i * stride
                    target = token_ids[s + 1 : s + seq_len + 1]

    so target[j] is the token that follows input[j]. Both are (seq_len,) int64 Tensors, and a
    DataLoader stacks them into (batch, seq_len) int64 inputs and targets.

    Args:
        token_ids: the corpus as ids, e.g. ``tokenizer.encode(text)``: a list of ints, or a 1-D
            integer numpy array or Tensor. Needs at least seq_len + 1 tokens.
        seq_len: tokens per window, >= 1.
        stride: distance between the starts of consecutive windows, >= 1. None (the default)
            means seq_len: windows do not overlap, so each token is a target at most once per
            epoch. A smaller stride gives overlapping windows (more samples, tokens repeated).

    len(ds) = (N - seq_len - 1) // stride + 1. The last (N - seq_len - 1) % stride tokens are
    never a target (they do not fill a whole window).

    Attributes: token_ids ((N,) int64 numpy array, a copy), seq_len, stride.
    """

    def __init__(self, token_ids, seq_len: int, stride=None):
        self.token_ids = _token_stream(token_ids)
        self.seq_len = check_positive_int("seq_len", seq_len, "TokenWindowDataset", example="seq_len=32")
        self.stride = self.seq_len if stride is None else check_positive_int(
            "stride", stride, "TokenWindowDataset", example="stride=seq_len (no overlap) or stride=1 (every start)"
        )
        n, need = len(self.token_ids), self.seq_len + 1
        if n < need:
            fix = f" or a smaller seq_len (at most {n - 1})" if n >= 2 else ""
            raise ValueError(
                f"TokenWindowDataset needs at least seq_len + 1 = {need} tokens (seq_len={self.seq_len} "
                f"inputs, and targets shifted by one), but the corpus has {n} tokens. "
                f"Hint: use a longer corpus{fix}."
            )

    def __len__(self) -> int:
        return (len(self.token_ids) - self.seq_len - 1) // self.stride + 1

    def __getitem__(self, idx):
        start = _check_index("TokenWindowDataset", idx, len(self)) * self.stride
        window = self.token_ids[start : start + self.seq_len + 1]
        return Tensor(window[:-1]), Tensor(window[1:])

    def __repr__(self) -> str:
        return (
            f"TokenWindowDataset({len(self)} windows of seq_len={self.seq_len}, stride={self.stride}, "
            f"from {len(self.token_ids)} tokens)"
        )


# ----------------------------------------------------------------------------------------------
# Collation: a list of samples -> a batch
# ----------------------------------------------------------------------------------------------
def _structure(sample):
    """('tuple', number of fields), ('dict', keys) or ('single', None)."""
    if isinstance(sample, tuple):
        return "tuple", len(sample)
    if isinstance(sample, Mapping):
        return "dict", list(sample)
    return "single", None


def _describe(kind, key) -> str:
    return {"tuple": f"a tuple of {key} fields", "dict": f"a dict with keys {key}", "single": "a single field"}[kind]


def _sample_structure(batch, fn: str):
    """('tuple', n) / ('dict', keys) / ('single', None) of batch[0]; every sample must match it."""
    if not isinstance(batch, (list, tuple)) or len(batch) == 0:
        raise ValueError(
            f"{fn} needs a non-empty list of samples, got {type(batch).__name__} {_short(batch)}. "
            "Hint: a DataLoader calls it with [dataset[i] for i in the batch's indices]."
        )
    kind, key = _structure(batch[0])
    for i, sample in enumerate(batch):
        this, other = _structure(sample)
        if this != kind or (kind == "tuple" and other != key) or (kind == "dict" and set(other) != set(key)):
            raise ValueError(
                f"{fn}: sample {i} of the batch is {_describe(this, other)}, but sample 0 is "
                f"{_describe(kind, key)}. Hint: __getitem__ must return the same structure for every index."
            )
    return kind, key


def _stack_field(values, what: str) -> Tensor:
    """Equally shaped samples of one field -> Tensor (batch, *shape), Tensor dtype policy."""
    arrays = []
    for i, v in enumerate(values):
        try:
            arr = v.data if isinstance(v, Tensor) else np.asarray(v)
        except ValueError:
            raise ValueError(
                f"default_collate cannot stack {what}: sample {i} is a ragged nested list {_short(v)}. "
                f"Hint: {_PAD_COLLATE_HINT}."
            ) from None
        if arr.dtype.kind not in "biuf":
            raise TypeError(
                f"default_collate cannot stack {what}: sample {i} holds {type(v).__name__} {_short(v)} "
                f"(numpy dtype {arr.dtype}), not numbers. Allowed: Tensors, numpy arrays, numbers or lists "
                "of numbers. Hint: return numbers from __getitem__ (e.g. tokenizer.encode(text)), "
                "or pass DataLoader(..., collate_fn=...) for other data."
            )
        if arrays and arr.shape != arrays[0].shape:
            raise ValueError(
                f"default_collate cannot stack {what}: sample 0 has shape {arrays[0].shape} but sample {i} "
                f"has shape {arr.shape}, and stacking needs one shape. Hint: {_PAD_COLLATE_HINT}."
            )
        arrays.append(arr)
    dtypes = {v.dtype for v in values if isinstance(v, Tensor)}
    keep = dtypes.pop() if len(dtypes) == 1 and all(isinstance(v, Tensor) for v in values) else None
    return Tensor(np.stack(arrays), dtype=keep)


def default_collate(batch):
    """A list of samples -> one batch: each field stacked along a new leading (batch) axis.

        B samples (x (3,), y ())       -> (x (B, 3), y (B,))         a tuple of fields
        B samples {"ids": (seq,)}      -> {"ids": (B, seq)}          a dict of fields
        B samples Tensor (seq,)        -> Tensor (B, seq)            a single field

    A tuple sample is always a tuple of fields (what TensorDataset and TokenWindowDataset
    return); anything else that is not a dict (a Tensor, an array, a number, a list of numbers)
    is a single field. Every sample needs the same structure and each field the same shape;
    variable-length sequences need ``pad_collate``. dtypes follow the Tensor's policy (see the
    module docstring): integer fields are int64, float fields float32, Tensor fields keep theirs.
    """
    kind, key = _sample_structure(batch, "default_collate")
    if kind == "tuple":
        return tuple(_stack_field([s[k] for s in batch], f"field {k}") for k in range(key))
    if kind == "dict":
        return {k: _stack_field([s[k] for s in batch], f"field {k!r}") for k in key}
    return _stack_field(list(batch), "the samples")


def _id_sequence(value, where: str) -> np.ndarray:
    """One token sequence (list, 1-D integer array or Tensor) -> (L,) int64 array."""
    data = value.data if isinstance(value, Tensor) else value
    try:
        ids = np.asarray(data)
    except ValueError:
        ids = None
    if ids is None or ids.ndim != 1:
        got = "a ragged nested list" if ids is None else f"shape {ids.shape}" if ids.ndim else f"a single id {_short(value)}"
        raise ValueError(
            f"pad_collate pads 1-D token sequences, but {where} is {got}. Allowed: a list, 1-D numpy array or "
            "Tensor of ids, or a tuple of them (one per field). Hint: a tuple sample is a tuple of fields; "
            "pass one sequence as a list, array or Tensor."
        )
    if ids.size and ids.dtype.kind not in "iu":
        raise TypeError(
            f"pad_collate pads integer token ids, but {where} has dtype {ids.dtype} ({_short(value)}). "
            "Hint: token ids come from tokenizer.encode(text); convert with .astype(np.int64)."
        )
    return ids.astype(np.int64)


def pad_collate(batch, pad_id=0):
    """Pads variable-length token sequences on the right and returns them with an attention_mask.

        B samples ids (L_i,)                       -> (input_ids (B, L), attention_mask (B, L))
        B samples (input (L_i,), target (L_i,))    -> (inputs (B, L), targets (B, L), attention_mask (B, L))

    L is the longest sequence of the batch. Every output is an int64 Tensor. attention_mask is 1
    for real tokens and 0 for padding: module 10's ``BatchEncoding.attention_mask`` convention,
    which module 12's ``padding_mask`` and ``MultiHeadAttention(..., attention_mask=...)`` read.

    Args:
        batch: a list of samples. A sample is one sequence of integer ids (a list, 1-D numpy
            array or Tensor) or a tuple of sequences of equal length, one per field, such as
            (input, target).
        pad_id: the id written into padded positions: an int, or a tuple with one int per field,
            e.g. ``(PAD_ID, -100)`` pads targets with cross_entropy's default ignore_index.

    With a DataLoader: ``DataLoader(ds, collate_fn=pad_collate)`` pads with 0; for ids from
    module 10's tokenizers use ``functools.partial(pad_collate, pad_id=PAD_ID)`` (their <PAD> is
    1; 0 is <UNK>). The padded rows then equal ``tokenizer.encode_batch(texts).input_ids``.
    """
    kind, n_fields = _sample_structure(batch, "pad_collate")
    if kind == "dict":
        raise TypeError(
            "pad_collate takes samples that are sequences or tuples of sequences, got dicts. "
            "Hint: return (input_ids, target_ids) from __getitem__, or write a collate_fn for dicts."
        )
    n_fields = n_fields if kind == "tuple" else 1
    pads = pad_id if isinstance(pad_id, tuple) else (pad_id,) * n_fields
    if len(pads) != n_fields or not all(_is_int(p) for p in pads):
        raise TypeError(
            f"pad_collate pad_id must be an int or a tuple of {n_fields} int(s) (one per field), got "
            f"{type(pad_id).__name__} {_short(pad_id)}. Hint: pad_id=PAD_ID from tinytorch.text.tokenization, "
            "or (PAD_ID, -100) for (input, target) samples."
        )
    rows = []
    for i, sample in enumerate(batch):
        fields = sample if kind == "tuple" else (sample,)
        seqs = [_id_sequence(f, f"field {k} of sample {i}" if kind == "tuple" else f"sample {i}") for k, f in enumerate(fields)]
        lengths = [len(s) for s in seqs]
        if len(set(lengths)) > 1:
            raise ValueError(
                f"pad_collate needs the fields of a sample to have equal lengths (they share one attention_mask), "
                f"but sample {i} has field lengths {lengths}. Hint: for next-token prediction the target is the "
                "input shifted by one, so both have the same length."
            )
        rows.append(seqs)
    width = max(len(seqs[0]) for seqs in rows)
    padded = [np.full((len(rows), width), pads[k], dtype=np.int64) for k in range(n_fields)]
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, seqs in enumerate(rows):
        length = len(seqs[0])
        for k, seq in enumerate(seqs):
            padded[k][i, :length] = seq
        mask[i, :length] = 1
    return tuple(Tensor(p) for p in padded) + (Tensor(mask),)


# ----------------------------------------------------------------------------------------------
# Samplers: the order in which a DataLoader visits the indices of its dataset
# ----------------------------------------------------------------------------------------------
_SAMPLER_SEED_ALLOWED = "None, an int >= 0, or a non-empty list/tuple of ints >= 0 (what np.random.default_rng takes)"
_SAMPLER_SEED_HINT = (
    "Hint: seed=0 makes the order reproducible; seed=(run_seed, 1) gives a stream of its own that still "
    "derives from one run seed; seed=None uses numpy's global generator."
)


def _check_sampler_seed(owner: str, seed):
    """None, an int >= 0, or a non-empty list/tuple of ints >= 0 -> None, int or tuple of ints.

    A sequence is numpy's SeedSequence entropy: ``np.random.default_rng([7, 1])`` is a stream
    independent of ``default_rng(7)``, so one run seed can feed several generators."""
    if isinstance(seed, (list, tuple)):
        if not seed:
            raise ValueError(
                f"{owner} seed must be {_SAMPLER_SEED_ALLOWED}, got an empty {type(seed).__name__} {seed!r}. "
                f"{_SAMPLER_SEED_HINT}"
            )
        for pos, part in enumerate(seed):
            if not _is_int(part):
                raise TypeError(
                    f"{owner} seed[{pos}] must be an int >= 0, got {type(part).__name__} {_short(part)} in seed="
                    f"{_short(seed)}. Allowed: {_SAMPLER_SEED_ALLOWED}. {_SAMPLER_SEED_HINT}"
                )
            if part < 0:
                raise ValueError(
                    f"{owner} seed[{pos}] must be an int >= 0, got {part!r} in seed={_short(seed)}. "
                    f"Allowed: {_SAMPLER_SEED_ALLOWED}. {_SAMPLER_SEED_HINT}"
                )
        return tuple(int(part) for part in seed)
    return _check_seed(owner, seed, _SAMPLER_SEED_ALLOWED, "", _SAMPLER_SEED_HINT)


def _check_data_source(owner: str, data_source):
    """Anything with ``__len__`` (a sampler only needs the number of samples)."""
    if isinstance(data_source, type):
        raise TypeError(
            f"{owner} data_source must be a dataset object, got the class {data_source.__name__} itself. "
            f"Hint: pass an instance, e.g. {owner}({data_source.__name__}(...))."
        )
    if not hasattr(type(data_source), "__len__"):
        raise TypeError(
            f"{owner} data_source must have __len__ (the number of samples to order), got "
            f"{type(data_source).__name__} {_short(data_source)}. Allowed: a Dataset such as TensorDataset or "
            f"TokenWindowDataset, or a list of samples. Hint: {owner}(dataset), the dataset the DataLoader reads."
        )
    len(data_source)  # a broken __len__ fails here, not at the first epoch
    return data_source


class Sampler(ABC):
    """The order of one epoch (like ``torch.utils.data.Sampler``):

        iter(sampler)   the dataset indices of one epoch, as ints in 0 .. len(dataset) - 1;
                        each iter() is a new epoch, its order drawn at that call
        len(sampler)    how many indices one epoch yields

    ``DataLoader(dataset, batch_size=B, sampler=s)`` cuts the indices of ``iter(s)`` into
    consecutive chunks of B: batch k holds samples ``indices[k*B : (k+1)*B]``. Subclasses
    implement both methods; ``Sampler()`` itself raises TypeError (it is abstract).
    """

    @abstractmethod
    def __iter__(self):
        """An iterator over the indices of one epoch."""

    @abstractmethod
    def __len__(self) -> int:
        """The number of indices per epoch."""


class SequentialSampler(Sampler):
    """Indices 0, 1, ..., N - 1 every epoch, N = len(data_source) (like PyTorch's): the order of
    ``DataLoader(dataset)`` without shuffle.

    Args:
        data_source: the dataset to order (anything with ``__len__``).
    """

    def __init__(self, data_source):
        self.data_source = _check_data_source("SequentialSampler", data_source)

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)

    def __repr__(self) -> str:
        return f"SequentialSampler({len(self)} samples)"


class RandomSampler(Sampler):
    """Random indices of a dataset of N = len(data_source) samples (like PyTorch's, with numpy).

        RandomSampler(ds)                                       one permutation of 0 .. N - 1 per epoch
        RandomSampler(ds, replacement=True, num_samples=M)      M independent uniform draws from
                                                                0 .. N - 1 per epoch (repeats allowed)

    Args:
        data_source: the dataset to sample from (anything with ``__len__``), at least 1 sample.
        replacement: False (default) draws without replacement: each epoch is a new permutation.
            True draws every index independently: ``rng.integers(0, N, size=num_samples)``.
        num_samples: indices per epoch, an int >= 1; None means N. Without replacement,
            num_samples > N concatenates num_samples // N permutations and the first
            num_samples % N indices of one more (PyTorch's rule); num_samples < N is the first
            num_samples indices of one permutation, so no index repeats within an epoch.
        seed: None, an int >= 0, or a non-empty list/tuple of ints >= 0. With a seed the sampler
            owns ``np.random.default_rng(seed)``: two samplers with the same seed give the same
            epochs, and each epoch of one sampler continues its generator (a new order). A
            tuple such as ``(run_seed, 1)`` is numpy's way to derive independent streams from
            one run seed (the analogue of PyTorch's ``generator=``). With None the order comes
            from numpy's global generator, so ``np.random.seed(...)`` controls it.

    The order of an epoch is drawn at ``iter(sampler)``, all at once: M ints, never samples.
    ``RandomSampler(ds, seed=s)`` gives the epochs of ``DataLoader(ds, shuffle=True, seed=s)``.
    """

    def __init__(self, data_source, replacement: bool = False, num_samples=None, seed=None):
        self.data_source = _check_data_source("RandomSampler", data_source)
        self.replacement = check_bool("replacement", replacement, "RandomSampler")
        self._num_samples = None if num_samples is None else check_positive_int(
            "num_samples", num_samples, "RandomSampler", example="num_samples=steps * batch_size"
        )
        self.seed = _check_sampler_seed("RandomSampler", seed)
        if len(data_source) == 0:
            raise ValueError(
                f"RandomSampler data_source has 0 samples, so there is no index to draw (allowed: at least 1 "
                f"sample), got {type(data_source).__name__} {_short(data_source)}. Hint: check that the dataset "
                "was built from a non-empty corpus or array."
            )
        self._rng = None if self.seed is None else np.random.default_rng(self.seed)

    @property
    def num_samples(self) -> int:
        """Indices per epoch: the num_samples given, else len(data_source)."""
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __len__(self) -> int:
        return self.num_samples

    def __iter__(self):
        return iter(self._draw().tolist())

    def _draw(self) -> np.ndarray:
        """The (num_samples,) int64 indices of one epoch."""
        n, m = len(self.data_source), self.num_samples
        if self.replacement:
            if self._rng is not None:
                return self._rng.integers(0, n, size=m)
            return np.random.randint(0, n, size=m, dtype=np.int64)  # numpy's global generator
        permute = self._rng.permutation if self._rng is not None else np.random.permutation
        whole, rest = divmod(m, n)
        parts = [permute(n) for _ in range(whole)]
        if rest:
            parts.append(permute(n)[:rest])
        return np.concatenate(parts)

    def __repr__(self) -> str:
        return (
            f"RandomSampler({len(self.data_source)} samples, replacement={self.replacement}, "
            f"num_samples={self.num_samples}, seed={self.seed})"
        )


# ----------------------------------------------------------------------------------------------
# DataLoader
# ----------------------------------------------------------------------------------------------
def _check_dataset(dataset):
    what = f"{type(dataset).__name__} {_short(dataset)}"
    if isinstance(dataset, type):
        raise TypeError(
            f"DataLoader dataset must be a dataset object, got the class {dataset.__name__} itself. "
            f"Hint: pass an instance, e.g. DataLoader({dataset.__name__}(...))."
        )
    if isinstance(dataset, (str, bytes, Mapping)) or not (
        hasattr(type(dataset), "__len__") and hasattr(type(dataset), "__getitem__")
    ):
        raise TypeError(
            f"DataLoader dataset must have __len__ and __getitem__ (samples 0 .. len - 1), got {what}. "
            "Allowed: a Dataset such as TensorDataset or TokenWindowDataset, or a list of samples. "
            "Hint: wrap arrays with TensorDataset(features, labels)."
        )
    len(dataset)  # a broken __len__ fails here, once, not in the middle of an epoch
    return dataset


def _check_sampler(sampler, dataset, shuffle: bool, seed):
    """None or a Sampler instance, which then alone decides the order (no shuffle, no seed)."""
    if sampler is None:
        return None
    if isinstance(sampler, type):
        raise TypeError(
            f"DataLoader sampler must be a sampler object, got the class {sampler.__name__} itself. "
            f"Hint: pass an instance, e.g. sampler={sampler.__name__}(dataset)."
        )
    if not isinstance(sampler, Sampler):
        raise TypeError(
            f"DataLoader sampler must be None or a Sampler, got {type(sampler).__name__} {_short(sampler)}. "
            "Allowed: SequentialSampler, RandomSampler or a subclass of Sampler with __iter__ and __len__. "
            "Hint: sampler=RandomSampler(dataset, seed=0); for a fixed order of indices, subclass Sampler."
        )
    if shuffle:
        raise ValueError(
            f"DataLoader got shuffle=True and sampler={sampler!r}, but only one of them may decide the order "
            "(allowed: shuffle=True without a sampler, or a sampler with shuffle=False). Hint: drop shuffle=True; "
            "RandomSampler(dataset, seed=0) shuffles every epoch."
        )
    if seed is not None:
        raise ValueError(
            f"DataLoader got seed={seed!r} and sampler={sampler!r}, but the seed would be unused: the sampler "
            "decides the order (allowed: seed=None with a sampler). Hint: seed the sampler instead, "
            f"e.g. RandomSampler(dataset, seed={seed!r})."
        )
    # A sampler built on another dataset would index past this one's end, or never reach its tail.
    source = getattr(sampler, "data_source", None)
    if source is not None and source is not dataset and len(source) != len(dataset):
        raise ValueError(
            f"DataLoader sampler={sampler!r} orders the {len(source)} samples of its data_source, but the dataset "
            f"has {len(dataset)} samples (allowed: a data_source of the same length). Hint: build the sampler on "
            f"the loader's dataset, e.g. sampler={type(sampler).__name__}(dataset, ...)."
        )
    return sampler


class DataLoader:
    """Iterates over a dataset in mini-batches (like ``torch.utils.data.DataLoader``).

        loader = DataLoader(TensorDataset(x (N, 3), y (N,)), batch_size=B, shuffle=True, seed=0)
        for xb, yb in loader:   # xb (B, 3), yb (B,); the last batch has N % B samples
            ...

    Args:
        dataset: anything with ``__len__`` and ``__getitem__`` (a Dataset, or a list of samples).
        batch_size: samples per batch, an int >= 1.
        shuffle: False visits 0 .. N - 1 in order; True draws a new permutation every epoch.
        drop_last: True skips the last batch if it has fewer than batch_size samples.
        seed: None or an int >= 0. With a seed the loader owns ``np.random.default_rng(seed)``:
            two loaders with the same seed give the same epochs, and each epoch of one loader is
            a new permutation. With None the permutation comes from numpy's global generator, so
            ``np.random.seed(...)`` controls it. Unused when shuffle=False.
        collate_fn: turns the list of a batch's samples into the batch; default ``default_collate``
            (stack each field). ``pad_collate`` pads variable-length token sequences.
        sampler: None, or a Sampler that decides the order instead: each epoch is
            ``iter(sampler)``, cut into consecutive batches of batch_size indices (the last one
            partial, or dropped with drop_last). It excludes ``shuffle=True`` and ``seed`` (the
            sampler has its own, e.g. ``RandomSampler(dataset, seed=0)``).

    ``len(loader)`` is the number of batches per epoch: ceil(M / batch_size), or
    floor(M / batch_size) with drop_last, where M is len(sampler) with a sampler and N without.
    Arguments are checked here, once, not every epoch.

    Random windows of a corpus, drawn with replacement, for a training run of ``steps`` steps:

        windows = TokenWindowDataset(ids (N,), seq_len, stride=1)
        loader = DataLoader(windows, batch_size=B, sampler=RandomSampler(
            windows, replacement=True, num_samples=steps * B, seed=0))
        for inputs, targets in loader:   # steps batches, (B, seq_len) int64 each
            ...
    """

    def __init__(self, dataset, batch_size: int = 32, shuffle: bool = False, drop_last: bool = False,
                 seed=None, collate_fn=None, sampler=None):
        self.dataset = _check_dataset(dataset)
        self.batch_size = check_positive_int("batch_size", batch_size, "DataLoader", example="batch_size=32")
        self.shuffle = check_bool("shuffle", shuffle, "DataLoader")
        self.drop_last = check_bool("drop_last", drop_last, "DataLoader")
        self.seed = _check_seed("DataLoader", seed)
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(
                f"DataLoader collate_fn must be None or a function of a list of samples, got "
                f"{type(collate_fn).__name__} {_short(collate_fn)}. Hint: collate_fn=pad_collate, or leave "
                "it None for default_collate."
            )
        self.collate_fn = default_collate if collate_fn is None else collate_fn
        self.sampler = _check_sampler(sampler, self.dataset, self.shuffle, self.seed)
        self._rng = None if self.seed is None else np.random.default_rng(self.seed)

    def __len__(self) -> int:
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        b = self.batch_size
        return n // b if self.drop_last else (n + b - 1) // b

    def __iter__(self):
        """One epoch. The order is drawn now, at ``iter(loader)``; samples are fetched per batch."""
        return self._batches(iter(self.sampler) if self.sampler is not None else self._epoch_order())

    def _epoch_order(self):
        n = len(self.dataset)
        if not self.shuffle:
            return iter(range(n))
        if self._rng is not None:
            return iter(self._rng.permutation(n).tolist())
        return iter(np.random.permutation(n).tolist())  # numpy's global generator: np.random.seed controls it

    def _batches(self, indices):
        """Consecutive chunks of batch_size indices, each fetched and collated when it is made."""
        chunk = []
        for i in indices:
            chunk.append(i)
            if len(chunk) == self.batch_size:
                yield self._collate_batch([self.dataset[j] for j in chunk])
                chunk = []
        if chunk and not self.drop_last:
            yield self._collate_batch([self.dataset[j] for j in chunk])

    def _collate_batch(self, batch):
        """The samples of one batch -> the batch (upstream TinyTorch's name for the collate step)."""
        return self.collate_fn(batch)

    def __repr__(self) -> str:
        if self.sampler is not None:
            return (
                f"DataLoader({len(self.dataset)} samples, batch_size={self.batch_size}, sampler={self.sampler!r}, "
                f"drop_last={self.drop_last}: {len(self)} batches)"
            )
        return (
            f"DataLoader({len(self.dataset)} samples, batch_size={self.batch_size}, shuffle={self.shuffle}, "
            f"drop_last={self.drop_last}, seed={self.seed}: {len(self)} batches)"
        )
