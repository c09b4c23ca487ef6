"""GPT training end to end (gpt_training_test): tokenizer (10) -> GPT (13) -> cross_entropy (04)
-> Adam (06). A small GPT learns a repeating text until greedy generation continues it exactly.
Seeded, 100 steps (~2 s here; speed itself is the benchmarks' business, never asserted)."""

import numpy as np

from tinytorch.core.losses import cross_entropy
from tinytorch.core.optimizers import Adam
from tinytorch.models.transformer import GPT
from tinytorch.text.tokenization import CharTokenizer

TEXT = "hello world! " * 8  # period 13; 'l' and 'o' are followed by different letters, so context matters


def windows(ids: np.ndarray, seq_len: int) -> tuple:
    """Every window of seq_len + 1 ids: (inputs, next-token targets), each (n, seq_len)."""
    starts = np.arange(len(ids) - seq_len)
    chunk = np.stack([ids[s : s + seq_len + 1] for s in starts])
    return chunk[:, :-1], chunk[:, 1:]


def train(model, inputs, targets, steps: int, lr: float) -> list:
    opt = Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = cross_entropy(model(inputs), targets)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def test_gpt_learns_a_repeating_text_and_generate_continues_it():
    tok = CharTokenizer()
    tok.build_vocab(TEXT)
    ids = np.asarray(tok.encode(TEXT), dtype=np.int64)
    assert tok.vocab_size == 4 + len(set(TEXT))
    inputs, targets = windows(ids, seq_len=12)
    inputs, targets = inputs[:13], targets[:13]  # one window per phase of the period
    model = GPT(tok.vocab_size, embed_dim=32, num_layers=2, num_heads=4, max_seq_len=12, dropout_prob=0.0, seed=0)

    losses = train(model, inputs, targets, steps=100, lr=0.01)

    assert losses[0] > 1.5  # about log(vocab_size) = 2.6 at the start
    # With one character of context the next one is ambiguous ('l' -> l/o/d, 'o' -> ' '/r), so the
    # first position of a window cannot go below this entropy; every later position can reach 0.
    floor = (3 * np.log(3) + 2 * np.log(2)) / 13 / 12
    assert floor < losses[-1] < floor + 0.02, (losses[-1], floor)
    later = targets.copy()
    later[:, 0] = -100  # ignore_index: leave the ambiguous first position out
    assert cross_entropy(model(inputs), later).item() < 0.01
    assert all(p.grad is not None and np.abs(p.grad.data).sum() > 0 for p in model.parameters())
    # Greedy generation continues the text beyond max_seq_len (generate crops the context).
    prompt = tok.encode("hello wo")
    out = model.generate(prompt, max_new_tokens=18, top_k=1)
    assert tok.decode(out.data.tolist()) == (TEXT * 2)[: len(prompt) + 18]


def test_training_is_reproducible_with_a_seed_and_learns_with_every_position_encoding():
    tok = CharTokenizer()
    tok.build_vocab(TEXT)
    ids = np.asarray(tok.encode(TEXT), dtype=np.int64)
    inputs, targets = windows(ids, seq_len=12)
    inputs, targets = inputs[:13], targets[:13]
    final = {}
    for enc in ("learned", "sinusoidal", None):
        runs = [
            train(GPT(tok.vocab_size, 16, 1, 2, max_seq_len=12, pos_encoding=enc, dropout_prob=0.1, seed=1), inputs, targets, 40, 0.01)
            for _ in range(2)
        ]
        assert runs[0] == runs[1], enc  # same seed, same dropout masks, same losses
        assert runs[0][-1] < 0.6 * runs[0][0], enc
        final[enc] = runs[0][-1]
    assert len(set(final.values())) == 3  # three different models
