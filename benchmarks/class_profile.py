"""Where the server's time goes while a class draws (issue 27): py-spy samples the app's process while N visitors
(default 100) keep one live request each in flight (benchmarks/class_load.py), then the samples are summed per
function: self time (the function at the top of the stack) and total time (anywhere on it), as a share of samples.

    python -m benchmarks.class_profile [--how ws|http] [--visitors 100] [--seconds 20] [--top 15] [--raw DIR]
        [--no-write]

Profiles the app, then the no-network ceiling (benchmarks/noop_live_app.py), with the visitors on the pad's
WebSocket (--how ws, the default) or on the HTTP live function (--how http), and writes both into section
[class-profile-ws] or [class-profile-http] of docs/benchmarks.md.

py-spy (requirements-dev.txt) runs as a separate process and reads the server's memory without stopping it
(--nonblocking; blocking sampling, or --native, cut the server's rate from ~140 to 12 answers/s), so the server
runs nearly unchanged; it needs ptrace permission (root, or kernel.yama.ptrace_scope=0). Only the thread holding
the GIL is sampled (--gil): the server is one Python process whose event loop and worker threads share one GIL,
so that is where its one busy core goes (time inside torch's kernels, which release the GIL, is left out).
Each sample is also put in one area (AREAS: the innermost frame that names one).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.class_load import DOC, TRANSPORTS, _class, warmed
from digitnet.lab.docs import write_section
from digitnet.lab.serving import machine

# Each sample goes to the area of the innermost frame that names one (first match in this order for that frame).
AREAS = (
    ("the drawing rasterised and cleaned (drawing.to_input)", "to_input (digitnet/drawing.py)"),
    ("the network and its scores (Networks.predict)", "Networks.predict (digitnet/predict.py)"),
    ("the network and its scores (Networks.predict)", "Networks.predict_many (digitnet/predict.py)"),
    ("the answer's JSON (views.answer)", "digitnet/views.py"),
    ("the rest of `live` (checks, waiting for a slot)", "handlers.<locals>.live (digitnet/page.py)"),
    ("the batcher and the pad's connection (digitnet/live.py)", "digitnet/live.py"),
    ("websockets (frames)", "(websockets/"),
    ("the guard (digitnet/guard.py)", "digitnet/guard.py"),
    ("Gradio's route and middleware", "(gradio/"),
    ("FastAPI and Starlette", "(fastapi/"),
    ("FastAPI and Starlette", "(starlette/"),
    ("uvicorn and h11 (HTTP parsing)", "(uvicorn/"),
    ("uvicorn and h11 (HTTP parsing)", "(h11/"),
    ("anyio's hand-off to a worker thread", "(anyio/"),
    ("the asyncio event loop (sockets, wake-ups)", "(asyncio/"),
)
_FRAME = re.compile(r"^(?P<fn>.*?) \((?P<where>[^)]*)\)$")


def short(frame: str) -> str:
    """'fn (path/to/site-packages/pkg/mod.py:12)' -> 'fn (pkg/mod.py)'."""
    m = _FRAME.match(frame)
    if not m:
        return frame
    where = m["where"].split(":")[0]
    where = where.split("site-packages/")[-1].split("/python3.11/")[-1].split("/work/main/")[-1]
    return f"{m['fn']} ({where})"


def area(frames: list[str]) -> str:
    for f in reversed(frames):
        for name, marker in AREAS:
            if marker in f:
                return name
    return "other"


def summarise(raw: Path, top: int) -> str:
    own, total, areas, samples = collections.Counter(), collections.Counter(), collections.Counter(), 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n, frames = int(count), [short(f) for f in stack.split(";")[1:]]  # [0]: the thread
        samples += n
        areas[area(frames)] += n
        if frames:
            own[frames[-1]] += n
        for f in set(frames):
            total[f] += n
    lines = [f"{samples} samples of the thread holding the GIL.", "", "| share | where |", "|---|---|"]
    lines += [f"| {100 * c / samples:.1f}% | {a} |" for a, c in areas.most_common()]
    lines += ["", "| self | function |", "|---|---|"]
    lines += [f"| {100 * c / samples:.1f}% | `{f}` |" for f, c in own.most_common(top)]
    lines += ["", "| total | function |", "|---|---|"]
    lines += [f"| {100 * c / samples:.1f}% | `{f}` |" for f, c in total.most_common(top)]
    return "\n".join(lines)


def profile(module: str, visitors: int, seconds: float, top: int, raw: Path, how: str = "ws") -> str:
    """py-spy's samples of `module`'s server under `visitors`, summed (markdown)."""
    with warmed(module) as (server, pad, drawings):
        spy = subprocess.Popen(
            [Path(sys.executable).with_name("py-spy"), "record", "--pid", str(server.proc.pid), "--format", "raw",
             "--output", str(raw), "--duration", str(int(seconds)), "--rate", "100", "--nonblocking", "--gil"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        run = asyncio.run(_class(server, visitors, pad, drawings, seconds + 1, how))
        spy.wait(60)
    rate = len(run.times) / run.seconds
    head = (f"**{module}**, {visitors} visitors on {TRANSPORTS[how]}: {rate:.0f} answers/s while sampled, "
            f"{len(run.errors)} errors, server CPU {100 * run.cpu:.0f}% of one core; ")  # fmt: skip
    return head + summarise(raw, top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--how", choices=list(TRANSPORTS), default="ws")
    parser.add_argument("--visitors", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--raw", type=Path, default=None, help="keep py-spy's collapsed stacks in this folder")
    parser.add_argument("--no-write", action="store_true")
    opts = parser.parse_args()
    start = machine()
    print(start)
    parts = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = opts.raw or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for module in ("app", "benchmarks.noop_live_app"):
            parts.append(profile(module, opts.visitors, opts.seconds, opts.top, folder / f"{module}.txt", opts.how))
            print(parts[-1], flush=True)
    body = f"Measured on {start}; {opts.seconds:.0f} s of samples each, at 100 a second.\n\n" + "\n\n".join(parts)
    if not opts.no_write:
        section = f"class-profile-{opts.how}"
        write_section(DOC, section, body, f"python -m benchmarks.class_profile --how {opts.how}")


if __name__ == "__main__":
    main()
