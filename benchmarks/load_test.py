"""Load test: N concurrent clients for a bounded time against the app on loopback; every answer checked.

    .venv/bin/python -m benchmarks.load_test [--clients 32] [--seconds 60]

Each client (its own gradio_client.Client in its own thread) cycles through a drawn 7 (/draw), an uploaded
7 (/upload) and /classify. A response is valid when it names the digit 7. Reports failures, invalid
answers, latency and the server process's resident memory (current and peak) at start and end, and its
resident memory every 10 s in between, to show whether it levels off.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

from attacks.load import run_load, sample_memory
from digitnet.lab.metrics import summary_ms
from digitnet.lab.serving import Server, machine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--max-requests", type=int, default=100_000)
    opts = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory() as tmp, Server("app") as server:
        run_load(server, opts.clients, 5, opts.clients * 3, Path(tmp))  # warm-up: memory is compared after it
        start = server.memory_mb()
        t0, stop = time.perf_counter(), threading.Event()
        samples = sample_memory(server, stop)
        tally = run_load(server, opts.clients, opts.seconds, opts.max_requests, Path(tmp))
        elapsed = time.perf_counter() - t0
        stop.set()
        end = server.memory_mb()
        n = tally.ok + tally.failed + tally.invalid
        print(
            f"{opts.clients} clients, {elapsed:.0f} s: {n} requests ({n / elapsed:.1f}/s), {tally.ok} valid, "
            f"{tally.failed} failed, {tally.invalid} invalid; server alive: {server.alive()}"
        )
        lat = summary_ms(tally.times)
        print(f"latency under load, ms: median {lat['median']:.0f}, p95 {lat['p95']:.0f}, p99 {lat['p99']:.0f}")
        print(
            f"server RSS MB: start {start['VmRSS']:.0f} (peak {start['VmHWM']:.0f}), "
            f"end {end['VmRSS']:.0f} (peak {end['VmHWM']:.0f})"
        )
        print("server RSS MB every 10 s: " + " ".join(f"{m:.0f}" for m in samples))
        for e in tally.errors:
            print("  ", e)


if __name__ == "__main__":
    main()
