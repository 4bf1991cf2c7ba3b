"""What the page shows, rendered from data: a Prediction or an Analysis in, HTML out (chart, headline, pixels).

Nothing here loads a network or touches Gradio, so every view can be checked without a browser.
"""

from __future__ import annotations

import base64
import html
import io

import numpy as np
from PIL import Image

from digitnet import models
from digitnet.predict import Analysis, Prediction

CANVAS = 280  # px, the drawing pad's side; the sketchpad's canvas export dominates stroke-to-chart time
PROMPT = "Draw a digit (0-9) in the box, or upload an image: the network's answer appears here."

# Plain words for the scores in Prediction.scores (see digitnet/ood.py for their definitions).
SCORE_WORDS = {
    "msp": "top probability",
    "msp_t": "confidence after calibration",
    "entropy": "uncertainty (entropy; 0 = sure, 2.3 = no idea)",
    "energy": "energy (lower = more like the training digits)",
    "mahalanobis": "distance from the digits it was trained on",
}


def label(name: str) -> str:
    return models.DESCRIPTIONS.get(name, name)


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
.dn-head .prompt { font-size: 18px; color: var(--body-text-color-subdued); }
.dn-verdict { padding: 4px 10px; border-radius: 6px; font-weight: 600; }
.dn-verdict.is-digit { background: rgba(34, 197, 94, 0.15); }
.dn-verdict.not-digit { background: rgba(239, 68, 68, 0.18); }
.dn-why { font-size: 14px; margin: 4px 0; }
.dn-scores { font-size: 13px; color: var(--body-text-color-subdued); }
.dn-scores ul { margin: 2px 0 0; padding-left: 18px; }
.dn-pixels { display: flex; gap: 16px; flex-wrap: wrap; }
.dn-pixels figure { margin: 0; }
.dn-pixels .frame { position: relative; width: 196px; height: 196px; }
.dn-pixels img { width: 196px; height: 196px; image-rendering: pixelated; display: block; }
.dn-pixels .frame::after { content: ""; position: absolute; inset: 0; pointer-events: none;
  background-image: linear-gradient(to right, rgba(128,128,128,.35) 1px, transparent 1px),
    linear-gradient(to bottom, rgba(128,128,128,.35) 1px, transparent 1px);
  background-size: calc(100% / 28) calc(100% / 28); }
