"""
Module 11: Progressive Integration Tests -- DataLoader batches → embeddings
(integration_dataloader_test).
Tests that Module 11 (Embeddings) works correctly AND integrates with prior modules.

DEPENDENCY CHAIN: 01_tensor → 08_dataloader → 10_tokenization → 11_embeddings → 12_attention

The audit's "batch dimension handling from DataLoader" (Backward Integration, Module 10 → 11):
text is tokenized by Module 10, cut into next-token windows by Module 08's TokenWindowDataset
(or kept as variable-length sentences and padded by pad_collate), batched by Module 08's
DataLoader and embedded by Module 11. Checked with values, not shapes alone: every batch row is
exactly W[ids] + PE[:seq], the partial last batch equals the same rows of a full batch, padded
positions are the <PAD> row and are masked out, and the gradient of a summed loss is the count
of each id in the batch (real tokens only when the loss is masked).

Depends on //modules/08_dataloader:dataloader, //modules/10_tokenization:tokenization and both
Module 11 libraries (+ 01_tensor). See TESTS.md.
"""

import functools

import numpy as np

from tinytorch.core.dataloader import DataLoader, TokenWindowDataset, pad_collate
from tinytorch.core.tensor import Tensor
from tinytorch.text.embedding_core import Embedding
from tinytorch.text.embeddings import EmbeddingLayer
from tinytorch.text.tokenization import PAD_ID, UNK_ID, CharTokenizer

# 88 characters -> 10 non-overlapping windows of 8 (+ 1 shifted target) -> batches of 4, 4, 2.
CORPUS = "The model reads a batch of windows. Each window is a row; each row is a sequence of ids."
SEQ_LEN, BATCH, DIM = 8, 4, 16

SENTENCES = ["The model reads", "a batch", "of windows.", "Each window is a row", "ids"]


def windows_loader(**kwargs):
    tokenizer = CharTokenizer()
    ids = tokenizer.encode(CORPUS)
    return tokenizer, ids, DataLoader(TokenWindowDataset(ids, seq_len=SEQ_LEN), batch_size=BATCH, **kwargs)


def counts(ids, vocab_size, width):
    """(vocab_size, width): row v holds how many times id v occurs in ``ids``."""
    return np.repeat(np.bincount(np.asarray(ids).reshape(-1), minlength=vocab_size)[:, None], width, axis=1)


