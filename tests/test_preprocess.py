"""Preprocessing: every input kind, every bad input, MNIST geometry, on real digits and real files."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from digitnet.lab import redraw
from digitnet.preprocess import MAX_PIXELS, EmptyImage, InputError, preprocess, preprocess_ink


def assert_valid(x: np.ndarray) -> None:
    assert x.shape == (28, 28) and x.dtype == np.float32
    assert np.isfinite(x).all() and x.min() >= 0 and x.max() == pytest.approx(1.0)


def assert_mnist_geometry(x: np.ndarray) -> None:
    """The ink fits in 20x20 (one side exactly 20) and its centre of mass is within a pixel of the centre."""
    rows, cols = np.nonzero(x.any(1))[0], np.nonzero(x.any(0))[0]
    h, w = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
    assert max(h, w) in (20, 21) and min(h, w) <= 21, (h, w)
    yy, xx = np.mgrid[:28, :28]
    cy, cx = (yy * x).sum() / x.sum(), (xx * x).sum() / x.sum()
    assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1, (cy, cx)


@pytest.fixture(scope="module")
def seven(mnist_test) -> np.ndarray:
    x, y = mnist_test
    assert int(y[0]) == 7
    return x[0].numpy()


def similar(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of two 28x28 images, allowing one pixel of shift (centring rounds to whole pixels)."""
    shifts = [np.roll(a, (dy, dx), (0, 1)) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    return max(float(np.corrcoef(s.ravel(), b.ravel())[0, 1]) for s in shifts)


def test_an_mnist_digit_comes_back_nearly_unchanged(mnist_test):
    x, _ = mnist_test
    scores = []
    for i in range(50):
        out = preprocess(x[i].numpy())
        assert_valid(out)
        assert_mnist_geometry(out)
        scores.append(similar(out, x[i].numpy() / 255))
    assert min(scores) > 0.98 and np.mean(scores) > 0.99, scores


@pytest.mark.parametrize("variant", sorted(redraw.VARIANTS))
def test_each_redrawn_variant_recovers_the_digit(variant, seven):
    rng = np.random.default_rng(1)
    for _ in range(3):
        out = preprocess(redraw.VARIANTS[variant](seven, rng))
        assert_valid(out)
        assert_mnist_geometry(out)
        assert similar(out, seven / 255) > 0.8


def test_every_input_kind_gives_the_same_picture(seven, tmp_path):
    ink = seven  # white on black
    paper = 255 - seven  # black on white
    path = tmp_path / "seven.png"
    Image.fromarray(paper).save(path)
    rgba = np.zeros((28, 28, 4), np.uint8)
    rgba[..., 3] = ink  # black ink on a transparent layer
    kinds = {
        "uint8 2-D": ink,
        "float 2-D in [0, 1]": ink / 255.0,
        "float 2-D in [0, 255]": ink.astype(np.float64),
        "uint8 RGB": np.dstack([paper] * 3),
        "uint8 H x W x 1": paper[..., None],
        "uint16": ink.astype(np.uint16) * 257,
        "PIL L": Image.fromarray(paper),
        "PIL RGBA (composited on white)": Image.fromarray(rgba),
        "PIL LA": Image.fromarray(rgba).convert("LA"),
        "PIL CMYK": Image.fromarray(paper).convert("CMYK"),
        "PIL I;16": Image.fromarray(ink.astype(np.uint16) * 257),
        "PIL F": Image.fromarray(ink.astype(np.float32) / 255),
        "file path": str(path),
        "pathlib.Path": path,
        "bytes": path.read_bytes(),
        "RGB": np.dstack([paper] * 3),
        "ink only (the pad)": "ink",
    }
    reference = preprocess(ink)
    for kind, value in kinds.items():
        out = preprocess_ink(ink / 255) if kind == "ink only (the pad)" else preprocess(value)
        assert_valid(out)
        assert similar(out, reference) > 0.97, kind


def test_palette_with_transparency(seven, tmp_path):
    rgba = np.zeros((28, 28, 4), np.uint8)
    rgba[..., 3] = np.where(seven > 127, 255, 0)
    img = Image.fromarray(rgba).convert("P")  # the transparent colour becomes the palette's transparency
    path = tmp_path / "p.png"
    img.save(path, transparency=0)
    assert Image.open(path).mode == "P" and "transparency" in Image.open(path).info
    assert similar(preprocess(path), preprocess(seven)) > 0.9


def test_drawings_read_the_same_on_white_transparent_and_dark_paper(seven):
    rng = [np.random.default_rng(3) for _ in range(3)]  # the same size and place for all three
    light, clear = redraw.composite_light(seven, rng[0]), redraw.layer_rgba(seven, rng[1])
    dark = redraw.dark_theme(seven, rng[2])
    assert similar(preprocess(light), preprocess(clear)) > 0.999
    assert similar(preprocess(light), preprocess(dark)) > 0.98
    assert similar(preprocess(light), preprocess(seven)) > 0.9


def test_polarity_white_on_black_and_black_on_white_agree(seven):
    big = np.asarray(Image.fromarray(seven).resize((200, 200)))
    assert similar(preprocess(big), preprocess(255 - big)) > 0.98


def test_exif_orientation_is_applied(seven, tmp_path):
    upright = Image.fromarray(255 - seven).resize((112, 112))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to view"
    path = tmp_path / "rotated.jpg"
    upright.transpose(Image.Transpose.ROTATE_90).save(path, exif=exif, quality=95)
    assert similar(preprocess(path), preprocess(upright)) > 0.95


def test_first_frame_of_an_animation(seven, tmp_path):
    frames = [Image.fromarray(255 - seven), Image.new("L", (28, 28), 255)]
    for fmt in ("gif", "webp", "tiff"):
        path = tmp_path / f"anim.{fmt}"
        frames[0].save(path, save_all=True, append_images=frames[1:])
        assert similar(preprocess(path), preprocess(seven)) > 0.95, fmt


def test_lighting_gradient_and_paper_texture_do_not_become_ink(seven):
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:400, 0:400] / 400
    paper = 0.9 - 0.3 * xx - 0.1 * yy + rng.normal(0, 0.02, (400, 400))
    ink = np.zeros((400, 400))
    ink[100:300, 150:350] = np.asarray(Image.fromarray(seven).resize((200, 200)), dtype=float) / 255
    photo = np.clip(paper * (1 - ink) + 0.2 * ink, 0, 1)
    out = preprocess((photo * 255).astype(np.uint8))
    assert_mnist_geometry(out)
    assert similar(out, preprocess(seven)) > 0.9


