"""Command line: `python -m digitnet predict IMAGE...` (the runtime alone), and `evaluate` / `calibrate`, which
load the training and evaluation code in digitnet.lab (requirements-dev.txt) only when they run."""

from __future__ import annotations

import argparse
import json
import sys

from digitnet import models, weightfiles
from digitnet.predict import Predictor
from digitnet.preprocess import InputError


def cmd_predict(args: argparse.Namespace) -> int:
    predictor = Predictor(args.model, args.device)
    failed = 0
    if not args.json:
        print(f"{'file':40s} {'digit':>5s} {'confidence':>10s}")
    for path in args.images:
        try:
            p = predictor.predict(path)
        except (InputError, OSError) as e:
            failed += 1
            print(f"{path}: error: {e}", file=sys.stderr)
            continue
        if args.json:
            print(json.dumps({"file": path, **p.to_dict()}))
        elif p.empty:
            print(f"{path:40s} {'-':>5s} {'nothing drawn':>10s}")
        else:
            flag = "  (probably not a digit)" if p.not_a_digit else ""
            print(f"{path:40s} {p.digit:>5d} {p.confidence:>10.1%}{flag}")
    return 1 if failed else 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    if args.visitors and not args.ood:
        from digitnet.lab import visitors

        return visitors.main_evaluate(args)
    if args.ood:
        from digitnet.lab import report

        return report.main(args)
    from digitnet.lab import evaluate

    return evaluate.main(args)


def cmd_calibrate(args: argparse.Namespace) -> int:
    if models.kind(args.model).generative:  # its verdict comes from its own scores (digitnet/generative.py)
        from digitnet.lab import calibrate_generative

        s = calibrate_generative.calibrate_shipped(args.model, args.data_dir)
    else:
        from digitnet.lab import calibrate

        s = calibrate.calibrate_shipped(args.model, args.data_dir, args.device)
    path = weightfiles.calibration_path(models.weights_path(args.model))
    print(
        f"{args.model}: temperature {s['temperature']:.3f}; verdict by {s['score']} at {s['threshold']:.4g} "
        f"(flags {s['val_flagged']:.1%} of validation digits); wrote {path}"
    )
    return 0


def cmd_visitors(args: argparse.Namespace) -> int:
    from digitnet.lab import visitors

    return visitors.main_merge(args) if args.action == "merge" else visitors.main_export(args)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m digitnet", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    pr = sub.add_parser("predict", help="classify image files")
    pr.add_argument("images", nargs="+")
    pr.add_argument("--json", action="store_true", help="one JSON object per line")
    ev = sub.add_parser("evaluate", help="accuracy and confusion matrix on the MNIST test set")
    ev.add_argument("--data-dir", help="MNIST folder (default: $DIGITNET_DATA, else ./data)")
    ev.add_argument("--ood", action="store_true", help="the out-of-distribution report for every model")
    ev.add_argument("--probe-n", type=int, help="--ood: images per probe family (default 1000)")
    ev.add_argument("--plots", help="--ood: folder for the PNG plots (default docs/)")
    ev.add_argument("--fool-n", type=int, help="--ood: MNIST test digits fooled per network (default 50)")
    ev.add_argument(
        "--visitors",
        metavar="PATH",
        help="every network on visitors' drawings (a store, a dataset's shards, or an export); --ood: in the report",
    )
    ev.add_argument("--json", metavar="FILE", help="--visitors: also write the figures as JSON")
    vi = sub.add_parser("visitors", help="visitors' drawings kept by the app's 'Is that right?' (docs/visitors.md)")
    vi_sub = vi.add_subparsers(dest="action", required=True)
    ex = vi_sub.add_parser("export", help="to the lab's training format (visitors.pt) and JSON lines")
    ex.add_argument("--store", help="a store's folder or file, or a dataset's folder of shards (default: where "
                    "the app keeps it)")  # fmt: skip
    ex.add_argument("--out", default="visitors_export", help="folder for visitors.pt and visitors.jsonl")
    me = vi_sub.add_parser("merge", help="a store or a dataset's shards into one new store file, each drawing once")
    me.add_argument("store", help="a store's folder or file, or a dataset's folder of shards")
    me.add_argument("--out", required=True, help="the new store file")
    ca = sub.add_parser("calibrate", help="fit temperature, feature density and the not-a-digit threshold")
    ca.add_argument("--data-dir", help="MNIST folder (default: $DIGITNET_DATA, else ./data)")
    for q in (pr, ev, ca):
        q.add_argument("--model", default="cnn", choices=list(models.NAMES))
        q.add_argument("--device", default=None, help="cpu, cuda, mps (default: the best available)")
    args = p.parse_args(argv)
    try:
        commands = dict(predict=cmd_predict, evaluate=cmd_evaluate, calibrate=cmd_calibrate, visitors=cmd_visitors)
        return commands[args.command](args)
    except weightfiles.WeightsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
