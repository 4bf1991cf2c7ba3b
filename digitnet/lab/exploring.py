"""The report's exploring sections: what each network thinks a digit looks like, its drawings, and fooling it
(issues 14 and 24).

For every network: its two dream grids (digitnet.explore.dream, plain and regularised) and fooling attempts on
MNIST test digits, each toward a seeded random digit other than its label; then every network's "not a digit"
verdict on the results, so the tables say which verdict catches what. A generative classifier also draws each
digit from its own model (its most typical drawing and seeded samples); every drawing, dreamt or drawn, and every
fooled image goes through the drawing check (digitnet.lab.drawing_check), which stands in for a person reading it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from digitnet import explore
from digitnet.lab.drawing_check import DrawingCheck
from digitnet.predict import Prediction, Predictor
from digitnet.preprocess import grey_levels

SAMPLES = 8  # seeded drawings per digit shown and checked for a generative classifier
SAMPLE_SEED = 0


@dataclass
class Explored:
    name: str
    plain: explore.DreamGrid
    smooth: explore.DreamGrid
    fooled: list[explore.FoolResult]
    typical: list[np.ndarray] | None = None  # a generative classifier's most typical drawing of each digit
    samples: list[list[np.ndarray]] | None = None  # and SAMPLES seeded drawings of each digit


def drawings(p: Predictor) -> tuple[list[np.ndarray], list[list[np.ndarray]]] | None:
    """A generative classifier's typical drawing and SAMPLES seeded drawings of each digit, on the 0-255 grey
    levels the page shows (None for a network that cannot draw)."""
    if not p.kind.generative:
        return None
    vae = p.model.vae
    typical = [_shown(vae.typical(d).numpy()) for d in range(10)]
    samples = [[_shown(im) for im in vae.sample(d, SAMPLES, seed=SAMPLE_SEED).numpy()] for d in range(10)]
    return typical, samples


def _shown(image: np.ndarray) -> np.ndarray:
    return (grey_levels(image) / 255).astype(np.float32)


def fool_cases(x: torch.Tensor, y: torch.Tensor, n: int, seed: int = 0) -> list[tuple[np.ndarray, int]]:
    """`n` MNIST test digits (uint8 N x 28 x 28, labels) as floats, each with a seeded target other than its label."""
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(x), n, replace=False)
    return [(x[i].numpy() / 255, int((y[i] + rng.integers(1, 10)) % 10)) for i in picks]


def explore_all(predictors: dict[str, Predictor], cases: list[tuple[np.ndarray, int]]) -> list[Explored]:
    out = []
    for name, p in predictors.items():
        fooled = [explore.fool(p, image, target) for image, target in cases]
        out.append(Explored(name, explore.dream(p), explore.dream(p, regularised=True), fooled, *(drawings(p) or ())))
    return out


def flagged(preds: list[Prediction]) -> str:
    """How many of these answers the verdict calls "not a digit", as "k/n" ("no verdict" without one)."""
    verdicts = [p.not_a_digit for p in preds]
    return "no verdict" if None in verdicts else f"{sum(verdicts)}/{len(verdicts)}"


def mean(values) -> float:
    v = list(values)
    return sum(v) / len(v) if v else float("nan")


def _judged(judge: Predictor, images: list[np.ndarray]) -> str:
    return flagged(judge.predict_arrays(images)) if images else "-"


def dreams_table(results: list[Explored], predictors: dict[str, Predictor]) -> str:
    """Per network and grid: the lowest and median confidence over the ten digits, and each verdict's catch."""
    names = list(predictors)
    head = ["grown by", "grid", "lowest confidence", "median confidence"] + [f"flagged by {n}" for n in names]
    rows = []
    for r in results:
        for kind, grid in (("plain", r.plain), ("smooth", r.smooth)):
            conf = [d.confidence for d in grid.dreams]
            images = [d.image for d in grid.dreams]
            rows.append([r.name, kind, f"{100 * min(conf):.3f}%", f"{100 * float(np.median(conf)):.3f}%"]
                        + [_judged(predictors[n], images) for n in names])  # fmt: skip
    return _table(head, rows)


@dataclass
class Row:
    """Drawings of digits by one network, one way: the images, the digit each is meant to be, the network's answers."""

    name: str
    how: str
    images: list[np.ndarray]
    digits: list[int]
    answers: list[Prediction]


