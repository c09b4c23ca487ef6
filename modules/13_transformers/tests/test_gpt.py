"""GPT: shapes, parameters, finite-difference gradients of every parameter, the causal property,
generate (length, determinism, greedy, top_k, cropping to max_seq_len, modes), tied and untied
heads, padding, and bad input."""

import numpy as np
import pytest

from tinytorch.core.tensor import Tensor
from tinytorch.models.transformer import GPT, LayerNorm, TransformerBlock


def central_differences(loss, t, indices, eps=1e-6):
    """d loss() / d t.data[idx] by central differences for each idx in ``indices`` (float64)."""
    numeric = []
    for idx in indices:
        old = t.data[idx]
        t.data[idx] = old + eps
        plus = loss().item()
        t.data[idx] = old - eps
        minus = loss().item()
        t.data[idx] = old
        numeric.append((plus - minus) / (2 * eps))
    return np.array(numeric)


def some_indices(t, rng, limit=10):
    """Every index of a small tensor; ``limit`` random ones (always the first and last) of a big one."""
    every = list(np.ndindex(t.shape))
    if len(every) <= limit:
        return every
    picked = rng.choice(len(every), size=limit - 2, replace=False)
    return [every[0], every[-1]] + [every[i] for i in picked]


def small(**kwargs):
    args = dict(vocab_size=11, embed_dim=8, num_layers=2, num_heads=2, max_seq_len=6, seed=0)
    args.update(kwargs)
    return GPT(**args)


IDS = np.array([[1, 4, 4, 9, 0], [10, 2, 3, 3, 7]])


