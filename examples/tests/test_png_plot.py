"""png_plot writes valid PNG files: signature, IHDR, CRCs, and IDAT that inflates to our pixels.

The decoder below is written independently of png_plot (struct + zlib, filter type 0 only), so a
file that decodes here has the layout the PNG specification asks for.
"""

import struct
import zlib

import pytest

from examples import png_plot


def read_chunks(data: bytes) -> list:
    """PNG bytes -> [(type, payload)], checking the signature and every chunk's CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        payload = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(kind + payload) & 0xFFFFFFFF, f"bad CRC in chunk {kind!r}"
        chunks.append((kind, payload))
        pos += 12 + length
    assert pos == len(data)
    return chunks


def decode_rgb(data: bytes) -> tuple:
    """PNG bytes (8-bit RGB, no interlace, filter 0 rows) -> (width, height, rgb bytes)."""
    chunks = read_chunks(data)
    kinds = [k for k, _ in chunks]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and b"IDAT" in kinds
    width, height, depth, color, compression, filter_method, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, color, compression, filter_method, interlace) == (8, 2, 0, 0, 0)
    raw = zlib.decompress(b"".join(p for k, p in chunks if k == b"IDAT"))
    stride = 3 * width
    assert len(raw) == height * (stride + 1)
    rows = [raw[y * (stride + 1):(y + 1) * (stride + 1)] for y in range(height)]
    assert all(r[0] == 0 for r in rows), "every row uses filter type 0"
    return width, height, b"".join(r[1:] for r in rows)


def test_encode_png_round_trips_exact_pixels():
    # 3 x 2 image: red, green, blue / white, black, grey
    pixels = bytes([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 128, 128, 128])
    data = png_plot.encode_png(3, 2, pixels)
    assert data.startswith(png_plot.PNG_SIGNATURE)
    assert data[12:16] == b"IHDR" and struct.unpack(">II", data[16:24]) == (3, 2)
    assert decode_rgb(data) == (3, 2, pixels)


def test_encode_png_rejects_wrong_byte_count():
    with pytest.raises(ValueError, match=r"needs 18 RGB bytes \(width \* height \* 3\), got 17"):
        png_plot.encode_png(3, 2, bytes(17))
    with pytest.raises(ValueError, match="positive ints, got 0 x 2"):
        png_plot.encode_png(0, 2, b"")


def test_canvas_line_draws_both_ends_and_nothing_else():
    canvas = png_plot.Canvas(10, 6)
    canvas.line(1, 1, 8, 4, (255, 0, 0))
    red = [(x, y) for y in range(6) for x in range(10) if canvas.get(x, y) == (255, 0, 0)]
    assert (1, 1) in red and (8, 4) in red
    assert len(red) == 8  # Bresenham: one pixel per column for a shallow line
    assert {x for x, _ in red} == set(range(1, 9))
    assert canvas.get(0, 0) == (255, 255, 255) and canvas.get(9, 5) == (255, 255, 255)
    canvas.line(-5, 0, 20, 0, (0, 0, 255))  # clipped, no IndexError
    assert all(canvas.get(x, 0) == (0, 0, 255) for x in range(10))


def test_canvas_text_uses_the_font_bitmap():
    canvas = png_plot.Canvas(12, 9)
    width = canvas.text(1, 1, "1")
    assert width == 5
    glyph = png_plot.FONT["1"]
    for gy in range(7):
        for gx in range(5):
            expected = (0, 0, 0) if glyph[gy][gx] else (255, 255, 255)
            assert canvas.get(1 + gx, 1 + gy) == expected


def test_nice_ticks_are_round_numbers_inside_the_range():
    assert png_plot.nice_ticks(0.0, 1200.0, target=6) == [0, 200, 400, 600, 800, 1000, 1200]
    assert png_plot.nice_ticks(1.93, 5.84) == [2.0, 3.0, 4.0, 5.0]
    assert png_plot.nice_ticks(2.0, 2.0) == [2.0]


def test_plot_lines_saves_the_drawn_canvas(tmp_path):
    path = tmp_path / "curve.png"
    blue, orange, grey = (66, 120, 200), (230, 120, 20), (120, 120, 120)
    canvas = png_plot.plot_lines(
        [
            png_plot.Series("train", [1, 2, 3, 4], [5.0, 4.0, 3.5, 3.0], blue),
            png_plot.Series("validation", [0, 4], [5.5, 3.6], orange),
        ],
        str(path),
        width=320,
        height=200,
        title="loss",
        x_label="step",
        guides=[("unigram", 4.5, grey)],
    )
    data = path.read_bytes()
    width, height, rgb = decode_rgb(data)
    assert (width, height) == (320, 200)
    assert rgb == bytes(canvas.pixels)
    assert canvas.get(0, height - 1) == (255, 255, 255)  # white canvas
    left, bottom = 64, height - 44
    assert canvas.get(left, bottom) == (0, 0, 0) and canvas.get(left, 40) == (0, 0, 0)  # the axes
    colors = {canvas.get(x, y) for y in range(height) for x in range(width)}
    assert {blue, orange, grey} <= colors
    # The first validation point (x = 0, the largest y = 5.5 + 5% padding) sits at the top-left
    # corner of the plot area: x = left, y = py(5.5).
    y_lo, y_hi = 3.0 - 0.125, 5.5 + 0.125
    y = round(bottom - (5.5 - y_lo) / (y_hi - y_lo) * (bottom - 28))
    assert canvas.get(left, y) == orange


def test_plot_lines_rejects_bad_series():
    with pytest.raises(ValueError, match="at least one Series"):
        png_plot.plot_lines([])
    with pytest.raises(ValueError, match="'a' needs equally many xs and ys"):
        png_plot.plot_lines([png_plot.Series("a", [1, 2], [1.0], (0, 0, 0))])
    with pytest.raises(ValueError, match="NaN or infinite"):
        png_plot.plot_lines([png_plot.Series("a", [1, 2], [1.0, float("nan")], (0, 0, 0))])
