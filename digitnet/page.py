"""The web page: its layout, the functions behind its events, and the serving settings.

`build(networks)` returns what digitnet/server.py serves (server.App: the Gradio Blocks, the pad's batcher, the
guard's limits, the mount options) for explicitly loaded networks; app.py calls it once. `layout` takes the event
functions as data, so the no-op baselines in benchmarks/ serve the very same page without networks.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import gradio as gr
import numpy as np

from digitnet import accessible, components, drawing, explore, feedback, live, views, visitors, visitors_push, web
from digitnet.client import CLIENT
from digitnet.guard import MULTIPART_SLACK, Limits
from digitnet.pad import DrawPad
from digitnet.predict import Analysis, Networks, Prediction
from digitnet.preprocess import EmptyImage, InputError, preprocess
from digitnet.server import App
from digitnet.settings import Settings

MAX_FILE_MB = 5
MAX_FILE_SIZE = f"{MAX_FILE_MB}mb"
QUEUE_SIZE = 64
# Gradio keeps each session's state (the drawing's 28x28 input, for network switches and "fool it"), a copy of the
# page's settings and the latest value of every input and output, the pad's strokes included, for this many
# sessions, the least recently used dropped first (its default: 10,000). Measured (benchmarks/session_memory.py):
# 132 KB a session with a typical drawing, 414 KB with a large one (5,000 points; 514 KB in a first run of 300
# sessions), so about 60-80 MB at most.
SESSIONS = 150
EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
TITLE = "digitnet: how sure is a network that has only seen digits?"

INTRO = (
    "# digitnet\nDraw a digit or upload any image. The networks have only ever seen handwritten digits: "
    "watch how confident they stay on things that are not digits."
)
EXPLANATION = """
## What the chart means
The bars are the network's probabilities for the ten digits 0-9; they always add up to 100%.
The network was trained only on handwritten digits (MNIST), and its last layer (a softmax) *must* share
100% among the ten digits: it has no way to answer "none of these". So when you show it a letter, a
scribble or a photo, it still picks the digit whose pattern is closest, often with high confidence.
Try the non-digit examples: the plain networks are confidently wrong. Where a network has a calibrated
"is it a digit at all?" score, the verdict under the answer says so; the CNN trained with *outlier
exposure* has also seen non-digits during training and learned to spread its probability over all ten.
Because many of those non-digits are pen strokes, it was also shown digits re-drawn with straight strokes,
as a mouse draws them, so that it does not take your drawn digits for non-digits.
"What the network sees" is your input after the same preparation as MNIST: the ink's bounding box
scaled to 20x20 pixels and centred by its centre of mass in a 28x28 frame.
"""
EXPLORE = """
## Has the network learned what digits look like?
If it had, it could draw them. **What does it think each digit looks like?** grows, from a blank image, the input
the selected network is most sure is each digit (gradient ascent on the pixels): the plain networks are more than
99.99% sure of patterns nobody reads as that digit; the network trained on non-digits is harder to make sure (for
some digits it stays near 10%), yet its verdict calls few of them "not a digit". *Smooth strokes* adds blur and
jitter, so the strokes it favours show. **Fool it** finds a small change to your drawing that makes the network
say another digit with 99% confidence. Watch whether the "not a digit" verdict notices either. The VAE network
draws: for it the button shows its own drawings of each digit first, then what gradient ascent grows on it.
"""
EXHIBIT = """
## Can it draw what it recognises?
A network that had learned what digits look like could draw them. The button puts every network's picture of every
digit side by side, each judged by the network that made it: how sure it is, and whether its own verdict calls it a
digit. The plain MLP and CNN cannot draw; the best they can do is the input they are most sure of, grown by gradient
ascent. The CNN taught with non-digits grows its own attempt. The VAE network holds a model of what each digit looks
like, and the same weights that classify draw each digit. Look for the rows you can read as digits, the ones their
network is sure of anyway, and the ones its own verdict calls "not a digit". **Fool it** works on every network: see
how large a change each one needs, and whether the changed drawing starts to look like the new digit.
"""

Views = tuple[dict | None, dict | None, list[dict]]  # the answer, what the network sees, every answer (data)


@dataclass
class Handlers:
    """The functions behind the page's events."""

    show: Callable[..., tuple]  # (upload, model) -> (*views, the 28x28 input kept for switches)
    draw: Callable[..., tuple]  # (the pad's strokes, model) -> the same
    switch: Callable[[np.ndarray | None, str], Views]  # (kept input, model) -> views
    classify: Callable[[str | None, str], dict]  # (image file, model) -> the prediction as JSON
    dream: Callable[[str, bool], dict]  # (model, smooth) -> what it thinks each digit looks like (views.dreams)
    fool: Callable[[np.ndarray | None, str, int], dict]  # (kept input, model, digit to say) -> views.fooled
    live: Callable  # the pad's drawing while the pen moves -> {"seq", "answer" | "error"} (HTTP; may be async)
    exhibit: Callable[[], list[dict]] = field(default=lambda: [])  # every network's picture of every digit
    feedback: Callable[..., dict] | None = None  # (drawing, model, label) -> kept? (feedback.py; None: no control)
    batcher: live.Batcher | None = None  # the pad's connection answers through it (live.py; None: HTTP only)


