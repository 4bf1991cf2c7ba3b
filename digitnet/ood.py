"""Is it a digit at all? Scores from one forward pass, and the stored calibration that turns one into a verdict.

Scores, each from a model's logits and penultimate features (`model.features(x)` -> `model.head`):

    msp          maximum softmax probability                       (higher: more digit-like)
    msp_t        the same after temperature scaling                (higher: more digit-like)
    entropy      entropy of the softmax, nats                      (higher: less digit-like)
    energy       -logsumexp(logits) (Liu et al. 2020)              (higher: less digit-like)
    mahalanobis  smallest squared Mahalanobis distance of the
                 features to a class mean, shared covariance
                 fitted on training features (Lee et al. 2018)     (higher: less digit-like)

A model's calibration (temperature, feature Gaussian, the verdict's score and threshold) is fitted by
`digitnet.lab.calibrate` and stored beside the weights as <model>.ood.safetensors (digitnet/weightfiles.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

SCORES = ("msp", "msp_t", "entropy", "energy", "mahalanobis")
HIGHER_IS_DIGIT = {"msp": True, "msp_t": True, "entropy": False, "energy": False, "mahalanobis": False}


def beyond(scores: torch.Tensor, threshold: float, higher_is_digit: bool) -> torch.Tensor:
    """True where a score falls on the "not a digit" side of its threshold (any kind of network's verdict)."""
    return scores < threshold if higher_is_digit else scores > threshold


@dataclass
class Calibration:
    """What a model needs at prediction time to score its inputs and give the verdict."""

    temperature: float
    means: torch.Tensor  # 10 x d class means of the penultimate features
    precision: torch.Tensor  # d x d inverse of the shared (tied) covariance
    score: str  # the score the verdict uses
    threshold: float  # in that score's own units

    def flags(self, scores: dict[str, torch.Tensor]) -> torch.Tensor:
        """True where the verdict is "not a digit"."""
        return beyond(scores[self.score], self.threshold, HIGHER_IS_DIGIT[self.score])

    @classmethod
    def from_file(cls, t: dict[str, torch.Tensor], meta: dict[str, str]) -> Calibration:
        """From a calibration file's tensors and metadata (digitnet.weightfiles.read_calibration)."""
        return cls(float(t["temperature"][0]), t["means"], t["precision"], meta["score"], float(meta["threshold"]))

    def tensors(self) -> dict[str, torch.Tensor]:
        """What a calibration file holds as tensors (digitnet.weightfiles.write_calibration)."""
        return {"temperature": torch.tensor([self.temperature]), "means": self.means, "precision": self.precision}


def mahalanobis(features: torch.Tensor, means: torch.Tensor, precision: torch.Tensor) -> torch.Tensor:
    """Smallest squared Mahalanobis distance of each feature vector to a class mean."""
    d = features.double().unsqueeze(1) - means.double().unsqueeze(0)  # N x 10 x d
    return torch.einsum("ncd,de,nce->nc", d, precision.double(), d).min(1).values.float()


def scores(logits: torch.Tensor, features: torch.Tensor, cal: Calibration) -> dict[str, torch.Tensor]:
    """Every score for a batch, from the logits and features of one forward pass."""
    logp = torch.log_softmax(logits.float(), 1)
    return {
        "msp": logp.exp().max(1).values,
        "msp_t": torch.softmax(logits.float() / cal.temperature, 1).max(1).values,
        "entropy": -(logp.exp() * logp).sum(1),
        "energy": -torch.logsumexp(logits.float(), 1),
        "mahalanobis": mahalanobis(features, cal.means, cal.precision),
    }


def outlierness(name: str, values: torch.Tensor) -> np.ndarray:
    """A score turned so that higher always means "less like a digit"."""
    v = values.double().cpu().numpy()
    return -v if HIGHER_IS_DIGIT[name] else v


def scored(
    model: nn.Module, x: torch.Tensor, cal: Calibration | None
) -> tuple[torch.Tensor, dict[str, torch.Tensor] | None]:
    """Logits (on the CPU) and, with a calibration, every score, from one pass through `features` -> `head`."""
    feats = model.features(x)
    logits = model.head(feats).float().cpu()
    return logits, scores(logits, feats.float().cpu(), cal) if cal else None  # CPU: MPS has no float64
