"""Attacks on Gradio's queue and the state it keeps: events by the thousand, results never read, slow requests
from one client or from many, sessions made by every new session hash (and the state files of their deep links),
a spoofed X-Forwarded-For, and the direct route that would skip the queue."""

from __future__ import annotations

import collections
import contextlib
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx

from attacks.clients import Answer, Api, at_once, refused, summary, wait_idle
from attacks.measure import disk, during
from attacks.payloads import MB, file_value, largest_drawing, slow_valid_image
from attacks.sockets import UNTRUSTED_PEER
from attacks.target import Context
from digitnet.lab.serving import EXAMPLE_7, pad_value


def direct_run(ctx: Context, scale: float) -> Answer:
    """POST /gradio_api/run/classify: a direct call that skips the queue (and its limits) when the API is open."""
    value = file_value(ctx.seven_path())
    r = ctx.api.http.post("/gradio_api/run/classify", json={"data": [value, "cnn"]})
    if r.status_code == 200:
        return Answer("answer", f"ran outside the queue: {summary(r.json().get('data'))}")
    return refused(r)


def session_flood(ctx: Context, scale: float) -> Answer:
    """Many events, each under a new session hash (what /gradio_api/call does for a client that sends none):
    Gradio keeps a copy of the page's state for each of up to `state_session_capacity` sessions. Four senders,
    each waiting for its answer, so that the queue never fills."""
    count = int(2000 * scale)

    def one(i: int) -> str:
        return ctx.api.call("switch_model", ["cnn"]).kind

    with ThreadPoolExecutor(4) as pool:
        kinds = list(pool.map(one, range(count)))
    ok = kinds.count("answer")
    return Answer("answer" if ok == count else "refused", f"{ok} of {count} answered, each in a new session")


def unread_results(ctx: Context, scale: float) -> Answer:
    """Events whose results are never read: Gradio keeps each undelivered result (for /draw the answer, what the
    network sees and every network's answer) in the session's message queue. Batches of 6 (within the
    per-client share), one session, then a new session every 500 events."""
    count, sent, refused_codes = int(3000 * scale) // 6 * 6, 0, []
    seven = pad_value()
    session = uuid.uuid4().hex
    attacker = Api(ctx.server, address="203.0.113.99")  # its own address: it gets locked out
    try:
        while sent < count:
            if sent % 500 == 0:
                session = uuid.uuid4().hex
            codes = [attacker.submit("draw", [seven, "cnn"], session=session).status_code for _ in range(6)]
            sent += 6
            refused_codes += [c for c in codes if c != 200]
            if len(refused_codes) > 100:
                break
            wait_idle(ctx.api, settle=0.02)
    finally:
        attacker.close()
    accepted = sent - len(refused_codes)
    kind = "answer" if not refused_codes else "refused"
    return Answer(kind, f"{accepted} of {sent} accepted, results never read; refusals: {sorted(set(refused_codes))}")


def queue_flood(ctx: Context, scale: float) -> Answer:
    """One client (one address) sends 80 slow, valid requests at once; then another client sends one /classify.
    Before: the first fills the queue (64) and the other gets 'Queue is full'."""
    attacker = Api(ctx.server, address="203.0.113.66")
    victim = Api(ctx.server, address="198.51.100.7")
    try:
        side = 5000 if scale >= 1 else 3000
        big = file_value(attacker.uploaded("big.png", ctx.payload(f"slow{side}", lambda: slow_valid_image(side))))
        count = 80
        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(lambda i: attacker.submit("classify", [big, "cnn"]).status_code, range(count)))
        t0 = time.perf_counter()
        answer = victim.call("classify", [file_value(victim.uploaded("seven.png", EXAMPLE_7.read_bytes())), "cnn"])
        waited = time.perf_counter() - t0
        wait_idle(ctx.api)
        accepted = sum(c == 200 for c in codes)
        refusals = sorted({c for c in codes if c != 200})
        return Answer(
            answer.kind,
            f"other client: {answer.text} after {waited:.1f} s; flooder: {accepted} of {count} accepted, "
            f"the rest HTTP {refusals}",
        )
    finally:
        attacker.close()
        victim.close()


