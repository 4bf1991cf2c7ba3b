"""Single-image latency, batch throughput and training time per epoch for each shipped model.

    DIGITNET_DATA=../shared/data python benchmarks/model_speed.py [--device cpu] [--train-epoch]

Latency: one preprocessed 28x28 image through `Predictor.probabilities` (the network
only), median and p95 over --runs calls after warm-up. Throughput: all 10,000 MNIST
test images in batches of 1,000. Training: one epoch of train.py's loop on the
55,000 training images (only with --train-epoch, it takes a minute or more on a CPU).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch

import train
from digitnet import models
from digitnet.data import load_mnist, to_float, train_val_split
from digitnet.predict import Predictor


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1]


def latency_ms(predictor: Predictor, x: torch.Tensor, runs: int) -> tuple[float, float]:
    for _ in range(50):
        predictor.probabilities(x)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        predictor.probabilities(x)
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), percentile(times, 95)


def throughput(predictor: Predictor, x: torch.Tensor) -> float:
    predictor.probabilities(x[:1000])
    t0 = time.perf_counter()
    for i in range(0, len(x), 1000):
        predictor.probabilities(x[i : i + 1000])
    return len(x) / (time.perf_counter() - t0)


def epoch_seconds(name: str, device: torch.device) -> float:
    args = train.parse_args(["--model", name, "--epochs", "1", "--quiet"])
    (xtr, ytr), _ = train_val_split()
    x, y = to_float(xtr).to(device), ytr.to(device)
    model = models.build(name).to(device)
    if name != "mlp":
        model = model.to(memory_format=torch.channels_last)
    opt, sched = train.make_optimizer(model, args, len(x) // args.batch_size)
    outliers = None
    if name == "cnn_oe":
        from digitnet.probes import training_outliers

        outliers = to_float(training_outliers(seed=1)).to(device)
    t0 = time.perf_counter()
    train.train_epoch(model, opt, sched, x, y, args, torch.Generator(device=device).manual_seed(0), 1, outliers)
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default=None)
    p.add_argument("--runs", type=int, default=1000)
    p.add_argument("--train-epoch", action="store_true")
    args = p.parse_args()
    xte, _ = load_mnist(train=False)
    x = to_float(xte)
    names = [n for n in models.ARCHITECTURES if models.weights_path(n).is_file()]
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
