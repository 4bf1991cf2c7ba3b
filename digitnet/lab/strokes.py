"""Digits drawn with straight pen strokes, as people draw them with a mouse on the app's drawing pad.

MNIST digits were written with a pen on paper: curved strokes of varying width. Drawn with a mouse
they become a few straight segments of even width with sharp corners. Two sources of such digits:

- `stroke_digits`: MNIST digits re-drawn that way (skeleton -> polylines -> even-width pen on a
  280x280 layer -> preprocessing). Used in training, so that a network taught that pen-drawn lines
  and polygons are not digits still accepts digits drawn that way.
- `PEN_DIGITS` / `pen_digit_images`: ten digits drawn by hand as polylines (not derived from MNIST),
  jittered and drawn at several widths. Used only for evaluation.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from skimage.measure import approximate_polygon
from skimage.morphology import skeletonize

from digitnet.drawing import CANVAS, render
from digitnet.preprocess import InputError, preprocess_ink

_UP = 4  # skeletons are traced on the digit scaled up to 112x112
_NEIGHBOURS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx]


def _trace(skeleton: np.ndarray) -> list[np.ndarray]:
    """Split a one-pixel-wide skeleton into paths (arrays of (row, col)), endpoints first, loops last."""
    left = {(int(r), int(c)) for r, c in zip(*np.nonzero(skeleton), strict=True)}
    done: set[tuple[int, int]] = set()

    def around(p, pool):
        return [(p[0] + dy, p[1] + dx) for dy, dx in _NEIGHBOURS if (p[0] + dy, p[1] + dx) in pool]

    paths = []
    while left:
        ends = [p for p in left if len(around(p, left)) <= 1]
        p = min(ends) if ends else min(left)
        path = around(p, done)[:1] + [p]  # start at the junction it branches from, so strokes meet
        left.discard(p)
        while nxt := around(p, left):
            p = min(nxt, key=lambda q: abs(q[0] - p[0]) + abs(q[1] - p[1]))  # prefer straight-on steps
            path.append(p)
            left.discard(p)
        done.update(path)
        paths.append(np.array(path, np.float64))
    return paths


def polylines(digit: np.ndarray, tolerance: float) -> list[np.ndarray]:
    """A 28x28 uint8 digit as straight-segment strokes in 0..28 coordinates (x, y), `tolerance` in 28-px units."""
    big = np.asarray(Image.fromarray(digit).resize((28 * _UP, 28 * _UP), Image.Resampling.BICUBIC))
    strokes = []
    for path in _trace(skeletonize(big > 0.4 * big.max())):
        if len(path) < 2 * _UP:  # skeleton spurs
            continue
        simple = approximate_polygon(path, tolerance * _UP)
        strokes.append((simple[:, ::-1] + 0.5) / _UP)
    return strokes


def draw(strokes: list, width: int, scale: float = 1.0, offset=(0.0, 0.0)) -> np.ndarray:
    """Strokes drawn with an even `width` on the app's drawing pad, as its ink (float in [0, 1])."""
    pts = [[(float(x * scale + offset[0]), float(y * scale + offset[1])) for x, y in s] for s in strokes]
    return render(pts, width).astype(np.float32) / 255.0


def stroke_digit(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """One MNIST digit re-drawn with straight strokes of a random even width, preprocessed (28x28 float)."""
    lines = polylines(digit, tolerance=float(rng.uniform(0.4, 2.0)))
    if not lines:
        return None
    scale = float(rng.uniform(6, 9))  # the 28-px digit box becomes 168-252 px on the canvas
    offset = rng.uniform(0, CANVAS - 28 * scale, 2) if CANVAS > 28 * scale else (0.0, 0.0)
    try:
        return preprocess_ink(draw(lines, int(rng.integers(8, 25)), scale, tuple(offset)))
    except InputError:
        return None


def stroke_digits(images: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """Every digit of `images` (uint8 N x 28 x 28) re-drawn with straight strokes; uint8 N x 28 x 28.

    A digit whose skeleton yields nothing drawable keeps its original image.
    """
    rng = np.random.default_rng([seed, 28])
    out = images.clone()
    for i, digit in enumerate(images.numpy()):
        a = stroke_digit(digit, rng)
        if a is not None:
            out[i] = torch.from_numpy(np.round(a * 255).astype(np.uint8))
    return out


# Digits drawn by hand as polylines on the 280x280 pad (never derived from MNIST; evaluation only).
PEN_DIGITS: dict[int, list[list[tuple[int, int]]]] = {
    0: [[(140, 40), (210, 100), (200, 200), (140, 240), (80, 200), (70, 100), (140, 40)]],
    1: [[(140, 45), (135, 140), (130, 235)]],
    2: [[(80, 80), (140, 45), (200, 80), (80, 230), (210, 230)]],
    3: [[(80, 50), (200, 50), (130, 130), (200, 190), (140, 235), (80, 220)]],
    4: [[(170, 40), (80, 160), (200, 160)], [(170, 40), (170, 240)]],
    5: [[(200, 50), (90, 50), (85, 130), (190, 140), (190, 220), (80, 230)]],
    6: [[(180, 40), (90, 140), (85, 215), (140, 240), (195, 200), (170, 150), (90, 170)]],
    7: [[(75, 55), (195, 55), (140, 160), (115, 235)]],
    8: [[(140, 140), (85, 90), (140, 40), (195, 90), (85, 190), (140, 240), (195, 190), (140, 140)]],
    9: [[(200, 80), (140, 40), (80, 90), (140, 140), (200, 80), (190, 240)]],
}


def pen_digit_images(n_per_digit: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """PEN_DIGITS, each drawn `n_per_digit` times: the first as drawn at width 12 and 20 alternately, the
    rest with every vertex moved up to 12 px and a random width of 8-24 px. Float N x 1 x 28 x 28, labels N."""
    rng = np.random.default_rng([seed, 9])
    xs, ys = [], []
    for k in range(n_per_digit):
        for label, strokes in PEN_DIGITS.items():
            width = (12, 20)[k % 2] if k < 2 else int(rng.integers(8, 25))
            jitter = 0 if k < 2 else 12
            moved = [[(x + rng.uniform(-jitter, jitter), y + rng.uniform(-jitter, jitter)) for x, y in s]
                     for s in strokes]  # fmt: skip
            for s, m in zip(strokes, moved, strict=True):
                if s[0] == s[-1]:  # a closed loop stays closed
                    m[-1] = m[0]
            xs.append(preprocess_ink(draw(moved, width)))
            ys.append(label)
    return torch.from_numpy(np.stack(xs).astype(np.float32))[:, None], torch.tensor(ys)
