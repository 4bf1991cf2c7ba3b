"""A class drawing at once (issue 27): N visitors, each keeping one live request in flight as the pad does, against
the app and against the no-network ceiling (benchmarks/noop_live_app.py: the same page, guard and server, whose
answers are constants), over the pad's own connection (the WebSocket at /live, digitnet/live.py) and over the HTTP
live function programs call, in one run. Writes section [class] of docs/benchmarks.md.

    python -m benchmarks.class_load [--visitors 1 8 32 100 200] [--seconds 15] [--no-write]

Each visitor is its own client address (X-Forwarded-For from loopback, which the server trusts as a proxy, so the
guard's per-client limits see N clients) with its own connection, and draws a 7 as one growing stroke: the pad's
drawing (`cnn`) with the first 1/K, 2/K, ... of the example 7's points, the last one sent as the pad sends it at
pen-up ("final": true), over and over, sending the next drawing as soon as the previous answer arrives (no 40 ms
gap: the pad's own cap of 25 a second is not applied, so one visitor measures the server, not the pad). An answer
counts when it carries an "answer"; anything else (an HTTP error, a reply with "error", a closed or failed
connection) is an error. Pen-up answers (one drawing in K) are also timed on their own. Meanwhile one more visitor
lifts the pen once a second: the pen-up /draw event (gradio_client), which fills the views under the pad through
Gradio's queue ("views": its median and longest wait). Client and server share the
machine's cores, so the rates are floors. Server CPU is its process's user+system time over the run's wall time
(100% = one core); the visitors' CPU is this process's (all visitors run on one asyncio loop here).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import websockets

from attacks.clients import Api, live_body
from digitnet.lab.docs import write_section
from digitnet.lab.serving import Server, forwarded_for, machine, pad_value, visitor

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
STEPS = 12  # drawings per stroke: the pad sends about this many for a 7 drawn in half a second
APPS = {"app": "app", "no-network ceiling": "benchmarks.noop_live_app"}
TRANSPORTS = {"ws": "the pad's WebSocket", "http": "the HTTP live function"}


def dense(stroke: list[float], step: float = 4.0) -> list[float]:
    """A polyline with a point every `step` canvas pixels or so, as pointer events give it."""
    xy = np.asarray(stroke, dtype=float).reshape(-1, 2)
    out = [xy[0]]
    for a, b in zip(xy[:-1], xy[1:], strict=True):
        n = max(1, int(np.ceil(np.linalg.norm(b - a) / step)))
        out.extend(a + (b - a) * t for t in np.arange(1, n + 1) / n)
    return [round(float(c), 1) for p in out for c in p]


def growing_seven(steps: int = STEPS) -> list[dict]:
    """The example 7 as the pad sends it while the pen moves (a point every 4 canvas pixels): the first k/steps of
    its points, k = 1..steps."""
    strokes = [dense(s) for s in pad_value()["strokes"]]
    total = sum(len(s) // 2 for s in strokes)
    drawings = []
    for k in range(1, steps + 1):
        left, part = max(1, round(total * k / steps)), []
        for s in strokes:
            if left <= 0:
                break
            part.append(s[: 2 * left])
            left -= len(s) // 2
        drawings.append({"strokes": part, "width": pad_value()["width"], "seq": k, "model": "cnn", "final": k == steps})
    return drawings


@dataclass
class Run:
    visitors: int
    seconds: float = 0.0
    times: list[float] = field(default_factory=list)
    finals: list[float] = field(default_factory=list)  # the pen-up drawings' answers (also in `times`)
    views: list[float] = field(default_factory=list)  # the probe's /draw events (the views under the pad)
    errors: list[str] = field(default_factory=list)
    rss_mb: float = 0.0
    cpu: float = 0.0  # server CPU time / wall time
    client_cpu: float = 0.0  # this process's (the visitors') CPU time / wall time

    def row(self, one: float | None) -> str:
        n, rate = len(self.times), len(self.times) / self.seconds
        p50, p95 = (np.percentile(self.times, [50, 95]) * 1000) if self.times else (float("nan"),) * 2
        ratio = f"{rate / one:.2f}" if one else "1.00"
        up95, up_max = (np.percentile(self.finals, 95) * 1000, max(self.finals) * 1000) if self.finals else (0, 0)
        views = f"{np.median(self.views) * 1000:.0f} / {max(self.views) * 1000:.0f} ms" if self.views else "-"
        return (f"| {self.visitors} | {rate:.0f} | {ratio} | {rate / self.visitors:.1f} | {p50:.0f} ms | "
                f"{p95:.0f} ms | {up95:.0f} ms | {up_max:.0f} ms | {views} | {len(self.errors)} | "
                f"{self.rss_mb:.0f} MB | {100 * self.cpu:.0f}% | {100 * self.client_cpu:.0f}% | {n} |")  # fmt: skip

    def record(self, took: float, final: bool, error: str | None) -> None:
        if error is not None:
            self.errors.append(error)
            return
        self.times.append(took)
        if final:
            self.finals.append(took)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _http_visitor(server: Server, i: int, pad: int, drawings: list[dict], until: float, run: Run) -> None:
    bodies = [json.dumps(live_body(d, pad, f"class-{i}")).encode() for d in drawings]
    headers = {"content-type": "application/json"} | forwarded_for(visitor(i))
    async with httpx.AsyncClient(base_url=server.url.rstrip("/"), headers=headers, timeout=30) as http:
        k = i % len(bodies)  # visitors start at different points of the stroke
        while time.monotonic() < until:
            t0 = time.perf_counter()
            try:
                r = await http.post("/gradio_api/component_server/", content=bodies[k])
                reply = r.json() if r.status_code == 200 else {"error": f"HTTP {r.status_code} {r.text[:80]}"}
                error = None if "answer" in reply else str(reply.get("error"))[:120]
            except Exception as e:  # counted and reported, never raised
                error = f"{type(e).__name__}: {e}"[:120]
            run.record(time.perf_counter() - t0, drawings[k]["final"], error)
            k = (k + 1) % len(bodies)


async def _ws_visitor(server: Server, i: int, pad: int, drawings: list[dict], until: float, run: Run) -> None:
    texts = [json.dumps(d) for d in drawings]
    url = server.url.replace("http://", "ws://") + "live"
    k = i % len(texts)
    while time.monotonic() < until:  # a closed connection is an error, and the visitor connects again
        try:
            async with websockets.connect(url, additional_headers=forwarded_for(visitor(i)), max_size=None) as ws:
                while time.monotonic() < until:
                    t0 = time.perf_counter()
                    await ws.send(texts[k])
                    reply = json.loads(await asyncio.wait_for(ws.recv(), 30))
                    error = None if "answer" in reply else str(reply.get("error"))[:120]
                    run.record(time.perf_counter() - t0, drawings[k]["final"], error)
                    k = (k + 1) % len(texts)
        except Exception as e:  # counted and reported, never raised
            run.record(0.0, False, f"{type(e).__name__}: {e}"[:120])
            await asyncio.sleep(0.1)


VISITORS = {"ws": _ws_visitor, "http": _http_visitor}


async def _views_probe(server: Server, until: float, run: Run) -> None:
    """One more visitor (its own address) lifting the pen once a second: the pen-up /draw event, which fills the
    views under the pad through Gradio's queue, timed while the class draws. Its errors count with the others."""
    client = await asyncio.to_thread(server.client, visitor(65_000))
    seven = pad_value()
    while time.monotonic() < until - 1:
        t0 = time.perf_counter()
        try:
            answer = (await asyncio.to_thread(client.predict, seven, "cnn", api_name="/draw"))[0]
            if answer is None or "digit" not in answer:
                run.errors.append(f"/draw: {str(answer)[:80]}")
            else:
                run.views.append(time.perf_counter() - t0)
        except Exception as e:  # counted and reported, never raised
            run.errors.append(f"/draw: {type(e).__name__}: {e}"[:120])
        await asyncio.sleep(max(0.0, 1.0 - (time.perf_counter() - t0)))
    await asyncio.to_thread(client.close)


