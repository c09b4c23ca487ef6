"""A tiny PNG line plotter in pure Python (zlib + struct): no matplotlib needed.

    encode_png(width, height, rgb)   raw RGB bytes -> the bytes of a PNG file
    Canvas(width, height)            a white RGB image to draw pixels, lines and text on
    plot_lines(series, path, ...)    a line chart with axes, ticks, a legend and dashed guides

A PNG file is an 8-byte signature followed by chunks. Each chunk is
``length (4 bytes) | type (4 ASCII bytes) | data | CRC-32 of type + data``. We write three:

    IHDR  width, height, bit depth 8, colour type 2 (RGB), no interlacing
    IDAT  the pixel rows, each prefixed by a filter byte (0 = "None"), zlib-compressed together
    IEND  empty: the end of the file

Coordinates: (x, y) with (0, 0) the top-left pixel, x to the right, y downwards.
Colours: (r, g, b) tuples of ints in 0..255.
"""

from __future__ import annotations

import math
import struct
import zlib
from typing import NamedTuple, Sequence

__all__ = ["PNG_SIGNATURE", "encode_png", "Canvas", "Series", "plot_lines", "nice_ticks", "FONT"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

WHITE = (255, 255, 255)
BLACK = (0, 0, 0)
GREY = (150, 150, 150)
LIGHT_GREY = (225, 225, 225)


def _chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk: length, type, data, CRC-32 over type + data (all big-endian)."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png(width: int, height: int, rgb: bytes) -> bytes:
    """(height * width * 3) RGB bytes, row by row from the top -> a complete PNG file."""
    if not (isinstance(width, int) and isinstance(height, int)) or width < 1 or height < 1:
        raise ValueError(f"PNG width and height must be positive ints, got {width!r} x {height!r}.")
    stride = width * 3
    if len(rgb) != stride * height:
        raise ValueError(
            f"encode_png({width}, {height}) needs {stride * height} RGB bytes (width * height * 3), "
            f"got {len(rgb)}. Hint: one (r, g, b) triple per pixel, rows from the top."
        )
    # Filter type 0 on every row: the bytes go to zlib unchanged.
    raw = b"".join(b"\x00" + bytes(rgb[y * stride:(y + 1) * stride]) for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 9))
        + _chunk(b"IEND", b"")
    )


