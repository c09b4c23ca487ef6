"""Train a tiny attention language model: tokenize -> embed -> attend -> predict the next token.

    ./bazelw run //examples:tiny_lm                                   # defaults: BPE, learned positions
    ./bazelw run //examples:tiny_lm -- --tokenizer char --pos-encoding sinusoidal --prompt "The loss"
    ./bazelw run //examples:tiny_lm -- --corpus ~/my_text.txt --steps 600

What happens:
  1. The corpus (a text file; by default corpus.txt beside this file) is split: the last 10% of
     the characters are held out for validation. A tokenizer is fit on the training part.
  2. Module 13's GPT (embedding, --layers pre-norm transformer blocks, final LayerNorm, head) is
     trained with Adam on random windows of seq_len + 1 tokens to predict every next token
     (cross-entropy), with a short warm-up and a cosine-decaying learning rate.
     The batches come from module 08's DataLoader: a RandomSampler draws the window starts
     with replacement, steps * batch_size of them (data.batch_loader).
  3. It reports train and validation loss next to the unigram baseline (token frequencies, no
     context), samples text from --prompt, and saves a loss-curve PNG in --out.

Everything random (weights, batches, sampling) derives from --seed: the same seed prints the same
losses, digit for digit. `run(config)` is the same pipeline as a function, for tests.
"""

from __future__ import annotations

import os

# The matrices here are tiny, so BLAS worker threads cost more than they save: on a busy 2-core
# machine a run took 10x longer with them. This must run before numpy loads its BLAS library,
# which is why it sits between the imports.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import contextlib
import math
import sys
import time
from dataclasses import dataclass

import numpy as np

from examples.language_model import data, plot
from tinytorch.core import acceleration
import tinytorch.core.autograd  # noqa: F401  (importing it registers the engine behind backward())
from tinytorch.core.losses import cross_entropy
from tinytorch.core.optimizers import Adam
from tinytorch.core.tensor import no_grad
from tinytorch.models.transformer import GPT
from tinytorch.text.tokenization import SPECIAL_TOKENS

VAL_FRACTION = 0.1  # the last 10% of the text is held out for validation
MIN_BPE_VOCAB = len(SPECIAL_TOKENS) + 256  # specials + one token per byte value
# 40 merges: on a few KB of text, bigger vocabularies give each token too few examples to learn
# from (measured: vocab 384 overfits to a validation loss worse than the unigram baseline).
DEFAULT_BPE_VOCAB = 300
# What --pos-encoding accepts; "none" becomes GPT's pos_encoding=None.
POS_ENCODINGS = ("learned", "sinusoidal", "none")
# GPT-2 uses 0.1. Measured on the default corpus (mean validation loss): 0.05 2.313 (seeds 0-4),
# 0.1 2.343 and 0.2 2.528 (seeds 0-2), 0.15 2.412 (seeds 0-1).
DROPOUT_DEFAULT = 0.05


@dataclass
class Config:
    """Every knob of a run; the defaults are the command line's defaults."""

    corpus: str = data.DEFAULT_CORPUS
    tokenizer: str = "bpe"
    vocab_size: int | None = None  # BPE only; None -> DEFAULT_BPE_VOCAB
    pos_encoding: str = "learned"
    steps: int = 1200
    batch_size: int = 16
    seq_len: int = 32
    embed_dim: int = 64
    heads: int = 4
    layers: int = 1
    # A head of its own measured better than one tied to the token table on this corpus
    # (validation loss 2.34 vs 2.47, seeds 0-2); --tie-weights shares them.
    tie_weights: bool = False
    lr: float = 3e-3
    dropout: float = DROPOUT_DEFAULT
    seed: int = 0
    prompt: str = "The model"
    sample_tokens: int = 60
    temperature: float = 0.8
    out: str | None = None  # None: do not write the PNG
    quiet: bool = False  # no progress bar



@dataclass
class Result:
    """What a run measured. Losses are mean cross-entropy per token, in nats."""

    step_losses: list  # training-batch loss of every step, before its update
    eval_steps: list  # steps at which validation loss was measured (0 = before training)
    val_losses: list
    initial_train_loss: float  # whole training text, before training
    train_loss: float  # whole training text, after training
    val_loss: float
    unigram_loss: float
    sample_ids: list
    sample_text: str
    png_path: str | None
    seconds: float


# ----------------------------------------------------------------------------------------------
# Training pieces
# ----------------------------------------------------------------------------------------------
def learning_rate(step: int, steps: int, peak: float) -> float:
    """Linear warm-up over the first 5% of steps, then cosine decay to 10% of ``peak``."""
    warmup = max(1, steps // 20)
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress)))


