"""Submissions to the served app's /feedback as any client sends them (raw HTTP): one, floods of them (from one
client, from many visitors), and the kill -9 durability check: every submission the server acknowledged must be in
its store after the process is killed.

Used by the catalogue (floods), tests/test_visitors.py (one kill) and benchmarks/visitors.py (five kills, and the
latency figures).
"""

from __future__ import annotations

import collections
import os
import random
import signal
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from attacks.clients import Answer, Api
from attacks.measure import during
from attacks.payloads import MB, largest_drawing
from attacks.target import VISITORS_MAX_MB, Context, Start
from digitnet import settings, visitors
from digitnet.lab.serving import pad_value, visitor


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
        answer = api.call("feedback", [value, model, label])
        if answer.kind != "answer":
            return Reply("refused" if answer.kind == "refused" else "failed", answer.text)
        out = answer.data[0]
        if out.get("saved"):
            return Reply("saved", out["message"], out["id"], out["label"])
        return Reply("not kept", out["message"], None, out["label"])
    except (httpx.HTTPError, OSError, ValueError, KeyError) as e:
        return Reply("failed", f"{type(e).__name__}: {e}"[:200])


def word(reply: Reply) -> str:
    """A reply in a word: saved, not kept, 429 (refused by the client's rate), or its kind and text."""
    if reply.kind == "refused" and "HTTP 429" in reply.text:
        return "429"
    return reply.kind if reply.kind in ("saved", "not kept") else f"{reply.kind}: {reply.text[:50]}"


@dataclass
class Killed:
    """One kill -9 during concurrent submissions."""

    sent: int
    acknowledged: list[Reply] = field(default_factory=list)
    other: dict[str, int] = field(default_factory=dict)
    lost: list[int] = field(default_factory=list)  # acknowledged ids missing (or with another label) in the store
    integrity: str = ""
    rows: int = 0


def kill_during(start: Start, folder: Path, count: int = 200, kill_after: int = 40, kill_s: float = 30.0,
                timeout: float = 120.0) -> Killed:  # fmt: skip
    """Serve the app (`start("app", env=...)`) with its store in `folder`, send `count` submissions at once (each
    its own visitor; one the full queue refuses is sent again), kill -9 the server once `kill_after` have been
    acknowledged, then read the store: which acknowledged rows are missing. The kill comes at `kill_after`
    acknowledgements or `kill_s` seconds after the submissions start, whichever is first (a loaded machine answers
    fewer)."""
    labels = [str(i % 10) if i % 7 else visitors.NOT_A_DIGIT for i in range(count)]
    value = pad_value()
    acked, others, lock = [], {}, threading.Lock()
    enough = threading.Event()
    env = {settings.VISITORS_DIR: str(folder), settings.FEEDBACK_PER_MINUTE: "1000"}
    with start("app", env=env, timeout=timeout) as server:
        start = threading.Barrier(count + 1)

        def one(i: int) -> None:
            with Api(server, address=visitor(1000 + i), timeout=timeout) as api:
                start.wait()
                reply = send(api, value, "cnn", labels[i])
                while reply.kind == "refused" and "Queue is full" in reply.text and not enough.is_set():
                    time.sleep(0.2 + 0.6 * random.random())  # the queue holds QUEUE_SIZE: try again, as a page would
                    reply = send(api, value, "cnn", labels[i])
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


def store_bytes(ctx: Context) -> int:
    """The flood server's visitors' store on disk: the file, its WAL and shared-memory index."""
    folder = ctx.folder / "visitors"
    return sum(f.stat().st_size for f in folder.glob(visitors.FILE + "*")) if folder.exists() else 0


def from_one_client(ctx: Context, scale: float) -> Answer:
    """600 /feedback submissions of the largest drawing from one address, 4 at a time: 10 a minute are kept, the
    rest refused with 429 before Gradio reads them."""
    count, big = max(20, int(600 * scale)), largest_drawing()
    api = Api(ctx.server, address="203.0.113.90")
    before = store_bytes(ctx)

    def attack() -> Answer:
        with ThreadPoolExecutor(4) as pool:
            kinds = collections.Counter(pool.map(lambda i: word(send(api, big, "cnn", "4")), range(count)))
        grown = store_bytes(ctx) - before
        text = f"{count} submissions: {dict(kinds)}; the store grew {grown / MB:.2f} MB"
        return Answer("refused" if kinds["429"] else "answer", text,
                      figures={"saved": kinds["saved"], "refused_429": kinds["429"], "store_grown": grown})  # fmt: skip

    with api:
        return during(ctx, attack)


def from_many_visitors(ctx: Context, scale: float, clients: int = 300) -> Answer:
    """The largest drawing sent to /feedback by 300 visitors (each its own address, within its rate), 8 at a time:
    the store keeps drawings until its cap (VISITORS_MAX_MB here), then answers politely that it keeps no more."""
    count, big = max(20, int(clients * scale)), largest_drawing()

    def one(i: int) -> str:
        with Api(ctx.server, address=f"198.18.3.{i % 250 + 1}" if i < 250 else f"198.18.4.{i % 250 + 1}") as api:
            return word(send(api, big, "cnn", "4"))

    def attack() -> Answer:
        with ThreadPoolExecutor(8) as pool:
            kinds = collections.Counter(pool.map(one, range(count)))
        size = store_bytes(ctx)
        text = f"{count} visitors: {dict(kinds)}; the store holds {size / MB:.2f} MB (cap {VISITORS_MAX_MB} MB)"
        return Answer("answer" if not set(kinds) - {"saved", "not kept"} else "refused", text,
                      figures={"saved": kinds["saved"], "not_kept": kinds["not kept"], "store": size})  # fmt: skip

    return during(ctx, attack)
