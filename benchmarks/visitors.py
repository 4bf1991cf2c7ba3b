"""Visitors' drawings (issue 26): what keeping a submission costs, what submissions do to the live readout, and
kill -9 durability. Writes section [visitors] of docs/benchmarks.md.

    python -m benchmarks.visitors [--seconds 15] [--kills 5]

1. Save: `visitors.Store.add` of a typical drawing (the example 7 traced as strokes) into a fresh store on this
   machine's disk (WAL, synchronous=FULL: the commit is synced before it returns), in this process; and the whole
   /feedback function (the drawing checked and rendered, four networks' answers, the save), in this process, on
   one torch thread as app.py serves.
2. The live readout's latency (POST component_server `live`, as the pad sends it while the pen moves) for 4
   drawing visitors: without submissions; with 32 visitors submitting to /feedback at the per-client rate (10 a
   minute each, staggered); with 32 submitting as fast as they are answered (the rate lifted: the worst case);
   without again. Ratios are to the mean of the two runs without, all in one server.
3. kill -9 of the server during 200 concurrent submissions, `--kills` times: acknowledged submissions missing.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

from attacks.clients import Api
from attacks.feedback import kill_during, send
from digitnet import settings, visitors
from digitnet.lab.docs import write_section
from digitnet.lab.serving import Server, forwarded_for, machine, pad_value, visitor

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
COMMAND = "python -m benchmarks.visitors"
RATE_S = 60 / 10  # one submission per client every 6 s: the guard's 10 a minute (Settings.feedback_per_minute)


def ms(values: list[float], q: float = 0.5) -> float:
    values = sorted(values)
    return 1000 * values[min(len(values) - 1, int(q * len(values)))]


def save_times(n: int = 300) -> dict[str, float]:
    """Store.add, and the whole /feedback function with the served networks, each `n` times in this process."""
    import torch

    from digitnet import feedback
    from digitnet.predict import Networks

    torch.set_num_threads(1)  # as app.py serves on a CPU
    value = pad_value()
    flat = value["strokes"]
    answers = {"cnn": {"digit": 7, "confidence": 1.0, "not_a_digit": False}}
    with tempfile.TemporaryDirectory() as folder:
        store = visitors.Store(Path(folder))
        adds = []
        for _ in range(n):
            t0 = time.perf_counter()
            store.add(flat, 20, "7", False, answers, "cnn")
            adds.append(time.perf_counter() - t0)
        networks = Networks.load()
        keep = feedback.handler(networks.predict, networks.names, lambda: store)
        keep(value, "cnn", "7")  # warm-up
        whole = []
        for _ in range(n // 3):
            t0 = time.perf_counter()
            keep(value, "cnn", "7")
            whole.append(time.perf_counter() - t0)
        store.close()
    return {"add_median": ms(adds), "add_p95": ms(adds, 0.95), "whole_median": ms(whole), "n": n}


def live_latency(server: Server, seconds: float, submitters: int, every: float = 0.0, drawers: int = 4) -> dict:
    """Live calls by `drawers` visitors for `seconds`, while `submitters` others submit to /feedback, each one
    submission every `every` seconds (staggered), or as fast as they are answered (0)."""
    stop = threading.Event()
    times, errors, saved, lock = [], [], [0], threading.Lock()
    value = pad_value() | {"model": "cnn"}

    def draw(i: int) -> None:
        api = Api(server, headers=forwarded_for(visitor(500 + i)))
        try:
            while not stop.is_set():
                t0 = time.perf_counter()
                r = api.live(value, session=f"bench-{i}")
                took = time.perf_counter() - t0
                ok = r.status_code == 200 and r.json().get("answer", {}).get("digit") == 7
                with lock:
                    (times.append(took) if ok else errors.append(f"live {r.status_code} {r.text[:80]}"))
        finally:
            api.close()

    def submit(i: int) -> None:
        api = Api(server, headers=forwarded_for(visitor(600 + i)))
        start = time.monotonic() + every * i / max(1, submitters)
        try:
            while not stop.wait(max(0.0, start - time.monotonic())):
                start += every
                reply = send(api, pad_value(), "cnn", "7")
                with lock:
                    if reply.kind == "saved":
                        saved[0] += 1
                    else:
                        errors.append(f"feedback {reply.kind}: {reply.text[:80]}")
        finally:
            api.close()

    threads = [threading.Thread(target=draw, args=(i,)) for i in range(drawers)]
    threads += [threading.Thread(target=submit, args=(i,)) for i in range(submitters)]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    return {"median": ms(times), "p95": ms(times, 0.95), "calls": len(times), "errors": errors, "saved": saved[0]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=15.0)
    p.add_argument("--kills", type=int, default=5)
    p.add_argument("--no-write", action="store_true")
    opts = p.parse_args()
    where = machine()
    print(where, flush=True)
    save = save_times()
    print(f"save: {save}", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        env = {settings.VISITORS_DIR: folder, settings.FEEDBACK_PER_MINUTE: "1000000"}
        with Server("app", env=env) as server:
            live_latency(server, 3, 0)  # warm-up
            runs = [
                live_latency(server, opts.seconds, n, every) for n, every in ((0, 0), (32, RATE_S), (32, 0), (0, 0))
            ]
    for r in runs:
        print({k: v for k, v in r.items() if k != "errors"}, r["errors"][:3], flush=True)
    base = (runs[0]["median"] + runs[3]["median"]) / 2
    ratio, flat = runs[1]["median"] / base, runs[2]["median"] / base
    kills = []
    for k in range(opts.kills):
        with tempfile.TemporaryDirectory() as folder:
            result = kill_during(Server, Path(folder), count=200, kill_after=100, kill_s=30)
        kills.append(result)
        print(f"kill {k + 1}: acknowledged {len(result.acknowledged)}, lost {len(result.lost)}, rows {result.rows}, "
              f"integrity {result.integrity}", flush=True)  # fmt: skip
    acknowledged = sum(len(r.acknowledged) for r in kills)
    lost = sum(len(r.lost) for r in kills)
    body = f"""Measured on {where}.