async def _class(
    server: Server, n: int, pad: int, drawings: list[dict], seconds: float, how: str = "ws", views: bool = False
) -> Run:
    run, c0, t0 = Run(n), cpu_seconds(server.proc.pid), time.perf_counter()
    own = time.process_time()
    until = time.monotonic() + seconds
    probe = [_views_probe(server, until, run)] if views else []
    await asyncio.gather(*(VISITORS[how](server, i, pad, drawings, until, run) for i in range(n)), *probe)
    run.seconds = time.perf_counter() - t0
    run.cpu = (cpu_seconds(server.proc.pid) - c0) / run.seconds
    run.client_cpu = (time.process_time() - own) / run.seconds
    run.rss_mb = server.memory_mb()["VmRSS"]
    return run


@contextmanager
def warmed(module: str) -> Iterator[tuple[Server, int, list[dict]]]:
    """`module`'s server, started and warmed up by 4 visitors for 3 s: (server, the pad's id, the drawings)."""
    drawings = growing_seven()
    with Server(module) as server:
        api = Api(server)
        pad = api.pad_id()
        api.close()
        for how in VISITORS:
            asyncio.run(_class(server, 4, pad, drawings, 3.0, how))
        yield server, pad, drawings


def measure(module: str, counts: list[int], seconds: float, transports: list[str]) -> dict[str, list[Run]]:
    """Each transport's runs, for `counts` visitors in turn, on one server."""
    with warmed(module) as (server, pad, drawings):
        runs: dict[str, list[Run]] = {}
        for how in transports:
            for n in counts:
                run = asyncio.run(_class(server, n, pad, drawings, seconds, how, views=True))
                runs.setdefault(how, []).append(run)
                print(module, how, run.row(_one(runs[how])), flush=True)
                for e in sorted(set(run.errors))[:3]:
                    print("   ", e)
        return runs


