"""Questions asked of a network through its input: what it thinks each digit looks like, and how little it takes
to make it say another one.

`draw` asks a generative network (generative.BayesRule) for its own drawings: the decoder's most typical drawing of
each digit and seeded samples, no search at all. `dream` grows, for each digit, the input the network is most sure
of, by gradient ascent on the pixels (Nguyen, Yosinski & Clune 2015); `regularised=True` adds jitter, ink decay and
blur (Yosinski et al. 2015) so that the strokes the network favours show. `fool` finds a small L2 change to an image
that makes the network say a chosen digit with >= 99% confidence (targeted DDN, Rony et al. 2019). They take a
`Predictor` (its "not a digit" verdict comes along) or a bare model, run on that network's device and return CPU
data only (numpy arrays, Predictions, floats): images on the 0-255 grey levels that are shown, judged by the
network on exactly those levels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from digitnet.predict import Prediction, Predictor
from digitnet.preprocess import grey_levels
from digitnet.saliency import device_of, gradients_on

Network = Predictor | nn.Module
FOOL_CONFIDENCE = 0.99
SAMPLES = 4  # seeded drawings per digit besides the typical one


@dataclass
class Dream:
    """The input grown for one digit, and what the network says about it."""

    digit: int
    image: np.ndarray  # 28x28 float32 in [0, 1], on the 0-255 grey levels
    confidence: float  # the network's probability of `digit` for `image`
    prediction: Prediction  # its full answer (digit, probabilities, not_a_digit verdict when it has one)
    samples: list[Dream] = field(default_factory=list)  # drawn: the network's other drawings of `digit`


@dataclass
class DreamGrid:
    """Ten dreams, digits 0-9, from one network and one request."""

    model: str
    regularised: bool
    seed: int
    steps: int
    dreams: list[Dream]
    method: str = "grown"  # "grown": gradient ascent on the input; "drawn": the network's own drawings (`draw`)

    @property
    def min_confidence(self) -> float:
        return min(d.confidence for d in self.dreams)


@dataclass
class FoolResult:
    """The changed image, the change, and the network's answers before and after."""

    model: str
    target: int
    success: bool  # the network says `target` with >= FOOL_CONFIDENCE on `image`
    original: np.ndarray  # 28x28 float32 in [0, 1]: the input as given (on the 0-255 grey levels)
    image: np.ndarray  # 28x28 float32 in [0, 1]: the changed input
    before: Prediction
    after: Prediction

    @property
    def difference(self) -> np.ndarray:
        """Signed change, image - original, in [-1, 1]."""
        return self.image - self.original

    @property
    def l2(self) -> float:
        return float(np.linalg.norm(self.difference))

    @property
    def linf(self) -> float:
        return float(np.abs(self.difference).max())

    @property
    def pixels_changed(self) -> int:
        return int(np.count_nonzero(grey_levels(self.image) != grey_levels(self.original)))

    @property
    def confidence(self) -> float:
        """The network's probability of `target` for the changed input."""
        return self.after.probabilities[self.target]


# --- dreams ------------------------------------------------------------------------------------------------


def draws(net: Network) -> bool:
    """Whether the network draws: a Predictor of a generative classifier (a bare model only grows dreams)."""
    return isinstance(net, Predictor) and net.kind.generative


def drawings(net: Network, *, regularised: bool = False) -> list[DreamGrid]:
    """What the network thinks each digit looks like: a generative network's drawings (`draw`), then what gradient
    ascent grows on its input; any other network can only grow them (`dream`)."""
    grown = dream(net, regularised=regularised)
    return [draw(net), grown] if draws(net) else [grown]


