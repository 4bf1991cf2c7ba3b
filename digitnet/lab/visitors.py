"""Visitors' drawings in the lab: `python -m digitnet visitors export` and `python -m digitnet evaluate --visitors`.

Export renders each kept drawing with the server's own renderer (digitnet/drawing.py: the strokes at their pen
width, then preprocess_ink, as /draw does) into the lab's training format, a torch file of uint8 images N x 28 x 28
(as lab/data.load_mnist gives them) with labels (0-9, NOT_A_DIGIT = -1 for "not a digit") and the rows' uids, and
writes every row as JSON lines. Both read a store, or a folder of them (a dataset the app pushed shards to, as
huggingface_hub.snapshot_download gives it, or its local folder) as one set, each drawing once (visitors.read).
Evaluation runs every served network on them: accuracy on the visitors' digits, the share of their digits flagged
"not a digit", the share of their non-digits flagged, and the confusion, each figure with the count of rows behind
it.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from digitnet import drawing, models, settings, visitors

NOT_A_DIGIT = -1
FEW = 100  # below this many drawings a figure is called out as resting on few
DATA_FILE, LINES_FILE = "visitors.pt", "visitors.jsonl"


@dataclass
class Drawings:
    """Kept drawings as the networks see them."""

    x: torch.Tensor  # uint8 N x 28 x 28
    y: torch.Tensor  # int64 N: 0-9, or NOT_A_DIGIT
    ids: list[str]  # N: the rows' uids (the same in every copy of the store; an older export: their numbers)
    skipped: int = 0  # rows whose strokes leave no ink (none the endpoint keeps)

    def save(self, path: str | Path) -> None:
        torch.save({"x": self.x, "y": self.y, "ids": list(self.ids)}, path)

    @classmethod
    def load(cls, path: str | Path) -> Drawings:
        d = torch.load(path, weights_only=True)
        ids = d["ids"].tolist() if isinstance(d["ids"], torch.Tensor) else d["ids"]
        return cls(d["x"], d["y"], [str(i) for i in ids])


def label_number(label: str) -> int:
    return NOT_A_DIGIT if label == visitors.NOT_A_DIGIT else int(label)


def render(row: visitors.Row) -> np.ndarray | None:
    """A row's strokes -> the 28x28 input (float in [0, 1]) the server computed for them, or None without ink:
    /draw's own path, its checks included."""
    return drawing.to_input({"strokes": row.strokes, "width": row.width})


def drawings(rows: list[visitors.Row]) -> Drawings:
    images, labels, ids, skipped = [], [], [], 0
    for row in rows:
        x = render(row)
        if x is None:
            skipped += 1
            continue
        images.append(np.round(x * 255).astype(np.uint8))
        labels.append(label_number(row.label))
        ids.append(row.uid)
    x = torch.from_numpy(np.stack(images)) if images else torch.zeros((0, 28, 28), dtype=torch.uint8)
    return Drawings(x, torch.tensor(labels, dtype=torch.int64), ids, skipped)


def load(path: str | Path) -> Drawings:
    """Drawings from a store file, a folder of them (a store's, a dataset of shards), or an exported visitors.pt."""
    path = Path(path)
    if path.suffix == ".pt" or (path / DATA_FILE).exists() and not visitors.files(path):
        return Drawings.load(path if path.suffix == ".pt" else path / DATA_FILE)
    return drawings(list(visitors.read(path)))


def export(store: str | Path, out: str | Path) -> tuple[Path, Path, Drawings]:
    """Write visitors.pt (the lab's format) and visitors.jsonl (every row, each uid once) into folder `out`, from a
    store or a folder of them (visitors.read)."""
    rows = list(visitors.read(store))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data = drawings(rows)
    data.save(out / DATA_FILE)
    with open(out / LINES_FILE, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row.to_dict(), separators=(",", ":")) + "\n")
    return out / DATA_FILE, out / LINES_FILE, data


def share(k: int, n: int) -> str:
    return f"{k / n:.1%} ({k}/{n})" if n else "- (0 drawings)"


