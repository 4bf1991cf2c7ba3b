"""Numbers the reports and benchmarks compute: detection metrics, calibration error, timing summaries."""

from __future__ import annotations

import statistics

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from digitnet import models


def outlierness(name: str, values: torch.Tensor) -> np.ndarray:
    """Score `name` turned so that higher always means "less like a digit"."""
    v = values.double().cpu().numpy()
    return -v if models.HIGHER_IS_DIGIT[name] else v


def auroc(name: str, digits: torch.Tensor, others: torch.Tensor) -> float:
    """Area under the ROC curve for telling non-digits (positives) from digits by score `name`."""
    y = np.r_[np.zeros(len(digits)), np.ones(len(others))]
    return float(roc_auc_score(y, np.r_[outlierness(name, digits), outlierness(name, others)]))


def fpr_at_95_tpr(name: str, digits: torch.Tensor, others: torch.Tensor) -> float:
    """Share of non-digits accepted as digits at the threshold that accepts 95% of the digits."""
    cut = np.quantile(outlierness(name, digits), 0.95)
    return float((outlierness(name, others) <= cut).mean())


def reliability(probs: torch.Tensor, labels: torch.Tensor, bins: int = 15) -> tuple[list, list, list]:
    """Per non-empty equal-width confidence bin: mean confidence, accuracy, count (Guo et al. 2017)."""
    conf, pred = probs.max(1)
    idx = torch.clamp((conf.double() * bins).ceil().long() - 1, 0, bins - 1)
    xs, ys, ns = [], [], []
    for b in range(bins):
        m = idx == b
        if m.any():
            xs.append(float(conf[m].double().mean()))
            ys.append(float((pred[m] == labels[m]).double().mean()))
            ns.append(int(m.sum()))
    return xs, ys, ns


def ece(probs: torch.Tensor, labels: torch.Tensor, bins: int = 15) -> float:
    """Expected calibration error of the top-class confidence over equal-width bins."""
    xs, ys, ns = reliability(probs, labels, bins)
    return sum(n * abs(y - x) for x, y, n in zip(xs, ys, ns, strict=True)) / len(labels)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def summary_ms(seconds: list[float]) -> dict[str, float]:
    """Median, p95 and p99 of durations given in seconds, in milliseconds."""
    ms = [s * 1e3 for s in seconds]
    return {"median": statistics.median(ms), "p95": percentile(ms, 95), "p99": percentile(ms, 99)}