def concurrent_events(ctx: Context, scale: float) -> Answer:
    """40 /draw events at the same moment from one address, results not read (at most 8 per client)."""
    count, seven = 40, pad_value()

    def prepare(api: Api, i: int):
        request = api.submission("draw", [seven, "cnn"])
        return lambda: api.http.send(request).status_code

    codes = at_once(ctx.server, count, lambda i: "203.0.113.86", prepare)
    ok = codes.count(200)
    rest = dict(collections.Counter(c for c in codes if c != 200))
    return Answer(
        "refused" if rest else "answer", f"{ok} of {count} accepted, the rest {rest}", figures={"accepted": ok}
    )


def queue_many_clients(ctx: Context, scale: float, clients: int = 100, side: int = 2000) -> Answer:
    """100 visitors (each its own address, each within its share) send one slow /classify (a 2000x2000 image) at
    the same moment: the queue's own bound (docs/serving.md: 64 waiting at most), watched through
    /gradio_api/queue/status every 10 ms. No other client is timed: these are all visitors, and together they may
    fill the queue."""
    big = file_value(ctx.api.uploaded("big.png", ctx.payload(f"slow{side}", lambda: slow_valid_image(side))))
    stop, sizes = threading.Event(), [0]

    def watch() -> None:
        while not stop.is_set():
            with contextlib.suppress(httpx.HTTPError, ValueError):
                sizes.append(ctx.api.http.get("/gradio_api/queue/status").json().get("queue_size") or 0)
            time.sleep(0.01)

    def prepare(api: Api, i: int):
        return lambda: api.call("classify", [big, "cnn"]).text

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        texts = collections.Counter(
            _short(t) for t in at_once(ctx.server, clients, lambda i: f"198.18.1.{i + 1}", prepare)
        )
    finally:
        stop.set()
        watcher.join()
    text = f"{clients} visitors at once: {dict(texts)}; the longest queue seen: {max(sizes)}"
    return Answer("answer" if texts["digit 7"] == clients else "refused", text, figures={"longest": max(sizes),
                  "answered": texts["digit 7"]})  # fmt: skip


def _short(text: str) -> str:
    return "HTTP 503 queue full" if "Queue is full" in text else text[:40]


def deep_links(ctx: Context, scale: float, limit_s: float = 60.0) -> Answer:
    """A /draw of the 7 in a new session, then GET /gradio_api/deep_link for it: Gradio writes the session's
    components to deep_links/<hash>/state.json, which nothing removes. Up to 1,000 sessions or 60 s, 4 at once
    (within one client's share of the queue)."""
    count, folder = max(4, int(1000 * scale)), ctx.cache_folder / "deep_links"
    deadline = time.monotonic() + limit_s * max(scale, 0.1)
    before = disk(folder)
    api = Api(ctx.server, address="203.0.113.81")
    codes: collections.Counter = collections.Counter()

    def one(i: int) -> None:
        if time.monotonic() > deadline:
            return
        session = uuid.uuid4().hex
        api.call("draw", [pad_value(seq=i), "cnn"], session=session)  # seq: each session's state differs
        r = api.http.get("/gradio_api/deep_link", params={"session_hash": session})
        codes["HTTP 200 with a link" if r.status_code == 200 and r.json() else f"HTTP {r.status_code}"] += 1

    def attack() -> Answer:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(one, range(count)))
        after = disk(folder)
        files, grown = after["files"] - before["files"], (after["bytes"] - before["bytes"]) / MB
        kind = "answer" if codes.get("HTTP 200 with a link") else "refused"
        text = f"{sum(codes.values())} sessions: {dict(codes)}; {files} state files, {grown:.1f} MB on disk"
        return Answer(kind, text, figures={"state_files": files, "disk_mb": round(grown, 1)})

    with api:
        return during(ctx, attack)


