"""digitnet web app: draw or upload a digit, see every network's ten probabilities. `python app.py` to run.

Gradio wiring only; what is computed and shown lives in digitnet/ui.py.
Server name and port come from GRADIO_SERVER_NAME / GRADIO_SERVER_PORT (Gradio reads them itself).
"""

from __future__ import annotations

import os

import gradio as gr

from digitnet import components, ui  # before anything imports torch: ui imports `spaces` (ZeroGPU) first
from digitnet.predict import Prediction
from digitnet.preprocess import InputError

NETWORKS = ui.load_networks()
MODELS = NETWORKS.names
DEFAULT_MODEL = "cnn" if "cnn" in MODELS else MODELS[0]
ON_GPU = any(p.device.type == "cuda" for p in NETWORKS.predictors.values())
CONCURRENCY = 8 if ON_GPU else max(1, min(4, os.cpu_count() or 1))
MAX_FILE_SIZE = "5mb"
CANVAS = 280  # px; the canvas export dominates the stroke-to-chart time, so keep it modest

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


def show(image, model: str):
    """Prepare one input, run every network, and render it (the 28x28 input is kept for model switches)."""
    try:
        x = ui.prepare(image)
    except InputError as e:
        raise gr.Error(str(e)) from e
    return (*ui.render(ui.analyse(x, model), model, NETWORKS), x)


def switch(x, model: str):
    """Re-run the current input (kept as its 28x28 array) on another model."""
    return ui.render(ui.analyse(x, model), model, NETWORKS)


def classify(path: str | None, model: str = DEFAULT_MODEL) -> dict:
    """An image file and a model name -> the prediction as JSON (digit is None when nothing is drawn)."""
    if path is None:
        raise gr.Error("no file given")
    try:
        x = ui.prepare(path)
    except InputError as e:
        raise gr.Error(str(e)) from e
    if x is None:
        return Prediction(None, 0.0, [0.0] * 10, None, empty=True).to_dict() | {"message": ui.PROMPT}
    return ui.analyse(x, model).predictions[model].to_dict()


def html_block(value: str, label: str, elem_id: str) -> gr.HTML:
    return gr.HTML(value, label=label, elem_id=elem_id, css_template=ui.CSS, js_on_load=None)


# Uploaded and drawn images are cached on disk by Gradio; a public demo deletes them after an hour.
with gr.Blocks(title="digitnet: how sure is a network that has only seen digits?", delete_cache=(600, 3600)) as demo:
    gr.Markdown(
        "# digitnet\nDraw a digit or upload any image. The networks have only ever seen handwritten digits: "
        "watch how confident they stay on things that are not digits."
    )
    seen = gr.State(None)  # the current input as the network's 28x28 array (None: nothing drawn)
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=320):
            with gr.Tabs() as tabs:
                with gr.Tab("Draw", id="draw"):
                    sketch = components.Sketchpad(
                        type="numpy",
                        image_mode="RGBA",
                        canvas_size=(CANVAS, CANVAS),
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
            model = gr.Radio([(ui.label(n), n) for n in MODELS], value=DEFAULT_MODEL, label="Network", elem_id="model")
            examples = gr.Examples(
                ui.example_files(),
                inputs=upload,
                label="Examples: real MNIST test digits, then things that are not digits",
                examples_per_page=16,
                cache_examples=False,
            )
        with gr.Column(scale=1, min_width=320):
            headline = html_block(ui.headline_html(None), "Prediction", "headline")
            chart = html_block(ui.chart_html(None), "Probabilities", "chart")
            gr.Markdown("**What the network sees**")
            pixels = html_block(ui.pixels_html(None), "What the network sees", "pixels")
    with gr.Accordion("Compare the networks side by side", open=True):
        compare = html_block(ui.compare_html(ui.Analysis(None), NETWORKS), "All networks", "compare")
    gr.Markdown(EXPLANATION)

    with gr.Row(visible=False):  # the JSON endpoint for API clients (see the README)
        api_file = gr.File(type="filepath")
        api_model = gr.Dropdown(MODELS, value=DEFAULT_MODEL)
        api_out = gr.JSON()
        api_button = gr.Button()

    views = [headline, chart, pixels, compare]
    quiet = dict(show_progress="hidden", trigger_mode="always_last")
    sketch.change(show, [sketch, model], [*views, seen], api_name="draw", **quiet)
    upload.change(show, [upload, model], [*views, seen], api_name="upload", **quiet)
    model.change(switch, [seen, model], views, api_name="switch_model", **quiet)
    # The sketchpad's own clear (setting its value to None twice in a row would not clear it the second time).
    clear.click(None, js=CLICK_CLEAR_CANVAS, api_visibility="private")
    examples.load_input_event.then(lambda: gr.Tabs(selected="upload"), None, tabs, api_visibility="private")
    api_button.click(classify, [api_file, api_model], api_out, api_name="classify")

demo.queue(max_size=64, default_concurrency_limit=CONCURRENCY)


def launch(**kwargs):
    """Start the server with the app's serving settings (extra keyword arguments go to demo.launch)."""
    return demo.launch(max_file_size=MAX_FILE_SIZE, js=KEEP_BRUSH, **kwargs)


if __name__ == "__main__":
    launch()