def draw(net: Network, *, samples: int = SAMPLES, seed: int = 0) -> DreamGrid:
    """A generative network's own drawings: for each digit its most typical drawing (the decoder at the centre of
    its style space) carrying `samples` drawings from seeded random styles, each judged by the network itself."""
    vae = _model(net).vae
    typical = _quantise(torch.stack([vae.typical(d) for d in range(10)]).numpy())
    drawn = _quantise(torch.cat([vae.sample(d, samples, seed=seed * 10 + d) for d in range(10)]).numpy())
    preds = _judge(net, [*typical, *drawn])
    others = [Dream(i // samples, im, p.probabilities[i // samples], p)
              for i, (im, p) in enumerate(zip(drawn, preds[10:], strict=True))]  # fmt: skip
    dreams = [Dream(d, typical[d], preds[d].probabilities[d], preds[d], others[d * samples : (d + 1) * samples])
              for d in range(10)]  # fmt: skip
    return DreamGrid(_name(net), False, seed, 0, dreams, method="drawn")


def dream(net: Network, *, regularised: bool = False, seed: int = 0, steps: int | None = None) -> DreamGrid:
    """For each digit 0-9, the input the network is most sure of, grown from seeded near-blank noise.

    Both maximise the digit's log-odds log(p / (1 - p)), whose gradient, unlike log p's, does not fade as p nears
    1. Plain: free pixels through a sigmoid, `steps` Adam steps (default 40); clamped pixels or plain gradient
    steps leave an outlier-exposure network on its flat "not a digit" answer from a near-blank start. How sure
    each shipped network ends up is measured in docs/overconfidence.md ("What each network thinks a digit looks
    like"), not here.
    Regularised (Yosinski et al. 2015): the network sees the image jittered by up to 2 pixels, and after each
    step the image loses 2% of its ink and every 4th step is blurred; the objective stops at 99.99%, so from
    there only what the network needs survives (default 100 steps).
    """
    model = _model(net)
    steps = steps or (100 if regularised else 40)
    gen = torch.Generator().manual_seed(seed)
    noise = torch.randn(10, 1, 28, 28, generator=gen)
    shifts = torch.randint(-2, 3, (steps, 2), generator=gen).tolist()
    dev = device_of(model)
    digits = torch.arange(10, device=dev)
    # regularised: pixels themselves (blur and decay act on them); plain: sigmoid(-3) ~ 0.05, near blank
    p = ((0.05 + 0.05 * noise).clamp(0, 1) if regularised else noise * 0.5 - 3.0).to(dev).requires_grad_(True)
    opt = torch.optim.Adam([p], lr=0.2 if regularised else 1.0)
    with gradients_on():
        for i, (dy, dx) in enumerate(shifts):
            x = p if regularised else torch.sigmoid(p)
            seen = torch.roll(x, (dy, dx), dims=(2, 3)) if regularised else x
            objective = _log_odds(model(seen), digits)
            if regularised:
                objective = objective.clamp(max=_CAP)
            (p.grad,) = torch.autograd.grad(-objective.sum(), p)  # only the input's gradient: no weight gradients
            opt.step()
            if regularised:
                with torch.no_grad():
                    p.copy_(_tidy(p, blur=i % 4 == 3))
        x = p.detach() if regularised else torch.sigmoid(p.detach())
    images = _quantise(x[:, 0].float().cpu().numpy())
    preds = _judge(net, list(images))
    dreams = [Dream(d, images[d], preds[d].probabilities[d], preds[d]) for d in range(10)]
    return DreamGrid(_name(net), regularised, seed, steps, dreams)


_CAP = float(np.log(0.9999 / 0.0001))  # log-odds of 99.99%


def _log_odds(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """log(p / (1 - p)) of each row's target: its logit minus the logsumexp of the others."""
    rows = torch.arange(len(targets), device=logits.device)
    others = logits.float().index_put((rows, targets), torch.tensor(-torch.inf, device=logits.device))
    return logits[rows, targets].float() - torch.logsumexp(others, 1)


def _tidy(x: torch.Tensor, blur: bool) -> torch.Tensor:
    """The regularised dream's step: 2% ink decay, sometimes a blur, pixels back into [0, 1]."""
    if blur:
        k = torch.tensor([1.0, 2.0, 1.0], device=x.device, dtype=x.dtype)
        x = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), (k[:, None] * k[None, :] / 16).reshape(1, 1, 3, 3))
    return (0.98 * x).clamp(0, 1)


# --- fooling -----------------------------------------------------------------------------------------------


def fool(
    net: Network,
    image: np.ndarray,
    target: int,
    *,
    steps: int = 100,
    restarts: int = 4,
    rounds: int = 2,
    max_l2: float = 10.0,
    seed: int = 0,
) -> FoolResult:
    """The smallest L2 change to `image` (28x28 float in [0, 1]) found that makes the network say `target` with
    >= 99% confidence, by the network itself (its Predictor when given one) on the change rounded to grey levels.

    Decoupled direction and norm (DDN, Rony et al. 2019), targeted: each step moves along the normalised gradient
    of log p(target) and puts the change on a sphere whose radius shrinks 2% while the target is reached and grows
    2% while not (at most `max_l2`). `restarts` runs share one batch: the first from the image itself, the others
    from seeded random changes. When none succeeds in `steps`, another round from fresh random changes follows, up
    to `rounds` (an outlier-exposure network can strand a run where its answer is flat, "no digit at all"; how
    often is measured in docs/overconfidence.md, "Fooling").
    """
    if not 0 <= target <= 9:
        raise ValueError(f"target must be a digit 0-9, got {target}")
    x0 = _quantise(np.asarray(image, np.float32).reshape(28, 28))
    before = _judge(net, [x0])[0]
    if before.probabilities[target] >= FOOL_CONFIDENCE:
        return FoolResult(_name(net), target, True, x0, x0.copy(), before, before)
    gen = torch.Generator().manual_seed(seed)
    tried: list[tuple[np.ndarray, Prediction]] = []
    for r in range(rounds):
        images = _quantise(_ddn(_model(net), x0, target, steps, restarts, max_l2, gen, from_image=r == 0))
        tried += zip(images, _judge(net, list(images)), strict=True)
        if any(p.probabilities[target] >= FOOL_CONFIDENCE for _, p in tried):
            break
    best = _closest(tried, x0, target)
    after = _judge(net, [best])[0]  # alone, as the page will show it (a batch may differ in the last bits)
    return FoolResult(_name(net), target, after.probabilities[target] >= FOOL_CONFIDENCE, x0, best, before, after)


