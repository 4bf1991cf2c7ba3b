"""Re-drawn MNIST: a test digit rendered the way a drawing or an upload reaches the app.

Each variant takes a 28x28 uint8 MNIST digit (white on black) and a numpy Generator and returns
what the app would hand to `preprocess`: a drawing saved from a drawing app and uploaded (a 280x280 image, the
digit scaled up at a random size and position: on white, as a transparent PNG, as a dark-theme screenshot) or
the bytes of an uploaded photo-like JPEG. Digits drawn on the app's own pad are re-drawn by strokes.py.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
from PIL import Image

from digitnet.drawing import CANVAS

DARK_THEME = 0x33  # a dark drawing app's paper, #333333


def _placed_ink(digit: np.ndarray, rng: np.random.Generator, canvas: int = CANVAS) -> tuple[np.ndarray, int, int]:
    """The digit's ink (float in [0, 1]) scaled up to a random size, and a random place (y, x) on the canvas."""
    side = int(rng.integers(canvas // 4, canvas * 3 // 4))
    big = Image.fromarray(digit).resize((side, side), Image.Resampling.BICUBIC)
    y, x = (int(v) for v in rng.integers(0, canvas - side, size=2))
    return np.asarray(big, dtype=np.float32) / 255.0, y, x


def _canvas(value: tuple[int, int, int, int], size: int = CANVAS) -> np.ndarray:
    out = np.empty((size, size, 4), np.uint8)
    out[...] = value
    return out


def _draw(canvas: np.ndarray, ink: np.ndarray, y: int, x: int, colour: tuple[int, int, int], layer: bool) -> None:
    """Paint the ink with the brush colour: over the canvas (composite) or as alpha on a clear layer."""
    region = canvas[y : y + ink.shape[0], x : x + ink.shape[1]]
    if layer:
        region[..., :3] = colour
        region[..., 3] = np.round(ink * 255)
    else:
        a = ink[..., None]
        region[..., :3] = np.round(region[..., :3] * (1 - a) + np.array(colour, np.float32) * a)


def _drawn(digit: np.ndarray, rng: np.random.Generator, bg: int, colour, transparent: bool) -> np.ndarray:
    ink, y, x = _placed_ink(digit, rng)
    canvas = _canvas((0, 0, 0, 0) if transparent else (bg, bg, bg, 255))
    _draw(canvas, ink, y, x, colour, layer=transparent)
    return canvas if transparent else canvas[..., :3]


def composite_light(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A drawing saved from a light-themed drawing app: black ink on white, RGB: read by brightness."""
    return _drawn(digit, rng, 255, (0, 0, 0), transparent=False)


def layer_rgba(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A drawing saved as a transparent PNG (black ink, clear paper): composited onto white."""
    return _drawn(digit, rng, 255, (0, 0, 0), transparent=True)


def dark_theme(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A screenshot of a dark-themed drawing app (#333333 paper) with a random light ink colour."""
    colour = tuple(int(c) for c in rng.integers(150, 256, size=3))
    return _drawn(digit, rng, DARK_THEME, colour, transparent=False)


def photo_upload(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """A phone photo of pencil on paper: lighting gradient, noise, JPEG, stored rotated with an EXIF tag."""
    size = 640
    ink = np.zeros((size, size), np.float32)
    small, y, x = _placed_ink(digit, rng, size)
    ink[y : y + small.shape[0], x : x + small.shape[1]] = small
    yy, xx = np.mgrid[0:size, 0:size] / size
    angle = rng.uniform(0, 2 * np.pi)
    paper = rng.uniform(0.75, 0.92) - 0.18 * (np.cos(angle) * xx + np.sin(angle) * yy)  # light falls off
    pencil = rng.uniform(0.15, 0.35)
    grey = paper * (1 - ink) + pencil * ink + rng.normal(0, 0.02, ink.shape)
    img = Image.fromarray(np.clip(grey * 255, 0, 255).astype(np.uint8)).convert("RGB")
    # Stored as a camera would: pixels rotated, an EXIF orientation tag that undoes it (6: rotate 90 CW to view).
    stored = img.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    stored.save(buf, "JPEG", quality=int(rng.integers(70, 90)), exif=exif)
    return buf.getvalue()


VARIANTS: dict[str, Callable[[np.ndarray, np.random.Generator], np.ndarray | bytes]] = {
    "composite_light": composite_light,
    "layer_rgba": layer_rgba,
    "dark_theme": dark_theme,
    "photo_upload": photo_upload,
}


def redrawn_accuracy(
    predictor, images: np.ndarray, labels: np.ndarray, variant: str, seed: int = 0, variants: dict | None = None
) -> float:
    """Accuracy of `predictor` on MNIST digits rendered as `variant` of `variants` (default: these; also
    oddimages.VARIANTS), through the full preprocessing."""
    render = (variants or VARIANTS)[variant]
    rng = np.random.default_rng(seed)
    correct = 0
    for start in range(0, len(images), 250):
        batch = [render(d, rng) for d in images[start : start + 250]]
        preds = predictor.predict_batch(batch)
        correct += sum(p.digit == int(y) for p, y in zip(preds, labels[start : start + 250], strict=True))
    return correct / len(images)
