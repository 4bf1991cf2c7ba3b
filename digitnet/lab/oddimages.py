"""Odd but real images (issue 13): MNIST test digits as low-resolution, upscaled, blurred, thumbnail-sized and
frame-filling thick-stroked pictures, as scans, photos and thumbnails of real digits arrive.

Each variant takes a 28x28 uint8 MNIST digit (white on black) and a numpy Generator and returns what the app
would hand to `preprocess`: an 8-bit grey image of dark ink on light paper (as `redraw.py`'s variants do). The
shipped `cnn` must read each within 2 points of its accuracy on the original digits (tests/test_odd_images.py;
benchmarks/redrawn_mnist.py --odd runs all 10,000).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image, ImageFilter

BLUR = (0.03, 0.05)  # Gaussian sigma as a share of the picture's side (the digit is about 70% of it)
UPSCALE = (Image.Resampling.NEAREST, Image.Resampling.BILINEAR, Image.Resampling.BICUBIC, Image.Resampling.LANCZOS)


def _paper(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Ink (float, 1 = ink) as dark ink on light paper, 8-bit, with a random ink and paper shade."""
    paper, pen = rng.uniform(0.85, 1.0), rng.uniform(0.0, 0.25)
    return np.round(255 * (paper - (paper - pen) * np.clip(ink, 0, 1))).astype(np.uint8)


def _image(digit: np.ndarray) -> Image.Image:
    return Image.fromarray(np.asarray(digit, np.uint8))


def _ink(img: Image.Image) -> np.ndarray:
    return np.asarray(img, np.float32) / 255.0


def _low_res(digit: np.ndarray, rng: np.random.Generator, filters) -> np.ndarray:
    """The digit shrunk to 8-16 px (MNIST's 20x20 ink box; the 28x28 frame to 11-22 px), then scaled up to
    64-320 px with one of `filters`."""
    low = round(int(rng.integers(8, 17)) * 28 / 20)
    small = _image(digit).resize((low, low), Image.Resampling.BOX)
    side = int(rng.integers(64, 321))
    return _paper(_ink(small.resize((side, side), filters[int(rng.integers(len(filters)))])), rng)


def low_res_blocky(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A digit captured 8-16 px tall and enlarged without smoothing (nearest neighbour): big square pixels."""
    return _low_res(digit, rng, UPSCALE[:1])


def low_res_smooth(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A digit captured 8-16 px tall and enlarged smoothly (bilinear, bicubic or Lanczos): soft, blurry strokes."""
    return _low_res(digit, rng, UPSCALE[1:])


def heavy_blur(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A digit out of focus: enlarged to 96-256 px and blurred (Gaussian, sigma 3-5% of the side): strokes about
    1.3-1.7x as wide, their edges gone."""
    side = int(rng.integers(96, 257))
    big = _image(digit).resize((side, side), Image.Resampling.BICUBIC)
    blurred = big.filter(ImageFilter.GaussianBlur(side * rng.uniform(BLUR[0], BLUR[1])))
    ink = _ink(blurred)
    return _paper(ink / max(float(ink.max()), 1e-6), rng)


def thick_marker(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A marker digit filling a small frame: strokes thickened to 15-20% of the digit's height (MNIST's are about
    10%), cropped tight (0-6% margin), 40-160 px tall."""
    side = 140
    big = _image(digit).resize((side, side), Image.Resampling.BICUBIC)
    grow = int(rng.choice([5, 7, 9]))  # dilation width in px at 140 px (the digit is ~100 px tall)
    thick = big.filter(ImageFilter.MaxFilter(grow)).filter(ImageFilter.GaussianBlur(1.5))
    return _paper(_fit(_tight(_ink(thick), rng, 0.0, 0.06), int(rng.integers(40, 161))), rng)


def tight_crop(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A digit cropped to its ink with no margin (or up to 3%), as a small picture 20-60 px tall."""
    big = _image(digit).resize((112, 112), Image.Resampling.BICUBIC)
    return _paper(_fit(_tight(_ink(big), rng, 0.0, 0.03), int(rng.integers(20, 61))), rng)


def thumbnail(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The whole frame as a thumbnail of 12-20 px, not enlarged (MNIST itself is 28 px)."""
    side = int(rng.integers(12, 21))
    return _paper(_ink(_image(digit).resize((side, side), Image.Resampling.LANCZOS)), rng)


def _fit(ink: np.ndarray, side: int) -> np.ndarray:
    """Ink resized (bilinear, aspect kept) so that its longer side is `side` px; the other at least 8."""
    h, w = ink.shape
    scale = side / max(h, w)
    size = (max(8, round(w * scale)), max(8, round(h * scale)))
    return _ink(Image.fromarray(np.round(ink * 255).astype(np.uint8)).resize(size, Image.Resampling.BILINEAR))


def _tight(ink: np.ndarray, rng: np.random.Generator, low: float, high: float) -> np.ndarray:
    """The ink's bounding box (above 10%) with a random margin between low and high of its size, on no ink."""
    rows, cols = np.nonzero((ink > 0.1).any(1))[0], np.nonzero((ink > 0.1).any(0))[0]
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    m = int(round(max(crop.shape) * rng.uniform(low, high)))
    return np.pad(crop, m)


VARIANTS: dict[str, Callable[[np.ndarray, np.random.Generator], np.ndarray]] = {
    "low_res_blocky": low_res_blocky,
    "low_res_smooth": low_res_smooth,
    "heavy_blur": heavy_blur,
    "thick_marker": thick_marker,
    "tight_crop": tight_crop,
    "thumbnail": thumbnail,
}
