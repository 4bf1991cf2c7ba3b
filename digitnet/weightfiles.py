"""Weights files: a network's tensors as safetensors, the JSON record of how they were made beside them, and the
calibration file tied to them by their SHA-256 (tensors plus JSON metadata; no pickle).

Paths in, modules, tensors and dicts out: which network a file holds, and how its calibration is shaped, is the
caller's (digitnet/models.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Container
from pathlib import Path
from typing import Protocol, TypeVar

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import nn

# What reading a weights file into a module raises when the file is corrupt or holds another network.
UNREADABLE = (SafetensorError, RuntimeError, OSError, ValueError, KeyError)


class WeightsError(RuntimeError):
    """The weights file is missing or unreadable; the message names the fix."""


class CalibrationError(WeightsError):
    """The calibration beside the weights does not belong to them (or cannot be read); the message names the fix."""


class _Scored(Protocol):
    score: str


M = TypeVar("M", bound=nn.Module)
C = TypeVar("C", bound=_Scored)


def save(model: nn.Module, path: Path, meta: dict) -> None:
    """Write weights as safetensors and the record of how they were made beside them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, str(path), metadata={"model": str(meta.get("model", ""))})
    write_record(path, meta)


def write_record(weights: Path, meta: dict) -> None:
    """The JSON beside a weights file (weights/cnn.safetensors -> weights/cnn.json)."""
    weights.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")


def read_record(weights: Path) -> dict:
    """The JSON written beside a weights file by `write_record` ({} when absent)."""
    p = weights.with_suffix(".json")
    return json.loads(p.read_text()) if p.is_file() else {}


def read(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a weights file (raises one of UNREADABLE when it cannot be read)."""
    return load_file(str(path))


def load_module(path: Path, shaped: Callable[[dict[str, torch.Tensor]], M], fits: str, fix: str) -> M:
    """`shaped(tensors)` with the tensors of weights file `path` loaded into it; a missing file, or one that is
    corrupt or not `fits`, is a WeightsError naming the file and `fix`."""
    if not path.is_file():
        raise WeightsError(f"weights file {path} is missing; {fix}")
    try:
        state = read(path)
        model = shaped(state)
        model.load_state_dict(state)
    except UNREADABLE as e:
        raise WeightsError(f"weights file {path} is corrupt or does not fit {fits} ({e}); {fix}") from e
    return model


def calibration_path(weights: Path) -> Path:
    """weights/cnn.safetensors -> weights/cnn.ood.safetensors"""
    return weights.with_suffix(".ood.safetensors")


def digest(weights: Path) -> str:
    """SHA-256 of a weights file: ties a calibration to the exact weights it was fitted on."""
    return hashlib.sha256(Path(weights).read_bytes()).hexdigest()


def write_calibration(
    weights: Path, tensors: dict[str, torch.Tensor], score: str, threshold: float, summary: dict
) -> None:
    """A verdict's calibration (its tensors, score and threshold, and a summary) beside `weights`, tied to them."""
    meta = {"score": score, "threshold": repr(threshold), "weights_sha256": digest(weights),
            "summary": json.dumps(summary)}  # fmt: skip
    save_file({k: v.contiguous().cpu() for k, v in tensors.items()}, str(calibration_path(weights)), metadata=meta)


def read_calibration(
    weights: Path,
    build: Callable[[dict[str, torch.Tensor], dict[str, str]], C],
    known_scores: Container[str],
    fix: str,
) -> C | None:
    """The calibration file beside `weights`, built by `build(tensors, metadata)` (None when there is none); a file
    that cannot be read, was fitted on other weights or names a score not in `known_scores` is a CalibrationError
    naming the file and `fix`."""
    path = calibration_path(weights)
    if not path.is_file():
        return None
    try:
        with safe_open(str(path), "pt") as f:
            meta = f.metadata() or {}
        cal = build(load_file(str(path)), meta)
    except (SafetensorError, OSError, KeyError, ValueError, IndexError) as e:
        raise CalibrationError(f"calibration file {path} is corrupt or incomplete ({e!r}); {fix}") from e
    if meta.get("weights_sha256") != digest(weights):
        raise CalibrationError(f"calibration file {path} was fitted on other weights than {weights}; {fix}")
    if cal.score not in known_scores:
        raise CalibrationError(f"calibration file {path} names an unknown score {cal.score!r}; {fix}")
    return cal
