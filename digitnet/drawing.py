"""A drawing from the page's pad: strokes as point lists, checked and bounded, rendered as the visitor saw them.

The pad sends {"strokes": [[x0, y0, x1, y1, ...], ...], "width": pen width, "seq": n} in the canvas's own
pixels (CANVAS x CANVAS, whatever size it is shown at). The server renders the strokes with the same round pen
and hands the ink to `preprocess_ink`, so drawings, uploads and API calls share one preprocessing path.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from digitnet.preprocess import EmptyImage, InputError, preprocess_ink

CANVAS = 280  # px, the drawing pad's side (canvas pixels; it is shown at the column's width)
PEN = 20  # px on the canvas; a digit drawn 150-250 px tall then has MNIST's 2-3 px strokes at 20x20
MIN_PEN, MAX_PEN = 2, 64
MAX_STROKES = 100
MAX_POINTS = 5000  # in all strokes together; a pen sampled every frame for a minute makes about 3,600
MARGIN = CANVAS  # points may lie off the canvas by this much (a stroke that leaves it), no further
INK = 255  # the sheet's ink in Pillow's "L" mode

Stroke = list[tuple[float, float]]


def parse(value: Any) -> tuple[list[Stroke], int]:
    """The pad's value -> (strokes, pen width); InputError with a message for anything malformed or too big.

    Everything is checked before anything is built from it: type, counts, then each number.
    """
    if not isinstance(value, dict):
        raise InputError("a drawing must be an object with 'strokes' (lists of x, y numbers) and 'width'")
    strokes, width = value.get("strokes", []), value.get("width", PEN)
    if not isinstance(strokes, list):
        raise InputError("'strokes' must be a list of strokes, each a flat list [x0, y0, x1, y1, ...]")
    if len(strokes) > MAX_STROKES:
        raise InputError(f"the drawing has {len(strokes):,} strokes; the limit is {MAX_STROKES}")
    if not all(isinstance(s, list) for s in strokes):
        raise InputError("each stroke must be a flat list of numbers [x0, y0, x1, y1, ...]")
    total = sum(len(s) for s in strokes)
    if total > 2 * MAX_POINTS:
        raise InputError(f"the drawing has {total // 2:,} points; the limit is {MAX_POINTS:,}")
    if isinstance(width, bool) or not isinstance(width, int | float) or not MIN_PEN <= width <= MAX_PEN:
        raise InputError(f"'width' must be a number from {MIN_PEN} to {MAX_PEN} (canvas pixels)")
    out = []
    for s in strokes:
        if len(s) % 2 or not all(_coordinate(v) for v in s):
            raise InputError(f"a stroke must hold x, y pairs of finite numbers within {-MARGIN}..{CANVAS + MARGIN}")
        if s:
            out.append(list(zip(map(float, s[::2]), map(float, s[1::2]), strict=True)))
    return out, round(width)


def _coordinate(v: Any) -> bool:
    number = isinstance(v, int | float) and not isinstance(v, bool)
    return number and math.isfinite(v) and -MARGIN <= v <= CANVAS + MARGIN


def render(strokes: list[Stroke], width: int = PEN) -> np.ndarray:
    """The strokes' ink on a clear CANVAS x CANVAS sheet (uint8, 255 = ink), drawn with a round pen: the pixels of
    Pillow's `ImageDraw.line(points, 255, width, joint="curve")` and a disc at each end."""
    sheet = Image.new("L", (CANVAS, CANVAS), 0)
    pen = ImageDraw.Draw(sheet)
    for pts in strokes:
        if len(pts) > 1:
            pen.draw.draw_lines(pts, INK, width)
            if width > 4:  # where Pillow draws joints
                _joints(pen.draw, pts, width)
        for x, y in (pts[0], pts[-1]):  # round pen tips (a dot for a single point)
            pen.ellipse([x - width / 2, y - width / 2, x + width / 2, y + width / 2], fill=255)
    return np.asarray(sheet)


def _joints(draw, points: Stroke, width: int) -> None:
    """The round joints Pillow's `ImageDraw.line(..., joint="curve")` draws (Pillow 12.3, ImageDraw.py), the same
    arithmetic drawn straight with its C functions: its own loop, in Python, was a third of the server's time for
    a class drawing live (docs/benchmarks.md). tests/test_drawing.py checks the pixels against Pillow's."""
    half, reach = width / 2, width / 2 - 1
    for (x0, y0), (x, y), (x1, y1) in zip(points, points[1:], points[2:], strict=False):
        a0 = math.degrees(math.atan2(x - x0, y0 - y)) % 360
        a1 = math.degrees(math.atan2(x1 - x, y - y1)) % 360
        if a0 == a1:  # straight on: no joint
            continue
        flipped = (a1 > a0 and a1 - 180 > a0) or (a1 < a0 and a1 + 180 > a0)
        start, end = (a1 + 90, a0 + 90) if flipped else (a0 - 90, a1 - 90)
        draw.draw_pieslice([(x - half + 1, y - half + 1), (x + half - 1, y + half - 1)], start - 90, end - 90, INK, 1)
        if width > 8:  # Pillow's cover for gaps between the line and the joint
            turn = 90 if flipped else -90
            draw.draw_lines([_at(x, y, a0 + turn, reach), (x, y), _at(x, y, a1 + turn, reach)], INK, 3)


def _at(x: float, y: float, angle: float, distance: float) -> tuple[float, float]:
    dx, dy = distance * math.cos(math.radians(angle - 90)), distance * math.sin(math.radians(angle - 90))
    return x + (math.floor(dx) if dx > 0 else math.ceil(dx)), y + (math.floor(dy) if dy > 0 else math.ceil(dy))


def to_input(value: Any) -> np.ndarray | None:
    """The pad's value -> the network's 28x28 input, or None when nothing is drawn (InputError when malformed)."""
    return ink_input(*parse(value))


def ink_input(strokes: list[Stroke], width: int) -> np.ndarray | None:
    """Checked strokes (as `parse` returns them) -> the network's 28x28 input, or None when they leave no ink."""
    if not strokes:
        return None
    try:
        return preprocess_ink(render(strokes, width).astype(np.float32) / 255.0)
    except EmptyImage:
        return None


def flatten(strokes: list[Stroke]) -> list[list[float]]:
    """Strokes of (x, y) points -> the pad's flat lists [x0, y0, x1, y1, ...]."""
    return [[c for xy in s for c in xy] for s in strokes]


def payload(strokes: list[Stroke], width: int = PEN, seq: int = 0) -> dict:
    """What the pad sends for these strokes (for API clients and tests)."""
    flat = [[round(float(c), 1) for c in s] for s in flatten(strokes)]
    return {"strokes": flat, "width": width, "seq": seq}
