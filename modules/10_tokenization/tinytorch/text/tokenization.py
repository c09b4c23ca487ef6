"""Tokenization: turning text into integer ids a model can embed, and back.

Two tokenizers share one base class:

* ``CharTokenizer`` -- one id per character. Tiny vocabulary, long sequences.
* ``BPETokenizer`` -- byte-level byte-pair encoding (the GPT-2 family's idea).
  It starts from the 256 possible byte values, so it can encode *any* string,
  then learns merges of frequent adjacent pairs to shorten sequences.

Both reserve the same four special tokens at fixed ids, so code downstream
(embeddings, attention masks, losses with ``ignore_index``) can rely on them:

    ======  ==  ===================================================
    token   id  meaning
    ======  ==  ===================================================
    <UNK>   0   a symbol the vocabulary does not contain
    <PAD>   1   filler appended to short sequences in a batch
    <BOS>   2   beginning of sequence (``add_special_tokens=True``)
    <EOS>   3   end of sequence (``add_special_tokens=True``)
    ======  ==  ===================================================

Shapes (plain Python lists, no numpy needed):

    encode:       str                 -> (seq_len,)            list[int]
    decode:       (seq_len,) ints     -> str   (a list/tuple of ints, or a 1-D
                                                integer numpy array / Tensor)
    encode_batch: (batch,) list[str]  -> input_ids / attention_mask,
                                         each (batch, padded_len) list[list[int]]

This module uses only the standard library.
"""

import heapq
import numbers
import re
import string
from collections.abc import Iterable
from typing import Dict, List, Optional, Sequence, Tuple, Union

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

UNK_TOKEN = "<UNK>"
PAD_TOKEN = "<PAD>"
BOS_TOKEN = "<BOS>"
EOS_TOKEN = "<EOS>"

UNK_ID = 0
PAD_ID = 1
BOS_ID = 2
EOS_ID = 3

# Index == id, so SPECIAL_TOKENS[PAD_ID] == "<PAD>". A tuple so nobody can
# reorder the fixed ids by accident.
SPECIAL_TOKENS = (UNK_TOKEN, PAD_TOKEN, BOS_TOKEN, EOS_TOKEN)

_NUM_SPECIAL = len(SPECIAL_TOKENS)

# Default CharTokenizer symbols: printable ASCII (letters, digits, punctuation,
# space, tab, newline, carriage return) in code-point order. Vertical tab and
# form feed are left out: they are "printable" to Python but never useful as
# text and would only waste ids. With the 4 specials first this gives ids
# '\t'=4, '\n'=5, '\r'=6, and ord(c) - 25 for every c from ' ' (7) to '~' (101).
DEFAULT_CHAR_VOCAB = tuple(sorted(set(string.printable) - {"\x0b", "\x0c"}))

# BPE never merges across these chunk boundaries (GPT-2 style pre-tokenization):
# an optional leading space plus a run of letters, or of digits, or of other
# non-space symbols, or a run of whitespace. Keeping words apart makes merges
# meaningful ("ing", " the") and training fast (each distinct chunk is counted
# once). The alternatives cover every character, so the chunks of a text
# always concatenate back to the text itself.
BPE_PRETOKENIZE_PATTERN = r" ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+"

_BYTE_OFFSET = _NUM_SPECIAL  # id of byte value b is _BYTE_OFFSET + b
_MIN_BPE_VOCAB = _NUM_SPECIAL + 256


# --------------------------------------------------------------------------
# input validation helpers (shared so every tokenizer reports errors alike)
# --------------------------------------------------------------------------

def _check_text(text, what="text"):
    if not isinstance(text, str):
        raise TypeError(
            f"{what} must be a str, got {type(text).__name__} ({text!r:.60}); "
            "hint: decode bytes first, e.g. data.decode('utf-8')"
        )


