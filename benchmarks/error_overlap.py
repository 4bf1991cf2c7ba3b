"""Which validation and test digits CNN runs get wrong, and how far the runs agree on them.

    python -m benchmarks.error_overlap weights/cnn.safetensors /tmp/runs/*/cnn.safetensors

For each weights file (a CNN of any width): its errors on the 5,000 validation digits and the 10,000 test digits;
then, per split, how many digits every run gets wrong, at least half of them, and any of them. Digits that every
run gets wrong bound what choosing among such runs on validation can gain.
"""

from __future__ import annotations

import argparse
import collections
from pathlib import Path

import torch

from digitnet import models
from digitnet.lab.data import load_mnist, to_float, train_val_split


def errors(path: Path, x: torch.Tensor, y: torch.Tensor) -> set[int]:
    model = models.load_cnn(path)
    with torch.inference_mode():
        pred = torch.cat([model(xb).argmax(1) for xb in x.split(1000)])
    return set(torch.nonzero(pred != y).flatten().tolist())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("weights", nargs="+", type=Path)
    a = p.parse_args()
    _, (xv, yv) = train_val_split()
    xt, yt = load_mnist(train=False)
    splits = {"validation": (to_float(xv), yv), "test": (to_float(xt), yt)}
    wrong = {split: {w: errors(w, *xy) for w in a.weights} for split, xy in splits.items()}
    print("| weights | validation errors | test errors |\n|---|---|---|")
    for w in a.weights:
        print(f"| {w} | {len(wrong['validation'][w])} | {len(wrong['test'][w])} |")
    n = len(a.weights)
    print(f"\n| split | wrong in all {n} runs | in at least half | in any |\n|---|---|---|---|")
    for split, sets in wrong.items():
        counts = collections.Counter(i for s in sets.values() for i in s)
        print(f"| {split} | {sum(c == n for c in counts.values())} | {sum(2 * c >= n for c in counts.values())} "
              f"| {len(counts)} |")  # fmt: skip


if __name__ == "__main__":
    main()
