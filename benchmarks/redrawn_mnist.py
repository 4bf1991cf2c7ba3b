"""Re-drawn MNIST: accuracy of the shipped cnn on all 10,000 test digits rendered as app inputs, per variant,
and the time preprocessing takes per input. Then the odd but real images (digitnet/lab/oddimages.py: low
resolution, blur, thick marker, tight crops, thumbnails), whose bound is 2 points below the original.

    python -m benchmarks.redrawn_mnist [--n 10000] [--model cnn] [--seed-subset S]

`--seed-subset S` takes a seeded random subset of n test digits (S = 2026 is the tests' subset) instead of the
first n.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from digitnet.lab import oddimages, redraw
from digitnet.lab.data import load_mnist, to_float
from digitnet.predict import Predictor
from digitnet.preprocess import InputError, preprocess


def preprocess_ms(variant: str, digits: np.ndarray, runs: int = 200, variants=redraw.VARIANTS) -> tuple[float, float]:
    rng = np.random.default_rng(1)
    inputs = [variants[variant](digits[i % len(digits)], rng) for i in range(runs)]
    times = []
    for value in inputs:
        t0 = time.perf_counter()
        try:
            preprocess(value)
        except InputError:  # a rendering read as blank still took this long (and counts as wrong in accuracy)
            pass
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), statistics.quantiles(times, n=100)[94]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--model", default="cnn")
    p.add_argument("--seed-subset", type=int, default=None)
    a = p.parse_args()
    x, y = load_mnist(train=False)
    if a.seed_subset is None:
        x, y = x[: a.n], y[: a.n]
    else:
        idx = np.random.default_rng(a.seed_subset).choice(len(x), a.n, replace=False)
        x, y = x[idx], y[idx]
    predictor = Predictor(a.model, "cpu")
    original = (predictor.probabilities(to_float(x)).argmax(1) == y).float().mean().item()
    print(f"{a.model}, {a.n} MNIST test digits; original images: {original:.2%}")
    print("| variant | accuracy | difference (points) | preprocess median (ms) | p95 (ms) |")
    print("|---|---|---|---|---|")
    print(f"| original 28x28 | {original:.2%} | - | - | - |")
    for variant in redraw.VARIANTS:
        acc = redraw.redrawn_accuracy(predictor, x.numpy(), y.numpy(), variant)
        med, p95 = preprocess_ms(variant, x.numpy())
        print(f"| {variant} | {acc:.2%} | {100 * (acc - original):+.2f} | {med:.2f} | {p95:.2f} |", flush=True)
    for variant in oddimages.VARIANTS:
        acc = redraw.redrawn_accuracy(predictor, x.numpy(), y.numpy(), variant, variants=oddimages.VARIANTS)
        med, p95 = preprocess_ms(variant, x.numpy(), variants=oddimages.VARIANTS)
        print(f"| odd: {variant} | {acc:.2%} | {100 * (acc - original):+.2f} | {med:.2f} | {p95:.2f} |", flush=True)


if __name__ == "__main__":
    main()
