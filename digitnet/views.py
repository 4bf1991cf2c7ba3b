"""What the page shows: data made from a Prediction or an Analysis, and the templates that render it.

The page's endpoints return the data (`render`); its gr.HTML components turn it into the chart, headline,
verdict, "what the network sees" and the comparison through the templates here (JavaScript template strings,
run in the browser). Nothing here loads a network or touches Gradio.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from digitnet import models
from digitnet.preprocess import grey_levels
from digitnet.readable import SAY_JS

if TYPE_CHECKING:
    from digitnet.explore import Dream, DreamGrid, FoolResult
    from digitnet.predict import Analysis, Prediction

PROMPT = "Draw a digit (0-9) in the box, or upload an image: the network's answer appears here."

# Plain words for the scores in Prediction.scores (see digitnet/ood.py for their definitions).
SCORE_WORDS = {
    "msp": "top probability",
    "msp_t": "confidence after calibration",
    "entropy": "uncertainty (entropy; 0 = sure, 2.3 = no idea)",
    "energy": "energy (lower = more like the training digits)",
    "mahalanobis": "distance from the digits it was trained on",
    # vae_bayes (digitnet/generative.py): how well its own model of each digit explains the input
    "elbo": "how well its best digit's model explains the input (log-likelihood bound, nats)",
    "excess": "how well its best digit's model explains the input, for an image of this much ink (nats)",
    "elbo_png": "bits its best digit's model saves over a PNG of the input",
}


def label(name: str) -> str:
    return models.describe(name)


def _shown(key: str, value: float) -> str:
    if key in ("msp", "msp_t"):
        return f"{100 * value:.0f}%"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


# --- data ------------------------------------------------------------------------------------------------


def verdict(pred: Prediction) -> dict | None:
    """Is it a digit at all, and why, in plain words (None: this network gives no verdict)."""
    if pred.empty or pred.not_a_digit is None:
        return None
    out = {"not_a_digit": pred.not_a_digit, "by": pred.verdict_by}
    by = pred.verdict_by
    if by is not None and by in pred.scores and pred.threshold is not None:
        value = pred.scores[by]
        out |= {
            "words": SCORE_WORDS.get(by, by),
            "value": _shown(by, value),
            "threshold": _shown(by, pred.threshold),
            # which side of the threshold counts as "not a digit": the calibration's rule, whatever this input's value
            "side": "below" if models.HIGHER_IS_DIGIT[by] else "above",
        }
    return out


def answer(pred: Prediction | None) -> dict | None:
    """One network's answer as the page shows it (None: nothing drawn yet)."""
    if pred is None or pred.empty:
        return None
    return {
        "model": pred.model,
        "label": label(pred.model),
        "digit": pred.digit,
        "confidence": round(pred.confidence, 6),
        "probabilities": [round(p, 6) for p in pred.probabilities],
        "verdict": verdict(pred),
        "scores": [[SCORE_WORDS.get(k, k), _shown(k, v)] for k, v in pred.scores.items()],
    }


def seen(image: np.ndarray | None, sal: np.ndarray | None = None) -> dict | None:
    """What the network sees: the 28x28 input as grey levels 0-255, and the saliency scaled to -100..100."""
    if image is None:
        return None
    out = {"input": _levels(image), "saliency": None}
    if sal is not None:
        top = max(float(np.abs(sal).max()), 1e-12)
        out["saliency"] = np.round(100 * sal / top).astype(int).ravel().tolist()
    return out


def comparison(analysis: Analysis) -> list[dict]:
    """Every network's answer for the same input."""
    return [a for a in map(answer, analysis.predictions.values()) if a is not None]


def render(analysis: Analysis, selected: str) -> tuple[dict | None, dict | None, list[dict]]:
    """The page's data for one input: the selected network's answer, what it sees, and every network's answer."""
    return answer(analysis.predictions.get(selected)), seen(analysis.image, analysis.saliency), comparison(analysis)


