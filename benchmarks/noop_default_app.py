"""The issue's browser baseline: a no-op app around Gradio's default gr.Sketchpad (800x800 canvas, layers).

Only the brush is kept selected (the same page script as app.py), so the benchmark's strokes draw.
"""

from __future__ import annotations

import gradio as gr

import app
from benchmarks import noop_app

with gr.Blocks(title="no-op, default sketchpad") as demo:
    sketch = gr.Sketchpad(elem_id="sketch")
    headline = gr.HTML(elem_id="headline")
    sketch.change(
        lambda value: noop_app.show(value, app.DEFAULT_MODEL)[0],
        sketch,
        headline,
        api_name="draw",
        show_progress="hidden",
        trigger_mode="always_last",
    )

demo.queue(max_size=64, default_concurrency_limit=app.CONCURRENCY)


def launch(**kwargs):
    return demo.launch(js=app.KEEP_BRUSH, **kwargs)
