"""
The 11 → 12 contract, tested from Module 12's side (embedding_attention_contract_test).

DEPENDENCY CHAIN: 01_tensor → 05_autograd → 10_tokenization → 11_embeddings → 12_attention

Module 11 may not depend on Module 12, so the test that actually feeds EmbeddingLayer output into
MultiHeadAttention lives here (Module 11's own half is its integration_forward_contract_test):
shapes and dtype line up, gradients of an attention loss reach exactly the used rows of the
embedding tables, tokenizer padding masks work end to end, and positional encodings are what
breaks attention's permutation symmetry.
"""

import numpy as np

from tinytorch.core.attention import MultiHeadAttention, causal_mask, combine_masks, padding_mask
from tinytorch.core.tensor import Tensor
from tinytorch.text.embeddings import EmbeddingLayer
from tinytorch.text.tokenization import CharTokenizer


class TestForwardIntegration:
    """Module 11 → 12."""

    def test_embedding_layer_output_feeds_multihead_attention(self):
        rng = np.random.default_rng(0)
        embed = EmbeddingLayer(vocab_size=40, embed_dim=16, max_seq_len=12, pos_encoding="learned", seed=0)
        mha = MultiHeadAttention(embed_dim=16, num_heads=4, seed=1)
        tokens = rng.integers(0, 20, size=(3, 7))  # ids 20..39 never used
        x = embed(tokens)
        assert x.shape == (3, 7, 16) and x.dtype == np.float32
        out = mha(x, mask=causal_mask(7))
        assert out.shape == (3, 7, 16) and out.dtype == np.float32 and out.requires_grad

        (out * out).sum().backward()
        tok_grad = embed.token_embedding.weight.grad.data
        pos_grad = embed.pos_encoding.position_embeddings.grad.data
        used = np.zeros(40, dtype=bool)
        used[np.unique(tokens)] = True
        assert np.all(np.abs(tok_grad[used]).sum(axis=1) > 0)
        np.testing.assert_array_equal(tok_grad[~used], 0.0)
        assert np.all(np.abs(pos_grad[:7]).sum(axis=1) > 0)
        np.testing.assert_array_equal(pos_grad[7:], 0.0)
        for p in mha.parameters():  # every projection weight and bias learns from this loss
            assert p.grad.shape == p.shape and np.abs(p.grad.data).sum() > 0

        # Unbatched (seq,) ids -> (seq, embed_dim) -> (seq, embed_dim), equal to the batch row.
        single = mha(embed(tokens[2]), mask=causal_mask(7))
        assert single.shape == (7, 16)
        np.testing.assert_allclose(single.data, out.data[2], rtol=1e-5, atol=1e-6)

    def test_embedding_attention_gradients_match_finite_differences(self):
        rng = np.random.default_rng(1)
        embed = EmbeddingLayer(vocab_size=5, embed_dim=4, max_seq_len=4, scale_embeddings=True, seed=2)
        mha = MultiHeadAttention(embed_dim=4, num_heads=2, seed=3)
        embed.token_embedding.weight = Tensor(embed.token_embedding.weight.data, dtype=np.float64, requires_grad=True)
        embed.pos_encoding.position_embeddings = Tensor(
            embed.pos_encoding.position_embeddings.data, dtype=np.float64, requires_grad=True
        )
        for lin in (mha.q_proj, mha.k_proj, mha.v_proj, mha.out_proj):
            lin.weight = Tensor(lin.weight.data, dtype=np.float64, requires_grad=True)
            lin.bias = Tensor(lin.bias.data, dtype=np.float64, requires_grad=True)
        tokens = np.array([[1, 3, 1], [0, 2, 2]])
        R = Tensor(rng.normal(size=(2, 3, 4)), dtype=np.float64)

        def loss():
            return (mha(embed(tokens), mask=causal_mask(3)) * R).sum()

        loss().backward()
        eps = 1e-6
        for table in (embed.token_embedding.weight, embed.pos_encoding.position_embeddings):
            numeric = np.zeros_like(table.data)
            for idx in np.ndindex(table.shape):
                old = table.data[idx]
                table.data[idx] = old + eps
                plus = loss().item()
                table.data[idx] = old - eps
                minus = loss().item()
                table.data[idx] = old
                numeric[idx] = (plus - minus) / (2 * eps)
            np.testing.assert_allclose(table.grad.data, numeric, rtol=1e-6, atol=1e-8)
        np.testing.assert_array_equal(embed.token_embedding.weight.grad.data[4], 0.0)  # id 4 unused
        np.testing.assert_array_equal(embed.pos_encoding.position_embeddings.grad.data[3], 0.0)

    def test_tokenizer_padding_mask_end_to_end(self):
        tokenizer = CharTokenizer()
        batch = tokenizer.encode_batch(["hi", "hello"], add_special_tokens=True)
        ids = np.array(batch.input_ids)
        embed = EmbeddingLayer(vocab_size=tokenizer.vocab_size, embed_dim=8, max_seq_len=16, seed=0)
        mha = MultiHeadAttention(embed_dim=8, num_heads=2, seed=0)
        mask = combine_masks(causal_mask(ids.shape[1]), padding_mask(batch.attention_mask))
        out = mha(embed(ids), mask=mask).data

        # Replacing the padding ids by other tokens changes nothing at the real positions.
        real = np.array(batch.attention_mask, dtype=bool)
        swapped = np.where(real, ids, 50)
        out_swapped = mha(embed(swapped), mask=mask).data
        np.testing.assert_array_equal(out_swapped[real], out[real])
        assert not np.allclose(out_swapped[~real], out[~real])

        # The tokenizer's attention_mask as it comes, through attention_mask=: the same numbers.
        direct = mha(embed(ids), mask=causal_mask(ids.shape[1]), attention_mask=batch.attention_mask).data
        np.testing.assert_array_equal(direct, out)

    def test_positions_break_attention_permutation_symmetry(self):
        """Without positions, self-attention is permutation-equivariant; with them it is not."""
        rng = np.random.default_rng(4)
        tokens = rng.integers(0, 30, size=(1, 6))
        perm = np.array([3, 0, 5, 1, 4, 2])
        mha = MultiHeadAttention(embed_dim=8, num_heads=2, seed=5)
        blind = EmbeddingLayer(vocab_size=30, embed_dim=8, max_seq_len=6, pos_encoding=None, seed=6)
        np.testing.assert_allclose(
            mha(blind(tokens[:, perm])).data, mha(blind(tokens)).data[:, perm], rtol=1e-5, atol=1e-6
        )
        for kind in ("learned", "sinusoidal"):
            aware = EmbeddingLayer(vocab_size=30, embed_dim=8, max_seq_len=6, pos_encoding=kind, seed=6)
            assert not np.allclose(mha(aware(tokens[:, perm])).data, mha(aware(tokens)).data[:, perm], atol=1e-3)
