"""A generative classifier: one class-conditional VAE whose evidence bounds are the logits (Bayes' rule).

For each digit y the network holds a model of what y looks like: a decoder p(x | z, y) from a 16-number style
code z ~ N(0, I), with an encoder q(z | x, y) that guesses the style. Its evidence lower bound

    ELBO(x, y) = log p(x | mu, y) - KL(q(z | x, y) || N(0, I))    (mu: the encoder's mean, one deterministic pass)

estimates log p(x | y) in nats (pixels as Bernoulli probabilities of ink). With a uniform prior over digits,
Bayes' rule makes p(y | x) = softmax_y ELBO(x, y): the logits ARE the ten bounds, and the same weights draw
(`sample`, `typical`). Every layer is shared by the ten digits; the digit enters as a learned vector added to
one hidden layer of the encoder and one of the decoder (Kingma et al. 2014's M2 conditioning, as embeddings).

"Not a digit" comes from the same model, never from a non-digit: one of `SCORES`, each a function of the ten
ELBOs (and the input), chosen and thresholded by digitnet/lab/calibrate_generative.py. A raw likelihood finds
near-blank images more likely than digits (Nalisnick et al. 2019); `elbo_png` measures it against a generic
coder's code length for the same image instead (Serra et al. 2020).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from digitnet import ood

PIXELS = 28 * 28
LATENT = 16
# Drawings show each pixel's ink probability sharpened by this power (see ClassVAE.sample); chosen as the
# power at which the plain cnn reads a prototype's drawings best (3 of 1, 2, 3, 5; docs/generative.md).
SHARPNESS = 3.0
# Drawings take style codes from N(0, SPREAD^2 I), the prior at a reduced temperature as is usual for sampling a
# VAE: at 0.8 the plain cnn reads vae_bayes's drawings as their digit 97% of the time, at 1.0 88% (12 per digit).
SPREAD = 0.8


class ClassVAE(nn.Module):
    """Class-conditional VAE (shared weights); `forward(x)` gives the ten ELBOs as logits, N x 10."""

    def __init__(self, width: int = 32, latent: int = LATENT, hidden: int = 256) -> None:
        super().__init__()
        w, self.latent, self.width = width, latent, width
        self.trunk = nn.Sequential(
            nn.Conv2d(1, w, 4, 2, 1), nn.ReLU(),
            nn.Conv2d(w, 2 * w, 4, 2, 1), nn.ReLU(), nn.Flatten(),
            nn.Linear(2 * w * 49, hidden),
        )  # fmt: skip
        self.q_class = nn.Embedding(10, hidden)
        self.q_out = nn.Linear(hidden, 2 * latent)
        self.p_in = nn.Linear(latent, hidden)
        self.p_class = nn.Embedding(10, hidden)
        self.p_body = nn.Sequential(
            nn.ReLU(), nn.Linear(hidden, w * 49), nn.ReLU(), nn.Unflatten(1, (w, 7, 7)),
            nn.ConvTranspose2d(w, w, 4, 2, 1), nn.ReLU(),
            nn.ConvTranspose2d(w, 1, 4, 2, 1),
        )  # fmt: skip

    def posterior(self, x: torch.Tensor, classes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, log-variance) of q(z | x, y) for each image and each class: N x C x latent each."""
        h = self.trunk(x).unsqueeze(1) + self.q_class(classes).unsqueeze(0)
        mu, logvar = self.q_out(F.relu(h)).chunk(2, -1)
        return mu, logvar.clamp(-12, 6)

    def decode(self, z: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        """Ink logits of p(x | z, y): z (M x latent) and classes (M) -> M x 1 x 28 x 28."""
        return self.p_body(self.p_in(z) + self.p_class(classes))

    def elbo(self, x: torch.Tensor, classes: torch.Tensor | None = None, sample: bool = False) -> torch.Tensor:
        """ELBO(x, y) in nats for each image and each of `classes` (default all ten): N x C.

        `sample`: one reparameterised draw of z (training); otherwise z is the posterior mean (deterministic)."""
        classes = torch.arange(10, device=x.device) if classes is None else classes
        n, c = len(x), len(classes)
        mu, logvar = self.posterior(x, classes)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp() if sample else mu
        logits = self.decode(z.reshape(n * c, -1), classes.repeat(n)).float().reshape(n, c, PIXELS)
        target = x.reshape(n, 1, PIXELS).expand(n, c, PIXELS)
        recon = -F.binary_cross_entropy_with_logits(logits, target, reduction="none").sum(-1)
        kl = 0.5 * (mu.float().pow(2) + logvar.float().exp() - 1 - logvar.float()).sum(-1)
        return recon - kl

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits N x 10 for float images N x 1 x 28 x 28 in [0, 1]: the ten ELBOs (uniform prior)."""
        return self.elbo(x)

    def loss(self, x: torch.Tensor, y: torch.Tensor, ce_weight: float) -> torch.Tensor:
        """Training objective per pixel: -ELBO(x, true y) + ce_weight x cross-entropy of Bayes' rule over the ten
        (sampled) ELBOs, which pushes the other digits' models to explain x worse than its own."""
        e = self.elbo(x, sample=True)
        nll = -e.gather(1, y[:, None]).mean()
        return (nll + ce_weight * F.cross_entropy(e, y)) / PIXELS

    def log_likelihoods(self, x: torch.Tensor) -> torch.Tensor:
        """The per-class scores log p(x | y) (as ELBOs, nats): N x 10."""
        return self.elbo(x)

    def probabilities(self, x: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
        """p(y | x) by Bayes' rule over the ten ELBOs (uniform prior), optionally at a calibrated temperature."""
        return torch.softmax(self.elbo(x).float() / temperature, 1)

    @torch.no_grad()
    def sample(
        self, digit: int, n: int, seed: int = 0, spread: float = SPREAD, sharpness: float = SHARPNESS
    ) -> torch.Tensor:
        """`n` drawings of `digit` (n x 28 x 28 in [0, 1]) from style codes z ~ N(0, spread^2 I), seeded.

        Each pixel is its ink probability p sharpened to p^k / (p^k + (1 - p)^k), k = `sharpness`: a VAE's
        pixel means are a blur of every stroke it might draw; k = 1 shows that blur."""
        gen = torch.Generator().manual_seed(seed)
        z = torch.randn(n, self.latent, generator=gen) * spread
        dev = next(self.parameters()).device
        classes = torch.full((n,), int(digit), device=dev)
        return torch.sigmoid(sharpness * self.decode(z.to(dev), classes).float()).squeeze(1).cpu()

    @torch.no_grad()
    def typical(self, digit: int, sharpness: float = SHARPNESS) -> torch.Tensor:
        """The most typical drawing of `digit`: the decoder at the prior's mode z = 0 (28 x 28 in [0, 1])."""
        return self.sample(digit, 1, spread=0.0, sharpness=sharpness)[0]


# The verdict's scores, each from the ten ELBOs of one forward pass (and the input itself):
#   elbo          ELBO of the best digit, nats                                          (higher: more digit-like)
#   excess        the same + the input's own Bernoulli entropy (the part of -ELBO no
#                 model of grey pixels can remove): minus how badly the best digit
#                 explains it, nats                                                     (higher: more digit-like)
#   elbo_png      ELBO of the best digit in bits + the code length in bits of the input
#                 binarised at 0.5 as a 1-bit PNG: bits the digit model saves over a
#                 generic coder of the same black-and-white image (Serra et al. 2020)   (higher: more digit-like)
#   msp           largest probability of Bayes' rule (at the calibrated T)              (higher: more digit-like)
#   entropy       entropy of Bayes' rule (at the calibrated T), nats                    (higher: less digit-like)
SCORES = ("elbo", "excess", "elbo_png", "msp", "entropy")
HIGHER_IS_DIGIT = {"elbo": True, "excess": True, "elbo_png": True, "msp": True, "entropy": False}


def png_bits(x: torch.Tensor) -> torch.Tensor:
    """Code length in bits of each image (N x 1 x 28 x 28 in [0, 1]) binarised at 0.5, as a 1-bit PNG."""
    ink = (x.detach().float().reshape(-1, 28, 28) > 0.5).cpu().numpy()
    return torch.tensor([8.0 * _png_bytes(a) for a in ink])


def _png_bytes(a: np.ndarray) -> int:
    buf = io.BytesIO()
    Image.fromarray(a).convert("1").save(buf, "PNG", compress_level=9)
    return buf.tell()


def grey_entropy(x: torch.Tensor) -> torch.Tensor:
    """Sum over pixels of the Bernoulli entropy of each grey level, nats: the least -log p(x) of any model."""
    p = x.detach().float().clamp(1e-6, 1 - 1e-6).reshape(len(x), -1).cpu()
    return -(p * p.log() + (1 - p) * (1 - p).log()).sum(1)


def scores(elbos: torch.Tensor, x: torch.Tensor, temperature: float = 1.0) -> dict[str, torch.Tensor]:
    """Every verdict score for a batch, from its ten ELBOs (N x 10) and the images themselves."""
    elbos = elbos.float().cpu()
    best = elbos.max(1).values
    logp = torch.log_softmax(elbos / temperature, 1)
    return {
        "elbo": best,
        "excess": best + grey_entropy(x),
        "elbo_png": best / math.log(2) + png_bits(x),
        "msp": logp.exp().max(1).values,
        "entropy": -(logp.exp() * logp).sum(1),
    }


@dataclass
class GenerativeCalibration:
    """The verdict of a generative classifier: Bayes' rule's temperature and one score against a threshold."""

    temperature: float
    score: str
    threshold: float  # in that score's own units

    def flags(self, values: dict[str, torch.Tensor]) -> torch.Tensor:
        """True where the verdict is "not a digit"."""
        return ood.beyond(values[self.score], self.threshold, HIGHER_IS_DIGIT[self.score])

    @classmethod
    def from_file(cls, t: dict[str, torch.Tensor], meta: dict[str, str]) -> GenerativeCalibration:
        """From a calibration file's tensors and metadata (digitnet.weightfiles.read_calibration)."""
        return cls(float(t["temperature"][0]), meta["score"], float(meta["threshold"]))

    def tensors(self) -> dict[str, torch.Tensor]:
        """What a calibration file holds as tensors (digitnet.weightfiles.write_calibration)."""
        return {"temperature": torch.tensor([self.temperature])}


def shaped(state: dict[str, torch.Tensor]) -> ClassVAE:
    """A ClassVAE shaped as the weights in `state` (width, latent and hidden sizes read from them)."""
    hidden, latent = state["p_in.weight"].shape
    return ClassVAE(state["trunk.0.weight"].shape[0], latent, hidden)


class BayesRule(nn.Module):
    """A generative classifier as the app serves it: logits = its ten ELBOs / T, Bayes' rule at the temperature
    fitted on validation digits, so that the answer shown, saliency, dreams and fooling all use the same
    probabilities."""

    def __init__(self, vae: ClassVAE, temperature: float = 1.0) -> None:
        super().__init__()
        self.vae, self.temperature = vae, temperature

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.vae.elbo(x) / self.temperature

    def scored(
        self, x: torch.Tensor, cal: GenerativeCalibration | None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor] | None]:
        """Logits (on the CPU) and, with a calibration, every verdict score, from the ten ELBOs of one pass."""
        elbos = self.vae.elbo(x).float().cpu()
        return elbos / self.temperature, scores(elbos, x, cal.temperature) if cal else None


def serve(vae: ClassVAE, cal: GenerativeCalibration | None) -> BayesRule:
    """The served classifier: Bayes' rule at the calibrated temperature (1 without a calibration)."""
    return BayesRule(vae, cal.temperature if cal else 1.0)