def dreams(grid: DreamGrid) -> dict:
    """What the network thinks each digit looks like: ten inputs, how sure it is of each, its verdict; `method`
    says how they were made ("grown" by gradient ascent, or "drawn" by the network, each cell then carrying the
    network's other drawings of its digit as "samples", in the same shape)."""
    cells = [_dream(d) | ({"samples": [_dream(s) for s in d.samples]} if d.samples else {}) for d in grid.dreams]
    return {"model": grid.model, "label": label(grid.model), "regularised": grid.regularised,
            "method": grid.method, "dreams": cells}  # fmt: skip


def drawings(grids: list[DreamGrid]) -> dict:
    """What /dream returns: the first grid (a generative network's drawings, else the grown inputs); a
    generative network's grown inputs come along as "grown", ten cells in the same shape."""
    out = dreams(grids[0])
    if len(grids) > 1:
        out["grown"] = dreams(grids[1])["dreams"]
    return out


def _dream(d: Dream) -> dict:
    return {"digit": d.digit, "input": _levels(d.image), "confidence": round(d.confidence, 6),
            "verdict": verdict(d.prediction)}  # fmt: skip


def fooled(result: FoolResult) -> dict:
    """The visitor's input, the changed one, the change, how much it was, and the network's new answer."""
    diff = grey_levels(result.image) - grey_levels(result.original)
    return {
        "model": result.model, "label": label(result.model), "target": result.target, "success": result.success,
        "original": _levels(result.original), "image": _levels(result.image),
        "difference": diff.astype(int).ravel().tolist(),  # signed grey levels, -255..255
        "l2": round(result.l2, 3), "linf": round(result.linf, 3), "pixels_changed": result.pixels_changed,
        "before": answer(result.before), "after": answer(result.after),
    }  # fmt: skip


def _levels(image: np.ndarray) -> list[int]:
    return grey_levels(image).ravel().tolist()


# --- templates (JavaScript template strings, rendered in the browser) -------------------------------------