class TestBackwardIntegration:
    """Module 08 (DataLoader) and Module 10 (tokenizer) → Module 11."""

    def test_dataloader_batches_feed_embedding_layer(self):
        """(batch, seq) int64 windows -> (batch, seq, dim) float32, exactly W[ids] + PE[:seq]."""
        tokenizer, ids, loader = windows_loader(shuffle=True, seed=0)
        assert ids == [ord(c) - 25 for c in CORPUS]  # module 10's default char ids
        layer = EmbeddingLayer(tokenizer.vocab_size, DIM, max_seq_len=SEQ_LEN, seed=0)
        w, pe = layer.token_embedding.weight.data, layer.pos_encoding.position_embeddings.data
        assert len(loader) == 3

        for epoch in range(2):
            sizes, starts = [], []
            for inputs, targets in loader:
                b = inputs.shape[0]
                sizes.append(b)
                assert isinstance(inputs, Tensor) and inputs.shape == targets.shape == (b, SEQ_LEN)
                assert inputs.dtype == targets.dtype == np.int64
                out = layer(inputs)
                assert out.shape == (b, SEQ_LEN, DIM) and out.dtype == np.float32 and out.requires_grad
                np.testing.assert_array_equal(out.data, w[inputs.data] + pe[:SEQ_LEN])
                for row, target in zip(inputs.data, targets.data):
                    # Each row is a window of the text; its target is the text one character on.
                    (start,) = [s for s in range(0, len(ids), SEQ_LEN) if ids[s : s + SEQ_LEN] == row.tolist()]
                    assert tokenizer.decode(row) == CORPUS[start : start + SEQ_LEN]
                    assert tokenizer.decode(target) == CORPUS[start + 1 : start + SEQ_LEN + 1]
                    starts.append(start)
            assert sizes == [4, 4, 2]  # the last batch is partial: 10 windows % 4
            assert sorted(starts) == list(range(0, 80, SEQ_LEN))  # every window once per epoch
            if epoch == 0:
                first_order = starts
        assert starts != first_order  # a new shuffle each epoch

        _, _, dropped = windows_loader(shuffle=True, seed=0, drop_last=True)
        assert len(dropped) == 2 and [x.shape[0] for x, _ in dropped] == [4, 4]

    def test_partial_last_batch_embeds_like_the_same_rows_of_a_full_batch(self):
        """The batch size comes from the batch: a 2-row batch gives the rows a 10-row one gives."""
        tokenizer, ids, loader = windows_loader()
        layer = EmbeddingLayer(tokenizer.vocab_size, DIM, max_seq_len=32, pos_encoding="sinusoidal", seed=0)
        batches = list(loader)
        last_inputs = batches[-1][0]
        assert last_inputs.shape == (2, SEQ_LEN)
        np.testing.assert_array_equal(last_inputs.data, np.array(ids[64:80]).reshape(2, SEQ_LEN))
        everything = np.concatenate([x.data for x, _ in batches])
        assert everything.shape == (10, SEQ_LEN)
        np.testing.assert_array_equal(layer(last_inputs).data, layer(everything).data[8:])
        np.testing.assert_array_equal(layer(last_inputs.data[1]).data, layer(everything).data[9])  # (seq,) too

    def test_gradient_of_a_summed_loss_counts_the_ids_of_the_batch(self):
        """d sum(E[ids]) / dW = number of times each id occurs; it accumulates across batches."""
        tokenizer, _, loader = windows_loader(shuffle=True, seed=1)
        vocab = tokenizer.vocab_size
        (x0, _), (x1, _), (x2, _) = list(loader)

        embed = Embedding(vocab, 8, seed=0)
        embed(x0).sum().backward()
        expected = counts(x0.data, vocab, 8)
        np.testing.assert_array_equal(embed.weight.grad.data, expected)
        assert expected[ord("e") - 25, 0] == np.count_nonzero(x0.data == ord("e") - 25) > 1  # repeats add up
        assert embed.weight.grad.data[UNK_ID].sum() == 0  # unused rows get nothing
        embed(x2).sum().backward()  # the partial batch, accumulated into the same .grad
        np.testing.assert_array_equal(embed.weight.grad.data, counts(np.concatenate([x0.data, x2.data]), vocab, 8))

        # Through EmbeddingLayer with sqrt(dim) scaling and learned positions.
        layer = EmbeddingLayer(vocab, DIM, max_seq_len=12, scale_embeddings=True, seed=0)
        layer(x1).sum().backward()
        np.testing.assert_allclose(
            layer.token_embedding.weight.grad.data, np.sqrt(DIM) * counts(x1.data, vocab, DIM), rtol=1e-6
        )
        pos_grad = layer.pos_encoding.position_embeddings.grad.data
        np.testing.assert_array_equal(pos_grad[:SEQ_LEN], np.full((SEQ_LEN, DIM), x1.shape[0]))
        np.testing.assert_array_equal(pos_grad[SEQ_LEN:], 0.0)  # positions 8..11 never used

    def test_padded_batches_carry_the_attention_mask(self):
        """pad_collate(pad_id=PAD_ID) gives module 10's encode_batch; PAD positions are masked."""
        tokenizer = CharTokenizer()
        sequences = [tokenizer.encode(s) for s in SENTENCES]
        loader = DataLoader(sequences, batch_size=2, collate_fn=functools.partial(pad_collate, pad_id=PAD_ID))
        layer = EmbeddingLayer(tokenizer.vocab_size, DIM, max_seq_len=32, seed=0)
        w, pe = layer.token_embedding.weight.data, layer.pos_encoding.position_embeddings.data

        batches = list(loader)
        assert len(batches) == len(loader) == 3
        for k, (ids, mask) in enumerate(batches):
            reference = tokenizer.encode_batch(SENTENCES[2 * k : 2 * k + 2])
            assert ids.data.tolist() == reference.input_ids
            assert mask.data.tolist() == reference.attention_mask
            assert ids.dtype == mask.dtype == np.int64

            out = layer(ids)
            b, width = ids.shape
            assert out.shape == (b, width, DIM) and out.dtype == np.float32
            padded = np.argwhere(mask.data == 0)
            if k < 2:
                assert len(padded) > 0  # the shorter sentence of each pair is padded
            for r, s in padded:
                assert ids.data[r, s] == PAD_ID
                np.testing.assert_array_equal(out.data[r, s], w[PAD_ID] + pe[s])
            for r, s in np.argwhere(mask.data == 1):
                np.testing.assert_array_equal(out.data[r, s], w[ids.data[r, s]] + pe[s])

        # A masked loss sends gradient to real tokens only: the counts of the unpadded ids.
        ids, mask = batches[1]  # "of windows." (11) and "Each window is a row" (20)
        keep = Tensor(mask.data[..., None].astype(np.float32))
        (layer(ids) * keep).sum().backward()
        real_ids = ids.data[mask.data == 1]
        grad = layer.token_embedding.weight.grad.data
        np.testing.assert_array_equal(grad, counts(real_ids, tokenizer.vocab_size, DIM))
        assert grad[PAD_ID].sum() == 0 and np.count_nonzero(ids.data == PAD_ID) == 9
        pos_grad = layer.pos_encoding.position_embeddings.grad.data
        lengths = mask.data.sum(axis=1)
        assert lengths.tolist() == [11, 20]
        np.testing.assert_array_equal(pos_grad[:, 0], [(lengths > p).sum() for p in range(32)])

        # pad_collate's default pad_id 0 is module 10's <UNK>: only the mask tells padding apart.
        ids0, mask0 = pad_collate(sequences[:2])
        np.testing.assert_array_equal(mask0.data, batches[0][1].data)
        r, s = np.argwhere(mask0.data == 0)[0]
        assert ids0.data[r, s] == UNK_ID == 0
        np.testing.assert_array_equal(layer(ids0).data[r, s], w[UNK_ID] + pe[s])
