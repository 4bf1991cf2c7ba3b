"""How long a dream grid and a fooling attempt take per network, and what they reach.

    .venv/bin/python -m benchmarks.explore_speed [--runs 3] [--digits 20]

One torch thread on the CPU, as the app runs each request there (--device cuda for a GPU). Times: one grid of ten
dreams (plain and regularised), median of --runs after a warm-up call; one fooling attempt, median and max over
--digits MNIST test digits, each with a seeded random target other than its label; each as wall and CPU seconds
(CPU time barely grows when other processes share the cores, wall time does). Outcomes: the lowest
confidence over the ten dreams and how many of them the network's verdict flags as "not a digit"; the share of
fooling attempts that reach >= 99%, the mean change (L2, L-inf, pixels changed out of 784) and the share of
fooled images the verdict flags.

Run with the defaults, it writes its tables into docs/benchmarks.md (the generated sections explore-run,
explore-speed and explore-outcomes).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from digitnet import explore, models
from digitnet.lab.data import load_mnist
from digitnet.lab.docs import write_section
from digitnet.lab.exploring import flagged, fool_cases, mean
from digitnet.lab.serving import machine
from digitnet.predict import Predictor

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
COMMAND = "python -m benchmarks.explore_speed"
DEFAULTS = {"runs": 3, "digits": 20, "device": "cpu"}


def timed(fn) -> tuple[float, float, object]:
    """Wall and CPU seconds of one call (CPU time barely grows when other processes share the cores), its result."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t0, time.process_time() - c0, out


def seconds(fn, runs: int) -> tuple[str, object]:
    """ "wall / CPU" median seconds of `runs` calls after one warm-up call, and the last result."""
    fn()
    wall, cpu, outs = zip(*(timed(fn) for _ in range(runs)), strict=True)
    return f"{statistics.median(wall):.2f} / {statistics.median(cpu):.2f}", outs[-1]


def fooling(p: Predictor, cases: list[tuple[np.ndarray, int]]) -> tuple[str, list[explore.FoolResult]]:
    """ "wall / CPU" median and "wall / CPU" max seconds over the cases, and the results."""
    wall, cpu, results = zip(*(timed(lambda c=c: explore.fool(p, *c)) for c in cases), strict=True)
    for r in results:
        check = p.predict_arrays([r.image])[0]  # the same network, as the page would ask it
        assert not r.success or (check.digit == r.target and check.probabilities[r.target] >= 0.99)
    times = f"{statistics.median(wall):.2f} / {statistics.median(cpu):.2f} | {max(wall):.2f} / {max(cpu):.2f}"
    return times, list(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for flag, default in DEFAULTS.items():
        parser.add_argument(f"--{flag}", type=type(default), default=default)
    args = parser.parse_args()
    torch.set_num_threads(1)
    x, y = load_mnist(train=False)
    cases = fool_cases(x, y, args.digits, seed=0)
    run = f"{machine()}; torch {torch.__version__}, {torch.get_num_threads()} thread, device {args.device}"
    print(f"machine: {run}")
    speed, outcome = [], []
    for name in models.available(required=True):
        p = Predictor(name, args.device)
        t_plain, plain = seconds(lambda p=p: explore.dream(p), args.runs)
        t_reg, reg = seconds(lambda p=p: explore.dream(p, regularised=True), args.runs)
        t_fool, fooled = fooling(p, cases)
        ok = [r for r in fooled if r.success]
        speed.append(f"| {name} | {t_plain} | {t_reg} | {t_fool} |")
        outcome.append(
            f"| {name} | {100 * plain.min_confidence:.3f}% | {flagged([d.prediction for d in plain.dreams])} "
            f"| {100 * reg.min_confidence:.1f}% | {flagged([d.prediction for d in reg.dreams])} "
            f"| {len(ok)}/{len(fooled)} | {mean(r.l2 for r in ok):.2f} | {mean(r.linf for r in ok):.2f} "
            f"| {mean(r.pixels_changed for r in ok):.0f} | {100 * mean(r.confidence for r in ok):.2f}% "
            f"| {flagged([r.after for r in ok])} | {flagged([r.before for r in fooled])} |"
        )
        print(f"{name} done", flush=True)
    run += f"; load average at the end {os.getloadavg()[0]:.2f}"
    speed_table = "\n".join(
        ["| model | plain grid | regularised grid | fool, median | fool, max |", "|---|---|---|---|---|", *speed]
    )
    outcome_table = "\n".join(
        [
            "| model | plain: min confidence | plain: flagged | regularised: min confidence | regularised: flagged "
            "| fooled | mean L2 | mean L-inf | mean pixels changed | mean confidence | fooled: flagged "
            "| originals: flagged |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
            *outcome,
        ]
    )
    print(f"\nseconds, wall / CPU of this process:\n\n{speed_table}\n\n{outcome_table}\n\n{run}")
    if vars(args) == DEFAULTS:
        sections = {"explore-run": run, "explore-speed": speed_table, "explore-outcomes": outcome_table}
        for section, body in sections.items():
            write_section(DOC, section, body, COMMAND)
        print(f"wrote the sections explore-run, explore-speed and explore-outcomes of {DOC}")


if __name__ == "__main__":
    main()
