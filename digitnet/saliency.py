"""Which pixels pushed the network toward its answer: input x gradient (Shrikumar et al. 2016)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn


def device_of(model: nn.Module) -> torch.device:
    """The device a model's weights are on (inputs must go there)."""
    return next(model.parameters()).device


@contextmanager
def gradients_on() -> Iterator[None]:
    """Gradients on, whatever the caller's mode (Predictor methods run in inference_mode)."""
    with torch.inference_mode(False), torch.enable_grad():
        yield


def saliency(model: nn.Module, x: np.ndarray | torch.Tensor, target: int | None = None) -> np.ndarray:
    """Signed 28x28 map: input times the gradient of class `target`'s logit (default: the predicted class).

    `x` is one preprocessed image (28x28, 1x28x28 or 1x1x28x28, float in [0, 1]). Positive values are
    ink that raised the logit, negative ones ink that lowered it; background pixels (0) get 0.
    """
    t = torch.as_tensor(np.asarray(x, np.float32) if not torch.is_tensor(x) else x, dtype=torch.float32)
    if t.numel() != 28 * 28:
        raise ValueError(f"saliency needs one 28x28 image, got shape {tuple(t.shape)}")
    model.eval()
    dev = device_of(model)
    with gradients_on():
        inp = t.reshape(1, 1, 28, 28).to(dev).clone().requires_grad_(True)  # clone: never an inference tensor
        logits = model(inp)
        cls = int(logits.argmax(1)) if target is None else int(target)
        (grad,) = torch.autograd.grad(logits[0, cls], inp)
    return (inp * grad).detach()[0, 0].float().cpu().numpy()
