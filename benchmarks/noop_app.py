"""The no-op baseline: the app's very page (digitnet.page.layout: same components, layout, endpoints, queue and
upload settings), with event functions that return constants and no network loaded, so a benchmark against it
measures what Gradio itself costs. Each answer carries a counter, so a browser sees the output change on every
stroke.
"""

from __future__ import annotations

import itertools
import os

from digitnet import live as pad_live
from digitnet import models
from digitnet.page import Handlers, concurrency, guard_limits, launch_options, layout
from digitnet.server import App, middleware
from digitnet.settings import Settings

NAMES = models.available()  # only the names, for the network selector: nothing is loaded
_count = itertools.count()


def show(image, model: str) -> tuple:
    """A constant answer whose digit counts the calls, so that the page changes on every drawing."""
    n = next(_count)
    probs = [1.0 if d == n % 10 else 0.0 for d in range(10)]
    answer = {"model": model, "label": model, "digit": n % 10, "confidence": 1.0, "probabilities": probs,
              "verdict": None, "scores": []}  # fmt: skip
    return answer, None, [], None


def switch(x, model: str) -> tuple:
    return show(x, model)[:3]


def dream(model: str, smooth: bool = False) -> None:
    return None


def fool(x, model: str, target: int) -> None:
    return None


def live(request: dict | None) -> dict:
    """The pad's live readout, with a constant answer whose digit counts the calls."""
    request = request if isinstance(request, dict) else {}
    return {"seq": request.get("seq"), "answer": show(None, request.get("model", "cnn"))[0]}


def constants(drawings: list[pad_live.Drawing]) -> list[dict]:
    """The batcher's answers, constant as `live`'s."""
    return [{"seq": d.seq, "answer": show(None, d.model)[0]} for d in drawings]


def classify(path, model: str = "cnn") -> dict:
    return {"digit": 7, "confidence": 1.0, "probabilities": [0.0] * 7 + [1.0] + [0.0] * 2, "empty": False}


CONCURRENCY = concurrency(on_gpu=False, cpus=os.cpu_count() or 1)  # as the app on this machine's CPU
batcher = pad_live.Batcher(constants, NAMES, "cnn")  # the pad's connection, constant answers
demo = layout(NAMES, Handlers(show, show, switch, classify, dream, fool, live, batcher=batcher), CONCURRENCY)
settings = Settings.from_env(os.environ)
app = App(demo, guard_limits(settings), batcher, launch_options(), settings)


def launch(**kwargs):
    """Gradio's own launch() (no WebSocket: the pad answers over HTTP), with the app's guard."""
    return demo.launch(**launch_options(), app_kwargs={"middleware": middleware(app)}, **kwargs)


if __name__ == "__main__":
    launch()
