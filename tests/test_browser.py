"""The real app in a real browser: headless Chromium draws digits with the mouse and with a finger on a phone-sized
screen, and reads the answer while and after the pen moves."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from digitnet import models
from digitnet.drawing import CANVAS
from digitnet.guard import Limits

TIMEOUT_MS = 60_000  # the shared CI cores can be slow; the wait ends as soon as the page updates
DESKTOP, PHONE = {"width": 1280, "height": 1000}, {"width": 390, "height": 844}

# Strokes as (x, y) offsets from the centre of the pad, in canvas pixels (the canvas is CANVAS x CANVAS).
ONE = [[(5, -95), (0, 0), (-5, 95)]]
SEVEN = [[(-65, -85), (55, -85), (0, 20), (-25, 95)]]


def open_page(chromium, server, viewport=DESKTOP, query: str = "", **context):
    page = chromium.new_context(viewport=viewport, **context).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(server.url + query)
    page.wait_for_selector("#pad canvas")
    return page


@pytest.fixture(scope="module")
def page(chromium, server):
    page = open_page(chromium, server)
    yield page
    page.context.close()


def to_page(page, dx: float, dy: float) -> tuple[float, float]:
    """Canvas offsets from the pad's centre -> page coordinates (the pad is drawn at any size)."""
    box = page.locator("#pad canvas").bounding_box()
    k = box["width"] / CANVAS
    return box["x"] + box["width"] / 2 + k * dx, box["y"] + box["height"] / 2 + k * dy


def draw(page, strokes: list[list[tuple[int, int]]], steps: int = 12) -> None:
    """Mouse strokes on the pad."""
    for stroke in strokes:
        page.mouse.move(*to_page(page, *stroke[0]))
        page.mouse.down()
        for dx, dy in stroke[1:]:
            page.mouse.move(*to_page(page, dx, dy), steps=steps)
        page.mouse.up()


def shown_digit(page) -> str:
    """Wait for the headline (shown for an upload, on the Upload tab) to show a digit, and return it."""
    page.wait_for_selector("#headline .digit")
    return page.inner_text("#headline .digit")


def settles_on(page, digit: str) -> None:
    """Wait until the answer for the finished drawing shows `digit` (live answers for part of a stroke come first):
    in the readout under the pad, and in the views below it (the pen-up event's), which hide the headline there."""
    page.wait_for_selector(f"#answer .dn-answer[data-digit='{digit}']", state="attached", timeout=20_000)
    page.wait_for_selector(f"#pad .dn-live[data-digit='{digit}']", timeout=20_000)


def answered(page) -> str:
    """The digit in the full answer (the pen-up event's views), '' when nothing is drawn."""
    return page.get_attribute("#answer .dn-answer", "data-digit")


def readout(page) -> dict:
    """The pad's live readout once it answers the finished drawing: the drawing it answers and the last one asked,
    the digit and network shown."""
    page.wait_for_function(
        "() => { const o = document.querySelector('#pad .dn-live'); "
        "return +o.dataset.seq > 0 && o.dataset.seq === o.dataset.asked; }"
    )
    return page.eval_on_selector("#pad .dn-live", "(o) => ({...o.dataset, text: o.innerText})")


def winner(page) -> str | None:
    return page.locator("#chart .bar.winner").get_attribute("data-digit")


def empty(page) -> None:
    """Wait until both the readout and the views say nothing is drawn."""
    page.wait_for_selector("#answer .dn-answer[data-digit='']", state="attached")
    page.wait_for_selector("#pad .dn-live[data-digit='']")


def clear(page) -> None:
    page.click("#pad .dn-clear")
    empty(page)


