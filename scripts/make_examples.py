"""Write the app's example gallery to examples/: real MNIST test digits and a few things that are not digits.

    PYTHONPATH=. .venv/bin/python scripts/make_examples.py

Seeded and deterministic. The digits are MNIST test images exactly as stored (28x28, white on black);
the non-digits are drawn the way a user's upload would look: a letter, noise, a shape, a photo crop.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib
import numpy as np
import skimage
from PIL import Image, ImageDraw, ImageFont

from digitnet.lab.data import load_mnist

OUT = Path(__file__).resolve().parent.parent / "examples"
SEED = 0
DIGIT_INDICES = (0, 1, 2, 4)  # MNIST test images: a 7, a 2, a 1 and a 4
FONT = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans-Bold.ttf"
PHOTO = Path(skimage.__file__).parent / "data" / "chelsea.png"  # bundled in the scikit-image wheel


def letter(char: str = "A", size: int = 160) -> Image.Image:
    """A black letter on white paper (A: no digit looks like it)."""
    im = Image.new("L", (size, size), 255)
    ImageDraw.Draw(im).text((size / 2, size / 2), char, fill=0, font=ImageFont.truetype(str(FONT), 120), anchor="mm")
    return im


def noise(rng: np.random.Generator, size: int = 112, patch: int = 64) -> Image.Image:
    """A square of uniform noise on white paper (noise filling the whole image reads as blank background)."""
    a = np.full((size, size), 255, np.uint8)
    o = (size - patch) // 2
    a[o : o + patch, o : o + patch] = rng.integers(0, 256, (patch, patch), dtype=np.uint8)
    return Image.fromarray(a)


def triangle(size: int = 160) -> Image.Image:
    """A filled triangle, black on white."""
    im = Image.new("L", (size, size), 255)
    ImageDraw.Draw(im).polygon([(80, 20), (145, 140), (15, 140)], fill=0)
    return im


def photo_crop(size: int = 160) -> Image.Image:
    """The face of scikit-image's 'chelsea' cat, a natural photograph."""
    im = Image.open(PHOTO).convert("RGB")
    return im.crop((100, 20, 340, 260)).resize((size, size), Image.LANCZOS)


def make(out: Path = OUT) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    x, y = load_mnist(train=False)
    images: dict[str, Image.Image] = {}
    for i in DIGIT_INDICES:
        images[f"digit_{int(y[i])}_mnist_test_{i}"] = Image.fromarray(x[i].numpy())
    rng = np.random.default_rng(SEED)
    images["not_digit_letter_A"] = letter()
    images["not_digit_noise"] = noise(rng)
    images["not_digit_triangle"] = triangle()
    images["not_digit_photo_cat"] = photo_crop()
    paths = []
    for name, im in images.items():
        path = out / f"{name}.png"
        im.save(path, optimize=True)
        paths.append(path)
    return paths


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    for p in make(parser.parse_args().out):
        print(p, p.stat().st_size, "bytes")
