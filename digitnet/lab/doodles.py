"""The doodle library: what visitors draw first to test a digit recogniser, drawn as a visitor draws on the pad.

Each kind draws its strokes as polylines in a unit box (x, y in about 0..1, y down; curves as many short segments)
given the pen's width in box units; `doodle_strokes` jitters, warps, rotates, scales and places them on the pad's
CANVAS x CANVAS sheet, to be rendered with `digitnet.drawing.render`'s round pen, exactly as a visitor's drawing is.
None is a lone circle (a 0), a lone straight line (a 1), a near-vertical arrow (a 1) or any other shape a person
could read as a digit. The probe families `doodles` and `doodles_heldout` (digitnet/lab/probes.py) draw from it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from digitnet.drawing import CANVAS

Pt = tuple[float, float]
Strokes = list[list[Pt]]


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, n: int = 0) -> list[Pt]:
    """Points of an elliptic arc from angle a0 to a1 (radians; y down, so positive angles turn clockwise)."""
    n = n or max(4, int(abs(a1 - a0) / (2 * math.pi) * 36) + 2)
    return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in np.linspace(a0, a1, n)]


def _loop(rng: np.random.Generator, cx: float, cy: float, rx: float, ry: float) -> list[Pt]:
    """A hand-drawn closed ellipse: random start, a slightly wobbly radius, ends that overshoot a little."""
    a0 = rng.uniform(0, 2 * math.pi)
    a1 = a0 + 2 * math.pi + rng.uniform(-0.05, 0.35)
    k, ph, amp = int(rng.integers(2, 4)), rng.uniform(0, 2 * math.pi), rng.uniform(0, 0.05)
    return [(cx + rx * (1 + amp * math.sin(k * a + ph)) * math.cos(a), cy + ry * (1 + amp * math.sin(k * a + ph))
             * math.sin(a)) for a in np.linspace(a0, a1, 40)]  # fmt: skip


def _closed(pts: list[Pt]) -> list[Pt]:
    return [*pts, pts[0]]


def _dot(rng: np.random.Generator, x: float, y: float, r: float) -> list[Pt]:
    """An eye: a dot (one point: the pen's round tip), a short dash or a small circle."""
    kind = rng.integers(3)
    if kind == 0:
        return [(x, y)]
    if kind == 1:
        return [(x, y - r), (x, y + r)]
    return _arc(x, y, r, r, 0, 2 * math.pi, 12)


def _smiley(rng: np.random.Generator, pen: float) -> Strokes:
    ex, ey, m = rng.uniform(0.14, 0.2), rng.uniform(0.33, 0.42), rng.uniform(0.25, 0.33)
    a = rng.uniform(0.25, 0.6)
    out = [_loop(rng, 0.5, 0.5, 0.5, 0.5), _dot(rng, 0.5 - ex, ey, 0.05), _dot(rng, 0.5 + ex, ey, 0.05),
           _arc(0.5, 0.52, m, m * rng.uniform(0.6, 1.0), a, math.pi - a)]  # fmt: skip
    if rng.random() < 0.3:
        out.append([(0.5, 0.47), (0.5, 0.58)])  # a nose
    return out


def _heart(rng: np.random.Generator, pen: float) -> Strokes:
    t = np.linspace(0, 2 * math.pi, 48)
    x = 16 * np.sin(t) ** 3
    y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
    x, y = (x + 17) / 34, (y + 17.5) / 30
    pts = list(zip(x.tolist(), y.tolist(), strict=True))
    if rng.random() < 0.5:  # drawn as two halves from the top cusp down to the tip
        return [pts[:25], pts[24:] + [pts[0]]]
    return [pts]


def _star(rng: np.random.Generator, pen: float) -> Strokes:
    t0 = -math.pi / 2 + rng.normal(0, 0.1)
    if rng.random() < 0.5:  # a pentagram in one stroke
        pts = [(0.5 + 0.5 * math.cos(t0 + k * 4 * math.pi / 5), 0.5 + 0.5 * math.sin(t0 + k * 4 * math.pi / 5))
               for k in range(5)]  # fmt: skip
        return [_closed(pts)]
    inner = rng.uniform(0.38, 0.5)
    pts = [(0.5 + r * math.cos(t0 + k * math.pi / 5), 0.5 + r * math.sin(t0 + k * math.pi / 5))
           for k in range(10) for r in [0.5 if k % 2 == 0 else 0.5 * inner]]  # fmt: skip
    return [_closed(pts)]


def _house(rng: np.random.Generator, pen: float) -> Strokes:
    top, eave = rng.uniform(0.38, 0.5), rng.uniform(0, 0.08)
    out = [_closed([(0.1, top), (0.1, 1), (0.9, 1), (0.9, top)]),
           [(0.1 - eave, top + eave), (0.5, rng.uniform(0, 0.08)), (0.9 + eave, top + eave)]]  # fmt: skip
    dx = rng.uniform(0.3, 0.45)
    out.append([(dx, 1), (dx, 0.68), (dx + 0.17, 0.68), (dx + 0.17, 1)])  # the door
    if rng.random() < 0.7:  # a window, with or without its cross
        wx = 0.62 if dx < 0.4 else 0.18
        out.append(_closed([(wx, top + 0.12), (wx + 0.18, top + 0.12), (wx + 0.18, top + 0.28), (wx, top + 0.28)]))
        if rng.random() < 0.5:
            out += [[(wx + 0.09, top + 0.12), (wx + 0.09, top + 0.28)], [(wx, top + 0.2), (wx + 0.18, top + 0.2)]]
    if rng.random() < 0.4:  # a chimney
        out.append([(0.7, 0.2), (0.7, 0.06), (0.8, 0.06), (0.8, 0.28)])
    return out


def _sun(rng: np.random.Generator, pen: float) -> Strokes:
    r, n = rng.uniform(0.2, 0.28), int(rng.integers(7, 13))
    t0, r1 = rng.uniform(0, 2 * math.pi), r + rng.uniform(0.05, 0.1)
    out = [_loop(rng, 0.5, 0.5, r, r)]
    for k in range(n):
        t = t0 + 2 * math.pi * k / n
        c, s = math.cos(t), math.sin(t)
        out.append([(0.5 + r1 * c, 0.5 + r1 * s), (0.5 + 0.5 * c, 0.5 + 0.5 * s)])
    return out


def _scallops(cx: float, cy: float, rx: float, ry: float, bumps: int, depth: float, t0: float) -> list[Pt]:
    """A closed bumpy outline (a cloud, a tree's crown): round bumps meeting in inward points."""
    t = np.linspace(0, 2 * math.pi, 24 * bumps + 1) + t0
    r = 1 - depth + depth * np.abs(np.sin(bumps * (t - t0) / 2))
    return list(zip((cx + rx * r * np.cos(t)).tolist(), (cy + ry * r * np.sin(t)).tolist(), strict=True))


def _tree(rng: np.random.Generator, pen: float) -> Strokes:
    trunk = rng.uniform(0.08, 0.12)
    if rng.random() < 0.5:  # a fir: stacked triangles on a trunk
        layers = int(rng.integers(2, 4))
        out = []
        for i in range(layers):
            y0, y1 = 0.75 * i / layers, 0.75 * (i + 1.4) / layers
            half = 0.25 + 0.25 * (i + 1) / layers
            out.append(_closed([(0.5, y0), (0.5 + half, min(y1, 0.78)), (0.5 - half, min(y1, 0.78))]))
        out.append([(0.5 - trunk, 0.78), (0.5 - trunk, 1), (0.5 + trunk, 1), (0.5 + trunk, 0.78)])
        return out
    crown = _scallops(0.5, 0.33, 0.5, 0.33, int(rng.integers(6, 10)), rng.uniform(0.1, 0.2), rng.uniform(0, 6.3))
    out = [crown, [(0.5 - trunk, 0.64), (0.5 - trunk, 1)], [(0.5 + trunk, 0.64), (0.5 + trunk, 1)]]
    if rng.random() < 0.5:
        out.append([(0.1, 1), (0.9, 1)])  # the ground
    return out


def _cat(rng: np.random.Generator, pen: float) -> Strokes:
    ry, ear = rng.uniform(0.3, 0.36), rng.uniform(0.15, 0.25)
    cy = 1 - ry - 0.02
    out = [_loop(rng, 0.5, cy, 0.4, ry)]
    for s in (-1, 1):
        out.append([(0.5 + s * 0.12, cy - ry * 0.93), (0.5 + s * 0.33, cy - ry - ear), (0.5 + s * 0.37, cy - ry * 0.5)])
        out.append(_dot(rng, 0.5 + s * 0.15, cy - 0.07, 0.04))
        for k in (-1, 0, 1):  # whiskers, out past the face
            out.append([(0.5 + s * 0.2, cy + 0.1 + 0.02 * k), (0.5 + s * 0.55, cy + 0.06 + 0.08 * k)])
    out.append(_closed([(0.46, cy + 0.04), (0.54, cy + 0.04), (0.5, cy + 0.09)]))  # nose
    out.append([(0.42, cy + 0.16), (0.46, cy + 0.19), (0.5, cy + 0.12), (0.54, cy + 0.19), (0.58, cy + 0.16)])
    return out


def _spiral(rng: np.random.Generator, pen: float) -> Strokes:
    """At least 2.25 turns, the gaps wider than the pen (fewer turns would read as a 6, a 9 or a 0)."""
    turns = rng.uniform(2.25, max(2.3, min(3.5, 0.5 / (2.2 * pen))))
    t = np.linspace(0, turns * 2 * math.pi, int(turns * 40))
    r = 0.5 * t / t[-1] + 0.02
    t0, d = rng.uniform(0, 2 * math.pi), rng.choice([-1, 1])
    return [list(zip((0.5 + r * np.cos(d * t + t0)).tolist(), (0.5 + r * np.sin(d * t + t0)).tolist(), strict=True))]


def _pentagon(rng: np.random.Generator, pen: float) -> Strokes:
    t0 = -math.pi / 2 + rng.normal(0, 0.15)
    pts = [(0.5 + 0.5 * math.cos(t0 + 2 * math.pi * k / 5), 0.5 + 0.5 * math.sin(t0 + 2 * math.pi * k / 5))
           for k in range(5)]  # fmt: skip
    return [_closed(pts)]


def _stick_figure(rng: np.random.Generator, pen: float) -> Strokes:
    r, hip = rng.uniform(0.1, 0.14), rng.uniform(0.58, 0.66)
    neck, sh = 2 * r, 2 * r + rng.uniform(0.06, 0.12)
    arm = rng.choice([-0.2, 0.05, 0.2])  # up, out, down
    out = [_loop(rng, 0.5, r, r, r), [(0.5, neck), (0.5, hip)], [(0.5, hip), (0.5 - rng.uniform(0.15, 0.3), 1)],
           [(0.5, hip), (0.5 + rng.uniform(0.15, 0.3), 1)]]  # fmt: skip
    if rng.random() < 0.5:
        out.append([(0.15, sh + arm + rng.normal(0, 0.05)), (0.5, sh), (0.85, sh + arm + rng.normal(0, 0.05))])
    else:
        out += [[(0.5, sh), (0.15, sh + arm)], [(0.5, sh), (0.85, sh + arm)]]
    return out


def _arrow(rng: np.random.Generator, pen: float) -> Strokes:
    """Pointing right or left within 35 degrees of horizontal (a vertical arrow is a 1)."""
    head, spread = rng.uniform(0.2, 0.35), rng.uniform(0.45, 0.8)
    kind = rng.integers(3)
    if kind == 2:  # a block arrow, outlined
        w, hw = rng.uniform(0.1, 0.16), rng.uniform(0.25, 0.35)
        out = [_closed([(0, 0.5 - w), (1 - head, 0.5 - w), (1 - head, 0.5 - hw), (1, 0.5), (1 - head, 0.5 + hw),
                        (1 - head, 0.5 + w), (0, 0.5 + w)])]  # fmt: skip
    else:
        hx, hy = head * math.cos(spread), head * math.sin(spread)
        out = [[(0, 0.5), (1, 0.5)]]
        out.append(_closed([(1 - hx, 0.5 - hy), (1, 0.5), (1 - hx, 0.5 + hy)]) if kind == 1
                   else [(1 - hx, 0.5 - hy), (1, 0.5), (1 - hx, 0.5 + hy)])  # fmt: skip
        if rng.random() < 0.5:  # fletching
            out += [[(0.12, 0.5), (0, 0.5 - hy * 0.8)], [(0.12, 0.5), (0, 0.5 + hy * 0.8)]]
    a = rng.uniform(-35, 35) * math.pi / 180 + (math.pi if rng.random() < 0.5 else 0.0)
    c, s = math.cos(a), math.sin(a)
    return [[(0.5 + (x - 0.5) * c - (y - 0.5) * s, 0.5 + (x - 0.5) * s + (y - 0.5) * c) for x, y in st] for st in out]


def _cloud(rng: np.random.Generator, pen: float) -> Strokes:
    bumps = int(rng.integers(5, 9))
    pts = _scallops(0.5, 0.5, 0.5, rng.uniform(0.25, 0.32), bumps, rng.uniform(0.2, 0.3), rng.uniform(0, 6.3))
    if rng.random() < 0.5:  # a flat bottom
        pts = [(x, min(y, 0.62)) for x, y in pts]
    return [pts]


def _flower(rng: np.random.Generator, pen: float) -> Strokes:
    n, rc, rp = int(rng.integers(5, 9)), rng.uniform(0.08, 0.11), rng.uniform(0.14, 0.18)
    cx, cy, t0 = 0.5, 0.3, rng.uniform(0, 2 * math.pi)
    out = [_loop(rng, cx, cy, rc, rc)]
    if rng.random() < 0.5:  # one petal loop each
        for k in range(n):
            t = t0 + 2 * math.pi * k / n
            px, py = cx + (rc + rp) * math.cos(t), cy + (rc + rp) * math.sin(t)
            loop = _arc(0, 0, rp, rp * 0.55, 0, 2 * math.pi, 16)
            c, s = math.cos(t), math.sin(t)
            out.append([(px + x * c - y * s, py + x * s + y * c) for x, y in loop])
    else:  # one scalloped ring around the centre
        out.append(_scallops(cx, cy, rc + 2 * rp, rc + 2 * rp, n, 0.45, t0))
    stem_top, bend = cy + rc + 2 * rp * 0.9, rng.uniform(-0.08, 0.08)
    out.append([(cx, stem_top), (cx + bend, (stem_top + 1) / 2), (cx, 1)])
    side = rng.choice([-1, 1])
    ly = rng.uniform(0.75, 0.88)
    leaf = _arc(0, 0, 0.14, 0.06, 0, 2 * math.pi, 14)
    out.append([(cx + side * (0.14 + x), ly - 0.06 + y - side * x * 0.4) for x, y in leaf])
    return out


def _fish(rng: np.random.Generator, pen: float) -> Strokes:
    h, tail = rng.uniform(0.22, 0.32), rng.uniform(0.2, 0.3)
    body = _arc(0.4, 0.5, 0.38, h, math.pi * 0.15, math.pi * 1.85, 30)
    out = [body + [(1, 0.5 - tail), (1, 0.5 + tail), body[0]],  # body, then the tail in the same stroke
           _dot(rng, 0.18, 0.5 - h * 0.3, 0.035)]  # fmt: skip
    if rng.random() < 0.6:  # the gill
        out.append(_arc(0.2, 0.5, 0.12, h * 0.7, -0.6 * math.pi / 2, 0.6 * math.pi / 2, 8))
    if rng.random() < 0.5:  # facing the other way
        out = [[(1 - x, y) for x, y in s] for s in out]
    return out


def _car(rng: np.random.Generator, pen: float) -> Strokes:
    wr, roof = rng.uniform(0.09, 0.12), rng.uniform(0.2, 0.32)
    base = 0.75
    body = [(0.02, base), (0.02, 0.5), (0.22, 0.48), (0.32, roof), (0.72, roof), (0.82, 0.48), (0.98, 0.52),
            (0.98, base)]  # fmt: skip
    out = [body, [(0.02, base), (0.2 - wr, base)], [(0.2 + wr, base), (0.8 - wr, base)],
           [(0.8 + wr, base), (0.98, base)], _loop(rng, 0.2, base, wr, wr), _loop(rng, 0.8, base, wr, wr)]  # fmt: skip
    if rng.random() < 0.7:  # windows
        out.append(_closed([(0.34, roof + 0.05), (0.5, roof + 0.05), (0.5, 0.47), (0.26, 0.47)]))
        out.append(_closed([(0.55, roof + 0.05), (0.7, roof + 0.05), (0.78, 0.47), (0.55, 0.47)]))
    if rng.random() < 0.5:
        out = [[(1 - x, y) for x, y in s] for s in out]
    return out


def _envelope(rng: np.random.Generator, pen: float) -> Strokes:
    h, tip = rng.uniform(0.55, 0.7), rng.uniform(0.45, 0.65)
    y0 = 0.5 - h / 2
    out = [_closed([(0, y0), (1, y0), (1, y0 + h), (0, y0 + h)]), [(0, y0), (0.5, y0 + tip * h), (1, y0)]]
    if rng.random() < 0.4:
        out += [[(0, y0 + h), (0.38, y0 + tip * h * 0.75)], [(1, y0 + h), (0.62, y0 + tip * h * 0.75)]]
    return out


def _lightning(rng: np.random.Generator, pen: float) -> Strokes:
    """The outline of a bolt (a single zigzag line could be a 2, 4 or 7)."""
    a, b = rng.uniform(0.35, 0.5), rng.uniform(0.5, 0.65)
    pts = [(0.45, 0), (0.85, 0), (0.62, a), (0.9, a), (0.2, 1), (0.42, b), (0.12, b)]
    return [_closed(pts)]


def _umbrella(rng: np.random.Generator, pen: float) -> Strokes:
    ry, n = rng.uniform(0.3, 0.42), int(rng.integers(3, 6))
    top = _arc(0.5, ry + 0.02, 0.5, ry, math.pi, 2 * math.pi, 24)
    edge = []
    for k in range(n):  # the scalloped lower edge, right to left
        x1, x0 = 1 - k / n, 1 - (k + 1) / n
        edge += _arc((x0 + x1) / 2, ry + 0.02, (x1 - x0) / 2, 0.06, 0, math.pi, 8)
    hook = rng.uniform(0.08, 0.12)
    handle = [(0.5, ry + 0.08), (0.5, 0.92)] + _arc(0.5 - hook, 0.92, hook, 0.07, 0, math.pi, 8)
    return [top + edge, handle, [(0.5, 0.02), (0.5, -0.04)]]


def _sailboat(rng: np.random.Generator, pen: float) -> Strokes:
    deck = rng.uniform(0.68, 0.75)
    out = [_closed([(0, deck), (1, deck), (0.82, 0.92), (0.18, 0.92)]), [(0.5, deck), (0.5, 0.02)],
           _closed([(0.54, 0.06), (0.54, deck - 0.06), (0.92, deck - 0.06)])]  # fmt: skip
    if rng.random() < 0.6:  # a jib
        out.append(_closed([(0.46, 0.14), (0.46, deck - 0.06), (0.14, deck - 0.06)]))
    if rng.random() < 0.5:  # waves
        out.append([(x, 1 + 0.025 * math.sin(x * 6 * math.pi)) for x in np.linspace(0, 1, 25)])
    return out


def _crown(rng: np.random.Generator, pen: float) -> Strokes:
    n, dip = int(rng.integers(3, 6)), rng.uniform(0.4, 0.6)
    top = [(0, 0.15)]
    for k in range(n):
        top += [((k + 0.5) / n, dip), ((k + 1) / n, 0.15)]
    out = [[(0, 1), *top, (1, 1), (0, 1)]]
    if rng.random() < 0.6:
        out.append([(0, 0.82), (1, 0.82)])  # the band
    if rng.random() < 0.4:  # jewels on the points
        out += [[(x, 0.07)] for x, y in top if y < 0.2]
    return out


DOODLES: dict[str, Callable[[np.random.Generator, float], Strokes]] = {
    "smiley": _smiley, "heart": _heart, "star": _star, "house": _house, "sun": _sun, "tree": _tree,
    "cat_face": _cat, "spiral": _spiral, "pentagon": _pentagon, "stick_figure": _stick_figure,
    "arrow": _arrow, "cloud": _cloud, "flower": _flower, "fish": _fish, "car": _car, "envelope": _envelope,
    "lightning": _lightning, "umbrella": _umbrella, "sailboat": _sailboat, "crown": _crown,
}  # fmt: skip
# The kinds the issue names first train `cnn_oe`; different kinds are held out for the report.
TRAIN_DOODLES = ("smiley", "heart", "star", "house", "sun", "tree", "cat_face", "spiral", "pentagon", "stick_figure")
HELDOUT_DOODLES = ("arrow", "cloud", "flower", "fish", "car", "envelope", "lightning", "umbrella", "sailboat", "crown")
MAX_PEN = {"spiral": 1 / 13, "cat_face": 1 / 12, "flower": 1 / 12}  # pen width / drawing size; default 1 / 9
STRETCH = {"pentagon": 0.05}  # how much a kind may be stretched, default 15% (a tall pentagon is an angular 0)


def doodle_strokes(kind: str, rng: np.random.Generator) -> tuple[Strokes, int]:
    """One doodle of `kind` as a visitor draws it on the pad: strokes in canvas pixels, and the pen width.

    Pen 8-24 px (at most MAX_PEN of the drawing's size), the drawing 130-260 px across (smaller if it would
    not fit once turned), anywhere on the canvas with the whole stroke on it, turned up to 20 degrees,
    stretched up to 15% (STRETCH), smoothly warped, every stroke a little off its place and every point a little off
    its line.
    """
    size = rng.uniform(130, 260)
    width = int(rng.integers(8, int(min(24, size * MAX_PEN.get(kind, 1 / 9))) + 1))
    strokes = DOODLES[kind](rng, width / size)
    most = STRETCH.get(kind, 0.15)
    turn, stretch = math.radians(rng.uniform(-20, 20)), math.exp(rng.uniform(-most, most))
    wx, wy = rng.uniform(0, 0.035, 2)
    fx, fy, px, py = *rng.uniform(0.5, 2, 2), *rng.uniform(0, 2 * math.pi, 2)
    c, s = math.cos(turn), math.sin(turn)
    drawn = []
    for stroke in strokes:
        pts = np.asarray(stroke, np.float64) + rng.normal(0, 0.012, 2)  # each stroke a little off its place
        pts = pts + rng.normal(0, 0.004, pts.shape)
        x = pts[:, 0] + wx * np.sin(2 * math.pi * fy * pts[:, 1] + px) - 0.5
        y = pts[:, 1] + wy * np.sin(2 * math.pi * fx * pts[:, 0] + py) - 0.5
        x, y = x * stretch * size, y / stretch * size
        drawn.append(np.stack([x * c - y * s, x * s + y * c], 1))
    lo, hi = np.min([d.min(0) for d in drawn], 0), np.max([d.max(0) for d in drawn], 0)
    margin = width / 2 + 2  # the whole pen stroke stays on the canvas
    fit = min(1.0, (CANVAS - 2 * margin) / float(np.max(hi - lo)))  # too big once turned: drawn a little smaller
    at = margin - lo * fit + rng.random(2) * np.maximum(0.0, CANVAS - 2 * margin - (hi - lo) * fit)
    out = [[(float(x), float(y)) for x, y in d * fit + at] for d in drawn]
    return out, width
