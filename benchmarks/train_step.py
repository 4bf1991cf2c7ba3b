"""Milliseconds per training step of the CNN for each speed lever, on random data (no dataset needed).

    python -m benchmarks.train_step

Each row runs `train.augment` and `train.step` (forward, loss, backward, AdamW) --steps times
after --warmup steps and reports the median step and the seconds one 55,000-image epoch would take.
torch.compile's compile time shows in its warm-up column (it counts against any time-to-accuracy budget).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

import torch

import train
from digitnet.discriminative import CNN
from digitnet.lab.recipes import RECIPES

# (label, width, batch, augment, bf16, channels_last, compile)
LEVERS = [
    ("width 32, batch 128 (the cnn recipe)", 32, 128, True, False, True, False),
    ("width 32, batch 128, bf16", 32, 128, True, True, True, False),
    ("width 32, batch 256, bf16", 32, 256, True, True, True, False),
    ("width 32, batch 128, bf16, contiguous (not channels-last)", 32, 128, True, True, False, False),
    ("width 24, batch 256, bf16", 24, 256, True, True, True, False),
    ("width 16, batch 256", 16, 256, True, False, True, False),
    ("width 16, batch 256, no augmentation", 16, 256, False, False, True, False),
    ("width 16, batch 256, bf16", 16, 256, True, True, True, False),
    ("width 16, batch 512, bf16", 16, 512, True, True, True, False),
    ("width 16, batch 256, torch.compile", 16, 256, True, False, True, True),
    ("width 16, batch 256, bf16, torch.compile", 16, 256, True, True, True, True),
]


def step_ms(width, batch, augment, bf16, channels_last, compile, steps, warmup) -> tuple[float, float]:
    torch.manual_seed(0)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = CNN(width).to(memory_format=fmt)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=5e-4)
    forward = torch.compile(model) if compile else model
    x, y = torch.rand(batch, 1, 28, 28), torch.randint(0, 10, (batch,))
    gen = torch.Generator().manual_seed(0)

    recipe = dataclasses.replace(RECIPES["cnn"], bf16=bf16)

    def step() -> None:
        train.step(forward, opt, train.augment(x, gen) if augment else x, y, recipe, fmt)

    t0 = time.perf_counter()
    for _ in range(warmup):
        step()
    warm = time.perf_counter() - t0
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times), warm


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--warmup", type=int, default=5)
    a = p.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print("| lever | ms per step | s per epoch (55,000 images) | warm-up (s) |\n|---|---|---|---|")
    for label, width, batch, *rest in LEVERS:
        ms, warm = step_ms(width, batch, *rest, steps=a.steps, warmup=a.warmup)
        print(f"| {label} | {ms:.1f} | {ms / 1000 * 55000 / batch:.1f} | {warm:.1f} |", flush=True)


if __name__ == "__main__":
    main()
