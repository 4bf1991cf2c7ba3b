"""The page for everyone: axe-core (the npm package, injected into the real page) finds no violation before and
after drawing, in the light and the dark theme, on a desktop and a phone screen; the answer reads as a sentence,
announced politely; Undo and Clear work from the keyboard alone, with a visible focus."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_browser import DESKTOP, ONE, PHONE, SEVEN, draw, empty, open_page, readout, settles_on

from digitnet import share
from digitnet.drawing import PEN

AXE = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"
SENTENCE = re.compile(r"(\d), (\d+)% sure(, looks like a digit|, probably not a digit)?; next: (\d) at (\d+)%")


def violations(page) -> list[str]:
    """axe-core's violations on the page as it stands: 'rule: element, ...' lines."""
    if not AXE.exists():
        pytest.skip(f"{AXE} is missing: run `npm ci --omit=dev` (scripts/test.sh does)")
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("""async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
      .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`)""")
    return found


@pytest.mark.parametrize(
    ("theme", "viewport"),
    [("light", DESKTOP), ("dark", DESKTOP), ("light", PHONE), ("dark", PHONE)],
    ids=["light", "dark", "phone-light", "phone-dark"],
)
def test_axe_finds_no_violation_before_or_after_drawing(chromium, server, theme, viewport):
    page = open_page(chromium, server, viewport, query=f"?__theme={theme}")
    try:
        page.wait_for_selector("button.gallery-item[aria-label]")  # the examples are named once they are there
        assert violations(page) == []
        draw(page, SEVEN)
        settles_on(page, "7")
        page.wait_for_selector("#compare .dn-model")
        assert violations(page) == []
    finally:
        page.context.close()


def test_the_answer_reads_as_a_sentence_announced_politely(chromium, server):
    """The readout's text alternative says the digit, how sure, the verdict and the runner-up; the visual parts
    are hidden from screen readers, the sentence sits in a polite status region; every chart is named by it."""
    page = open_page(chromium, server)
    try:
        status = page.get_by_role("status").filter(has_text="Draw a digit")
        assert status.count() == 1 and status.get_attribute("aria-live") == "polite"
        draw(page, SEVEN)
        settles_on(page, "7")
        said = page.inner_text("#pad .dn-live-say")
        m = SENTENCE.fullmatch(said)
        assert m and m[1] == "7", said
        probabilities = page.eval_on_selector_all("#answer .bar", "(bs) => bs.map((b) => +b.dataset.p)")
        runner_up = sorted(range(10), key=lambda d: -probabilities[d])[1]
        assert int(m[4]) == runner_up and int(m[2]) == round(100 * max(probabilities))
        assert m[3], "the selected network (cnn) has a verdict: the sentence says it"
        assert page.get_by_role("status").filter(has_text=said).count() == 1
        hidden = page.eval_on_selector_all("#pad .dn-live > [aria-hidden='true']", "(es) => es.length")
        # the digit, "% sure", the verdict pill, "catching up" and the bars: read once, as the sentence
        assert hidden == 5
        assert page.get_attribute("#answer .dn-chart", "role") == "img"
        assert page.get_attribute("#answer .dn-chart", "aria-label").endswith(said)
        names = page.eval_on_selector_all("#compare .dn-chart", "(cs) => cs.map((c) => c.getAttribute('aria-label'))")
        assert len(names) == page.locator("#compare .dn-model").count()
        assert all(SENTENCE.search(n) for n in names), names
        assert readout(page)["digit"] == "7"
    finally:
        page.context.close()


def focus_on(page, selector: str, presses: int = 40) -> dict:
    """Press Tab until `selector` has the focus (fails if it never does); its outline as then drawn."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate(f"() => document.activeElement?.matches({selector!r})"):
            return page.evaluate("() => { const s = getComputedStyle(document.activeElement); "
                                 "return {style: s.outlineStyle, width: parseFloat(s.outlineWidth)}; }")  # fmt: skip
    raise AssertionError(f"{selector} was not reached with Tab in {presses} presses")


def test_undo_and_clear_work_from_the_keyboard_alone_with_a_visible_focus(chromium, server):
    """No pointer at all: a shared link puts a 1 and a stroke across it on the pad; Tab reaches Undo (Enter takes
    the stroke back: a 1 again) and Clear (Space empties the pad), each with a visible focus ring."""
    across = [(100, 200), (180, 80)]
    one = [[(140 + dx, 140 + dy) for dx, dy in s] for s in ONE]
    page = open_page(chromium, server, query="#" + share.encode([*one, across], PEN, "cnn"))
    try:
        page.wait_for_selector("#pad .dn-live[data-seq='1'][data-asked='1']")  # the link's drawing answered
        ring = focus_on(page, "#pad .dn-undo")
        assert ring["style"] != "none" and ring["width"] >= 2, ring
        page.keyboard.press("Enter")
        page.wait_for_selector("#pad .dn-live[data-asked='2']")
        settles_on(page, "1")
        ring = focus_on(page, "#pad .dn-clear")
        assert ring["style"] != "none" and ring["width"] >= 2, ring
        page.keyboard.press(" ")
        empty(page)
    finally:
        page.context.close()
