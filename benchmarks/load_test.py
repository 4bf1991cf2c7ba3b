"""Load test: N concurrent clients for a bounded time against the app on loopback; every answer checked.

    DIGITNET_DATA=../shared/data .venv/bin/python -m benchmarks.load_test [--clients 32] [--seconds 60]

Each client (its own gradio_client.Client in its own thread) cycles through a drawn 7 (/draw), an uploaded
7 (/upload) and /classify. A response is valid when it names the digit 7. Reports failures, invalid
answers, latency and the server process's resident memory (current and peak) at start and end, and its
resident memory every 10 s in between, to show whether it levels off.
"""

from __future__ import annotations

import argparse
import itertools
import re
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from gradio_client import handle_file

from benchmarks._common import EXAMPLE_7, Server, machine, requests, summary_ms


def names_seven(result) -> bool:
    if isinstance(result, dict):
        return result.get("digit") == 7
    return re.search(r'class="digit" data-digit="7"', result[0]) is not None


@dataclass
class Tally:
    ok: int = 0
    failed: int = 0
    invalid: int = 0
    errors: list[str] = field(default_factory=list)
    times: list[float] = field(default_factory=list)


def run_load(server: Server, clients: int, seconds: float, max_requests: int, folder: Path) -> Tally:
    """Bounded in time (seconds) and in count (max_requests in all)."""
    calls = [*requests(folder).values(), ("/classify", (handle_file(str(EXAMPLE_7)), "cnn"))]
    tally, lock = Tally(), threading.Lock()
    budget = itertools.count()
    deadline = time.monotonic() + seconds

    def work(i: int) -> None:
        client = server.client()
        for api, args in itertools.islice(itertools.cycle(calls), i % len(calls), None):
            if time.monotonic() > deadline or next(budget) >= max_requests:
                return
            t0 = time.perf_counter()
            try:
                valid = names_seven(client.predict(*args, api_name=api))
                error = None
            except Exception as e:  # any failure is counted and reported, never raised
                valid, error = False, f"{api}: {type(e).__name__}: {e}"
            with lock:
                tally.times.append(time.perf_counter() - t0)
                tally.ok += valid
                tally.failed += error is not None
                tally.invalid += error is None and not valid
                if error and len(tally.errors) < 5:
                    tally.errors.append(error)

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return tally


def sample_memory(server: Server, stop: threading.Event, every: float = 10.0) -> list[float]:
    """Resident memory (MB) of the server every `every` seconds until stop is set (filled in by a thread)."""
    samples: list[float] = []

    def run() -> None:
        while not stop.wait(every):
            samples.append(server.memory_mb()["VmRSS"])

    threading.Thread(target=run, daemon=True).start()
    return samples


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
