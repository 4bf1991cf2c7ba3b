"""The web page: its layout, the functions behind its events, and the serving settings.

`build(networks)` returns the Gradio Blocks for explicitly loaded networks; app.py calls it once. `layout` takes
the event functions as data, so the no-op baselines in benchmarks/ serve the very same page without networks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import numpy as np

from digitnet import components, views
from digitnet.predict import Analysis, Networks, Prediction
from digitnet.preprocess import EmptyImage, InputError, preprocess

MAX_FILE_SIZE = "5mb"
QUEUE_SIZE = 64
EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
TITLE = "digitnet: how sure is a network that has only seen digits?"

INTRO = (
    "# digitnet\nDraw a digit or upload any image. The networks have only ever seen handwritten digits: "
    "watch how confident they stay on things that are not digits."
)
EXPLANATION = """
### What the chart means
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

# The sketchpad starts, and restarts after each clear, with no tool selected; keep the brush picked instead.
KEEP_BRUSH = """
() => setInterval(() => {
  const q = (name) => document.querySelector(`#sketch button[aria-label="${name}"]`);
  const tools = ["Brush", "Erase", "Pan"].map(q).filter(Boolean);
  if (tools.length && !tools.some((b) => b.classList.contains("highlight"))) q("Brush")?.click();
}, 300)
"""
CLICK_CLEAR_CANVAS = """() => document.querySelector('#sketch button[aria-label="Clear canvas"]')?.click()"""

Views = tuple[str, str, str, str]  # headline, chart, pixels, compare


@dataclass
class Handlers:
    """The functions behind the page's events."""

    show: Callable[..., tuple]  # (drawing or upload, model) -> (*views, the 28x28 input kept for switches)
    switch: Callable[[np.ndarray | None, str], Views]  # (kept input, model) -> views
    classify: Callable[[str | None, str], dict]  # (image file, model) -> the prediction as JSON


def prepare(image) -> np.ndarray | None:
    """Any drawing or upload -> the 28x28 network input, or None when nothing is drawn (InputError passes)."""
    if image is None:
        return None
    try:
        return preprocess(image)
    except EmptyImage:
        return None


def _prepared(image) -> np.ndarray | None:
    try:
        return prepare(image)
    except InputError as e:
        raise gr.Error(str(e)) from e


def handlers(networks: Networks, gpu: Callable | None = None) -> Handlers:
    """The real event functions. `gpu` wraps the one function that runs the networks (spaces.GPU on ZeroGPU)."""
    analyse: Callable[[np.ndarray | None, str], Analysis] = (gpu or (lambda f: f))(networks.analyse)
    default = default_model(networks.names)

    def show(image, model: str) -> tuple:
        x = _prepared(image)
        return (*views.render(analyse(x, model), model), x)

    def switch(x: np.ndarray | None, model: str) -> Views:
        return views.render(analyse(x, model), model)

    def classify(path: str | None, model: str = default) -> dict:
        """An image file and a model name -> the prediction as JSON (digit is None when nothing is drawn)."""
        if path is None:
            raise gr.Error("no file given")
        x = _prepared(path)
        if x is None:
            return Prediction.blank(model).to_dict() | {"message": views.PROMPT}
        return analyse(x, model).predictions[model].to_dict()

    return Handlers(show, switch, classify)


def default_model(names: list[str]) -> str:
    return "cnn" if "cnn" in names else names[0]


def concurrency(on_gpu: bool, cpus: int) -> int:
    """Requests run at once: 8 on a GPU; on a CPU one per core, at most 4 (each runs single-threaded)."""
    return 8 if on_gpu else max(1, min(4, cpus))


def example_files() -> list[str]:
    """The gallery: real MNIST test digits first, then things that are not digits (see scripts/make_examples.py)."""
    files = sorted(EXAMPLES_DIR.glob("*.png"), key=lambda p: (not p.name.startswith("digit"), p.name))
    return [str(p) for p in files]


