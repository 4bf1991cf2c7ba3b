"""MNIST as whole tensors: the data folder, the train/validation split, the test set."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torchvision.datasets import MNIST

from digitnet.settings import Settings

VAL_SIZE = 5000
SPLIT_SEED = 0


def data_dir(explicit: str | os.PathLike | None = None) -> Path:
    """The MNIST folder: an explicit path, else $DIGITNET_DATA (digitnet/settings.py), else ./data."""
    return Path(explicit or Settings.from_env(os.environ).data or "data")


def load_mnist(train: bool, root: str | os.PathLike | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """All of one MNIST split as (uint8 images N x 28 x 28, int64 labels N); downloads when absent."""
    ds = MNIST(str(data_dir(root)), train=train, download=True)
    return ds.data.clone(), ds.targets.clone()


def train_val_split(
    root: str | os.PathLike | None = None, val_size: int = VAL_SIZE
) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """The training set minus a fixed, seeded validation split (used for tuning, never the test set)."""
    x, y = load_mnist(train=True, root=root)
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(SPLIT_SEED))
    val, tr = perm[:val_size], perm[val_size:]
    return (x[tr], y[tr]), (x[val], y[val])


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 N x 28 x 28 -> float N x 1 x 28 x 28 in [0, 1], the input every model takes."""
    return images.unsqueeze(1).float().div_(255)