def test_draw_a_one_and_a_seven(page):
    draw(page, ONE)
    settles_on(page, "1")
    assert page.locator("#chart .bar").count() == 10
    assert page.locator("#chart .bar.winner").count() == 1 and winner(page) == "1"

    clear(page)
    assert page.locator("#headline .digit").count() == 0
    draw(page, SEVEN)
    settles_on(page, "7")
    assert winner(page) == "7"
    shown = readout(page)
    assert shown["digit"] == "7" and shown["model"] == "cnn" and "% sure" in shown["text"]
    # One answer on the Draw tab: the readout; below it only what it lacks (the verdict's reasons, all scores).
    assert page.is_visible("#pad .dn-live-digit") and page.is_visible("#pad .dn-live-bars")
    assert not page.is_visible("#answer #headline") and not page.is_visible("#answer #chart")
    assert page.is_visible("#answer .dn-why") and page.is_visible("#answer .dn-scores summary")
    assert "% sure" not in page.inner_text("#answer")
    assert page.locator("#pad .dn-live-bars i.winner").get_attribute("data-digit") == "7"
    assert page.locator("#pixels figure").count() == 2  # the input and the saliency map
    seen = page.eval_on_selector(
        "#pixels figure.seen img",
        """(img) => { const c = document.createElement('canvas');
      c.width = c.height = 28; const g = c.getContext('2d'); g.drawImage(img, 0, 0);
      return [...g.getImageData(0, 0, 28, 28).data]; }""",
    )
    rgba = [seen[i : i + 4] for i in range(0, len(seen), 4)]
    assert all(r == g == b and a == 255 for r, g, b, a in rgba)  # grey levels, as the network sees them
    rows = [sum(p[0] for p in rgba[28 * y : 28 * y + 28]) for y in range(28)]
    assert max(rows[:10]) > 3 * max(rows[24:] + [1])  # a 7: the bar at the top, upright
    names = models.available()
    assert page.locator("#compare .dn-model").count() == len(names)
    assert page.locator("#compare .bar").count() == 10 * len(names)
    if "cnn_oe" in names:  # the network that can say "not a digit" must not say it of a drawn 7
        assert page.locator("#compare .dn-model[data-model='cnn_oe'] .dn-verdict.is-digit").count() == 1
    if os.environ.get("DIGITNET_SCREENSHOT"):  # e.g. DIGITNET_SCREENSHOT=docs/screenshot.png to refresh the README's
        page.screenshot(path=os.environ["DIGITNET_SCREENSHOT"], full_page=True)


def test_undo_takes_back_the_last_stroke(page):
    clear(page)
    draw(page, ONE)
    settles_on(page, "1")
    draw(page, [[(-60, -60), (60, 60)], [(60, -60), (-60, 60)]])  # a cross over the 1
    page.wait_for_function("() => document.querySelector('#answer .dn-answer')?.dataset.digit !== '1'")
    page.click("#pad .dn-undo")
    page.click("#pad .dn-undo")
    settles_on(page, "1")
    page.click("#pad .dn-undo")
    empty(page)


def test_the_answer_moves_while_the_pen_moves(page):
    """A slow stroke (about 1.5 s): the readout under the pad answers several drawings before the pen is lifted,
    each a different stage of the stroke, and its bars change."""
    clear(page)
    page.evaluate("""() => { window.__seqs = new Set(); window.__bars = new Set();
      const o = document.querySelector('#pad .dn-live');
      new MutationObserver(() => { window.__seqs.add(o.dataset.seq);
          window.__bars.add([...o.querySelectorAll('i')].map((b) => b.style.height).join()); })
        .observe(o, {subtree: true, attributes: true}); }""")
    start = to_page(page, -60, -90)
    page.mouse.move(*start)
    page.mouse.down()
    for i in range(1, 31):  # down and round, like a 6
        t = i / 30
        page.mouse.move(*to_page(page, -60 + 40 * t - 30 * t * t, -90 + 180 * t))
        page.wait_for_timeout(50)
    answered, bars = page.evaluate("() => [window.__seqs.size, window.__bars.size]")
    page.mouse.up()
    assert answered >= 3 and bars >= 3, f"{answered} drawings answered, {bars} different bars during the stroke"
    settles_on(page, readout(page)["digit"])  # the pen-up event's full answer agrees with the readout


