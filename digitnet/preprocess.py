"""Turn any drawing or upload into what MNIST looks like: white ink on black, 28x28, centred by mass.

The steps, in order:

1. Decode. File paths, bytes, PIL images and numpy arrays are accepted. Files are opened with Pillow,
   limited to raster formats, checked from the header against a pixel limit and a limit on their decoded size
   before decoding (a decompression-bomb warning is an error), EXIF-rotated, first frame only. A large image
   (over BIG_DECODE bytes decoded) is decoded one at a time in the whole process and reduced strip by strip right
   after decoding, so that a request holds little more than the decoded image itself. Transparent images are
   composited onto white; CMYK, palette, 16-bit and float images become grey in [0, 1]. A drawing from the app's
   pad is already ink (digitnet/drawing.py renders it): `preprocess_ink` takes it straight to step 4.
2. Polarity. The border of an image is mostly background: if it is light, the ink is dark, and the
   image is inverted so that ink is bright.
3. Background. Uneven lighting and paper texture are removed by subtracting a background estimate (a
   morphological opening of the image at 32x32, i.e. wider than a pen stroke, scaled back up bilinearly; or,
   where that would eat strokes wider than its window, as a thick marker's, a quadratic surface fitted to the
   paper, the lower half of the image), then everything below the noise floor of the border is set to zero,
   isolated specks are removed (3x3 median) and so are the soft edges of strokes (ink below HALO of the
   strongest: the halo of a blurred or enlarged low-resolution digit). These steps only run on images of 64
   pixels or more: a small image such as a 28x28 MNIST digit has strokes too thin for them (it only gets the
   noise floor).
4. Geometry, as MNIST was made: the bounding box of the ink is scaled (anti-aliased, aspect ratio
   kept) to fit 20x20 and placed in a 28x28 frame with its centre of mass at the centre; in an image of 64
   pixels or more the strokes are then brought to full strength as MNIST's are (the median ink pixel scaled to 1).

The result is float32 in [0, 1]; the models apply their own normalisation.
"""

from __future__ import annotations

import io
import math
import os
import threading
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError

FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF", "PPM", "TGA", "ICO")  # raster only: no EPS, PDF, SVG
MAX_PIXELS = 25_000_000  # larger images are refused before they are decoded
MAX_DECODED = 64 * 2**20  # bytes Pillow needs for the decoded image: 16 megapixels in colour, 25 in grey
BIG_DECODE = 16 * 2**20  # images larger than this when decoded are decoded one at a time, then reduced
MIN_SIDE = 8
WORK_SIDE = 256  # images are shrunk to at most this before analysis: plenty for a 20x20 result
CENTRE = 14.0  # MNIST's centres of mass sit at pixel (14, 14), measured on its test set
TRIM = 0.002  # share of the ink's mass that may fall outside the bounding box at each side
MIN_CONTRAST = 0.08  # ink must stand out from the background by this much (of full scale)
LARGE = 64  # images this large (px, longer side) get the background steps and saturated strokes
STRONG, KEEP = 0.3, 0.9  # when the opening eats strokes (see _large_ink)
HALO = 0.2  # in images of 64 px or more, ink below this share of the strongest ink is a stroke's soft edge


class InputError(ValueError):
    """The input cannot be turned into a digit image; the message says why."""


class EmptyImage(InputError):
    """Nothing is drawn (blank canvas, uniform image)."""

    def __init__(self, message: str = "nothing drawn: the image is blank") -> None:
        super().__init__(message)


# --- 1. decoding --------------------------------------------------------------------------------------------

_BIG = threading.BoundedSemaphore(1)  # one large decode at a time in the whole process (see BIG_DECODE)
# Bytes per pixel of Pillow's decoded image by mode (RGB is stored in 4 bytes, like RGBA).
_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}
_ORIENT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}  # fmt: skip


def decoded_bytes(img: Image.Image) -> int:
    """Memory Pillow takes for the decoded image (from the header: size and mode)."""
    return img.width * img.height * _BYTES.get(img.mode, 4)


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
            size = decoded_bytes(img)
            if size > MAX_DECODED:
                raise InputError(
                    f"{name} is {img.width}x{img.height} pixels in mode {img.mode}, {size / 2**20:.0f} MB once "
                    f"decoded; the limit is {MAX_DECODED / 2**20:.0f} MB (e.g. 4000x4000 pixels in colour)"
                )
            if size <= BIG_DECODE:
                img.load()
                return ImageOps.exif_transpose(img)
            orientation = img.getexif().get(0x0112, 1)
            with _BIG:
                img.load()
                small = _reduced(img)
            del img
            return small.transpose(_ORIENT[orientation]) if orientation in _ORIENT else small
    except InputError:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as e:
        raise InputError(f"{name} has too many pixels ({e})") from e
    except UnidentifiedImageError as e:
        raise InputError(f"{name} is not an image in a supported format ({', '.join(FORMATS)})") from e
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise InputError(f"{name} could not be decoded, it may be truncated or corrupt ({e})") from e


