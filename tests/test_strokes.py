"""Digits drawn with straight strokes: the skeleton tracer against known drawings, and real MNIST digits re-drawn."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from digitnet.lab.data import to_float
from digitnet.lab.strokes import PEN_DIGITS, pen_digit_images, polylines, stroke_digits
from digitnet.predict import Predictor


def drawn_28(points: list[tuple[float, float]], width: int = 2) -> np.ndarray:
    """A polyline drawn on a 28x28 uint8 image (white on black), as a stand-in for an MNIST digit."""
    img = Image.new("L", (28 * 8, 28 * 8), 0)
    ImageDraw.Draw(img).line([(x * 8, y * 8) for x, y in points], fill=255, width=width * 8, joint="curve")
    return np.asarray(img.resize((28, 28), Image.Resampling.BOX))


def test_a_drawn_seven_traces_back_to_its_three_corners():
    corners = [(6.0, 5.0), (21.0, 5.0), (12.0, 23.0)]
    strokes = polylines(drawn_28(corners), tolerance=1.0)
    assert len(strokes) == 1
    got = strokes[0]
    assert 3 <= len(got) <= 4  # the corners, maybe one extra vertex near the sharp turn
    for c in corners:  # each corner has a traced vertex nearby (the skeleton shortens ends by about a pen width)
        assert np.min(np.hypot(*(got - np.array(c)).T)) <= 2.0


def test_a_ring_traces_to_one_closed_stroke():
    t = np.linspace(0, 2 * np.pi, 40)
    ring = [(14 + 8 * np.cos(a), 14 + 9 * np.sin(a)) for a in t]
    strokes = polylines(drawn_28(ring), tolerance=1.0)
    assert len(strokes) == 1
    s = strokes[0]
    assert np.hypot(*(s[0] - s[-1])) <= 1.5  # it closes
    radius = np.hypot(s[:, 0] - 14, s[:, 1] - 14)
    assert 6.5 <= radius.min() and radius.max() <= 10.5


def test_stroke_digits_are_deterministic_and_depend_on_the_seed(mnist_test):
    x = mnist_test[0][:50]
    a, b, c = stroke_digits(x, seed=0), stroke_digits(x, seed=0), stroke_digits(x, seed=1)
    assert a.dtype == torch.uint8 and a.shape == x.shape
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert not torch.equal(a, x)


def test_re_drawn_mnist_digits_keep_mnist_geometry_and_stay_legible(mnist_test):
    x, y = mnist_test[0][:500], mnist_test[1][:500]
    redrawn = stroke_digits(x, seed=3)
    heights = (redrawn > 0).any(2).sum(1)
    assert heights.max() <= 22 and heights.float().mean() >= 17  # the 20x20 box MNIST put digits in
    mass = redrawn.float()
    centre = (mass.sum(1) * torch.arange(28)).sum(1) / mass.sum((1, 2))
    assert (centre - 14).abs().max() <= 0.75  # centred by mass, as MNIST was (to the nearest pixel)
    a, b = x > 76, redrawn > 76  # the re-drawn strokes lie where the pen went
    iou = (a & b).flatten(1).sum(1) / (a | b).flatten(1).sum(1)
    assert iou.mean() >= 0.5
    acc = (Predictor("cnn", "cpu").probabilities(to_float(redrawn)).argmax(1) == y).double().mean()
    assert acc >= 0.95  # the plain CNN, never trained on them, still reads them


def test_pen_digits_are_each_digit_drawn_at_several_widths():
    x, y = pen_digit_images(4, seed=0)
    assert x.shape == (40, 1, 28, 28) and y.tolist() == list(PEN_DIGITS) * 4
    assert torch.equal(x, pen_digit_images(4, seed=0)[0])
    ink = (x > 0.5).flatten(1).sum(1).view(4, 10).float()
    assert (ink[1] > ink[0]).float().mean() >= 0.8  # width 20 lays down more ink than width 12
    assert not torch.equal(x[20:30], x[:10])  # jittered copies differ from the drawings as made


@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_plain_models_read_pen_drawn_digits(model):
    x, y = pen_digit_images(10)
    assert (Predictor(model, "cpu").probabilities(x).argmax(1) == y).double().mean() >= 0.9
