"""A drawing in a link: the fragment's format and its limits (the same as /draw's), and in the real page, the round
trip (draw, copy the link, open it: the same answers) and the links that cannot be opened (one message, an empty
pad, nothing sent to the server)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from test_browser import SEVEN, TIMEOUT_MS, draw, open_page, readout, settles_on

from digitnet import pad, share
from digitnet.drawing import CANVAS, MARGIN, MAX_POINTS, MAX_STROKES, PEN, parse
from digitnet.lab.strokes import PEN_DIGITS
from digitnet.preprocess import InputError


@pytest.mark.parametrize("digit", sorted(PEN_DIGITS))
def test_a_drawing_survives_its_link_to_a_tenth_of_a_pixel(digit):
    strokes = [[(x + 0.3, y - 0.2) for x, y in s] for s in PEN_DIGITS[digit]]  # canvas pixels, as the pad's
    back, width, model = share.decode("#" + share.encode(strokes, PEN, "cnn_oe"))
    assert (width, model) == (PEN, "cnn_oe") and len(back) == len(strokes)
    for a, b in zip(strokes, back, strict=True):
        assert len(a) == len(b)
        assert all(abs(p - q) < 1e-9 for pa, pb in zip(a, b, strict=True) for p, q in zip(pa, pb, strict=True))


def test_the_largest_drawing_draw_accepts_fits_in_a_link():
    """The length limit is the longest link /draw's largest drawing makes: MAX_STROKES strokes of
    MAX_POINTS points in all, every step the longest a point may jump."""
    far, near = -MARGIN, CANVAS + MARGIN
    per = MAX_POINTS // MAX_STROKES
    strokes = [[(far, far) if i % 2 else (near, near) for i in range(per)] for _ in range(MAX_STROKES)]
    parse({"strokes": [[c for p in s for c in p] for s in strokes], "width": PEN})  # /draw takes it
    fragment = share.encode(strokes, PEN, "cnn")
    assert len(fragment.split(".")[-1]) <= share.MAX_DATA
    assert share.decode(fragment)[0] == [[(float(x), float(y)) for x, y in s] for s in strokes]


def bad(strokes, width=PEN, model="cnn") -> str:
    return share.encode(strokes, width, model)


@pytest.mark.parametrize(
    ("fragment", "message"),
    [
        (bad([[(10, 10)]] * (MAX_STROKES + 1)), f"{MAX_STROKES + 1} strokes; the limit is {MAX_STROKES}"),
        (bad([[(10, 10)] * (MAX_POINTS + 1)]), f"more than {MAX_POINTS:,} points"),
        (bad([[(10, 10), (CANVAS + MARGIN + 1, 10)]]), "within"),
        (bad([[(10, 10)]], width=1), "pen width must be"),
        (bad([[(10, 10)]], width=65), "pen width must be"),
        (bad([[(10, 10)]], width=1000), "not a drawing link"),  # width: at most 3 digits, before any int()
        (bad([[(10, 10)]]) + "AA", "left over"),
        (bad([[(10, 10), (20, 20)]])[:-4], "cut short"),
        (bad([[(10, 10)]]).replace("v1", "v9"), "not a drawing link"),
        (bad([[(10, 10)]], model="cnn;alert(1)"), "not a drawing link"),
        ("draw=v1.cnn.20.@@@@", "not base64url"),
        ("draw=v1.cnn.20." + "A" * (share.MAX_DATA + 100), "characters long"),
        ("draw=v1.cnn.20." + "gICAgAE", "malformed"),  # a varint longer than 3 bytes
        ("something else", "not a drawing link"),
    ],
)
def test_a_link_beyond_draws_limits_or_malformed_gives_a_message(fragment, message):
    with pytest.raises(InputError, match=message):
        share.decode(fragment)


# --- in the browser ------------------------------------------------------------------------------------------


def compared(page) -> dict[str, str]:
    """Every network's digit in the comparison."""
    return page.eval_on_selector_all(
        "#compare .dn-model", "(ms) => Object.fromEntries(ms.map((m) => [m.dataset.model, m.querySelector("
        "'.dn-title').innerText.split(': ')[1]]))")  # fmt: skip


