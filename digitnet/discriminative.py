"""The discriminative networks: an image through penultimate features to ten logits (`features` -> `head`).

Every network takes float images N x 1 x 28 x 28 in [0, 1] (white ink on black, as MNIST) and normalises them
itself, so callers never need to know each network's training statistics.
"""

from __future__ import annotations

import torch
from torch import nn

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


class Normalize(nn.Module):
    def __init__(self, mean: float, std: float) -> None:
        super().__init__()
        self.mean, self.std = mean, std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class MLP(nn.Module):
    """784-128-64-10, ReLU: the classic PyTorch tutorial network (inputs normalised to [-1, 1])."""

    def __init__(self) -> None:
        super().__init__()
        self.norm = Normalize(0.5, 0.5)
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU())
        self.head = nn.Linear(64, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(self.norm(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def _conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class CNN(nn.Module):
    """Five 3x3 conv-BN-ReLU layers (32-32 | 64-64 | 128), global average pool, linear head."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        w = width
        self.norm = Normalize(MNIST_MEAN, MNIST_STD)
        self.body = nn.Sequential(
            _conv(1, w), _conv(w, w), nn.MaxPool2d(2),
            _conv(w, 2 * w), _conv(2 * w, 2 * w), nn.MaxPool2d(2),
            _conv(2 * w, 4 * w), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )  # fmt: skip
        self.head = nn.Linear(4 * w, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate-layer features (used by the feature-density score)."""
        return self.body(self.norm(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
