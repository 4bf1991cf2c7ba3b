"""Submissions to the served app's /feedback as any client sends them (raw HTTP), many at once, and the kill -9
durability check: every submission the server acknowledged must be in its store after the process is killed.

Used by tests/test_visitors.py (one kill) and benchmarks/visitors.py (five kills, and the latency figures).
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from digitnet import settings, visitors
from digitnet.lab.attacks import Api, refused
from digitnet.lab.serving import Server, forwarded_for, pad_value, visitor


@dataclass
class Reply:
    """What a client got: 'saved' (acknowledged with a row id), 'not kept' (answered, nothing kept), 'refused'
    (an HTTP error or an error message) or 'failed' (no answer: the connection broke or timed out)."""

    kind: str
    text: str = ""
    id: int | None = None
    label: str | None = None


def send(api: Api, value: dict, model: str, label: object) -> Reply:
    """One submission through the queue (POST /gradio_api/call/feedback, then its result stream)."""
    try:
        r = api.submit("feedback", [value, model, label])
        if r.status_code != 200:
            return Reply("refused", refused(r).text)
        got = api.outcome("feedback", r.json()["event_id"])
        if got is None:
            return Reply("failed", "the stream ended without a result")
        event, data = got
        if event == "error":
            return Reply("refused", str(data.get("error") if isinstance(data, dict) else data))
        out = data[0]
        if out.get("saved"):
            return Reply("saved", out["message"], out["id"], out["label"])
        return Reply("not kept", out["message"], None, out["label"])
    except (httpx.HTTPError, OSError, ValueError, KeyError) as e:
        return Reply("failed", f"{type(e).__name__}: {e}"[:200])


@dataclass
class Killed:
    """One kill -9 during concurrent submissions."""

    sent: int
    acknowledged: list[Reply] = field(default_factory=list)
    other: dict[str, int] = field(default_factory=dict)
    lost: list[int] = field(default_factory=list)  # acknowledged ids missing (or with another label) in the store
    integrity: str = ""
    rows: int = 0


def kill_during(folder: Path, count: int = 200, kill_after: int = 40, kill_s: float = 30.0,
                timeout: float = 120.0) -> Killed:  # fmt: skip
    """Serve the app with its store in `folder`, send `count` submissions at once (each its own visitor; one the
    full queue refuses is sent again), kill -9 the server once `kill_after` have been acknowledged, then read the
    store: which acknowledged rows are missing. The kill comes at `kill_after` acknowledgements or `kill_s` seconds
    after the submissions start, whichever is first (a loaded machine answers fewer)."""
    labels = [str(i % 10) if i % 7 else visitors.NOT_A_DIGIT for i in range(count)]
    value = pad_value()
    acked, others, lock = [], {}, threading.Lock()
    enough = threading.Event()
    env = {settings.VISITORS_DIR: str(folder), settings.FEEDBACK_PER_MINUTE: "1000"}
    with Server("app", env=env, timeout=timeout) as server:
        start = threading.Barrier(count + 1)

        def one(i: int) -> None:
            api = Api(server, headers=forwarded_for(visitor(1000 + i)), timeout=timeout)
            try:
                start.wait()
                reply = send(api, value, "cnn", labels[i])
                while reply.kind == "refused" and "Queue is full" in reply.text and not enough.is_set():
                    time.sleep(0.2 + 0.6 * random.random())  # the queue holds QUEUE_SIZE: try again, as a page would
                    reply = send(api, value, "cnn", labels[i])
            finally:
                api.close()
            with lock:
                if reply.kind == "saved":
                    acked.append(reply)
                    if len(acked) >= kill_after:
                        enough.set()
                else:
                    key = f"{reply.kind}: {reply.text[:80]}"
                    others[key] = others.get(key, 0) + 1

        threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(count)]
        for t in threads:
            t.start()
        start.wait()
        enough.wait(kill_s)
        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait(30)
        for t in threads:
            t.join(timeout)
    result = Killed(count, list(acked), others)
    conn = sqlite3.connect(folder / visitors.FILE)
    try:
        result.integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        kept = dict(conn.execute("SELECT id, label FROM drawings"))
        result.rows = len(kept)
    finally:
        conn.close()
    result.lost = [r.id for r in acked if kept.get(r.id) != r.label]
    return result
