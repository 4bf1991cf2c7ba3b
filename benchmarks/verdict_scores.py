"""More ways to read "not a digit" from vae_bayes's own model, family by family: a study, nothing shipped.

    python -m benchmarks.verdict_scores [--per-family 200] [--steps 10] [--no-write]

Each score is thresholded as the shipped verdict is (digitnet/lab/calibrate_generative.threshold_for): it flags at
most calibrate.FLAG_RATE of validation digits and STROKE_FLAG_RATE of the same digits re-drawn with straight strokes
(margins under the issue's 2% and 5%). Then it is measured on the first 2,000 MNIST test digits and on every probe
family (digitnet/lab/probes.py, seed 777). The model never sees a non-digit; the background model below sees only
training digits.
- `excess`: the shipped score, best ELBO + the input's grey-level entropy;
- `elbo_png`: best ELBO in bits + the 1-bit PNG code length (Serra et al. 2020);
- `refined_excess`: as `excess`, with the best digit's style code refined by --steps Adam steps on
  -log p(x | z, y) + |z|^2 / 2 (the encoder's guess may be poor for an input unlike any digit);
- `likelihood_regret`: how much that refinement improves on the encoder's guess (Xiao et al. 2020, "Likelihood
  Regret"), taken at the ELBO's best digit; a large regret says the encoder never saw anything like it;
- `local_ratio`: best ELBO minus the log-likelihood of a small autoregressive model of local pixel neighbourhoods
  (a masked-convolution PixelCNN, receptive field 7x4 above-left) trained 2 seeded epochs on the training digits:
  the likelihood ratio of Ren et al. 2019, with a background model that knows strokes but not digits.
Writes docs/runs/verdict_scores.json and [gen-verdicts] in docs/generative.md.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from digitnet import generative, models
from digitnet.lab import calibrate as base
from digitnet.lab import docs
from digitnet.lab.data import load_mnist, to_float, train_val_split
from digitnet.lab.probes import FAMILIES, probe_images
from digitnet.lab.serving import machine

DOC = Path(__file__).resolve().parents[1] / "docs" / "generative.md"
RUN = DOC.with_name("runs") / "verdict_scores.json"
COMMAND = "python -m benchmarks.verdict_scores"
NAMES = ("excess", "elbo_png", "refined_excess", "likelihood_regret", "local_ratio")


class Masked(nn.Conv2d):
    """A convolution that sees only the pixels above and to the left (and itself unless `first`)."""

    def __init__(self, cin: int, cout: int, first: bool) -> None:
        super().__init__(cin, cout, 3, padding=1)
        mask = torch.ones_like(self.weight)
        mask[:, :, 1, 1 if first else 2 :] = 0
        mask[:, :, 2:] = 0
        self.register_buffer("mask", mask)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=1)


class Local(nn.Module):
    """log p(x) of a grey image, each pixel a Bernoulli given its causal 3-layer neighbourhood."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        self.net = nn.Sequential(Masked(1, width, True), nn.ReLU(), Masked(width, width, False), nn.ReLU(),
                                 Masked(width, width, False), nn.ReLU(), nn.Conv2d(width, 1, 1))  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bce = F.binary_cross_entropy_with_logits(self.net(x), x.clamp(0, 1), reduction="none")
        return -bce.flatten(1).sum(1)


def train_local(x: torch.Tensor, epochs: int = 2, seed: int = 0) -> Local:
    torch.manual_seed(seed)
    model, gen = Local(), torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), 2e-3)
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=gen).split(128):
            loss = -model(x[idx]).mean() / 784
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()


