"""Turn any drawing or upload into what MNIST looks like: white ink on black, 28x28, centred by mass.

The steps, in order:

1. Decode. File paths, bytes, PIL images and numpy arrays are accepted. Files are opened with Pillow,
   limited to raster formats, checked against a pixel limit before decoding (a decompression-bomb
   warning is an error), EXIF-rotated, first frame only. Transparent images are composited onto white;
   CMYK, palette, 16-bit and float images become grey in [0, 1]. A drawing from the app's pad is
   already ink (digitnet/drawing.py renders it): `preprocess_ink` takes it straight to step 4.
2. Polarity. The border of an image is mostly background: if it is light, the ink is dark, and the
   image is inverted so that ink is bright.
3. Background. Uneven lighting and paper texture are removed by subtracting a background estimate
   (a morphological opening of the image at 32x32, i.e. wider than any pen stroke,
   scaled back up bilinearly), then everything below the noise floor of the border is set to zero and
   isolated specks are removed (3x3 median). Background and specks are only handled in images of 64
   pixels or more: a small image such as a 28x28 MNIST digit has strokes too thin for either step.
4. Geometry, as MNIST was made: the bounding box of the ink is scaled (anti-aliased, aspect ratio
   kept) to fit 20x20 and placed in a 28x28 frame with its centre of mass at the centre.

The result is float32 in [0, 1]; the models apply their own normalisation.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError

FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF", "PPM", "TGA", "ICO")  # raster only: no EPS, PDF, SVG
MAX_PIXELS = 25_000_000  # larger images are refused before they are decoded
MIN_SIDE = 8
WORK_SIDE = 256  # images are shrunk to at most this before analysis: plenty for a 20x20 result
CENTRE = 14.0  # MNIST's centres of mass sit at pixel (14, 14), measured on its test set
TRIM = 0.002  # share of the ink's mass that may fall outside the bounding box at each side
MIN_CONTRAST = 0.08  # ink must stand out from the background by this much (of full scale)


class InputError(ValueError):
    """The input cannot be turned into a digit image; the message says why."""


class EmptyImage(InputError):
    """Nothing is drawn (blank canvas, uniform image)."""

    def __init__(self, message: str = "nothing drawn: the image is blank") -> None:
        super().__init__(message)


# --- 1. decoding --------------------------------------------------------------------------------------------


def _open(source) -> Image.Image:
    """A decoded, EXIF-rotated first frame of an image file, path or bytes."""
    name = "the image"
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        name = path.name
        if not path.is_file():
            raise InputError(f"{name}: no such file")
        if path.stat().st_size == 0:
            raise InputError(f"{name}: the file is empty")
        source = path
    elif isinstance(source, (bytes, bytearray)):
        if not source:
            raise InputError("the file is empty")
        source = io.BytesIO(source)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(source, formats=FORMATS)
            if img.width * img.height > MAX_PIXELS:
                raise InputError(f"{name} is {img.width}x{img.height} pixels; the limit is {MAX_PIXELS:,} pixels")
            img.seek(0)  # first frame of an animation
            if img.format == "JPEG":
                img.draft(img.mode if img.mode in ("L", "RGB") else None, (2 * WORK_SIDE, 2 * WORK_SIDE))
            img.load()
            return ImageOps.exif_transpose(img)
    except InputError:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as e:
        raise InputError(f"{name} has too many pixels ({e})") from e
    except UnidentifiedImageError as e:
        raise InputError(f"{name} is not an image in a supported format ({', '.join(FORMATS)})") from e
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise InputError(f"{name} could not be decoded, it may be truncated or corrupt ({e})") from e


def _composite_on_white(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    return rgb * alpha[..., None] + (1.0 - alpha[..., None])


def _pil_to_gray(img: Image.Image) -> np.ndarray:
    """Grey levels in [0, 1] (1 = white); transparency composited onto white."""
    _check_size(img.width, img.height)  # before any shrink, so the message names the real size
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        a = np.asarray(img, dtype=np.float32)
        return _array_to_gray(a if img.mode == "F" else a / (65535.0 if a.max() > 255 else 255.0))
    if img.mode == "P" and "transparency" in img.info or img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        img = _shrink_pil(img.convert("RGBA"))
        img = Image.alpha_composite(Image.new("RGBA", img.size, "white"), img)
    return np.asarray(_shrink_pil(img.convert("L")), dtype=np.float32) / 255.0


def _shrink_pil(img: Image.Image) -> Image.Image:
    """Anti-aliased shrink to at most WORK_SIDE (cheap on 8-bit images, before any float work)."""
    scale = WORK_SIDE / max(img.size)
    if scale >= 1:
        return img
    return img.resize(_shrunk_size(img.width, img.height, scale), Image.Resampling.BOX)


def _shrunk_size(width: int, height: int, scale: float) -> tuple[int, int]:
    """Scaled size; a very thin image keeps at least MIN_SIDE pixels across."""
    return max(min(MIN_SIDE, width), round(width * scale)), max(min(MIN_SIDE, height), round(height * scale))


def _check_size(width: int, height: int) -> None:
    if min(width, height) < MIN_SIDE:
        raise InputError(f"the image is {width}x{height} pixels; it needs at least {MIN_SIDE}x{MIN_SIDE}")


def _luma(rgb: np.ndarray) -> np.ndarray:
    return rgb @ np.array([0.299, 0.587, 0.114], np.float32)


def _array_to_gray(a: np.ndarray) -> np.ndarray:
    """A numpy image (2-D, or H x W x 1/3/4; uint8, integer, bool or float) as grey levels in [0, 1]."""
    a = np.asarray(a)
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise InputError(f"an image array must hold numbers, not {a.dtype}")
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
        raise InputError(f"an image array must be H x W or H x W x 1/3/4, not {'x'.join(map(str, a.shape))}")
    if a.dtype == bool:
        a = a.astype(np.float32)
    elif np.issubdtype(a.dtype, np.integer):
        if a.min(initial=0) < 0 or a.max(initial=0) > 65535:
            raise InputError("integer image values must lie in [0, 255] or [0, 65535]")
        top = 255.0 if a.dtype == np.uint8 or a.max(initial=0) <= 255 else 65535.0
        a = a.astype(np.float32) / top
    else:
        if not np.isfinite(a).all():
            raise InputError("the image array contains NaN or infinite values")
        if a.min(initial=0) < 0 or a.max(initial=0) > 255:
            raise InputError("float image values must lie in [0, 1] or [0, 255]")
        a = a.astype(np.float32)
        if a.max(initial=0) > 1:
            a = a / 255.0
    a = np.clip(a, 0.0, 1.0)
    if a.ndim == 3:
        a = _composite_on_white(a[..., :3], a[..., 3]) if a.shape[2] == 4 else a
        a = _luma(a)
    return a


def _gray(image) -> np.ndarray:
    """Grey levels in [0, 1] (1 = white) of any accepted image."""
    if isinstance(image, (str, os.PathLike, bytes, bytearray)):
        image = _open(image)
    if isinstance(image, Image.Image):
        return _pil_to_gray(image)
    if isinstance(image, np.ndarray) or isinstance(image, (list, tuple)):
        a = np.asarray(image)
        if a.dtype == np.uint8 and (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (3, 4))):
            return _pil_to_gray(Image.fromarray(a))  # fast path for 8-bit images
        return _array_to_gray(a)
    raise InputError(f"cannot read an image from {type(image).__name__}")


# --- 2-3. polarity and background -----------------------------------------------------------------------------


def _shrink(a: np.ndarray, side: int) -> np.ndarray:
    h, w = a.shape
    scale = side / max(h, w)
    if scale >= 1:
        return a
    size = _shrunk_size(w, h, scale)
    return np.asarray(Image.fromarray(a, mode="F").resize(size, Image.Resampling.BOX), dtype=np.float32)


def _border(a: np.ndarray) -> np.ndarray:
    return np.concatenate([a[0], a[-1], a[1:-1, 0], a[1:-1, -1]])


def _background(ink: np.ndarray) -> np.ndarray:
    """A smooth estimate of the background level: an opening (min then max filter) at 1/32 scale."""
    h, w = ink.shape
    small = Image.fromarray(ink, mode="F").resize((32, 32), Image.Resampling.BOX)
    opened = small.filter(ImageFilter.MinFilter(7)).filter(ImageFilter.MaxFilter(7))
    return np.asarray(opened.resize((w, h), Image.Resampling.BILINEAR), dtype=np.float32)


def ink_map(image) -> np.ndarray:
    """The ink of any accepted input: float32 in [0, 1], 1 = ink, background exactly 0. Raises EmptyImage."""
    return _clean(_gray(image), is_ink=False)


def _clean(a: np.ndarray, is_ink: bool) -> np.ndarray:
    _check_size(a.shape[1], a.shape[0])
    a = _shrink(np.ascontiguousarray(a, dtype=np.float32), WORK_SIDE)
    if not is_ink:
        if np.median(_border(a)) > 0.5:
            a = 1.0 - a
        large = max(a.shape) >= 64  # photos and canvases; a small image (e.g. 28x28) has no room for either step
        if large:
            a = a - _background(a)
        border = _border(a)
        floor = np.median(border) + 4 * np.median(np.abs(border - np.median(border))) + 0.02
        a = np.clip(a - floor, 0.0, None)
        if large:  # isolated specks of paper texture or JPEG noise; strokes are wider than 3 px here
            a = np.asarray(Image.fromarray(a, mode="F").filter(ImageFilter.MedianFilter(3)), dtype=np.float32)
    peak = float(a.max())
    if peak < MIN_CONTRAST:
        raise EmptyImage()
    return np.clip(a / peak, 0.0, 1.0)


# --- 4. MNIST geometry ------------------------------------------------------------------------------------------


def _span(profile: np.ndarray) -> tuple[int, int]:
    """Where the ink's mass lies along one axis, leaving out at most TRIM of it at each end."""
    c = np.cumsum(profile) / profile.sum()
    return int(np.searchsorted(c, TRIM, side="right")), int(np.searchsorted(c, 1 - TRIM)) + 1


