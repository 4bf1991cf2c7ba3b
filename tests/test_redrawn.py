"""Re-drawn MNIST: test digits as uploads of drawings and photos must score within 0.5 points of the originals,
and as odd but real images (low resolution, blur, thick marker, tight crops, thumbnails: digitnet/lab/oddimages.py)
within 2 points."""

from __future__ import annotations

import numpy as np
import pytest

from digitnet.lab import oddimages, redraw
from digitnet.lab.data import to_float
from digitnet.predict import Predictor

N = 1500  # a seeded random subset of the test set per variant; benchmarks/redrawn_mnist.py runs all 10,000


@pytest.fixture(scope="module")
def sweep_digits(mnist_test):
    """N test digits, each re-drawn in every variant: a sweep (conftest marks the tests that take it `slow`)."""
    x, y = mnist_test
    idx = np.random.default_rng(2026).choice(len(x), N, replace=False)
    return x[idx].numpy(), y[idx].numpy()


@pytest.fixture(scope="module")
def cnn() -> Predictor:
    return Predictor("cnn", "cpu")


@pytest.fixture(scope="module")
def original_accuracy(cnn, sweep_digits) -> float:
    x, y = sweep_digits
    import torch

    return float((cnn.probabilities(to_float(torch.from_numpy(x))).argmax(1).numpy() == y).mean())


@pytest.mark.parametrize("variant", sorted(redraw.VARIANTS))
def test_redrawn_digits_keep_their_accuracy(variant, cnn, sweep_digits, original_accuracy):
    x, y = sweep_digits
    acc = redraw.redrawn_accuracy(cnn, x, y, variant)
    assert acc >= original_accuracy - 0.005, f"{variant}: {acc:.2%} vs {original_accuracy:.2%} on the originals"


@pytest.mark.parametrize("variant", sorted(oddimages.VARIANTS))
def test_odd_images_keep_their_accuracy(variant, cnn, sweep_digits, original_accuracy):
    x, y = sweep_digits
    acc = redraw.redrawn_accuracy(cnn, x, y, variant, variants=oddimages.VARIANTS)
    assert acc >= original_accuracy - 0.02, f"{variant}: {acc:.2%} vs {original_accuracy:.2%} on the originals"
