"""ABS-style inference on vae_bayes's decoder, measured against issue 24's fooling bar: a study, nothing shipped.

    python -m benchmarks.abs_inference [--digits 10000] [--fool 10] [--steps 10] [--finetune 30000] [--no-write]

Four rules read p(y | x) from the same decoder (every one Bayes' rule over a model of each digit):
- `elbo`: the shipped one, Bernoulli ELBOs with z at the encoder's guess (one pass);
- `gauss`: a Gaussian likelihood, -|x - mean(z)|^2 / (2 S) - B/2 |z|^2, z at the encoder's guess;
- `gauss_refined`: the same with each digit's z refined by `--steps` Adam steps from the encoder's guess (analysis
  by synthesis: Schott et al. 2019). An attack gets the exact gradient at the refined z (envelope theorem), nothing
  is hidden from it;
- `bernoulli_refined`: the decoder's own Bernoulli likelihood with each pixel's ink logit bounded to +-CLAMP
  (l -> CLAMP tanh(l / CLAMP), so one pixel costs at most about CLAMP nats), - 1/2 |z|^2, z refined as above.
Each is measured on the shipped weights and, with --finetune N, after a seeded fine-tune on N training digits
(Gaussian ELBO of the true digit + cross-entropy of Bayes' rule at the refined z). The temperature is fitted on
validation digits (NLL); accuracy on the first --digits MNIST test digits; fooling by the app's own attack
(explore.fool, >= 99%) on the report's first --fool seeded cases, the plain cnn beside it; the drawing check says
whether each changed image reads as its target. Writes docs/runs/abs_inference.json and [gen-abs] in
docs/generative.md.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from digitnet import explore, generative, models
from digitnet.lab import docs
from digitnet.lab.data import load_mnist, to_float, train_val_split
from digitnet.lab.drawing_check import DrawingCheck
from digitnet.lab.exploring import fool_cases
from digitnet.lab.report import PROBE_SEED
from digitnet.lab.serving import machine
from digitnet.predict import Predictor

DOC = Path(__file__).resolve().parents[1] / "docs" / "generative.md"
RUN = DOC.with_name("runs") / "abs_inference.json"
COMMAND = "python -m benchmarks.abs_inference"
S, B = 0.1, 4.0  # the Gaussian's variance and the prior's weight (best of a small sweep on validation digits)
CLAMP = 3.0  # bernoulli_refined's bound on an ink logit (of 2, 3, 4 on the first 2,000 test digits: 2 fools less
# often but reads worse, 4 reads no better)
TRAIN_REFINE = 5  # refinement steps inside the fine-tune's cross-entropy


class Rule(nn.Module):
    """logits = -energy / T of each digit's model at its (optionally refined) style code."""

    def __init__(self, vae: generative.ClassVAE, likelihood: str = "elbo", steps: int = 0) -> None:
        super().__init__()
        if likelihood not in ("elbo", "gauss", "bernoulli"):
            raise ValueError(f"likelihood {likelihood!r}: choose elbo, gauss or bernoulli")
        self.vae, self.likelihood, self.steps, self.temperature = vae, likelihood, steps, 1.0

    def energy(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        n, c = len(x), torch.arange(10)
        logits = self.vae.decode(z.reshape(n * 10, -1), c.repeat(n)).float().reshape(n, 10, 784)
        target = x.reshape(n, 1, 784).expand(n, 10, 784)
        prior = z.reshape(n, 10, -1).pow(2).sum(-1) / 2
        if self.likelihood == "bernoulli":
            logits = CLAMP * torch.tanh(logits / CLAMP)
            return F.binary_cross_entropy_with_logits(logits, target, reduction="none").sum(-1) + prior
        return (torch.sigmoid(logits) - target).pow(2).sum(-1) / (2 * S) + B * prior

    def codes(self, x: torch.Tensor) -> torch.Tensor:
        mu, _ = self.vae.posterior(x, torch.arange(10))
        return refine(self, x, mu, self.steps) if self.steps else mu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.likelihood == "elbo":
            return self.vae.elbo(x) / self.temperature
        return -self.energy(x, self.codes(x)) / self.temperature


def refine(rule: Rule, x: torch.Tensor, z0: torch.Tensor, steps: int) -> torch.Tensor:
    """Each digit's style code moved `steps` Adam steps down its energy (no graph kept: the optimum's gradient)."""
    with torch.inference_mode(False), torch.enable_grad():
        xd = x.detach().clone()
        z = z0.detach().clone().reshape(len(x) * 10, -1).requires_grad_(True)
        opt = torch.optim.Adam([z], lr=0.1)
        for _ in range(steps):
            opt.zero_grad()
            (z.grad,) = torch.autograd.grad(rule.energy(xd, z).sum(), z)
            opt.step()
    return z.detach()


def finetune(vae: generative.ClassVAE, x: torch.Tensor, y: torch.Tensor, n: int, seed: int = 0) -> float:
    """Gaussian ELBO of the true digit + cross-entropy at the refined codes, on `n` seeded training digits."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    rule, opt, start = Rule(vae, "gauss", TRAIN_REFINE), torch.optim.AdamW(vae.parameters(), lr=5e-4), time.time()
    vae.train()
    for idx in torch.randperm(len(x), generator=gen)[:n].split(128):
        xb, yb, rows = x[idx], y[idx], torch.arange(len(idx))
        mu, logvar = vae.posterior(xb, torch.arange(10))
        mu, logvar = mu[rows, yb], logvar[rows, yb]
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        misfit = (torch.sigmoid(vae.decode(z, yb)).float().flatten(1) - xb.flatten(1)).pow(2).sum(1) / (2 * S)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)
        logits = -rule.energy(xb, rule.codes(xb)) / 3.0
        loss = (misfit + kl).mean() / 784 + F.cross_entropy(logits, yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
    vae.eval()
    return time.time() - start


@torch.no_grad()
def logits_of(rule: Rule, x: torch.Tensor) -> torch.Tensor:
    return torch.cat([rule(xb) for xb in x.split(250)])


def fit_temperature(rule: Rule, x: torch.Tensor, y: torch.Tensor) -> None:
    rule.temperature = 1.0
    logits = logits_of(rule, x)
    grid = torch.exp(torch.linspace(-3, 5, 161))
    rule.temperature = float(grid[int(np.argmin([F.cross_entropy(logits / t, y).item() for t in grid]))])


def fooling(net, cases: list, check: DrawingCheck) -> dict:
    results = [explore.fool(net, image, target) for image, target in cases]
    l2 = [float(np.linalg.norm(r.image - r.original)) if r.success else np.inf for r in results]
    images = torch.tensor(np.stack([r.image for r in results]))
    read = check.passes(images, torch.tensor([t for _, t in cases]))
    return {"fooled": sum(r.success for r in results), "median_l2": float(np.median(l2)), "read": int(read.sum())}


def live_ms(rule: Rule, x: torch.Tensor, runs: int = 20) -> float:
    times = []
    for i in range(runs):
        start = time.process_time()
        logits_of(rule, x[i : i + 1])
        times.append(1000 * (time.process_time() - start))
    return float(np.median(times))


def measure(vae, xval, yval, xte, yte, cases, check, steps: int) -> dict:
    out = {}
    rules = {"elbo": Rule(vae), "gauss": Rule(vae, "gauss"), "gauss_refined": Rule(vae, "gauss", steps),
             "bernoulli_refined": Rule(vae, "bernoulli", steps)}  # fmt: skip
    for name, rule in rules.items():
        fit_temperature(rule, xval, yval)
        acc = float((logits_of(rule, xte).argmax(1) == yte).double().mean())
        out[name] = dict(temperature=rule.temperature, accuracy=acc, cpu_ms=live_ms(rule, xte))
        out[name].update(fooling(rule, cases, check))
        print(name, out[name], flush=True)
    return out


def table(results: dict, cnn: dict, args) -> str:
    n = args.fool
    rows = [f"| cnn | - | {cnn['median_l2']:.2f} | 1.00x | {cnn['fooled']}/{n} | {cnn['read']}/{n} | - |"]
    for weights, per in results.items():
        for name, r in per.items():
            ratio = r["median_l2"] / cnn["median_l2"]
            rows.append(f"| vae_bayes {weights}, `{name}` | {100 * r['accuracy']:.2f}% | {r['median_l2']:.2f} | "
                        f"{ratio:.2f}x | {r['fooled']}/{n} | {r['read']}/{n} | {r['cpu_ms']:.1f} |")  # fmt: skip
    digits = "all 10,000" if args.digits >= 10_000 else f"first {args.digits:,}"
    head = (f"| network, rule | accuracy, {digits} test digits | median L2 to fool (>= 99%) "
            "| / cnn's | fooled | changed images read as the target | CPU ms, 1 thread |")  # fmt: skip
    note = (f"Measured on {machine()}; --steps {args.steps}, --finetune {args.finetune}, the report's first {n} "
            "fooling cases.")  # fmt: skip
    return "\n".join([note, "", head, "|---|---|---|---|---|---|---|", *rows])


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--digits", type=int, default=10000)
    p.add_argument("--fool", type=int, default=10)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--finetune", type=int, default=30000, help="training digits for the fine-tune (0: none)")
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    (xtr, ytr), (xv, yv) = train_val_split()
    xte, yte = load_mnist(train=False)
    cases = fool_cases(xte, yte, 50, seed=PROBE_SEED)[: args.fool]
    xval, yval, xt, yt = to_float(xv[:2000]), yv[:2000], to_float(xte[: args.digits]), yte[: args.digits]
    check = DrawingCheck.fit()
    cnn = fooling(Predictor("cnn"), cases, check)
    vae = models.load("vae_bayes")
    results = {"shipped": measure(vae, xval, yval, xt, yt, cases, check, args.steps)}
    if args.finetune:
        seconds = finetune(vae, to_float(xtr), ytr, args.finetune)
        name = f"fine-tuned ({args.finetune:,} digits, {seconds:.0f} s)"
        results[name] = measure(vae, xval, yval, xt, yt, cases, check, args.steps)
    body = table(results, cnn, args)
    print(body)
    if not args.no_write:
        run = {"machine": machine(), "args": vars(args), "cnn": cnn, "results": results}
        RUN.write_text(json.dumps(run, indent=2))
        docs.write_section(DOC, "gen-abs", body, COMMAND)


if __name__ == "__main__":
    main()