def test_the_switch_of_network_reruns_the_drawing(page):
    """Each network, chosen in turn, answers the drawing as it stands: every one reads the drawn 7 as 7."""
    clear(page)
    draw(page, SEVEN)
    settles_on(page, "7")
    for model in models.available():
        page.click(f"#model label:has(input[value='{model}'])")
        page.wait_for_selector(f"#answer .dn-answer[data-model='{model}']", state="attached")
        page.wait_for_selector(f"#pad .dn-live[data-model='{model}']")  # the readout follows the choice
        assert answered(page) == "7", model
        assert readout(page)["digit"] == "7" and winner(page) == "7", model
        assert page.locator("#chart .bar").count() == 10


def test_the_network_dreams_digits_and_is_fooled(page):
    clear(page)
    grows = "cnn_oe" if "cnn_oe" in models.available() else "cnn"  # a network that cannot draw (was: the last one)
    page.click(f"#model label:has(input[value='{grows}'])")
    draw(page, SEVEN)
    settles_on(page, "7")
    page.click("#dream-button")
    page.wait_for_selector("#dreams .dn-dream >> nth=9")
    assert page.locator("#dreams .dn-dream").count() == 10
    assert page.locator("#dreams .dn-dream img.cells").count() == 10
    assert page.eval_on_selector("#dreams .dn-dream img.cells", "(i) => [i.naturalWidth, i.naturalHeight]") == [28, 28]
    page.click("#fool-button")  # "make it say" 3 by default
    page.wait_for_selector("#fooled .dn-fool[data-success='true']")
    assert page.locator("#fooled .bar.winner").get_attribute("data-digit") == "3"
    assert page.locator("#fooled figure").count() == 3  # yours, changed, the change


def test_the_network_that_draws_is_in_the_readout_and_shows_its_drawings(page):
    """vae_bayes chosen in the selector (labelled as what it is): the live readout answers with it; its dreams are
    its own drawings, ten with their samples, then the ten inputs gradient ascent grows on it."""
    if "vae_bayes" not in models.available():
        pytest.skip("no vae_bayes weights")
    clear(page)
    choice = page.locator("#model label:has(input[value='vae_bayes'])")
    assert "draws" in choice.inner_text()
    choice.click()
    draw(page, SEVEN)
    settles_on(page, "7")
    page.wait_for_selector("#pad .dn-live[data-model='vae_bayes']")
    assert readout(page)["digit"] == "7" and page.locator("#answer .dn-answer[data-model='vae_bayes']").count() == 1
    page.click("#dream-button")
    page.wait_for_selector("#dreams .dn-dream-view[data-model='vae_bayes']")
    assert page.locator("#dreams .dn-dreams[data-method='drawn'] > .dn-dream").count() == 10
    assert page.locator("#dreams .dn-dreams[data-method='drawn'] .dn-sample").count() >= 30
    assert page.locator("#dreams .dn-dreams[data-method='grown'] > .dn-dream").count() == 10
    assert "Drawn by the model" in page.inner_text("#dreams") and "gradient ascent" in page.inner_text("#dreams")
    page.click("#model label:has(input[value='cnn'])")
    page.wait_for_selector("#pad .dn-live[data-model='cnn']")


def test_the_exhibit_shows_every_networks_drawing_of_every_digit(page):
    """Can it draw what it recognises? One row per network, ten pictures each, each with its confidence."""
    page.click("#exhibit-button")
    names = models.available()
    page.wait_for_selector(f"#exhibit .dn-exhibit-row >> nth={len(names) - 1}")
    rows = page.locator("#exhibit .dn-exhibit-row")
    assert [rows.nth(i).get_attribute("data-model") for i in range(rows.count())] == names
    for name in names:
        row = f"#exhibit .dn-exhibit-row[data-model='{name}']"
        assert page.locator(f"{row} .dn-dream").count() == 10, name
        assert page.locator(f"{row} .dn-dream img.cells").count() == 10, name
        assert "% sure" in page.inner_text(f"{row} .dn-dream >> nth=0"), name
    if "vae_bayes" in names:
        assert page.get_attribute("#exhibit .dn-exhibit-row[data-model='vae_bayes']", "data-method") == "drawn"