def _html(value: str, label: str, elem_id: str) -> gr.HTML:
    return gr.HTML(value, label=label, elem_id=elem_id, css_template=views.CSS, js_on_load=None)


def layout(names: list[str], h: Handlers, concurrency_limit: int) -> gr.Blocks:
    """The page for networks `names`, wired to `h`, with its queue set up."""
    default = default_model(names)
    # Uploaded and drawn images are cached on disk by Gradio; a public demo deletes them after an hour.
    with gr.Blocks(title=TITLE, delete_cache=(600, 3600)) as demo:
        gr.Markdown(INTRO)
        seen = gr.State(None)  # the current input as the network's 28x28 array (None: nothing drawn)
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=320):
                with gr.Tabs() as tabs:
                    with gr.Tab("Draw", id="draw"):
                        sketch = components.Sketchpad(
                            type="numpy",
                            image_mode="RGBA",
                            canvas_size=(views.CANVAS, views.CANVAS),
                            fixed_canvas=True,
                            brush=gr.Brush(default_size=12, colors=["#000000"], color_mode="fixed"),
                            layers=False,
                            transforms=(),
                            label="Draw one digit, large, in the middle",
                            buttons=[],
                            elem_id="sketch",
                        )
                        clear = gr.Button("Clear", elem_id="clear")
                    with gr.Tab("Upload", id="upload"):
                        upload = components.Image(
                            type="filepath",
                            image_mode=None,
                            sources=["upload", "clipboard", "webcam"],
                            label="Upload, paste or photograph an image",
                            elem_id="upload",
                        )
                model = gr.Radio([(views.label(n), n) for n in names], value=default, label="Network", elem_id="model")
                examples = gr.Examples(
                    example_files(),
                    inputs=upload,
                    label="Examples: real MNIST test digits, then things that are not digits",
                    examples_per_page=16,
                    cache_examples=False,
                )
            with gr.Column(scale=1, min_width=320):
                headline = _html(views.headline_html(None), "Prediction", "headline")
                chart = _html(views.chart_html(None), "Probabilities", "chart")
                gr.Markdown("**What the network sees**")
                pixels = _html(views.pixels_html(None), "What the network sees", "pixels")
        with gr.Accordion("Compare the networks side by side", open=True):
            compare = _html(views.compare_html(Analysis(None)), "All networks", "compare")
        gr.Markdown(EXPLANATION)

        with gr.Row(visible=False):  # the JSON endpoint for API clients (see the README)
            api_file = gr.File(type="filepath")
            api_model = gr.Dropdown(names, value=default)
            api_out = gr.JSON()
            api_button = gr.Button()

        outputs = [headline, chart, pixels, compare]
        quiet = dict(show_progress="hidden", trigger_mode="always_last")
        sketch.change(h.show, [sketch, model], [*outputs, seen], api_name="draw", **quiet)
        upload.change(h.show, [upload, model], [*outputs, seen], api_name="upload", **quiet)
        model.change(h.switch, [seen, model], outputs, api_name="switch_model", **quiet)
        # The sketchpad's own clear (setting its value to None twice in a row would not clear it the second time).
        clear.click(None, js=CLICK_CLEAR_CANVAS, api_visibility="private")
        examples.load_input_event.then(lambda: gr.Tabs(selected="upload"), None, tabs, api_visibility="private")
        api_button.click(h.classify, [api_file, api_model], api_out, api_name="classify")
    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=concurrency_limit)
    return demo


def build(networks: Networks, gpu: Callable | None = None, cpus: int = 1) -> gr.Blocks:
    """The app's page for these networks (`gpu`: the decorator for the function that runs them)."""
    return layout(networks.names, handlers(networks, gpu), concurrency(networks.on_gpu, cpus))


def launch_options() -> dict:
    """demo.launch() keyword arguments the page needs: the upload limit and the brush-keeping script."""
    return dict(max_file_size=MAX_FILE_SIZE, js=KEEP_BRUSH)
