"""N concurrent clients against the served app through the page's real endpoints, every answer checked: the pad's
live prediction (a component server call), the pen-up /draw event, an /upload and /classify.

Used by benchmarks/load_test.py and, in a short form, by tests/test_serving.py.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from gradio_client import handle_file

from attacks.clients import Api
from digitnet.lab.serving import EXAMPLE_7, Server, forwarded_for, pad_value, requests, visitor

LIVE = "live"  # the pad's live prediction: POST /gradio_api/component_server, not an event


def names_seven(result) -> bool:
    if isinstance(result, dict):
        return result.get("digit") == 7
    return result[0] is not None and result[0]["digit"] == 7  # a page event: (answer, seen, every answer)


@dataclass
class Tally:
    ok: int = 0
    failed: int = 0
    invalid: int = 0
    errors: list[str] = field(default_factory=list)
    times: list[float] = field(default_factory=list)


def run_load(server: Server, clients: int, seconds: float, max_requests: int, folder: Path) -> Tally:
    """Bounded in time (seconds) and in count (max_requests in all)."""
    calls = [(LIVE, (pad_value() | {"model": "cnn"},)), *requests(folder).values(),
             ("/classify", (handle_file(str(EXAMPLE_7)), "cnn"))]  # fmt: skip
    tally, lock = Tally(), threading.Lock()
    budget = itertools.count()
    deadline = time.monotonic() + seconds

    def work(i: int) -> None:
        client = server.client(visitor(i))  # each client its own visitor for the app's per-client limits
        raw = Api(server, headers=forwarded_for(visitor(i)))

        def call(api: str, args: tuple):
            if api != LIVE:
                return client.predict(*args, api_name=api)
            r = raw.live(*args, session=f"load-{i}")
            r.raise_for_status()
            return r.json()["answer"]

        for api, args in itertools.islice(itertools.cycle(calls), i % len(calls), None):
            if time.monotonic() > deadline or next(budget) >= max_requests:
                return
            t0 = time.perf_counter()
            try:
                valid = names_seven(call(api, args))
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
