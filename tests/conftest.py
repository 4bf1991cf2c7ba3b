"""Shared fixtures: the real MNIST test set (from $DIGITNET_DATA, else ./data, downloaded if absent) and the
real app, served by its own process on a loopback port exactly as `python app.py` serves it.

Tiers come from what a test uses, not from decorators: a test whose fixtures start an app process (`start_app`,
which `server` uses) is marked `server`, one that drives Chromium (`chromium`) `browser`. The fast tier is
`-m "not server and not browser"`."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from digitnet.lab import browser
from digitnet.lab.data import load_mnist
from digitnet.lab.serving import Server

MARKERS_BY_FIXTURE = {"start_app": "server", "chromium": "browser"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for fixture, marker in MARKERS_BY_FIXTURE.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(marker)


@pytest.fixture(scope="session")
def start_app() -> type[Server]:
    """How a test starts an app in its own process: `with start_app("app", env=...) as s:`. Every test that starts
    one takes this fixture (directly or through another), so it is marked `server`."""
    return Server


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
def server(start_app):
    """app.py, launched as `python app.py` would be, in its own process (stopped after the session)."""
    with start_app("app") as s:
        yield s


@pytest.fixture(scope="module")
def chromium(server):
    """Headless Chromium for the browser tests (test_browser, test_share, test_accessibility), with the app served."""
    if not browser.available():
        pytest.skip(f"{browser.CHROMIUM} is not installed")
    with browser.chromium() as b:
        yield b
