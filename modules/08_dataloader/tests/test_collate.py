"""default_collate (stacking, dtypes, structures, errors) and pad_collate (padding, masks, pad ids)."""

import functools

import numpy as np
import pytest

from tinytorch.core.dataloader import DataLoader, default_collate, pad_collate
from tinytorch.core.tensor import Tensor


# --- default_collate --------------------------------------------------------------------------
def test_stacks_tuple_fields_with_a_leading_batch_dim():
    batch = [(Tensor([1.0, 2.0]), 3), (Tensor([4.0, 5.0]), 6)]
    x, y = default_collate(batch)
    assert x.data.tolist() == [[1.0, 2.0], [4.0, 5.0]] and x.shape == (2, 2) and x.dtype == np.float32
    assert y.data.tolist() == [3, 6] and y.shape == (2,) and y.dtype == np.int64


def test_dtype_policy():
    (ints, floats, f64_arrays, f64_tensors, bools, uint8) = default_collate(
        [
            (np.int32(1), 0.5, np.array([1.0], dtype=np.float64), Tensor([1.0], dtype=np.float64), True, np.uint8(7)),
            (np.int32(2), 1.5, np.array([2.0], dtype=np.float64), Tensor([2.0], dtype=np.float64), False, np.uint8(8)),
        ]
    )
    assert ints.dtype == np.int64  # token ids index tables as int64
    assert floats.dtype == np.float32 and f64_arrays.dtype == np.float32  # Tensor's policy
    assert f64_tensors.dtype == np.float64  # a Tensor field keeps its dtype
    assert bools.dtype == np.bool_ and bools.data.tolist() == [True, False]
    assert uint8.dtype == np.int64 and uint8.data.tolist() == [7, 8]


def test_single_field_and_dict_samples():
    single = default_collate([Tensor([1, 2, 3]), Tensor([4, 5, 6])])
    assert isinstance(single, Tensor) and single.data.tolist() == [[1, 2, 3], [4, 5, 6]]
    assert default_collate([[1, 2], [3, 4]]).data.tolist() == [[1, 2], [3, 4]]  # a list is one field
    assert default_collate([7, 8, 9]).shape == (3,)
    d = default_collate([{"ids": [1, 2], "label": 0}, {"label": 1, "ids": [3, 4]}])
    assert set(d) == {"ids", "label"}
    assert d["ids"].data.tolist() == [[1, 2], [3, 4]] and d["label"].data.tolist() == [0, 1]


def test_batches_do_not_track_gradients_or_share_memory():
    w = Tensor([1.0, 2.0], requires_grad=True)
    (stacked,) = default_collate([(w,), (w,)])
    assert not stacked.requires_grad and stacked.grad_fn is None
    stacked.data[0, 0] = 9.0
    assert w.data[0] == 1.0


def test_unequal_shapes_point_to_pad_collate():
    with pytest.raises(ValueError) as info:
        default_collate([(np.array([1, 2, 3]), 0), (np.array([4, 5]), 1)])
    message = str(info.value)
    assert "field 0" in message and "(3,)" in message and "(2,)" in message and "sample 1" in message
    assert "pad_collate" in message and "attention_mask" in message
    with pytest.raises(ValueError, match="ragged"):
        default_collate([[[1, 2], [3]]])


def test_structure_and_type_errors():
    with pytest.raises(ValueError) as info:
        default_collate([(1, 2), (3,)])
    assert "sample 1" in str(info.value) and "2 fields" in str(info.value) and "1 fields" in str(info.value)
    with pytest.raises(ValueError, match="sample 1 of the batch is a single field"):
        default_collate([(1, 2), 3])
    with pytest.raises(ValueError, match="keys"):
        default_collate([{"a": 1}, {"b": 1}])
    with pytest.raises(TypeError) as info:
        default_collate([(1, "cat.jpg"), (2, "dog.jpg")])
    message = str(info.value)
    assert "field 1" in message and "'cat.jpg'" in message and "collate_fn" in message
    with pytest.raises(ValueError, match="non-empty list"):
        default_collate([])