def _reduced(img: Image.Image) -> Image.Image:
    """A large decoded image reduced by an integer factor to at least WORK_SIDE, strip by strip: each strip is
    converted (palette, 1-bit and 16-bit to modes that reduce) and box-averaged on its own, so no full-size copy
    is ever made."""
    factor = max(1, max(img.size) // WORK_SIDE)
    if img.mode in ("1", "L", "LA", "RGB", "RGBA", "CMYK", "I", "F"):
        mode = img.mode
    elif img.mode == "P":
        mode = "RGBA" if "transparency" in img.info else "RGB"
    elif img.mode.startswith("I;16"):
        mode = "I"
    else:
        mode = "RGBA" if "A" in img.mode or "a" in img.mode else "RGB"
    mode = "L" if mode == "1" else mode
    width, height = math.ceil(img.width / factor), math.ceil(img.height / factor)
    out = Image.new(mode, (width, height))
    rows = factor * max(1, 2**20 // (img.width * 4 * factor))  # strips of about 1 MB, a whole number of blocks
    for top in range(0, img.height, rows):
        strip = img.crop((0, top, img.width, min(img.height, top + rows)))
        if strip.mode != mode:
            strip = strip.convert(mode)
        out.paste(strip.reduce(factor), (0, top // factor))
    out.info = {k: v for k, v in img.info.items() if k != "transparency"}
    return out


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


def _opening(ink: np.ndarray) -> np.ndarray:
    """A local background level: an opening (min, then max filter, 7 px) of the image at 32x32, scaled back up."""
    h, w = ink.shape
    small = Image.fromarray(ink, mode="F").resize((32, 32), Image.Resampling.BOX)
    opened = small.filter(ImageFilter.MinFilter(7)).filter(ImageFilter.MaxFilter(7))
    return np.asarray(opened.resize((w, h), Image.Resampling.BILINEAR), dtype=np.float32)


def _surface(h: int, w: int) -> np.ndarray:
    """The terms of a quadratic surface (1, x, y, x^2, xy, y^2) on an h x w grid, coordinates in [-1, 1]."""
    y, x = np.mgrid[-1 : 1 : h * 1j, -1 : 1 : w * 1j]
    return np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], -1).reshape(-1, 6).astype(np.float32)


def _paper_level(ink: np.ndarray) -> np.ndarray:
    """The paper's level: a quadratic surface fitted to the paper of the image at 32x32 (lighting falls off smoothly).

    The paper is the lower half of the image after each fit (three fits): ink, however thick its strokes, is never
    taken for paper as long as it covers less than half of the image."""
    h, w = ink.shape
    small = np.asarray(Image.fromarray(ink, mode="F").resize((32, 32), Image.Resampling.BOX), np.float64).ravel()
    terms = _surface(32, 32).astype(np.float64)
    paper = small <= np.median(small)
    for _ in range(3):
        coef = np.linalg.lstsq(terms[paper], small[paper], rcond=None)[0]
        residual = small - terms @ coef
        paper = residual <= np.median(residual)
    return (_surface(h, w) @ coef.astype(np.float32)).reshape(h, w)


def ink_map(image) -> np.ndarray:
    """The ink of any accepted input: float32 in [0, 1], 1 = ink, background exactly 0. Raises EmptyImage."""
    return _clean(_gray(image), is_ink=False)


def _clean(a: np.ndarray, is_ink: bool) -> np.ndarray:
    _check_size(a.shape[1], a.shape[0])
    a = _shrink(np.ascontiguousarray(a, dtype=np.float32), WORK_SIDE)
    if not is_ink:
        if np.median(_border(a)) > 0.5:
            a = 1.0 - a
        # photos and canvases; a small image (e.g. 28x28) has no room for the background steps
        a = _large_ink(a) if max(a.shape) >= LARGE else _above_floor(a)
    peak = float(a.max())
    if peak < MIN_CONTRAST:
        raise EmptyImage()
    return np.clip(a / peak, 0.0, 1.0)


def _above_floor(a: np.ndarray) -> np.ndarray:
    """Everything below the border's noise floor set to zero."""
    border = _border(a)
    floor = np.median(border) + 4 * np.median(np.abs(border - np.median(border))) + 0.02
    return np.clip(a - floor, 0.0, None)


def _large_ink(a: np.ndarray) -> np.ndarray:
    """The ink of an image of LARGE px or more (bright on dark): background, noise floor, specks, soft edges.

    The background is a local level (an opening) unless that visibly eats the strokes: an opening takes strokes
    wider than its window for background, and a thick marker digit filling its frame keeps only the rims of its
    strokes. When the ink stands out clearly (STRONG) above the smooth paper level (a fitted surface) and the
    opening keeps less than KEEP of that ink, the paper level is used instead. Thin strokes on paper, drawings
    and textured photos keep the opening, whose result they had before."""
    local = _despeckled(_above_floor(a - _opening(a)))
    smooth = _despeckled(_above_floor(a - _paper_level(a)))
    strong = smooth.max() >= STRONG and local.sum() < KEEP * smooth.sum()
    ink = smooth if strong else local
    if ink.max() < MIN_CONTRAST:
        raise EmptyImage()
    return np.clip(ink - HALO * ink.max(), 0.0, None) / (1 - HALO)  # soft edges of blurred or enlarged strokes


def _despeckled(a: np.ndarray) -> np.ndarray:
    """Isolated specks of paper texture or JPEG noise removed (3x3 median; strokes are wider than 3 px here)."""
    return np.asarray(Image.fromarray(a, mode="F").filter(ImageFilter.MedianFilter(3)), dtype=np.float32)


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
    ink = ink_map(image)
    x = mnist_geometry(ink)
    return _saturated(x) if max(ink.shape) >= LARGE else x


def _saturated(x: np.ndarray) -> np.ndarray:
    """Strokes at full strength, as MNIST's are: the 28x28 input scaled so that the median ink pixel is 1.

    A blurred or enlarged low-resolution image keeps only a few pixels at full strength after step 3; drawings
    and photos of a pen's strokes are nearly saturated along them already, so they hardly change."""
    ink = x[x > 0.05]
    return np.clip(x / np.median(ink), 0.0, 1.0) if ink.size > 5 else x


def grey_levels(image: np.ndarray) -> np.ndarray:
    """Images in [0, 1] as the 0-255 grey levels the page shows them with (int16, same shape)."""
    return np.round(255 * np.clip(image, 0, 1)).astype(np.int16)