def prepare(image) -> np.ndarray | None:
    """Any drawing or upload -> the 28x28 network input, or None when nothing is drawn (InputError passes)."""
    if image is None:
        return None
    try:
        return preprocess(image)
    except EmptyImage:
        return None


def _prepared(image, read: Callable = prepare) -> np.ndarray | None:
    try:
        return read(image)
    except InputError as e:
        raise gr.Error(str(e)) from e


def handlers(networks: Networks, gpu: Callable | None = None, settings: Settings | None = None) -> Handlers:
    """The real event functions. `gpu` wraps the functions that run the networks (spaces.GPU on ZeroGPU);
    `settings`: where visitors' drawings are kept (default: nowhere)."""
    settings = settings or Settings()
    on_device = gpu or (lambda f: f)  # the functions that run the networks: on the GPU under ZeroGPU
    analyse: Callable[[np.ndarray | None, str], Analysis] = on_device(networks.analyse)
    predict: Callable[[np.ndarray | None, str], Prediction] = on_device(networks.predict)
    predict_many: Callable[[list], list[Prediction]] = on_device(networks.predict_many)  # one GPU call a batch
    explore_drawings, explore_fool = on_device(explore.drawings), on_device(explore.fool)
    # What each network thinks the digits look like is seeded, so the same for every visitor: made once per
    # (network, smooth), at most 2 per network, on the first request that asks for it.
    pictures: dict[tuple[str, bool], dict] = {}
    default = default_model(networks.names)

    def show(image, model: str) -> tuple:
        x = _prepared(image)
        return (*views.render(analyse(x, model), model), x)

    def draw(strokes: dict | None, model: str) -> tuple:
        """The pad's drawing (strokes in canvas pixels, see digitnet/drawing.py) -> the same as an upload."""
        x = _prepared(strokes, drawing.to_input)
        return (*views.render(analyse(x, model), model), x)

    def switch(x: np.ndarray | None, model: str) -> Views:
        if x is None:  # nothing drawn: no call to the networks (under ZeroGPU, no wait for a GPU for nothing)
            return views.render(Analysis(None), model)
        return views.render(analyse(x, model), model)

    def classify(path: str | None, model: str = default) -> dict:
        """An image file and a model name -> the prediction as JSON (digit is None when nothing is drawn)."""
        if path is None:
            raise gr.Error("no file given")
        x = _prepared(path)
        if x is None:
            return Prediction.blank(model).to_dict() | {"message": views.PROMPT}
        return analyse(x, model).predictions[model].to_dict()

    def dream(model: str, smooth: bool = False) -> dict:
        """What `model` thinks each digit looks like (explore.drawings): the input each digit's probability is
        highest for, grown from a blank image; a network that draws gives its own drawings first."""
        if model not in networks.names:
            raise gr.Error(f"unknown network; choose one of {', '.join(networks.names)}")
        key = (model, bool(smooth))
        if key not in pictures:
            pictures[key] = views.drawings(explore_drawings(networks.predictors[model], regularised=key[1]))
        return pictures[key]

    def exhibit() -> list[dict]:
        """Can it draw what it recognises? Every network's picture of every digit (drawn, or else grown), as
        /dream gives it without smoothing."""
        return [{k: v for k, v in dream(name).items() if k != "grown"} for name in networks.names]

    def fool(x: np.ndarray | None, model: str, target: int) -> dict:
        """The smallest change to the current input that makes `model` say `target` (explore.fool)."""
        if x is None:
            raise gr.Error("draw a digit first (or pick an example): fooling changes your input")
        if isinstance(target, bool) or target not in range(10):
            raise gr.Error("the digit to make the network say must be 0-9")
        return views.fooled(explore_fool(networks.predictors[model], x, int(target)))

    batcher = live.Batcher(live.answering(predict_many), networks.names, default)

    async def live_answer(request: dict | None, visitor: gr.Request = None) -> dict:
        """The pad's live readout over HTTP: {"strokes", "width", "seq", "model", "final"} -> {"seq", "answer"}
        (or "error"). A component server function: a plain POST that skips the queue; it joins the batches of the
        pad's own connection (digitnet/live.py), a pen-up drawing ("final": true) ahead of live ones.
        digitnet/guard.py holds each client to LIVE_PER_CLIENT at once."""
        return await batcher.reply(request, _client(visitor))

    live_answer.__name__ = "live"  # the pad calls it as server.live
    kept = feedback.handler(predict, networks.names, functools.partial(visitors_store, settings))
    return Handlers(show, draw, switch, classify, dream, fool, live_answer, exhibit, kept, batcher)