def drawing_rows(results: list[Explored], predictors: dict[str, Predictor]) -> list[Row]:
    """Per network: its plain and smooth dreams, and a generative classifier's typical drawings and samples."""
    rows = []
    for r in results:
        ways = [("gradient ascent, plain", [d.image for d in r.plain.dreams], list(range(10))),
                ("gradient ascent, smooth", [d.image for d in r.smooth.dreams], list(range(10)))]  # fmt: skip
        if r.typical is not None and r.samples is not None:
            samples = [im for per in r.samples for im in per]
            ways += [("its typical drawing (z = 0)", r.typical, list(range(10))),
                     (f"drawn from its model ({SAMPLES} a digit, seed {SAMPLE_SEED})", samples,
                      [d for d in range(10) for _ in range(SAMPLES)])]  # fmt: skip
        for how, images, digits in ways:
            rows.append(Row(r.name, how, images, digits, predictors[r.name].predict_arrays(images)))
    return rows


def _passing(check: DrawingCheck, images: list[np.ndarray], digits: list[int]) -> torch.Tensor:
    if not images:
        return torch.zeros(0, dtype=torch.bool)
    return check.passes(torch.from_numpy(np.stack(images)), torch.tensor(digits))


def drawings_table(rows: list[Row], check: DrawingCheck) -> str:
    """Per network and way of drawing: how many drawings pass the drawing check (read as their digit by the plain
    cnn and cnn_oe, and as far from the nearest training digit as real test digits are), for how many digits most
    of them pass, the network's own confidence in the digit meant, and its own verdict on them."""
    head = ["drawn by", "how", "passes the drawing check", "digits drawn (most pass)", "lowest own confidence",
            "median own confidence", "flagged by own verdict"]  # fmt: skip
    out = []
    for row in rows:
        ok, digits = _passing(check, row.images, row.digits), torch.tensor(row.digits)
        drawn = sum(bool(ok[digits == d].double().mean() > 0.5) for d in range(10))
        conf = [a.probabilities[d] for a, d in zip(row.answers, row.digits, strict=True)]
        out.append([row.name, row.how, f"{int(ok.sum())}/{len(ok)}", f"{drawn}/10", f"{100 * min(conf):.3f}%",
                    f"{100 * float(np.median(conf)):.3f}%", flagged(row.answers)])  # fmt: skip
    return _table(head, out)


def fooling_table(results: list[Explored], predictors: dict[str, Predictor], check: DrawingCheck | None = None) -> str:
    """Per fooled network: success, the change needed (and its median against the plain cnn's), the confidence
    reached against the one it gives the untouched digits, how many fooled images the drawing check reads as the new
    digit ("-" without a check), and each verdict's catch of the fooled images (and of the untouched originals)."""
    names = list(predictors)
    cnn = [_median_l2(r) for r in results if r.name == "cnn"]
    head = ["fooled network", "fooled (>= 99%)", "mean L2", "median L2", "median L2 / cnn's", "mean L-inf",
            "mean pixels changed", "median confidence on the originals", "mean confidence reached",
            "drawing check reads the new digit"]  # fmt: skip
    head += [f"flagged by {n}" for n in names] + ["originals flagged by own verdict"]
    rows = []
    for r in results:
        ok = [f for f in r.fooled if f.success]
        read = _passing(check, [f.image for f in ok], [f.target for f in ok]) if check else None
        rows.append(
            [r.name, f"{len(ok)}/{len(r.fooled)}", f"{mean(f.l2 for f in ok):.2f}", f"{_median_l2(r):.2f}",
             f"{_median_l2(r) / cnn[0]:.2f}" if cnn else "-", f"{mean(f.linf for f in ok):.2f}",
             f"{mean(f.pixels_changed for f in ok):.0f}",
             f"{100 * float(np.median([f.before.confidence for f in r.fooled])):.2f}%",
             f"{100 * mean(f.confidence for f in ok):.2f}%", "-" if read is None else f"{int(read.sum())}/{len(ok)}"]
            + [_judged(predictors[n], [f.image for f in ok]) for n in names]
            + [flagged([f.before for f in r.fooled])]
        )  # fmt: skip
    return _table(head, rows)


