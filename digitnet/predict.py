"""From an image to ten probabilities: the one path used by the app, the CLI and the tests."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from digitnet import models, ood
from digitnet.device import pick_device
from digitnet.preprocess import EmptyImage, preprocess


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

    def to_dict(self) -> dict:
        return dict(digit=self.digit, confidence=self.confidence, probabilities=self.probabilities,
                    empty=self.empty, not_a_digit=self.not_a_digit, scores=self.scores)  # fmt: skip


class Predictor:
    """A model loaded once onto the best device; predicts single images or batches."""

    def __init__(self, name: str = "cnn", device: str | torch.device | None = None) -> None:
        self.name = name
        self.device = pick_device(str(device) if device else None)
        self.model = models.load(name, self.device)
        self.calibration = ood.load_calibration(name)  # None: no scores, no verdict

    @torch.inference_mode()
    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        """Softmax probabilities (N x 10, on the CPU) for float images N x 1 x 28 x 28 in [0, 1]."""
        return torch.softmax(self.model(x.to(self.device)), 1).float().cpu()

    @torch.inference_mode()
    def scored(self, x: torch.Tensor) -> tuple[torch.Tensor, list[bool | None], list[dict[str, float]]]:
        """Probabilities, "not a digit" verdicts and scores, all from one forward pass (features -> head)."""
        feats = self.model.features(x.to(self.device))
        logits = self.model.head(feats).float().cpu()
        probs = torch.softmax(logits, 1)
        if self.calibration is None:
            return probs, [None] * len(x), [{} for _ in range(len(x))]
        s = ood.scores(logits, feats.float().cpu(), self.calibration)  # on the CPU: MPS has no float64
        per_image = [{k: float(v[i]) for k, v in s.items()} for i in range(len(x))]
        return probs, self.calibration.flags(s).tolist(), per_image

    def predict_arrays(self, arrays: list[np.ndarray]) -> list[Prediction]:
        """Predict already-preprocessed 28x28 arrays in one batch."""
        if not arrays:
            return []
        probs, flags, per_image = self.scored(torch.from_numpy(np.stack(arrays)).unsqueeze(1))
        conf, digit = probs.max(1)
        return [
            Prediction(int(d), float(c), p.tolist(), a, not_a_digit=f, scores=sc)
            for d, c, p, a, f, sc in zip(digit, conf, probs, arrays, flags, per_image, strict=True)
        ]

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
        blank = np.zeros((28, 28), np.float32)
        return [next(ran) if a is not None else Prediction(None, 0.0, [0.0] * 10, blank, empty=True) for a in arrays]
