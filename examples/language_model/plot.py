"""The loss curve of a tiny_lm run, drawn with matplotlib (Agg backend: no screen needed).

    save_loss_curve(path, step_losses, eval_steps, val_losses, unigram_loss) -> path

matplotlib is imported inside the function: its first import costs 1.5-3 s, and a run without
--out (and every test that does not draw) should not pay it.
"""

from __future__ import annotations

import os
import tempfile

__all__ = ["save_loss_curve", "TRAIN_COLOR", "VAL_COLOR", "BASELINE_COLOR"]

TRAIN_COLOR = "#4278c8"
VAL_COLOR = "#e67814"
BASELINE_COLOR = "#969696"


def _matplotlib_pyplot():
    # matplotlib keeps its config and font cache under $MPLCONFIGDIR, by default in $HOME. A Bazel
    # test has no usable HOME (and must not write there), so under a test it goes to the test's
    # own temp dir; elsewhere matplotlib's default keeps the font cache between runs.
    if "MPLCONFIGDIR" not in os.environ and os.environ.get("TEST_TMPDIR"):
        os.environ["MPLCONFIGDIR"] = tempfile.mkdtemp(prefix="matplotlib-", dir=os.environ["TEST_TMPDIR"])
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_loss_curve(path: str, step_losses, eval_steps, val_losses, unigram_loss: float | None = None,
                    title: str = "tiny_lm: next-token cross-entropy") -> str:
    """Writes a PNG (800 x 450 pixels) of the training-batch loss of every step, the validation
    loss at ``eval_steps`` and, if given, the unigram baseline as a dashed line. Returns ``path``.

    Args:
        path: the PNG file to write (its folder must exist).
        step_losses: (steps,) training loss of steps 1..steps.
        eval_steps, val_losses: equal-length sequences, validation loss measured after each step.
        unigram_loss: the no-context baseline, in the same unit (nats per token).
    """
    if len(eval_steps) != len(val_losses):
        raise ValueError(
            f"eval_steps and val_losses must have the same length, got {len(eval_steps)} and {len(val_losses)}. "
            "Hint: one validation loss per evaluated step."
        )
    plt = _matplotlib_pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    try:
        ax.plot(range(1, len(step_losses) + 1), step_losses, color=TRAIN_COLOR, linewidth=1.0, label="train (batch)")
        ax.plot(eval_steps, val_losses, color=VAL_COLOR, linewidth=2.0, marker="o", markersize=3, label="validation")
        if unigram_loss is not None:
            ax.axhline(unigram_loss, color=BASELINE_COLOR, linestyle="--", linewidth=1.0, label="unigram baseline")
        ax.set_xlabel("step")
        ax.set_ylabel("loss (nats per token)")
        ax.set_title(title)
        ax.grid(True, color="#e1e1e1")
        ax.legend()
        fig.tight_layout()
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return path