.dn-pixels figcaption { font-size: 12px; color: var(--body-text-color-subdued); max-width: 196px; }
.dn-compare { display: grid; grid-template-columns: repeat(auto-fit, minmax(220px, 1fr)); gap: 14px; }
"""


def chart_html(pred: Prediction | None, title: str | None = None) -> str:
    """Ten bars, digits 0-9 in order, axis fixed at 0-100%, the winner highlighted (class "bar winner")."""
    probs = pred.probabilities if pred is not None and not pred.empty else [0.0] * 10
    winner = pred.digit if pred is not None and not pred.empty else None
    grid = "".join(f'<div class="grid" style="bottom:{v}%">{v}%</div>' for v in (50, 100))
    cols, digits = [], []
    for d, p in enumerate(probs):
        cls = " winner" if d == winner else ""
        pct = f"{100 * p:.0f}%" if winner is not None else ""
        cols.append(
            f'<div class="col"><div class="bar{cls}" data-digit="{d}" data-p="{p:.6f}" style="height:{100 * p:.2f}%">'
            f'<span class="pct">{pct}</span></div></div>'
        )
        digits.append(f'<span class="{cls.strip()}">{d}</span>')
    head = f'<div class="dn-title">{html.escape(title)}</div>' if title else ""
    return f'{head}<div class="dn-chart">{grid}{"".join(cols)}</div><div class="dn-digits">{"".join(digits)}</div>'


def _shown(key: str, value: float) -> str:
    if key in ("msp", "msp_t"):
        return f"{100 * value:.0f}%"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def verdict_pill(pred: Prediction | None) -> str:
    """ "Looks like a digit" / "probably not a digit" ("" without a verdict)."""
    if pred is None or pred.empty or pred.not_a_digit is None:
        return ""
    cls, text = ("not-digit", "Probably not a digit") if pred.not_a_digit else ("is-digit", "Looks like a digit")
    return f'<div class="dn-verdict {cls}">{text}</div>'


def verdict_why(pred: Prediction | None) -> str:
    """Why the verdict is what it is, in plain words, and every score ("" without a verdict)."""
    if pred is None or pred.empty or pred.not_a_digit is None:
        return ""
    why, by = "", pred.verdict_by
    if by is not None and by in pred.scores and pred.threshold is not None:
        value = pred.scores[by]
        side = "above" if (value > pred.threshold) == pred.not_a_digit else "below"
        why = (
            f'<div class="dn-why">Its {html.escape(SCORE_WORDS.get(by, by))} is '
            f"{_shown(by, value)}; {side} {_shown(by, pred.threshold)} counts as not a digit.</div>"
        )
    items = "".join(f"<li>{html.escape(SCORE_WORDS.get(k, k))}: {_shown(k, v)}</li>" for k, v in pred.scores.items())
    details = f'<details class="dn-scores"><summary>All scores</summary><ul>{items}</ul></details>' if items else ""
    return why + details


def verdict_html(pred: Prediction) -> str:
    return verdict_pill(pred) + verdict_why(pred)


def headline_html(pred: Prediction | None) -> str:
    """The predicted digit, its confidence and the verdict, on one line; the friendly prompt when nothing is drawn."""
    if pred is None or pred.empty:
        return f'<div class="dn-head"><span class="prompt">{PROMPT}</span></div>'
    return (
        f'<div class="dn-head" data-model="{html.escape(pred.model)}">'
        f'<span class="digit" data-digit="{pred.digit}">{pred.digit}</span>'
        f'<span class="conf">{100 * pred.confidence:.1f}% sure</span>{verdict_pill(pred)}</div>'
    )


def _png_data_uri(rgb: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def saliency_rgb(image: np.ndarray, sal: np.ndarray) -> np.ndarray:
    """Red where pixels pushed toward the answer, blue where they pushed away, over the dimmed input."""
    a = np.abs(sal) / max(float(np.abs(sal).max()), 1e-12)
    base = np.repeat((0.35 * image)[..., None], 3, -1)
    colour = np.where((sal >= 0)[..., None], np.array([1.0, 0.15, 0.1]), np.array([0.15, 0.45, 1.0]))
    return (255 * (base * (1 - a[..., None]) + colour * a[..., None])).clip(0, 255).astype(np.uint8)


def _figure(rgb: np.ndarray, caption: str, cls: str) -> str:
    return (
        f'<figure class="{cls}"><div class="frame"><img alt="{cls}" src="{_png_data_uri(rgb)}"></div>'
        f"<figcaption>{caption}</figcaption></figure>"
    )


def pixels_html(image: np.ndarray | None, sal: np.ndarray | None = None) -> str:
    """What the network sees: the 28x28 input enlarged with visible pixels, and the saliency map if any."""
    if image is None:
        return '<div class="dn-pixels"><span class="prompt">Nothing drawn yet.</span></div>'
    gray = (255 * np.clip(image, 0, 1)).astype(np.uint8)
    parts = [_figure(np.repeat(gray[..., None], 3, -1), "The 28x28 input, as MNIST digits look", "seen")]
    if sal is not None:
        caption = "Saliency: red pixels pushed the network toward its answer, blue ones away from it"
        parts.append(_figure(saliency_rgb(image, sal), caption, "saliency"))
    return f'<div class="dn-pixels">{"".join(parts)}</div>'


def compare_html(analysis: Analysis) -> str:
    """Every network's chart and verdict side by side for the same input."""
    if analysis.image is None:
        return f'<div class="dn-head"><span class="prompt">{PROMPT}</span></div>'
    cells = []
    for name, pred in analysis.predictions.items():
        title = f"{label(name)}: {pred.digit} ({100 * pred.confidence:.0f}%)"
        verdict = verdict_html(pred)
        cells.append(f'<div class="dn-model" data-model="{name}">{chart_html(pred, title)}{verdict}</div>')
    return f'<div class="dn-compare">{"".join(cells)}</div>'


def render(analysis: Analysis, selected: str) -> tuple[str, str, str, str]:
    """(headline, chart, pixels, compare) HTML for the selected model."""
    pred = analysis.predictions.get(selected)
    chart = chart_html(pred) + verdict_why(pred)
    return headline_html(pred), chart, pixels_html(analysis.image, analysis.saliency), compare_html(analysis)
