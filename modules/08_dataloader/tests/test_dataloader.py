"""DataLoader: exact batches, len(), drop_last, shuffling (determinism, permutations, epochs,
numpy's global generator) and every refused argument."""

import numpy as np
import pytest

from tinytorch.core.dataloader import DataLoader, TensorDataset, TokenWindowDataset
from tinytorch.core.tensor import Tensor


def five_samples():
    features = Tensor([[1, 2], [3, 4], [5, 6], [7, 8], [9, 10]])
    labels = Tensor([0.0, 1.0, 0.0, 1.0, 0.0])
    return TensorDataset(features, labels)


def index_dataset(n):
    """Sample i is (i,): batches show exactly which indices were visited."""
    return TensorDataset(np.arange(n))


def epoch_order(loader):
    return [int(i) for (batch,) in loader for i in batch.data]


# --- batching --------------------------------------------------------------------------------
def test_exact_batches_in_order_with_partial_last_batch():
    loader = DataLoader(five_samples(), batch_size=2)
    assert len(loader) == 3
    batches = list(loader)
    assert len(batches) == 3
    (x0, y0), (x1, y1), (x2, y2) = batches
    assert x0.data.tolist() == [[1, 2], [3, 4]] and y0.data.tolist() == [0.0, 1.0]
    assert x1.data.tolist() == [[5, 6], [7, 8]] and y1.data.tolist() == [0.0, 1.0]
    assert x2.data.tolist() == [[9, 10]] and y2.data.tolist() == [0.0]
    assert x2.shape == (1, 2) and y2.shape == (1,)  # the last batch keeps its batch dim
    for x, y in batches:
        assert x.dtype == np.int64 and y.dtype == np.float32
        assert not x.requires_grad and not y.requires_grad


def test_len_is_ceil_or_floor_with_drop_last():
    for n, b in [(5, 2), (6, 2), (1, 4), (10, 3), (10, 10), (10, 11), (0, 3)]:
        full, partial = divmod(n, b)
        assert len(DataLoader(index_dataset(n) if n else [], batch_size=b)) == full + (partial > 0)
        loader = DataLoader(index_dataset(n) if n else [], batch_size=b, drop_last=True)
        assert len(loader) == full
        assert len(list(loader)) == full


def test_drop_last_sizes():
    sizes = [len(batch) for (batch,) in DataLoader(index_dataset(10), batch_size=3)]
    assert sizes == [3, 3, 3, 1]
    dropped = [len(batch) for (batch,) in DataLoader(index_dataset(10), batch_size=3, drop_last=True)]
    assert dropped == [3, 3, 3]
    # drop_last with a shuffle drops the tail of the permutation: 9 distinct indices.
    order = epoch_order(DataLoader(index_dataset(10), batch_size=3, shuffle=True, drop_last=True, seed=1))
    assert len(order) == 9 and len(set(order)) == 9
    # A batch larger than the dataset: one partial batch, or nothing with drop_last.
    assert [b.shape for (b,) in DataLoader(index_dataset(3), batch_size=8)] == [(3,)]
    assert list(DataLoader(index_dataset(3), batch_size=8, drop_last=True)) == []


def test_default_batch_size_is_32():
    loader = DataLoader(index_dataset(70))
    assert loader.batch_size == 32 and len(loader) == 3
    assert [len(b) for (b,) in loader] == [32, 32, 6]


def test_token_windows_batch_to_int64_batch_by_seq():
    ds = TokenWindowDataset(list(range(100, 121)), seq_len=4)  # 21 tokens -> 5 windows
    inputs, targets = zip(*DataLoader(ds, batch_size=2))
    assert [x.shape for x in inputs] == [(2, 4), (2, 4), (1, 4)]
    assert inputs[0].dtype == targets[0].dtype == np.int64
    assert inputs[0].data.tolist() == [[100, 101, 102, 103], [104, 105, 106, 107]]
    assert targets[0].data.tolist() == [[101, 102, 103, 104], [105, 106, 107, 108]]
    assert inputs[2].data.tolist() == [[116, 117, 118, 119]] and targets[2].data.tolist() == [[117, 118, 119, 120]]


def test_list_dataset_and_custom_collate_fn():
    samples = [(np.array([i, i]), i % 2) for i in range(5)]
    x, y = next(iter(DataLoader(samples, batch_size=3)))
    assert x.data.tolist() == [[0, 0], [1, 1], [2, 2]] and y.data.tolist() == [0, 1, 0]
    seen = []
    loader = DataLoader(samples, batch_size=2, collate_fn=lambda batch: seen.append(len(batch)) or len(batch))
    assert list(loader) == [2, 2, 1] and seen == [2, 2, 1]
    assert loader._collate_batch([samples[0]]) == 1  # upstream's name for the collate step


# --- shuffling --------------------------------------------------------------------------------
def test_shuffle_is_a_permutation_every_epoch():
    loader = DataLoader(index_dataset(20), batch_size=6, shuffle=True, seed=0)
    epochs = [epoch_order(loader) for _ in range(3)]
    for order in epochs:
        assert sorted(order) == list(range(20))
    assert epochs[0] != list(range(20))
    assert epochs[0] != epochs[1] and epochs[1] != epochs[2]  # a fresh permutation each epoch


