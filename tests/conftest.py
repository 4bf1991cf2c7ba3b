"""Shared fixtures: the real MNIST test set (from $DIGITNET_DATA, else ./data, downloaded if absent) and the
real app, served by its own process on a loopback port exactly as `python app.py` serves it."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from digitnet.lab import browser
from digitnet.lab.data import load_mnist
from digitnet.lab.serving import Server


@pytest.fixture(scope="session")
def mnist_test() -> tuple[torch.Tensor, torch.Tensor]:
    """All 10,000 MNIST test images (uint8 N x 28 x 28) and labels."""
    return load_mnist(train=False)


@pytest.fixture(scope="session")
def digit_files(tmp_path_factory, mnist_test) -> list[tuple[str, int]]:
    """A few real MNIST test digits written as PNG files, with their labels."""
    folder = tmp_path_factory.mktemp("digits")
    x, y = mnist_test
    out = []
    for i in (0, 1, 2, 3, 4, 7, 11, 18, 61, 99):
        path = folder / f"test{i}_label{int(y[i])}.png"
        Image.fromarray(x[i].numpy()).save(path)
        out.append((str(path), int(y[i])))
    return out


@pytest.fixture(scope="session")
def server():
    """app.py, launched as `python app.py` would be, in its own process (stopped after the session)."""
    with Server("app") as s:
        yield s


@pytest.fixture(scope="module")
def chromium(server):
    """Headless Chromium for the browser tests (test_browser, test_share, test_accessibility), with the app served."""
    if not browser.available():
        pytest.skip(f"{browser.CHROMIUM} is not installed")
    with browser.chromium() as b:
        yield b
