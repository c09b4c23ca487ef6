"""Dataset, TensorDataset and TokenWindowDataset: exact samples, lengths and refused arguments."""

import numpy as np
import pytest

from tinytorch.core.dataloader import Dataset, TensorDataset, TokenWindowDataset
from tinytorch.core.tensor import Tensor


# --- Dataset ----------------------------------------------------------------------------------
def test_dataset_is_abstract_and_subclasses_work():
    with pytest.raises(TypeError):
        Dataset()

    class Squares(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, idx):
            return idx * idx

    ds = Squares()
    assert len(ds) == 4 and ds[3] == 9

    class OnlyLen(Dataset):
        def __len__(self):
            return 1

    with pytest.raises(TypeError):
        OnlyLen()  # __getitem__ is abstract too


# --- TensorDataset ----------------------------------------------------------------------------
def test_tensor_dataset_rows_values_and_dtypes():
    features = Tensor([[1.5, 2.0], [3.0, 4.0], [5.0, 6.0]])
    labels = np.array([0, 1, 0])
    ds = TensorDataset(features, labels)
    assert len(ds) == 3
    assert ds.tensors[0] is features  # Tensors are kept, arrays converted
    x, y = ds[1]
    np.testing.assert_array_equal(x.data, [3.0, 4.0])
    assert x.dtype == np.float32 and x.shape == (2,)
    assert y.item() == 1 and y.dtype == np.int64 and y.shape == ()
    assert not x.requires_grad
    # Negative indices count from the end, like Python sequences.
    np.testing.assert_array_equal(ds[-1][0].data, [5.0, 6.0])
    # Rows are copies: editing a sample leaves the dataset unchanged.
    x.data[0] = 99.0
    assert features.data[1, 0] == 3.0
    # Iteration (Python's __getitem__ protocol) stops at IndexError.
    assert [int(y.item()) for _, y in ds] == [0, 1, 0]


def test_tensor_dataset_keeps_tensor_dtype_and_converts_arrays():
    ds = TensorDataset(Tensor([1.0, 2.0], dtype=np.float64), np.array([1.0, 2.0]), np.array([True, False]))
    a, b, c = ds[0]
    assert (a.dtype, b.dtype, c.dtype) == (np.float64, np.float32, np.bool_)
    assert "2 samples" in repr(ds)


def test_tensor_dataset_single_tensor_gives_one_tuple():
    ds = TensorDataset(np.arange(6).reshape(3, 2))
    (row,) = ds[2]
    np.testing.assert_array_equal(row.data, [4, 5])


def test_tensor_dataset_refuses_bad_tensors():
    with pytest.raises(ValueError, match="at least one tensor") as info:
        TensorDataset()
    assert "Hint" in str(info.value)

    with pytest.raises(ValueError) as info:
        TensorDataset(np.zeros((3, 2)), np.zeros(4))
    message = str(info.value)
    assert "[3, 4]" in message and "(3, 2)" in message and "(4,)" in message and "Hint" in message

    with pytest.raises(TypeError) as info:
        TensorDataset(np.zeros(3), [1, 2, 3])
    message = str(info.value)
    assert "tensors[1]" in message and "list" in message and "np.array" in message

    with pytest.raises(ValueError, match=r"tensors\[0\] is 0-d") as info:
        TensorDataset(Tensor(5.0))
    assert "Hint" in str(info.value)


def test_tensor_dataset_index_errors_name_the_index_and_range():
    ds = TensorDataset(np.zeros((3, 1)))
    with pytest.raises(IndexError) as info:
        ds[3]
    assert "index 3" in str(info.value) and "-3..2" in str(info.value)
    with pytest.raises(IndexError, match="index -4"):
        ds[-4]
    for bad in (1.0, True, "0", slice(0, 2)):
        with pytest.raises(TypeError, match="must be an int") as info:
            ds[bad]
        assert "Hint" in str(info.value)
    assert ds[np.int64(2)][0].shape == (1,)  # numpy ints are ints