def _client(visitor: gr.Request | None) -> str:
    """Who sent a request, as digitnet/guard.py decided (for the batches' turns)."""
    request = getattr(visitor, "request", None)
    return str(getattr(request, "scope", {}).get(CLIENT, ""))


def default_model(names: list[str]) -> str:
    return "cnn" if "cnn" in names else names[0]


def concurrency(on_gpu: bool, cpus: int) -> int:
    """Requests run at once: 8 on a GPU; on a CPU one per core, at most 4 (each runs single-threaded)."""
    return 8 if on_gpu else max(1, min(4, cpus))


def example_files() -> list[str]:
    """The gallery: real MNIST test digits first, then things that are not digits (see scripts/make_examples.py)."""
    files = sorted(EXAMPLES_DIR.glob("*.png"), key=lambda p: (not p.name.startswith("digit"), p.name))
    return [str(p) for p in files]


def _view(value, template: str, label: str, elem_id: str) -> gr.HTML:
    """A view: its value is data, its template renders it (views.py)."""
    return gr.HTML(value, html_template=template, css_template=views.css(), label=label, elem_id=elem_id)


def layout(names: list[str], h: Handlers, concurrency_limit: int) -> gr.Blocks:
    """The page for networks `names`, wired to `h`, with its queue set up.

    The answer (digit, confidence, bars) sits directly under the pad, so it stays in view while drawing, also on
    a phone where the columns stack; the network selector, what the network sees and the examples come after.
    """
    default = default_model(names)
    # Uploaded images are cached on disk by Gradio; a public demo deletes them after an hour.
    with gr.Blocks(title=TITLE, delete_cache=(600, 3600)) as demo:
        gr.Markdown(INTRO, elem_id="intro")
        seen = gr.State(None)  # the current input as the network's 28x28 array (None: nothing drawn)
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=320):
                with gr.Tabs() as tabs:
                    with gr.Tab("Draw", id="draw"):
                        pad = DrawPad(h.live, elem_id="pad", padding=False)
                    with gr.Tab("Upload", id="upload"):
                        upload = components.Image(
                            type="filepath",
                            image_mode=None,
                            sources=["upload", "clipboard", "webcam"],
                            label="Upload, paste or photograph an image",
                            elem_id="upload",
                        )
                answer = _view(None, views.template("answer"), "Prediction", "answer")
                is_right = feedback.control() if h.feedback else None
            with gr.Column(scale=1, min_width=320):
                model = gr.Radio([(views.label(n), n) for n in names], value=default, label="Network", elem_id="model")
                gr.Markdown("**What the network sees**")
                pixels = _view(None, views.template("pixels"), "What the network sees", "pixels")
                examples = gr.Examples(
                    example_files(),
                    inputs=upload,
                    label="Examples: real MNIST test digits, then things that are not digits",
                    examples_per_page=16,
                    cache_examples=False,
                )
        gr.Markdown(EXPLORE, elem_id="explore-intro")
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=320):
                with gr.Row():
                    smooth = gr.Checkbox(False, label="Smooth strokes (blur and jitter)", elem_id="smooth")
                    dream_button = gr.Button("What does it think each digit looks like?", elem_id="dream-button")
                dreams = _view(None, views.template("dreams"), "What the network thinks digits look like", "dreams")
            with gr.Column(scale=1, min_width=320):
                with gr.Row():
                    target = gr.Dropdown(list(range(10)), value=3, label="Make it say", elem_id="target")
                    fool_button = gr.Button("Fool it: change my drawing a little", elem_id="fool-button")
                fooled = _view(None, views.template("fool"), "Fooling the network", "fooled")
        gr.Markdown(EXHIBIT, elem_id="exhibit-intro")
        exhibit_button = gr.Button("Show every network's drawing of every digit", elem_id="exhibit-button")
        exhibit = _view(None, views.template("exhibit"), "Can it draw what it recognises?", "exhibit")
        with gr.Accordion("Compare the networks side by side", open=True):
            compare = _view([], views.template("compare"), "All networks", "compare")
        gr.Markdown(EXPLANATION)

        with gr.Row(visible=False):  # the JSON endpoint for API clients (see the README)
            api_file = components.File(type="filepath")
            api_model = gr.Dropdown(names, value=default)
            api_out = gr.JSON()
            api_button = gr.Button()

        outputs = [answer, pixels, compare]
        quiet = dict(show_progress="hidden", trigger_mode="always_last")
        if is_right is not None:  # first: its reset of the note on pad.change runs before /draw is queued
            is_right.wire(pad, model, h.feedback, seen)
        # While the pen moves the pad sends at most one drawing per frame; only the latest waits, stale ones drop.
        pad.change(h.draw, [pad, model], [*outputs, seen], api_name="draw", **quiet)
        upload.change(h.show, [upload, model], [*outputs, seen], api_name="upload", **quiet)
        model.change(h.switch, [seen, model], outputs, api_name="switch_model", **quiet)
        examples.load_input_event.then(lambda: gr.Tabs(selected="upload"), None, tabs, api_visibility="private")
        api_button.click(h.classify, [api_file, api_model], api_out, api_name="classify")
        # Each takes a second or two of CPU: one at a time, so that they never hold up live drawing.
        slow = dict(concurrency_limit=1, concurrency_id="explore", show_progress="minimal")
        dream_button.click(h.dream, [model, smooth], dreams, api_name="dream", **slow)
        fool_button.click(h.fool, [seen, model, target], fooled, api_name="fool", **slow)
        exhibit_button.click(h.exhibit, None, exhibit, api_name="exhibit", **slow)
    # api_open=False: no direct POST /gradio_api/run/... that would skip the queue and its per-client share.
    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=concurrency_limit, api_open=False)
    return demo


