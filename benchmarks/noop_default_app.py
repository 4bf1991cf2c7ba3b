"""The issue's browser baseline: a no-op app around Gradio's default gr.Sketchpad (800x800 canvas, layers).

Only the brush is kept selected (the editor starts with no tool), so the benchmark's strokes draw.
"""

from __future__ import annotations

import gradio as gr

from benchmarks import noop_app

with gr.Blocks(title="no-op, default sketchpad") as demo:
    sketch = gr.Sketchpad(elem_id="sketch")
    headline = gr.HTML(elem_id="headline")
    sketch.change(
        lambda value: noop_app.show(value, "cnn")[0],
        sketch,
        headline,
        api_name="draw",
        show_progress="hidden",
        trigger_mode="always_last",
    )

demo.queue(max_size=64, default_concurrency_limit=noop_app.CONCURRENCY)


KEEP_BRUSH = """
() => setInterval(() => {
  const q = (name) => document.querySelector(`#sketch button[aria-label="${name}"]`);
  const tools = ["Brush", "Erase", "Pan"].map(q).filter(Boolean);
  if (tools.length && !tools.some((b) => b.classList.contains("highlight"))) q("Brush")?.click();
}, 300)
"""


def launch(**kwargs):
    return demo.launch(js=KEEP_BRUSH, **kwargs)