def test_forward_shapes_and_dtypes():
    model = small()
    logits = model(IDS)
    assert logits.shape == (2, 5, 11) and logits.dtype == np.float32 and logits.requires_grad
    model.eval()
    batched = model(Tensor(IDS)).data
    single = model(IDS[1])  # (seq,) -> (seq, vocab)
    assert single.shape == (5, 11)
    np.testing.assert_allclose(single.data, batched[1], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(model(IDS.tolist()).data, batched)  # nested lists work
    assert model(IDS[:, :1]).shape == (2, 1, 11) and model(np.zeros((2, 6), dtype=np.int64)).shape == (2, 6, 11)
    np.testing.assert_array_equal(model(IDS.astype(np.int32)).data, batched)


def test_structure_and_parameters():
    model = small()
    assert len(model.blocks) == 2 and all(isinstance(b, TransformerBlock) for b in model.blocks)
    assert isinstance(model.ln_f, LayerNorm) and model.embedding.max_seq_len == 6
    assert model.token_embedding is model.embedding.token_embedding
    assert model.position_embedding is model.embedding.pos_encoding
    params = model.parameters()
    expected = [model.token_embedding.weight, model.position_embedding.position_embeddings]
    for block in model.blocks:
        expected += block.parameters()
    expected += [model.ln_f.gamma, model.ln_f.beta]
    assert len(params) == len(expected) == 2 + 2 * 16 + 2 and all(a is b for a, b in zip(params, expected))
    d, V, S, h = 8, 11, 6, 32
    per_block = 4 * (d * d + d) + 2 * 2 * d + (d * h + h) + (h * d + d)
    assert model.num_parameters() == V * d + S * d + 2 * per_block + 2 * d
    # Untied: one more (embed_dim, vocab_size) weight, last, like upstream's lm_head.
    untied = small(tie_weights=False)
    assert untied.lm_head.weight.shape == (8, 11) and untied.parameters()[-1] is untied.lm_head.weight
    assert untied.num_parameters() == model.num_parameters() + d * V
    # Same seed, same weights; another seed, others.
    np.testing.assert_array_equal(small().blocks[1].mlp.linear1.weight.data, model.blocks[1].mlp.linear1.weight.data)
    assert not np.array_equal(small(seed=1).token_embedding.weight.data, model.token_embedding.weight.data)
    assert "GPT(vocab_size=11, embed_dim=8, num_layers=2" in repr(model)


def test_tied_head_is_the_token_table():
    model = small()
    W = model.token_embedding.weight
    assert model.tie_weights and model.lm_head.weight is W
    assert sum(p is W for p in model.parameters()) == 1  # listed once, so an optimizer steps it once
    model.eval()
    h = model.ln_f(_hidden(model, IDS))
    np.testing.assert_allclose(model(IDS).data, h.data @ W.data.T, rtol=1e-5, atol=1e-6)
    # The head reads the table at call time: replacing the Tensor keeps the tie.
    model.token_embedding.weight = Tensor(W.data * 2.0, requires_grad=True)
    assert model.lm_head.weight is model.token_embedding.weight


def _hidden(model, ids):
    """What the blocks produce (in eval mode), rebuilt from the model's own parts."""
    x = model.embedding(ids)
    for block in model.blocks:
        x = block(x, causal=True)
    return x


def test_gradients_of_every_parameter_match_finite_differences():
    """Every parameter Tensor, at all entries of the small ones and 10 of each larger one (all
    entries of every parameter take ~5 s); tied with 2 layers, untied with 1."""
    rng = np.random.default_rng(0)
    for tie, layers in ((True, 2), (False, 1)):
        model = GPT(7, 4, layers, 2, max_seq_len=4, dropout_prob=0.0, tie_weights=tie, seed=1)
        for p in model.parameters():
            p.data = p.data.astype(np.float64)
            if p.ndim == 1:
                p.data += rng.normal(size=p.shape) * 0.1  # biases, gamma, beta: not at their init
        ids = np.array([[1, 3, 1], [0, 6, 6]])
        R = Tensor(rng.normal(size=(2, 3, 7)), dtype=np.float64)

        def loss():
            return (model(ids) * R).sum()

        loss().backward()
        for p in model.parameters():
            assert p.grad is not None and p.grad.shape == p.shape
            where = some_indices(p, rng)
            analytic = np.array([p.grad.data[idx] for idx in where])
            np.testing.assert_allclose(analytic, central_differences(loss, p, where), rtol=1e-5, atol=1e-8)
        # Rows of the token table no input used (2, 4, 5) get gradient only from the tied head.
        W = model.token_embedding.weight
        if tie:
            assert np.abs(W.grad.data[[2, 4, 5]]).sum() > 0
        else:
            np.testing.assert_array_equal(W.grad.data[[2, 4, 5]], 0.0)
        np.testing.assert_array_equal(model.position_embedding.position_embeddings.grad.data[3:], 0.0)


def test_logits_are_causal():
    """Changing the token at position t leaves the logits of positions < t unchanged."""
    model = small().eval()
    base = np.array([[3, 1, 4, 1, 5, 9]])
    before = model(base).data
    for t in range(6):
        changed = base.copy()
        changed[0, t] = (changed[0, t] + 5) % 11
        after = model(changed).data
        np.testing.assert_allclose(after[0, :t], before[0, :t], rtol=1e-6, atol=1e-6)
        assert np.abs(after[0, t] - before[0, t]).max() > 1e-4
        if t < 5:
            assert np.abs(after[0, t + 1:] - before[0, t + 1:]).max() > 1e-4


def test_dropout_is_on_in_training_and_off_in_eval():
    model = small(dropout_prob=0.3)
    assert not np.array_equal(model(IDS).data, model(IDS).data)
    model.eval()
    np.testing.assert_array_equal(model(IDS).data, model(IDS).data)
    np.testing.assert_array_equal(model(IDS).data, small(dropout_prob=0.0)(IDS).data)  # eval == no dropout


def test_generate_length_prompt_and_determinism():
    model = small()
    prompt = IDS[:, :3]
    out = model.generate(prompt, max_new_tokens=7, seed=5)
    assert isinstance(out, Tensor) and out.shape == (2, 10) and out.dtype == np.int64 and not out.requires_grad
    np.testing.assert_array_equal(out.data[:, :3], prompt)
    assert out.data.min() >= 0 and out.data.max() < 11
    np.testing.assert_array_equal(model.generate(prompt, 7, seed=5).data, out.data)
    others = [model.generate(prompt, 7, seed=s).data for s in range(6, 10)]
    assert any(not np.array_equal(o, out.data) for o in others)
    # seed=None draws from numpy's global generator, so np.random.seed makes it reproducible.
    np.random.seed(3)
    first = model.generate(prompt, 5).data
    np.random.seed(3)
    np.testing.assert_array_equal(model.generate(prompt, 5).data, first)
    # rng= works like seed=.
    np.testing.assert_array_equal(model.generate(prompt, 7, rng=np.random.default_rng(5)).data, out.data)
    # (seq,) prompt -> (seq + new,); zero new tokens returns the prompt; no graph, no grads.
    one = model.generate([2, 3], max_new_tokens=4, seed=0)
    assert one.shape == (6,) and one.data[:2].tolist() == [2, 3]
    np.testing.assert_array_equal(model.generate(prompt, 0).data, prompt)
    assert all(p.grad is None for p in model.parameters())


def test_generate_greedy_top_k_and_temperature():
    model = small(seed=3)
    prompt = np.array([[5, 1]])
    greedy = model.generate(prompt, 4, top_k=1, seed=0).data
    # By hand: argmax of the last position's logits, appended one at a time.
    model.eval()
    ids = prompt.copy()
    for _ in range(4):
        ids = np.concatenate([ids, model(ids).data[:, -1].argmax(axis=-1)[:, None]], axis=1)
    np.testing.assert_array_equal(greedy, ids)
    np.testing.assert_array_equal(model.generate(prompt, 4, top_k=1, seed=123).data, greedy)  # seed-free
    # A tiny temperature is greedy too.
    np.testing.assert_array_equal(model.generate(prompt, 4, temperature=1e-4, seed=1).data, greedy)
    # top_k=2: every sample is one of the two largest logits, and both occur.
    many = np.repeat(prompt, 300, axis=0)
    samples = model.generate(many, 1, top_k=2, seed=0).data[:, -1]
    top2 = set(np.argsort(model(prompt).data[0, -1])[-2:].tolist())
    assert set(samples.tolist()) == top2
    # A high temperature spreads the samples over more ids than a low one.
    hot = model.generate(many, 1, temperature=5.0, seed=0).data[:, -1]
    cold = model.generate(many, 1, temperature=0.2, seed=0).data[:, -1]
    assert len(set(hot.tolist())) > len(set(cold.tolist()))


def test_generate_crops_the_context_to_max_seq_len():
    model = small(max_seq_len=4, seed=2)
    prompt = np.array([[1, 2, 3, 4, 5, 6]])  # already longer than max_seq_len: accepted
    out = model.generate(prompt, 5, top_k=1).data
    assert out.shape == (1, 11)
    model.eval()
    ids = prompt.copy()
    for _ in range(5):
        ids = np.concatenate([ids, model(ids[:, -4:]).data[:, -1].argmax(axis=-1)[:, None]], axis=1)
    np.testing.assert_array_equal(out, ids)


def test_generate_restores_training_modes():
    model = small()
    model.blocks[1].mlp.eval()  # one sub-module deliberately in eval mode
    model.generate(IDS, 2, seed=0)
    assert model.training and model.blocks[0].dropout.training and model.blocks[0].mlp.dropout.training
    assert not model.blocks[1].mlp.training and not model.blocks[1].mlp.dropout.training
    assert model.blocks[1].dropout.training
    # Even when generation fails half way.
    with pytest.raises(ValueError):
        model.generate(IDS, 2, top_k=12)
    assert model.training


def test_attention_mask_hides_left_padding():
    """Without positions, a left-padded row's real tokens get the same logits as the row alone."""
    model = small(pos_encoding=None, seed=4).eval()
    row = np.array([[7, 3, 8]])
    padded = np.array([[0, 0, 7, 3, 8], [1, 2, 3, 4, 5]])
    am = np.array([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]])
    out = model(padded, attention_mask=am).data
    np.testing.assert_allclose(out[0, 2:], model(row).data[0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out[1], model(padded[1:]).data[0], rtol=1e-5, atol=1e-5)
    assert np.abs(model(padded).data[0, 2:] - model(row).data[0]).max() > 1e-3  # the mask mattered


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match=r"GPT embed_dim=10 must be divisible by num_heads=4 .*Allowed num_heads for embed_dim=10: 1, 2, 5, 10.*Hint"):
        GPT(20, 10, 1, 4)
    for name, bad in (("vocab_size", 0), ("embed_dim", -8), ("num_layers", 0), ("num_heads", 0), ("max_seq_len", 0)):
        args = dict(vocab_size=20, embed_dim=8, num_layers=1, num_heads=2, max_seq_len=8)
        args[name] = bad
        with pytest.raises(ValueError, match=rf"GPT {name} must be a positive int \(>= 1\), got {bad}"):
            GPT(**args)
    with pytest.raises(TypeError, match=r"GPT num_layers must be a positive int, got float 2.0"):
        GPT(20, 8, 2.0, 2)
    with pytest.raises(ValueError, match=r"GPT pos_encoding must be one of 'learned', 'sinusoidal' or None, got 'rotary'"):
        GPT(20, 8, 1, 2, pos_encoding="rotary")
    with pytest.raises(TypeError, match=r"GPT tie_weights must be True or False, got str"):
        GPT(20, 8, 1, 2, tie_weights="yes")
    with pytest.raises(ValueError, match=r"GPT dropout_prob must be in \[0, 1\), got 1.0"):
        GPT(20, 8, 1, 2, dropout_prob=1.0)
    with pytest.raises(ValueError, match=r"GPT mlp_ratio=0 gives an MLP hidden size"):
        GPT(20, 8, 1, 2, mlp_ratio=0)