def clip_gradients(params, max_norm: float = 1.0) -> float:
    """Scales all gradients down together if their global L2 norm exceeds ``max_norm``, so one
    unlucky batch cannot throw the weights far away. Returns the norm before clipping."""
    norm = math.sqrt(sum(float(np.sum(p.grad.data.astype(np.float64) ** 2)) for p in params if p.grad is not None))
    if norm > max_norm:
        for p in params:
            if p.grad is not None:
                p.grad.data *= np.float32(max_norm / norm)
    return norm


@contextlib.contextmanager
def inference(model: GPT):
    """Eval mode (dropout off) and no graph recording; restores the previous mode afterwards."""
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            yield
    finally:
        model.train(was_training)


def evaluate(model: GPT, ids: np.ndarray, seq_len: int, batch_size: int = 64) -> float:
    """Mean next-token cross-entropy over ``ids`` (n,): the text is cut into consecutive windows
    of up to seq_len + 1 tokens, so every token but the first is predicted exactly once."""
    total, count = 0.0, 0
    windows = [ids[s:s + seq_len + 1] for s in range(0, len(ids) - 1, seq_len)]
    full = [w for w in windows if len(w) == seq_len + 1]
    rest = [w for w in windows if len(w) != seq_len + 1]
    groups = [np.stack(full[i:i + batch_size]) for i in range(0, len(full), batch_size)]
    groups += [w[None] for w in rest]  # the shorter last window on its own
    with inference(model):
        for g in groups:
            inputs, targets = g[:, :-1], g[:, 1:]
            loss = cross_entropy(model(inputs), targets).item()
            total += loss * targets.size
            count += targets.size
    return total / count


def generate(model: GPT, prompt_ids: list, num_tokens: int, rng: np.random.Generator,
             temperature: float = 0.8) -> list:
    """Samples ``num_tokens`` ids after ``prompt_ids`` (at least one id), one at a time.

    Each step feeds the last max_seq_len ids, takes the logits of the last position
    (vocab_size,), divides them by ``temperature`` (< 1 is more conservative), sets the special
    tokens to probability 0 (they never occur in the text) and draws from the softmax.
    Returns only the new ids, each in [len(SPECIAL_TOKENS), vocab_size).
    """
    ids = list(prompt_ids)
    with inference(model):
        for _ in range(num_tokens):
            context = np.asarray(ids[-model.max_seq_len:], dtype=np.int64)[None, :]  # (1, seq)
            logits = model(context).data[0, -1].astype(np.float64) / temperature  # (vocab,)
            logits[: len(SPECIAL_TOKENS)] = -np.inf
            probs = np.exp(logits - logits.max())
            probs /= probs.sum()
            ids.append(int(rng.choice(len(probs), p=probs)))
    return ids[len(prompt_ids):]


