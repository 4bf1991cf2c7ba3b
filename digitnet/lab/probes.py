"""Probe sets: families of non-digit images, generated deterministically from a seed, nothing downloaded.

Every family renders a larger image (RENDER x RENDER) and sends it through `digitnet.preprocess.preprocess`,
exactly as a user's drawing or upload goes, so the network sees what it would see in the app. The doodles
(digitnet/lab/doodles.py) are drawn as a visitor draws on the app's pad instead: strokes rendered by
`digitnet.drawing.render` on its CANVAS x CANVAS sheet with a pen 8-24 px wide, then `preprocess_ink`, the path of
every drawing in the app.
The one exception is `uniform_noise_x1.5` (Hein et al. 2019): 28x28 uniform noise multiplied by 1.5, i.e.
outside [0, 1], which preprocessing can never produce; it probes the network itself, not the app.

Families with `train=True` may be used for outlier exposure and for choosing a score; the others are
held out for evaluation only (Latin letters in fonts never used in training, Greek letters and symbols
never used in training, letters and symbols drawn with straight pen strokes, photo crops, textures,
scaled noise, and doodles of other kinds than the training doodles: TRAIN_DOODLES / HELDOUT_DOODLES).

Glyphs that look like digits are not fair non-digits and are never drawn (see LOOKS_LIKE_A_DIGIT);
neither are circle outlines (a 0) nor near-vertical single lines (a 1).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
import skimage
import torch
from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFont

from digitnet.drawing import render
from digitnet.lab.doodles import DOODLES, HELDOUT_DOODLES, TRAIN_DOODLES, doodle_strokes
from digitnet.preprocess import InputError, preprocess, preprocess_ink

RENDER = 112
FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
SKIMAGE_DATA = Path(skimage.__file__).parent / "data"

# Fonts shipped with matplotlib. Training fonts and held-out fonts never overlap.
TRAIN_FONTS = (
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf",
    "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf",
    "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf",
)  # fmt: skip
HELDOUT_FONTS = (
    "STIXGeneral.ttf", "STIXGeneralBol.ttf", "STIXGeneralItalic.ttf", "STIXGeneralBolIta.ttf",
    "cmr10.ttf", "cmb10.ttf", "cmti10.ttf", "cmss10.ttf", "cmtt10.ttf",
)  # fmt: skip
# Glyphs never used in training, drawn in a training font and in a held-out one.
UNSEEN_SYMBOL_FONTS = ("DejaVuSans.ttf", "STIXGeneral.ttf")

# Glyphs a person could fairly read as a digit: never drawn as a "non-digit".
LOOKS_LIKE_A_DIGIT = {
    "0": "OoQDθΘφΦ∅οΟσ", "1": "IilLj|!/\\()[]{}ιΙ↑↓∫", "2": "Zzζ", "3": "∃ʒξ", "4": "", "5": "Ss§$",
    "6": "bGδ∂", "7": "", "8": "B&∞β", "9": "gqρ♪",
}  # fmt: skip
LATIN = "".join(c for c in "ACEFHJKMNPRTUVWXYacdefhkmnprtuvwxy" if not any(c in v for v in LOOKS_LIKE_A_DIGIT.values()))
TRAIN_SYMBOLS = "+#%*?@=<>^~"
UNSEEN_SYMBOLS = "αγεηκλμνπτχψωΓΔΛΞΠΣΨΩ∑∇√≠≈≤≥±÷×∀∈∩∪⊂⊕⊗♠♣♥♦★☆→←↔⇒✓✗¶€£¥©"

PHOTOS = (
    "astronaut.png", "camera.png", "chelsea.png", "coffee.png", "coins.png", "moon.png", "rocket.jpg",
    "hubble_deep_field.jpg", "motorcycle_left.png", "retina.jpg", "ihc.png", "cell.png", "horse.png",
)  # fmt: skip
TEXTURE_IMAGES = ("brick.png", "grass.png", "gravel.png")


@dataclass(frozen=True)
class Family:
    name: str
    train: bool
    description: str
    render: Callable[[np.random.Generator], np.ndarray]
    preprocessed: bool = True  # False: `render` already returns the network input (28x28)
    pad: bool = False  # True: `render` returns ink on the drawing pad (CANVAS x CANVAS, 1 = ink): `preprocess_ink`


# --- drawing helpers -------------------------------------------------------------------------------------


def _finish(img: Image.Image, rng: np.random.Generator) -> np.ndarray:
    """White ink on black as float; half the time inverted (black ink on white, as a drawing canvas)."""
    a = np.asarray(img, np.float32) / 255.0
    return 1.0 - a if rng.random() < 0.5 else a


def _canvas() -> tuple[Image.Image, ImageDraw.ImageDraw]:
    img = Image.new("L", (RENDER, RENDER), 0)
    return img, ImageDraw.Draw(img)


def _ink(rng: np.random.Generator) -> int:
    return int(rng.integers(180, 256))


def _lowres_upsampled(a: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(a.astype(np.float32)).resize((RENDER, RENDER), Image.NEAREST), np.float32)


@functools.cache
def _font_file(name: str) -> Path:
    return FONT_DIR / name


@functools.cache
def _coverage(name: str) -> frozenset[int]:
    return frozenset(TTFont(_font_file(name), lazy=True).getBestCmap())


@functools.cache
def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(_font_file(name)), size)


def glyphs_in(font: str, chars: str) -> str:
    """The characters of `chars` that `font` really has (no fallback boxes)."""
    cov = _coverage(font)
    return "".join(c for c in chars if ord(c) in cov)


def _glyph(rng: np.random.Generator, fonts: tuple[str, ...], chars: str) -> np.ndarray:
    font = fonts[rng.integers(len(fonts))]
    have = glyphs_in(font, chars)
    ch = have[rng.integers(len(have))]
    img = Image.new("L", (2 * RENDER, 2 * RENDER), 0)
    draw = ImageDraw.Draw(img)
    size, stroke = int(rng.integers(60, 100)), int(rng.integers(0, 4))
    draw.text((RENDER, RENDER), ch, fill=_ink(rng), font=_font(font, size), anchor="mm", stroke_width=stroke,
              stroke_fill=255)  # fmt: skip
    img = img.rotate(float(rng.uniform(-15, 15)), resample=Image.BILINEAR)
    return _finish(img, rng)


# --- families ----------------------------------------------------------------------------------------------


def uniform_noise(rng: np.random.Generator) -> np.ndarray:
    side = int(rng.choice([8, 14, 28, 56, RENDER]))
    return _lowres_upsampled(rng.random((side, side)))


def gaussian_noise(rng: np.random.Generator) -> np.ndarray:
    side = int(rng.choice([8, 14, 28, 56, RENDER]))
    a = rng.normal(rng.uniform(0.3, 0.7), rng.uniform(0.1, 0.4), (side, side))
    return _lowres_upsampled(np.clip(a, 0, 1))


def _shape(draw: ImageDraw.ImageDraw, rng: np.random.Generator) -> None:
    kind = ["disk", "square", "triangle", "cross", "plus", "line", "rectangle", "star"][rng.integers(8)]
    c, r = rng.uniform(35, 77, 2), rng.uniform(18, 45)
    w, ink = int(rng.integers(5, 14)), _ink(rng)
    filled = rng.random() < 0.5
    if kind == "disk":  # filled only: a circle outline is a 0
        rx, ry = r, r * rng.uniform(0.5, 1.0)
        draw.ellipse([c[0] - rx, c[1] - ry, c[0] + rx, c[1] + ry], fill=ink)
    elif kind in ("square", "rectangle"):
        h = r * (rng.uniform(0.3, 0.7) if kind == "rectangle" else 1.0)
        rect = [c[0] - r, c[1] - h, c[0] + r, c[1] + h]
        draw.rectangle(rect, fill=ink) if filled else draw.rectangle(rect, outline=ink, width=w)
    elif kind in ("triangle", "star"):
        n = 3 if kind == "triangle" else 5
        t0 = rng.uniform(0, 2 * math.pi)
        step = 2 * math.pi / n * (1 if kind == "triangle" else 2)
        pts = [(c[0] + r * math.cos(t0 + k * step), c[1] + r * math.sin(t0 + k * step)) for k in range(n)]
        draw.polygon(pts, fill=ink) if filled and kind == "triangle" else draw.line(pts + pts[:1], fill=ink, width=w)
    elif kind in ("cross", "plus"):
        t = rng.uniform(-0.3, 0.3) + (math.pi / 4 if kind == "cross" else 0)
        for a in (t, t + math.pi / 2):
            dx, dy = r * math.cos(a), r * math.sin(a)
            draw.line([(c[0] - dx, c[1] - dy), (c[0] + dx, c[1] + dy)], fill=ink, width=w)
    else:  # a line, never near vertical (that is a 1)
        a = rng.uniform(-math.pi / 3, math.pi / 3)
        dx, dy = r * math.cos(a), r * math.sin(a)
        draw.line([(c[0] - dx, c[1] - dy), (c[0] + dx, c[1] + dy)], fill=ink, width=w)


def shapes(rng: np.random.Generator) -> np.ndarray:
    img, draw = _canvas()
    for _ in range(int(rng.integers(1, 3))):
        _shape(draw, rng)
    return _finish(img, rng)


def scribbles(rng: np.random.Generator) -> np.ndarray:
    """A few random pen strokes: smooth random walks with a random turning rate."""
    img, draw = _canvas()
    w, ink = int(rng.integers(6, 14)), _ink(rng)
    for _ in range(int(rng.integers(2, 6))):
        p, heading, turn = rng.uniform(20, 92, 2), rng.uniform(0, 2 * math.pi), 0.0
        pts = [tuple(p)]
        for _ in range(int(rng.integers(8, 30))):
            turn = 0.7 * turn + rng.normal(0, 0.5)
            heading += turn
            p = np.clip(p + 6 * np.array([math.cos(heading), math.sin(heading)]), 4, RENDER - 4)
            pts.append(tuple(p))
        draw.line(pts, fill=ink, width=w, joint="curve")
    return _finish(img, rng)


# Capital letters and symbols as a person draws them with a mouse: straight strokes in a unit box (x, y; y down).
# None of them is among LOOKS_LIKE_A_DIGIT.
PEN_LETTERS: dict[str, list[list[tuple[float, float]]]] = {
    "A": [[(0.1, 1), (0.5, 0), (0.9, 1)], [(0.28, 0.6), (0.72, 0.6)]],
    "E": [[(0.85, 0), (0.15, 0), (0.15, 1), (0.85, 1)], [(0.15, 0.5), (0.7, 0.5)]],
    "F": [[(0.85, 0), (0.15, 0), (0.15, 1)], [(0.15, 0.5), (0.7, 0.5)]],
    "H": [[(0.15, 0), (0.15, 1)], [(0.85, 0), (0.85, 1)], [(0.15, 0.5), (0.85, 0.5)]],
    "K": [[(0.2, 0), (0.2, 1)], [(0.85, 0), (0.2, 0.55)], [(0.4, 0.4), (0.85, 1)]],
    "M": [[(0.1, 1), (0.15, 0), (0.5, 0.6), (0.85, 0), (0.9, 1)]],
    "N": [[(0.15, 1), (0.15, 0), (0.85, 1), (0.85, 0)]],
    "R": [[(0.2, 1), (0.2, 0), (0.8, 0.1), (0.8, 0.45), (0.2, 0.5)], [(0.4, 0.5), (0.85, 1)]],
    "T": [[(0.05, 0), (0.95, 0)], [(0.5, 0), (0.5, 1)]],
    "V": [[(0.1, 0), (0.5, 1), (0.9, 0)]],
    "W": [[(0, 0), (0.25, 1), (0.5, 0.35), (0.75, 1), (1, 0)]],
    "X": [[(0.1, 0), (0.9, 1)], [(0.9, 0), (0.1, 1)]],
    "Y": [[(0.1, 0), (0.5, 0.5), (0.9, 0)], [(0.5, 0.5), (0.5, 1)]],
    "#": [[(0.35, 0), (0.25, 1)], [(0.75, 0), (0.65, 1)], [(0, 0.33), (1, 0.33)], [(0, 0.67), (1, 0.67)]],
    "*": [[(0.5, 0), (0.5, 1)], [(0.07, 0.25), (0.93, 0.75)], [(0.93, 0.25), (0.07, 0.75)]],
    "=": [[(0, 0.3), (1, 0.3)], [(0, 0.7), (1, 0.7)]],
    "->": [[(0, 0.5), (1, 0.5)], [(0.65, 0.2), (1, 0.5), (0.65, 0.8)]],
    "check": [[(0.05, 0.55), (0.35, 0.95), (0.95, 0.05)]],
}


def pen_letters(rng: np.random.Generator) -> np.ndarray:
    """A letter or symbol from PEN_LETTERS drawn with straight strokes of even width, every vertex jittered."""
    strokes = list(PEN_LETTERS.values())[rng.integers(len(PEN_LETTERS))]
    h = rng.uniform(55, 90)
    w = h * rng.uniform(0.6, 1.0)
    x0, y0 = (RENDER - w) / 2 + rng.uniform(-8, 8), (RENDER - h) / 2 + rng.uniform(-8, 8)
    img, draw = _canvas()
    width, ink = int(rng.integers(4, 11)), _ink(rng)  # 10-27 px on the app's 280 px canvas
    for stroke in strokes:
        pts = [(x0 + w * x + rng.normal(0, 0.03 * h), y0 + h * y + rng.normal(0, 0.03 * h)) for x, y in stroke]
        draw.line(pts, fill=ink, width=width, joint="curve")
    return _finish(img, rng)


def letters(rng: np.random.Generator) -> np.ndarray:
    return _glyph(rng, TRAIN_FONTS, LATIN + TRAIN_SYMBOLS)


def letters_unseen_fonts(rng: np.random.Generator) -> np.ndarray:
    return _glyph(rng, HELDOUT_FONTS, LATIN)


def unseen_symbols(rng: np.random.Generator) -> np.ndarray:
    return _glyph(rng, UNSEEN_SYMBOL_FONTS, UNSEEN_SYMBOLS)


@functools.cache
def _gray(name: str) -> np.ndarray:
    a = np.asarray(Image.open(SKIMAGE_DATA / name).convert("L"), np.float32) / 255.0
    a.setflags(write=False)
    return a


def _crop(rng: np.random.Generator, names: tuple[str, ...]) -> np.ndarray:
    a = _gray(names[rng.integers(len(names))])
    side = int(rng.integers(min(a.shape) // 8, min(a.shape) // 2))
    y, x = rng.integers(0, a.shape[0] - side + 1), rng.integers(0, a.shape[1] - side + 1)
    crop = Image.fromarray(a[y : y + side, x : x + side]).resize((RENDER, RENDER), Image.BILINEAR)
    return np.asarray(crop, np.float32)


def photo_crops(rng: np.random.Generator) -> np.ndarray:
    return _crop(rng, PHOTOS)


def textures(rng: np.random.Generator) -> np.ndarray:
    """Half crops of scikit-image's brick/grass/gravel photographs, half gratings, checkerboards, dot grids."""
    if rng.random() < 0.5:
        return _crop(rng, TEXTURE_IMAGES)
    yy, xx = np.mgrid[:RENDER, :RENDER].astype(np.float32)
    t, f = rng.uniform(0, math.pi), rng.uniform(0.08, 0.5)
    u, v = xx * math.cos(t) + yy * math.sin(t), -xx * math.sin(t) + yy * math.cos(t)
    kind = rng.integers(3)
    if kind == 0:
        return 0.5 + 0.5 * np.sin(f * u)
    if kind == 1:
        return ((np.floor(f * u / math.pi) + np.floor(f * v / math.pi)) % 2).astype(np.float32)
    return ((np.sin(f * u) * np.sin(f * v)) > 0.6).astype(np.float32)


