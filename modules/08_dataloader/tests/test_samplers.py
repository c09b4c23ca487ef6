"""Samplers: exact index sequences of seeded samplers, epochs, replacement statistics, a DataLoader
driven by a sampler (chunks, drop_last, len) and every refused argument."""

import numpy as np
import pytest

from tinytorch.core.dataloader import (
    DataLoader,
    RandomSampler,
    Sampler,
    SequentialSampler,
    TensorDataset,
    TokenWindowDataset,
)


def index_dataset(n):
    """Sample i is (i,): batches show exactly which indices were visited."""
    return TensorDataset(np.arange(n))


def epoch_order(loader):
    return [int(i) for (batch,) in loader for i in batch.data]


class Reversed(Sampler):
    """A user's own sampler: N - 1, ..., 0."""

    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n - 1, -1, -1))

    def __len__(self):
        return self.n


# --- Sampler and SequentialSampler ---------------------------------------------------------------
def test_sampler_is_abstract_and_subclasses_drive_a_loader():
    with pytest.raises(TypeError):
        Sampler()

    class OnlyIter(Sampler):
        def __iter__(self):
            return iter([0])

    with pytest.raises(TypeError):
        OnlyIter()  # __len__ is abstract too
    loader = DataLoader(index_dataset(5), batch_size=2, sampler=Reversed(5))
    assert [b.data.tolist() for (b,) in loader] == [[4, 3], [2, 1], [0]]
    assert len(loader) == 3


def test_sequential_sampler_is_the_unshuffled_order():
    ds = index_dataset(7)
    sampler = SequentialSampler(ds)
    assert list(sampler) == list(range(7)) and list(sampler) == list(range(7))  # every epoch
    assert len(sampler) == 7 and repr(sampler) == "SequentialSampler(7 samples)"
    assert epoch_order(DataLoader(ds, batch_size=3, sampler=sampler)) == epoch_order(DataLoader(ds, batch_size=3))
    assert list(SequentialSampler([])) == [] and len(DataLoader([], sampler=SequentialSampler([]))) == 0


# --- RandomSampler without replacement -----------------------------------------------------------
def test_seeded_permutations_are_exact_and_new_every_epoch():
    sampler = RandomSampler(list(range(6)), seed=0)
    # np.random.default_rng(0).permutation(6), twice: the literal pins the stream.
    assert list(sampler) == [3, 2, 5, 4, 0, 1]
    assert list(sampler) == [4, 5, 1, 2, 0, 3]
    rng = np.random.default_rng(11)
    sampler = RandomSampler(index_dataset(20), seed=11)
    epochs = [list(sampler) for _ in range(3)]
    assert epochs == [rng.permutation(20).tolist() for _ in range(3)]
    for order in epochs:
        assert sorted(order) == list(range(20))
    assert epochs[0] != epochs[1] and epochs[1] != epochs[2]
    assert all(type(i) is int for i in epochs[0])
    assert len(sampler) == sampler.num_samples == 20


def test_same_seed_same_epochs_and_the_global_generator_does_not_interfere():
    a, b = RandomSampler(index_dataset(30), seed=4), RandomSampler(index_dataset(30), seed=4)
    first = list(a)
    np.random.seed(1)
    np.random.permutation(30)
    assert list(b) == first and list(a) == list(b)
    assert list(RandomSampler(index_dataset(30), seed=5)) != first


def test_a_sampler_gives_the_epochs_of_a_shuffling_loader_with_the_same_seed():
    ds = index_dataset(13)
    shuffled = DataLoader(ds, batch_size=4, shuffle=True, seed=9)
    sampled = DataLoader(ds, batch_size=4, sampler=RandomSampler(ds, seed=9))
    for _ in range(3):
        assert epoch_order(sampled) == epoch_order(shuffled)
    assert len(sampled) == len(shuffled) == 4


def test_num_samples_without_replacement():
    rng = np.random.default_rng(2)
    fewer = RandomSampler(index_dataset(10), num_samples=4, seed=2)
    assert list(fewer) == rng.permutation(10)[:4].tolist()  # no index repeats within an epoch
    assert len(fewer) == 4
    rng = np.random.default_rng(3)
    more = RandomSampler(index_dataset(4), num_samples=10, seed=3)
    order = list(more)
    assert order == np.concatenate([rng.permutation(4), rng.permutation(4), rng.permutation(4)[:2]]).tolist()
    assert sorted(np.bincount(order, minlength=4).tolist()) == [2, 2, 3, 3]  # floor or ceil of 10 / 4


