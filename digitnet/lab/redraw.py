"""Re-drawn MNIST: a test digit rendered the way a drawing or an upload reaches the app.

Each variant takes a 28x28 uint8 MNIST digit (white on black) and a numpy Generator and returns
what the app would hand to `preprocess`: a Gradio sketchpad value (the app's 280x280 canvas, the digit
scaled up at a random size and position) or the bytes of an uploaded photo-like JPEG.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
from PIL import Image

from digitnet.views import CANVAS

DARK_THEME = 0x33  # the sketchpad's empty canvas in Gradio's dark theme is #333333


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


def _sketchpad(digit: np.ndarray, rng: np.random.Generator, bg: int, colour, with_layer: bool) -> dict:
    ink, y, x = _placed_ink(digit, rng)
    composite = _canvas((bg, bg, bg, 255))
    _draw(composite, ink, y, x, colour, layer=False)
    if not with_layer:
        return {"background": None, "layers": [], "composite": composite}
    layer = _canvas((0, 0, 0, 0))
    _draw(layer, ink, y, x, colour, layer=True)
    return {"background": _canvas((bg, bg, bg, 255)), "layers": [layer], "composite": composite}


def composite_light(digit: np.ndarray, rng: np.random.Generator) -> dict:
    """Light theme, black brush, the composite only (no layers): read by brightness."""
    return _sketchpad(digit, rng, 255, (0, 0, 0), with_layer=False)


def layer_rgba(digit: np.ndarray, rng: np.random.Generator) -> dict:
    """Light theme, black brush, a transparent RGBA drawing layer: read from its alpha."""
    return _sketchpad(digit, rng, 255, (0, 0, 0), with_layer=True)


def dark_theme(digit: np.ndarray, rng: np.random.Generator) -> dict:
    """Dark theme (#333333 canvas) with a random brush colour: only the layer's alpha tells the ink."""
    colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
    return _sketchpad(digit, rng, DARK_THEME, colour, with_layer=True)


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


VARIANTS: dict[str, Callable[[np.ndarray, np.random.Generator], dict | bytes]] = {
    "composite_light": composite_light,
    "layer_rgba": layer_rgba,
    "dark_theme": dark_theme,
    "photo_upload": photo_upload,
}


def redrawn_accuracy(predictor, images: np.ndarray, labels: np.ndarray, variant: str, seed: int = 0) -> float:
    """Accuracy of `predictor` on MNIST digits re-drawn as `variant`, through the full preprocessing."""
    rng = np.random.default_rng(seed)
    correct = 0
    for start in range(0, len(images), 250):
        batch = [VARIANTS[variant](d, rng) for d in images[start : start + 250]]
        preds = predictor.predict_batch(batch)
        correct += sum(p.digit == int(y) for p, y in zip(preds, labels[start : start + 250], strict=True))
    return correct / len(images)