# A 5x7 bitmap font: enough for axis numbers, labels and legends ('#' = ink).
_GLYPHS = {
    "0": (" ### ", "#   #", "#  ##", "# # #", "##  #", "#   #", " ### "),
    "1": ("  #  ", " ##  ", "  #  ", "  #  ", "  #  ", "  #  ", " ### "),
    "2": (" ### ", "#   #", "    #", "   # ", "  #  ", " #   ", "#####"),
    "3": ("#####", "   # ", "  #  ", "   # ", "    #", "#   #", " ### "),
    "4": ("   # ", "  ## ", " # # ", "#  # ", "#####", "   # ", "   # "),
    "5": ("#####", "#    ", "#### ", "    #", "    #", "#   #", " ### "),
    "6": ("  ## ", " #   ", "#    ", "#### ", "#   #", "#   #", " ### "),
    "7": ("#####", "    #", "   # ", "  #  ", " #   ", " #   ", " #   "),
    "8": (" ### ", "#   #", "#   #", " ### ", "#   #", "#   #", " ### "),
    "9": (" ### ", "#   #", "#   #", " ####", "    #", "   # ", " ##  "),
    ".": ("     ", "     ", "     ", "     ", "     ", " ##  ", " ##  "),
    ",": ("     ", "     ", "     ", "     ", " ##  ", "  #  ", " #   "),
    ":": ("     ", " ##  ", " ##  ", "     ", " ##  ", " ##  ", "     "),
    "-": ("     ", "     ", "     ", "#####", "     ", "     ", "     "),
    "_": ("     ", "     ", "     ", "     ", "     ", "     ", "#####"),
    "=": ("     ", "     ", "#####", "     ", "#####", "     ", "     "),
    "/": ("     ", "    #", "   # ", "  #  ", " #   ", "#    ", "     "),
    "(": ("   # ", "  #  ", " #   ", " #   ", " #   ", "  #  ", "   # "),
    ")": (" #   ", "  #  ", "   # ", "   # ", "   # ", "  #  ", " #   "),
    "a": ("     ", "     ", " ### ", "    #", " ####", "#   #", " ####"),
    "b": ("#    ", "#    ", "# ## ", "##  #", "#   #", "#   #", "#### "),
    "c": ("     ", "     ", " ### ", "#    ", "#    ", "#   #", " ### "),
    "d": ("    #", "    #", " ## #", "#  ##", "#   #", "#   #", " ####"),
    "e": ("     ", "     ", " ### ", "#   #", "#####", "#    ", " ### "),
    "f": ("  ## ", " #  #", " #   ", "###  ", " #   ", " #   ", " #   "),
    "g": ("     ", "     ", " ####", "#   #", " ####", "    #", " ### "),
    "h": ("#    ", "#    ", "# ## ", "##  #", "#   #", "#   #", "#   #"),
    "i": ("  #  ", "     ", " ##  ", "  #  ", "  #  ", "  #  ", " ### "),
    "j": ("   # ", "     ", "  ## ", "   # ", "   # ", "#  # ", " ##  "),
    "k": ("#    ", "#    ", "#  # ", "# #  ", "##   ", "# #  ", "#  # "),
    "l": (" ##  ", "  #  ", "  #  ", "  #  ", "  #  ", "  #  ", " ### "),
    "m": ("     ", "     ", "## # ", "# # #", "# # #", "#   #", "#   #"),
    "n": ("     ", "     ", "# ## ", "##  #", "#   #", "#   #", "#   #"),
    "o": ("     ", "     ", " ### ", "#   #", "#   #", "#   #", " ### "),
    "p": ("     ", "     ", "#### ", "#   #", "#### ", "#    ", "#    "),
    "q": ("     ", "     ", " ## #", "#  ##", " ####", "    #", "    #"),
    "r": ("     ", "     ", "# ## ", "##  #", "#    ", "#    ", "#    "),
    "s": ("     ", "     ", " ####", "#    ", " ### ", "    #", "#### "),
    "t": (" #   ", " #   ", "###  ", " #   ", " #   ", " #  #", "  ## "),
    "u": ("     ", "     ", "#   #", "#   #", "#   #", "#  ##", " ## #"),
    "v": ("     ", "     ", "#   #", "#   #", "#   #", " # # ", "  #  "),
    "w": ("     ", "     ", "#   #", "#   #", "# # #", "# # #", " # # "),
    "x": ("     ", "     ", "#   #", " # # ", "  #  ", " # # ", "#   #"),
    "y": ("     ", "     ", "#   #", "#   #", " ####", "    #", " ### "),
    "z": ("     ", "     ", "#####", "   # ", "  #  ", " #   ", "#####"),
}
FONT = {ch: tuple(tuple(c == "#" for c in row) for row in rows) for ch, rows in _GLYPHS.items()}
GLYPH_W, GLYPH_H, ADVANCE = 5, 7, 6