def _corpus_texts(corpus) -> List[str]:
    """str or iterable of str -> list of str; rejects empty corpora."""
    if isinstance(corpus, str):
        texts = [corpus]
    elif isinstance(corpus, (bytes, bytearray)):
        raise TypeError(
            f"corpus must be a str or an iterable of str, got {type(corpus).__name__}; "
            "hint: decode bytes first, e.g. data.decode('utf-8')"
        )
    else:
        try:
            texts = list(corpus)
        except TypeError:
            raise TypeError(
                f"corpus must be a str or an iterable of str, got {type(corpus).__name__}"
            ) from None
        for i, t in enumerate(texts):
            _check_text(t, what=f"corpus[{i}]")
    if not any(texts):
        raise ValueError(
            f"corpus is empty ({len(texts)} text(s), 0 characters); "
            "hint: pass at least one non-empty string"
        )
    return texts


def _check_bool(name, value) -> bool:
    """Real booleans only: a truthy string like 'no' must not silently mean True."""
    # numpy's bool type is recognised by name because this module does not import numpy.
    is_numpy_bool = type(value).__module__ == "numpy" and type(value).__name__ in ("bool_", "bool")
    if not (isinstance(value, bool) or is_numpy_bool):
        raise TypeError(
            f"{name} must be True or False, got {type(value).__name__} ({value!r:.60}); "
            f"hint: pass {name}=True or {name}=False"
        )
    return bool(value)


def _array_like_ids(ids):
    """A numpy array, or a Tensor-like object (``__array__`` or an array ``.data``), -> list of
    Python ints; None for anything else (plain sequences are checked item by item later).

    Duck-typed, because this module uses only the standard library: anything whose array has an
    integer ``dtype.kind`` ('i' or 'u'), a ``ndim`` of 1 and ``tolist()`` is accepted.
    """
    if hasattr(ids, "__array__"):
        array = ids.__array__()
    else:
        array = getattr(ids, "data", None)
    dtype = getattr(array, "dtype", None)
    if dtype is None or not hasattr(array, "tolist") or not hasattr(array, "ndim"):
        return None
    if getattr(dtype, "kind", None) not in ("i", "u"):
        raise TypeError(
            f"ids must hold integer token ids, got {type(ids).__name__} of dtype {dtype}; "
            "hint: convert to integers first, e.g. arr.astype(np.int64) or Tensor(t, dtype=np.int64)"
        )
    if array.ndim == 0:
        raise TypeError(
            f"ids must be a sequence of ints, got a single id ({type(ids).__name__} {array.tolist()!r}); "
            "hint: wrap a single id in a list, e.g. decode([5])"
        )
    if array.ndim != 1:
        raise ValueError(
            f"ids must be 1-D (seq_len,), got {type(ids).__name__} of shape {tuple(getattr(array, 'shape', ()))}; "
            "hint: decode one row at a time, e.g. [tok.decode(row) for row in batch_ids]"
        )
    return array.tolist()


def _check_int_arg(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name}={value} is out of range: must be >= {minimum}")
    return value


# --------------------------------------------------------------------------
# batch container
# --------------------------------------------------------------------------

class BatchEncoding(dict):
    """Result of ``encode_batch``: a dict with two equally shaped entries.

    ``input_ids``      (batch, padded_len) list[list[int]], padded with PAD_ID
    ``attention_mask`` (batch, padded_len) list[list[int]], 1 = real token, 0 = pad

    Works both as ``enc["input_ids"]`` (HuggingFace style) and
    ``enc.input_ids``. Rows are plain lists; ``numpy.array(enc.input_ids)``
    gives an int array when padding made them equal length.
    """

    @property
    def input_ids(self) -> List[List[int]]:
        return self["input_ids"]

    @property
    def attention_mask(self) -> List[List[int]]:
        return self["attention_mask"]

    def __repr__(self):
        return f"BatchEncoding(input_ids={self.input_ids!r}, attention_mask={self.attention_mask!r})"


# --------------------------------------------------------------------------
# base class
# --------------------------------------------------------------------------

