"""The no-op baseline: the app's input and output components, with functions that return constants.

Same Sketchpad / Image / Radio inputs, the same four HTML outputs plus State, the same /classify JSON
endpoint and the same queue and upload settings as app.py, so a benchmark against it measures what
Gradio itself costs. Each answer carries a counter, so a browser sees the output change on every stroke.
"""

from __future__ import annotations

import itertools

import gradio as gr

import app

_count = itertools.count()
CHART = "<div class='dn-chart'>" + "".join(f"<div class='bar' data-digit='{d}'></div>" for d in range(10)) + "</div>"


def show(image, model: str):
    n = next(_count)
    return f"<div class='dn-head' data-n='{n}'>{n}</div>", CHART, "<div></div>", "<div></div>", None


def switch(x, model: str):
    return show(x, model)[:4]


def classify(path, model: str = "cnn") -> dict:
    return {"digit": 7, "confidence": 1.0, "probabilities": [0.0] * 7 + [1.0] + [0.0] * 2, "empty": False}


with gr.Blocks(title="no-op") as demo:
    seen = gr.State(None)
    sketch = gr.Sketchpad(
        type="numpy",
        image_mode="RGBA",
        canvas_size=(app.CANVAS, app.CANVAS),
        fixed_canvas=True,
        brush=gr.Brush(default_size=12, colors=["#000000"], color_mode="fixed"),
        layers=False,
        transforms=(),
        buttons=[],
        elem_id="sketch",
    )
    upload = gr.Image(type="filepath", image_mode=None, elem_id="upload")
    model = gr.Radio(app.MODELS, value=app.DEFAULT_MODEL, elem_id="model")
    views = [gr.HTML(elem_id=name) for name in ("headline", "chart", "pixels", "compare")]
    api_file, api_out = gr.File(type="filepath", visible=False), gr.JSON(visible=False)
    quiet = dict(show_progress="hidden", trigger_mode="always_last")
    sketch.change(show, [sketch, model], [*views, seen], api_name="draw", **quiet)
    upload.change(show, [upload, model], [*views, seen], api_name="upload", **quiet)
    model.change(switch, [seen, model], views, api_name="switch_model", **quiet)
    gr.Button(visible=False).click(classify, [api_file, model], api_out, api_name="classify")

demo.queue(max_size=64, default_concurrency_limit=app.CONCURRENCY)


def launch(**kwargs):
    return demo.launch(max_file_size=app.MAX_FILE_SIZE, js=app.KEEP_BRUSH, **kwargs)


if __name__ == "__main__":
    launch()