class Canvas:
    """A ``width`` x ``height`` RGB image, initially filled with ``background``.

    ``pixels`` is a bytearray of height * width * 3 bytes, row by row from the top; pixel (x, y)
    starts at byte 3 * (y * width + x). Drawing outside the image is silently clipped.
    """

    def __init__(self, width: int, height: int, background=WHITE):
        if not (isinstance(width, int) and isinstance(height, int)) or width < 1 or height < 1:
            raise ValueError(f"Canvas size must be positive ints, got {width!r} x {height!r}.")
        self.width, self.height = width, height
        self.pixels = bytearray(bytes(background) * (width * height))

    def get(self, x: int, y: int) -> tuple:
        i = 3 * (y * self.width + x)
        return tuple(self.pixels[i:i + 3])

    def set(self, x: int, y: int, color) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            i = 3 * (y * self.width + x)
            self.pixels[i:i + 3] = bytes(color)

    def fill_rect(self, x0: int, y0: int, x1: int, y1: int, color) -> None:
        """Fills the pixels with x0 <= x <= x1 and y0 <= y <= y1."""
        for y in range(max(y0, 0), min(y1, self.height - 1) + 1):
            for x in range(max(x0, 0), min(x1, self.width - 1) + 1):
                self.set(x, y, color)

    def line(self, x0: int, y0: int, x1: int, y1: int, color, thickness: int = 1, dash: int = 0) -> None:
        """A straight line from (x0, y0) to (x1, y1), both ends included (Bresenham's algorithm).

        ``thickness`` paints a square brush of that size at each step; ``dash`` > 0 draws
        ``dash`` pixels, skips ``dash`` pixels, and so on.
        """
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
        err = dx + dy
        lo = -(thickness // 2)
        step = 0
        while True:
            if dash <= 0 or (step // dash) % 2 == 0:
                for oy in range(lo, lo + thickness):
                    for ox in range(lo, lo + thickness):
                        self.set(x0 + ox, y0 + oy, color)
            if x0 == x1 and y0 == y1:
                return
            step += 1
            e2 = 2 * err
            if e2 >= dy:
                err += dy
                x0 += sx
            if e2 <= dx:
                err += dx
                y0 += sy

    def text(self, x: int, y: int, s: str, color=BLACK) -> int:
        """Draws ``s`` with its top-left corner at (x, y) in the 5x7 font; returns the width in
        pixels. Upper case is drawn as lower case; characters without a glyph leave a gap."""
        for k, ch in enumerate(s.lower()):
            glyph = FONT.get(ch)
            if glyph is None:
                continue
            for gy, row in enumerate(glyph):
                for gx, ink in enumerate(row):
                    if ink:
                        self.set(x + k * ADVANCE + gx, y + gy, color)
        return text_width(s)

    def png_bytes(self) -> bytes:
        return encode_png(self.width, self.height, bytes(self.pixels))

    def save(self, path: str) -> str:
        with open(path, "wb") as f:
            f.write(self.png_bytes())
        return path


def text_width(s: str) -> int:
    return max(len(s) * ADVANCE - 1, 0)


def nice_ticks(lo: float, hi: float, target: int = 5) -> list:
    """About ``target`` round tick values (steps of 1, 2 or 5 times a power of ten) in [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"nice_ticks needs a finite range, got [{lo}, {hi}].")
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / max(target, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step - 1e-9)
    ticks, k = [], first
    while k * step <= hi + 1e-9 * step:
        ticks.append(round(k * step, 12))
        k += 1
    return ticks


def _tick_label(value: float, ticks: Sequence[float]) -> str:
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    decimals = max(0, -math.floor(math.log10(step))) if step > 0 else 0
    return f"{value:.{decimals}f}"


class Series(NamedTuple):
    """One line of a chart: ``xs`` and ``ys`` of equal length, drawn in ``color``."""

    label: str
    xs: Sequence[float]
    ys: Sequence[float]
    color: tuple


def plot_lines(
    series: Sequence[Series],
    path: str | None = None,
    *,
    width: int = 640,
    height: int = 400,
    title: str = "",
    x_label: str = "",
    y_label: str = "",
    guides: Sequence[tuple] = (),
) -> Canvas:
    """Draws a line chart and returns its Canvas (also saved as a PNG at ``path`` if given).

    series: lines to draw, in order (later ones on top); each must have at least one point.
    guides: (label, y, color) horizontal dashed lines, e.g. a baseline loss.
    The plot area spans the data (and guides) with 5% padding; axes, round-number ticks with
    light grid lines, axis labels and a legend (top right) are drawn around it.
    """
    if not series:
        raise ValueError("plot_lines needs at least one Series. Hint: Series('loss', xs, ys, (0, 0, 255)).")
    for s in series:
        if len(s.xs) != len(s.ys) or not s.xs:
            raise ValueError(
                f"series {s.label!r} needs equally many xs and ys (at least one), got {len(s.xs)} and {len(s.ys)}."
            )
    xs = [float(x) for s in series for x in s.xs]
    ys = [float(y) for s in series for y in s.ys] + [float(g[1]) for g in guides]
    if not all(math.isfinite(v) for v in xs + ys):
        raise ValueError("plot_lines got a NaN or infinite value. Hint: check the losses before plotting.")
    x_lo, x_hi = min(xs), max(xs)
    y_lo, y_hi = min(ys), max(ys)
    if x_hi == x_lo:
        x_lo, x_hi = x_lo - 0.5, x_hi + 0.5
    if y_hi == y_lo:
        y_lo, y_hi = y_lo - 0.5, y_hi + 0.5
    pad = 0.05 * (y_hi - y_lo)
    y_lo, y_hi = y_lo - pad, y_hi + pad

    canvas = Canvas(width, height)
    left, right, top, bottom = 64, width - 16, 28, height - 44  # the plot area, in pixels

    def px(x: float) -> int:
        return round(left + (x - x_lo) / (x_hi - x_lo) * (right - left))

    def py(y: float) -> int:
        return round(bottom - (y - y_lo) / (y_hi - y_lo) * (bottom - top))

    # Grid and ticks first, so the data is drawn over them.
    y_ticks = nice_ticks(y_lo, y_hi)
    for t in y_ticks:
        canvas.line(left + 1, py(t), right, py(t), LIGHT_GREY)
        canvas.line(left - 4, py(t), left, py(t), BLACK)
        label = _tick_label(t, y_ticks)
        canvas.text(left - 7 - text_width(label), py(t) - 3, label)
    x_ticks = nice_ticks(x_lo, x_hi, target=6)
    for t in x_ticks:
        canvas.line(px(t), top, px(t), bottom - 1, LIGHT_GREY)
        canvas.line(px(t), bottom, px(t), bottom + 4, BLACK)
        label = _tick_label(t, x_ticks)
        canvas.text(px(t) - text_width(label) // 2, bottom + 8, label)
    canvas.line(left, top, left, bottom, BLACK)  # y axis
    canvas.line(left, bottom, right, bottom, BLACK)  # x axis

    for label, y, color in guides:
        canvas.line(left + 1, py(y), right, py(y), color, dash=6)
    for s in series:
        points = [(px(x), py(y)) for x, y in zip(s.xs, s.ys)]
        if len(points) == 1:
            canvas.fill_rect(points[0][0] - 1, points[0][1] - 1, points[0][0] + 1, points[0][1] + 1, s.color)
        for (xa, ya), (xb, yb) in zip(points, points[1:]):
            canvas.line(xa, ya, xb, yb, s.color, thickness=2)

    canvas.text((width - text_width(title)) // 2, 8, title)
    canvas.text((left + right - text_width(x_label)) // 2, height - 16, x_label)
    canvas.text(4, 8, y_label)
    entries = [(s.label, s.color, 0) for s in series] + [(g[0], g[2], 6) for g in guides]
    box_w = 30 + max(text_width(e[0]) for e in entries)
    x0, y0 = right - box_w - 6, top + 6
    for k, (label, color, dash) in enumerate(entries):
        y = y0 + 4 + 12 * k
        canvas.line(x0, y + 3, x0 + 20, y + 3, color, thickness=2, dash=dash)
        canvas.text(x0 + 26, y, label)
    if path is not None:
        canvas.save(path)
    return canvas