def test_same_seed_same_epochs_and_the_rng_is_owned_by_the_loader():
    a = DataLoader(index_dataset(20), batch_size=4, shuffle=True, seed=7)
    b = DataLoader(index_dataset(20), batch_size=4, shuffle=True, seed=7)
    first_a = epoch_order(a)
    np.random.seed(123)  # the global generator does not touch a seeded loader
    np.random.permutation(50)
    assert epoch_order(b) == first_a
    assert epoch_order(a) == epoch_order(b)  # second epochs agree too
    # The exact orders are those of np.random.default_rng(7): epoch k is its k-th permutation.
    rng = np.random.default_rng(7)
    assert first_a == rng.permutation(20).tolist()
    assert epoch_order(DataLoader(index_dataset(20), batch_size=4, shuffle=True, seed=8)) != first_a


def test_batches_follow_the_permutation_exactly():
    ds = five_samples()
    order = np.random.default_rng(3).permutation(5)
    (x0, y0), (x1, y1) = DataLoader(ds, batch_size=3, shuffle=True, seed=3)
    features = np.array([[1, 2], [3, 4], [5, 6], [7, 8], [9, 10]])
    np.testing.assert_array_equal(np.concatenate([x0.data, x1.data]), features[order])
    np.testing.assert_array_equal(np.concatenate([y0.data, y1.data]), np.array([0, 1, 0, 1, 0])[order])


def test_no_seed_uses_numpys_global_generator():
    loader = DataLoader(index_dataset(15), batch_size=4, shuffle=True)
    np.random.seed(42)
    first = epoch_order(loader)
    np.random.seed(42)
    assert epoch_order(loader) == first
    np.random.seed(42)
    assert first == np.random.permutation(15).tolist()


def test_order_is_drawn_at_iter_and_no_shuffle_ignores_the_seed():
    loader = DataLoader(index_dataset(8), batch_size=8, shuffle=True, seed=5)
    it1, it2 = iter(loader), iter(loader)  # two epochs drawn in this order
    rng = np.random.default_rng(5)
    assert next(it1)[0].data.tolist() == rng.permutation(8).tolist()
    assert next(it2)[0].data.tolist() == rng.permutation(8).tolist()
    assert epoch_order(DataLoader(index_dataset(8), batch_size=3, seed=5)) == list(range(8))


# --- refused arguments ------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [0, -1])
def test_batch_size_below_one(bad):
    with pytest.raises(ValueError) as info:
        DataLoader(index_dataset(4), batch_size=bad)
    message = str(info.value)
    assert f"got {bad}" in message and ">= 1" in message and "Hint" in message and "batch_size=32" in message


@pytest.mark.parametrize("bad", [True, False, 2.0, "4", None, np.float32(8)])
def test_batch_size_not_an_int(bad):
    with pytest.raises(TypeError) as info:
        DataLoader(index_dataset(4), batch_size=bad)
    message = str(info.value)
    assert "batch_size" in message and repr(bad) in message and ">= 1" in message and "not a bool" in message
    assert "Hint" in message


def test_numpy_int_batch_size_is_fine():
    assert DataLoader(index_dataset(4), batch_size=np.int64(3)).batch_size == 3


@pytest.mark.parametrize("name", ["shuffle", "drop_last"])
@pytest.mark.parametrize("bad", [1, 0, "no", None])
def test_flags_must_be_bools(name, bad):
    with pytest.raises(TypeError) as info:
        DataLoader(index_dataset(4), **{name: bad})
    message = str(info.value)
    assert f"{name} must be True or False" in message and repr(bad) in message and "Hint" in message


def test_numpy_bools_are_fine():
    loader = DataLoader(index_dataset(4), shuffle=np.bool_(True), drop_last=np.bool_(False), seed=0)
    assert loader.shuffle is True and loader.drop_last is False


@pytest.mark.parametrize("bad", [1.5, "0", True, [0]])
def test_seed_type(bad):
    with pytest.raises(TypeError) as info:
        DataLoader(index_dataset(4), shuffle=True, seed=bad)
    message = str(info.value)
    assert "seed must be None or an int >= 0" in message and repr(bad) in message and "Hint" in message


def test_negative_seed():
    with pytest.raises(ValueError) as info:
        DataLoader(index_dataset(4), shuffle=True, seed=-3)
    message = str(info.value)
    assert "got -3" in message and ">= 0" in message and "Hint" in message


@pytest.mark.parametrize("bad", [42, "abc", {0: "a"}, None, object()])
def test_dataset_without_len_and_getitem(bad):
    with pytest.raises(TypeError) as info:
        DataLoader(bad)
    message = str(info.value)
    assert "__len__ and __getitem__" in message and type(bad).__name__ in message and "TensorDataset" in message


def test_dataset_class_instead_of_instance():
    with pytest.raises(TypeError, match=r"class TensorDataset itself") as info:
        DataLoader(TensorDataset)
    assert "instance" in str(info.value)


def test_collate_fn_must_be_callable():
    with pytest.raises(TypeError, match="collate_fn") as info:
        DataLoader(index_dataset(4), collate_fn="stack")
    assert "'stack'" in str(info.value) and "pad_collate" in str(info.value)


def test_messages_name_the_loader_and_the_argument():
    ds = index_dataset(4)
    for kwargs, text in [({"batch_size": 0}, "DataLoader batch_size must be"),
                         ({"shuffle": "yes"}, "DataLoader shuffle must be"),
                         ({"drop_last": 1}, "DataLoader drop_last must be"),
                         ({"seed": -1}, "DataLoader seed must be")]:
        with pytest.raises((TypeError, ValueError)) as info:
            DataLoader(ds, **kwargs)
        assert str(info.value).startswith(text)


def test_validation_happens_once_at_construction():
    loader = DataLoader(index_dataset(4), batch_size=2)
    assert "4 samples" in repr(loader) and "2 batches" in repr(loader)
    with pytest.raises(ValueError):
        DataLoader(index_dataset(4), batch_size=0)  # refused before any iteration
