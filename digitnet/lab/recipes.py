"""How each shipped network is trained, as data: one frozen `Recipe` per model name.

train.py turns its command line into a Recipe (`dataclasses.replace(RECIPES[model], **overrides)`);
benchmarks and tests build theirs the same way, without faking command-line arguments.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from digitnet import models

# The keys of the "hyperparameters" dict in the JSON written beside the weights, in that order.
HYPERPARAMETERS = (
    "epochs", "batch_size", "lr", "optimizer", "schedule", "augment", "label_smoothing", "stroke_share", "seed",
    "limit", "oe_weight", "width", "bf16", "distill", "ce_weight",
)  # fmt: skip


@dataclass(frozen=True)
class Recipe:
    """Everything that decides the trained weights (besides the data and the device)."""

    model: str  # the name the weights are saved under: weights/<model>.safetensors
    architecture: str  # the network built, a key of models.ARCHITECTURES ("mlp", "cnn" or "class_vae")
    epochs: int
    batch_size: int
    lr: float
    optimizer: str  # "sgd" (momentum 0.9) or "adamw" (weight decay 5e-4)
    schedule: str  # "constant" or "onecycle" (25% warm-up)
    augment: bool  # small random affine moves of every training batch
    seed: int
    label_smoothing: float = 0.0
    outlier_exposure: bool = False  # non-digits ride along in each batch, trained toward the uniform distribution
    oe_weight: float = 0.5  # loss += oe_weight * CE(outliers, uniform) (Hendrycks et al. 2019 use 0.5)
    stroke_share: float = 0.0  # share of digits shown re-drawn with straight pen strokes (digitnet/lab/strokes.py)
    limit: int | None = None  # train on only the first N training images (quick experiments)
    width: int | None = None  # channels of the first layer (None: the architecture's default, 32)
    bf16: bool = False  # forward pass under bfloat16 autocast: ~2x on CPUs with AVX512-BF16 or AMX, and on GPUs
    # Knowledge distillation (Hinton et al. 2015): the digits' loss is (1 - distill) x cross-entropy with the labels
    # + distill x cross-entropy with the teachers' averaged probabilities on the same augmented batch. The
    # teachers are weights files given to train.py with --teachers; 0: labels only.
    distill: float = 0.0
    # The generative classifier (architecture "class_vae", digitnet/generative.py) minimises -ELBO of the true
    # digit + ce_weight x cross-entropy of Bayes' rule over its ten ELBOs (nats; 0: a purely generative fit).
    ce_weight: float = 0.0

    def __post_init__(self) -> None:
        if self.optimizer not in ("sgd", "adamw"):
            raise ValueError(f"optimizer {self.optimizer!r}: choose sgd or adamw")
        if self.schedule not in ("constant", "onecycle"):
            raise ValueError(f"schedule {self.schedule!r}: choose constant or onecycle")
        if not 0 <= self.distill <= 1:
            raise ValueError(f"distill {self.distill}: a weight between 0 and 1")

    def build(self) -> nn.Module:
        """A freshly initialised network of this recipe's architecture (and width)."""
        return models.make(self.architecture, self.width)

    def hyperparameters(self) -> dict:
        """The "hyperparameters" recorded beside the weights."""
        return {k: getattr(self, k) for k in HYPERPARAMETERS}


RECIPES = {
    # The PyTorch tutorial network: plain SGD, no augmentation, no schedule.
    # Its seed is the best of seeds 1-5 by validation accuracy (docs/benchmarks.md lists all five).
    "mlp": Recipe("mlp", "mlp", epochs=15, batch_size=64, lr=0.003, optimizer="sgd", augment=False,
                  schedule="constant", seed=3, stroke_share=0.0),
    "cnn": Recipe("cnn", "cnn", epochs=16, batch_size=128, lr=0.004, optimizer="adamw", augment=True,
                  schedule="onecycle", seed=1, stroke_share=0.0),
    # 12 epochs, not 16: each OE epoch costs 1.5x (outliers ride along) and it had to train on 2 shared cores.
    # stroke_share: that share of digits is shown re-drawn with straight pen strokes (digitnet/lab/strokes.py);
    # without it the OE network learns "pen-drawn lines are not digits" and declines mouse-drawn digits.
    # stroke_share 0.25 and oe_weight 0.25 (both were 0.5): the best validation accuracy among the runs with the
    # doodles among the outliers (docs/overconfidence.md lists them with their figures).
    "cnn_oe": Recipe("cnn_oe", "cnn", epochs=12, batch_size=128, lr=0.004, optimizer="adamw", augment=True,
                     schedule="onecycle", seed=1, stroke_share=0.25, outlier_exposure=True, oe_weight=0.25,
                     bf16=True),
    # Not shipped: the recipe to watch train (issue 15). Width 16, half the cnn's, is a quarter of its work; label
    # smoothing and the larger batch and step converge in 10 short epochs; bf16 speeds a step up on CPUs with
    # AVX512-BF16 or AMX. benchmarks.time_to_accuracy measures its time to 99.5% test (docs/benchmarks.md).
    "cnn_fast": Recipe("cnn_fast", "cnn", epochs=10, batch_size=256, lr=0.008, optimizer="adamw", augment=True,
                       schedule="onecycle", seed=1, label_smoothing=0.1, width=16, bf16=True),
    # The generative classifier (issue 24): a class-conditional VAE whose ten ELBOs are its logits. No outliers,
    # ever: its "not a digit" comes from its own model of digits (digitnet/lab/calibrate_generative.py).
    "vae_bayes": Recipe("vae_bayes", "class_vae", epochs=8, batch_size=128, lr=0.002, optimizer="adamw",
                        augment=True, schedule="onecycle", seed=1, bf16=True, ce_weight=10.0),
}  # fmt: skip
