"""Turn any drawing or upload into what MNIST looks like (minimal first version)."""

from __future__ import annotations

import numpy as np
from PIL import Image


class InputError(ValueError):
    """The input cannot be turned into a digit image; the message says why."""


class EmptyImage(InputError):
    """Nothing is drawn (blank canvas, uniform image)."""


def _to_gray(image) -> np.ndarray:
    if isinstance(image, (str, bytes)) or hasattr(image, "__fspath__"):
        image = Image.open(image)
    if isinstance(image, Image.Image):
        image = np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    a = np.asarray(image, dtype=np.float32)
    if a.ndim == 3:
        a = a[..., :3].mean(-1)
    return a


def preprocess(image) -> np.ndarray:
    """28x28 float32 in [0, 1], white ink on black, MNIST geometry."""
    a = _to_gray(image)
    border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])
    if np.median(border) > 0.5:
        a = 1.0 - a
    a = np.clip(a - np.median(border if np.median(border) <= 0.5 else 1 - border), 0, None)
    if a.max() <= 0.05:
        raise EmptyImage("nothing drawn")
    a /= a.max()
    ys, xs = np.nonzero(a > 0.05)
    a = a[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    h, w = a.shape
    s = 20 / max(h, w)
    nh, nw = max(1, round(h * s)), max(1, round(w * s))
    small = np.asarray(Image.fromarray(a).resize((nw, nh), Image.LANCZOS), dtype=np.float32).clip(0, 1)
    out = np.zeros((28, 28), np.float32)
    yy, xx = np.mgrid[:nh, :nw]
    m = small.sum()
    cy, cx = (yy * small).sum() / m, (xx * small).sum() / m
    oy, ox = int(round(14 - cy - 0.5)), int(round(14 - cx - 0.5))
    oy, ox = min(max(oy, 0), 28 - nh), min(max(ox, 0), 28 - nw)
    out[oy : oy + nh, ox : ox + nw] = small
    return out