class Tokenizer:
    """Interface shared by all tokenizers.

    Subclasses implement three things:

    * ``_encode_text(text) -> list[int]`` -- ids for ``text`` without specials
    * ``_decode_ids(ids, skip_special_tokens) -> str`` -- ids already validated
    * ``vocab_size`` -- number of ids, all in ``[0, vocab_size)``

    and inherit ``encode``, ``decode`` (with type/range checks) and
    ``encode_batch`` (padding, truncation, attention mask).
    """

    unk_id = UNK_ID
    pad_id = PAD_ID
    bos_id = BOS_ID
    eos_id = EOS_ID

    # -- to be provided by subclasses --------------------------------------

    @property
    def vocab_size(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must implement the vocab_size property")

    def _encode_text(self, text: str) -> List[int]:
        raise NotImplementedError(f"{type(self).__name__} must implement _encode_text() to support encode()")

    def _decode_ids(self, ids: List[int], skip_special_tokens: bool) -> str:
        raise NotImplementedError(f"{type(self).__name__} must implement _decode_ids() to support decode()")

    # -- public API ---------------------------------------------------------

    def encode(self, text: str, add_special_tokens: bool = False) -> List[int]:
        """str -> (seq_len,) list[int].

        With ``add_special_tokens=True`` the ids are wrapped as
        ``[BOS_ID, ..., EOS_ID]``.
        """
        _check_text(text)
        add_special_tokens = _check_bool("add_special_tokens", add_special_tokens)
        ids = self._encode_text(text)
        if add_special_tokens:
            ids = [BOS_ID] + ids + [EOS_ID]
        return ids

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = True) -> str:
        """(seq_len,) ints -> str.

        ``ids`` is a list/tuple of ints or a 1-D integer array: a numpy array,
        or a Tensor (anything with ``__array__`` or an array ``.data``).
        Special tokens (including ``<UNK>``) are dropped by default, as in
        HuggingFace; pass ``skip_special_tokens=False`` to see them as their
        text (``"<PAD>"`` etc.).
        """
        skip_special_tokens = _check_bool("skip_special_tokens", skip_special_tokens)
        return self._decode_ids(self._validate_ids(ids), skip_special_tokens)

    def encode_batch(
        self,
        texts: Sequence[str],
        max_length: Optional[int] = None,
        padding: Union[bool, str] = True,
        truncation: bool = False,
        add_special_tokens: bool = False,
    ) -> BatchEncoding:
        """(batch,) list[str] -> BatchEncoding of (batch, padded_len) lists.

        padding:
            ``True``         pad to ``max_length`` if given, else to the longest
                             sequence in the batch (the default);
            ``"longest"``    always pad to the longest sequence in the batch;
            ``"max_length"`` pad to ``max_length`` (which must be given);
            ``False``        no padding: rows keep their own lengths.
        Padding goes on the right with ``PAD_ID``; ``attention_mask`` is 1 for
        real tokens (including BOS/EOS) and 0 for padding.

        truncation: when ``True``, sequences longer than ``max_length`` are cut
        to ``max_length`` (keeping BOS/EOS if ``add_special_tokens``); it needs
        ``max_length``. When ``False``, such a sequence raises ``ValueError``.
        """
        if isinstance(texts, str) or not isinstance(texts, (list, tuple)):
            raise TypeError(
                f"texts must be a list or tuple of str, got {type(texts).__name__}; "
                "hint: for a single string use encode(text) or encode_batch([text])"
            )
        for i, text in enumerate(texts):
            _check_text(text, what=f"texts[{i}]")
        truncation = _check_bool("truncation", truncation)
        add_special_tokens = _check_bool("add_special_tokens", add_special_tokens)
        if truncation and max_length is None:
            # Without a limit there is nothing to cut to; silently not truncating hides the mistake.
            raise ValueError("truncation=True needs max_length; hint: pass max_length=N (e.g. the model's max_seq_len)")

        if max_length is not None:
            minimum = 2 if add_special_tokens else 1
            max_length = _check_int_arg("max_length", max_length, minimum)

        if padding is True or (padding == "max_length" and max_length is not None):
            target = max_length  # None -> longest, resolved below
        elif padding == "longest":
            target = None
        elif padding == "max_length":
            raise ValueError("padding='max_length' needs max_length; hint: pass max_length=N or use padding='longest'")
        elif padding is False or padding == "do_not_pad":
            target = -1  # sentinel: no padding
        else:
            raise ValueError(
                f"padding={padding!r} is not supported; "
                "use True, False, 'longest', 'max_length' or 'do_not_pad'"
            )

        rows: List[List[int]] = []
        for i, text in enumerate(texts):
            body = self._encode_text(text)
            n_special = 2 if add_special_tokens else 0
            length = len(body) + n_special
            if max_length is not None and length > max_length:
                if not truncation:
                    raise ValueError(
                        f"texts[{i}] encodes to {length} tokens, longer than max_length={max_length}; "
                        "hint: pass truncation=True to cut it, or raise max_length"
                    )
                body = body[: max_length - n_special]
            rows.append([BOS_ID] + body + [EOS_ID] if add_special_tokens else body)

        if target == -1:
            input_ids = rows
            attention_mask = [[1] * len(r) for r in rows]
        else:
            width = target if target is not None else max((len(r) for r in rows), default=0)
            input_ids = [r + [PAD_ID] * (width - len(r)) for r in rows]
            attention_mask = [[1] * len(r) + [0] * (width - len(r)) for r in rows]
        return BatchEncoding(input_ids=input_ids, attention_mask=attention_mask)

    def __len__(self) -> int:
        return self.vocab_size

    # -- helpers --------------------------------------------------------------

    def _validate_ids(self, ids) -> List[int]:
        as_list = _array_like_ids(ids)
        if as_list is not None:
            ids = as_list
        if isinstance(ids, (str, bytes, bytearray)) or not isinstance(ids, Iterable):
            raise TypeError(
                f"ids must be a sequence of ints, got {type(ids).__name__} ({ids!r:.60}); "
                "hint: wrap a single id in a list, e.g. decode([5])"
            )
        size = self.vocab_size
        out = []
        for pos, i in enumerate(ids):
            # numbers.Integral admits numpy integers; bool is excluded because
            # True/False as token ids is almost certainly a mistake.
            if isinstance(i, bool) or not isinstance(i, numbers.Integral):
                raise TypeError(
                    f"ids[{pos}] must be an int, got {type(i).__name__} ({i!r}); "
                    "hint: convert float arrays with .astype(int) or int(x)"
                )
            i = int(i)
            if not 0 <= i < size:
                raise ValueError(
                    f"token id {i} at position {pos} is out of range [0, {size}) "
                    f"for this {type(self).__name__} (vocab_size={size})"
                )
            out.append(i)
        return out


