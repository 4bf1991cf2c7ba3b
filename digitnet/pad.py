"""The drawing pad: a <canvas> in a gr.HTML, drawn with pointer events (mouse, pen and touch alike).

Its value is the drawing as strokes ({"strokes": [[x0, y0, ...], ...], "width": pen, "seq": n}, canvas pixels;
see digitnet/drawing.py), set at pen-up, Undo and Clear; `seq` makes every one a change. That `.change` event
goes through the queue and fills the page's views. While the pen moves, the pad asks the server's `live` function
directly (a component server function, no queue) for the selected network's answer and shows it in a readout
under the canvas: one request in flight at a time and at most one per GAP ms, the latest drawing sent when the
previous answer arrives; at pen-up the finished drawing is sent at once, without waiting for the one in flight,
and an answer older than the one shown is dropped.
"""

from __future__ import annotations

from collections.abc import Callable

import gradio as gr

from digitnet.drawing import CANVAS, MAX_POINTS, PEN

GAP = 40  # ms: at most one live request per GAP while the pen moves (25 a second), and one in flight at a time
PROMPT = "Draw a digit: the answer follows your pen."

HTML = f"""
<div class="dn-pad">
  <canvas width="{CANVAS}" height="{CANVAS}" aria-label="Drawing pad: draw one digit" role="img"></canvas>
  <div class="dn-live" data-seq="0" data-asked="0" aria-live="polite">
    <span class="dn-live-digit"></span>
    <span class="dn-live-text">{PROMPT}</span>
    <span class="dn-live-verdict"></span>
    <div class="dn-live-bars">BARS</div>
  </div>
  <div class="dn-pad-buttons">
    <button type="button" class="dn-undo">Undo</button>
    <button type="button" class="dn-clear">Clear</button>
  </div>
</div>
""".replace("BARS", "".join(f'<div class="b"><i data-digit="{d}"></i><span>{d}</span></div>' for d in range(10)))

CSS = """
.dn-pad { width: 100%; max-width: 360px; margin: 0 auto; }
.dn-pad canvas { display: block; width: 100%; aspect-ratio: 1 / 1; touch-action: none; cursor: crosshair;
  background: var(--background-fill-primary); border: 1px solid var(--border-color-primary); border-radius: 8px;
  user-select: none; -webkit-user-select: none; -webkit-touch-callout: none; }
.dn-live { display: grid; grid-template-columns: auto 1fr; grid-template-areas: "digit text" "digit bars";
  column-gap: 12px; align-items: center; margin-top: 8px; min-height: 64px; }
.dn-live-digit { grid-area: digit; font-size: 48px; line-height: 1; font-weight: 700; min-width: 0.7em;
  color: var(--color-accent); }
.dn-live-text { grid-area: text; font-size: 15px; font-weight: 600; }
.dn-live-verdict { grid-area: text; justify-self: end; font-size: 12px; font-weight: 600; padding: 1px 6px;
  border-radius: 6px; }
.dn-live-verdict.is-digit { background: rgba(34, 197, 94, 0.15); }
.dn-live-verdict.not-digit { background: rgba(239, 68, 68, 0.18); }
.dn-live-bars { grid-area: bars; display: flex; gap: 3px; align-items: flex-end; height: 40px; }
.dn-live-bars .b { flex: 1; display: flex; flex-direction: column; justify-content: flex-end; height: 100%; }
.dn-live-bars i { display: block; height: 0; min-height: 1px; background: var(--neutral-400);
  border-radius: 2px 2px 0 0; }
.dn-live-bars i.winner { background: var(--color-accent); }
.dn-live-bars span { font-size: 11px; text-align: center; color: var(--body-text-color-subdued); }
.dn-pad-buttons { display: flex; gap: 8px; margin-top: 8px; }
.dn-pad-buttons button { flex: 1; padding: 8px; border-radius: 6px; font-weight: 600; cursor: pointer;
  border: 1px solid var(--border-color-primary); background: var(--button-secondary-background-fill);
  color: var(--button-secondary-text-color); }
"""