_PARTS = """
const pct = (p) => `${Math.round(100 * p)}%`;
const chart = (a) => {
  const win = a ? a.digit : null, probs = a ? a.probabilities : Array(10).fill(0);
  const cols = probs.map((p, d) => `<div class="col"><div class="bar${d === win ? " winner" : ""}" data-digit="${d}"
    data-p="${p}" style="height:${(100 * p).toFixed(2)}%"><span class="pct">${a ? pct(p) : ""}</span></div></div>`);
  const digits = probs.map((p, d) => `<span class="${d === win ? "winner" : ""}">${d}</span>`);
  const grid = [50, 100].map((v) => `<div class="grid" style="bottom:${v}%">${v}%</div>`).join("");
  const words = a ? `The ten probabilities: ${say(a)}` : "No answer yet";
  return `<div class="dn-chart" role="img" aria-label="${words}">${grid}${cols.join("")}</div>
    <div class="dn-digits" aria-hidden="true">${digits.join("")}</div>`;
};
const pill = (a) => !a || !a.verdict ? "" : a.verdict.not_a_digit
  ? `<div class="dn-verdict not-digit">Probably not a digit</div>`
  : `<div class="dn-verdict is-digit">Looks like a digit</div>`;
const why = (a) => {
  if (!a || !a.verdict) return "";
  const v = a.verdict, items = a.scores.map(([w, s]) => `<li>${w}: ${s}</li>`).join("");
  const line = !v.words ? "" : `<div class="dn-why">Its ${v.words} is ${v.value};
    ${v.side} ${v.threshold} counts as not a digit.</div>`;
  return line + (items ? `<details class="dn-scores"><summary>All scores</summary><ul>${items}</ul></details>` : "");
};
const prompt = `<div class="dn-head"><span class="prompt">PROMPT</span></div>`;
// A 28x28 image ("r,g,b" per pixel, row by row) as one <img>: a 24-bit BMP in a data: URL (one element, not 784).
const bmp = (rgb) => {
  const w = 28, row = 3 * w, size = 54 + row * w, b = new Uint8Array(size), v = new DataView(b.buffer);
  b[0] = 66; b[1] = 77; v.setUint32(2, size, true); v.setUint32(10, 54, true); v.setUint32(14, 40, true);
  v.setInt32(18, w, true); v.setInt32(22, w, true); v.setUint16(26, 1, true); v.setUint16(28, 24, true);
  v.setUint32(34, row * w, true);
  rgb.forEach((c, i) => {
    const [r, g, bl] = String(c).split(",").map(Number), o = 54 + (w - 1 - Math.floor(i / w)) * row + (i % w) * 3;
    b[o] = bl; b[o + 1] = g; b[o + 2] = r;  // rows bottom-up, blue first
  });
  let text = "";
  for (const x of b) text += String.fromCharCode(x);
  return `data:image/bmp;base64,${btoa(text)}`;
};
const grid = (rgb, cls = "") => `<div class="frame ${cls}"><img class="cells" alt="" src="${bmp(rgb)}"></div>`;
const grey = (levels) => levels.map((g) => `${g},${g},${g}`);
// One network's image of a digit (views.dreams' cells): the image, how sure the network is, its verdict; a drawn
// cell also shows the network's other drawings of that digit, a red frame where its verdict says "not a digit".
const sure = (c) => c >= 0.9999 ? "&ge;99.99" : (100 * c).toFixed(1);
const sample = (s) => `<figure class="dn-sample${s.verdict && s.verdict.not_a_digit ? " flagged" : ""}"
  data-digit="${s.digit}" data-confidence="${s.confidence}">${grid(grey(s.input), "tiny")}
  <figcaption>${Math.round(100 * s.confidence)}%</figcaption></figure>`;
const dreamCell = (d) => `<figure class="dn-dream" data-digit="${d.digit}" data-confidence="${d.confidence}">
  ${grid(grey(d.input), "small")}<figcaption><b>${d.digit}</b>: ${sure(d.confidence)}% sure
  ${pill({verdict: d.verdict})}</figcaption>${d.samples ? `<div class="dn-samples">${d.samples.map(sample)
  .join("")}</div>` : ""}</figure>`;
const made = {
  drawn: `Drawn by the model: for each digit its most typical drawing (its decoder at the centre of its style space),
    and below it drawings from random styles (seeded), each judged by the network itself.`,
  grown: `Grown by gradient ascent on the pixels, from a near-blank image: the input the network is most sure is
    each digit. The network cannot draw; this is what its answer rewards.`,
};
""".replace("PROMPT", PROMPT)


def _template(body: str) -> str:
    return "${(() => {" + SAY_JS + _PARTS + body + "})()}"


DREAMS = _template("""
if (!value) return `<div class="dn-explore-empty">Pick a network and press the button: it grows, from a blank
  image, the input it is most sure is each digit; a network that draws shows its own drawings.</div>`;
const block = (method, cells) => `<p class="dn-method">${made[method]}</p>
  <div class="dn-dreams" data-method="${method}">${cells.map(dreamCell).join("")}</div>`;
const grown = !value.grown ? "" : `<p class="dn-method"><b>The same network, asked by gradient ascent</b> (as the
  others are, not drawn by it): does its verdict notice?</p>
  <div class="dn-dreams" data-method="grown">${value.grown.map(dreamCell).join("")}</div>`;
return `<div class="dn-dream-view" data-model="${value.model}">${block(value.method, value.dreams)}${grown}</div>`;
""")

EXHIBIT = _template("""
if (!value || !value.length) return `<div class="dn-explore-empty">Press the button: every network's picture of
  every digit appears here, side by side, each judged by the network that made it.</div>`;
const how = {drawn: "drawn by the model", grown: "grown by gradient ascent on its input"};
const row = (n) => `<div class="dn-exhibit-row" data-model="${n.model}" data-method="${n.method}">
  <div class="dn-title">${n.label}: ${how[n.method]}</div>
  <div class="dn-dreams">${n.dreams.map((d) => dreamCell({...d, samples: null})).join("")}</div></div>`;
return `<div class="dn-exhibit">${value.map(row).join("")}</div>`;
""")