# --------------------------------------------------------------------------
# character tokenizer
# --------------------------------------------------------------------------

class CharTokenizer(Tokenizer):
    """One id per character.

    ``CharTokenizer(vocab=None)``:
        ``vocab`` is an iterable of single characters (a str like ``"abc"``
        works). Ids are the 4 specials (0..3) followed by the given characters
        in order (duplicates and special-token strings are skipped); at least
        one character besides the specials is required. With
        ``vocab=None`` the default is ``DEFAULT_CHAR_VOCAB``: printable ASCII
        (without vertical tab / form feed), giving vocab_size 102.

    ``build_vocab(corpus)`` replaces the vocabulary with the specials followed
    by the corpus's unique characters in sorted (code point) order.

    Unknown characters encode to ``UNK_ID`` (0).
    """

    def __init__(self, vocab: Optional[Iterable[str]] = None):
        self._set_vocab(DEFAULT_CHAR_VOCAB if vocab is None else vocab)

    def _set_vocab(self, symbols) -> None:
        if isinstance(symbols, (bytes, bytearray)) or not isinstance(symbols, Iterable):
            raise TypeError(
                f"vocab must be an iterable of single-character str, got {type(symbols).__name__} ({symbols!r:.60}); "
                "hint: pass a str like 'abc', a list of characters, or vocab=None for printable ASCII"
            )
        vocab = list(SPECIAL_TOKENS)
        seen = set(vocab)
        for pos, ch in enumerate(symbols):
            if not isinstance(ch, str):
                raise TypeError(f"vocab[{pos}] must be a str, got {type(ch).__name__} ({ch!r})")
            if ch in seen:
                continue
            if len(ch) != 1:
                raise ValueError(
                    f"vocab[{pos}]={ch!r} has length {len(ch)}, CharTokenizer symbols must be single "
                    "characters; hint: use BPETokenizer for multi-character tokens"
                )
            seen.add(ch)
            vocab.append(ch)
        if len(vocab) == _NUM_SPECIAL:
            # Only specials would map every character of every text to <UNK>.
            raise ValueError(
                f"vocab {symbols!r:.60} has no characters besides the special tokens, so every character "
                "would encode to <UNK>; hint: pass at least one character, or vocab=None for printable ASCII"
            )
        self._vocab = vocab
        self._token_to_id = {tok: i for i, tok in enumerate(vocab)}

    def build_vocab(self, corpus: Union[str, Iterable[str]]) -> None:
        """Set vocab to specials + sorted unique characters of ``corpus``."""
        texts = _corpus_texts(corpus)
        chars = set()
        for text in texts:
            chars.update(text)
        self._set_vocab(sorted(chars))

    @property
    def vocab(self) -> List[str]:
        """Symbols by id: ``vocab[i]`` is the token with id ``i`` (a copy)."""
        return list(self._vocab)

    @property
    def token_to_id(self) -> Dict[str, int]:
        """symbol -> id (a copy)."""
        return dict(self._token_to_id)

    # upstream TinyTorch name
    char_to_id = token_to_id

    @property
    def vocab_size(self) -> int:
        return len(self._vocab)

    def _encode_text(self, text: str) -> List[int]:
        lookup = self._token_to_id
        # Only single characters are looked up, so the text "<PAD>" is five
        # ordinary characters, never the padding token.
        return [lookup.get(ch, UNK_ID) for ch in text]

    def _decode_ids(self, ids: List[int], skip_special_tokens: bool) -> str:
        vocab = self._vocab
        if skip_special_tokens:
            return "".join(vocab[i] for i in ids if i >= _NUM_SPECIAL)
        return "".join(vocab[i] for i in ids)

    def convert_ids_to_tokens(self, ids: Sequence[int]) -> List[str]:
        """(seq_len,) ints -> the symbol of each id, specials included."""
        return [self._vocab[i] for i in self._validate_ids(ids)]

    def __repr__(self):
        return f"CharTokenizer(vocab_size={self.vocab_size})"