def _median_l2(r: Explored) -> float:
    """Median L2 of the successful fooling changes (nan when none succeeded)."""
    l2 = [f.l2 for f in r.fooled if f.success]
    return float(np.median(l2)) if l2 else float("nan")


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def plot_dreams(results: list[Explored], path: Path) -> None:
    """One row per network and grid: its ten grown inputs, each titled with the digit and the confidence."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [(r.name, kind, grid) for r in results for kind, grid in (("plain", r.plain), ("smooth", r.smooth))]
    fig, axes = plt.subplots(len(rows), 10, figsize=(12, 1.45 * len(rows)), squeeze=False)
    for ax_row, (name, kind, grid) in zip(axes, rows, strict=True):
        for ax, d in zip(ax_row, grid.dreams, strict=True):
            ax.imshow(d.image, cmap="gray", vmin=0, vmax=1)
            flag = " ✗" if d.prediction.not_a_digit else ""
            ax.set_title(f"{d.digit}: {100 * d.confidence:.2f}%{flag}", fontsize=8)
            ax.set_xticks([]), ax.set_yticks([])
        ax_row[0].set_ylabel(f"{name}\n{kind}", fontsize=9)
    fig.suptitle("The input each network is most sure is each digit (✗: its own verdict says not a digit)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_drawings(rows: list[Row], check: DrawingCheck, path: Path, sample_rows: int = 4) -> None:
    """Each network's plain dream of every digit, then a generative classifier's typical drawing and a few of its
    samples; each titled with the network's own confidence (✗: its own verdict says not a digit), framed green when
    the drawing check passes it and red when not."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = []
    for row in rows:
        if "smooth" in row.how:
            continue
        per = len(row.images) // 10
        for k in range(min(per, sample_rows)):
            pick = [d * per + k for d in range(10)]
            label = {"gradient ascent, plain": "grown"}.get(row.how, "typical") if per == 1 else f"sample {k + 1}"
            shown.append((f"{row.name}\n{label}", *([getattr(row, a)[i] for i in pick] for a in ("images", "answers")),
                          _passing(check, [row.images[i] for i in pick], list(range(10)))))  # fmt: skip
    fig, axes = plt.subplots(len(shown), 10, figsize=(12, 1.45 * len(shown)), squeeze=False)
    for ax_row, (label, images, answers, ok) in zip(axes, shown, strict=True):
        for d, (ax, im, a) in enumerate(zip(ax_row, images, answers, strict=True)):
            ax.imshow(im, cmap="gray", vmin=0, vmax=1)
            ax.set_title(f"{d}: {100 * a.probabilities[d]:.1f}%{' ✗' if a.not_a_digit else ''}", fontsize=8)
            ax.set_xticks([]), ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set(color="tab:green" if ok[d] else "tab:red", linewidth=2)
        ax_row[0].set_ylabel(label, fontsize=8)
    fig.suptitle("Can it draw what it recognises? Each network's drawing of 0-9 (green frame: the drawing check "
                 "reads it as the digit; ✗: its own verdict says not a digit)", fontsize=10)  # fmt: skip
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def plot_fooled(results: list[Explored], path: Path, per_network: int = 4) -> None:
    """Per network, a few fooling attempts: the digit, the changed input, and the change (red more ink, blue less)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(results), 3 * per_network, figsize=(13, 1.6 * len(results)), squeeze=False)
    for ax_row, r in zip(axes, results, strict=True):
        for k, f in enumerate(r.fooled[:per_network]):
            diff, most = f.difference, max(f.linf, 1e-6)  # the change at full strength, as the app shows it
            panels = [(f.original, f"{f.before.digit} ({100 * f.before.confidence:.0f}%)", "gray", (0, 1)),
                      (f.image, f"-> {f.after.digit} ({100 * f.after.confidence:.1f}%)", "gray", (0, 1)),
                      (diff, f"change x{1 / most:.1f}, L2 {f.l2:.2f}", "bwr", (-most, most))]  # fmt: skip
            for j, (img, title, cmap, (lo, hi)) in enumerate(panels):
                ax = ax_row[3 * k + j]
                ax.imshow(img, cmap=cmap, vmin=lo, vmax=hi)
                ax.set_title(title, fontsize=7)
                ax.set_xticks([]), ax.set_yticks([])
        ax_row[0].set_ylabel(r.name, fontsize=9)
    fig.suptitle("Fooling: MNIST test digits changed until the network says another digit with >= 99%")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