def figures(probs: torch.Tensor, flags: list[bool | None], y: torch.Tensor) -> dict:
    """One network's figures on the drawings: counts, so that every share can be checked."""
    pred = probs.argmax(1)
    digit = y >= 0
    flagged = torch.tensor([bool(f) for f in flags], dtype=torch.bool) if len(flags) else torch.zeros(0, dtype=bool)
    has_verdict = bool(flags) and flags[0] is not None
    confusion = torch.zeros(11, 10, dtype=torch.int64)  # rows: 0-9, then "not a digit"; columns: the digit said
    rows = torch.where(digit, y, torch.full_like(y, 10))
    confusion.index_put_((rows, pred), torch.ones_like(y), accumulate=True)
    return {
        "digits": int(digit.sum()),
        "correct": int((pred[digit] == y[digit]).sum()),
        "non_digits": int((~digit).sum()),
        "verdict": has_verdict,
        "digits_flagged": int(flagged[digit].sum()) if has_verdict else None,
        "non_digits_flagged": int(flagged[~digit].sum()) if has_verdict else None,
        "confusion": confusion.tolist(),
    }


def evaluate(data: Drawings, names: list[str] | None = None, device: str | None = None) -> dict[str, dict]:
    from digitnet.lab.data import to_float
    from digitnet.predict import Predictor

    out = {}
    for name in names or models.available(required=True):
        p = Predictor(name, device)
        probs, flags, _ = p.scored(to_float(data.x)) if len(data.x) else (torch.zeros(0, 10), [], [])
        out[name] = figures(probs, flags, data.y)
    return out


def table(results: dict[str, dict], n: int) -> str:
    """The figures as a markdown table, with a warning when they rest on few drawings."""
    lines = [
        "| network | accuracy on visitors' digits | their digits flagged 'not a digit' | their non-digits flagged |",
        "|---|---|---|---|",
    ]
    for name, r in results.items():
        flagged = (share(r["digits_flagged"], r["digits"]), share(r["non_digits_flagged"], r["non_digits"]))
        flagged = flagged if r["verdict"] else ("no verdict", "no verdict")
        lines.append(f"| {name} | {share(r['correct'], r['digits'])} | {flagged[0]} | {flagged[1]} |")
    if n < FEW:
        lines.append(f"\nThese figures rest on few drawings ({n}; under {FEW}): read them as anecdotes, not rates.")
    return "\n".join(lines)


def confusion_text(r: dict) -> str:
    head = "true \\ said " + "".join(f"{d:>5d}" for d in range(10))
    rows = [f"{(str(d) if d < 10 else 'not a digit'):>12s}" + "".join(f"{v:>5d}" for v in row)
            for d, row in enumerate(r["confusion"])]  # fmt: skip
    return "\n".join([head, *rows])


def report_section(path: str | Path, device: str | None = None) -> str:
    """The report's section on visitors' drawings (`evaluate --ood --visitors PATH`): the table, with its warning
    when the figures rest on few drawings."""
    data = load(path)
    head = (f"## Visitors' drawings\n\n{len(data.y)} drawings kept by the app's 'Is that right?' "
            f"({int((data.y >= 0).sum())} digits, {int((data.y < 0).sum())} not digits) from {path}:\n\n")  # fmt: skip
    return head + table(evaluate(data, None, device), len(data.y))


def main_evaluate(args: argparse.Namespace) -> int:
    try:
        data = load(args.visitors)
    except (visitors.StoreError, OSError) as e:
        print(f"error: {e}")
        return 2
    results = evaluate(data, None, args.device)
    print(f"visitors' drawings: {len(data.y)} ({int((data.y >= 0).sum())} digits, "
          f"{int((data.y < 0).sum())} not digits) from {args.visitors}")  # fmt: skip
    print(table(results, len(data.y)))
    for name, r in results.items():
        print(f"\n{name}: confusion (rows: what the visitor drew, columns: the digit the network said)")
        print(confusion_text(r))
    if args.json:
        Path(args.json).write_text(json.dumps({"n": len(data.y), "networks": results}, indent=1))
    return 0


def main_export(args: argparse.Namespace) -> int:
    try:
        data_path, lines_path, data = export(args.store or settings.visitors_dir(os.environ) or ".", args.out)
    except (visitors.StoreError, OSError) as e:
        print(f"error: {e}")
        return 2
    print(f"{len(data.y)} drawings -> {data_path} (uint8 28x28, labels 0-9 and {NOT_A_DIGIT} = not a digit); "
          f"every row -> {lines_path}" + (f"; {data.skipped} without ink skipped" if data.skipped else ""))  # fmt: skip
    return 0


def main_merge(args: argparse.Namespace) -> int:
    try:
        n = visitors.merge(args.store, args.out)
    except (visitors.StoreError, OSError) as e:
        print(f"error: {e}")
        return 2
    print(f"{n} drawings from {len(visitors.files(args.store))} store files -> {args.out}")
    return 0
