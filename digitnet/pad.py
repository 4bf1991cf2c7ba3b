"""The drawing pad: a <canvas> in a gr.HTML, drawn with pointer events (mouse, pen and touch alike).

Its value is the drawing as strokes ({"strokes": [[x0, y0, ...], ...], "width": pen, "seq": n}, canvas pixels;
see digitnet/drawing.py), set at pen-up, Undo and Clear; `seq` makes every one a change. That `.change` event
goes through the queue and fills the page's views. While the pen moves, the pad asks the server for the selected
network's answer and shows it in a readout under the canvas: over its own WebSocket (digitnet/live.py, where the
server batches every visitor's drawings), else through the `live` component server function (HTTP, no queue). One
drawing in flight at a time and at most one per GAP ms, the latest drawing sent when the previous answer arrives;
at pen-up the finished drawing is sent at once, marked final (the server answers it ahead of live drawings), and an
answer older than the one shown is dropped. When the newest drawing has waited LATE ms, the readout says it is
catching up.
"""

from __future__ import annotations

from collections.abc import Callable

import gradio as gr

from digitnet import share
from digitnet.drawing import CANVAS, MARGIN, MAX_PEN, MAX_POINTS, MAX_STROKES, MIN_PEN, PEN
from digitnet.readable import SAY_JS

GAP = 40  # ms: at most one live request per GAP while the pen moves (25 a second), and one in flight at a time
LATE = 300  # ms: a drawing unanswered this long makes the readout say it is catching up
PROMPT = "Draw a digit: the answer follows your pen."

HTML = f"""
<div class="dn-pad">
  <canvas width="{CANVAS}" height="{CANVAS}" role="img"
    aria-label="Drawing pad: draw one digit with a mouse, pen or finger, or open a shared drawing's link"></canvas>
  <div class="dn-live" data-seq="0" data-asked="0">
    <span class="dn-live-digit" aria-hidden="true"></span>
    <span class="dn-live-text" aria-hidden="true">{PROMPT}</span>
    <span class="dn-live-verdict" aria-hidden="true"></span>
    <span class="dn-live-behind" aria-hidden="true"></span>
    <div class="dn-live-bars" aria-hidden="true">BARS</div>
    <p class="dn-live-say" role="status" aria-live="polite">{PROMPT}</p>
  </div>
  <div class="dn-pad-buttons">
    <button type="button" class="dn-undo">Undo</button>
    <button type="button" class="dn-clear">Clear</button>
    <button type="button" class="dn-share" disabled>Copy link</button>
  </div>
  <p class="dn-share-note" role="status" aria-live="polite"></p>
  <input class="dn-link" type="text" readonly aria-label="Link to this drawing" hidden>
</div>
""".replace("BARS", "".join(f'<div class="b"><i data-digit="{d}"></i><span>{d}</span></div>' for d in range(10)))

CSS = """
.dn-pad { width: 100%; max-width: 360px; margin: 0 auto; }
.dn-pad canvas { display: block; width: 100%; aspect-ratio: 1 / 1; touch-action: none; cursor: crosshair;
  background: var(--background-fill-primary); border: 1px solid var(--border-color-primary); border-radius: 8px;
  user-select: none; -webkit-user-select: none; -webkit-touch-callout: none; }
.dn-live { position: relative; display: grid; grid-template-columns: auto 1fr;
  grid-template-areas: "digit text" "digit bars"; column-gap: 12px; align-items: center; margin-top: 8px;
  min-height: 64px; }
.dn-live-digit { grid-area: digit; font-size: 48px; line-height: 1; font-weight: 700; min-width: 0.7em;
  color: var(--color-accent); }
.dn-live-text { grid-area: text; font-size: 15px; font-weight: 600; }
.dn-live-verdict { grid-area: text; justify-self: end; font-size: 12px; font-weight: 600; padding: 1px 6px;
  border-radius: 6px; }
.dn-live-behind { grid-area: bars; align-self: start; justify-self: center; font-size: 12px; font-weight: 600;
  padding: 0 6px; border-radius: 6px; background: var(--background-fill-primary); z-index: 1; }
.dn-live-behind:empty { display: none; }
.dn-live.behind :is(.dn-live-digit, .dn-live-text, .dn-live-verdict, .dn-live-bars) { opacity: 0.45; }
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
.dn-pad-buttons button:disabled { cursor: default; opacity: 0.6; }
.dn-pad button:focus-visible, .dn-link:focus-visible { outline: 3px solid var(--color-accent); outline-offset: 2px; }
.dn-live-say { position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
.dn-share-note { font-size: 13px; margin: 6px 0 0; }
.dn-share-note:empty { margin: 0; }  /* no gap while empty; still in the tree, so a change is announced */
.dn-link { width: 100%; margin-top: 4px; font-size: 12px; }
"""

