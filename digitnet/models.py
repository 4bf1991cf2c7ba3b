"""What each network is: its kind, how it is built, loaded and calibrated, and where its weights live.

This is the one place that answers "which kind of network is NAME?"; everything else asks here (`kind(name)`,
`load(name)`, `load_calibration(name)`) and never checks a network's name or class itself. Two kinds:
discriminative networks (digitnet/discriminative.py, their verdict from digitnet/ood.py) and generative
classifiers (digitnet/generative.py, served through Bayes' rule, their verdict from their own model of digits).
Weights live in WEIGHTS_DIR as <name>.safetensors, read and written by digitnet/weightfiles.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from digitnet import generative, ood, weightfiles
from digitnet.discriminative import CNN, MLP

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"

Calibration = ood.Calibration | generative.GenerativeCalibration
Scored = tuple[torch.Tensor, dict[str, torch.Tensor] | None]  # logits on the CPU, the verdict's scores (or None)


@dataclass(frozen=True)
class Kind:
    """What one kind of network does with an image, and how its "not a digit" verdict is stored and read."""

    name: str
    generative: bool  # its logits are its ten evidence bounds (Bayes' rule), and it draws the digits it knows
    scores: tuple[str, ...]  # the verdict's candidate scores
    higher_is_digit: Mapping[str, bool]  # which side of a threshold is "a digit", per score
    calibration: Callable[[dict[str, torch.Tensor], dict[str, str]], Calibration]  # from a calibration file
    serve: Callable[[nn.Module, Calibration | None], nn.Module]  # the loaded network -> the module served
    scored: Callable[[nn.Module, torch.Tensor, Calibration | None], Scored]  # the served module on a batch


DISCRIMINATIVE_KIND = Kind(
    "discriminative",
    generative=False,
    scores=ood.SCORES,
    higher_is_digit=ood.HIGHER_IS_DIGIT,
    calibration=ood.Calibration.from_file,
    serve=lambda model, cal: model,
    scored=ood.scored,
)
GENERATIVE_KIND = Kind(
    "generative",
    generative=True,
    scores=generative.SCORES,
    higher_is_digit=generative.HIGHER_IS_DIGIT,
    calibration=generative.GenerativeCalibration.from_file,
    serve=generative.serve,
    scored=generative.BayesRule.scored,
)
# Which side of a threshold is "a digit", for every network's scores ("msp" and "entropy" agree in both kinds).
HIGHER_IS_DIGIT = ood.HIGHER_IS_DIGIT | generative.HIGHER_IS_DIGIT


@dataclass(frozen=True)
class Architecture:
    """How a network is built: its module, its kind, and how a weights file shapes it."""

    module: Callable[..., nn.Module]  # a freshly initialised network (a width as its first argument, if `widths`)
    kind: Kind
    widths: bool = False  # takes the channels of its first layer as a width
    shaped: Callable[[dict[str, torch.Tensor]], nn.Module] | None = None  # shaped as a weights file (None: module())
    channels_last: bool = False  # measured on the CNN: ~25% faster per image, ~60% per batch on CPU


@dataclass(frozen=True)
class Network:
    """A network the app can serve: its weights are weights/<name>.safetensors."""

    name: str
    architecture: str  # a key of ARCHITECTURES
    description: str

    @property
    def kind(self) -> Kind:
        return ARCHITECTURES[self.architecture].kind


ARCHITECTURES = {
    "mlp": Architecture(MLP, DISCRIMINATIVE_KIND),
    "cnn": Architecture(CNN, DISCRIMINATIVE_KIND, widths=True, channels_last=True),
    "class_vae": Architecture(generative.ClassVAE, GENERATIVE_KIND, widths=True, shaped=generative.shaped),
}
# Every network the app can serve, in the order it offers them. cnn_oe is the CNN trained with outlier exposure.
NETWORKS = {n.name: n for n in (
    Network("mlp", "mlp", "Simple MLP (784-128-64-10)"),
    Network("cnn", "cnn", "CNN"),
    Network("cnn_oe", "cnn", "CNN + outlier exposure (knows non-digits)"),
    Network("vae_bayes", "class_vae", "VAE + Bayes' rule (draws the digits it knows)"),
)}  # fmt: skip
NAMES = tuple(NETWORKS)
GENERATIVE = tuple(n.name for n in NETWORKS.values() if n.kind.generative)  # the networks that draw


def network(name: str) -> Network:
    if name not in NETWORKS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(NAMES)}")
    return NETWORKS[name]


def kind(name: str) -> Kind:
    return network(name).kind


def describe(name: str) -> str:
    """The network's description in words (its name when it has none)."""
    return NETWORKS[name].description if name in NETWORKS else name


