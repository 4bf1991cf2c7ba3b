"""What one Gradio session costs the server: N /draw events, each from its own visitor and so its own session,
with a typical drawing (the example 7 traced as pen strokes) or a large one (5,000 points, the pad's limit), and
the server's resident memory before and after. Sizes page.SESSIONS, how many sessions Gradio keeps.

    DIGITNET_DATA=../shared/data .venv/bin/python -m benchmarks.session_memory [--sessions 300]
"""

from __future__ import annotations

import argparse
import math
import time

from attacks.clients import Api
from digitnet.drawing import payload
from digitnet.lab.serving import Server, machine, pad_value, visitor
from digitnet.page import SESSIONS


def large_drawing() -> dict:
    """5,000 points in 50 strokes of 100."""
    strokes = [
        [(140 + 100 * math.cos(t / 16 + k), 140 + 100 * math.sin(t / 13 + k)) for t in range(100)] for k in range(50)
    ]
    return payload(strokes)


def per_session_kb(server: Server, api: Api, drawing: dict, sessions: int, first: int) -> float:
    time.sleep(1)
    before = server.memory_mb()["VmRSS"]
    for i in range(sessions):
        api.http.headers["X-Forwarded-For"] = visitor(first + i)
        answer = api.call("draw", [drawing, "cnn"])
        assert answer.kind == "answer", answer
    time.sleep(2)
    return (server.memory_mb()["VmRSS"] - before) * 1024 / sessions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=SESSIONS - 1, help=f"per drawing; at most {SESSIONS - 1}")
    opts = parser.parse_args()
    sessions = min(opts.sessions, SESSIONS - 1)  # all of them kept (with the warm-up's): none dropped meanwhile
    print(machine())
    with Server("app") as server:
        api = Api(server)
        api.call("draw", [pad_value(), "cnn"])  # warm-up
        for name, drawing, first in (("typical (the example 7)", pad_value(), 10_000),
                                     ("large (5,000 points)", large_drawing(), 20_000)):  # fmt: skip
            kb = per_session_kb(server, api, drawing, sessions, first)
            print(f"{sessions} sessions, {name} drawing: {kb:.0f} KB per session; "
                  f"{SESSIONS} sessions kept: at most {kb * SESSIONS / 1024:.0f} MB")  # fmt: skip
        api.close()


if __name__ == "__main__":
    main()