FOOL = _template("""
if (!value) return `<div class="dn-explore-empty">Draw a digit (or pick an example), choose the digit the network
  should see instead, and press the button.</div>`;
const v = value, a = v.after;
const most = Math.max(1, ...v.difference.map(Math.abs)), gain = 255 / most;  // shown at full strength
const diff = v.difference.map((d) => Math.round(Math.abs(d) * gain)).map((m, i) =>
  v.difference[i] >= 0 ? `255,${255 - m},${255 - m}` : `${255 - m},${255 - m},255`);
const fig = (rgb, caption, cls = "") =>
  `<figure>${grid(rgb, "small " + cls)}<figcaption>${caption}</figcaption></figure>`;
const outcome = v.success
  ? `The network now says <b>${a.digit}</b>, ${(100 * a.confidence).toFixed(1)}% sure.`
  : `No change within the budget made the network say ${v.target} with 99% confidence; the closest is shown.`;
return `<div class="dn-fool" data-model="${v.model}" data-success="${v.success}">
  <div class="dn-fool-figs">${fig(grey(v.original), `Yours: ${v.before ? v.before.digit : "?"}`)}
  ${fig(grey(v.image), `Changed: ${a.digit}`, "changed")}
  ${fig(diff, `The change, ${gain.toFixed(1)}x stronger (red: more ink, blue: less)`)}</div>
  <div class="dn-fool-outcome"><span>${outcome}</span>${pill(a)}</div>
  <div class="dn-fool-size">Changed: ${v.pixels_changed} of 784 pixels; size of the change (L2) ${v.l2.toFixed(2)},
    largest single pixel change ${Math.round(100 * v.linf)}% of full ink.</div>${chart(a)}</div>`;
""")

ANSWER = _template("""
const a = value;
const head = !a ? prompt : `<div class="dn-head" data-model="${a.model}">
  <span class="digit" data-digit="${a.digit}">${a.digit}</span>
  <span class="conf">${(100 * a.confidence).toFixed(1)}% sure</span>${pill(a)}</div>`;
// On the Draw tab the readout under the pad shows the headline and the bars: page.PAGE_CSS hides .dn-full there.
return `<div class="dn-answer" data-model="${a ? a.model : ""}" data-digit="${a ? a.digit : ""}">
  <div class="dn-full"><div id="headline">${head}</div><div id="chart">${chart(a)}</div></div>${why(a)}</div>`;
""")

PIXELS = _template("""
if (!value) return `<div class="dn-pixels"><span class="prompt">Nothing drawn yet.</span></div>`;
const figure = (cls, rgb, caption) => `<figure class="${cls}">${grid(rgb)}<figcaption>${caption}</figcaption></figure>`;
let figures = figure("seen", grey(value.input), "The 28x28 input, as MNIST digits look");
if (value.saliency) {
  const hue = value.saliency.map((s, i) => {
    const k = Math.abs(s) / 100, base = 0.35 * value.input[i], c = s >= 0 ? [255, 38, 26] : [38, 115, 255];
    return c.map((x) => Math.round(base * (1 - k) + x * k)).join(",");
  });
  figures += figure("saliency", hue, "Saliency: red pixels pushed the network toward its answer, blue ones away");
}
return `<div class="dn-pixels">${figures}</div>`;
""")

COMPARE = _template("""
if (!value || !value.length) return prompt;
const cell = (a) => `<div class="dn-model" data-model="${a.model}">
  <div class="dn-title">${a.label}: ${a.digit} (${pct(a.confidence)})</div>${chart(a)}${pill(a)}${why(a)}</div>`;
return `<div class="dn-compare">${value.map(cell).join("")}</div>`;
""")