SHARE_JS = f"""
// Links to a drawing: the same format and limits as digitnet/share.py (see there).
const LINK = {{ KEY: "{share.KEY}", VERSION: "{share.VERSION}", MAX_DATA: {share.MAX_DATA}, STROKES: {MAX_STROKES},
  POINTS: {MAX_POINTS}, UNIT: {share.UNIT}, LOW: {-MARGIN * share.UNIT}, HIGH: {(CANVAS + MARGIN) * share.UNIT},
  MIN_PEN: {MIN_PEN}, MAX_PEN: {MAX_PEN} }};
function encodeLink(strokes, width, model) {{
  const bytes = [], put = (n) => {{
    let z = n >= 0 ? 2 * n : -2 * n - 1;
    while (z >= 128) {{ bytes.push((z & 127) | 128); z = Math.floor(z / 128); }}
    bytes.push(z);
  }};
  let x = 0, y = 0;
  put(strokes.length);
  for (const s of strokes) {{
    put(s.length / 2);
    for (let i = 0; i < s.length; i += 2) {{
      const px = Math.round(LINK.UNIT * s[i]), py = Math.round(LINK.UNIT * s[i + 1]);
      put(px - x); put(py - y); x = px; y = py;
    }}
  }}
  const data = btoa(String.fromCharCode(...bytes)).replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
  return `${{LINK.KEY}}=${{LINK.VERSION}}.${{model}}.${{Math.round(width)}}.${{data}}`;
}}
function decodeLink(fragment, models) {{
  const fail = (why) => {{ throw new Error(why); }};
  if (fragment.length > LINK.MAX_DATA + 64) fail(`it is ${{fragment.length}} characters long, more than any drawing`);
  const m = fragment.match(/^draw=([^.]*)\\.([^.]*)\\.(\\d{{1,3}})\\.([A-Za-z0-9_-]*)$/);
  if (!m || m[1] !== LINK.VERSION || m[4].length % 4 === 1) fail("it is not a drawing link, or it was cut short");
  if (!models.includes(m[2])) fail(`it names an unknown network, "${{m[2].slice(0, 40)}}"`);
  const width = +m[3];
  if (width < LINK.MIN_PEN || width > LINK.MAX_PEN) fail(`its pen width must be ${{LINK.MIN_PEN}}-${{LINK.MAX_PEN}}`);
  const raw = atob(m[4].replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - m[4].length % 4) % 4));
  let at = 0;
  const get = () => {{
    let z = 0, k = 1;
    for (;;) {{
      if (at >= raw.length || k > 2 ** 14) fail("its drawing is cut short or malformed");
      const b = raw.charCodeAt(at++);
      z += (b & 127) * k; k *= 128;
      if (b < 128) return z % 2 ? -(z + 1) / 2 : z / 2;
    }}
  }};
  const count = get(), strokes = [];
  if (count < 0 || count > LINK.STROKES) fail(`its drawing has ${{count}} strokes; the limit is ${{LINK.STROKES}}`);
  let x = 0, y = 0, total = 0;
  for (let i = 0; i < count; i++) {{
    const n = get(), s = [];
    total += n;
    if (n < 1 || total > LINK.POINTS) fail(`its drawing has more than ${{LINK.POINTS}} points, or an empty stroke`);
    for (let j = 0; j < n; j++) {{
      x += get(); y += get();
      if (x < LINK.LOW || x > LINK.HIGH || y < LINK.LOW || y > LINK.HIGH) fail("its points lie off the pad");
      s.push(x / LINK.UNIT, y / LINK.UNIT);
    }}
    strokes.push(s);
  }}
  if (at !== raw.length) fail("its drawing has bytes left over");
  return {{ strokes, width, model: m[2] }};
}}
"""


