"""Replicas behind a load balancer: the load test (attacks/load.py) through nginx in front of copies of the app.

    .venv/bin/python -m benchmarks.replicas [--clients 16] [--seconds 60]

Starts two replicas (`python app.py`, each on its own 127.0.0.1 port) once, then runs the same load three times
through nginx on 127.0.0.1 (digitnet/lab/replicas.py), after a short warm-up:

1. one replica behind nginx (the baseline for throughput),
2. both replicas with sticky sessions (a cookie hashed to a replica),
3. both replicas, round robin (no affinity).

Each client is its own gradio_client.Client in its own thread cycling through /draw, /upload and /classify; an
answer is valid when it names the 7; every call is bounded (--call-timeout). Reports requests, failures by kind,
latency, how the requests were spread over the replicas (nginx's access log), and how often a replica was asked for
the event stream of a session it had never seen (the replicas' logs).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from attacks.load import run_load
from digitnet.lab.metrics import summary_ms
from digitnet.lab.replicas import Replicas
from digitnet.lab.serving import machine


def measure(r: Replicas, label: str, clients: int, seconds: float, max_requests: int, folder: Path) -> dict:
    before = r.sessions_not_found()
    t0 = time.perf_counter()
    tally = run_load(r, clients, seconds, max_requests, folder)
    elapsed = time.perf_counter() - t0
    n = tally.ok + tally.failed + tally.invalid
    lat = summary_ms(tally.times) if tally.times else {"median": float("nan"), "p95": float("nan")}
    result = {
        "label": label,
        "requests": n,
        "per_s": n / elapsed,
        "ok": tally.ok,
        "failed": tally.failed,
        "invalid": tally.invalid,
        "median_ms": lat["median"],
        "p95_ms": lat["p95"],
        "spread": r.spread(),
        "kinds": dict(r.failures.most_common()),
        "sessions_not_found": r.sessions_not_found() - before,
        "alive": r.alive(),
        "load": os.getloadavg()[0],
    }
    print(
        f"{label}: {n} requests in {elapsed:.0f} s ({result['per_s']:.1f}/s), {tally.ok} valid, {tally.failed} failed, "
        f"{tally.invalid} invalid; latency median {lat['median']:.0f} ms, p95 {lat['p95']:.0f} ms; "
        f"load average now {result['load']:.2f}"
    )
    print(f"   requests per replica (nginx): {result['spread']}")
    print(f"   streams asked of a replica that never saw the session: {result['sessions_not_found']}")
    for kind, count in result["kinds"].items():
        print(f"   {count:5d} x {kind}")
    return result


def main() -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--max-requests", type=int, default=100_000)
    parser.add_argument("--call-timeout", type=float, default=30.0, help="bound on each call, seconds")
    opts = parser.parse_args()
    print(machine())
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, Replicas(2, call_timeout=opts.call_timeout) as r:
        folder = Path(tmp)
        print(f"two replicas started in {time.perf_counter() - t0:.0f} s; nginx {r.nginx_path}")
        run_load(r, opts.clients, 5, opts.clients * 3, folder)  # warm-up, both replicas
        runs = []
        for label, affinity, replicas in (
            ("1 replica behind nginx", True, 1),
            ("2 replicas, sticky sessions", True, 2),
            ("2 replicas, round robin (no affinity)", False, 2),
        ):
            r.balance(affinity, replicas)
            runs.append(measure(r, label, opts.clients, opts.seconds, opts.max_requests, folder))
    return runs


if __name__ == "__main__":
    main()
