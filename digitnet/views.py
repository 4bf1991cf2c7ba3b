"""What the page shows: data made from a Prediction or an Analysis, and the templates that render it.

The page's endpoints return the data (`render`); its gr.HTML components turn it into the chart, headline,
verdict, "what the network sees" and the comparison through the templates here (JavaScript template strings in
digitnet/web/views/, run in the browser). Nothing here loads a network or touches Gradio.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from digitnet import models, web
from digitnet.preprocess import grey_levels

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

VIEWS = ("answer", "pixels", "compare", "dreams", "exhibit", "fool")


def template(view: str) -> str:
    """One view's html_template: its file in digitnet/web/views/, after say.js and the parts the views share
    (views/parts.js), all in one function run inside Gradio's template string."""
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; one of {', '.join(VIEWS)}")
    parts = web.fill(web.source("views/parts.js"), PROMPT=PROMPT)
    code = [web.source("say.js"), parts, web.source(f"views/{view}.js")]
    return "${(() => {\n" + "\n".join(code) + "})()}"


def css() -> str:
    """The views' style (digitnet/web/views.css), the css_template of each."""
    return web.source("views.css")
