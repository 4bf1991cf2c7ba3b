"""Wall time for a train.py recipe to reach a test accuracy (default 99.5%) on this machine.

    python -m benchmarks.time_to_accuracy --recipe cnn_fast --seeds 1 2 3

Trains the recipe (with this run's overrides) through train.py's own functions, seed by seed, and
reports after each epoch the elapsed training time (evaluation excluded), the validation accuracy
(what recipes are chosen on) and the MNIST test accuracy (what this benchmark reports, never used to
choose). `--json` keeps every curve for benchmarks.plot_time_to_accuracy.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import statistics
import time
from datetime import UTC, datetime

import torch

import train
from digitnet.device import pick_device
from digitnet.lab.recipes import RECIPES, Recipe
from digitnet.models import n_params

OVERRIDES = ("epochs", "width", "batch_size", "lr", "label_smoothing", "bf16", "augment")


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def curve(recipe: Recipe, device: torch.device) -> list[dict]:
    """Per epoch: cumulative training seconds, validation and test accuracy."""
    data, model, opt, sched, gen = train.prepare(recipe, device)
    elapsed, points = 0.0, []
    for epoch in range(1, recipe.epochs + 1):
        sync(device)
        t0 = time.perf_counter()
        train.train_epoch(model, opt, sched, data.xtr, data.ytr, recipe, gen, epoch, quiet=True)
        sync(device)
        elapsed += time.perf_counter() - t0
        val, test = train.evaluate(model, data.xval, data.yval), train.evaluate(model, data.xte, data.yte)
        points.append(dict(epoch=epoch, seconds=round(elapsed, 2), val=val, test=test))
        print(f"  seed {recipe.seed} epoch {epoch}: {elapsed:6.1f}s training, val {val:.2%}, test {test:.2%}")
    print(f"  ({n_params(model):,} parameters)")
    return points


def reached(points: list[dict], target: float) -> float | None:
    return next((p["seconds"] for p in points if p["test"] >= target), None)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipe", choices=list(RECIPES), default="cnn_fast")
    p.add_argument("--epochs", type=int)
    p.add_argument("--width", type=int, help="channels of the CNN's first layer")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--label-smoothing", type=float)
    p.add_argument("--bf16", action=argparse.BooleanOptionalAction)
    p.add_argument("--augment", action=argparse.BooleanOptionalAction)
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--target", type=float, default=0.995)
    p.add_argument("--device", default="auto")
    p.add_argument("--label", help="name of this run in --json and the plot (default: the recipe and overrides)")
    p.add_argument("--json", help="write every curve here")
    a = p.parse_args()
    changes = {k: getattr(a, k) for k in OVERRIDES if getattr(a, k) is not None}
    base = dataclasses.replace(RECIPES[a.recipe], **changes)
    if base.epochs < 1:
        p.error("--epochs must be at least 1")
    device = pick_device(a.device)
    label = a.label or a.recipe + "".join(f" {k}={v}" for k, v in changes.items())
    print(f"{label}: {base.hyperparameters()}, device {device}, {torch.get_num_threads()} threads", flush=True)
    runs = []
    for seed in a.seeds:
        points = curve(dataclasses.replace(base, seed=seed), device)
        runs.append(dict(seed=seed, points=points, reached=reached(points, a.target)))
    times = [r["reached"] for r in runs]
    for r in runs:
        best, last = max(q["test"] for q in r["points"]), r["points"][-1]
        done = f"after {r['reached']:.1f}s" if r["reached"] else f"not reached (best {best:.2%})"
        print(f"seed {r['seed']}: {a.target:.1%} {done}, final val {last['val']:.2%} test {last['test']:.2%}")
    # A seed that never reaches the target counts as infinitely slow, so the median is honest.
    median = statistics.median(t if t is not None else float("inf") for t in times)
    print(f"median time to {a.target:.1%} over seeds {a.seeds}: {median:.1f}s")
    if a.json:
        record = dict(label=label, recipe=a.recipe, hyperparameters=base.hyperparameters(), target=a.target,
                      device=str(device), threads=torch.get_num_threads(), torch=torch.__version__,
                      machine=platform.processor() or platform.machine(),
                      date=datetime.now(UTC).isoformat(timespec="seconds"), runs=runs,
                      median_seconds=None if median == float("inf") else median)  # fmt: skip
        with open(a.json, "w") as f:
            json.dump(record, f, indent=1)


if __name__ == "__main__":
    main()