def uniform_noise_scaled(rng: np.random.Generator) -> np.ndarray:
    """Hein et al. 2019: uniform noise in [0, 1] times 1.5, fed to the network as is."""
    return (1.5 * rng.random((28, 28))).astype(np.float32)


# --- doodles drawn on the app's pad (the library: digitnet/lab/doodles.py) -------------------------------------


def _doodle(rng: np.random.Generator, kinds: tuple[str, ...]) -> np.ndarray:
    strokes, width = doodle_strokes(kinds[rng.integers(len(kinds))], rng)
    return render(strokes, width).astype(np.float32) / 255.0


def doodle_images(kind: str, n: int, seed: int = 0) -> torch.Tensor:
    """`n` doodles of one kind as network input (float N x 1 x 28 x 28), deterministic for (kind, seed)."""
    rng = np.random.default_rng([seed, 100 + list(DOODLES).index(kind)])
    return _prepared(n, lambda: preprocess_ink(render(*doodle_strokes(kind, rng)).astype(np.float32) / 255.0),
                     f"doodle {kind!r}")  # fmt: skip


def doodles(rng: np.random.Generator) -> np.ndarray:
    return _doodle(rng, TRAIN_DOODLES)


def doodles_heldout(rng: np.random.Generator) -> np.ndarray:
    return _doodle(rng, HELDOUT_DOODLES)


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("uniform_noise", True, "uniform noise at 8-112 px resolution", uniform_noise),
        Family("gaussian_noise", True, "clipped Gaussian noise at 8-112 px resolution", gaussian_noise),
        Family("shapes", True, "disks, squares, rectangles, triangles, stars, crosses, lines", shapes),
        Family("scribbles", True, "2-5 random pen strokes", scribbles),
        Family("letters", True, "Latin letters and ASCII symbols in DejaVu fonts", letters),
        Family("letters_unseen_fonts", False, "Latin letters in STIX and Computer Modern fonts", letters_unseen_fonts),
        Family("unseen_symbols", False, "Greek letters and math/other symbols never trained on", unseen_symbols),
        Family("pen_letters", False, "capital letters and symbols drawn with straight pen strokes", pen_letters),
        Family("photo_crops", False, "crops of scikit-image's bundled photographs", photo_crops),
        Family("textures", False, "brick/grass/gravel crops, gratings, checkerboards, dots", textures),
        Family("uniform_noise_x1.5", False, "28x28 uniform noise x 1.5, bypassing preprocessing", uniform_noise_scaled,
               preprocessed=False),
        # Appended last: a family's seed is its position here, so the families above keep their images.
        Family("doodles", True, "doodles drawn with a pen on the pad: " + ", ".join(TRAIN_DOODLES), doodles, pad=True),
        Family("doodles_heldout", False, "other doodles drawn with a pen on the pad: " + ", ".join(HELDOUT_DOODLES),
               doodles_heldout, pad=True),
    )
}  # fmt: skip
TRAIN_FAMILIES = tuple(n for n, f in FAMILIES.items() if f.train)
HELDOUT_FAMILIES = tuple(n for n, f in FAMILIES.items() if not f.train)


