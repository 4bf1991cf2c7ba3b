"""Headless Chromium for the browser tests and benchmarks: Debian's /usr/bin/chromium driven by Playwright."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"  # `playwright install` cannot download a browser on this project's machines
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip


def available() -> bool:
    return Path(CHROMIUM).exists()


@contextmanager
def chromium():
    """A launched headless Chromium (Playwright's Browser), closed on exit."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()
