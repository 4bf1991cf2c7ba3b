"""`python -m digitnet evaluate --ood`: how confidently each model names a digit in what is not one.

For every model with weights: MNIST test accuracy, ECE (15 bins) before and after temperature scaling,
the share of test digits its verdict flags, and for every probe family the mean top confidence, the
share flagged, and AUROC and FPR at 95% TPR of every score. Held-out families are the ones the targets
are about; training-allowed families are shown for reference (drawn with another seed than training's).
It also checks the other side: digits drawn with straight pen strokes, as people draw with a mouse,
must still be read and not flagged. Writes a confidence-histogram figure and a reliability diagram as PNG.

Run with the defaults (plots in docs/, 1,000 images per family, 50 fooled digits), it also writes its tables into
the generated sections of docs/overconfidence.md (digitnet.lab.docs), with the machine, the time it took and the
SHA-256 of every weights and calibration file it read, so the docs quote this run and tests/test_docs.py can tell
when the weights changed after it.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from digitnet import generative, models, ood, weightfiles
from digitnet.device import pick_device
from digitnet.drawing import render
from digitnet.lab import calibrate_generative, docs, exploring
from digitnet.lab.calibrate import fit, forward
from digitnet.lab.data import load_mnist, to_float, train_val_split
from digitnet.lab.doodles import HELDOUT_DOODLES, TRAIN_DOODLES, doodle_strokes
from digitnet.lab.drawing_check import DrawingCheck
from digitnet.lab.metrics import auroc, ece, fpr_at_95_tpr, reliability
from digitnet.lab.probes import FAMILIES, HELDOUT_FAMILIES, TRAIN_FAMILIES, doodle_images, probe_images
from digitnet.lab.serving import machine
from digitnet.lab.strokes import pen_digit_images, stroke_digits
from digitnet.models import Calibration, Kind
from digitnet.predict import Predictor

PROBE_N = 1000
FOOL_N = 50  # MNIST test digits fooled per network (benchmarks.explore_speed times one attempt)
PROBE_SEED = 20_000  # training outliers use the training seed, score selection 10_000
PEN_PER_DIGIT = 20
STROKE_N = 1000
KINDS_SHARE = 5  # doodles of each kind for the kind-by-kind verdict: images per probe family / 5 (200 by default)
DOCS = Path(__file__).resolve().parents[2] / "docs"  # the repository's docs/
DOC = DOCS / "overconfidence.md"
COMMAND = "python -m digitnet evaluate --ood"


@dataclass
class Scorer:
    """One network's logits and verdict scores for float images, both on the CPU: ood's scores for the
    discriminative networks, generative's (from the ten ELBOs, which are its logits) for a generative classifier.
    Every score dict also holds `top` and `top_t`: the largest softmax probability of the logits before and after
    the calibrated temperature, so that every table compares the same thing across networks."""

    model: torch.nn.Module
    cal: Calibration
    kind: Kind

    @property
    def names(self) -> tuple[str, ...]:
        return self.kind.scores

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        if self.kind.generative:
            logits = calibrate_generative.elbos(self.model, x)
            s = generative.scores(logits, x, self.cal.temperature)
        else:
            logits, feats = forward(self.model, x)
            s = ood.scores(logits, feats, self.cal)
        tops = {"top": torch.softmax(logits, 1).max(1).values,
                "top_t": torch.softmax(logits / self.cal.temperature, 1).max(1).values}  # fmt: skip
        return logits, s | tops


@dataclass
class Result:
    name: str
    accuracy: float
    ece: float
    ece_t: float
    cal: Calibration
    stored: bool  # False: calibration fitted for this report only (no .ood.safetensors beside the weights)
    scores: tuple[str, ...]  # the verdict's candidate scores of this network (ood.SCORES or generative.SCORES)
    digits: dict[str, torch.Tensor]  # scores on MNIST test digits
    probs: torch.Tensor
    probs_t: torch.Tensor
    labels: torch.Tensor
    families: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)
    kinds: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)  # scores on each doodle kind
    drawn: dict[str, tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]] = field(default_factory=dict)

    def flagged(self, s: dict[str, torch.Tensor]) -> float:
        return float(self.cal.flags(s).double().mean())


def calibration_for(name: str, model: torch.nn.Module, data_dir: str | None) -> tuple[Calibration, bool]:
    cal = models.load_calibration(name)
    if cal is not None:
        return cal, True
    (xtr, ytr), (xval, yval) = train_val_split(data_dir)
    if models.kind(name).generative:
        return calibrate_generative.fit(model, to_float(xval), yval)[0], False
    cal, _ = fit(model, to_float(xtr), ytr, to_float(xval), yval)
    return cal, False


def evaluate_model(name: str, probes: dict[str, torch.Tensor], kinds: dict[str, torch.Tensor], drawn: dict, xte, yte,
                   device, data_dir) -> Result:  # fmt: skip
    model = models.load(name, device)
    cal, stored = calibration_for(name, model, data_dir)
    score = Scorer(model, cal, models.kind(name))
    logits, digits = score(xte)
    probs, probs_t = torch.softmax(logits, 1), torch.softmax(logits / cal.temperature, 1)
    r = Result(name, float((probs.argmax(1) == yte).double().mean()), ece(probs, yte), ece(probs_t, yte),
               cal, stored, score.names, digits, probs, probs_t, yte)  # fmt: skip
    for fam, x in probes.items():
        r.families[fam] = score(x)[1]
    for kind, x in kinds.items():
        r.kinds[kind] = score(x)[1]
    for what, (x, y) in drawn.items():
        logits, s = score(x)
        r.drawn[what] = (torch.softmax(logits, 1), y, s)
    return r


def drawn_digits(xte: torch.Tensor, yte: torch.Tensor) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Digits drawn with straight strokes: hand-drawn polylines, and MNIST test digits re-drawn that way."""
    pen = pen_digit_images(PEN_PER_DIGIT, PROBE_SEED)
    redrawn = to_float(stroke_digits(xte[:STROKE_N], PROBE_SEED)), yte[:STROKE_N]
    return {f"hand-drawn polylines ({len(pen[1])})": pen, f"MNIST test digits re-drawn ({STROKE_N:,})": redrawn}


