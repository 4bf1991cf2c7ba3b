"""Odd but real images (issue 13): each low-resolution, blurred, thick-marker, tight-crop or thumbnail rendering
of a digit is a valid input (their accuracy bound is in tests/test_redrawn.py)."""

from __future__ import annotations

import numpy as np
import pytest

from digitnet.lab import oddimages
from digitnet.preprocess import preprocess


@pytest.mark.parametrize("variant", sorted(oddimages.VARIANTS))
def test_each_odd_variant_is_a_valid_input(variant, mnist_test):
    x, _ = mnist_test
    rng = np.random.default_rng(0)
    for i in range(5):
        image = oddimages.VARIANTS[variant](x[i].numpy(), rng)
        assert image.dtype == np.uint8 and image.ndim == 2 and min(image.shape) >= 8
        out = preprocess(image)
        assert out.shape == (28, 28) and out.max() == pytest.approx(1.0)
