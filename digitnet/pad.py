"""The drawing pad: a <canvas> in a gr.HTML, drawn with pointer events (mouse, pen and touch alike).

Its value is the drawing as strokes ({"strokes": [[x0, y0, ...], ...], "width": pen, "seq": n}, canvas pixels;
see digitnet/drawing.py). While the pen moves the value is set at most once per animation frame, and always
once more at pen-up; `seq` makes every one a change, so the last one is never dropped as "unchanged".
"""

from __future__ import annotations

import gradio as gr

from digitnet.drawing import MAX_POINTS, PEN
from digitnet.views import CANVAS

HTML = f"""
<div class="dn-pad">
  <canvas width="{CANVAS}" height="{CANVAS}" aria-label="Drawing pad: draw one digit" role="img"></canvas>
  <div class="dn-pad-buttons">
    <button type="button" class="dn-undo">Undo</button>
    <button type="button" class="dn-clear">Clear</button>
  </div>
</div>
"""

CSS = """
.dn-pad { width: 100%; max-width: 360px; margin: 0 auto; }
.dn-pad canvas { display: block; width: 100%; aspect-ratio: 1 / 1; touch-action: none; cursor: crosshair;
  background: var(--background-fill-primary); border: 1px solid var(--border-color-primary); border-radius: 8px;
  user-select: none; -webkit-user-select: none; -webkit-touch-callout: none; }
.dn-pad-buttons { display: flex; gap: 8px; margin-top: 8px; }
.dn-pad-buttons button { flex: 1; padding: 8px; border-radius: 6px; font-weight: 600; cursor: pointer;
  border: 1px solid var(--border-color-primary); background: var(--button-secondary-background-fill);
  color: var(--button-secondary-text-color); }
"""

JS = f"""
const canvas = element.querySelector("canvas");
const ctx = canvas.getContext("2d");
const SIDE = {CANVAS}, PEN = {PEN}, MAX_POINTS = {MAX_POINTS};
let strokes = [], current = null, seq = 0, queued = false;
const points = () => strokes.reduce((n, s) => n + s.length / 2, 0);
const ink = () => getComputedStyle(element).getPropertyValue("--body-text-color").trim() || "#000";

function paint() {{
  ctx.clearRect(0, 0, SIDE, SIDE);
  ctx.lineCap = "round"; ctx.lineJoin = "round"; ctx.lineWidth = PEN;
  ctx.strokeStyle = ctx.fillStyle = ink();
  for (const s of strokes) {{
    ctx.beginPath();
    if (s.length === 2) {{ ctx.arc(s[0], s[1], PEN / 2, 0, 2 * Math.PI); ctx.fill(); continue; }}
    ctx.moveTo(s[0], s[1]);
    for (let i = 2; i < s.length; i += 2) ctx.lineTo(s[i], s[i + 1]);
    ctx.stroke();
  }}
}}
function send() {{
  queued = false;
  props.value = {{ strokes: strokes.map((s) => s.slice()), width: PEN, seq: ++seq }};
}}
function soon() {{ if (!queued) {{ queued = true; requestAnimationFrame(send); }} }}
function at(e) {{
  const r = canvas.getBoundingClientRect();
  return [Math.round(((e.clientX - r.left) * SIDE) / r.width * 10) / 10,
          Math.round(((e.clientY - r.top) * SIDE) / r.height * 10) / 10];
}}
canvas.addEventListener("pointerdown", (e) => {{
  if (e.button > 0 || points() >= MAX_POINTS) return;
  e.preventDefault();
  canvas.setPointerCapture(e.pointerId);
  current = at(e);
  strokes.push(current);
  paint(); soon();
}});
canvas.addEventListener("pointermove", (e) => {{
  if (!current) return;
  e.preventDefault();
  for (const ev of e.getCoalescedEvents ? e.getCoalescedEvents() : [e]) {{
    const [x, y] = at(ev), n = current.length;
    if (Math.hypot(x - current[n - 2], y - current[n - 1]) < 1.5 || points() >= MAX_POINTS) continue;
    current.push(x, y);
  }}
  paint(); soon();
}});
const lift = () => {{ if (!current) return; current = null; paint(); send(); }};
canvas.addEventListener("pointerup", lift);
canvas.addEventListener("pointercancel", lift);
element.querySelector(".dn-undo").addEventListener("click", () => {{ strokes.pop(); paint(); send(); }});
element.querySelector(".dn-clear").addEventListener("click", () => {{ strokes = []; paint(); send(); }});
new MutationObserver(paint).observe(document.body, {{ attributes: true, attributeFilter: ["class"] }});
"""


def DrawPad(**kwargs) -> gr.HTML:
    """The pad as a Gradio component; its `.change` fires with the drawing as its value."""
    return gr.HTML(None, html_template=HTML, css_template=CSS, js_on_load=JS, **kwargs)