# --- tables -------------------------------------------------------------------------------------------------


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def _fam(f: str) -> str:
    return f if f in HELDOUT_FAMILIES else f"{f} (train)"


def summary_table(results: list[Result]) -> str:
    rows = []
    for r in results:
        held = torch.cat([r.families[f]["top"] for f in HELDOUT_FAMILIES if f in r.families])
        worst_auc = min(auroc(r.cal.score, r.digits[r.cal.score], r.families[f][r.cal.score])
                        for f in HELDOUT_FAMILIES)  # fmt: skip
        worst_fpr = max(fpr_at_95_tpr(r.cal.score, r.digits[r.cal.score], r.families[f][r.cal.score])
                        for f in HELDOUT_FAMILIES)  # fmt: skip
        rows.append([
            r.name, f"{r.accuracy:.2%}", f"{r.cal.temperature:.3f}", f"{r.ece:.2%}", f"{r.ece_t:.2%}",
            f"{r.cal.score}" + ("" if r.stored else " (not stored)"), f"{r.flagged(r.digits):.2%}",
            f"{held.mean():.3f}", f"{worst_auc:.4f}", f"{worst_fpr:.1%}",
        ])  # fmt: skip
    header = ["model", "MNIST test acc", "T", "ECE", "ECE after T", "verdict score", "test digits flagged",
              "mean top conf, held-out", "worst AUROC, held-out", "worst FPR95, held-out"]  # fmt: skip
    return _table(header, rows)


def confidence_table(results: list[Result]) -> str:
    fams = list(results[0].families)
    rows = [["MNIST test digits"] + [f"{r.digits['top'].mean():.3f} / {r.digits['top_t'].mean():.3f}" for r in results]]
    for f in fams:
        rows.append([_fam(f)] + [f"{r.families[f]['top'].mean():.3f} / {r.families[f]['top_t'].mean():.3f}"
                                 for r in results])  # fmt: skip
    return _table(["family (mean top confidence / after T)"] + [r.name for r in results], rows)


def verdict_table(results: list[Result]) -> str:
    fams = list(results[0].families)
    rows = [["MNIST test digits"] + [f"{r.flagged(r.digits):.1%}" for r in results]]
    rows += [[_fam(f)] + [f"{r.flagged(r.families[f]):.1%}" for r in results] for f in fams]
    return _table(["share flagged 'not a digit'"] + [f"{r.name} ({r.cal.score})" for r in results], rows)


def kinds_table(results: list[Result]) -> str:
    rows = [[k if k in HELDOUT_DOODLES else f"{k} (train)"] + [f"{r.flagged(r.kinds[k]):.1%}" for r in results]
            for k in results[0].kinds]  # fmt: skip
    each = len(next(iter(results[0].kinds.values()))["top"])
    return _table([f"doodle kind ({each} each): share flagged"] + [f"{r.name} ({r.cal.score})" for r in results],
                  rows)  # fmt: skip


def drawn_table(results: list[Result]) -> str:
    rows = []
    for what in results[0].drawn:
        cells = []
        for r in results:
            probs, y, sc = r.drawn[what]
            acc = (probs.argmax(1) == y).double().mean()
            cells.append(f"{acc:.1%} / {r.flagged(sc):.1%} / {probs.max(1).values.mean():.3f}")
        rows.append([what] + cells)
    return _table(["digits drawn with straight strokes: read / flagged / mean top conf"] + [r.name for r in results],
                  rows)  # fmt: skip