# --------------------------------------------------------------------------
# byte-level BPE
# --------------------------------------------------------------------------

def _merge_pair(tokens: List[int], a: int, b: int, new_id: int) -> List[int]:
    """Replace every non-overlapping (a, b), scanning left to right, by new_id."""
    out = []
    i = 0
    n = len(tokens)
    while i < n:
        if i + 1 < n and tokens[i] == a and tokens[i + 1] == b:
            out.append(new_id)
            i += 2
        else:
            out.append(tokens[i])
            i += 1
    return out


def _utf8(text: str) -> bytes:
    # surrogatepass lets even lone surrogates (legal in a Python str, illegal
    # in UTF-8) survive an encode/decode round trip.
    return text.encode("utf-8", "surrogatepass")


class BPETokenizer(Tokenizer):
    """Byte-level byte-pair encoding.

    Vocabulary layout (``vocab[i]`` is the token with id ``i``):

        0..3            the special tokens, as str ("<UNK>", ...)
        4..259          single bytes ``bytes([b])`` for b = 0..255 (id = 4 + b)
        260..           learned merges, as the bytes they stand for

    Because every byte has an id, ``encode`` never needs ``<UNK>`` and
    ``decode(encode(s)) == s`` for every str ``s`` (emoji, CJK, combining
    marks, text never seen in training). An untrained tokenizer is a plain
    byte tokenizer.

    ``train(corpus)`` learns merges: text is split into chunks by
    ``BPE_PRETOKENIZE_PATTERN`` (merges never cross chunk boundaries), then
    the most frequent adjacent pair is merged, repeatedly, until the
    vocabulary has ``vocab_size`` entries or no pair occurs at least twice.
    Ties go to the lexicographically smallest pair of byte strings, so
    training is deterministic.
    """

    pretokenize_pattern = BPE_PRETOKENIZE_PATTERN

    def __init__(self, vocab_size: int = 512):
        self.target_vocab_size = self._check_vocab_size(vocab_size)
        self._chunker = re.compile(self.pretokenize_pattern)
        self._reset()

    @staticmethod
    def _check_vocab_size(vocab_size) -> int:
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, numbers.Integral):
            raise TypeError(f"vocab_size must be an int, got {type(vocab_size).__name__} ({vocab_size!r})")
        if vocab_size < _MIN_BPE_VOCAB:
            raise ValueError(
                f"vocab_size={vocab_size} is too small: the minimum is {_MIN_BPE_VOCAB} "
                f"({_NUM_SPECIAL} special tokens + 256 byte tokens); hint: use vocab_size >= {_MIN_BPE_VOCAB}"
            )
        return int(vocab_size)

    def _reset(self) -> None:
        # Token bytes by id; specials get their text so skip_special_tokens=False can show them.
        self._bytes: List[bytes] = [t.encode("ascii") for t in SPECIAL_TOKENS]
        self._bytes += [bytes([b]) for b in range(256)]
        self._merges: List[Tuple[int, int]] = []
        self._ranks: Dict[Tuple[int, int], int] = {}  # (a, b) -> id of the merged token
        self._cache: Dict[str, List[int]] = {}

    # -- introspection --------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        """Current number of ids (260 before training, up to target after)."""
        return len(self._bytes)

    @property
    def vocab(self) -> List[Union[str, bytes]]:
        """Tokens by id: specials as str, every other token as its bytes."""
        return list(SPECIAL_TOKENS) + self._bytes[_NUM_SPECIAL:]

    @property
    def merges(self) -> List[Tuple[bytes, bytes]]:
        """Learned merges in order, as byte pairs; merge k created id 260 + k."""
        return [(self._bytes[a], self._bytes[b]) for a, b in self._merges]

    @property
    def merge_ids(self) -> List[Tuple[int, int]]:
        """Learned merges in order, as id pairs; merge k created id 260 + k."""
        return list(self._merges)

    def convert_ids_to_tokens(self, ids: Sequence[int]) -> List[str]:
        """(seq_len,) ints -> readable token strings.

        Bytes that are not valid UTF-8 on their own (part of a multi-byte
        character) are shown as ``\\xNN`` escapes.
        """
        out = []
        for i in self._validate_ids(ids):
            if i < _NUM_SPECIAL:
                out.append(SPECIAL_TOKENS[i])
            else:
                out.append(self._bytes[i].decode("utf-8", "backslashreplace"))
        return out

    # -- training ------------------------------------------------------------

    def train(self, corpus: Union[str, Iterable[str]], vocab_size: Optional[int] = None) -> None:
        """Learn merges from ``corpus`` (a str or an iterable of str).

        Separate strings are separate documents: no pair spans two of them.
        Any earlier training is discarded. ``vocab_size`` overrides the
        target given to the constructor.
        """
        if vocab_size is not None:
            self.target_vocab_size = self._check_vocab_size(vocab_size)
        texts = _corpus_texts(corpus)
        self._reset()

        # Each distinct chunk is processed once, weighted by how often it occurs.
        chunk_freq: Dict[str, int] = {}
        for text in texts:
            for chunk in self._chunker.findall(text):
                chunk_freq[chunk] = chunk_freq.get(chunk, 0) + 1
        words = [[_BYTE_OFFSET + b for b in _utf8(c)] for c in chunk_freq]
        freqs = list(chunk_freq.values())

        # pair -> total count, and pair -> indices of words that (may) contain it.
        # Keeping both lets a merge touch only the words containing the pair
        # instead of recounting the whole corpus every step.
        counts: Dict[Tuple[int, int], int] = {}
        where: Dict[Tuple[int, int], set] = {}
        for w, (tokens, f) in enumerate(zip(words, freqs)):
            for pair in zip(tokens, tokens[1:]):
                counts[pair] = counts.get(pair, 0) + f
                where.setdefault(pair, set()).add(w)

        # Max-heap on count with ties broken by the pair's bytes (then ids, in
        # case two merges produced equal bytes). Entries go stale when counts
        # change; a popped entry is used only if it still matches the count.
        tok_bytes = self._bytes

        def heap_entry(pair):
            return (-counts[pair], tok_bytes[pair[0]], tok_bytes[pair[1]], pair)

        heap = [heap_entry(p) for p in counts]
        heapq.heapify(heap)

        while len(tok_bytes) < self.target_vocab_size:
            best = None
            while heap:
                neg, _, _, pair = heapq.heappop(heap)
                if counts.get(pair, 0) == -neg:
                    best = pair
                    break
            if best is None or counts[best] < 2:
                break

            a, b = best
            new_id = len(tok_bytes)
            tok_bytes.append(tok_bytes[a] + tok_bytes[b])
            self._merges.append(best)
            self._ranks[best] = new_id

            changed = set()
            for w in where.pop(best):
                old = words[w]
                new = _merge_pair(old, a, b, new_id)
                if len(new) == len(old):
                    continue  # stale entry: the pair left this word earlier
                f = freqs[w]
                for pair in zip(old, old[1:]):
                    counts[pair] -= f
                    changed.add(pair)
                for pair in zip(new, new[1:]):
                    counts[pair] = counts.get(pair, 0) + f
                    where.setdefault(pair, set()).add(w)
                    changed.add(pair)
                words[w] = new
            for pair in changed:
                c = counts[pair]
                if c > 0:
                    heapq.heappush(heap, heap_entry(pair))
                else:
                    del counts[pair]
                    where.pop(pair, None)

    # -- encode / decode -------------------------------------------------------

    def _encode_chunk(self, chunk: str) -> List[int]:
        tokens = [_BYTE_OFFSET + b for b in _utf8(chunk)]
        ranks = self._ranks
        # Apply merges in the order they were learned: always merge the
        # present pair with the lowest merge id, exactly as training did.
        while len(tokens) > 1:
            best = min(zip(tokens, tokens[1:]), key=lambda p: ranks.get(p, float("inf")))
            new_id = ranks.get(best)
            if new_id is None:
                break
            tokens = _merge_pair(tokens, best[0], best[1], new_id)
        return tokens

    def _encode_text(self, text: str) -> List[int]:
        cache = self._cache
        ids: List[int] = []
        for chunk in self._chunker.findall(text):
            cached = cache.get(chunk)
            if cached is None:
                cached = self._encode_chunk(chunk)
                if len(cache) < 50_000:  # bound memory on huge inputs
                    cache[chunk] = cached
            ids.extend(cached)
        return ids

    def _decode_ids(self, ids: List[int], skip_special_tokens: bool) -> str:
        tok_bytes = self._bytes
        if skip_special_tokens:
            data = b"".join(tok_bytes[i] for i in ids if i >= _NUM_SPECIAL)
        else:
            data = b"".join(tok_bytes[i] for i in ids)
        try:
            return data.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            # An arbitrary id sequence can cut a multi-byte character in half;
            # show U+FFFD there instead of failing (what GPT-2/tiktoken do).
            return data.decode("utf-8", "replace")

    def __repr__(self):
        return (
            f"BPETokenizer(vocab_size={self.vocab_size}, target_vocab_size={self.target_vocab_size}, "
            f"merges={len(self._merges)})"
        )
