"""The real app in a real browser: headless Chromium draws digits with the mouse and reads the answer."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from digitnet import models
from digitnet.lab import browser

pytestmark = pytest.mark.browser

TIMEOUT_MS = 60_000  # the shared CI cores can be slow; the wait ends as soon as the page updates

# Strokes as (x, y) offsets from the centre of the drawing area, in canvas pixels (the canvas is 280x280).
ONE = [[(5, -95), (0, 0), (-5, 95)]]
BRUSH = "#sketch button[aria-label=Brush]"
SEVEN = [[(-65, -85), (55, -85), (0, 20), (-25, 95)]]


@pytest.fixture(scope="module")
def page(server):
    if not browser.available():
        pytest.skip(f"{browser.CHROMIUM} is not installed")
    with browser.chromium() as chromium:
        page = chromium.new_page(viewport={"width": 1280, "height": 1000})
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(server.url)
        page.wait_for_selector("#sketch canvas")
        yield page


def draw(page, strokes: list[list[tuple[int, int]]]) -> None:
    """Mouse strokes on the sketchpad, relative to the centre of its canvas."""
    box = page.locator("#sketch canvas").first.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    for stroke in strokes:
        page.mouse.move(cx + stroke[0][0], cy + stroke[0][1])
        page.mouse.down()
        for dx, dy in stroke[1:]:
            page.mouse.move(cx + dx, cy + dy, steps=12)
        page.mouse.up()


def shown_digit(page) -> str:
    """Wait for the headline to show a digit, and return it."""
    page.wait_for_selector("#headline .digit")
    return page.inner_text("#headline .digit")


def select_brush(page) -> None:
    page.click(BRUSH)
    page.wait_for_selector(f"{BRUSH}.highlight")


def clear(page) -> None:
    page.click("#clear")
    page.wait_for_selector("#headline .prompt")


def test_the_brush_is_selected_on_load_and_after_clear(page):
    page.wait_for_selector(f"{BRUSH}.highlight")
    clear(page)
    page.wait_for_selector(f"{BRUSH}.highlight")


def test_draw_a_one_and_a_seven(page, tmp_path):
    select_brush(page)
    draw(page, ONE)
    assert shown_digit(page) == "1"
    assert page.locator("#chart .bar").count() == 10
    assert page.locator("#chart .bar.winner").count() == 1
    assert page.locator("#chart .bar.winner").get_attribute("data-digit") == "1"

    clear(page)
    assert page.locator("#headline .digit").count() == 0
    select_brush(page)
    draw(page, SEVEN)
    assert shown_digit(page) == "7"
    assert page.locator("#chart .bar").count() == 10
    assert page.locator("#chart .bar.winner").get_attribute("data-digit") == "7"
    assert page.locator("#pixels img").count() >= 1
    names = models.available()
    assert page.locator("#compare .dn-model").count() == len(names)
    assert page.locator("#compare .bar").count() == 10 * len(names)
    if "cnn_oe" in names:  # the network that can say "not a digit" must not say it of a drawn 7
        assert page.locator("#compare .dn-model[data-model='cnn_oe'] .dn-verdict.is-digit").count() == 1

    shot = tmp_path / "screenshot.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if os.environ.get("DIGITNET_SCREENSHOT"):  # e.g. DIGITNET_SCREENSHOT=docs/screenshot.png to refresh the README's
        Path(os.environ["DIGITNET_SCREENSHOT"]).write_bytes(shot.read_bytes())


def test_switching_the_network_reruns_the_drawing(page):
    """Runs after the 7 is drawn: every network answers for the same drawing, in turn."""
    for model in models.available():
        page.click(f"#model label:has(input[value='{model}'])")
        page.wait_for_selector(f"#headline .dn-head[data-model='{model}']")
        assert re.fullmatch(r"\d", shown_digit(page))
        assert page.locator("#chart .bar").count() == 10


def test_one_click_on_a_non_digit_example(page):
    clear(page)
    page.click("button.gallery-item:has(img[src*='not_digit_letter_A'])")
    assert re.fullmatch(r"\d", shown_digit(page))
    assert page.locator("#chart .bar").count() == 10
    assert page.locator("#chart .bar.winner").count() == 1
    assert page.inner_text("button[role=tab][aria-selected=true]").strip() == "Upload"
    if "cnn_oe" in models.available():
        assert page.locator("#compare .dn-model[data-model='cnn_oe'] .dn-verdict.not-digit").count() == 1