def test_order_is_drawn_at_iter_time():
    sampler = RandomSampler(index_dataset(8), seed=6)
    it1, it2 = iter(sampler), iter(sampler)
    rng = np.random.default_rng(6)
    assert list(it1) == rng.permutation(8).tolist()
    assert list(it2) == rng.permutation(8).tolist()


def test_no_seed_uses_numpys_global_generator():
    perm, draws = RandomSampler(index_dataset(12)), RandomSampler(index_dataset(12), replacement=True, num_samples=9)
    np.random.seed(42)
    first = list(perm)
    np.random.seed(42)
    assert first == np.random.permutation(12).tolist()
    np.random.seed(7)
    picks = list(draws)
    np.random.seed(7)
    assert picks == np.random.randint(0, 12, size=9).tolist()
    assert perm.seed is None and "seed=None" in repr(perm)


# --- RandomSampler with replacement --------------------------------------------------------------
def test_with_replacement_draws_are_exact_and_continue_one_generator():
    sampler = RandomSampler(list(range(10)), replacement=True, num_samples=8, seed=(0, 1))
    assert list(sampler) == [5, 8, 9, 5, 3, 8, 2, 9]  # default_rng([0, 1]).integers(0, 10, size=8)
    rng = np.random.default_rng([0, 1])
    rng.integers(0, 10, size=8)
    assert list(sampler) == rng.integers(0, 10, size=8).tolist()  # epoch 2 continues the stream
    assert len(sampler) == 8
    # Without num_samples an epoch has len(data_source) draws.
    assert len(RandomSampler(index_dataset(5), replacement=True)) == len(list(RandomSampler(index_dataset(5), replacement=True, seed=1))) == 5


def test_with_replacement_is_uniform_and_repeats():
    n, m = 10, 20000
    counts = np.bincount(list(RandomSampler(index_dataset(n), replacement=True, num_samples=m, seed=0)), minlength=n)
    assert counts.sum() == m and counts.min() > 0
    # Binomial(20000, 0.1): sd 42.4; 5 sd either side of 2000.
    assert np.all(np.abs(counts - m / n) < 5 * np.sqrt(m * 0.1 * 0.9))
    # 100 draws from 1000 indices repeat one with probability 0.993; this seed does (98 distinct).
    draws = list(RandomSampler(index_dataset(1000), replacement=True, num_samples=100, seed=5))
    assert len(draws) == 100 and len(set(draws)) == 98 and 0 <= min(draws) and max(draws) < 1000
    # The same size without replacement never repeats.
    assert len(set(RandomSampler(index_dataset(1000), num_samples=100, seed=5))) == 100


def test_seed_forms_that_numpy_takes():
    as_list = RandomSampler(index_dataset(50), replacement=True, seed=[3, 1])
    as_tuple = RandomSampler(index_dataset(50), replacement=True, seed=(np.int64(3), 1))
    assert as_list.seed == as_tuple.seed == (3, 1)
    assert list(as_list) == list(as_tuple) == np.random.default_rng([3, 1]).integers(0, 50, size=50).tolist()
    assert list(RandomSampler(index_dataset(50), seed=np.uint8(3))) == np.random.default_rng(3).permutation(50).tolist()


def test_token_windows_drawn_with_replacement_are_the_training_windows():
    """The language-model pattern: steps batches of random windows, the starts of one generator."""
    ids = np.arange(1000, 1040)  # consecutive ids: each row is start + 1000 .. start + 1000 + seq_len
    windows = TokenWindowDataset(ids, seq_len=5, stride=1)
    steps, batch = 6, 4
    loader = DataLoader(windows, batch_size=batch,
                        sampler=RandomSampler(windows, replacement=True, num_samples=steps * batch, seed=(0, 1)))
    rng = np.random.default_rng([0, 1])
    batches = list(loader)
    assert len(batches) == len(loader) == steps
    for inputs, targets in batches:
        starts = rng.integers(0, len(ids) - 5, size=batch)
        expected = ids[starts[:, None] + np.arange(6)]
        assert inputs.shape == targets.shape == (batch, 5) and inputs.dtype == targets.dtype == np.int64
        np.testing.assert_array_equal(inputs.data, expected[:, :-1])
        np.testing.assert_array_equal(targets.data, expected[:, 1:])


