const canvas = element.querySelector("canvas");
const ctx = canvas.getContext("2d");
const SIDE = __CANVAS__, PEN = __PEN__, MAX_POINTS = __MAX_POINTS__, GAP = __GAP__, LATE = __LATE__;
let strokes = [], current = null, seq = 0;
const points = () => strokes.reduce((n, s) => n + s.length / 2, 0);
const shareButton = element.querySelector(".dn-share");
const ink = () => getComputedStyle(element).getPropertyValue("--body-text-color").trim() || "#000";
const drawing = () => ({ strokes: strokes.map((s) => s.slice()), width: PEN });
const PROMPT = __PROMPT__;
const selected = () => document.querySelector("#model input:checked")?.value;

function paint() {
  shareButton.disabled = !strokes.length;
  ctx.clearRect(0, 0, SIDE, SIDE);
  ctx.lineCap = "round"; ctx.lineJoin = "round"; ctx.lineWidth = PEN;
  ctx.strokeStyle = ctx.fillStyle = ink();
  for (const s of strokes) {
    ctx.beginPath();
    if (s.length === 2) { ctx.arc(s[0], s[1], PEN / 2, 0, 2 * Math.PI); ctx.fill(); continue; }
    ctx.moveTo(s[0], s[1]);
    for (let i = 2; i < s.length; i += 2) ctx.lineTo(s[i], s[i + 1]);
    ctx.stroke();
  }
}

// The readout: the server's answer for the newest drawing it has answered.
const out = element.querySelector(".dn-live"), bars = [...out.querySelectorAll(".dn-live-bars i")];
const [digitEl, textEl, verdictEl, sayEl, behindEl] = [".dn-live-digit", ".dn-live-text", ".dn-live-verdict",
  ".dn-live-say", ".dn-live-behind"].map((q) => out.querySelector(q));
let asked = 0, answered = 0, shown = 0, again = false, last = -GAP, timer = null, lifted = 0;
const sentAt = new Map();  // when each unanswered drawing was sent
function show(r, n) {
  if (n < shown) return;  // an older drawing's answer, arriving late
  shown = n;
  // Screen readers hear the answer once the pen is up (not the 25 a second while it moves), politely.
  if (n >= lifted || r.error) sayEl.textContent = r.error || say(r.answer) || PROMPT;
  const a = r.answer, v = a && a.verdict;
  out.dataset.seq = n; out.dataset.digit = a ? a.digit : ""; out.dataset.model = a ? a.model : "";
  digitEl.textContent = a ? a.digit : "";
  textEl.textContent = r.error || (a ? `${(100 * a.confidence).toFixed(1)}% sure` : PROMPT);
  verdictEl.textContent = v ? (v.not_a_digit ? "Probably not a digit" : "Looks like a digit") : "";
  verdictEl.className = "dn-live-verdict" + (v ? (v.not_a_digit ? " not-digit" : " is-digit") : "");
  bars.forEach((b, d) => {
    b.style.height = `${a ? (100 * a.probabilities[d]).toFixed(1) : 0}%`;
    b.classList.toggle("winner", !!a && d === a.digit);
  });
}
// Catching up: when the newest drawing has waited LATE ms for its answer, the readout says so and fades, so that
// an older drawing's answer is never shown as the current one.
let lateTimer = null;
function behind() {
  clearTimeout(lateTimer); lateTimer = null;
  const oldest = sentAt.get(answered + 1), late = oldest !== undefined && performance.now() - oldest >= LATE;
  out.classList.toggle("behind", late); out.dataset.behind = late ? "1" : "0";
  behindEl.textContent = late ? "catching up…" : "";
  if (oldest !== undefined && !late) lateTimer = setTimeout(behind, LATE - (performance.now() - oldest) + 1);
}
function reply(r, n) {
  for (const k of sentAt.keys()) if (k <= n) sentAt.delete(k);
  answered = Math.max(answered, n);
  show(r, n); behind();
  if (again && asked <= answered) { again = false; live(false); }
}
// The pad's connection (digitnet/live.py): one WebSocket, one drawing answered at a time, replies in order. Where it
// cannot open (a proxy without WebSockets, a plain `demo.launch()`), the drawings go to server.live over HTTP.
let socket = null, socketFails = 0, lastBody = null;
function connect() {
  if (socket || socketFails >= 3) return socket;
  const url = new URL("live", (window.gradio_config?.root || location.href).replace(/\/?$/, "/"));
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:"; url.search = ""; url.hash = "";
  let s;
  try { s = new WebSocket(url); } catch { socketFails = 3; return null; }
  s.onopen = () => { s.opened = true; socketFails = 0; if (s.waiting) s.send(s.waiting); s.waiting = null; };
  s.onmessage = (m) => {
    let r;
    try { r = JSON.parse(m.data); } catch { return; }
    if (Number.isInteger(r.seq)) reply(r, r.seq);
  };
  s.onclose = () => {
    if (socket === s) socket = null;
    if (!s.opened) socketFails++;
    if (asked > answered && lastBody) send(lastBody);  // an unanswered drawing goes again, over whatever is left
  };
  return (socket = s);
}
function send(body) {
  lastBody = body;
  const s = connect(), text = JSON.stringify(body);
  if (s && s.readyState === WebSocket.OPEN) return s.send(text);
  if (s && s.readyState === WebSocket.CONNECTING) { s.waiting = text; return; }
  const failed = { error: "No answer from the server; try again." };
  server.live(body).then((r) => reply(r, body.seq), () => reply(failed, body.seq));
}
function live(final) {
  if (!final && (asked > answered || timer)) { again = true; return; }
  const wait = last + GAP - performance.now();
  if (!final && wait > 0) { timer = setTimeout(() => { timer = null; live(false); }, wait); return; }
  if (final) { again = false; clearTimeout(timer); timer = null; }
  const n = ++asked;
  if (final) lifted = n;
  out.dataset.asked = n; last = performance.now(); sentAt.set(n, last);
  send({ ...drawing(), seq: n, model: selected(), final });
  if (!lateTimer) behind();
}
function commit() { props.value = { ...drawing(), seq: ++seq }; live(true); }

