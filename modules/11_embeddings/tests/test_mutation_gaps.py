"""Gaps the mutation run (tools/mutation, TESTS.md "Mutation score") found in module 11: the
max_seq_len check of create_sinusoidal_embeddings, non-Tensor input to the positional encodings,
and lookups whose ids are all one past the end (or all -1), in Embedding and in autograd's
embedding_lookup (the entry Embedding builds on)."""

import numpy as np
import pytest

from tinytorch.core.autograd import embedding_lookup
from tinytorch.core.tensor import Tensor
from tinytorch.text.embeddings import (
    Embedding,
    EmbeddingLayer,
    PositionalEncoding,
    SinusoidalPositionalEncoding,
    create_sinusoidal_embeddings,
)


# --- create_sinusoidal_embeddings(max_seq_len, ...): called directly, not through the layer,
# whose own check would hide a deleted one here.


@pytest.mark.parametrize(
    "bad, error, shown",
    [(0, ValueError, "got 0"), (-1, ValueError, "got -1"), (True, TypeError, "bool True"), (2.5, TypeError, "float 2.5")],
)
def test_create_sinusoidal_embeddings_refuses_bad_max_seq_len(bad, error, shown):
    with pytest.raises(error) as info:
        create_sinusoidal_embeddings(bad, 4)
    message = str(info.value)
    assert "create_sinusoidal_embeddings" in message and "max_seq_len" in message
    assert shown in message
    assert "positive int" in message and "Hint" in message


def test_create_sinusoidal_embeddings_smallest_valid_length():
    # max_seq_len=1 is the boundary the check must let through: one row, position 0.
    table = create_sinusoidal_embeddings(1, 4)
    assert table.shape == (1, 4) and table.dtype == np.float32
    np.testing.assert_array_equal(table.data, [[0.0, 1.0, 0.0, 1.0]])  # sin(0), cos(0), ...


# --- positional encodings given numpy arrays / nested lists: converted like Tensor(x)


def embedded(seed=0, shape=(2, 5, 4)):
    return np.random.default_rng(seed).normal(size=shape)


@pytest.mark.parametrize("convert", [np.asarray, lambda a: a.astype(np.float32), lambda a: a.tolist()], ids=["float64", "float32", "list"])
def test_sinusoidal_encoding_accepts_arrays_and_lists_like_tensors(convert):
    layer = SinusoidalPositionalEncoding(8, 4)
    x = embedded()
    out = layer(convert(x))
    assert isinstance(out, Tensor) and out.shape == (2, 5, 4) and out.dtype == np.float32
    np.testing.assert_array_equal(out.data, layer(Tensor(x)).data)
    # Independent of the layer: x (rounded to float32 like Tensor(x)) plus the table's rows 0..4.
    want = x.astype(np.float32) + create_sinusoidal_embeddings(8, 4).data[:5]
    np.testing.assert_array_equal(out.data, want)


@pytest.mark.parametrize("convert", [np.asarray, lambda a: a.tolist()], ids=["array", "list"])
def test_learned_encoding_accepts_arrays_and_lists_and_trains_its_table(convert):
    layer = PositionalEncoding(6, 4, seed=1)
    x = embedded(seed=2, shape=(3, 4))  # unbatched (seq_len, embed_dim)
    out = layer(convert(x))
    assert isinstance(out, Tensor) and out.shape == (3, 4)
    np.testing.assert_array_equal(out.data, layer(Tensor(x)).data)
    np.testing.assert_array_equal(out.data, x.astype(np.float32) + layer.position_embeddings.data[:3])
    weights = np.arange(12.0).reshape(3, 4)
    (out * Tensor(weights)).sum().backward()
    expected = np.zeros((6, 4), dtype=np.float32)
    expected[:3] = weights  # d/dtable of sum(w * (x + table[:3])); rows 3..5 unused
    np.testing.assert_array_equal(layer.position_embeddings.grad.data, expected)


def test_positional_encoding_refuses_integer_arrays_and_lists_naming_the_dtype():
    layer = SinusoidalPositionalEncoding(8, 4)
    for ids in (np.arange(20).reshape(5, 4), [[1, 2, 3, 4]]):
        with pytest.raises(TypeError) as info:
            layer(ids)
        message = str(info.value)
        assert "dtype int64" in message and "(seq_len, 4)" in message and "Embedding" in message


def test_positional_encoding_refuses_too_long_array_naming_both_lengths():
    with pytest.raises(ValueError) as info:
        PositionalEncoding(3, 4, seed=0)(np.zeros((1, 4, 4)))
    message = str(info.value)
    assert "sequence length 4 exceeds maximum 3" in message and "max_seq_len >= 4" in message


# --- ids all equal to vocab_size (one past the end) or all -1


VOCAB = 5


@pytest.mark.parametrize(
    "ids, reported",
    [
        ([VOCAB], "token id 5 at index 0 is out of range"),
        (np.array([[VOCAB]]), "token id 5 at index (0, 0) is out of range"),
        (np.int64(VOCAB), "token id 5 is out of range"),
        (Tensor(np.array([VOCAB, VOCAB])), "token id 5 at index 0 (and 1 more: 5) is out of range"),
        ([-1], "token id -1 at index 0 is out of range"),
        (np.array([[-1, -1], [-1, -1]]), "token id -1 at index (0, 0) (and 3 more: -1, -1, -1) is out of range"),
        (-1, "token id -1 is out of range"),
    ],
    ids=["n", "n-2d", "n-scalar", "n-twice", "-1", "-1-2d", "-1-scalar"],
)
def test_embedding_refuses_ids_only_one_past_the_end_or_only_negative(ids, reported):
    embed = Embedding(VOCAB, 3, seed=0)
    with pytest.raises(ValueError) as info:
        embed(ids)
    message = str(info.value)
    assert reported in message
    assert "vocab_size=5" in message and "allowed ids are [0, 4]" in message and "Hint" in message
    assert embed.weight.grad is None


