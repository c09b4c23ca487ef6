"""The loss-curve PNG: its size, its series drawn in their colours, the baseline where it belongs,
and bad input refused before matplotlib is touched."""

import numpy as np
import pytest
from PIL import Image

from examples.language_model import plot


def rgb(hex_color):
    return tuple(int(hex_color[i:i + 2], 16) for i in (1, 3, 5))


def pixels_near(image, color, tol=40):
    """(row, col) of the pixels within ``tol`` of ``color`` in every channel."""
    diff = np.abs(image[..., :3].astype(int) - np.array(color)).max(axis=-1)
    return np.argwhere(diff <= tol)


@pytest.fixture
def curve(tmp_path):
    steps = 50
    train = list(np.linspace(6.0, 2.0, steps))
    path = plot.save_loss_curve(str(tmp_path / "loss.png"), train, [0, 25, 50], [6.0, 3.5, 2.8], unigram_loss=4.0)
    return path, np.asarray(Image.open(path).convert("RGB"))


def test_writes_an_800_by_450_png(curve):
    path, image = curve
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert image.shape == (450, 800, 3)


def test_draws_each_series_in_its_colour(curve):
    _, image = curve
    train = pixels_near(image, rgb(plot.TRAIN_COLOR))
    val = pixels_near(image, rgb(plot.VAL_COLOR))
    assert len(train) > 200 and len(val) > 200
    # The training loss falls from left to right: its leftmost pixels sit higher (smaller row).
    left = train[train[:, 1] < np.percentile(train[:, 1], 10)]
    right = train[train[:, 1] > np.percentile(train[:, 1], 90)]
    assert left[:, 0].mean() < right[:, 0].mean() - 100


def test_baseline_is_a_horizontal_line_between_the_curves_ends(curve):
    _, image = curve
    grey = pixels_near(image, rgb(plot.BASELINE_COLOR), tol=10)
    rows, counts = np.unique(grey[:, 0], return_counts=True)
    baseline_row = rows[np.argmax(counts)]
    assert counts.max() > 200  # dashed, but across most of the plot width
    train = pixels_near(image, rgb(plot.TRAIN_COLOR))
    # 4.0 lies between the curve's first (6.0) and last (2.0) values.
    assert train[:, 0].min() < baseline_row < train[:, 0].max()


def test_mismatched_validation_series_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"3 and 2.*Hint"):
        plot.save_loss_curve(str(tmp_path / "x.png"), [1.0, 2.0], [0, 1, 2], [1.0, 2.0])
    assert not (tmp_path / "x.png").exists()
