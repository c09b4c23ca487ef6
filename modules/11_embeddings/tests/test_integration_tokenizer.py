"""
Module 11: Progressive Integration Tests -- part 4 of 6: tokenizer → embeddings
(integration_tokenizer_test).
Tests that Module 11 (Embeddings) works correctly AND integrates with prior modules.

DEPENDENCY CHAIN: 01_tensor → 05_autograd → 10_tokenization → 11_embeddings → 12_attention

Depends on //modules/10_tokenization:tokenization and //modules/11_embeddings:embeddings
(+ 01_tensor): ids produced by Module 10 (plain ids, special tokens, padded batches) are valid
embedding indices, and a tokenizer/embedding vocabulary mismatch is reported, not hidden.
"""

import numpy as np
import pytest

from tinytorch.core.tensor import Tensor
from tinytorch.text.embeddings import Embedding, EmbeddingLayer
from tinytorch.text.tokenization import BOS_ID, EOS_ID, PAD_ID, UNK_ID, BPETokenizer, CharTokenizer


class TestPriorStackStillWorking:
    """Module 10 still works next to Module 11."""

    def test_tokenization_functionality_stable(self):
        """Module 10: exact ids, round trip, special tokens and padded batches."""
        tokenizer = CharTokenizer()
        assert tokenizer.vocab_size == len(tokenizer.vocab) == 102
        ids = tokenizer.encode("Hello")
        assert isinstance(ids, list)
        assert ids == [ord(c) - 25 for c in "Hello"]
        assert tokenizer.decode(ids) == "Hello"
        assert tokenizer.encode("hi", add_special_tokens=True) == [BOS_ID, ord("h") - 25, ord("i") - 25, EOS_ID]
        batch = tokenizer.encode_batch(["ab", "abcd"])
        assert batch.input_ids == [[72, 73, PAD_ID, PAD_ID], [72, 73, 74, 75]]
        assert batch.attention_mask == [[1, 1, 0, 0], [1, 1, 1, 1]]
        assert (UNK_ID, PAD_ID, BOS_ID, EOS_ID) == (0, 1, 2, 3)


class TestBackwardIntegration:
    """Module 10 → 11."""

    def test_tokenizer_embedding_pipeline(self):
        """Tokenizer ids index the table: each output row is the row of its id, incl. specials."""
        tokenizer = CharTokenizer()
        text = "Hello, world!"
        token_ids = tokenizer.encode(text)
        embed = Embedding(vocab_size=len(tokenizer.vocab), embed_dim=64, seed=0)
        embeddings = embed.forward(Tensor(np.array([token_ids])))
        assert embeddings.shape == (1, len(text), 64) and embeddings.requires_grad
        np.testing.assert_array_equal(embeddings.data[0], embed.weight.data[token_ids])
        # The three 'l' (and two 'o') share a token, so without positions they share a vector.
        l_rows = [i for i, c in enumerate(text) if c == "l"]
        assert len(l_rows) == 3
        for i in l_rows[1:]:
            np.testing.assert_array_equal(embeddings.data[0, i], embeddings.data[0, l_rows[0]])
        # A list straight from encode() works too, and so does a character the vocab lacks (UNK).
        np.testing.assert_array_equal(embed(token_ids).data, embeddings.data[0])
        specials = tokenizer.encode("é", add_special_tokens=True)
        assert specials == [BOS_ID, UNK_ID, EOS_ID]
        np.testing.assert_array_equal(embed(specials).data, embed.weight.data[[2, 0, 3]])
        # Every id the tokenizer can produce is in range: the largest maps to the last row.
        top = tokenizer.encode("~")
        assert top == [tokenizer.vocab_size - 1]
        np.testing.assert_array_equal(embed(top).data[0], embed.weight.data[-1])

        # Padded batches (the DataLoader case) feed EmbeddingLayer; PAD rows are the PAD vector.
        layer = EmbeddingLayer(vocab_size=tokenizer.vocab_size, embed_dim=16, max_seq_len=32, seed=0)
        batch = tokenizer.encode_batch(["hi", "hello there"], add_special_tokens=True)
        ids = np.array(batch.input_ids)
        out = layer(ids)
        assert out.shape == (2, len(batch.input_ids[0]), 16) and out.dtype == np.float32
        pad_positions = np.argwhere(np.array(batch.attention_mask) == 0)
        assert len(pad_positions) > 0
        w, pe = layer.token_embedding.weight.data, layer.pos_encoding.position_embeddings.data
        for b, s in pad_positions:
            np.testing.assert_array_equal(out.data[b, s], w[PAD_ID] + pe[s])

        # Byte-level BPE: every id of a trained tokenizer is a valid index of a table of its size.
        bpe = BPETokenizer(vocab_size=300)
        bpe.train(["the cat sat on the mat", "the hat", "that cat"] * 3)
        bpe_ids = bpe.encode("the cat sat on the mat, naïvely")
        bpe_embed = Embedding(vocab_size=bpe.vocab_size, embed_dim=8, seed=0)
        np.testing.assert_array_equal(bpe_embed(bpe_ids).data, bpe_embed.weight.data[bpe_ids])

    def test_ids_round_trip_as_tensor_and_array(self):
        """Ids that come back as a Tensor (e.g. argmax of logits) or an int array decode like lists."""
        tokenizer = CharTokenizer()
        tokenizer.build_vocab("hello world")
        ids = tokenizer.encode("hello", add_special_tokens=False)
        assert tokenizer.decode(Tensor(np.array(ids))) == "hello"
        assert tokenizer.decode(np.array(ids, dtype=np.int32)) == "hello"
        with pytest.raises(TypeError, match="float"):
            tokenizer.decode(Tensor(np.array(ids, dtype=np.float32)))

    def test_tokenizer_vocab_mismatch_error(self):
        """A table smaller than the tokenizer's vocab fails loudly, naming id, range and the cause."""
        tokenizer = CharTokenizer()
        embed = Embedding(vocab_size=50, embed_dim=8, seed=0)  # too small for ids up to 101
        ids = tokenizer.encode("az")  # 'a' -> 72, 'z' -> 97
        with pytest.raises(ValueError, match=r"token id 72 at index 0 \(and 1 more: 97\) is out of range") as info:
            embed(ids)
        message = str(info.value)
        assert "[0, 49]" in message and "tokenizer/vocab size mismatch" in message
        with pytest.raises(ValueError, match="out of range"):
            EmbeddingLayer(vocab_size=50, embed_dim=8, seed=0)(np.array(tokenizer.encode_batch(["az"]).input_ids))
