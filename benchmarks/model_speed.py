"""Single-image latency, batch throughput and training time per epoch for each shipped model.

    python -m benchmarks.model_speed [--device cpu] [--train-epoch]

Latency: one preprocessed 28x28 image through `Predictor.probabilities` (the network
only), median and p95 over --runs calls after warm-up. Throughput: all 10,000 MNIST
test images in batches of 1,000. Training (only with --train-epoch, a minute or more per
model on a CPU): one epoch of each model's real recipe (RECIPES[name] with epochs=1: its
seed, batch size, optimizer, schedule, augmentation, outlier exposure and stroke swap) on
the 55,000 training images, set up and run by train.py's own `prepare` and `train_epoch`.
Only the epoch is timed: loading the data, generating the outliers and re-drawing the
stroke digits (about 2 ms per digit, ~2 minutes for cnn_oe's 55,000) happen before.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import time

import torch

import train
from digitnet import models
from digitnet.lab.data import load_mnist, to_float
from digitnet.lab.metrics import summary_ms
from digitnet.lab.recipes import RECIPES
from digitnet.predict import Predictor


def latency_ms(predictor: Predictor, x: torch.Tensor, runs: int) -> tuple[float, float]:
    for _ in range(50):
        predictor.probabilities(x)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        predictor.probabilities(x)
        times.append(time.perf_counter() - t0)
    ms = summary_ms(times)
    return ms["median"], ms["p95"]


def throughput(predictor: Predictor, x: torch.Tensor) -> float:
    predictor.probabilities(x[:1000])
    t0 = time.perf_counter()
    for i in range(0, len(x), 1000):
        predictor.probabilities(x[i : i + 1000])
    return len(x) / (time.perf_counter() - t0)


def epoch_seconds(name: str, device: torch.device) -> float:
    """Seconds for one epoch of RECIPES[name], as train.py trains it (deterministic algorithms included)."""
    recipe = dataclasses.replace(RECIPES[name], epochs=1)
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        data, model, opt, sched, gen = train.prepare(recipe, device)  # strokes and outliers: made here, untimed
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        train.train_epoch(
            model, opt, sched, data.xtr, data.ytr, recipe, gen, 1, data.outliers, data.strokes, quiet=True
        )
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - t0
    finally:
        torch.use_deterministic_algorithms(deterministic)  # the latency of the next model: as served


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default=None)
    p.add_argument("--runs", type=int, default=1000)
    p.add_argument("--train-epoch", action="store_true")
    args = p.parse_args()
    if args.train_epoch:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # as train.py, before the first cuBLAS call
    xte, _ = load_mnist(train=False)
    x = to_float(xte)
    names = models.available()
    print(f"machine: {platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}")
    print("| model | params | device | latency median (ms) | latency p95 (ms) | throughput (images/s) | epoch (s) |")
    print("|---|---|---|---|---|---|---|")
    for name in names:
        pr = Predictor(name, args.device)
        med, p95 = latency_ms(pr, x[:1], args.runs)
        tput = throughput(pr, x)
        ep = f"{epoch_seconds(name, pr.device):.1f}" if args.train_epoch else "-"
        n = models.n_params(pr.model)
        print(f"| {name} | {n:,} | {pr.device} | {med:.3f} | {p95:.3f} | {tput:,.0f} | {ep} |", flush=True)


if __name__ == "__main__":
    main()
