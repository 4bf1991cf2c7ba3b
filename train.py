"""Train a digitnet model on MNIST and write weights/<model>.safetensors plus a JSON beside it.

    python train.py --model cnn          (MNIST downloads into ./data; DIGITNET_DATA or --data-dir: another folder)

How each model is trained is its Recipe in digitnet/lab/recipes.py; the flags below override its fields.
From Python: `train.run(dataclasses.replace(RECIPES["cnn"], epochs=2))`.

Everything is seeded; the whole dataset lives as one tensor on the device and
batches are sliced by index (no per-sample Python in the hot loop).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import math
import os
import platform
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from digitnet import models, weightfiles
from digitnet.device import pick_device
from digitnet.generative import ClassVAE
from digitnet.lab.data import load_mnist, to_float, train_val_split
from digitnet.lab.recipes import RECIPES, Recipe


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random small affine transforms (rotate +-10 deg, scale +-10%, shift +-2 px), batched on the device."""
    n, dev = x.shape[0], x.device
    u = torch.rand(n, 4, generator=gen, device=dev) * 2 - 1
    angle, scale = u[:, 0] * math.radians(10), 1 + 0.1 * u[:, 1]
    shift = u[:, 2:] * (2 * 2 / 28)  # 2 px in affine_grid's [-1, 1] coordinates
    cos, sin = angle.cos() / scale, angle.sin() / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False)


def make_optimizer(model: nn.Module, recipe: Recipe, steps: int):
    if recipe.optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=recipe.lr, momentum=0.9)
    else:
        opt = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=5e-4)
    if recipe.schedule == "onecycle":
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=recipe.lr, total_steps=steps, pct_start=0.25)
    else:
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)
    return opt, sched


def step(
    model: nn.Module,
    opt: torch.optim.Optimizer,
    xb: torch.Tensor,
    yb: torch.Tensor,
    recipe: Recipe,
    fmt: torch.memory_format = torch.channels_last,
    soft: torch.Tensor | None = None,
) -> torch.Tensor:
    """One optimiser step on a prepared batch: the first len(yb) images are digits labelled yb (and, with `soft`,
    the teachers' probabilities for them), any after them outliers trained toward the uniform distribution.
    Returns the loss."""
    if _kind(recipe).generative:
        return generative_step(model, opt, xb, yb, recipe)
    with torch.autocast(xb.device.type, dtype=torch.bfloat16, enabled=recipe.bf16):
        logits = model(xb.contiguous(memory_format=fmt) if xb.dim() == 4 else xb).float()
    loss = F.cross_entropy(logits[: len(yb)], yb, label_smoothing=recipe.label_smoothing)
    if soft is not None:
        taught = -(soft * F.log_softmax(logits[: len(yb)], 1)).sum(1).mean()
        loss = (1 - recipe.distill) * loss + recipe.distill * taught
    if len(xb) > len(yb):
        loss = loss + recipe.oe_weight * -F.log_softmax(logits[len(yb) :], 1).mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss


def generative_step(
    model: ClassVAE, opt: torch.optim.Optimizer, xb: torch.Tensor, yb: torch.Tensor, recipe: Recipe
) -> torch.Tensor:
    """One optimiser step of the generative classifier: -ELBO of the true digit + recipe.ce_weight x the
    cross-entropy of Bayes' rule over the ten ELBOs, per pixel. Returns the loss."""
    with torch.autocast(xb.device.type, dtype=torch.bfloat16, enabled=recipe.bf16):
        loss = model.loss(xb, yb, recipe.ce_weight)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss


@torch.no_grad()
def teach(teachers: list[nn.Module], xb: torch.Tensor, recipe: Recipe) -> torch.Tensor:
    """The teachers' averaged probabilities for a batch."""
    with torch.autocast(xb.device.type, dtype=torch.bfloat16, enabled=recipe.bf16):
        xb = xb.contiguous(memory_format=torch.channels_last)
        return torch.stack([t(xb).float().softmax(1) for t in teachers]).mean(0)


