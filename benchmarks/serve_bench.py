"""Serving latency and throughput of the app, each as a ratio to a no-op app measured in the same run.

    .venv/bin/python -m benchmarks.serve_bench [--calls 300] [--seconds 10]

Both apps run as their own server processes on loopback ports. Single-client latency: --calls calls
after warm-up (median, p95, p99). Throughput: N clients, each with its own gradio_client.Client in its own
thread, calling back-to-back for --seconds; completed requests per second. For a drawing on the
pad (/draw, strokes) and an uploaded image (/upload).
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

from digitnet.lab.metrics import summary_ms
from digitnet.lab.serving import Server, machine, requests, visitor


def latency(server: Server, api: str, args: tuple, calls: int, warmup: int = 20) -> dict[str, float]:
    client = server.client()
    for _ in range(warmup):
        client.predict(*args, api_name=api)
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        client.predict(*args, api_name=api)
        times.append(time.perf_counter() - t0)
    return summary_ms(times)


def throughput(server: Server, api: str, args: tuple, clients: int, seconds: float) -> tuple[float, int]:
    """Completed requests per second with `clients` concurrent clients, and the number of failures."""
    done, failed = [0] * clients, [0] * clients
    ready = threading.Barrier(clients + 1)
    stop = threading.Event()

    def work(i: int) -> None:
        client = server.client(visitor(i))  # each client its own visitor for the app's per-client limits
        client.predict(*args, api_name=api)  # warm-up
        ready.wait()
        while not stop.is_set():
            try:
                client.predict(*args, api_name=api)
                done[i] += 1
            except Exception:
                failed[i] += 1

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    ready.wait()
    t0 = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    return sum(done) / (time.perf_counter() - t0), sum(failed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16, 32])
    opts = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory() as tmp, Server("app") as real, Server("benchmarks.noop_app") as noop:
        for kind, (api, args) in requests(Path(tmp)).items():
            lat = {name: latency(s, api, args, opts.calls) for name, s in (("app", real), ("noop", noop))}
            print(f"\n{kind} ({api}) single client, {opts.calls} calls, ms:")
            print("| | app | no-op | ratio |\n|---|---|---|---|")
            for q in ("median", "p95", "p99"):
                a, b = lat["app"][q], lat["noop"][q]
                print(f"| {q} | {a:.1f} | {b:.1f} | {a / b:.2f}x |")
            print(f"\n{kind} ({api}) throughput, requests/s over {opts.seconds:.0f} s:")
            print("| clients | app | no-op | ratio | failures (app/no-op) |\n|---|---|---|---|---|")
            for n in opts.clients:
                (a, fa), (b, fb) = (throughput(s, api, args, n, opts.seconds) for s in (real, noop))
                print(f"| {n} | {a:.1f} | {b:.1f} | {a / b:.2f}x | {fa}/{fb} |", flush=True)
        print(f"\nserver peak RSS: app {real.memory_mb()['VmHWM']:.0f} MB, no-op {noop.memory_mb()['VmHWM']:.0f} MB")


if __name__ == "__main__":
    main()
