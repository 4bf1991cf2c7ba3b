"""The generative classifier (weights/vae_bayes.*) against the issue's figures, measured; writes docs/generative.md.

    python -m benchmarks.generative [--n 200] [--no-write]

- MNIST test accuracy (10,000) and the share of test digits its verdict flags; the same for test digits re-drawn
  with straight strokes (lab/strokes.py), with the plain cnn's accuracy on them beside it.
- Every probe family (held-out and training-allowed: the network saw none of them): share flagged, AUROC and
  FPR at 95% TPR of its verdict's score, with cnn_oe's verdict on the same images beside it.
- Its drawings: for each digit, `--draw` seeded samples and the typical one; the share the plain cnn reads as the
  digit, the share passing digitnet/lab/drawing_check.py, and their L2 distance to the nearest training digit.
- Fooling (explore.fool) `--fool` test digits, its and the plain cnn's smallest change to another digit.
- Time on one CPU thread: a live update (ELBOs of one 28x28 input + its verdict scores) and drawing ten digits.
Writes the drawings as docs/generative_drawings.png (per digit: the typical one, then 12 seeded samples).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch

from digitnet import generative, models
from digitnet.lab import docs
from digitnet.lab.calibrate_generative import auroc, elbos
from digitnet.lab.data import load_mnist, to_float
from digitnet.lab.drawing_check import TEST_N, DrawingCheck, nearest_l2
from digitnet.lab.metrics import fpr_at_95_tpr, summary_ms
from digitnet.lab.probes import FAMILIES, probe_images
from digitnet.lab.report import PROBE_SEED
from digitnet.lab.serving import machine
from digitnet.lab.strokes import stroke_digits
from digitnet.predict import Predictor

NAME = "vae_bayes"
DOC = Path(__file__).resolve().parents[1] / "docs" / "generative.md"
FIGURE = DOC.with_name("generative_drawings.png")
COMMAND = "python -m benchmarks.generative"
STROKE_N = 2000


def verdict(model: generative.ClassVAE, cal: generative.GenerativeCalibration, x: torch.Tensor):
    """(ten ELBOs, verdict scores, flags) for float images."""
    e = elbos(model, x)
    s = generative.scores(e, x, cal.temperature)
    return e, s, cal.flags(s)


def fpr95(name: str, digits: torch.Tensor, others: torch.Tensor) -> float:
    """FPR at 95% TPR for a generative score (turned so that higher is less digit-like)."""
    sign = -1 if generative.HIGHER_IS_DIGIT[name] else 1
    cut = np.quantile(sign * digits.double().numpy(), 0.95)
    return float((sign * others.double().numpy() <= cut).mean())


def digits_table(model, cal, cnn: Predictor) -> tuple[str, torch.Tensor]:
    xte, yte = load_mnist(train=False)
    x = to_float(xte)
    e, s, flags = verdict(model, cal, x)
    xs = to_float(stroke_digits(xte[:STROKE_N], seed=PROBE_SEED))
    es, _, fs = verdict(model, cal, xs)
    cnn_acc = (cnn.probabilities(xs).argmax(1) == yte[:STROKE_N]).double().mean()
    rows = [
        "| digits | vae_bayes accuracy | cnn accuracy | flagged 'not a digit' |",
        "|---|---|---|---|",
        f"| MNIST test (10,000) | {(e.argmax(1) == yte).double().mean():.2%} | "
        f"{(cnn.probabilities(x).argmax(1) == yte).double().mean():.2%} | {flags.double().mean():.2%} |",
        f"| first {STROKE_N:,} test digits re-drawn with straight strokes | "
        f"{(es.argmax(1) == yte[:STROKE_N]).double().mean():.2%} | {cnn_acc:.2%} | {fs.double().mean():.2%} |",
    ]
    return "\n".join(rows), s[cal.score]


def families_table(model, cal, oe: Predictor, digit_scores: torch.Tensor, n: int) -> str:
    xte, _ = load_mnist(train=False)
    _, oe_flags, oe_scores = oe.scored(to_float(xte))
    oe_digits = torch.tensor([d[oe.calibration.score] for d in oe_scores])
    rows = [
        "| family (held out from cnn_oe's training?) | vae_bayes flagged | AUROC | FPR95 | cnn_oe flagged | "
        "AUROC | FPR95 |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, fam in FAMILIES.items():
        x = probe_images(name, n, PROBE_SEED)
        _, s, flags = verdict(model, cal, x)
        _, f2, sc2 = oe.scored(x)
        o = torch.tensor([d[oe.calibration.score] for d in sc2])
        rows.append(
            f"| {name} ({'no' if fam.train else 'yes'}) | {flags.double().mean():.1%} | "
            f"{auroc(cal.score, digit_scores, s[cal.score]):.4f} | {fpr95(cal.score, digit_scores, s[cal.score]):.1%}"
            f" | {np.mean(f2):.1%} | {auroc_oe(oe, oe_digits, o):.4f} | "
            f"{fpr_at_95_tpr(oe.calibration.score, oe_digits, o):.1%} |"
        )
    return "\n".join(rows)


def auroc_oe(oe: Predictor, digits: torch.Tensor, others: torch.Tensor) -> float:
    from digitnet.lab.metrics import auroc as auroc_ood

    return auroc_ood(oe.calibration.score, digits, others)


def save_drawings(model, path: Path, per_digit: int = 12) -> None:
    """A grid: one row per digit, its typical drawing first, then `per_digit` seeded samples."""
    from PIL import Image

    rows = [torch.cat([model.typical(d), *model.sample(d, per_digit, seed=d)], 1) for d in range(10)]
    grid = (torch.cat(rows, 0).numpy() * 255).round().astype(np.uint8)
    Image.fromarray(grid).resize((grid.shape[1] * 2, grid.shape[0] * 2), Image.NEAREST).save(path)


def drawings_table(model, cnn: Predictor, per_digit: int) -> str:
    check = DrawingCheck.fit()
    rows = [f"Drawing check (digitnet/lab/drawing_check.py): read as the digit by cnn and cnn_oe, and L2 to the "
            f"nearest training digit within {check.low:.2f}-{check.high:.2f} (1st-99th percentile of {TEST_N} test "
            "digits).",
            "", "| digit | typical drawing: cnn reads / passes | samples cnn reads as the digit | samples passing the "
            "check | median L2 to nearest training digit (min) |", "|---|---|---|---|---|"]  # fmt: skip
    for d in range(10):
        samples = model.sample(d, per_digit, seed=d)
        typical = model.typical(d)[None]
        read = (cnn.probabilities(samples.unsqueeze(1)).argmax(1) == d).double().mean()
        passed = check.passes(samples, torch.full((per_digit,), d)).double().mean()
        near = nearest_l2(samples, check.train)
        rows.append(f"| {d} | {int(cnn.probabilities(typical[None]).argmax())} / "
                    f"{'yes' if check.passes(typical, torch.tensor([d]))[0] else 'no'} | {read:.0%} | {passed:.0%} | "
                    f"{near.median():.2f} ({near.min():.2f}) |")  # fmt: skip
    return "\n".join(rows)


def fooling_table(model, n: int, check: DrawingCheck | None = None) -> str:
    """explore.fool (the app's attack, its defaults) on the report's seeded test digits and targets: the median L2
    of the change that makes each network say the target at >= 99%, and how many changed images pass the drawing
    check as the target (an attack that has to draw the other digit would pass it)."""
    from digitnet import explore
    from digitnet.lab.exploring import fool_cases

    check = check or DrawingCheck.fit()
    x, y = load_mnist(train=False)
    cases = fool_cases(x, y, n, seed=PROBE_SEED)
    rows = ["| network | fooled at >= 99% | median L2 of the change | changed images passing the drawing check as "
            "the target |", "|---|---|---|---|"]  # fmt: skip
    for name, net in (("cnn", models.load("cnn")), (NAME, model)):
        results = [explore.fool(net, image, target) for image, target in cases]
        l2 = [r.l2 for r in results if r.success]
        images = torch.stack([torch.from_numpy(r.image) for r in results])
        passed = check.passes(images, torch.tensor([t for _, t in cases]))
        rows.append(f"| {name} | {len(l2)}/{n} | {np.median(l2):.2f} | {int(passed.sum())}/{n} |")
    return "\n".join(rows)


def timing_table(model, cal, runs: int = 200) -> str:
    """Wall and CPU (this thread's) time of a live update and of drawing ten digits, on one thread: on a shared
    machine the wall time includes waiting for the CPU, the thread's CPU time does not."""
    torch.set_num_threads(1)
    x = to_float(load_mnist(train=False)[0][:runs])
    live, draw = [], []

    def timed(fn) -> tuple[float, float]:
        t0, c0 = time.perf_counter(), time.thread_time()
        fn()
        return time.perf_counter() - t0, time.thread_time() - c0

    with torch.inference_mode():
        for i in range(runs):
            xi = x[i : i + 1]
            live.append(timed(lambda: cal.flags(generative.scores(model(xi), xi, cal.temperature))))  # noqa: B023
        for i in range(20):
            draw.append(timed(lambda: [model.sample(d, 1, seed=i) for d in range(10)]))  # noqa: B023
    rows = ["| one CPU thread | wall median ms | wall p95 ms | CPU median ms | CPU p95 ms |", "|---|---|---|---|---|"]
    for what, t in (("live update: ten ELBOs + verdict for one input", live), ("drawing ten digits", draw)):
        wall, cpu = summary_ms([w for w, _ in t]), summary_ms([c for _, c in t])
        rows.append(f"| {what} ({len(t)} runs) | {wall['median']:.2f} | {wall['p95']:.2f} | {cpu['median']:.2f} | "
                    f"{cpu['p95']:.2f} |")  # fmt: skip
    return "\n".join(rows) + f"\n\nLoad average {os.getloadavg()[0]:.2f} after these runs (2 shared cores)."


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=200, help="images per probe family")
    p.add_argument("--draw", type=int, default=20, help="samples per digit")
    p.add_argument("--fool", type=int, default=10, help="test digits to fool (per network)")
    p.add_argument("--no-write", action="store_true", help="print only; leave docs/generative.md alone")
    a = p.parse_args(argv)
    t0 = time.perf_counter()
    model, cal = models.load(NAME), models.load_calibration(NAME)
    cnn, oe = Predictor("cnn", "cpu"), Predictor("cnn_oe", "cpu")
    sections = {"gen-timing": timing_table(model, cal)}
    sections["gen-digits"], digit_scores = digits_table(model, cal, cnn)
    sections["gen-families"] = families_table(model, cal, oe, digit_scores, a.n)
    sections["gen-drawings"] = drawings_table(model, cnn, a.draw)
    sections["gen-fooling"] = fooling_table(model, a.fool)
    if not a.no_write:
        save_drawings(model, FIGURE)
    meta = models.metadata(NAME)
    sections["gen-run"] = (
        f"Measured on {machine()} in {time.perf_counter() - t0:.0f} s; weights of {meta.get('date')}; verdict "
        f"score `{cal.score}`, threshold {cal.threshold:.4g}, temperature {cal.temperature:.4g}; {a.n} images per "
        f"family (seed {PROBE_SEED})."
    )
    for name, body in sections.items():
        print(f"\n[{name}]\n{body}")
        if not a.no_write:
            docs.write_section(DOC, name, body, COMMAND)


if __name__ == "__main__":
    main()