def make(architecture: str, width: int | None = None) -> nn.Module:
    """A freshly initialised network of `architecture` (a key of ARCHITECTURES), of `width` when given."""
    if architecture not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {architecture!r}; choose one of {', '.join(ARCHITECTURES)}")
    a = ARCHITECTURES[architecture]
    if width is None:
        return a.module()
    if not a.widths:
        widened = " and ".join(k for k, v in ARCHITECTURES.items() if v.widths)
        raise ValueError(f"width applies to the {widened} architectures, not {architecture!r}")
    return a.module(width)


def build(name: str) -> nn.Module:
    """A freshly initialised network `name`, as shipped."""
    return make(network(name).architecture)


def weights_path(name: str, weights_dir: str | Path | None = None) -> Path:
    return Path(weights_dir or WEIGHTS_DIR) / f"{name}.safetensors"


def retrain_command(name: str) -> str:
    """The command that re-creates a model's weights (MNIST downloads into ./data when absent)."""
    return f"python train.py --model {name}"


def calibrate_command(name: str) -> str:
    """The command that re-creates a model's calibration from its weights."""
    return f"python -m digitnet calibrate --model {name}"


def available(weights_dir: str | Path | None = None, required: bool = False) -> list[str]:
    """Every known model whose weights file is present, in NAMES order (required: at least one)."""
    names = [name for name in NAMES if weights_path(name, weights_dir).is_file()]
    if required and not names:
        raise weightfiles.WeightsError(
            f"no weights in {weights_dir or WEIGHTS_DIR}; train one: {retrain_command('cnn')}"
        )
    return names


def load(name: str, device: torch.device | str = "cpu", weights_dir: str | Path | None = None) -> nn.Module:
    """A model with its shipped weights, in eval mode on `device`."""
    a = ARCHITECTURES[network(name).architecture]
    shaped = a.shaped or (lambda state: a.module())
    fix = f"recreate it with: {retrain_command(name)}"
    model = weightfiles.load_module(weights_path(name, weights_dir), shaped, f"model {name!r}", fix)
    if a.channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model.to(device).eval()


def load_calibration(name: str, weights_dir: str | Path | None = None) -> Calibration | None:
    """The stored verdict calibration of `name`, or None when it has none (then no verdict is given).

    One that does not belong to the weights beside it is an error (CalibrationError, naming the file and the command
    that re-creates it), never a verdict that silently vanishes or a threshold applied to a network it was not
    fitted on.
    """
    k = kind(name)
    fix = f"recreate it with: {calibrate_command(name)}"
    return weightfiles.read_calibration(weights_path(name, weights_dir), k.calibration, k.higher_is_digit, fix)


def load_cnn(path: str | Path) -> CNN:
    """A CNN of whatever width the weights file holds (teachers, benchmarks), in eval mode on the CPU."""
    try:
        state = weightfiles.read(path)
        model = CNN(state["body.0.0.weight"].shape[0])
        model.load_state_dict(state)
    except weightfiles.UNREADABLE as e:
        raise weightfiles.WeightsError(f"{path} is not the weights of a digitnet CNN ({e})") from e
    return model.eval()


def metadata(name: str, weights_dir: str | Path | None = None) -> dict:
    """The JSON written beside the weights ({} when absent)."""
    return weightfiles.read_record(weights_path(name, weights_dir))


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