class ProgressBar:
    """A one-line text progress bar with step, loss and tokens/s.

    On a terminal the line redraws itself in place; otherwise (a log file, a pipe) it prints a
    full line about ten times per run.
    """

    def __init__(self, total: int, stream=None, width: int = 24):
        self.total, self.width = total, width
        self.stream = stream if stream is not None else sys.stderr
        self.live = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.every = max(1, total // 10)

    def update(self, step: int, loss: float, tokens_per_second: float) -> None:
        """``step`` counts finished steps (1..total)."""
        if not self.live and step % self.every and step != self.total:
            return
        filled = round(self.width * step / self.total)
        bar = "#" * filled + "." * (self.width - filled)
        digits = len(str(self.total))
        line = f"step {step:>{digits}}/{self.total} [{bar}] loss {loss:6.3f} | {tokens_per_second:7,.0f} tok/s"
        if self.live:
            self.stream.write("\r" + line + ("\n" if step == self.total else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


# ----------------------------------------------------------------------------------------------
# The whole run
# ----------------------------------------------------------------------------------------------
def build_model(config: Config, vocab_size: int) -> GPT:
    """Module 13's GPT as the config describes it (every weight from config.seed)."""
    return GPT(
        vocab_size, config.embed_dim, config.layers, config.heads, max_seq_len=config.seq_len,
        dropout_prob=config.dropout,
        pos_encoding=None if config.pos_encoding == "none" else config.pos_encoding,
        # The sin/cos table has amplitude 1 while the token table starts near 0.1; scaling the
        # tokens by sqrt(embed_dim) keeps them from being drowned out by their positions.
        scale_embeddings=config.pos_encoding == "sinusoidal",
        tie_weights=config.tie_weights,
        seed=config.seed,
    )


def prepare(config: Config):
    """Corpus -> (tokenizer, train_text, val_text, train_ids, val_ids), ids as (n,) int64 arrays.
    CorpusError if the text is too short for config.seq_len."""
    text = data.load_corpus(config.corpus)
    train_text, val_text = data.split_text(text, VAL_FRACTION)
    if not train_text.strip() or not val_text.strip():
        raise data.CorpusError(
            f"--corpus {config.corpus}: too short: {len(text)} character(s) cannot be split into training text and "
            f"{VAL_FRACTION:.0%} validation text. Hint: use a longer text (a few KB of prose trains well)."
        )
    vocab_size = config.vocab_size if config.vocab_size is not None else DEFAULT_BPE_VOCAB
    tokenizer = data.build_tokenizer(config.tokenizer, train_text, vocab_size)
    train_ids = np.asarray(tokenizer.encode(train_text), dtype=np.int64)
    val_ids = np.asarray(tokenizer.encode(val_text), dtype=np.int64)
    need = config.seq_len + 1
    if len(train_ids) < need or len(val_ids) < need:
        longest = min(len(train_ids), len(val_ids)) - 1
        advice = (f"use a longer text, or lower --seq-len (at most {longest} for this text)" if longest >= 2
                  else "use a longer text (a few KB of prose trains well)")
        raise data.CorpusError(
            f"--corpus {config.corpus}: too short for --seq-len {config.seq_len}: it gives {len(train_ids)} training "
            f"and {len(val_ids)} validation tokens ({config.tokenizer} tokenizer, last {VAL_FRACTION:.0%} held out), "
            f"but each part needs at least seq_len + 1 = {need}. Hint: {advice}."
        )
    return tokenizer, train_text, val_text, train_ids, val_ids


def run(config: Config, log=None) -> Result:
    """Trains, evaluates, samples and plots as described in the module docstring.
    ``log`` receives the report lines (default: print to stdout).

    Runs on module 18's accelerated kernels (the same losses as the reference path, faster),
    switched back to whatever was on before when it returns."""
    with acceleration.enabled():
        return _run(config, log)


def _run(config: Config, log=None) -> Result:
    log = log or (lambda line: print(line, flush=True))
    start = time.perf_counter()
    tokenizer, train_text, val_text, train_ids, val_ids = prepare(config)
    vocab = tokenizer.vocab_size
    merges = f", {len(tokenizer.merges)} merges" if config.tokenizer == "bpe" else ""
    shown = "examples/language_model/corpus.txt (the built-in default)" if config.corpus == data.DEFAULT_CORPUS else config.corpus
    log(f"corpus     {shown}: {len(train_text) + len(val_text):,} characters")
    log(f"tokenizer  {config.tokenizer}: vocab {vocab}{merges}; {len(train_ids):,} train / {len(val_ids):,} val tokens")

    model = build_model(config, vocab)
    params = model.parameters()
    optimizer = Adam(params, lr=config.lr)
    layers = f"{config.layers} layer{'s' if config.layers != 1 else ''}"
    head = "tied" if config.tie_weights else "untied"
    log(f"model      GPT: {layers}, embed {config.embed_dim}, {config.heads} heads, {config.pos_encoding} positions, "
        f"seq_len {config.seq_len}, {head} head: {model.num_parameters():,} parameters")
    log(f"training   {config.steps} steps of {config.batch_size} x {config.seq_len} tokens, Adam lr {config.lr:g}, "
        f"dropout {config.dropout:g}, seed {config.seed}")

    # Separate generators, so changing the sample length cannot change the training batches:
    # the batches' sampler owns default_rng([seed, 1]), the text sampling default_rng([seed, 2]).
    batches = data.batch_loader(train_ids, config.batch_size, config.seq_len, config.steps, seed=(config.seed, 1))
    sample_rng = np.random.default_rng([config.seed, 2])

    initial_train_loss = evaluate(model, train_ids, config.seq_len)
    eval_every = max(1, config.steps // 20)
    eval_steps, val_losses = [0], [evaluate(model, val_ids, config.seq_len)]
    step_losses = []
    bar = None if config.quiet else ProgressBar(config.steps)
    t0 = time.perf_counter()
    for step, (inputs, targets) in enumerate(batches):  # config.steps batches, (batch, seq) int64 each
        logits = model(inputs)                    # (batch, seq, vocab)
        loss = cross_entropy(logits, targets)     # scalar: mean over batch * seq tokens
        optimizer.zero_grad()
        loss.backward()
        clip_gradients(params)
        optimizer.lr = learning_rate(step, config.steps, config.lr)
        optimizer.step()
        step_losses.append(loss.item())
        if (step + 1) % eval_every == 0 or step + 1 == config.steps:
            eval_steps.append(step + 1)
            val_losses.append(evaluate(model, val_ids, config.seq_len))
        if bar is not None:
            seen = (step + 1) * config.batch_size * config.seq_len
            bar.update(step + 1, step_losses[-1], seen / (time.perf_counter() - t0))

    train_loss = evaluate(model, train_ids, config.seq_len)
    val_loss = val_losses[-1]
    # Scored on the same tokens as val_loss: every validation token but the first.
    unigram = data.unigram_cross_entropy(train_ids, val_ids[1:], vocab)
    log(f"train loss {train_loss:.4f}   (before training {initial_train_loss:.4f})")
    log(f"val loss   {val_loss:.4f}")
    log(f"unigram    {unigram:.4f}   (validation loss of token frequencies counted on train: the no-context baseline)")
    if val_loss < unigram:
        log(f"           val loss is {unigram - val_loss:.4f} nats ({(unigram - val_loss) / unigram:.0%}) below the baseline: "
            "the model learned from the context")
    else:
        log(f"           val loss is NOT below the baseline (by {val_loss - unigram:.4f} nats): "
            "too few steps, or overfitting (try --dropout, a smaller --vocab-size, a longer text)")

    prompt_ids = tokenizer.encode(config.prompt)
    sample_ids = generate(model, prompt_ids, config.sample_tokens, sample_rng, config.temperature)
    sample_text = config.prompt + tokenizer.decode(sample_ids)
    log(f"sample     (--prompt {config.prompt!r}, {config.sample_tokens} tokens, temperature {config.temperature:g})")
    for line in sample_text.splitlines() or [""]:
        log("  | " + line)

    png_path = None
    if config.out is not None:
        os.makedirs(config.out, exist_ok=True)
        png_path = os.path.join(config.out, "loss_curve.png")
        plot.save_loss_curve(
            png_path, step_losses, eval_steps, val_losses, unigram,
            title=f"tiny_lm: {config.tokenizer}, {config.pos_encoding} positions, seed {config.seed}",
        )
        log(f"loss curve {png_path}")
    seconds = time.perf_counter() - start
    log(f"time       {seconds:.1f} s")
    return Result(step_losses, eval_steps, val_losses, initial_train_loss, train_loss, val_loss, unigram,
                  sample_ids, sample_text, png_path, seconds)


# ----------------------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------------------
def _bounded(convert, allowed: str, strict: str, is_ok):
    """An argparse type: `convert(text)`, then `is_ok(value)`, with messages naming the value."""

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {text!r}") from None
        if not is_ok(value):
            raise argparse.ArgumentTypeError(f"must be {strict}, got {text!r}")
        return value

    return parse


_positive_int = _bounded(int, "a positive integer", "a positive integer (>= 1)", lambda v: v >= 1)
_non_negative_int = _bounded(int, "a non-negative integer", "a non-negative integer (>= 0)", lambda v: v >= 0)
_positive_float = _bounded(float, "a positive number", "a positive finite number",
                           lambda v: math.isfinite(v) and v > 0)


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1), got {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1), got {text!r}")
    return value


def _user_path(path: str) -> str:
    """A path as the user typed it: relative to the folder `bazel run` was started from."""
    base = os.environ.get("BUILD_WORKING_DIRECTORY") or os.getcwd()
    return os.path.normpath(os.path.join(base, os.path.expanduser(path)))


def default_out_dir() -> str:
    """out/tiny_lm in the workspace under `bazel run`, else in the current folder."""
    return os.path.join(os.environ.get("BUILD_WORKSPACE_DIRECTORY") or os.getcwd(), "out", "tiny_lm")


def build_parser() -> argparse.ArgumentParser:
    d = Config()
    parser = argparse.ArgumentParser(
        prog="tiny_lm",
        description="Train a small GPT (module 13) on a text file, report its loss "
                    "against the unigram baseline, sample text and save a loss-curve PNG.",
    )
    add = parser.add_argument
    add("--corpus", help="UTF-8 text file to train on (default: the built-in examples/language_model/corpus.txt)")
    add("--tokenizer", choices=("bpe", "char"), default=d.tokenizer, help="default: %(default)s")
    add("--vocab-size", type=_positive_int,
        help=f"BPE vocabulary size, at least {MIN_BPE_VOCAB} (default: {DEFAULT_BPE_VOCAB}); "
             "the char tokenizer takes the corpus's characters")
    add("--pos-encoding", choices=POS_ENCODINGS, default=d.pos_encoding, help="default: %(default)s")
    add("--steps", type=_positive_int, default=d.steps, help="training steps (default: %(default)s)")
    add("--batch-size", type=_positive_int, default=d.batch_size, help="sequences per step (default: %(default)s)")
    add("--seq-len", type=_positive_int, default=d.seq_len, help="tokens per sequence (default: %(default)s)")
    add("--embed-dim", type=_positive_int, default=d.embed_dim, help="vector size (default: %(default)s)")
    add("--heads", type=_positive_int, default=d.heads, help="attention heads, must divide --embed-dim (default: %(default)s)")
    add("--layers", type=_positive_int, default=d.layers, help="transformer blocks (default: %(default)s)")
    add("--tie-weights", action="store_true", help="the output head shares the token embedding's table")
    add("--lr", type=_positive_float, default=d.lr, help="peak learning rate of Adam (default: %(default)s)")
    add("--dropout", type=_probability, default=d.dropout, help="dropout probability in [0, 1) (default: %(default)s)")
    add("--seed", type=_non_negative_int, default=d.seed, help="seed of weights, batches and sampling (default: %(default)s)")
    add("--prompt", default=d.prompt, help="text the sample starts from (default: %(default)r)")
    add("--sample-tokens", type=_positive_int, default=d.sample_tokens, help="tokens to sample (default: %(default)s)")
    add("--temperature", type=_positive_float, default=d.temperature,
        help="sampling temperature, lower is more conservative (default: %(default)s)")
    add("--out", help="folder for loss_curve.png (default: <workspace>/out/tiny_lm under `bazel run`, else ./out/tiny_lm)")
    add("--quiet", action="store_true", help="no progress bar")
    return parser


def parse_config(argv, parser: argparse.ArgumentParser) -> Config:
    """Command line -> Config; every bad value exits with code 2 via parser.error."""
    args = parser.parse_args(argv)
    if args.seq_len < 2:
        parser.error(f"argument --seq-len: must be at least 2, got {args.seq_len}")
    if args.embed_dim % args.heads:
        parser.error(
            f"argument --heads: --embed-dim {args.embed_dim} is not divisible by --heads {args.heads}. "
            f"Hint: each head gets embed_dim / heads features; try --heads {math.gcd(args.embed_dim, 4)}"
        )
    if args.vocab_size is not None and args.tokenizer == "char":
        parser.error("argument --vocab-size: only --tokenizer bpe has a vocabulary size to choose; "
                     "the char tokenizer uses the corpus's characters. Hint: drop --vocab-size")
    if args.vocab_size is not None and args.vocab_size < MIN_BPE_VOCAB:
        parser.error(f"argument --vocab-size: {args.vocab_size} is too small for bpe: the minimum is {MIN_BPE_VOCAB} "
                     f"({len(SPECIAL_TOKENS)} special tokens + 256 byte tokens). Hint: e.g. --vocab-size {DEFAULT_BPE_VOCAB}")
    out = _user_path(args.out) if args.out else default_out_dir()
    if any(part.endswith(".runfiles") for part in out.split(os.sep)):
        parser.error(f"argument --out: {out} is inside Bazel's runfiles, which are read-only and rebuilt. "
                     "Hint: run with `./bazelw run` (it writes to <workspace>/out/tiny_lm) or pass --out /some/folder")
    if os.path.exists(out) and not os.path.isdir(out):
        parser.error(f"argument --out: {out} exists and is not a folder. Hint: pass a folder path")
    if not args.prompt:
        parser.error("argument --prompt: the prompt is empty; sampling needs at least one token to start from. "
                     "Hint: e.g. --prompt 'The model'")
    corpus = _user_path(args.corpus) if args.corpus else data.DEFAULT_CORPUS
    return Config(
        corpus=corpus, tokenizer=args.tokenizer, vocab_size=args.vocab_size, pos_encoding=args.pos_encoding,
        steps=args.steps, batch_size=args.batch_size, seq_len=args.seq_len, embed_dim=args.embed_dim,
        heads=args.heads, layers=args.layers, tie_weights=args.tie_weights, lr=args.lr, dropout=args.dropout,
        seed=args.seed, prompt=args.prompt, sample_tokens=args.sample_tokens, temperature=args.temperature, out=out, quiet=args.quiet,
    )


def main(argv=None) -> int:
    parser = build_parser()
    config = parse_config(sys.argv[1:] if argv is None else argv, parser)
    try:
        os.makedirs(config.out, exist_ok=True)  # fail now, not after training
    except OSError as exc:
        parser.error(f"argument --out: cannot create {config.out} ({exc.strerror}). Hint: pass a writable folder")
    try:
        run(config)
    except data.CorpusError as exc:
        parser.error(str(exc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