def test_bad_token_ids():
    model = small()
    with pytest.raises(TypeError, match=r"GPT.forward token ids must be integers, got dtype float32 .*Allowed: integer ids in \[0, 10\].*Hint"):
        model(Tensor(IDS.astype(np.float32)))
    with pytest.raises(TypeError, match=r"must be integers, got dtype float64 \(shape \(2, 5, 8\)\).*embeddings, not ids"):
        model(np.zeros((2, 5, 8)))
    with pytest.raises(ValueError, match=r"token id 11 at index \(0, 2\) is out of range .*allowed ids are \[0, 10\]"):
        model([[1, 2, 11]])
    with pytest.raises(ValueError, match=r"token id -1 at index 0 is out of range"):
        model([-1, 2])
    with pytest.raises(ValueError, match=r"length 7, which exceeds max_seq_len=6: allowed lengths are 1\.\.6\. Hint: crop"):
        model(np.zeros((1, 7), dtype=np.int64))
    with pytest.raises(ValueError, match=r"expects integer ids .* of shape \(batch, seq_len\) or \(seq_len,\), got shape \(1, 2, 3\)"):
        model(np.zeros((1, 2, 3), dtype=np.int64))
    with pytest.raises(ValueError, match=r"at least one token per sequence, got shape \(2, 0\)"):
        model(np.zeros((2, 0), dtype=np.int64))
    with pytest.raises(TypeError, match="token ids must be integers"):
        model("hello")
    with pytest.raises(TypeError, match="booleans"):
        model(np.ones((1, 3), dtype=bool))
    with pytest.raises(ValueError, match="ragged"):
        model([[1, 2], [3]])


def test_bad_generate_arguments():
    model = small()
    for bad in (-1,):
        with pytest.raises(ValueError, match=r"max_new_tokens must be an int >= 0, got -1"):
            model.generate(IDS, bad)
    for bad in (2.0, "5", True):
        with pytest.raises(TypeError, match=r"max_new_tokens must be an int >= 0"):
            model.generate(IDS, bad)
    for bad in (0, -1.0, float("nan"), float("inf"), "1"):
        with pytest.raises(ValueError, match=r"temperature must be a finite number > 0, got .*top_k=1"):
            model.generate(IDS, 2, temperature=bad)
    for bad in (0, 12):
        with pytest.raises(ValueError, match=r"top_k must be None or an int in \[1, 11\] \(vocab_size\), got"):
            model.generate(IDS, 2, top_k=bad)
    with pytest.raises(TypeError, match=r"top_k must be None or an int in \[1, 11\], got float"):
        model.generate(IDS, 2, top_k=1.5)
    with pytest.raises(ValueError, match="pass either seed or rng"):
        model.generate(IDS, 2, seed=0, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match=r"GPT.generate token ids must be integers"):
        model.generate(np.zeros((1, 3)), 2)