# --- DataLoader with a sampler -------------------------------------------------------------------
def test_batches_are_consecutive_chunks_of_the_sampler_and_len_follows_it():
    ds = index_dataset(10)
    sampler = RandomSampler(ds, replacement=True, num_samples=11, seed=8)
    expected = np.random.default_rng(8).integers(0, 10, size=11).tolist()
    loader = DataLoader(ds, batch_size=4, sampler=sampler)
    assert len(loader) == 3
    assert [b.data.tolist() for (b,) in loader] == [expected[0:4], expected[4:8], expected[8:11]]
    dropped = DataLoader(ds, batch_size=4, sampler=RandomSampler(ds, replacement=True, num_samples=11, seed=8),
                         drop_last=True)
    assert len(dropped) == 2
    assert [b.data.tolist() for (b,) in dropped] == [expected[0:4], expected[4:8]]
    for m, b in [(12, 4), (1, 3), (25, 5), (7, 1)]:
        for drop in (False, True):
            loader = DataLoader(ds, batch_size=b, drop_last=drop,
                                sampler=RandomSampler(ds, replacement=True, num_samples=m, seed=0))
            sizes = [len(x) for (x,) in loader]
            assert len(loader) == len(sizes) == (m // b if drop else -(-m // b))
            assert sum(sizes) == (m - m % b if drop else m)


def test_repr_shows_the_sampler():
    ds = index_dataset(10)
    loader = DataLoader(ds, batch_size=4, sampler=RandomSampler(ds, replacement=True, num_samples=20, seed=(0, 1)))
    assert repr(loader) == (
        "DataLoader(10 samples, batch_size=4, sampler=RandomSampler(10 samples, replacement=True, "
        "num_samples=20, seed=(0, 1)), drop_last=False: 5 batches)"
    )
    assert loader.sampler.replacement is True and loader.sampler.num_samples == 20


# --- refused arguments ---------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [1, 0, "yes", None])
def test_replacement_must_be_a_bool(bad):
    with pytest.raises(TypeError) as info:
        RandomSampler(index_dataset(4), replacement=bad)
    message = str(info.value)
    assert "RandomSampler replacement must be True or False" in message and repr(bad) in message and "Hint" in message


def test_numpy_flags_and_ints_are_fine():
    sampler = RandomSampler(index_dataset(4), replacement=np.bool_(True), num_samples=np.int32(6), seed=0)
    assert sampler.replacement is True and len(sampler) == 6 and type(sampler.num_samples) is int


@pytest.mark.parametrize("bad", [0, -5])
def test_num_samples_below_one(bad):
    with pytest.raises(ValueError) as info:
        RandomSampler(index_dataset(4), num_samples=bad)
    message = str(info.value)
    assert "RandomSampler num_samples" in message and f"got {bad}" in message and ">= 1" in message
    assert "num_samples=steps * batch_size" in message


@pytest.mark.parametrize("bad", [2.0, True, "8"])
def test_num_samples_not_an_int(bad):
    with pytest.raises(TypeError) as info:
        RandomSampler(index_dataset(4), replacement=True, num_samples=bad)
    message = str(info.value)
    assert "num_samples must be a positive int" in message and repr(bad) in message and "Hint" in message


@pytest.mark.parametrize("bad", [1.5, "0", True, {0: 1}, np.float64(2.0)])
def test_seed_type(bad):
    with pytest.raises(TypeError) as info:
        RandomSampler(index_dataset(4), seed=bad)
    message = str(info.value)
    assert "RandomSampler seed must be None, an int >= 0, or a non-empty list/tuple of ints >= 0" in message
    assert repr(bad) in message and "Hint" in message


def test_seed_values_and_sequences():
    with pytest.raises(ValueError) as info:
        RandomSampler(index_dataset(4), seed=-1)
    assert "got -1" in str(info.value) and "int >= 0" in str(info.value) and "Hint" in str(info.value)
    with pytest.raises(ValueError, match=r"got an empty tuple \(\)") as info:
        RandomSampler(index_dataset(4), seed=())
    assert "non-empty" in str(info.value)
    with pytest.raises(ValueError) as info:
        RandomSampler(index_dataset(4), seed=[0, -1])
    assert "seed[1] must be an int >= 0, got -1 in seed=[0, -1]" in str(info.value) and "Hint" in str(info.value)
    with pytest.raises(TypeError) as info:
        RandomSampler(index_dataset(4), seed=(0, 1.5))
    assert "seed[1] must be an int >= 0, got float 1.5 in seed=(0, 1.5)" in str(info.value)
    with pytest.raises(TypeError, match=r"seed\[0\] must be an int >= 0, got bool True"):
        RandomSampler(index_dataset(4), seed=[True])


@pytest.mark.parametrize("cls", [SequentialSampler, RandomSampler])
@pytest.mark.parametrize("bad", [None, 42, object()])
def test_data_source_without_len(cls, bad):
    with pytest.raises(TypeError) as info:
        cls(bad)
    message = str(info.value)
    assert f"{cls.__name__} data_source must have __len__" in message and type(bad).__name__ in message
    assert "TensorDataset" in message and "Hint" in message


def test_a_broken_len_fails_at_construction():
    class BrokenLen:
        def __len__(self):
            raise RuntimeError("no length yet")

    for cls in (SequentialSampler, RandomSampler):
        with pytest.raises(RuntimeError, match="no length yet"):
            cls(BrokenLen())


def test_data_source_class_instead_of_instance():
    with pytest.raises(TypeError, match=r"got the class TensorDataset itself") as info:
        RandomSampler(TensorDataset)
    assert "RandomSampler(TensorDataset(...))" in str(info.value)


def test_empty_data_source_cannot_be_sampled():
    for replacement in (False, True):
        with pytest.raises(ValueError) as info:
            RandomSampler([], replacement=replacement, num_samples=3, seed=0)
        message = str(info.value)
        assert "has 0 samples" in message and "at least 1 sample" in message and "Hint" in message


@pytest.mark.parametrize("bad", [[2, 0, 1], range(3), np.arange(3), "012"])
def test_loader_refuses_a_sampler_that_is_not_a_sampler(bad):
    with pytest.raises(TypeError) as info:
        DataLoader(index_dataset(3), sampler=bad)
    message = str(info.value)
    assert "DataLoader sampler must be None or a Sampler" in message and type(bad).__name__ in message
    assert "subclass Sampler" in message and "RandomSampler(dataset, seed=0)" in message


def test_loader_refuses_a_sampler_class():
    with pytest.raises(TypeError, match=r"got the class RandomSampler itself") as info:
        DataLoader(index_dataset(3), sampler=RandomSampler)
    assert "sampler=RandomSampler(dataset)" in str(info.value)


def test_shuffle_and_sampler_are_mutually_exclusive():
    ds = index_dataset(5)
    with pytest.raises(ValueError) as info:
        DataLoader(ds, shuffle=True, sampler=RandomSampler(ds, seed=1))
    message = str(info.value)
    assert "shuffle=True and sampler=RandomSampler(5 samples, replacement=False, num_samples=5, seed=1)" in message
    assert "only one of them" in message and "Hint: drop shuffle=True" in message


def test_seed_with_a_sampler_is_refused_instead_of_ignored():
    ds = index_dataset(5)
    with pytest.raises(ValueError) as info:
        DataLoader(ds, seed=3, sampler=SequentialSampler(ds))
    message = str(info.value)
    assert "seed=3 and sampler=SequentialSampler(5 samples)" in message and "seed=None with a sampler" in message
    assert "RandomSampler(dataset, seed=3)" in message


def test_sampler_of_another_dataset_is_refused():
    with pytest.raises(ValueError) as info:
        DataLoader(index_dataset(10), sampler=RandomSampler(index_dataset(1000), seed=0))
    message = str(info.value)
    assert "1000 samples of its data_source" in message and "the dataset has 10 samples" in message
    assert "sampler=RandomSampler(dataset, ...)" in message
    # Another object of the same length is fine (e.g. a list of lengths beside the dataset).
    assert len(DataLoader(index_dataset(10), batch_size=5, sampler=SequentialSampler(list(range(10))))) == 2