def test_a_link_opens_the_same_drawing_and_every_networks_answer(chromium, server):
    """Draw a 7, copy the link, open it in a new page: the same network selected, the same answer, from every
    network; the link holds the strokes as drawn (Python's decoder reads what the page wrote)."""
    page = open_page(chromium, server, permissions=["clipboard-read", "clipboard-write"])
    try:
        assert page.is_disabled("#pad .dn-share")  # nothing drawn: nothing to share
        page.click("#model label:has(input[value='mlp'])")
        draw(page, SEVEN)
        settles_on(page, "7")
        page.wait_for_selector("#compare .dn-model >> nth=0")
        before = compared(page)
        page.click("#pad .dn-share")
        page.wait_for_selector("#pad .dn-share-note:has-text('Link copied')")
        link = page.input_value("#pad .dn-link")
        assert page.evaluate("() => navigator.clipboard.readText()") == link == page.url
        strokes, width, model = share.decode(link.split("#", 1)[1])
        assert (len(strokes), width, model) == (1, PEN, "mlp") and len(strokes[0]) > 4
    finally:
        page.context.close()
    opened = chromium.new_context(viewport={"width": 1280, "height": 1000}).new_page()
    opened.set_default_timeout(TIMEOUT_MS)
    try:
        opened.goto(link)
        settles_on(opened, "7")
        assert readout(opened)["model"] == "mlp" and opened.is_checked("#model input[value='mlp']")
        opened.wait_for_function(f"() => document.querySelectorAll('#compare .dn-model').length === {len(before)}")
        assert compared(opened) == before
        ink = opened.evaluate("() => { const c = document.querySelector('#pad canvas'); "
                              "return c.getContext('2d').getImageData(0, 0, c.width, c.height).data"
                              ".filter((v, i) => i % 4 === 3 && v > 0).length; }")  # fmt: skip
        assert ink > 1000  # the strokes are on the pad
    finally:
        opened.context.close()


OVERSIZED = bad([[(10, 10)]] * (MAX_STROKES + 1))


@pytest.mark.parametrize(
    ("fragment", "message"),
    [
        ("draw=v1.cnn.20.%%%not-base64", "not a drawing link"),
        ("draw=v1.nosuchnet.20." + bad([[(10, 10)]]).split(".")[-1], "unknown network"),
        (OVERSIZED, f"{MAX_STROKES + 1} strokes"),
        ("draw=v1.cnn.20." + "A" * (share.MAX_DATA + 100), "characters long"),
    ],
    ids=["malformed", "unknown network", "too many strokes", "too long"],
)
def test_a_link_that_cannot_be_opened_says_so_on_an_empty_pad(chromium, server, fragment, message):
    """One message in the readout (and to screen readers), an empty pad, nothing sent to the server; the page
    still answers a drawing afterwards."""
    page = chromium.new_context(viewport={"width": 1280, "height": 1000}).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    sent = []
    page.on("request", lambda r: sent.append(r.post_data or "") if r.method == "POST" else None)
    try:
        page.goto(f"{server.url}#{fragment}")
        page.wait_for_selector("#pad .dn-live-text:has-text('cannot be opened')")
        text = page.inner_text("#pad .dn-live-text")
        assert message in text and text == page.inner_text("#pad .dn-live-say")
        assert page.evaluate("() => { const c = document.querySelector('#pad canvas'); return c.getContext('2d')"
                             ".getImageData(0, 0, c.width, c.height).data.every((v) => v === 0); }")  # fmt: skip
        assert page.is_disabled("#pad .dn-share")
        assert not [body for body in sent if "strokes" in body]
        draw(page, SEVEN)
        settles_on(page, "7")
        assert "#" not in page.url  # drawing replaces the link that could not be opened
    finally:
        page.context.close()


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js")
@pytest.mark.parametrize("digit", sorted(PEN_DIGITS))
def test_the_pages_links_are_the_same_as_pythons(digit):
    """The page's encodeLink and decodeLink (digitnet/web/share.js, run by Node.js) write and read the links
    share.py does: the same fragment for the same drawing, the same strokes back from it."""
    strokes = [[(x + 0.3, y - 0.2) for x, y in s] for s in PEN_DIGITS[digit]]
    flat = [[c for p in s for c in p] for s in strokes]
    fragment = share.encode(strokes, PEN, "cnn")
    script = (
        pad.share_js()
        + f"""
const out = {{ link: encodeLink({json.dumps(flat)}, {PEN}, "cnn"), back: decodeLink({json.dumps(fragment)}, ["cnn"]) }};
console.log(JSON.stringify(out));"""
    )
    ran = json.loads(subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True).stdout)
    assert ran["link"] == fragment
    back, width, model = share.decode(fragment)
    assert ran["back"] == {"strokes": [[c for p in s for c in p] for s in back], "width": width, "model": model}
