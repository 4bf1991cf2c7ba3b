"""Plot test accuracy against training seconds, one line per recipe, from time_to_accuracy's --json files.

python -m benchmarks.plot_time_to_accuracy runs/*.json --out docs/time_to_accuracy.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", help="JSON files written by benchmarks.time_to_accuracy --json")
    p.add_argument("--out", default="docs/time_to_accuracy.png")
    a = p.parse_args()
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    for i, path in enumerate(a.runs):
        record = json.loads(Path(path).read_text())
        for j, run in enumerate(record["runs"]):
            seconds, test = [q["seconds"] for q in run["points"]], [100 * q["test"] for q in run["points"]]
            label = record["label"] if j == 0 else None  # one legend entry per recipe, not per seed
            ax.plot(seconds, test, marker="o", ms=3, color=f"C{i}", alpha=0.85, label=label)
    target = 100 * record["target"]
    ax.axhline(target, color="grey", ls="--", lw=1)
    ax.axvline(120, color="grey", ls=":", lw=1)
    ax.text(121, target + 0.02, f"{target:.1f}% in 120 s", color="grey", fontsize=8)
    ax.set(
        xlabel="training seconds (evaluation excluded)",
        ylabel="MNIST test accuracy (%)",
        ylim=(98.8, 99.8),
        title=f"Time to accuracy, {record['device']} ({record['threads']} threads, {record['machine']})",
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(a.out)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
