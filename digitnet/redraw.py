"""Re-drawn MNIST: a test digit rendered the way a drawing or an upload reaches the app.

Each variant takes a 28x28 uint8 MNIST digit (white on black) and a numpy Generator and returns
what the app would hand to `preprocess`: a Gradio sketchpad value (800x800 canvas, the digit
scaled up at a random size and position) or the bytes of an uploaded photo-like JPEG.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
from PIL import Image

CANVAS = 800
DARK_THEME = 0x33  # the sketchpad's empty canvas in Gradio's dark theme is #333333


def _placed_ink(digit: np.ndarray, rng: np.random.Generator, canvas: int = CANVAS) -> np.ndarray:
    """The digit's ink (float in [0, 1]) scaled up to a random size at a random place on the canvas."""
    side = int(rng.integers(canvas // 4, canvas * 3 // 4))
    big = Image.fromarray(digit).resize((side, side), Image.Resampling.BICUBIC)
    y, x = rng.integers(0, canvas - side, size=2)
    ink = np.zeros((canvas, canvas), np.float32)
    ink[y : y + side, x : x + side] = np.asarray(big, dtype=np.float32) / 255.0
    return np.clip(ink, 0.0, 1.0)


def _rgba(colour: tuple[int, int, int], alpha: np.ndarray) -> np.ndarray:
    out = np.empty((*alpha.shape, 4), np.uint8)
    out[..., :3] = colour
    out[..., 3] = np.round(alpha * 255)
    return out


def _over(background: int, colour: tuple[int, int, int], alpha: np.ndarray) -> np.ndarray:
    """The composite the sketchpad sends: the brush colour over a uniform canvas, opaque RGBA."""
    rgb = background * (1 - alpha[..., None]) + np.array(colour, np.float32) * alpha[..., None]
    return np.dstack([np.round(rgb), np.full_like(alpha, 255)]).astype(np.uint8)


def composite_light(digit: np.ndarray, rng: np.random.Generator) -> dict:
    """Light theme, black brush, the composite only (no layers): read by brightness."""
    ink = _placed_ink(digit, rng)
    return {"background": None, "layers": [], "composite": _over(255, (0, 0, 0), ink)}


def layer_rgba(digit: np.ndarray, rng: np.random.Generator) -> dict:
    """Light theme, black brush, a transparent RGBA drawing layer: read from its alpha."""
    ink = _placed_ink(digit, rng)
    return {"background": _over(255, (0, 0, 0), np.zeros_like(ink)), "layers": [_rgba((0, 0, 0), ink)],
            "composite": _over(255, (0, 0, 0), ink)}  # fmt: skip


def dark_theme(digit: np.ndarray, rng: np.random.Generator) -> dict:
    """Dark theme (#333333 canvas) with a random brush colour: only the layer's alpha tells the ink."""
    ink = _placed_ink(digit, rng)
    colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
    return {"background": _over(DARK_THEME, colour, np.zeros_like(ink)), "layers": [_rgba(colour, ink)],
            "composite": _over(DARK_THEME, colour, ink)}  # fmt: skip


def photo_upload(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """A phone photo of pencil on paper: lighting gradient, noise, JPEG, stored rotated with an EXIF tag."""
    size = 640
    ink = _placed_ink(digit, rng, size)
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