def train_epoch(
    model,
    opt,
    sched,
    x,
    y,
    recipe: Recipe,
    gen,
    epoch: int,
    outliers=None,
    strokes=None,
    quiet: bool = False,
    teachers: list[nn.Module] | None = None,
) -> float:
    """One pass over (x, y) in shuffled batches; returns the mean training loss.

    `outliers`: non-digits trained toward the uniform distribution. `strokes`: the same digits as `x`
    re-drawn with straight strokes, swapped in for a random `recipe.stroke_share` of each batch. `teachers`:
    networks whose averaged probabilities on each augmented batch weigh `recipe.distill` in the digits' loss.
    """
    model.train()
    perm = torch.randperm(len(x), generator=gen, device=x.device)
    steps = len(x) // recipe.batch_size  # drop the ragged last batch
    total, bar = 0.0, tqdm(range(steps), desc=f"epoch {epoch}", leave=False, disable=quiet)
    for i in bar:
        idx = perm[i * recipe.batch_size : (i + 1) * recipe.batch_size]
        xb, yb = x[idx], y[idx]
        if strokes is not None:
            swap = torch.rand(len(idx), generator=gen, device=x.device) < recipe.stroke_share
            xb = torch.where(swap[:, None, None, None], strokes[idx], xb)
        if outliers is not None:
            oidx = torch.randint(len(outliers), (recipe.batch_size // 2,), generator=gen, device=x.device)
            xb = torch.cat([xb, outliers[oidx]])
        if recipe.augment:
            xb = augment(xb, gen)
        soft = teach(teachers, xb[: len(yb)], recipe) if teachers else None
        loss = step(model, opt, xb, yb, recipe, soft=soft)
        sched.step()
        total += loss.item()
        if i % 50 == 0:
            bar.set_postfix(loss=f"{total / (i + 1):.4f}")
    return total / max(steps, 1)


@torch.inference_mode()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000) -> float:
    """Accuracy of `model` on float images `x` with labels `y`."""
    model.eval()
    correct = sum((model(x[i : i + batch_size]).argmax(1) == y[i : i + batch_size]).sum().item()
                  for i in range(0, len(x), batch_size))  # fmt: skip
    return correct / len(x)


@dataclass
class Data:
    """What one training run reads, as float images and labels on the device."""

    xtr: torch.Tensor
    ytr: torch.Tensor
    xval: torch.Tensor
    yval: torch.Tensor
    xte: torch.Tensor
    yte: torch.Tensor
    strokes: torch.Tensor | None  # xtr re-drawn with straight strokes (when recipe.stroke_share > 0)
    outliers: torch.Tensor | None  # non-digits for outlier exposure (when recipe.outlier_exposure)


def load_data(recipe: Recipe, device: torch.device, data_dir: str | None = None, visitors=None) -> Data:
    """The training (first `recipe.limit`), validation and test splits, plus the recipe's strokes and outliers.
    `visitors` (lab/visitors.Drawings): their digits join the training set, their non-digits the outliers."""
    (xtr, ytr), (xval, yval) = train_val_split(data_dir)
    xte, yte = load_mnist(train=False, root=data_dir)
    if recipe.limit:
        xtr, ytr = xtr[: recipe.limit], ytr[: recipe.limit]
    if visitors is not None:
        digits = visitors.y >= 0
        xtr, ytr = torch.cat([xtr, visitors.x[digits]]), torch.cat([ytr, visitors.y[digits]])
    strokes = None
    if recipe.stroke_share > 0:
        from digitnet.lab.strokes import stroke_digits

        t0 = time.perf_counter()
        strokes = to_float(stroke_digits(xtr, seed=recipe.seed)).to(device)
        print(f"re-drew {len(strokes):,} digits with straight strokes in {time.perf_counter() - t0:.0f}s", flush=True)
    xtr, xval, xte = (to_float(t).to(device) for t in (xtr, xval, xte))
    ytr, yval, yte = ytr.to(device), yval.to(device), yte.to(device)
    outliers = None
    if recipe.outlier_exposure:
        from digitnet.lab.probes import training_outliers

        outliers = to_float(training_outliers(seed=recipe.seed)).to(device)
        if visitors is not None and (visitors.y < 0).any():
            outliers = torch.cat([outliers, to_float(visitors.x[visitors.y < 0]).to(device)])
    return Data(xtr, ytr, xval, yval, xte, yte, strokes, outliers)


def prepare(recipe: Recipe, device: torch.device, data_dir: str | None = None, visitors=None):
    """Seeded from the recipe: the data, a freshly initialised model, its optimizer and schedule over all
    `recipe.epochs`, and the generator that draws the batches, augmentation, stroke swaps and outliers."""
    torch.manual_seed(recipe.seed)
    data = load_data(recipe, device, data_dir, visitors)
    model = recipe.build().to(device)
    if models.ARCHITECTURES[recipe.architecture].channels_last:
        model = model.to(memory_format=torch.channels_last)
    gen = torch.Generator(device=device).manual_seed(recipe.seed)
    opt, sched = make_optimizer(model, recipe, recipe.epochs * (len(data.xtr) // recipe.batch_size))
    return data, model, opt, sched, gen


def run(
    recipe: Recipe,
    device: str | None = "auto",
    data_dir: str | None = None,
    out: str | Path = models.WEIGHTS_DIR,
    calibrate: bool = True,
    quiet: bool = False,
    threads: int | None = None,
    command: str | None = None,
    teachers: list[str | Path] | None = None,
    visitors: str | Path | None = None,
) -> dict:
    """Train `recipe`, write <out>/<recipe.model>.safetensors and its JSON, and return that JSON's content.

    Calibration ("not a digit" scores) is fitted unless `calibrate` is False or the recipe has a `limit`.
    `command`: recorded in the JSON (default: the train.py command line that reproduces the recipe).
    `teachers`: CNN weights files for a recipe with `distill` > 0 (recorded in the JSON with their SHA-256).
    `visitors`: visitors' drawings (a store or its export, docs/visitors.md) added to the training data: digits
    to the digits, "not a digit" to the outliers when the recipe has outlier exposure (recorded in the JSON).
    """
    if bool(teachers) != (recipe.distill > 0):
        raise ValueError(
            f"{recipe.model} has distill {recipe.distill} and {len(teachers or [])} teachers: distilling needs both "
            "(--distill W --teachers FILE [FILE ...]), training from the labels alone neither"
        )
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=True)
    if threads:
        torch.set_num_threads(threads)
    device = pick_device(device)
    if recipe.bf16 and device.type == "cpu" and not _cpu_has_bf16():
        print("note: this CPU has no bfloat16 instructions (AVX512-BF16 or AMX), so --bf16 is emulated and may be")
        print("      slower than float32; --no-bf16 trains in float32 (the weights then differ from the shipped ones)")
    taught = [models.load_cnn(p).to(device, memory_format=torch.channels_last) for p in teachers or []]
    extra = None
    if visitors is not None:
        from digitnet.lab.visitors import load as load_visitors

        extra = load_visitors(visitors)
        digits, others = int((extra.y >= 0).sum()), int((extra.y < 0).sum())
        used = others if recipe.outlier_exposure else 0
        print(f"visitors' drawings from {visitors}: {digits} digits added to the training set, {used} of {others} "
              "non-digits to the outliers" + ("" if recipe.outlier_exposure else " (the recipe has none)"))  # fmt: skip
    data, model, opt, sched, gen = prepare(recipe, device, data_dir, extra)
    print(f"{recipe.model}: {models.n_params(model):,} parameters, {len(data.xtr):,} training images, device {device}")

    t0, history = time.perf_counter(), []
    for epoch in range(1, recipe.epochs + 1):
        te = time.perf_counter()
        loss = train_epoch(
            model, opt, sched, data.xtr, data.ytr, recipe, gen, epoch, data.outliers, data.strokes, quiet, taught
        )
        val_acc = evaluate(model, data.xval, data.yval)
        seconds = round(time.perf_counter() - te, 2)
        history.append(dict(epoch=epoch, loss=round(loss, 5), val_acc=val_acc, seconds=seconds))
        print(f"epoch {epoch:2d}  loss {loss:.4f}  val {val_acc:.2%}  {history[-1]['seconds']:.1f}s", flush=True)
    train_seconds = time.perf_counter() - t0
    test_acc = evaluate(model, data.xte, data.yte)

    meta = dict(
        model=recipe.model,
        architecture=type(model).__name__,
        description=models.describe(recipe.model),
        hyperparameters=recipe.hyperparameters(),
        outlier_exposure=recipe.outlier_exposure,
        test_accuracy=test_acc,
        val_accuracy=history[-1]["val_acc"] if history else None,
        parameters=models.n_params(model),
        train_seconds=round(train_seconds, 1),
        history=history,
        device=str(device),
        cpu_threads=torch.get_num_threads(),
        machine=f"{platform.machine()} {platform.processor() or ''}".strip(),
        torch=torch.__version__,
        date=datetime.now(UTC).isoformat(timespec="seconds"),
        command=command if command is not None else command_line(recipe, teachers),
    )
    if extra is not None:
        meta["visitors"] = {"path": str(visitors), "digits": digits, "non_digits": used, "ids": list(extra.ids)}
    if teachers:
        meta["teachers"] = [{"file": str(p), "sha256": _sha256(p)} for p in teachers]
    out = Path(out) / f"{recipe.model}.safetensors"
    weightfiles.save(model.to(memory_format=torch.contiguous_format), out, meta)
    if calibrate and not recipe.limit and _kind(recipe).generative:
        from digitnet.lab.calibrate_generative import calibrate as fit_verdict

        meta.update(fit_verdict(model, data.xval, data.yval, out))
        weightfiles.write_record(out, meta)
    elif calibrate and not recipe.limit:
        from digitnet.lab.calibrate import calibrate as fit_calibration

        meta.update(fit_calibration(model, data.xtr, data.ytr, data.xval, data.yval, out))
        weightfiles.write_record(out, meta)
    elif weightfiles.calibration_path(out).is_file():
        print(
            f"note: {weightfiles.calibration_path(out)} was fitted on the previous weights; the app refuses to start "
            f"with it until `{models.calibrate_command(recipe.model)}` re-creates it"
        )
    print(f"{recipe.model}: test accuracy {test_acc:.2%}, {train_seconds:.0f}s training on {device}; wrote {out}")
    return meta


def _kind(recipe: Recipe) -> models.Kind:
    return models.ARCHITECTURES[recipe.architecture].kind


def _sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _cpu_has_bf16() -> bool:
    """AVX512-BF16 or AMX, by torch's private checks (a torch without them: assume yes and stay quiet)."""
    avx512_bf16 = getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True)
    amx = getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    return bool(avx512_bf16() or amx())


# Recipe fields with a command-line flag (--batch-size sets batch_size, ...); the others only change in recipes.py.
FLAGS = (
    "epochs", "batch_size", "lr", "seed", "limit", "label_smoothing", "stroke_share", "oe_weight", "width", "bf16",
    "distill", "ce_weight",
)  # fmt: skip


def _flag(name: str, value) -> str:
    flag = name.replace("_", "-")
    if isinstance(value, bool):
        return f" --{flag}" if value else f" --no-{flag}"
    return f" --{flag} {value}"


def command_line(recipe: Recipe, teachers: list[str | Path] | None = None) -> str | None:
    """The train.py command that trains `recipe` from `teachers` (None when no flags can express it)."""
    base = RECIPES.get(recipe.model)
    if base is None:
        return None
    changed = [f.name for f in dataclasses.fields(Recipe) if getattr(recipe, f.name) != getattr(base, f.name)]
    if any(name not in FLAGS for name in changed):
        return None
    flags = "".join(_flag(name, getattr(recipe, name)) for name in changed)
    flags += "".join(f" {p}" for p in ["--teachers", *teachers]) if teachers else ""
    return f"python train.py --model {recipe.model}{flags}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=list(RECIPES), default="cnn")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, mps")
    p.add_argument("--data-dir", help="MNIST folder (default: $DIGITNET_DATA, else ./data)")
    p.add_argument("--out", default=str(models.WEIGHTS_DIR), help="folder for <model>.safetensors and .json")
    p.add_argument("--limit", type=int, help="train on only the first N training images (quick experiments)")
    p.add_argument("--label-smoothing", type=float)
    p.add_argument("--stroke-share", type=float, help="share of digits shown re-drawn with straight strokes")
    p.add_argument("--oe-weight", type=float, help="weight of the outliers' loss (outlier exposure)")
    p.add_argument("--width", type=int, help="channels of the CNN's first layer")
    p.add_argument("--bf16", action=argparse.BooleanOptionalAction, help="bfloat16 autocast while training")
    p.add_argument("--distill", type=float, help="weight of the teachers' probabilities in the digits' loss")
    p.add_argument("--ce-weight", type=float, help="generative classifier: weight of Bayes' rule's cross-entropy")
    p.add_argument("--teachers", nargs="+", default=[], metavar="FILE", help="CNN weights files to distil from")
    p.add_argument("--visitors", metavar="PATH", help="add visitors' drawings (a store or its export) to the data")
    p.add_argument("--threads", type=int, help="CPU threads (default: torch's choice)")
    p.add_argument("--no-calibrate", action="store_true", help="skip fitting the out-of-distribution scores")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    overrides = {k: getattr(args, k) for k in FLAGS if getattr(args, k) is not None}
    recipe = dataclasses.replace(RECIPES[args.model], **overrides)
    return run(
        recipe,
        device=args.device,
        data_dir=args.data_dir,
        out=args.out,
        calibrate=not args.no_calibrate,
        quiet=args.quiet,
        threads=args.threads,
        command="python train.py " + " ".join(argv),
        teachers=args.teachers,
        visitors=args.visitors,
    )


if __name__ == "__main__":
    main()