# --- TokenWindowDataset -----------------------------------------------------------------------
def test_windows_are_inputs_and_targets_shifted_by_one():
    ids = [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]
    ds = TokenWindowDataset(ids, seq_len=3)
    assert (ds.seq_len, ds.stride) == (3, 3)
    assert len(ds) == 3  # starts 0, 3, 6: (10 - 3 - 1) // 3 + 1
    expected = [([10, 11, 12], [11, 12, 13]), ([13, 14, 15], [14, 15, 16]), ([16, 17, 18], [17, 18, 19])]
    for i, (inp, tgt) in enumerate(expected):
        x, y = ds[i]
        assert x.data.tolist() == inp and y.data.tolist() == tgt
        assert x.dtype == y.dtype == np.int64 and x.shape == y.shape == (3,)
    np.testing.assert_array_equal(ds[-1][0].data, [16, 17, 18])
    with pytest.raises(IndexError, match="index 3"):
        ds[3]


def test_window_count_with_stride_and_leftover_tokens():
    ids = np.arange(11)
    # Non-overlapping (stride = seq_len): the last (11 - 3 - 1) % 3 = 1 token is never a target.
    ds = TokenWindowDataset(ids, 3)
    assert len(ds) == 3 and ds[2][1].data.tolist() == [7, 8, 9]
    # stride 1: every start 0 .. N - seq_len - 1.
    every = TokenWindowDataset(ids, 3, stride=1)
    assert len(every) == 8
    assert [every[i][0].data[0] for i in range(8)] == list(range(8))
    assert every[7][1].data.tolist() == [8, 9, 10]
    # stride 2.
    two = TokenWindowDataset(ids, 4, stride=2)
    assert len(two) == 4 and [two[i][0].data[0] for i in range(4)] == [0, 2, 4, 6]
    # Exactly seq_len + 1 tokens make one window.
    one = TokenWindowDataset([1, 2, 3], 2)
    assert len(one) == 1 and one[0][0].data.tolist() == [1, 2] and one[0][1].data.tolist() == [2, 3]


def test_windows_accept_tensor_and_int_arrays_and_copy_them():
    source = np.array([5, 6, 7, 8], dtype=np.int32)
    ds = TokenWindowDataset(source, 2, stride=1)
    source[0] = 0
    assert ds[0][0].data.tolist() == [5, 6] and ds.token_ids.dtype == np.int64
    assert TokenWindowDataset(Tensor([1, 2, 3]), 2)[0][1].data.tolist() == [2, 3]


def test_short_corpus_refused_with_both_numbers():
    with pytest.raises(ValueError) as info:
        TokenWindowDataset([1, 2, 3, 4], seq_len=4)
    message = str(info.value)
    assert "seq_len + 1 = 5" in message and "has 4 tokens" in message
    assert "Hint" in message and "at most 3" in message
    with pytest.raises(ValueError, match="has 0 tokens"):
        TokenWindowDataset([], seq_len=1)


def test_bad_seq_len_and_stride_refused():
    for bad in (0, -2):
        with pytest.raises(ValueError) as info:
            TokenWindowDataset([1, 2, 3], seq_len=bad)
        message = str(info.value)
        assert f"got {bad}" in message and ">= 1" in message and "seq_len=32" in message
    for bad in (2.0, True, "2", None):
        with pytest.raises(TypeError) as info:
            TokenWindowDataset([1, 2, 3], seq_len=bad)
        message = str(info.value)
        assert "seq_len" in message and repr(bad) in message and ">= 1" in message and "Hint" in message
    with pytest.raises(ValueError) as info:
        TokenWindowDataset([1, 2, 3], 1, stride=0)
    message = str(info.value)
    assert "stride" in message and "got 0" in message and ">= 1" in message and "stride=1" in message
    with pytest.raises(TypeError, match="stride"):
        TokenWindowDataset([1, 2, 3], 1, stride=1.5)


def test_bad_token_ids_refused():
    with pytest.raises(TypeError, match="tokenizer.encode"):
        TokenWindowDataset("hello world", 2)
    with pytest.raises(TypeError, match="float64"):
        TokenWindowDataset([1.0, 2.0, 3.0], 2)
    with pytest.raises(ValueError, match=r"shape \(2, 3\)") as info:
        TokenWindowDataset(np.zeros((2, 3), dtype=np.int64), 2)
    assert "one stream" in str(info.value)
    with pytest.raises(ValueError, match="ragged"):
        TokenWindowDataset([[1, 2], [3]], 1)
    with pytest.raises(ValueError, match="got -1 at position 2"):
        TokenWindowDataset([4, 5, -1, 6], 2)