def _bbox(ink: np.ndarray) -> tuple[int, int, int, int]:
    """The ink's bounding box without an intensity threshold; faint specks far away (TRIM of the mass) don't count."""
    (y0, y1), (x0, x1) = _span(ink.sum(1)), _span(ink.sum(0))
    return y0, y1, x0, x1


def mnist_geometry(ink: np.ndarray) -> np.ndarray:
    """Fit the ink's bounding box into 20x20 (aspect kept, anti-aliased) and centre its mass in 28x28."""
    y0, y1, x0, x1 = _bbox(ink)
    crop = ink[y0:y1, x0:x1]
    h, w = crop.shape
    scale = 20.0 / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    small = Image.fromarray(crop, mode="F").resize((nw, nh), Image.Resampling.LANCZOS, reducing_gap=3.0)
    small = np.clip(np.asarray(small, dtype=np.float32), 0.0, 1.0)
    mass = small.sum()
    if mass <= 0:
        raise EmptyImage()
    cy = (small.sum(1) @ np.arange(nh)) / mass
    cx = (small.sum(0) @ np.arange(nw)) / mass
    oy = int(np.clip(round(CENTRE - cy), 0, 28 - nh))
    ox = int(np.clip(round(CENTRE - cx), 0, 28 - nw))
    out = np.zeros((28, 28), np.float32)
    out[oy : oy + nh, ox : ox + nw] = small
    return out / out.max()


def preprocess_ink(ink: np.ndarray) -> np.ndarray:
    """Ink already apart from the paper (a drawing's opacity, float in [0, 1], 1 = ink) -> the 28x28 input."""
    return mnist_geometry(_clean(np.asarray(ink, np.float32), is_ink=True))


def preprocess(image) -> np.ndarray:
    """Any drawing or upload -> the network's 28x28 input (float32 in [0, 1], white ink on black).

    Raises EmptyImage when nothing is drawn and InputError, with a message for the user, for bad input.
    """
    return mnist_geometry(ink_map(image))
