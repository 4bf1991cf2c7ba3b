"""Fitting the generative classifier's "not a digit" calibration from digits alone, stored beside its weights.

As `digitnet.lab.calibrate` does for the other networks: the temperature of Bayes' rule is fitted on the
validation split (NLL), the verdict's score is the one of `generative.SCORES` that flags the most images of the
training-allowed probe families (the network itself never sees any of them), and its threshold flags at most
FLAG_RATE of validation digits and at most STROKE_FLAG_RATE of the same digits re-drawn with straight strokes.
The result is <model>.ood.safetensors (a temperature tensor; score, threshold, the weights' SHA-256 and a
summary as metadata), read by `digitnet.models.load_calibration`.

    python -m digitnet.lab.calibrate_generative --model vae_bayes    (re-fit the shipped weights' calibration)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from digitnet import generative, models, weightfiles
from digitnet.generative import HIGHER_IS_DIGIT, SCORES, ClassVAE, GenerativeCalibration
from digitnet.lab import calibrate as base
from digitnet.lab.data import to_float, train_val_split
from digitnet.lab.probes import TRAIN_FAMILIES, probe_images


@torch.inference_mode()
def elbos(model: ClassVAE, x: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """The ten ELBOs (N x 10, on the CPU) for float images, computed on the model's device."""
    model.eval()
    dev = next(model.parameters()).device
    return torch.cat([model.elbo(xb.to(dev)).float().cpu() for xb in base.batches(x, batch_size)])


def _outlierness(name: str, values: torch.Tensor) -> torch.Tensor:
    return -values.double() if HIGHER_IS_DIGIT[name] else values.double()


def auroc(name: str, digits: torch.Tensor, others: torch.Tensor) -> float:
    """Area under the ROC curve for telling non-digits (positives) from digits by score `name`."""
    y = np.r_[np.zeros(len(digits)), np.ones(len(others))]
    return float(roc_auc_score(y, torch.cat([_outlierness(name, digits), _outlierness(name, others)]).numpy()))


def threshold_for(name: str, digits: torch.Tensor, strokes: torch.Tensor) -> float:
    """Flags at most FLAG_RATE of `digits` and at most STROKE_FLAG_RATE of `strokes` (both validation)."""
    q = max(torch.quantile(_outlierness(name, digits), 1 - base.FLAG_RATE).item(),
            torch.quantile(_outlierness(name, strokes), 1 - base.STROKE_FLAG_RATE).item())  # fmt: skip
    return -q if HIGHER_IS_DIGIT[name] else q


def caught(name: str, values: torch.Tensor, threshold: float) -> float:
    """Share of `values` the verdict flags at `threshold`."""
    flags = values < threshold if HIGHER_IS_DIGIT[name] else values > threshold
    return float(flags.double().mean())


def fit(model: ClassVAE, xval: torch.Tensor, yval: torch.Tensor) -> tuple[GenerativeCalibration, dict]:
    """Temperature, score and threshold from validation digits (and their re-drawings); the training-allowed
    probe families only choose among the scores. Returns the calibration and its summary for the record."""
    xstrokes = base.redrawn(xval)
    eval_, estrokes = elbos(model, xval), elbos(model, xstrokes)
    temp = base.fit_temperature(eval_, yval)
    val, strokes = generative.scores(eval_, xval, temp), generative.scores(estrokes, xstrokes, temp)
    xo = torch.cat([probe_images(name, base.SELECTION_N, base.SELECTION_SEED) for name in TRAIN_FAMILIES])
    out = generative.scores(elbos(model, xo), xo, temp)
    table = {}
    for name in SCORES:
        thr = threshold_for(name, val[name], strokes[name])
        table[name] = dict(caught=round(caught(name, out[name], thr), 4),
                           auroc=round(auroc(name, val[name], out[name]), 5))  # fmt: skip
    best = max(SCORES, key=lambda n: (table[n]["caught"], table[n]["auroc"]))
    cal = GenerativeCalibration(temp, best, threshold_for(best, val[best], strokes[best]))
    summary = dict(
        temperature=round(temp, 5), score=best, threshold=cal.threshold, higher_is_digit=HIGHER_IS_DIGIT[best],
        val_flagged=round(caught(best, val[best], cal.threshold), 5),
        val_strokes_flagged=round(caught(best, strokes[best], cal.threshold), 5),
        val_accuracy=round(float((eval_.argmax(1) == yval).double().mean()), 5),
        val_strokes_accuracy=round(float((estrokes.argmax(1) == yval).double().mean()), 5),
        selection={"families": list(TRAIN_FAMILIES), "per_family": base.SELECTION_N, "seed": base.SELECTION_SEED,
                   "scores": table},
    )  # fmt: skip
    return cal, summary


def calibrate(model: ClassVAE, xval: torch.Tensor, yval: torch.Tensor, out: Path) -> dict:
    """Fit, write <out>.ood.safetensors beside the weights, and return {"ood": summary} for the JSON."""
    cal, summary = fit(model, xval, yval)
    weightfiles.write_calibration(Path(out), cal.tensors(), cal.score, cal.threshold, summary)
    return {"ood": summary}


def calibrate_shipped(name: str, data_dir: str | None = None) -> dict:
    """Calibrate weights/<name>.safetensors as shipped (no retraining) and record it in weights/<name>.json."""
    model = models.load(name)
    _, (xval, yval) = train_val_split(data_dir)
    result = calibrate(model, to_float(xval), yval, models.weights_path(name))
    meta = models.metadata(name)
    meta.update(result)
    weightfiles.write_record(models.weights_path(name), meta)
    return result["ood"]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Re-fit the 'not a digit' calibration of a shipped generative classifier")
    p.add_argument("--model", default="vae_bayes")
    p.add_argument("--data-dir", help="MNIST folder (default: $DIGITNET_DATA, else ./data)")
    a = p.parse_args(argv)
    print(json.dumps(calibrate_shipped(a.model, a.data_dir), indent=2))


if __name__ == "__main__":
    main()