def probe_images(name: str, n: int, seed: int = 0) -> torch.Tensor:
    """`n` images of family `name` as network input: float N x 1 x 28 x 28 (in [0, 1] except scaled noise).

    Deterministic for (name, seed), and the first k images do not depend on n. A rendering that
    preprocessing rejects (e.g. nothing visible) is skipped and the next one is drawn.
    """
    fam = FAMILIES[name]
    rng = np.random.default_rng([seed, list(FAMILIES).index(name)])
    prepare = (preprocess_ink if fam.pad else preprocess) if fam.preprocessed else (lambda raw: raw)
    return _prepared(n, lambda: prepare(fam.render(rng)), f"probe family {name!r}")


def _prepared(n: int, make: Callable[[], np.ndarray], what: str) -> torch.Tensor:
    """`n` images from `make` (28x28 network input each), skipping those preprocessing rejects (InputError)."""
    out: list[np.ndarray] = []
    for _ in range(20 * n + 20):
        if len(out) == n:
            break
        try:
            out.append(make())
        except InputError:
            continue
    if len(out) < n:
        raise RuntimeError(f"{what}: preprocessing rejected too many renderings")
    return torch.from_numpy(np.stack(out).astype(np.float32)).reshape(n, 1, 28, 28)


def training_outliers(n: int = 30000, seed: int = 0) -> torch.Tensor:
    """Outliers for outlier exposure: `n` images (uint8 N x 28 x 28) spread evenly over TRAIN_FAMILIES."""
    per = [n // len(TRAIN_FAMILIES) + (i < n % len(TRAIN_FAMILIES)) for i in range(len(TRAIN_FAMILIES))]
    x = torch.cat([probe_images(name, k, seed) for name, k in zip(TRAIN_FAMILIES, per, strict=True)])
    return x.squeeze(1).mul(255).round().to(torch.uint8)
