"""Bad-input test: generated hostile requests through the app's public API, each answered in time.

    .venv/bin/python -m benchmarks.fuzz_api [--count 1000] [--workers 4]

Cases (seeded): zero bytes, text with an image extension, truncated and corrupted PNG/JPEG/GIF, a PNG
header claiming 10^10 pixels, a 100 MB file, animated GIF/PNG, 16-bit and 32-bit integer, float with NaN
and infinities, CMYK, palette with transparency, 1-bit, extreme shapes, and drawings with missing,
wrong, non-finite or far too many strokes and points; sent to /classify, /upload and /draw. Each must get a
clear error (gradio_client's AppError with a message) or a valid result within --timeout seconds; then the
server must still be alive and classify a real 7 correctly.
"""

from __future__ import annotations

import argparse
import collections
import tempfile
import time
from pathlib import Path

from attacks.fuzz import run_fuzz
from digitnet.lab.serving import Server, machine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=10.0)
    opts = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory() as tmp, Server("app") as server:
        t0 = time.perf_counter()
        report = run_fuzz(server, opts.count, opts.workers, opts.timeout, Path(tmp))
        total = collections.Counter()
        print("| case | valid result | clear error | other | example message |\n|---|---|---|---|---|")
        for kind, c in report["tallies"].items():
            total.update(c)
            other = sum(v for k, v in c.items() if k not in ("result", "error"))
            msg = report["messages"].get((kind, "error")) or next(
                iter(report["messages"].get((kind, s), "") for s in c)
            )
            print(f"| {kind} | {c['result']} | {c['error']} | {other} {dict(c) if other else ''} | {msg[:90]} |")
        print(
            f"\n{report['cases']} requests in {time.perf_counter() - t0:.0f} s: {dict(total)}; slowest answer "
            f"{report['slowest']:.2f} s; server alive: {report['alive']}; a real 7 afterwards -> "
            f"digit {report['after']['digit']} ({report['after']['confidence']:.3f})"
        )
        print(f"server RSS MB at end: {server.memory_mb()}")


if __name__ == "__main__":
    main()