@pytest.mark.parametrize(
    "blank",
    [
        np.zeros((280, 280), np.uint8),
        np.full((280, 280, 3), 255, np.uint8),
        np.full((100, 100), 0x33, np.uint8),  # a dark theme's empty canvas
        np.zeros((280, 280, 4), np.uint8),  # a clear transparent image
        np.full((280, 280, 4), 255, np.uint8),
    ],
    ids=["black", "white", "dark-theme grey", "transparent", "white RGBA"],
)
def test_blank_input_is_nothing_drawn(blank):
    with pytest.raises(EmptyImage, match="nothing drawn"):
        preprocess(blank)


def test_an_empty_pad_is_nothing_drawn():
    with pytest.raises(EmptyImage, match="nothing drawn"):
        preprocess_ink(np.zeros((280, 280), np.float32))


def test_faint_paper_noise_alone_is_nothing_drawn():
    rng = np.random.default_rng(0)
    paper = np.clip(rng.normal(0.85, 0.01, (300, 300)), 0, 1)
    with pytest.raises(EmptyImage):
        preprocess((paper * 255).astype(np.uint8))


def _png_bytes(size=(64, 64)) -> bytes:
    buf = io.BytesIO()
    Image.new("L", size, 255).save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: p.write_text("not an image at all"), "not an image"),
        (lambda p: p.write_bytes(_png_bytes()[:60]), "truncated or corrupt"),
        (lambda p: Image.new("L", (1, 1), 0).save(p), "at least"),
        (lambda p: p.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n"), "not an image"),
    ],
    ids=["zero bytes", "text named .png", "truncated png", "1x1 image", "EPS"],
)
def test_bad_files_give_one_clear_error(tmp_path, make, message):
    path = tmp_path / "upload.png"
    make(path)
    with pytest.raises(InputError, match=message) as e:
        preprocess(path)
    assert "upload.png" in str(e.value) or "at least" in str(e.value)