def _one(runs: list[Run]) -> float | None:
    return len(runs[0].times) / runs[0].seconds if runs[0].visitors == 1 else None


def table(name: str, runs: list[Run]) -> str:
    head = ("| visitors drawing | answers/s in all | ratio to 1 visitor | per visitor | p50 | p95 | pen-up p95 | "
            "pen-up max | views p50 / max | errors | server RSS | server CPU | visitors' CPU | "
            "answers |\n")  # fmt: skip
    head += "|---" * 14 + "|"
    return f"**{name}**\n\n{head}\n" + "\n".join(r.row(_one(runs)) for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--visitors", type=int, nargs="+", default=[1, 8, 32, 100, 200])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--transports", nargs="+", choices=list(TRANSPORTS), default=list(TRANSPORTS))
    parser.add_argument("--apps", nargs="+", choices=list(APPS.values()), default=list(APPS.values()))
    parser.add_argument("--no-write", action="store_true")
    opts = parser.parse_args()
    start = machine()
    print(start)
    tables = [
        table(f"{name}, {TRANSPORTS[how]}", runs)
        for name, module in APPS.items()
        if module in opts.apps
        for how, runs in measure(module, opts.visitors, opts.seconds, opts.transports).items()
    ]
    load = os.getloadavg()[0]
    body = (f"Measured on {start}; load average at end {load:.2f}. {opts.seconds:.0f} s per row, each row a "
            f"fresh set of visitors on the same server, after a 3-s warm-up of 4 visitors.\n\n")  # fmt: skip
    body += "\n\n".join(tables)
    print(body)
    if not opts.no_write:
        write_section(DOC, "class", body, "python -m benchmarks.class_load")


if __name__ == "__main__":
    main()