# --- pad_collate ------------------------------------------------------------------------------
def test_pads_right_with_mask():
    ids, mask = pad_collate([[5, 6, 7], [8], np.array([9, 10])])
    assert ids.data.tolist() == [[5, 6, 7], [8, 0, 0], [9, 10, 0]]
    assert mask.data.tolist() == [[1, 1, 1], [1, 0, 0], [1, 1, 0]]
    assert ids.dtype == mask.dtype == np.int64 and ids.shape == mask.shape == (3, 3)


def test_pad_id_and_equal_lengths_need_no_padding():
    ids, mask = pad_collate([Tensor([4, 5]), Tensor([6])], pad_id=1)
    assert ids.data.tolist() == [[4, 5], [6, 1]] and mask.data.tolist() == [[1, 1], [1, 0]]
    ids, mask = pad_collate([[1, 2], [3, 4]], pad_id=1)
    assert ids.data.tolist() == [[1, 2], [3, 4]] and mask.data.tolist() == [[1, 1], [1, 1]]
    ids, mask = pad_collate([[], [3]])  # an empty sequence is all padding
    assert ids.data.tolist() == [[0], [3]] and mask.data.tolist() == [[0], [1]]


def test_tuple_samples_share_one_mask_and_take_a_pad_per_field():
    batch = [(np.array([1, 2, 3]), np.array([2, 3, 4])), ([7], [8])]
    inputs, targets, mask = pad_collate(batch, pad_id=(1, -100))
    assert inputs.data.tolist() == [[1, 2, 3], [7, 1, 1]]
    assert targets.data.tolist() == [[2, 3, 4], [8, -100, -100]]
    assert mask.data.tolist() == [[1, 1, 1], [1, 0, 0]]
    inputs, targets, mask = pad_collate(batch)  # one int pads every field
    assert targets.data.tolist() == [[2, 3, 4], [8, 0, 0]]


def test_pad_collate_in_a_dataloader():
    sequences = [[3, 4, 5], [6], [7, 8], [9, 10, 11, 12], [13]]
    loader = DataLoader(sequences, batch_size=2, collate_fn=functools.partial(pad_collate, pad_id=1))
    batches = list(loader)
    assert len(batches) == len(loader) == 3
    assert [ids.shape for ids, _ in batches] == [(2, 3), (2, 4), (1, 1)]
    assert batches[1][0].data.tolist() == [[7, 8, 1, 1], [9, 10, 11, 12]]
    assert batches[1][1].data.tolist() == [[1, 1, 0, 0], [1, 1, 1, 1]]
    # Over a shuffled epoch the mask's row sums are the sequence lengths, each sequence once.
    shuffled = DataLoader(sequences, batch_size=2, shuffle=True, seed=0, collate_fn=pad_collate)
    got = sorted(tuple(row[m == 1].tolist()) for ids, mask in shuffled for row, m in zip(ids.data, mask.data))
    assert got == sorted(tuple(s) for s in sequences)


def test_pad_collate_errors():
    with pytest.raises(ValueError) as info:
        pad_collate([([1, 2], [2]), ([3], [4])])
    assert "sample 0" in str(info.value) and "[2, 1]" in str(info.value) and "Hint" in str(info.value)
    with pytest.raises(TypeError) as info:
        pad_collate([([1], [2]), ([3], [4])], pad_id=(1,))
    assert "tuple of 2 int(s)" in str(info.value) and "(1,)" in str(info.value)
    for bad in (True, 1.0, "1"):
        with pytest.raises(TypeError, match="pad_id must be an int"):
            pad_collate([[1], [2]], pad_id=bad)
    with pytest.raises(TypeError, match="float64") as info:
        pad_collate([[1.0, 2.0]])
    assert "sample 0" in str(info.value)
    with pytest.raises(ValueError, match=r"sample 1 is shape \(1, 2\)"):
        pad_collate([[1], [[1, 2]]])
    with pytest.raises(ValueError, match="field 0 of sample 0 is a single id 5") as info:
        pad_collate([(5, 6, 7)])  # a tuple is always a tuple of fields
    assert "list, array or Tensor" in str(info.value)
    with pytest.raises(TypeError, match="dicts"):
        pad_collate([{"ids": [1]}])
    with pytest.raises(ValueError, match="non-empty list"):
        pad_collate([])
