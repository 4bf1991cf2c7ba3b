"""Probe sets: deterministic, in range, and held-out families really are disjoint from the training ones."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from digitnet.lab import probes

ALL_DRAWN = probes.LATIN + probes.TRAIN_SYMBOLS + probes.UNSEEN_SYMBOLS


@pytest.mark.parametrize("name", list(probes.FAMILIES))
def test_family_is_deterministic_and_prefix_stable(name):
    a = probes.probe_images(name, 6, seed=3)
    assert a.shape == (6, 1, 28, 28) and a.dtype == torch.float32
    assert torch.equal(a, probes.probe_images(name, 6, seed=3))
    assert torch.equal(a[:3], probes.probe_images(name, 3, seed=3))
    assert not torch.equal(a, probes.probe_images(name, 6, seed=4))
    assert len({img.numpy().tobytes() for img in a}) == 6  # six different images, not one repeated


@pytest.mark.parametrize("name", [n for n, f in probes.FAMILIES.items() if f.preprocessed])
def test_preprocessed_families_look_like_network_input(name):
    x = probes.probe_images(name, 8, seed=0)
    assert x.min() >= 0 and x.max() <= 1
    assert (x.flatten(1).max(1).values > 0.1).all()  # something visible in every image
    border = torch.cat([x[..., :2, :].flatten(1), x[..., -2:, :].flatten(1)], 1)
    assert border.mean() < x.mean()  # dark background, ink in the middle, as MNIST


def test_scaled_noise_leaves_the_unit_range():
    x = probes.probe_images("uniform_noise_x1.5", 4, seed=0)
    assert x.max() > 1.2 and x.min() >= 0


def test_train_and_heldout_families_are_disjoint():
    assert set(probes.TRAIN_FAMILIES).isdisjoint(probes.HELDOUT_FAMILIES)
    assert set(probes.TRAIN_FAMILIES) | set(probes.HELDOUT_FAMILIES) == set(probes.FAMILIES)
    for must_be_held_out in ("letters_unseen_fonts", "photo_crops", "unseen_symbols", "pen_letters"):
        assert must_be_held_out in probes.HELDOUT_FAMILIES
    assert set(probes.TRAIN_FONTS).isdisjoint(probes.HELDOUT_FONTS)
    assert set(probes.UNSEEN_SYMBOLS).isdisjoint(probes.LATIN + probes.TRAIN_SYMBOLS)


def test_no_glyph_that_looks_like_a_digit_is_drawn():
    banned = set("".join(probes.LOOKS_LIKE_A_DIGIT.values())) | set("0123456789")
    assert banned.isdisjoint(ALL_DRAWN)


def test_fonts_and_photos_are_installed_and_cover_the_glyphs():
    for font in probes.TRAIN_FONTS + probes.HELDOUT_FONTS:
        assert probes.glyphs_in(font, probes.LATIN), font
    for font in probes.UNSEEN_SYMBOL_FONTS:
        assert len(probes.glyphs_in(font, probes.UNSEEN_SYMBOLS)) > len(probes.UNSEEN_SYMBOLS) // 2
    for name in probes.PHOTOS + probes.TEXTURE_IMAGES:
        assert (probes.SKIMAGE_DATA / name).is_file(), name


def test_training_outliers_come_only_from_training_families():
    x = probes.training_outliers(n=25, seed=5)
    assert x.shape == (25, 28, 28) and x.dtype == torch.uint8
    assert torch.equal(x, probes.training_outliers(n=25, seed=5))
    first = probes.probe_images(probes.TRAIN_FAMILIES[0], 5, seed=5).squeeze(1).mul(255).round().to(torch.uint8)
    assert torch.equal(x[:5], first)


def test_pen_letters_are_never_digit_like_glyphs_and_fill_the_box():
    banned = set("".join(probes.LOOKS_LIKE_A_DIGIT.values())) | set("0123456789")
    assert not any(len(k) == 1 and k in banned for k in probes.PEN_LETTERS)
    for strokes in probes.PEN_LETTERS.values():
        pts = np.array([p for s in strokes for p in s])
        assert pts.min() >= 0 and pts.max() <= 1
        assert np.ptp(pts[:, 0]) >= 0.6 or np.ptp(pts[:, 1]) >= 0.6  # a drawn letter, not a dot
