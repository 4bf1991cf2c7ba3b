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
`digitnet.lab.calibrate` and stored beside the weights as <model>.ood.safetensors (tensors plus JSON metadata;
no pickle). This module only reads it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Container
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file

from digitnet import models


class _Scored(Protocol):
    score: str


C = TypeVar("C", bound=_Scored)

SCORES = ("msp", "msp_t", "entropy", "energy", "mahalanobis")
HIGHER_IS_DIGIT = {"msp": True, "msp_t": True, "entropy": False, "energy": False, "mahalanobis": False}


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
        s = scores[self.score]
        return s < self.threshold if HIGHER_IS_DIGIT[self.score] else s > self.threshold


def ood_path(weights: Path) -> Path:
    """weights/cnn.safetensors -> weights/cnn.ood.safetensors"""
    return weights.with_suffix(".ood.safetensors")


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


def weights_digest(weights: Path) -> str:
    """SHA-256 of a weights file: ties a calibration to the exact weights it was fitted on."""
    return hashlib.sha256(Path(weights).read_bytes()).hexdigest()


class CalibrationError(models.WeightsError):
    """The calibration beside the weights does not belong to them (or cannot be read); the message names the fix."""


def calibrate_command(name: str) -> str:
    return f"python -m digitnet calibrate --model {name}"


def load_calibration(name: str, weights_dir: str | Path | None = None) -> Calibration | None:
    """The stored calibration of model `name`, or None when it has none (then no verdict is given).

    One that does not belong to the weights beside it is an error (CalibrationError, naming the file and the command
    that re-creates it), never a verdict that silently vanishes or a threshold applied to a network it was not
    fitted on.
    """

    def build(t: dict[str, torch.Tensor], meta: dict[str, str]) -> Calibration:
        threshold = float(meta["threshold"])
        return Calibration(float(t["temperature"][0]), t["means"], t["precision"], meta["score"], threshold)

    return read_calibration(name, build, HIGHER_IS_DIGIT, weights_dir)


def read_calibration(
    name: str,
    build: Callable[[dict[str, torch.Tensor], dict[str, str]], C],
    known_scores: Container[str],
    weights_dir: str | Path | None = None,
) -> C | None:
    """The calibration file beside `name`'s weights, built by `build(tensors, metadata)` (None when there is none);
    a file that cannot be read, was fitted on other weights or names a score not in `known_scores` is a
    CalibrationError naming the file and the command that re-creates it."""
    weights = models.weights_path(name, weights_dir)
    path = ood_path(weights)
    if not path.is_file():
        return None
    fix = f"recreate it with: {calibrate_command(name)}"
    try:
        with safe_open(str(path), "pt") as f:
            meta = f.metadata() or {}
        cal = build(load_file(str(path)), meta)
    except (SafetensorError, OSError, KeyError, ValueError, IndexError) as e:
        raise CalibrationError(f"calibration file {path} is corrupt or incomplete ({e!r}); {fix}") from e
    if meta.get("weights_sha256") != weights_digest(weights):
        raise CalibrationError(f"calibration file {path} was fitted on other weights than {weights}; {fix}")
    if cal.score not in known_scores:
        raise CalibrationError(f"calibration file {path} names an unknown score {cal.score!r}; {fix}")
    return cal