def test_embedding_layer_refuses_ids_only_one_past_the_end_or_only_negative():
    layer = EmbeddingLayer(VOCAB, 4, max_seq_len=8, pos_encoding="sinusoidal", seed=0)
    for ids, bad in (([[VOCAB, VOCAB]], "5"), ([[-1]], "-1")):
        with pytest.raises(ValueError) as info:
            layer(ids)
        assert f"token id {bad} at index (0, 0)" in str(info.value) and "[0, 4]" in str(info.value)


def test_embedding_boundary_ids_alone_are_accepted():
    embed = Embedding(VOCAB, 3, seed=0)
    for ids in ([0], [VOCAB - 1], [[VOCAB - 1, VOCAB - 1]], np.int64(0)):
        np.testing.assert_array_equal(embed(ids).data, embed.weight.data[np.asarray(ids)])


@pytest.mark.parametrize(
    "count, tail",
    [(6, "(and 5 more: 5, 5, 5, 5, 5)"), (7, "(and 6 more: 5, 5, 5, 5, 5, ...)")],
)
def test_embedding_error_lists_at_most_five_other_bad_ids(count, tail):
    # Five others are shown; a sixth turns into "...".
    with pytest.raises(ValueError) as info:
        Embedding(VOCAB, 3, seed=0)([VOCAB] * count)
    assert f"token id 5 at index 0 {tail} is out of range" in str(info.value)


def table():
    return Tensor(np.arange(15, dtype=np.float32).reshape(VOCAB, 3), requires_grad=True)


@pytest.mark.parametrize(
    "ids, bad",
    [
        ([VOCAB], [5]),
        ([VOCAB, VOCAB, VOCAB], [5, 5, 5]),
        ([VOCAB, 0], [5]),  # no negative beside it
        ([-1], [-1]),
        ([[-1], [-1]], [-1, -1]),
        ([-1, 4], [-1]),  # no id >= num_rows beside it
    ],
    ids=["n", "n-thrice", "n-with-0", "-1", "-1-2d", "-1-with-4"],
)
def test_embedding_lookup_refuses_one_past_the_end_and_minus_one(ids, bad):
    w = table()
    with pytest.raises(ValueError) as info:
        embedding_lookup(w, np.array(ids))
    message = str(info.value)
    assert f"embedding ids {bad} are out of range" in message
    assert "table of 5 rows" in message and "allowed: 0..4" in message and "Hint" in message


def test_embedding_lookup_accepts_the_boundary_ids_alone():
    w = table()
    for ids in ([0], [VOCAB - 1], [0, VOCAB - 1]):
        np.testing.assert_array_equal(embedding_lookup(w, np.array(ids)).data, w.data[ids])
    assert embedding_lookup(w, np.zeros((0,), dtype=np.int64)).shape == (0, 3)


# --- survivors of the re-score after module 18 (tools/mutation/run.sh modules/11_embeddings) ----


@pytest.mark.parametrize(
    "make, owner, name",
    [
        (lambda: Embedding(0, 4), "Embedding", "vocab_size"),
        (lambda: Embedding(4, 0), "Embedding", "embed_dim"),
        (lambda: Embedding(4, 2, sparse="yes"), "Embedding", "sparse"),
        (lambda: EmbeddingLayer(0, 4, 8), "EmbeddingLayer", "vocab_size"),
        (lambda: EmbeddingLayer(4, 0, 8), "EmbeddingLayer", "embed_dim"),
        (lambda: EmbeddingLayer(4, 2, 0), "EmbeddingLayer", "max_seq_len"),
        (lambda: EmbeddingLayer(4, 2, 8, scale_embeddings="yes"), "EmbeddingLayer", "scale_embeddings"),
        (lambda: create_sinusoidal_embeddings(8, 0), "create_sinusoidal_embeddings", "embed_dim"),
    ],
)
def test_bad_constructor_arguments_name_the_class_and_the_argument(make, owner, name):
    with pytest.raises((TypeError, ValueError)) as info:
        make()
    message = str(info.value)
    assert message.startswith(f"{owner} {name} ") and "Hint" in message


def test_embedding_table_is_glorot_uniform():
    rows, cols = 1000, 100
    weight = Embedding(rows, cols, seed=0).weight.data
    bound = np.sqrt(6.0 / (rows + cols))
    assert np.abs(weight).max() <= bound
    # 100k draws of U(-b, b) reach within 0.1% of b; a bound of sqrt(5 / ...) would stay 9% below it.
    assert np.abs(weight).max() > 0.999 * bound
    assert abs(float(weight.mean())) < 0.01 * bound


@pytest.mark.parametrize(
    "module",
    [Embedding(4, 2), EmbeddingLayer(4, 2, 8), PositionalEncoding(8, 2), SinusoidalPositionalEncoding(8, 2)],
    ids=["Embedding", "EmbeddingLayer", "PositionalEncoding", "SinusoidalPositionalEncoding"],
)
def test_modules_start_in_training_mode_and_switch(module):
    assert module.training is True
    assert module.eval().training is False and module.train().training is True


def test_sinusoidal_encoding_repr_names_its_sizes():
    assert repr(SinusoidalPositionalEncoding(16, 6)) == "SinusoidalPositionalEncoding(max_seq_len=16, embed_dim=6)"


def test_a_positional_encoding_without_a_table_says_so():
    from tinytorch.text.embeddings import _PositionalBase

    class NoTable(_PositionalBase):  # the base's contract: subclasses provide _table()
        pass

    with pytest.raises(NotImplementedError):
        NoTable(4, 2)(np.zeros((1, 3, 2), np.float32))