function at(e) {
  const r = canvas.getBoundingClientRect();
  return [Math.round(((e.clientX - r.left) * SIDE) / r.width * 10) / 10,
          Math.round(((e.clientY - r.top) * SIDE) / r.height * 10) / 10];
}
canvas.addEventListener("pointerdown", (e) => {
  if (e.button > 0 || points() >= MAX_POINTS) return;
  e.preventDefault();
  canvas.setPointerCapture(e.pointerId);
  current = at(e);
  strokes.push(current);
  paint(); live(false);
});
// The pad's touches are its own: taken by the browser as a gesture, a stroke lifted while moving would start a
// fling, and the next tap anywhere within ~150 ms ("Is that right?") would be swallowed as the tap that stops it.
canvas.addEventListener("touchstart", (e) => e.preventDefault(), { passive: false });
canvas.addEventListener("pointermove", (e) => {
  if (!current) return;
  e.preventDefault();
  for (const ev of e.getCoalescedEvents ? e.getCoalescedEvents() : [e]) {
    const [x, y] = at(ev), n = current.length;
    if (Math.hypot(x - current[n - 2], y - current[n - 1]) < 1.5 || points() >= MAX_POINTS) continue;
    current.push(x, y);
  }
  paint(); live(false);
});
const lift = () => { if (!current) return; current = null; paint(); commit(); };
canvas.addEventListener("pointerup", lift);
canvas.addEventListener("pointercancel", lift);
// A new stroke, Undo or Clear: the address and the copied link no longer show this drawing.
const unlink = () => {
  if (location.hash) history.replaceState(null, "", location.pathname + location.search);
  note.textContent = ""; linkEl.hidden = true;
};
canvas.addEventListener("pointerdown", unlink);
element.querySelector(".dn-undo").addEventListener("click", () => { unlink(); strokes.pop(); paint(); commit(); });
element.querySelector(".dn-clear").addEventListener("click", () => { unlink(); strokes = []; paint(); commit(); });
// Another network chosen: its answer for the drawing as it stands.
document.addEventListener("change", (e) => { if (strokes.length && e.target.closest?.("#model")) live(true); });
const note = element.querySelector(".dn-share-note"), linkEl = element.querySelector(".dn-link");
shareButton.addEventListener("click", async () => {
  const fragment = encodeLink(strokes, PEN, selected());
  history.replaceState(null, "", "#" + fragment);
  linkEl.value = location.href; linkEl.hidden = false;
  try {
    await navigator.clipboard.writeText(linkEl.value);
    note.textContent = "Link copied: it opens this drawing and every network's answer to it.";
  } catch {
    note.textContent = "Copy the link below: it opens this drawing and every network's answer to it.";
    linkEl.focus(); linkEl.select();
  }
});
// A shared drawing's link: the strokes drawn on the pad and answered as if just drawn, or one message.
function openLink() {
  if (!location.hash.startsWith("#__KEY__=")) return;
  const radios = [...document.querySelectorAll("#model input")].map((i) => i.value);
  if (!radios.length) { setTimeout(openLink, 50); return; }  // the selector is not on the page yet
  let link;
  try { link = decodeLink(location.hash.slice(1), radios); } catch (e) {
    strokes = []; paint(); linkEl.hidden = true;
    textEl.textContent = sayEl.textContent = `This link's drawing cannot be opened: ${e.message}. Draw one!`;
    return;
  }
  strokes = link.strokes; paint();
  const radio = document.querySelector(`#model input[value="${link.model}"]`);
  if (!radio.checked) radio.click();
  setTimeout(commit, 0);
}
openLink();
window.addEventListener("hashchange", openLink);
new MutationObserver(paint).observe(document.body, { attributes: true, attributeFilter: ["class"] });
