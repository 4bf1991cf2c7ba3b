"""The no-op baseline: the app's very page (digitnet.page.layout: same components, layout, endpoints, queue and
upload settings), with event functions that return constants and no network loaded, so a benchmark against it
measures what Gradio itself costs. Each answer carries a counter, so a browser sees the output change on every
stroke.
"""

from __future__ import annotations

import itertools
import os

from digitnet import models
from digitnet.page import Handlers, concurrency, launch_options, layout

NAMES = models.available()  # only the names, for the network selector: nothing is loaded
_count = itertools.count()
CHART = "<div class='dn-chart'>" + "".join(f"<div class='bar' data-digit='{d}'></div>" for d in range(10)) + "</div>"


def show(image, model: str) -> tuple:
    n = next(_count)
    return f"<div class='dn-head' data-n='{n}'>{n}</div>", CHART, "<div></div>", "<div></div>", None


def switch(x, model: str) -> tuple:
    return show(x, model)[:4]


def classify(path, model: str = "cnn") -> dict:
    return {"digit": 7, "confidence": 1.0, "probabilities": [0.0] * 7 + [1.0] + [0.0] * 2, "empty": False}


CONCURRENCY = concurrency(on_gpu=False, cpus=os.cpu_count() or 1)  # as the app on this machine's CPU
demo = layout(NAMES, Handlers(show, show, switch, classify), CONCURRENCY)


def launch(**kwargs):
    return demo.launch(**launch_options(), **kwargs)


if __name__ == "__main__":
    launch()
