"""An honest check of a network's drawings of digits, standing in for a person reading them (issue 24).

A drawing of digit d passes when
  - two other networks (the plain `cnn` and `cnn_oe`, which never saw it) both read it as d, and
  - its L2 distance to the nearest MNIST training digit lies within the band of real test digits' distances to
    their nearest training digit (BAND: their 1st to 99th percentile): far from every real digit (a noise
    pattern a network is sure of) fails, and so does one far closer than test digits come (a copy).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from digitnet import models
from digitnet.lab.data import load_mnist, to_float, train_val_split

BAND = (0.01, 0.99)
READERS = ("cnn", "cnn_oe")
TEST_N = 500  # test digits that set the band


def nearest_l2(x: torch.Tensor, train: torch.Tensor, chunk: int = 100) -> torch.Tensor:
    """L2 distance of each image to its nearest training image (float images, any shape N x ...)."""
    a, b = x.reshape(len(x), -1).float(), train.reshape(len(train), -1).float()
    return torch.cat([torch.cdist(a[i : i + chunk], b).min(1).values for i in range(0, len(a), chunk)])


@dataclass
class DrawingCheck:
    """The training digits and the band of distances a real digit has to them."""

    train: torch.Tensor  # float N x 784
    low: float
    high: float
    readers: list[nn.Module] = field(default_factory=lambda: [models.load(name) for name in READERS])

    @classmethod
    def fit(cls, data_dir: str | None = None) -> DrawingCheck:
        (xtr, _), _ = train_val_split(data_dir)
        train = to_float(xtr).reshape(len(xtr), -1)
        test = to_float(load_mnist(train=False, root=data_dir)[0][:TEST_N])
        d = nearest_l2(test, train)
        return cls(train, float(d.quantile(BAND[0])), float(d.quantile(BAND[1])))

    @torch.inference_mode()
    def passes(self, drawings: torch.Tensor, digits: torch.Tensor) -> torch.Tensor:
        """True for each drawing (N x 28 x 28 or N x 1 x 28 x 28 in [0, 1]) that passes as its digit."""
        x = drawings.reshape(len(drawings), 1, 28, 28).float()
        read = torch.ones(len(x), dtype=torch.bool)
        for reader in self.readers:
            read &= reader(x).argmax(1) == digits
        d = nearest_l2(x, self.train)
        return read & (d >= self.low) & (d <= self.high)