JS = f"""
const canvas = element.querySelector("canvas");
const ctx = canvas.getContext("2d");
const SIDE = {CANVAS}, PEN = {PEN}, MAX_POINTS = {MAX_POINTS}, GAP = {GAP};
let strokes = [], current = null, seq = 0;
const points = () => strokes.reduce((n, s) => n + s.length / 2, 0);
const ink = () => getComputedStyle(element).getPropertyValue("--body-text-color").trim() || "#000";
const drawing = () => ({{ strokes: strokes.map((s) => s.slice()), width: PEN }});
const PROMPT = "{PROMPT}";
const selected = () => document.querySelector("#model input:checked")?.value;

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

// The readout: the server's answer for the newest drawing it has answered.
const out = element.querySelector(".dn-live"), bars = [...out.querySelectorAll(".dn-live-bars i")];
const [digitEl, textEl, verdictEl] = [".dn-live-digit", ".dn-live-text", ".dn-live-verdict"].map((q) =>
  out.querySelector(q));
let asked = 0, shown = 0, inflight = 0, again = false, last = -GAP, timer = null;
function show(r, n) {{
  if (n < shown) return;  // an older drawing's answer, arriving late
  shown = n;
  const a = r.answer, v = a && a.verdict;
  out.dataset.seq = n; out.dataset.digit = a ? a.digit : ""; out.dataset.model = a ? a.model : "";
  digitEl.textContent = a ? a.digit : "";
  textEl.textContent = r.error || (a ? `${{(100 * a.confidence).toFixed(1)}}% sure` : PROMPT);
  verdictEl.textContent = v ? (v.not_a_digit ? "Probably not a digit" : "Looks like a digit") : "";
  verdictEl.className = "dn-live-verdict" + (v ? (v.not_a_digit ? " not-digit" : " is-digit") : "");
  bars.forEach((b, d) => {{
    b.style.height = `${{a ? (100 * a.probabilities[d]).toFixed(1) : 0}}%`;
    b.classList.toggle("winner", !!a && d === a.digit);
  }});
}}
function live(final) {{
  if (!final && (inflight > 0 || timer)) {{ again = true; return; }}
  const wait = last + GAP - performance.now();
  if (!final && wait > 0) {{ timer = setTimeout(() => {{ timer = null; live(false); }}, wait); return; }}
  if (final) {{ again = false; clearTimeout(timer); timer = null; }}
  const n = ++asked;
  out.dataset.asked = n; last = performance.now(); inflight++;
  server.live({{ ...drawing(), seq: n, model: selected() }})
    .then((r) => show(r, n), () => show({{ error: "No answer from the server; try again." }}, n))
    .finally(() => {{ inflight--; if (again && !inflight) {{ again = false; live(false); }} }});
}}
function commit() {{ props.value = {{ ...drawing(), seq: ++seq }}; live(true); }}

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
  paint(); live(false);
}});
canvas.addEventListener("pointermove", (e) => {{
  if (!current) return;
  e.preventDefault();
  for (const ev of e.getCoalescedEvents ? e.getCoalescedEvents() : [e]) {{
    const [x, y] = at(ev), n = current.length;
    if (Math.hypot(x - current[n - 2], y - current[n - 1]) < 1.5 || points() >= MAX_POINTS) continue;
    current.push(x, y);
  }}
  paint(); live(false);
}});
const lift = () => {{ if (!current) return; current = null; paint(); commit(); }};
canvas.addEventListener("pointerup", lift);
canvas.addEventListener("pointercancel", lift);
element.querySelector(".dn-undo").addEventListener("click", () => {{ strokes.pop(); paint(); commit(); }});
element.querySelector(".dn-clear").addEventListener("click", () => {{ strokes = []; paint(); commit(); }});
// Another network chosen: its answer for the drawing as it stands.
document.addEventListener("change", (e) => {{ if (strokes.length && e.target.closest?.("#model")) live(true); }});
new MutationObserver(paint).observe(document.body, {{ attributes: true, attributeFilter: ["class"] }});
"""


def DrawPad(live: Callable[[dict | None], dict], **kwargs) -> gr.HTML:
    """The pad as a Gradio component: its `.change` fires with the finished drawing as its value, and `live`
    (named `live`: the page's JavaScript calls it by that name) answers the drawing while the pen moves."""
    if live.__name__ != "live":
        raise ValueError("the pad calls its server function as server.live: name it `live`")
    return gr.HTML(None, html_template=HTML, css_template=CSS, js_on_load=JS, server_functions=[live], **kwargs)