def test_one_click_on_a_non_digit_example(page):
    page.click("button.gallery-item:has(img[src*='not_digit_letter_A'])")
    page.wait_for_selector("button[role=tab][aria-selected=true]:has-text('Upload')")
    assert re.fullmatch(r"\d", shown_digit(page))  # on the Upload tab the view below is the answer, headline included
    assert page.is_visible("#answer #chart") and page.is_visible("#headline .conf")
    assert page.locator("#chart .bar.winner").count() == 1
    if "cnn_oe" in models.available():
        page.wait_for_selector("#compare .dn-model[data-model='cnn_oe'] .dn-verdict.not-digit")


def touch(page, strokes: list[list[tuple[int, int]]]) -> None:
    """Real touch events (CDP Input.dispatchTouchEvent), as a finger draws."""
    cdp = page.context.new_cdp_session(page)
    for stroke in strokes:
        pts = [to_page(page, *stroke[0])]
        for (ax, ay), (bx, by) in zip(stroke, stroke[1:], strict=False):
            pts += [to_page(page, ax + (bx - ax) * t / 10, ay + (by - ay) * t / 10) for t in range(1, 11)]
        for kind, (x, y) in [("touchStart", pts[0])] + [("touchMove", p) for p in pts[1:]]:
            cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y}]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def in_view(page, selector: str) -> bool:
    box, vp = page.locator(selector).bounding_box(), page.viewport_size
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= vp["height"]


def test_a_finger_draws_on_a_phone_and_the_answer_stays_in_view(chromium, server):
    page = open_page(chromium, server, PHONE, has_touch=True, is_mobile=True, device_scale_factor=2)
    try:
        page.locator("#pad canvas").scroll_into_view_if_needed()
        before = page.evaluate("() => window.scrollY")
        touch(page, SEVEN)
        settles_on(page, "7")
        assert page.evaluate("() => window.scrollY") == before, "the finger scrolled the page instead of drawing"
        assert readout(page)["digit"] == "7"
        assert in_view(page, "#pad canvas")
        assert in_view(page, "#pad .dn-live-digit") and in_view(page, "#pad .dn-live-bars")
        if os.environ.get("DIGITNET_SCREENSHOT"):
            page.screenshot(path=str(Path(os.environ["DIGITNET_SCREENSHOT"]).with_name("screenshot_phone.png")))
    finally:
        page.context.close()


def test_the_dark_theme_draws_light_ink_and_reads_it(chromium, server):
    page = open_page(chromium, server, query="?__theme=dark")
    try:
        draw(page, ONE)
        settles_on(page, "1")
        ink = page.evaluate("""() => { const c = document.querySelector('#pad canvas');
          const d = c.getContext('2d').getImageData(c.width / 2, c.height / 2, 1, 1).data; return [...d]; }""")
        paper = page.evaluate("() => getComputedStyle(document.querySelector('#pad canvas')).backgroundColor")
        assert ink[3] == 255 and min(ink[:3]) > 150, ink  # light ink, fully opaque
        assert [int(v) for v in re.findall(r"\d+", paper)[:3]] < [100, 100, 100], paper  # on dark paper
    finally:
        page.context.close()


def test_tabs_closed_before_their_answers_leave_the_address_its_share(chromium, server, fresh_visitor):
    """A visitor who closes (or reloads) the page between pen-up and the answer: nobody will read that result, so it
    stops counting against the address's queue share (PER_CLIENT) once the page's stream is gone."""
    for _ in range(Limits().per_client + 4):
        page = open_page(chromium, server)
        draw(page, SEVEN, steps=4)
        page.context.close()
    time.sleep(Limits().join_grace + 1)
    fresh_visitor(server)