def drawing_sessions(ctx: Context, scale: float) -> Answer:
    """/draw of the largest drawing allowed, each in a new session (1,366 of them), 4 at once: what a session
    holds; then "fool it" in the client's first session, which needs that session's drawing (docs/serving.md: a client
    keeps at most 16 sessions, its new ones replacing its own oldest)."""
    count, big = max(4, int(1366 * scale)), largest_drawing()
    api = Api(ctx.server, address="203.0.113.82")

    def attack() -> Answer:
        first = uuid.uuid4().hex
        kinds = collections.Counter([api.call("draw", [big, "cnn"], session=first).kind])
        with ThreadPoolExecutor(4) as pool:
            kinds.update(pool.map(lambda i: api.call("draw", [big, "cnn"]).kind, range(count - 1)))
        fooled = api.call("fool", ["cnn", 3], session=first)
        kept = fooled.kind == "answer"
        said = "kept (fool it answered)" if kept else f"fool it: {fooled.text[:60]}"
        text = f"{count} sessions: {dict(kinds)}; the first one afterwards: {said}"
        return Answer("answer" if kinds["answer"] == count else "refused", text,
                      figures={"sessions": count, "first_session_kept": kept})  # fmt: skip

    with api:
        return during(ctx, attack)


def session_eviction(ctx: Context, scale: float) -> Answer:
    """A visitor draws a 7; another client makes 1,100 live calls, each with a new session hash (Gradio keeps the
    1,000 most recent sessions' state); then the visitor asks to fool the network, which needs its drawing."""
    count = 1100 if scale >= 0.1 else int(11_000 * scale)  # past the 1,000 sessions kept: it does not shrink
    visitor, flooder = Api(ctx.server, address="198.51.100.24"), Api(ctx.server, address="203.0.113.84")
    session = uuid.uuid4().hex
    try:
        drawn = visitor.call("draw", [pad_value(), "cnn"], session=session)

        def live(i: int) -> int:
            return flooder.live({"strokes": [], "width": 20, "model": "cnn", "seq": i}).status_code

        def attack() -> Answer:
            with ThreadPoolExecutor(2) as pool:  # the pad's own limit: 2 live calls at once per client
                codes = collections.Counter(f"HTTP {c}" for c in pool.map(live, range(count)))
            fooled = visitor.call("fool", ["cnn", 3], session=session)
            said = "answered (a drawing changed towards 3)" if fooled.kind == "answer" else str(fooled)
            text = f"visitor drew: {drawn.text}; {count} live calls in new sessions: {dict(codes)}; then the " \
                   f"visitor's fool it: {said}"  # fmt: skip
            return Answer(fooled.kind, text, figures=dict(codes))

        return during(ctx, attack)
    finally:
        visitor.close()
        flooder.close()


def forwarded_spoof(ctx: Context, scale: float) -> Answer:
    """From a peer uvicorn does not trust as a proxy (127.0.0.2), 24 /draw events without reading their results,
    each claiming another X-Forwarded-For address: 12 public addresses, 12 unparseable `address:port` entries.
    One peer is one client: at most its 8 events may be accepted."""
    seven = pad_value()
    accepted: collections.Counter = collections.Counter()
    for i in range(24):
        address = f"192.0.{i}.1" if i % 2 == 0 else f"203.0.113.9:{4000 + i}"
        with Api(ctx.server, address=address, local=UNTRUSTED_PEER) as api:
            code = api.submit("draw", [seven, "cnn"]).status_code
        accepted[("public" if i % 2 == 0 else "ip:port") + f" HTTP {code}"] += 1
    ok = sum(v for k, v in accepted.items() if k.endswith("HTTP 200"))
    kind = "answer" if ok == 24 else "refused"
    return Answer(kind, f"{ok} of 24 accepted from one peer: {dict(accepted)}", figures={"accepted": ok})