CSS = """
.dn-chart { display: flex; gap: 4px; align-items: flex-end; height: 96px; margin: 14px 0 0; position: relative;
  border-bottom: 1px solid var(--border-color-primary); }
.dn-chart .col { flex: 1; display: flex; flex-direction: column; justify-content: flex-end; height: 100%; }
.dn-chart .bar { background: var(--neutral-400); border-radius: 3px 3px 0 0; min-height: 1px; position: relative; }
.dn-chart .bar.winner { background: var(--color-accent); }
.dn-chart .pct { position: absolute; bottom: 100%; width: 100%; text-align: center; font-size: 11px;
  color: var(--body-text-color-subdued); }
.dn-chart .grid { position: absolute; left: 0; right: 0; border-top: 1px dashed var(--border-color-primary);
  font-size: 10px; color: var(--body-text-color-subdued); pointer-events: none; }
.dn-digits { display: flex; gap: 4px; padding: 2px 4px; }
.dn-digits span { flex: 1; text-align: center; font-weight: 600; }
.dn-digits span.winner { color: var(--color-accent); }
.dn-title { font-weight: 600; margin: 4px 0; }
.dn-head { display: flex; align-items: center; flex-wrap: wrap; gap: 6px 16px; min-height: 64px; }
.dn-head .digit { font-size: 60px; line-height: 1; font-weight: 700; color: var(--color-accent); }
.dn-head .conf { font-size: 28px; font-weight: 600; }
.dn-head .prompt, .dn-pixels .prompt { font-size: 18px; color: var(--body-text-color-subdued); }
.dn-verdict { padding: 4px 10px; border-radius: 6px; font-weight: 600; }
.dn-verdict.is-digit { background: rgba(34, 197, 94, 0.15); }
.dn-verdict.not-digit { background: rgba(239, 68, 68, 0.18); }
.dn-why { font-size: 14px; margin: 4px 0; }
.dn-scores { font-size: 13px; color: var(--body-text-color-subdued); }
.dn-scores ul { margin: 2px 0 0; padding-left: 18px; }
.dn-pixels { display: flex; gap: 16px; flex-wrap: wrap; }
.dn-pixels figure { margin: 0; }
.frame { position: relative; width: 196px; height: 196px; }
.frame.small { width: 112px; height: 112px; }
.cells { display: block; width: 100%; height: 100%; image-rendering: pixelated; }
.frame::after { content: ""; position: absolute; inset: 0; pointer-events: none;
  background-image: linear-gradient(to right, rgba(128,128,128,.35) 1px, transparent 1px),
    linear-gradient(to bottom, rgba(128,128,128,.35) 1px, transparent 1px);
  background-size: calc(100% / 28) calc(100% / 28); }
.dn-pixels figcaption { font-size: 12px; color: var(--body-text-color-subdued); max-width: 196px; }
.dn-dreams { display: grid; grid-template-columns: repeat(5, minmax(0, 1fr)); gap: 10px; }
.dn-dreams figure, .dn-fool figure { margin: 0; }
.dn-dreams .frame.small { width: 100%; height: auto; aspect-ratio: 1 / 1; }
.dn-dreams figcaption, .dn-fool figcaption { font-size: 12px; margin-top: 2px; }
.dn-dreams .dn-verdict { display: block; margin-top: 2px; padding: 1px 4px; font-size: 11px; }
.dn-samples { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 2px; margin-top: 3px; }
.dn-sample { margin: 0; }
.dn-sample .frame.tiny { width: 100%; height: auto; aspect-ratio: 1 / 1; }
.dn-sample.flagged .frame { outline: 2px solid rgba(239, 68, 68, 0.7); }
.dn-sample figcaption { font-size: 10px; text-align: center; }
.dn-method { font-size: 13px; margin: 6px 0; }
.dn-exhibit-row { margin-bottom: 16px; }
.dn-exhibit .dn-dreams { grid-template-columns: repeat(10, minmax(0, 1fr)); gap: 6px; }
@media (max-width: 800px) { .dn-exhibit .dn-dreams { grid-template-columns: repeat(5, minmax(0, 1fr)); } }
.dn-fool-figs { display: flex; gap: 12px; flex-wrap: wrap; }
.dn-fool-outcome { margin: 8px 0 4px; font-size: 16px; display: flex; gap: 10px; align-items: center; flex-wrap: wrap; }
.dn-fool-size, .dn-explore-empty { font-size: 13px; color: var(--body-text-color-subdued); }
.dn-compare { display: grid; grid-template-columns: repeat(auto-fit, minmax(220px, 1fr)); gap: 14px; }
"""