| what | figure |
|---|---|
| `Store.add` of a typical drawing (commit synced to disk), median / p95 of {save["n"]} | {save["add_median"]:.2f} ms / {save["add_p95"]:.2f} ms |
| the whole /feedback function (check, render, 4 networks' answers, save), median of {save["n"] // 3} | {save["whole_median"]:.2f} ms |
| live readout, 4 visitors drawing, no submissions (run 1 / run 4) | median {runs[0]["median"]:.1f} / {runs[3]["median"]:.1f} ms, p95 {runs[0]["p95"]:.0f} / {runs[3]["p95"]:.0f} ms ({runs[0]["calls"]} / {runs[3]["calls"]} calls) |
| live readout while 32 visitors submit at the per-client rate, one every {RATE_S:.0f} s each (run 2) | median {runs[1]["median"]:.1f} ms, p95 {runs[1]["p95"]:.0f} ms ({runs[1]["calls"]} calls; {runs[1]["saved"]} submissions kept) |
| ratio of run 2 to the mean of runs 1 and 4 | {ratio:.2f} |
| live readout while 32 visitors submit as fast as answered, rate lifted (run 3) | median {runs[2]["median"]:.1f} ms, p95 {runs[2]["p95"]:.0f} ms ({runs[2]["calls"]} calls; {runs[2]["saved"]} submissions kept) |
| ratio of run 3 to the mean of runs 1 and 4 | {flat:.2f} |
| errors in the four runs | {sum(len(r["errors"]) for r in runs)} |
| kill -9 during 200 concurrent submissions, {len(kills)} times | {lost} of {acknowledged} acknowledged lost; integrity_check {", ".join(sorted({r.integrity for r in kills}))} |
"""  # noqa: E501
    print(body)
    if not opts.no_write:
        write_section(DOC, "visitors", body, COMMAND)
        print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