def _closest(tried: list[tuple[np.ndarray, Prediction]], x0: np.ndarray, target: int) -> np.ndarray:
    """The tried image nearest to x0 among those called `target` with >= 99%; else the one closest to that."""
    ok = [im for im, p in tried if p.probabilities[target] >= FOOL_CONFIDENCE]
    if ok:
        return min(ok, key=lambda im: float(np.linalg.norm(im - x0)))
    return max(tried, key=lambda t: t[1].probabilities[target])[0]


_GAMMA = 0.02  # how fast the radius follows success
_AIM = 0.995  # the attack's own bar, above FOOL_CONFIDENCE, so that rounding to grey levels rarely undoes it


def _ddn(
    model: nn.Module,
    x0: np.ndarray,
    target: int,
    steps: int,
    restarts: int,
    max_l2: float,
    gen: torch.Generator,
    from_image: bool,
) -> np.ndarray:
    """Per restart, the smallest change that reached _AIM (else the last one tried): restarts x 28 x 28 images."""
    dev = device_of(model)
    start = torch.randn(restarts, 1, 28, 28, generator=gen) * 0.1  # L2 about 2.8 before clipping to [0, 1]
    if from_image:
        start[0] = 0
    base = torch.from_numpy(x0).to(dev).expand(restarts, 1, 28, 28)
    delta = ((base + start.to(dev)).clamp(0, 1) - base).requires_grad_(True)
    radius = torch.ones(restarts, 1, 1, 1, device=dev)
    best, best_l2 = delta.detach().clone(), torch.full((restarts,), torch.inf, device=dev)
    with gradients_on():
        for k in range(steps):
            logp = torch.log_softmax(model(base + delta).float(), 1)[:, target]
            (g,) = torch.autograd.grad(logp.sum(), delta)
            with torch.no_grad():
                reached = logp.exp() >= _AIM
                l2 = _norm(delta).flatten()
                better = reached & (l2 < best_l2)
                best[better], best_l2[better] = delta[better], l2[better]
                if k == steps - 1:
                    break
                step = 0.01 + 0.99 * (1 + np.cos(np.pi * k / steps)) / 2  # cosine-annealed step length
                radius = (radius * torch.where(reached, 1 - _GAMMA, 1 + _GAMMA).reshape(-1, 1, 1, 1)).clamp(max=max_l2)
                delta.copy_(_on_sphere(base, delta + step * g / _norm(g).clamp_min(1e-12), radius))
        out = torch.where(torch.isinf(best_l2).reshape(-1, 1, 1, 1), delta.detach(), best)
    return (base + out)[:, 0].float().cpu().numpy()


def _on_sphere(base: torch.Tensor, delta: torch.Tensor, radius: torch.Tensor) -> torch.Tensor:
    """The change scaled to L2 length `radius`, then cut so that base + change stays in [0, 1]."""
    return (base + delta * radius / _norm(delta).clamp_min(1e-12)).clamp(0, 1) - base


def _norm(t: torch.Tensor) -> torch.Tensor:
    return t.flatten(1).norm(dim=1).reshape(-1, 1, 1, 1)


# --- shared ------------------------------------------------------------------------------------------------


def _model(net: Network) -> nn.Module:
    return net.model if isinstance(net, Predictor) else net


def _name(net: Network) -> str:
    return net.name if isinstance(net, Predictor) else type(net).__name__.lower()


def _quantise(images: np.ndarray) -> np.ndarray:
    """Onto the 0-255 grey levels the page shows, so the verdict is on exactly what is shown."""
    return (grey_levels(images) / 255).astype(np.float32)


def _judge(net: Network, images: list[np.ndarray]) -> list[Prediction]:
    """The network's answers for 28x28 images: the Predictor's own (with its verdict), or a bare model's softmax."""
    if isinstance(net, Predictor):
        return net.predict_arrays(images)
    with torch.inference_mode():
        x = torch.from_numpy(np.stack(images)).unsqueeze(1).to(device_of(net))
        probs = torch.softmax(net(x).float(), 1).cpu()
    conf, digit = probs.max(1)
    return [
        Prediction(int(d), float(c), p.tolist(), im) for d, c, p, im in zip(digit, conf, probs, images, strict=True)
    ]
