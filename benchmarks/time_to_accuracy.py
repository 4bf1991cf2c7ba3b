"""Wall time for train.py's CNN recipe to reach a test accuracy (default 99.5%) on this machine.

    DIGITNET_DATA=../shared/data python -m benchmarks.time_to_accuracy --epochs 4 --width 32

Trains RECIPES["cnn"] (with this run's --epochs, --batch-size, --lr and --seed) with
train.py's own functions (same augmentation, one-cycle schedule over --epochs,
channels-last, whole dataset as one tensor) and reports, after each epoch, the
elapsed training time (evaluation excluded) and the MNIST test accuracy. The test
set is only measured here, never used to choose the shipped weights.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import torch

import train
from digitnet.device import pick_device
from digitnet.lab.data import load_mnist, to_float, train_val_split
from digitnet.lab.recipes import RECIPES
from digitnet.models import CNN, n_params


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--width", type=int, default=32, help="channels of the first conv layer (train.py's cnn: 32)")
    p.add_argument("--batch-size", type=int, default=RECIPES["cnn"].batch_size)
    p.add_argument("--lr", type=float, default=RECIPES["cnn"].lr)
    p.add_argument("--target", type=float, default=0.995)
    p.add_argument("--device", default="auto")
    p.add_argument("--seed", type=int, default=RECIPES["cnn"].seed)
    a = p.parse_args()
    torch.manual_seed(a.seed)
    device = pick_device(a.device)
    recipe = dataclasses.replace(RECIPES["cnn"], epochs=a.epochs, batch_size=a.batch_size, lr=a.lr, seed=a.seed)
    (xtr, ytr), _ = train_val_split()
    xte, yte = load_mnist(train=False)
    xtr, xte, ytr, yte = to_float(xtr).to(device), to_float(xte).to(device), ytr.to(device), yte.to(device)
    model = CNN(a.width).to(device).to(memory_format=torch.channels_last)
    opt, sched = train.make_optimizer(model, recipe, recipe.epochs * (len(xtr) // recipe.batch_size))
    gen = torch.Generator(device=device).manual_seed(a.seed)
    print(f"CNN width {a.width}: {n_params(model):,} parameters, {a.epochs} epochs, device {device}, "
          f"{torch.get_num_threads()} threads")  # fmt: skip
    elapsed, reached = 0.0, None
    for epoch in range(1, a.epochs + 1):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        train.train_epoch(model, opt, sched, xtr, ytr, recipe, gen, epoch, quiet=True)
        if device.type == "cuda":
            torch.cuda.synchronize()
        elapsed += time.perf_counter() - t0
        acc = train.evaluate(model, xte, yte)
        print(f"epoch {epoch}: {elapsed:7.1f}s training, test accuracy {acc:.2%}", flush=True)
        if reached is None and acc >= a.target:
            reached = elapsed
    print(f"reached {a.target:.1%}: " + (f"after {reached:.1f}s" if reached else "no"))


if __name__ == "__main__":
    main()
