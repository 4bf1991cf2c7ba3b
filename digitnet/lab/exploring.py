"""The report's exploring sections: what each network thinks a digit looks like, and fooling it (issue 14).

For every network: its two dream grids (digitnet.explore.dream, plain and regularised) and fooling attempts on
MNIST test digits, each toward a seeded random digit other than its label; then every network's "not a digit"
verdict on the results, so the tables say which verdict catches what.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from digitnet import explore
from digitnet.predict import Prediction, Predictor


@dataclass
class Explored:
    name: str
    plain: explore.DreamGrid
    smooth: explore.DreamGrid
    fooled: list[explore.FoolResult]


def fool_cases(x: torch.Tensor, y: torch.Tensor, n: int, seed: int = 0) -> list[tuple[np.ndarray, int]]:
    """`n` MNIST test digits (uint8 N x 28 x 28, labels) as floats, each with a seeded target other than its label."""
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(x), n, replace=False)
    return [(x[i].numpy() / 255, int((y[i] + rng.integers(1, 10)) % 10)) for i in picks]


def explore_all(predictors: dict[str, Predictor], cases: list[tuple[np.ndarray, int]]) -> list[Explored]:
    out = []
    for name, p in predictors.items():
        fooled = [explore.fool(p, image, target) for image, target in cases]
        out.append(Explored(name, explore.dream(p), explore.dream(p, regularised=True), fooled))
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


def fooling_table(results: list[Explored], predictors: dict[str, Predictor]) -> str:
    """Per fooled network: success, the change needed, the confidence reached, and each verdict's catch of the
    fooled images (and of the untouched originals, for comparison)."""
    names = list(predictors)
    head = ["fooled network", "fooled (>= 99%)", "mean L2", "mean L-inf", "mean pixels changed",
            "mean confidence reached"]  # fmt: skip
    head += [f"flagged by {n}" for n in names] + ["originals flagged by own verdict"]
    rows = []
    for r in results:
        ok = [f for f in r.fooled if f.success]
        rows.append(
            [r.name, f"{len(ok)}/{len(r.fooled)}", f"{mean(f.l2 for f in ok):.2f}", f"{mean(f.linf for f in ok):.2f}",
             f"{mean(f.pixels_changed for f in ok):.0f}", f"{100 * mean(f.confidence for f in ok):.2f}%"]
            + [_judged(predictors[n], [f.image for f in ok]) for n in names]
            + [flagged([f.before for f in r.fooled])]
        )  # fmt: skip
    return _table(head, rows)


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
