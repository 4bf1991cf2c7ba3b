"""The drawing pad: a <canvas> in a gr.HTML, drawn with pointer events (mouse, pen and touch alike).

Its value is the drawing as strokes ({"strokes": [[x0, y0, ...], ...], "width": pen, "seq": n}, canvas pixels;
see digitnet/drawing.py), set at pen-up, Undo and Clear; `seq` makes every one a change. That `.change` event
goes through the queue and fills the page's views. While the pen moves, the pad asks the server for the selected
network's answer and shows it in a readout under the canvas: over its own WebSocket (digitnet/live.py, where the
server batches every visitor's drawings), else through the `live` component server function (HTTP, no queue). One
drawing in flight at a time and at most one per GAP ms, the latest drawing sent when the previous answer arrives;
at pen-up the finished drawing is sent at once, marked final (the server answers it ahead of live drawings), and an
answer older than the one shown is dropped. When the newest drawing has waited LATE ms, the readout says it is
catching up. Its markup, style and script: digitnet/web/pad.html, pad.css and pad.js.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import gradio as gr

from digitnet import share, web
from digitnet.drawing import CANVAS, MARGIN, MAX_PEN, MAX_POINTS, MAX_STROKES, MIN_PEN, PEN

GAP = 40  # ms: at most one live request per GAP while the pen moves (25 a second), and one in flight at a time
LATE = 300  # ms: a drawing unanswered this long makes the readout say it is catching up
PROMPT = "Draw a digit: the answer follows your pen."


def html() -> str:
    """The pad's markup (digitnet/web/pad.html): the canvas, the readout and its ten bars, the buttons."""
    bars = "".join(f'<div class="b"><i data-digit="{d}"></i><span>{d}</span></div>' for d in range(10))
    return web.fill(web.source("pad.html"), CANVAS=CANVAS, PROMPT=PROMPT, BARS=bars)


def share_js() -> str:
    """Links to a drawing in the browser (digitnet/web/share.js: encodeLink, decodeLink), with
    digitnet/share.py's format and /draw's limits."""
    limits = dict(MAX_STROKES=MAX_STROKES, MAX_POINTS=MAX_POINTS, MIN_PEN=MIN_PEN, MAX_PEN=MAX_PEN)
    low, high = -MARGIN * share.UNIT, (CANVAS + MARGIN) * share.UNIT
    link = dict(KEY=share.KEY, VERSION=share.VERSION, MAX_DATA=share.MAX_DATA, UNIT=share.UNIT, LOW=low, HIGH=high)
    return web.fill(web.source("share.js"), **link, **limits)


def js() -> str:
    """The pad's script (digitnet/web/pad.js), after the two it uses: say.js for the readout's sentence and
    share.js for links."""
    values = dict(CANVAS=CANVAS, PEN=PEN, MAX_POINTS=MAX_POINTS, GAP=GAP, LATE=LATE, KEY=share.KEY)
    pad = web.fill(web.source("pad.js"), **values, PROMPT=json.dumps(PROMPT))
    return "\n".join([web.source("say.js"), share_js(), pad])


def DrawPad(live: Callable[[dict | None], dict], **kwargs) -> gr.HTML:
    """The pad as a Gradio component: its `.change` fires with the finished drawing as its value, and `live`
    (named `live`: the page's JavaScript calls it by that name) answers the drawing while the pen moves."""
    if live.__name__ != "live":
        raise ValueError("the pad calls its server function as server.live: name it `live`")
    return gr.HTML(
        None,
        html_template=html(),
        css_template=web.source("pad.css"),
        js_on_load=js(),
        server_functions=[live],
        **kwargs,
    )
