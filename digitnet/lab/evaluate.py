"""`python -m digitnet evaluate --model cnn`: MNIST test accuracy, the confusion matrix, and the time it took."""

from __future__ import annotations

import argparse
import time

import torch

from digitnet.lab.data import load_mnist, to_float
from digitnet.predict import Predictor


def confusion_matrix(pred: torch.Tensor, true: torch.Tensor) -> torch.Tensor:
    return torch.bincount(true * 10 + pred, minlength=100).reshape(10, 10)


def main(args: argparse.Namespace) -> int:
    predictor = Predictor(args.model, args.device)
    x, y = load_mnist(train=False, root=args.data_dir)
    t0 = time.perf_counter()
    probs = torch.cat([predictor.probabilities(to_float(x[i : i + 1000])) for i in range(0, len(x), 1000)])
    seconds = time.perf_counter() - t0
    pred = probs.argmax(1)
    acc = (pred == y).float().mean().item()
    print(
        f"model {args.model} on {predictor.device}: MNIST test accuracy {acc:.2%} ({int((pred == y).sum())}/{len(y)})"
    )
    print("confusion matrix (rows: true digit, columns: predicted)")
    print("      " + "".join(f"{d:>6d}" for d in range(10)))
    for d, row in enumerate(confusion_matrix(pred, y).tolist()):
        print(f"{d:>6d}" + "".join(f"{v:>6d}" for v in row))
    print(f"time: {seconds:.2f}s for {len(y)} images ({len(y) / seconds:,.0f} images/s)")
    return 0
