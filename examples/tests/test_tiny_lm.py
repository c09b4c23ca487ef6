"""The tiny language model learns: the loss drops, it beats the unigram baseline, generation emits
only valid token ids, and a seed reproduces a run exactly. Runs are short (<= 100 steps)."""

import io
import math

import numpy as np
import pytest

from examples.language_model import train
from tinytorch.core.tensor import Tensor
from tinytorch.models.transformer import GPT

NUM_SPECIAL = 4  # <UNK> <PAD> <BOS> <EOS>


def quiet_run(**overrides):
    return train.run(train.Config(quiet=True, **overrides), log=lambda line: None)


@pytest.fixture(scope="module")
def bpe_run():
    """100 steps with the default settings (BPE, vocab 300, learned positions)."""
    return quiet_run(steps=100, sample_tokens=40)


def test_initial_loss_is_about_that_of_a_uniform_guess(bpe_run):
    # The head's random logits (std about 0.6 after the final LayerNorm) add about var / 2 to
    # log(vocab): measured 5.87 against log(300) = 5.70.
    for loss in (bpe_run.initial_train_loss, bpe_run.val_losses[0]):
        assert math.log(300) - 0.05 < loss < math.log(300) + 0.3


def test_bpe_training_cuts_the_loss_by_at_least_25_percent(bpe_run):
    assert bpe_run.train_loss <= 0.75 * bpe_run.initial_train_loss
    assert np.mean(bpe_run.step_losses[-10:]) <= 0.75 * np.mean(bpe_run.step_losses[:10])
    assert len(bpe_run.step_losses) == 100 and bpe_run.eval_steps == list(range(0, 101, 5))


def test_validation_loss_beats_the_unigram_baseline(bpe_run):
    # Measured: val 3.89 vs unigram 4.04 after 100 steps (1200 steps, the default: 2.33).
    assert bpe_run.val_loss < bpe_run.unigram_loss - 0.1
    assert 3.5 < bpe_run.unigram_loss < 4.5


def test_generation_emits_only_valid_non_special_ids(bpe_run):
    ids = bpe_run.sample_ids
    assert len(ids) == 40
    assert all(isinstance(i, int) and NUM_SPECIAL <= i < 300 for i in ids)
    assert bpe_run.sample_text.startswith("The model")


def test_char_tokenizer_with_sinusoidal_positions_also_learns():
    result = quiet_run(steps=60, tokenizer="char", pos_encoding="sinusoidal", sample_tokens=20, prompt="Attention")
    assert result.train_loss <= 0.8 * result.initial_train_loss
    assert result.val_loss < result.unigram_loss
    assert result.sample_text.startswith("Attention") and len(result.sample_ids) == 20


def test_same_seed_same_losses_to_the_last_digit():
    a = quiet_run(steps=15, seed=3, sample_tokens=10)
    b = quiet_run(steps=15, seed=3, sample_tokens=10)
    assert a.step_losses == b.step_losses  # exact float equality, not approx
    assert a.val_losses == b.val_losses and a.train_loss == b.train_loss
    assert a.sample_ids == b.sample_ids
    c = quiet_run(steps=15, seed=4, sample_tokens=10)
    assert c.step_losses != a.step_losses


def test_the_model_is_module_13s_gpt_as_configured():
    model = train.build_model(train.Config(embed_dim=16, heads=2, layers=2, seq_len=8, seed=0), vocab_size=20)
    assert isinstance(model, GPT)
    assert (model.num_layers, model.num_heads, model.max_seq_len) == (2, 2, 8)
    assert model.lm_head.weight is not model.token_embedding.weight  # untied by default
    tied = train.build_model(train.Config(embed_dim=16, heads=2, seq_len=8, tie_weights=True), vocab_size=20)
    assert tied.lm_head.weight is tied.token_embedding.weight
    sinusoidal = train.build_model(train.Config(embed_dim=16, heads=2, seq_len=8, pos_encoding="sinusoidal"), 20)
    none = train.build_model(train.Config(embed_dim=16, heads=2, seq_len=8, pos_encoding="none"), 20)
    assert sinusoidal.position_embedding is not None and none.position_embedding is None
    # Same seed, same weights; another seed, other weights.
    again = train.build_model(train.Config(embed_dim=16, heads=2, layers=2, seq_len=8, seed=0), vocab_size=20)
    other = train.build_model(train.Config(embed_dim=16, heads=2, layers=2, seq_len=8, seed=1), vocab_size=20)
    np.testing.assert_array_equal(again.lm_head.weight.data, model.lm_head.weight.data)
    assert not np.allclose(other.lm_head.weight.data, model.lm_head.weight.data)


def gpt(vocab_size, embed_dim, max_seq_len):
    """A small one-head GPT as tiny_lm builds it."""
    return train.build_model(train.Config(embed_dim=embed_dim, heads=1, seq_len=max_seq_len, seed=0), vocab_size)


def test_generate_never_samples_special_tokens_and_crops_the_context():
    model = gpt(vocab_size=12, embed_dim=8, max_seq_len=4)
    # The final LayerNorm then outputs all ones, so the specials' columns of 100 would win every
    # draw if they were allowed.
    model.ln_f.weight.data[:] = 0.0
    model.ln_f.bias.data[:] = 1.0
    model.lm_head.weight.data[:, :NUM_SPECIAL] = 100.0
    prompt = [4, 5, 6, 7, 8, 9, 10]  # longer than max_seq_len: only the last 4 ids are fed
    ids = train.generate(model, prompt, 30, np.random.default_rng(0))
    assert len(ids) == 30 and all(NUM_SPECIAL <= i < 12 for i in ids)
    assert model.training  # generate() restores training mode


def test_learning_rate_warms_up_then_decays_to_a_tenth():
    peak = 0.01
    assert train.learning_rate(0, 100, peak) == pytest.approx(peak / 5)
    assert train.learning_rate(4, 100, peak) == pytest.approx(peak)
    assert train.learning_rate(100, 100, peak) == pytest.approx(0.1 * peak)
    lrs = [train.learning_rate(s, 100, peak) for s in range(5, 100)]
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))


def test_clip_gradients_rescales_to_the_max_norm():
    model = gpt(vocab_size=6, embed_dim=4, max_seq_len=2)
    params = model.parameters()
    for p in params:
        p.grad = None
    a, b = params[0], params[1]
    a.grad = Tensor(np.zeros(a.shape, dtype=np.float32))
    b.grad = Tensor(np.zeros(b.shape, dtype=np.float32))
    a.grad.data.flat[0], b.grad.data.flat[0] = 3.0, 4.0
    assert train.clip_gradients(params, max_norm=1.0) == pytest.approx(5.0)
    assert a.grad.data.flat[0] == pytest.approx(0.6) and b.grad.data.flat[0] == pytest.approx(0.8)


def test_progress_bar_reports_step_loss_and_tokens_per_second():
    out = io.StringIO()  # not a terminal: one full line every total // 10 steps
    bar = train.ProgressBar(20, stream=out, width=10)
    for step in range(1, 21):
        bar.update(step, 5.0 - step * 0.1, 12345.0)
    lines = out.getvalue().splitlines()
    assert len(lines) == 10
    assert lines[0] == "step  2/20 [#.........] loss  4.800 |  12,345 tok/s"
    assert lines[-1] == "step 20/20 [##########] loss  3.000 |  12,345 tok/s"