JS = f"""
const canvas = element.querySelector("canvas");
const ctx = canvas.getContext("2d");
const SIDE = {CANVAS}, PEN = {PEN}, MAX_POINTS = {MAX_POINTS}, GAP = {GAP}, LATE = {LATE};
let strokes = [], current = null, seq = 0;
const points = () => strokes.reduce((n, s) => n + s.length / 2, 0);
const shareButton = element.querySelector(".dn-share");
const ink = () => getComputedStyle(element).getPropertyValue("--body-text-color").trim() || "#000";
const drawing = () => ({{ strokes: strokes.map((s) => s.slice()), width: PEN }});
const PROMPT = "{PROMPT}";
{SAY_JS}
const selected = () => document.querySelector("#model input:checked")?.value;

function paint() {{
  shareButton.disabled = !strokes.length;
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
const [digitEl, textEl, verdictEl, sayEl, behindEl] = [".dn-live-digit", ".dn-live-text", ".dn-live-verdict",
  ".dn-live-say", ".dn-live-behind"].map((q) => out.querySelector(q));
let asked = 0, answered = 0, shown = 0, again = false, last = -GAP, timer = null, lifted = 0;
const sentAt = new Map();  // when each unanswered drawing was sent
function show(r, n) {{
  if (n < shown) return;  // an older drawing's answer, arriving late
  shown = n;
  // Screen readers hear the answer once the pen is up (not the 25 a second while it moves), politely.
  if (n >= lifted || r.error) sayEl.textContent = r.error || say(r.answer) || PROMPT;
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
// Catching up: when the newest drawing has waited LATE ms for its answer, the readout says so and fades, so that
// an older drawing's answer is never shown as the current one.
let lateTimer = null;
function behind() {{
  clearTimeout(lateTimer); lateTimer = null;
  const oldest = sentAt.get(answered + 1), late = oldest !== undefined && performance.now() - oldest >= LATE;
  out.classList.toggle("behind", late); out.dataset.behind = late ? "1" : "0";
  behindEl.textContent = late ? "catching up…" : "";
  if (oldest !== undefined && !late) lateTimer = setTimeout(behind, LATE - (performance.now() - oldest) + 1);
}}
function reply(r, n) {{
  for (const k of sentAt.keys()) if (k <= n) sentAt.delete(k);
  answered = Math.max(answered, n);
  show(r, n); behind();
  if (again && asked <= answered) {{ again = false; live(false); }}
}}
// The pad's connection (digitnet/live.py): one WebSocket, one drawing answered at a time, replies in order. Where it
// cannot open (a proxy without WebSockets, a plain `demo.launch()`), the drawings go to server.live over HTTP.
let socket = null, socketFails = 0, lastBody = null;
function connect() {{
  if (socket || socketFails >= 3) return socket;
  const url = new URL("live", (window.gradio_config?.root || location.href).replace(/\\/?$/, "/"));
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:"; url.search = ""; url.hash = "";
  let s;
  try {{ s = new WebSocket(url); }} catch (e) {{ socketFails = 3; return null; }}
  s.onopen = () => {{ s.opened = true; socketFails = 0; if (s.waiting) s.send(s.waiting); s.waiting = null; }};
  s.onmessage = (m) => {{
    let r;
    try {{ r = JSON.parse(m.data); }} catch (e) {{ return; }}
    if (Number.isInteger(r.seq)) reply(r, r.seq);
  }};
  s.onclose = () => {{
    if (socket === s) socket = null;
    if (!s.opened) socketFails++;
    if (asked > answered && lastBody) send(lastBody);  // an unanswered drawing goes again, over whatever is left
  }};
  return (socket = s);
}}
function send(body) {{
  lastBody = body;
  const s = connect(), text = JSON.stringify(body);
  if (s && s.readyState === WebSocket.OPEN) return s.send(text);
  if (s && s.readyState === WebSocket.CONNECTING) {{ s.waiting = text; return; }}
  const failed = {{ error: "No answer from the server; try again." }};
  server.live(body).then((r) => reply(r, body.seq), () => reply(failed, body.seq));
}}
function live(final) {{
  if (!final && (asked > answered || timer)) {{ again = true; return; }}
  const wait = last + GAP - performance.now();
  if (!final && wait > 0) {{ timer = setTimeout(() => {{ timer = null; live(false); }}, wait); return; }}
  if (final) {{ again = false; clearTimeout(timer); timer = null; }}
  const n = ++asked;
  if (final) lifted = n;
  out.dataset.asked = n; last = performance.now(); sentAt.set(n, last);
  send({{ ...drawing(), seq: n, model: selected(), final }});
  if (!lateTimer) behind();
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
// The pad's touches are its own: taken by the browser as a gesture, a stroke lifted while moving would start a
// fling, and the next tap anywhere within ~150 ms ("Is that right?") would be swallowed as the tap that stops it.
canvas.addEventListener("touchstart", (e) => e.preventDefault(), {{ passive: false }});
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
// A new stroke, Undo or Clear: the address and the copied link no longer show this drawing.
const unlink = () => {{
  if (location.hash) history.replaceState(null, "", location.pathname + location.search);
  note.textContent = ""; linkEl.hidden = true;
}};
canvas.addEventListener("pointerdown", unlink);
element.querySelector(".dn-undo").addEventListener("click", () => {{ unlink(); strokes.pop(); paint(); commit(); }});
element.querySelector(".dn-clear").addEventListener("click", () => {{ unlink(); strokes = []; paint(); commit(); }});
// Another network chosen: its answer for the drawing as it stands.
document.addEventListener("change", (e) => {{ if (strokes.length && e.target.closest?.("#model")) live(true); }});
{SHARE_JS}
const note = element.querySelector(".dn-share-note"), linkEl = element.querySelector(".dn-link");
shareButton.addEventListener("click", async () => {{
  const fragment = encodeLink(strokes, PEN, selected());
  history.replaceState(null, "", "#" + fragment);
  linkEl.value = location.href; linkEl.hidden = false;
  try {{
    await navigator.clipboard.writeText(linkEl.value);
    note.textContent = "Link copied: it opens this drawing and every network's answer to it.";
  }} catch (e) {{
    note.textContent = "Copy the link below: it opens this drawing and every network's answer to it.";
    linkEl.focus(); linkEl.select();
  }}
}});
// A shared drawing's link: the strokes drawn on the pad and answered as if just drawn, or one message.
function openLink() {{
  if (!location.hash.startsWith("#{share.KEY}=")) return;
  const radios = [...document.querySelectorAll("#model input")].map((i) => i.value);
  if (!radios.length) {{ setTimeout(openLink, 50); return; }}  // the selector is not on the page yet
  let link;
  try {{ link = decodeLink(location.hash.slice(1), radios); }} catch (e) {{
    strokes = []; paint(); linkEl.hidden = true;
    textEl.textContent = sayEl.textContent = `This link's drawing cannot be opened: ${{e.message}}. Draw one!`;
    return;
  }}
  strokes = link.strokes; paint();
  const radio = document.querySelector(`#model input[value="${{link.model}}"]`);
  if (!radio.checked) radio.click();
  setTimeout(commit, 0);
}}
openLink();
window.addEventListener("hashchange", openLink);
new MutationObserver(paint).observe(document.body, {{ attributes: true, attributeFilter: ["class"] }});
"""


def DrawPad(live: Callable[[dict | None], dict], **kwargs) -> gr.HTML:
    """The pad as a Gradio component: its `.change` fires with the finished drawing as its value, and `live`
    (named `live`: the page's JavaScript calls it by that name) answers the drawing while the pen moves."""
    if live.__name__ != "live":
        raise ValueError("the pad calls its server function as server.live: name it `live`")
    return gr.HTML(None, html_template=HTML, css_template=CSS, js_on_load=JS, server_functions=[live], **kwargs)
