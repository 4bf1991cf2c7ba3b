"""From an image to ten probabilities: the one path used by the app, the CLI and the tests."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from digitnet import models
from digitnet.device import pick_device
from digitnet.preprocess import EmptyImage, preprocess
from digitnet.saliency import saliency


@dataclass
class Prediction:
    """What the network says about one image. `digit` is None when nothing was drawn."""

    digit: int | None
    confidence: float
    probabilities: list[float]
    image: np.ndarray  # the 28x28 input the network saw, float in [0, 1]
    empty: bool = False
    not_a_digit: bool | None = None
    scores: dict[str, float] = field(default_factory=dict)
    model: str = ""
    verdict_by: str | None = None  # the score the verdict compares with `threshold` (None: no verdict)
    threshold: float | None = None

    @classmethod
    def blank(cls, model: str = "") -> Prediction:
        """Nothing drawn: no digit, no probabilities, no verdict."""
        return cls(None, 0.0, [0.0] * 10, np.zeros((28, 28), np.float32), empty=True, model=model)

    def to_dict(self) -> dict:
        return dict(digit=self.digit, confidence=self.confidence, probabilities=self.probabilities,
                    empty=self.empty, not_a_digit=self.not_a_digit, scores=self.scores)  # fmt: skip


class Predictor:
    """A model loaded once onto the best device; predicts single images or batches."""

    def __init__(self, name: str = "cnn", device: str | torch.device | None = None) -> None:
        self.name, self.kind = name, models.kind(name)
        self.device = pick_device(str(device) if device else None)
        model = models.load(name, self.device)
        self.calibration = models.load_calibration(name)  # None: no scores, no verdict
        self.model = self.kind.serve(model, self.calibration)

    @torch.inference_mode()
    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        """Softmax probabilities (N x 10, on the CPU) for float images N x 1 x 28 x 28 in [0, 1]."""
        return torch.softmax(self.model(x.to(self.device)), 1).float().cpu()

    @torch.inference_mode()
    def scored(self, x: torch.Tensor) -> tuple[torch.Tensor, list[bool | None], list[dict[str, float]]]:
        """Probabilities, "not a digit" verdicts and scores, all from one forward pass."""
        logits, s = self.kind.scored(self.model, x.to(self.device), self.calibration)
        probs = torch.softmax(logits, 1)
        if s is None:
            return probs, [None] * len(x), [{} for _ in range(len(x))]
        columns = {k: v.tolist() for k, v in s.items()}
        per_image = [{k: c[i] for k, c in columns.items()} for i in range(len(x))]
        return probs, self.calibration.flags(s).tolist(), per_image

    def predict_arrays(self, arrays: list[np.ndarray]) -> list[Prediction]:
        """Predict already-preprocessed 28x28 arrays in one batch."""
        if not arrays:
            return []
        probs, flags, per_image = self.scored(torch.from_numpy(np.stack(arrays)).unsqueeze(1))
        conf, digit = probs.max(1)
        cal = self.calibration
        rule = dict(model=self.name, verdict_by=cal and cal.score, threshold=cal and cal.threshold)
        rows = zip(digit.tolist(), conf.tolist(), probs.tolist(), arrays, flags, per_image, strict=True)
        return [Prediction(d, c, p, a, not_a_digit=f, scores=sc, **rule) for d, c, p, a, f, sc in rows]

    def predict(self, image) -> Prediction:
        """Any image the app or a user hands over -> Prediction; raises InputError on bad input."""
        return self.predict_batch([image])[0]

    def predict_batch(self, images: list) -> list[Prediction]:
        """Preprocess each image, run the non-empty ones as one batch; blank ones come back empty."""
        arrays: list[np.ndarray | None] = []
        for im in images:
            try:
                arrays.append(preprocess(im))
            except EmptyImage:
                arrays.append(None)
        ran = iter(self.predict_arrays([a for a in arrays if a is not None]))
        return [next(ran) if a is not None else Prediction.blank(self.name) for a in arrays]


@dataclass
class Analysis:
    """One input seen by every network: CPU data only (it crosses the ZeroGPU process boundary)."""

    image: np.ndarray | None  # the 28x28 input; None when nothing was drawn
    predictions: dict[str, Prediction] = field(default_factory=dict)
    saliency: np.ndarray | None = None  # 28x28, signed, for the selected model


class Networks:
    """The served networks: one Predictor each, loaded once by an explicit call and passed to whoever uses them."""

    def __init__(self, predictors: dict[str, Predictor]) -> None:
        self.predictors = predictors

    @classmethod
    def load(cls, names: list[str] | None = None, device: str | None = None) -> Networks:
        """Every model with weights in weights/ (or `names`), onto CUDA when there is one."""
        names = names if names is not None else models.available(required=True)
        return cls({name: Predictor(name, device) for name in names})

    @property
    def names(self) -> list[str]:
        return list(self.predictors)

    @property
    def on_gpu(self) -> bool:
        return any(p.device.type == "cuda" for p in self.predictors.values())

    def predict(self, image: np.ndarray | None, name: str) -> Prediction:
        """One network on one preprocessed 28x28 image (None: nothing drawn), without saliency: the live path."""
        if image is None:
            return Prediction.blank(name)
        return self.predictors[name].predict_arrays([image])[0]

    def predict_many(self, inputs: list[tuple[np.ndarray | None, str]]) -> list[Prediction]:
        """Many (preprocessed image or None, network) pairs, each network run once on all of its images: the live
        readout's batches (digitnet/live.py). Each answer is the one `predict` gives for its image alone."""
        out = [Prediction.blank(name) if x is None else None for x, name in inputs]
        for name in dict.fromkeys(name for x, name in inputs if x is not None):
            at = [i for i, (x, n) in enumerate(inputs) if n == name and x is not None]
            for i, p in zip(at, self.predictors[name].predict_arrays([inputs[i][0] for i in at]), strict=True):
                out[i] = p
        return out

    def analyse(self, image: np.ndarray | None, selected: str) -> Analysis:
        """Every network on one preprocessed 28x28 image (None: nothing drawn); saliency for `selected`."""
        if image is None:
            return Analysis(None)
        preds = {name: p.predict_arrays([image])[0] for name, p in self.predictors.items()}
        sal = saliency(self.predictors[selected].model, image) if selected in self.predictors else None
        return Analysis(image, preds, sal)