def refined(vae: generative.ClassVAE, x: torch.Tensor, classes: torch.Tensor, steps: int) -> torch.Tensor:
    """max over z of log p(x | z, y) - |z|^2 / 2 for each image's class, by `steps` Adam steps from the encoder's
    guess; returns (at the encoder's guess, refined), each N."""
    rows = torch.arange(len(x))
    mu = vae.posterior(x, torch.arange(10))[0][rows, classes].detach()

    def fit(z: torch.Tensor) -> torch.Tensor:
        logits = vae.decode(z, classes).float().flatten(1)
        bce = F.binary_cross_entropy_with_logits(logits, x.flatten(1), reduction="none").sum(1)
        return -bce - z.pow(2).sum(1) / 2

    with torch.enable_grad():
        z = mu.clone().requires_grad_(True)
        opt = torch.optim.Adam([z], lr=0.1)
        for _ in range(steps):
            opt.zero_grad()
            (-fit(z).sum()).backward()
            opt.step()
    with torch.no_grad():
        return torch.stack([fit(mu), fit(z.detach())])


def scores(vae: generative.ClassVAE, local: Local, x: torch.Tensor, steps: int) -> dict[str, torch.Tensor]:
    """Every score of NAMES for a batch (higher: more digit-like)."""
    out = []
    for xb in x.split(250):
        with torch.no_grad():
            elbos = vae.elbo(xb).float()
            shipped = generative.scores(elbos, xb)
            background = local(xb)
        guess, best = refined(vae, xb, elbos.argmax(1), steps)
        entropy = generative.grey_entropy(xb)
        out.append(torch.stack([shipped["excess"], shipped["elbo_png"], best + entropy, guess - best,
                                elbos.max(1).values - background], 1))  # fmt: skip
    values = torch.cat(out)
    return {name: values[:, i] for i, name in enumerate(NAMES)}


def flagged(values: torch.Tensor, threshold: float) -> float:
    return float((values < threshold).double().mean())


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--per-family", type=int, default=200)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    start = time.time()
    (xtr, _), (xv, _) = train_val_split()
    xval, xte = to_float(xv[:2000]), to_float(load_mnist(train=False)[0][:2000])
    vae, local = models.load("vae_bayes"), train_local(to_float(xtr))
    trained = time.time() - start
    val, strokes = scores(vae, local, xval, args.steps), scores(vae, local, base.redrawn(xval), args.steps)
    test = scores(vae, local, xte, args.steps)
    families = {n: scores(vae, local, probe_images(n, args.per_family, 777), args.steps) for n in FAMILIES}
    rows, run = [], {}
    for name in NAMES:
        thr = min(torch.quantile(val[name], base.FLAG_RATE).item(),
                  torch.quantile(strokes[name], base.STROKE_FLAG_RATE).item())  # fmt: skip
        per = {f: flagged(v[name], thr) for f, v in families.items()}
        run[name] = dict(threshold=thr, test=flagged(test[name], thr), strokes=flagged(strokes[name], thr), **per)
        worst = min(per, key=per.get)
        cells = " | ".join(f"{100 * per[f]:.0f}%" for f in FAMILIES)
        rows.append(f"| `{name}` | {100 * run[name]['test']:.1f}% | {100 * run[name]['strokes']:.1f}% | {cells} | "
                    f"{worst} {100 * per[worst]:.0f}% |")  # fmt: skip
    head = "| score | test digits | re-drawn (val) | " + " | ".join(FAMILIES) + " | weakest |"
    note = (f"Measured on {machine()}; {args.per_family} images per family (seed 777), --steps {args.steps}; "
            f"background model trained in {trained:.0f} s, whole run {time.time() - start:.0f} s. Each score's "
            f"threshold flags at most {100 * base.FLAG_RATE:g}% of 2,000 validation digits and "
            f"{100 * base.STROKE_FLAG_RATE:g}% of their stroke re-drawings, as the shipped verdict's.")  # fmt: skip
    body = "\n".join([note, "", head, "|" + "---|" * (len(FAMILIES) + 4), *rows])
    print(body)
    if not args.no_write:
        RUN.write_text(json.dumps({"machine": machine(), "args": vars(args), "scores": run}, indent=2))
        docs.write_section(DOC, "gen-verdicts", body, COMMAND)


if __name__ == "__main__":
    main()
