"""Train a digitnet model on MNIST and write weights/<model>.safetensors plus a JSON beside it.

    DIGITNET_DATA=../shared/data python train.py --model cnn

Everything is seeded; the whole dataset lives as one tensor on the device and
batches are sliced by index (no per-sample Python in the hot loop).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from digitnet import models
from digitnet.data import load_mnist, to_float, train_val_split
from digitnet.device import pick_device

# Per-model defaults; every one can be overridden from the command line.
DEFAULTS = {
    # The PyTorch tutorial network: plain SGD, no augmentation, no schedule.
    # Its seed is the best of seeds 1-5 by validation accuracy (docs/benchmarks.md lists all five).
    "mlp": dict(epochs=15, batch_size=64, lr=0.003, optimizer="sgd", augment=False, schedule="constant", seed=3,
                stroke_share=0.0),
    "cnn": dict(epochs=16, batch_size=128, lr=0.004, optimizer="adamw", augment=True, schedule="onecycle", seed=1,
                stroke_share=0.0),
    # 12 epochs, not 16: each OE epoch costs 1.5x (outliers ride along) and it had to train on 2 shared cores.
    # stroke_share: that share of digits is shown re-drawn with straight pen strokes (digitnet/strokes.py);
    # without it the OE network learns "pen-drawn lines are not digits" and declines mouse-drawn digits.
    "cnn_oe": dict(epochs=12, batch_size=128, lr=0.004, optimizer="adamw", augment=True, schedule="onecycle", seed=1,
                   stroke_share=0.3),
}  # fmt: skip
HYPERPARAMETERS = (
    "epochs", "batch_size", "lr", "optimizer", "schedule", "augment", "label_smoothing", "stroke_share", "seed",
    "limit",
)  # fmt: skip
OE_WEIGHT = 0.5  # Hendrycks et al. 2019: loss += 0.5 * CE(outliers, uniform)


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


def make_optimizer(model: nn.Module, args: argparse.Namespace, steps: int):
    if args.optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    else:
        opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=5e-4)
    if args.schedule == "onecycle":
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps, pct_start=0.25)
    else:
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)
    return opt, sched


def train_epoch(model, opt, sched, x, y, args, gen, epoch: int, outliers=None, strokes=None) -> float:
    """One pass over (x, y) in shuffled batches; returns the mean training loss.

    `outliers`: non-digits trained toward the uniform distribution. `strokes`: the same digits as `x`
    re-drawn with straight strokes, swapped in for a random `args.stroke_share` of each batch.
    """
    model.train()
    perm = torch.randperm(len(x), generator=gen, device=x.device)
    steps = len(x) // args.batch_size  # drop the ragged last batch
    total, bar = 0.0, tqdm(range(steps), desc=f"epoch {epoch}", leave=False, disable=args.quiet)
    for i in bar:
        idx = perm[i * args.batch_size : (i + 1) * args.batch_size]
        xb, yb = x[idx], y[idx]
        if strokes is not None:
            swap = torch.rand(len(idx), generator=gen, device=x.device) < args.stroke_share
            xb = torch.where(swap[:, None, None, None], strokes[idx], xb)
        if outliers is not None:
            oidx = torch.randint(len(outliers), (args.batch_size // 2,), generator=gen, device=x.device)
            xb = torch.cat([xb, outliers[oidx]])
        if args.augment:
            xb = augment(xb, gen)
        logits = model(xb.contiguous(memory_format=torch.channels_last) if xb.dim() == 4 else xb)
        loss = F.cross_entropy(logits[: len(yb)], yb, label_smoothing=args.label_smoothing)
        if outliers is not None:
            loss = loss + OE_WEIGHT * -F.log_softmax(logits[len(yb) :], 1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
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


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=list(models.ARCHITECTURES), default="cnn")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, mps")
    p.add_argument("--data-dir", help="MNIST folder (default: $DIGITNET_DATA, else ./data)")
    p.add_argument("--out", default=str(models.WEIGHTS_DIR), help="folder for <model>.safetensors and .json")
    p.add_argument("--limit", type=int, help="train on only the first N training images (quick experiments)")
    p.add_argument("--label-smoothing", type=float, default=0.0)
    p.add_argument("--stroke-share", type=float, help="share of digits shown re-drawn with straight strokes")
    p.add_argument("--threads", type=int, help="CPU threads (default: torch's choice)")
    p.add_argument("--no-calibrate", action="store_true", help="skip fitting the out-of-distribution scores")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    args = p.parse_args(argv)
    for k, v in DEFAULTS[args.model].items():
        if getattr(args, k, None) is None:
            setattr(args, k, v)
    return args


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)

    (xtr, ytr), (xval, yval) = train_val_split(args.data_dir)
    xte, yte = load_mnist(train=False, root=args.data_dir)
    if args.limit:
        xtr, ytr = xtr[: args.limit], ytr[: args.limit]
    strokes = None
    if args.stroke_share > 0:
        from digitnet.strokes import stroke_digits

        t0 = time.perf_counter()
        strokes = to_float(stroke_digits(xtr, seed=args.seed)).to(device)
        print(f"re-drew {len(strokes):,} digits with straight strokes in {time.perf_counter() - t0:.0f}s", flush=True)
    xtr, xval, xte = (to_float(t).to(device) for t in (xtr, xval, xte))
    ytr, yval, yte = ytr.to(device), yval.to(device), yte.to(device)
    outliers = None
    if args.model == "cnn_oe":
        from digitnet.probes import training_outliers

        outliers = to_float(training_outliers(seed=args.seed)).to(device)

    model = models.build(args.model).to(device)
    if args.model != "mlp":
        model = model.to(memory_format=torch.channels_last)
    gen = torch.Generator(device=device).manual_seed(args.seed)
    opt, sched = make_optimizer(model, args, args.epochs * (len(xtr) // args.batch_size))
    print(f"{args.model}: {models.n_params(model):,} parameters, {len(xtr):,} training images, device {device}")

    t0, history = time.perf_counter(), []
    for epoch in range(1, args.epochs + 1):
        te = time.perf_counter()
        loss = train_epoch(model, opt, sched, xtr, ytr, args, gen, epoch, outliers, strokes)
        val_acc = evaluate(model, xval, yval)
        seconds = round(time.perf_counter() - te, 2)
        history.append(dict(epoch=epoch, loss=round(loss, 5), val_acc=val_acc, seconds=seconds))
        print(f"epoch {epoch:2d}  loss {loss:.4f}  val {val_acc:.2%}  {history[-1]['seconds']:.1f}s", flush=True)
    train_seconds = time.perf_counter() - t0
    test_acc = evaluate(model, xte, yte)

    meta = dict(
        model=args.model,
        architecture=type(model).__name__,
        description=models.DESCRIPTIONS[args.model],
        hyperparameters={k: getattr(args, k) for k in HYPERPARAMETERS},
        outlier_exposure=args.model == "cnn_oe",
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
        command="python train.py " + " ".join(argv if argv is not None else os.sys.argv[1:]),
    )
    out = Path(args.out) / f"{args.model}.safetensors"
    models.save(model.to(memory_format=torch.contiguous_format), out, meta)
    if not args.no_calibrate and not args.limit:
        from digitnet.ood import calibrate

        meta.update(calibrate(model, xtr, ytr, xval, yval, out))
        out.with_suffix(".json").write_text(__import__("json").dumps(meta, indent=2) + "\n")
    print(f"{args.model}: test accuracy {test_acc:.2%}, {train_seconds:.0f}s training on {device}; wrote {out}")
    return meta


if __name__ == "__main__":
    main()