def score_table(r: Result) -> str:
    fams = list(r.families)
    rows = []
    for s in r.scores:
        d = r.digits[s]
        cells = [f"{auroc(s, d, r.families[f][s]):.4f} / {fpr_at_95_tpr(s, d, r.families[f][s]):.1%}" for f in fams]
        rows.append([s + (" (verdict)" if s == r.cal.score else "")] + cells)
    return _table([f"{r.name}: AUROC / FPR95"] + [_fam(f) for f in fams], rows)


# --- plots --------------------------------------------------------------------------------------------------


def plot_confidence(results: list[Result], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fams = list(HELDOUT_FAMILIES)
    fig, axes = plt.subplots(len(results), len(fams), figsize=(3 * len(fams), 2.4 * len(results)), squeeze=False)
    bins = torch.linspace(0.1, 1.0, 31).tolist()
    for i, r in enumerate(results):
        for j, f in enumerate(fams):
            ax = axes[i, j]
            ax.hist(r.digits["top"].numpy(), bins=bins, density=True, alpha=0.5, label="MNIST test digits")
            ax.hist(r.families[f]["top"].numpy(), bins=bins, density=True, alpha=0.5, label=f)
            ax.set_yscale("log")
            ax.set_title(f"{r.name}: {f}", fontsize=9)
            ax.tick_params(labelsize=7)
            if i == len(results) - 1:
                ax.set_xlabel("top softmax probability", fontsize=8)
    axes[0, 0].legend(["MNIST test digits", "non-digits"], fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_reliability(results: list[Result], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(3.6 * len(results), 3.4), squeeze=False)
    for ax, r in zip(axes[0], results, strict=True):
        ax.plot([0, 1], [0, 1], "k:", lw=1)
        for probs, label, e in ((r.probs, "softmax", r.ece), (r.probs_t, f"T = {r.cal.temperature:.2f}", r.ece_t)):
            xs, ys, ns = reliability(probs, r.labels)
            ax.scatter(xs, ys, s=[8 + 40 * (n / max(ns)) ** 0.5 for n in ns], label=f"{label} (ECE {e:.2%})")
            ax.plot(xs, ys, lw=1)
        ax.set_title(f"{r.name}: MNIST test, 15 bins", fontsize=9)
        ax.set_xlabel("confidence", fontsize=8)
        ax.set_ylabel("accuracy", fontsize=8)
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


# --- entry point --------------------------------------------------------------------------------------------


def plot_doodles(path: Path, per_kind: int = 4, seed: int = 7) -> None:
    """Every doodle kind: `per_kind` as drawn on the pad (dark ink on white), then as the network sees them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = [TRAIN_DOODLES, HELDOUT_DOODLES]
    rows = max(map(len, groups))
    fig, axes = plt.subplots(rows, 4 * per_kind, figsize=(16, 1.05 * rows), squeeze=False)
    for g, kinds in enumerate(groups):
        for r, kind in enumerate(kinds):
            rng = np.random.default_rng([seed, r, g])
            seen = doodle_images(kind, per_kind, seed=seed).numpy()
            row = axes[r, 2 * per_kind * g : 2 * per_kind * (g + 1)]
            for c in range(per_kind):
                row[c].imshow(255 - render(*doodle_strokes(kind, rng)), cmap="gray", vmin=0, vmax=255)
                row[per_kind + c].imshow(seen[c, 0], cmap="gray", vmin=0, vmax=1)
            row[0].set_ylabel(kind, fontsize=9)
    for ax in axes.ravel():
        ax.set_xticks([]), ax.set_yticks([])
    fig.suptitle("Doodles, training kinds (left) and held-out kinds (right): four as drawn on the pad, then as the "
                 "network sees them")  # fmt: skip
    fig.tight_layout()
    fig.savefig(path, dpi=55)
    plt.close(fig)


def report(results: list[Result], level: str = "##") -> str:
    """The tables, each under a heading of `level` ("##" printed, "###" in docs/overconfidence.md)."""
    parts = [f"{level} Summary", summary_table(results), f"{level} Mean top confidence", confidence_table(results),
             f"{level} The verdict", verdict_table(results), f"{level} The verdict, doodle by kind",
             kinds_table(results),
             f"{level} Digits drawn with straight strokes (must be read, not flagged)",
             drawn_table(results)]  # fmt: skip
    for r in results:
        parts += [f"{level} Scores: {r.name}", score_table(r)]
    return "\n\n".join(parts) + "\n"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "-"


def provenance(names: list[str], seconds: float, device: torch.device, threads: int) -> str:
    """Where and when this report ran, and the files it read: the SHA-256 of each network's weights and calibration."""
    rows = [[n, _sha256(w := models.weights_path(n)), _sha256(weightfiles.calibration_path(w))] for n in names]
    return (f"{machine()}; {seconds:.0f} s on {device} (torch {torch.__version__}, threads: {threads}).\n\n"
            + _table(["model", "weights SHA-256", "calibration SHA-256"], rows))  # fmt: skip


def standard_run(args: argparse.Namespace) -> bool:
    """Only a run with the defaults writes the docs: they quote the standard report, not a smaller one."""
    return not any(getattr(args, a, None) for a in ("plots", "probe_n", "fool_n"))


def write_docs(results: list[Result], explored: dict[str, str], run: str, doc: Path) -> None:
    """The report's sections of `doc`: the run, the tables, and the exploring tables (`explored`, by section)."""
    for name, body in {"report-run": run, "report": report(results, "###"), **explored}.items():
        docs.write_section(doc, name, body, COMMAND)


def main(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    device = pick_device(getattr(args, "device", None))
    names = models.available(required=True)
    n, out_dir = getattr(args, "probe_n", None) or PROBE_N, Path(getattr(args, "plots", None) or DOCS)
    probes = {f: probe_images(f, n, PROBE_SEED) for f in HELDOUT_FAMILIES + TRAIN_FAMILIES}
    kinds = {k: doodle_images(k, max(1, n // KINDS_SHARE), PROBE_SEED) for k in HELDOUT_DOODLES + TRAIN_DOODLES}
    xte, yte = load_mnist(train=False, root=args.data_dir)
    drawn = drawn_digits(xte, yte)
    results = [evaluate_model(m, probes, kinds, drawn, to_float(xte), yte, device, args.data_dir) for m in names]
    print(f"# Out-of-distribution report: models {', '.join(names)}; {n} images per probe family (seed "
          f"{PROBE_SEED}); 10,000 MNIST test digits; held-out families: {', '.join(HELDOUT_FAMILIES)}\n")  # fmt: skip
    print(report(results))
    out_dir.mkdir(parents=True, exist_ok=True)
    plot_confidence(results, out_dir / "ood_confidence.png")
    plot_reliability(results, out_dir / "ood_reliability.png")
    n_fool = getattr(args, "fool_n", None) or FOOL_N
    predictors = {m: Predictor(m, device) for m in names}
    explored = exploring.explore_all(predictors, exploring.fool_cases(xte, yte, n_fool, seed=PROBE_SEED))
    check = DrawingCheck.fit(args.data_dir)
    rows = exploring.drawing_rows(explored, predictors)
    dreams, drawings = exploring.dreams_table(explored, predictors), exploring.drawings_table(rows, check)
    fooling = exploring.fooling_table(explored, predictors, check)
    print(f"## What each network thinks a digit looks like\n\nThe ten inputs each network is most sure are 0-9 "
          f"(digitnet.explore.dream, seeded), and how many of them each network's verdict flags:\n\n"
          f"{dreams}\n")  # fmt: skip
    print(f"## Can it draw what it recognises?\n\nEvery drawing of 0-9, dreamt (gradient ascent) or drawn from a "
          f"generative classifier's own model, through the drawing check (digitnet.lab.drawing_check):\n\n"
          f"{drawings}\n")  # fmt: skip
    print(f"## Fooling\n\n{n_fool} MNIST test digits, each changed (digitnet.explore.fool) until the network says a "
          f"seeded random other digit with >= 99%; every network's verdict on the fooled images:\n\n"
          f"{fooling}\n")  # fmt: skip
    if getattr(args, "visitors", None):  # printed only: the docs quote the standard report
        from digitnet.lab.visitors import report_section

        print(report_section(args.visitors, getattr(args, "device", None)) + "\n")
    exploring.plot_dreams(explored, out_dir / "ood_dreams.png")
    exploring.plot_drawings(rows, check, out_dir / "ood_drawings.png")
    plot_doodles(out_dir / "doodles.png")
    exploring.plot_fooled(explored, out_dir / "ood_fooled.png")
    plots = ["doodles", "ood_dreams", "ood_drawings", "ood_fooled", "ood_confidence", "ood_reliability"]
    seconds = time.perf_counter() - t0
    print(f"wrote {', '.join(f'{p}.png' for p in plots)} in {out_dir} ({seconds:.0f}s on {device}; "
          f"families: {len(FAMILIES)})")  # fmt: skip
    if not standard_run(args):
        print(f"{DOC} not written: --plots, --probe-n or --fool-n make a run other than the one the docs quote")
        return 0
    try:
        run = provenance(names, seconds, device, torch.get_num_threads())
        write_docs(results, {"dreams": dreams, "drawings": drawings, "fooling": fooling}, run, DOC)
    except (OSError, docs.MissingSection) as e:  # a checkout without docs/, or a page whose markers were removed
        print(f"error: the report's sections were not written: {e}", file=sys.stderr)
        return 1
    print(f"wrote the report's sections of {DOC}")
    return 0