def build(networks: Networks, settings: Settings, gpu: Callable | None = None, cpus: int = 1) -> App:
    """The app for these networks and settings, as digitnet/server.py serves it (`gpu`: the decorator for the
    function that runs them)."""
    h = handlers(networks, gpu, settings)
    blocks = layout(networks.names, h, concurrency(networks.on_gpu, cpus))
    return App(blocks, guard_limits(settings), h.batcher, launch_options(), settings)


def guard_limits(settings: Settings) -> Limits:
    """The guard's limits for the page's upload size and the feedback rate; DIGITNET_UPLOAD_MB_PER_MINUTE and
    DIGITNET_UPLOADS_HELD_MB make the upload budgets smaller for a test server (tests/test_guard.py)."""
    sizes = {}
    if settings.upload_mb_per_minute is not None:
        sizes["upload_bytes_per_minute"] = int(settings.upload_mb_per_minute * 2**20)
    if settings.uploads_held_mb is not None:
        sizes["uploads_held"] = int(settings.uploads_held_mb * 2**20)
    rates = ((feedback.GROUP, settings.feedback_per_minute),)
    limits = Limits(max_upload=MAX_FILE_MB * 2**20 + MULTIPART_SLACK, event_rates=rates)
    return replace(limits, **sizes)


def visitors_store(settings: Settings) -> visitors.Store | None:
    """The visitors' store as set (None: DIGITNET_VISITORS_DIR=off, nothing kept), its push started when a
    repository is set (digitnet/visitors_push.py; the scheduler's own thread keeps it going)."""
    if settings.visitors_dir is None:
        return None
    store = visitors.Store(settings.visitors_dir, settings.visitors_max_rows, settings.visitors_max_bytes,
                           settings.version)  # fmt: skip
    visitors_push.start(store, settings.visitors_repo, settings.visitors_push_minutes)
    return store


def launch_options() -> dict:
    """The serving settings the page needs, as keyword arguments of demo.launch() and of gr.mount_gradio_app
    (digitnet/server.py, App.options): the upload limit, the page's own CSS, how many sessions Gradio keeps, and
    no server-side rendering (a Node server in front of the app would be outside the guard's limits)."""
    # The page's own CSS (web/page.css). On a phone the pad and the answer must share one screen: the intro's
    # sentence waits in the explanation below. One answer: on the Draw tab the readout under the pad is the
    # answer; the view below it adds only the reasons. Until the pad is on the page, only the intro shows: Gradio
    # draws the text below first and the pad pushed it down as it arrived (Lighthouse, mobile: layout shift
    # 0.91 -> 0.00, performance 22 -> 44; benchmarks/lighthouse.py).
    return dict(
        max_file_size=MAX_FILE_SIZE,
        css="\n".join([web.source("page.css"), feedback.css(), accessible.css()]),
        theme=accessible.THEME,
        js=accessible.js(),
        state_session_capacity=SESSIONS,
        ssr_mode=False,
    )
