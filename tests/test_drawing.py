"""The pad's strokes rendered on the server: the pixels of Pillow's round-jointed line, drawn faster."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from digitnet import drawing
from digitnet.drawing import CANVAS, MARGIN, MAX_PEN, MIN_PEN
from digitnet.lab.serving import pad_value


def pillows(strokes: list[drawing.Stroke], width: int) -> np.ndarray:
    """The strokes as Pillow draws them itself: ImageDraw.line(joint="curve") and a disc at each end."""
    sheet = Image.new("L", (CANVAS, CANVAS), 0)
    pen = ImageDraw.Draw(sheet)
    for pts in strokes:
        if len(pts) > 1:
            pen.line(pts, fill=255, width=width, joint="curve")
        for x, y in (pts[0], pts[-1]):
            pen.ellipse([x - width / 2, y - width / 2, x + width / 2, y + width / 2], fill=255)
    return np.asarray(sheet)


coordinate = st.floats(-MARGIN / 4, CANVAS + MARGIN / 4).map(lambda v: round(v, 1))  # the pad's tenths of a pixel
stroke = st.lists(st.tuples(coordinate, coordinate), min_size=1, max_size=40)


@settings(max_examples=300, deadline=None)
@given(st.lists(stroke, min_size=1, max_size=4), st.integers(MIN_PEN, MAX_PEN))
def test_any_drawing_has_the_pixels_pillow_draws(strokes, width):
    assert np.array_equal(drawing.render(strokes, width), pillows(strokes, width))


def test_mnist_digits_traced_as_the_pad_draws_them_have_pillows_pixels(mnist_test):
    x, _ = mnist_test
    for i in range(200):
        strokes, width = drawing.parse(pad_value(x[i].numpy()))
        assert np.array_equal(drawing.render(strokes, width), pillows(strokes, width)), i


def test_straight_on_and_turning_back_strokes_have_pillows_pixels():
    lines = [[(20.0, 20.0), (140.0, 140.0), (260.0, 260.0)], [(50.0, 200.0), (200.0, 200.0), (50.0, 200.0)],
             [(140.0, 10.0), (140.0, 270.0), (141.0, 10.0), (10.0, 140.0)]]  # fmt: skip
    for width in (MIN_PEN, 5, 9, drawing.PEN, MAX_PEN):
        assert np.array_equal(drawing.render(lines, width), pillows(lines, width)), width
