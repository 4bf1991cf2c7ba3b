"""Does the app's saliency map point at the pixels that decide the answer? A deletion check per network.

    .venv/bin/python -m benchmarks.saliency_deletion [--k 5 10 40] [--digits 100]

For each MNIST test digit, delete (set to 0) the k pixels a map ranks highest and measure how far the answer's
logit falls. Maps compared: the app's input x gradient; ink x random (random pixels weighted by their ink, the
baseline any map that merely follows the ink reaches); and single-pixel occlusion (each ink pixel's own drop,
about the most that deleting k pixels one by one can do; ~25x the app's cost, so not served). Run with the
defaults, it writes its table into docs/overconfidence.md (the generated section saliency).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from torch import nn

from digitnet.lab.data import load_mnist, to_float
from digitnet.lab.docs import write_section
from digitnet.lab.serving import machine
from digitnet.predict import Networks
from digitnet.saliency import saliency

DOC = Path(__file__).resolve().parents[1] / "docs" / "overconfidence.md"
DEFAULT_K, DEFAULT_DIGITS = [5, 10, 40], 100


def occlusion(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """How far the answer's logit falls when each ink pixel alone is deleted (0 off the ink)."""
    flat = x.flatten()
    ink = (flat > 0).nonzero().squeeze(1)
    batch = flat.repeat(len(ink) + 1, 1)
    batch[torch.arange(1, len(ink) + 1), ink] = 0
    logits = model(batch.view(-1, 1, 28, 28))
    cls = int(logits[0].argmax())
    out = torch.zeros(784)
    out[ink] = logits[0, cls] - logits[1:, cls]
    return out


def maps(model: nn.Module, x: torch.Tensor, i: int) -> dict[str, torch.Tensor]:
    noise = torch.rand(784, generator=torch.Generator().manual_seed(i))
    return {
        "input x gradient (the app)": torch.from_numpy(saliency(model, x[0, 0].numpy())).flatten(),
        "ink x random": x.flatten() * noise,
        "single-pixel occlusion": occlusion(model, x),
    }


@torch.no_grad()
def drop(model: nn.Module, x: torch.Tensor, answer: int, logit: float, ranking: torch.Tensor, k: int) -> float:
    """How far the answer's logit (`logit` for x itself) falls when the k pixels ranked highest are deleted."""
    masked = x.clone().flatten()
    masked[ranking.argsort(descending=True)[:k]] = 0
    return logit - float(model(masked.view_as(x))[0, answer])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--k", type=int, nargs="+", default=DEFAULT_K, help="pixels deleted")
    p.add_argument("--digits", type=int, default=DEFAULT_DIGITS, help="MNIST test digits (from 20: the tests use 0-19)")
    a = p.parse_args()
    torch.set_num_threads(1)
    xt, _ = load_mnist(train=False)
    nets = Networks.load(["cnn", "cnn_oe"], device="cpu")
    lines = [
        f"{machine()}; mean drop of the answer's logit over {a.digits} test digits, k pixels deleted:",
        "",
        "| network | map | " + " | ".join(f"{k} pixels" for k in a.k) + " |",
        "|---|---|" + "---|" * len(a.k),
    ]
    print("\n".join(lines), flush=True)
    for name, pred in nets.predictors.items():
        drops: dict[str, dict[int, list[float]]] = {}
        for i in range(20, 20 + a.digits):
            x = to_float(xt[i : i + 1])
            with torch.no_grad():
                logits = pred.model(x)[0]
                ranked = maps(pred.model, x, i)
            answer = int(logits.argmax())
            for label, ranking in ranked.items():
                for k in a.k:
                    fall = drop(pred.model, x, answer, float(logits[answer]), ranking, k)
                    drops.setdefault(label, {}).setdefault(k, []).append(fall)
        for label, by_k in drops.items():
            lines.append(f"| {name} | {label} | " + " | ".join(f"{np.mean(by_k[k]):.2f}" for k in a.k) + " |")
            print(lines[-1], flush=True)
    if a.k == DEFAULT_K and a.digits == DEFAULT_DIGITS:
        write_section(DOC, "saliency", "\n".join(lines), "python -m benchmarks.saliency_deletion")
        print(f"wrote the section saliency of {DOC}")


if __name__ == "__main__":
    main()