@pytest.mark.parametrize("size", [(4000, 1), (3, 900), (1, 1)])
def test_too_thin_image_names_its_real_size(tmp_path, size):
    path = tmp_path / "thin.png"
    Image.new("L", size, 0).save(path)
    with pytest.raises(InputError, match=f"is {size[0]}x{size[1]} pixels"):
        preprocess(path)


def test_very_long_thin_stroke_is_still_read():
    a = np.full((12, 3000), 255, np.uint8)
    a[4:8, 100:2900] = 0  # a dash, 12 px tall: the shrink keeps it at least MIN_SIDE px tall
    x = preprocess(a)
    assert_valid(x)
    (row,), cols = np.nonzero(x.any(1))[0], np.nonzero(x.any(0))[0]  # one row of ink: a horizontal dash
    assert abs(row - 14) <= 1 and cols[-1] - cols[0] + 1 == 20  # centred, scaled to MNIST's 20 px
    assert x[row, cols[0] : cols[-1] + 1].min() > 0.8  # solid along its length, not broken or faded by the shrink


def test_missing_file():
    with pytest.raises(InputError, match="no such file"):
        preprocess("/nonexistent/digit.png")


def test_huge_image_is_refused_before_decoding(tmp_path):
    side = int(MAX_PIXELS**0.5) + 100
    path = tmp_path / "huge.png"
    Image.new("1", (side, side), 1).save(path)  # a small file that decodes to many pixels
    assert path.stat().st_size < 2_000_000
    with pytest.raises(InputError, match="limit"):
        preprocess(path)


def test_decompression_bomb_warning_is_an_error(tmp_path, monkeypatch):
    path = tmp_path / "bomb.png"
    Image.new("L", (300, 300), 255).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 50_000)  # 90,000 pixels now warns
    with pytest.raises(InputError, match="too many pixels"):
        preprocess(path)


@pytest.mark.parametrize(
    "bad",
    [
        np.full((28, 28), np.nan),
        np.array([[np.inf] * 28] * 28),
        np.zeros((28, 28, 2)),
        np.zeros((3, 28, 28, 1)),
        np.zeros((28, 28), dtype=object),
        np.full((28, 28), -5.0),
        "a string that is not a path",
        12345,
        {"layers": [], "composite": None},
    ],
    ids=["NaN", "inf", "2 channels", "4-D", "object", "negative", "string", "int", "dict"],
)
def test_bad_values_give_one_clear_error(bad):
    with pytest.raises(InputError):
        preprocess(bad)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    arrays(
        dtype=st.sampled_from([np.uint8, np.uint16, np.float32, np.float64, np.int32, np.bool_]),
        shape=st.tuples(st.integers(1, 120), st.integers(1, 120))
        | st.tuples(st.integers(1, 60), st.integers(1, 60), st.sampled_from([1, 2, 3, 4, 5])),
    )
)
def test_any_array_is_a_valid_input_or_one_clear_error(a):
    try:
        out = preprocess(a)
    except InputError as e:
        assert str(e)
    else:
        assert_valid(out)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=2000), st.sampled_from(["png", "jpg", "gif", "webp"]))
def test_any_bytes_are_a_valid_input_or_one_clear_error(tmp_path_factory, data, ext):
    path = tmp_path_factory.mktemp("fuzz") / f"upload.{ext}"
    path.write_bytes(data)
    try:
        out = preprocess(path)
    except InputError as e:
        assert str(e)
    else:
        assert_valid(out)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 9999), st.integers(0, 2**32 - 1), st.sampled_from(sorted(redraw.VARIANTS)))
def test_redrawn_digits_keep_mnist_geometry(mnist_test, index, seed, variant):
    x, _ = mnist_test
    out = preprocess(redraw.VARIANTS[variant](x[index].numpy(), np.random.default_rng(seed)))
    assert_valid(out)
    assert_mnist_geometry(out)
