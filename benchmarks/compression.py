"""What a compressed response costs the server against an uncompressed one: server CPU (its process's user and
system time, from /proc) per request and its peak resident memory, for Gradio's 4.6 MB Plotly bundle and for /config,
asked for with each Accept-Encoding in turn, one request at a time, read whole.

    python -m benchmarks.compression [--requests 10] [--json FILE]

The first request for each (file, encoding) is shown apart: digitnet/compression.py compresses each of Gradio's
files once, at its first request, and keeps it.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import httpx

from attacks.measure import reset_peak
from attacks.routes import PLOTLY
from digitnet.lab.serving import Server, machine

ENCODINGS = ("identity", "gzip", "br")


def cpu_s(pid: int) -> float:
    """User plus system CPU seconds the process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(server: Server, path: str, encoding: str, requests: int) -> dict:
    """`requests` + 1 GETs of `path` asking for `encoding`: the first one's CPU, then the mean of the rest; the
    bytes sent, the encoding answered, and the server's peak RSS over its RSS before."""
    pid = server.proc.pid
    before = server.memory_mb()["VmRSS"]
    reset_peak(server)
    cpu, sizes, answered = [], set(), set()
    with httpx.Client(base_url=server.url, timeout=120, headers={"accept-encoding": encoding}) as client:
        for _ in range(requests + 1):
            start = cpu_s(pid)
            with client.stream("GET", path) as r:
                size = sum(len(chunk) for chunk in r.iter_raw())
                answered.add(r.headers.get("content-encoding", "identity"))
            time.sleep(0.05)  # the server's last bookkeeping after the body
            cpu.append(cpu_s(pid) - start)
            sizes.add(size)
    return {"path": path, "asked": encoding, "answered": sorted(answered), "bytes": max(sizes),
            "first_ms": round(cpu[0] * 1000), "mean_ms": round(sum(cpu[1:]) / requests * 1000, 1),
            "peak_mb": round(server.memory_mb()["VmHWM"] - before, 1)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--json", type=Path)
    opts = parser.parse_args()
    when = machine()
    print(when)
    rows = []
    with Server("app") as server:
        httpx.get(server.url + "config", timeout=60)  # warm-up
        print("| path | asked | answered | bytes | CPU, first request (ms) | CPU, mean of the next (ms) | peak RSS |")
        print("|---|---|---|---|---|---|---|")
        for path in (f"/assets/{PLOTLY.name}", "/config"):
            for encoding in ENCODINGS:
                r = measure(server, path, encoding, opts.requests)
                rows.append(r)
                print(f"| {r['path'][:30]} | {r['asked']} | {', '.join(r['answered'])} | {r['bytes']:,} | "
                      f"{r['first_ms']} | {r['mean_ms']} | +{r['peak_mb']} MB |", flush=True)  # fmt: skip
    if opts.json:
        opts.json.write_text(json.dumps({"machine": when, "requests": opts.requests, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
