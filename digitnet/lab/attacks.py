"""Memory-amplification attacks (issue 13): hostile request patterns against the served app, through its public
HTTP API only, each with the answer it gets and the server's resident memory before, at its peak and after.

Used by benchmarks/memory_attacks.py and, in a fast form, by tests/test_attacks.py. Every attack is a function
`attack(ctx, scale) -> Answer`; `scale` < 1 shrinks its sizes and counts for the fast test. Everything stays on
loopback: the "remote" file of the URL-path attacks is served by a local HTTP server started here
(`FileServer`), which counts the requests it gets, so an attack shows whether the app fetched it.
"""

from __future__ import annotations

import base64
import http.server
import io
import json
import math
import struct
import threading
import time
import uuid
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from digitnet.lab.serving import EXAMPLE_7, Server, pad_value

FILE_META = {"_type": "gradio.FileData"}


@dataclass
class Answer:
    """What the attacker got: 'answer' (a valid result), 'refused' (an HTTP error or an error message),
    'unclear' (an error without a message) or 'timeout'; `text` is short and human-readable."""

    kind: str
    text: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.text}"


@dataclass
class Result:
    attack: str
    answer: Answer
    before: float  # server RSS, MB, just before the attack
    peak: float  # server peak RSS during the attack (VmHWM reset before it)
    after: float  # server RSS a moment after the attack's last answer
    seconds: float
    notes: dict = field(default_factory=dict)

    @property
    def growth(self) -> float:
        return self.after - self.before

    @property
    def peak_growth(self) -> float:
        return self.peak - self.before


# --- payloads -------------------------------------------------------------------------------------------------


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def blank_png(width: int, height: int, mode: int = 0) -> bytes:
    """A real, fully decodable PNG of width x height black pixels (grey, 8 bit: mode 0; RGBA: mode 6),
    compressed row by row so that it is never whole in the attacker's memory (12000x12000: about 140 KB)."""
    channels = {0: 1, 2: 3, 6: 4}[mode]
    ihdr = struct.pack(">IIBBBBB", width, height, 8, mode, 0, 0, 0)
    z = zlib.compressobj(9)
    row = b"\0" * (1 + width * channels)
    parts = [z.compress(row) for _ in range(height)]
    idat = b"".join(parts) + z.flush()
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def noise_png(megabytes: float, seed: int = 0) -> bytes:
    """An RGB PNG of random pixels: it does not compress, so the file is about `megabytes` large."""
    side = int(math.sqrt(megabytes * 2**20 / 3))
    pixels = np.random.default_rng(seed).integers(0, 256, (side, side, 3), np.uint8)
    return encode(Image.fromarray(pixels), "PNG", compress_level=1)


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def seven(mode: str = "L") -> Image.Image:
    return Image.open(EXAMPLE_7).convert(mode).resize((112, 112))


def eps_seven() -> bytes:
    """The 7 as Encapsulated PostScript (written by Pillow, no Ghostscript needed to write it)."""
    return encode(seven("L"), "EPS")


def data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def file_value(path: str, url: str | None = None, name: str = "image.png") -> dict:
    """A file value as the page sends it (Gradio's FileData)."""
    return {"path": path, "url": url, "orig_name": name, "meta": FILE_META}


def nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


# --- talking to the app -----------------------------------------------------------------------------------------


class Api:
    """Raw HTTP to the app, as any client on the internet can send it (no gradio_client, no page)."""

    def __init__(self, server: Server, headers: dict | None = None, timeout: float = 120.0) -> None:
        self.server = server
        self.http = httpx.Client(base_url=server.url.rstrip("/"), timeout=timeout, headers=headers or {})
        self.pad: int | None = None  # the drawing pad's component id, for its live function

    def close(self) -> None:
        self.http.close()

    def upload(self, files: list[tuple[str, bytes]], fields: dict | None = None) -> httpx.Response:
        return self.http.post("/gradio_api/upload", files=[("files", f) for f in files], data=fields or {})

    def uploaded(self, name: str, data: bytes) -> str:
        """Upload one file the way the page does; its path on the server."""
        r = self.upload([(name, data)])
        r.raise_for_status()
        return r.json()[0]

    def submit(self, api: str, data: list, session: str | None = None, body: bytes | None = None) -> httpx.Response:
        """Join the queue for event `api` (POST /gradio_api/call/<api>); the response holds the event id."""
        if body is None:
            body = json.dumps({"data": data, "session_hash": session or uuid.uuid4().hex}).encode()
        return self.http.post(f"/gradio_api/call/{api}", content=body, headers={"content-type": "application/json"})

    def outcome(self, api: str, event_id: str) -> tuple[str, object] | None:
        """Read the event's stream until it completes or fails: ("complete" or "error", its data); None when the
        stream ends first."""
        event = None
        with self.http.stream("GET", f"/gradio_api/call/{api}/{event_id}") as r:
            for line in r.iter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and event in ("complete", "error"):
                    return event, json.loads(line[5:]) if line[5:].strip() else None
        return None

    def result(self, api: str, event_id: str) -> Answer:
        """The event's outcome as an Answer."""
        got = self.outcome(api, event_id)
        if got is None:
            return Answer("unclear", "the stream ended without a result")
        event, data = got
        if event == "complete":
            return Answer("answer", summary(data))
        message = data.get("error") if isinstance(data, dict) else data
        return Answer("refused", str(message)[:200]) if message else Answer("unclear", "error, no message")

    def live(self, value, session: str | None = None, body: bytes | None = None) -> httpx.Response:
        """What the pad sends while the pen moves: POST /gradio_api/component_server, function `live`."""
        if body is None:
            body = json.dumps(live_body(value, self.pad_id(), session or uuid.uuid4().hex)).encode()
        headers = {"content-type": "application/json"}
        return self.http.post("/gradio_api/component_server/", content=body, headers=headers)

    def pad_id(self) -> int:
        """The drawing pad's component id (read from /config once)."""
        if self.pad is None:
            self.pad = component_id(self, "pad")
        return self.pad

    def call(self, api: str, data: list, session: str | None = None, body: bytes | None = None) -> Answer:
        try:
            r = self.submit(api, data, session, body)
        except httpx.TimeoutException:
            return Answer("timeout", "no answer to the request")
        if r.status_code != 200:
            return refused(r)
        return self.result(api, r.json()["event_id"])


def live_body(value, pad: int, session: str) -> dict:
    return {"data": value, "component_id": pad, "fn_name": "live", "session_hash": session}


def live_answer(r: httpx.Response) -> Answer:
    """The live function's reply as an Answer: the digit, its error message, or the HTTP refusal."""
    if r.status_code != 200:
        return refused(r)
    reply = r.json()
    if reply.get("error"):
        return Answer("refused", reply["error"][:200])
    return Answer("answer", summary(reply.get("answer")))


def refused(r: httpx.Response) -> Answer:
    """An HTTP error response as an Answer (its status and message)."""
    try:
        detail = r.json().get("detail") if "json" in r.headers.get("content-type", "") else r.text
    except ValueError:
        detail = r.text
    detail = str(detail or "").strip()
    return Answer("refused" if detail else "unclear", f"HTTP {r.status_code} {detail[:150]}")


def summary(data) -> str:
    """A short description of an event's output: the digit it names, or 'nothing drawn'."""
    first = data[0] if isinstance(data, list) and data else data
    if isinstance(first, dict) and "digit" in first:
        return "nothing drawn" if first.get("empty") or first["digit"] is None else f"digit {first['digit']}"
    if first is None:
        return "nothing drawn"
    return str(first)[:60]


def component_id(api: Api, elem_id: str) -> int:
    config = api.http.get("/config").json()
    return next(c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == elem_id)


class FileServer:
    """A loopback HTTP server that serves one file of `size` bytes at /big.png and counts requests to it."""

    def __init__(self, size: int) -> None:
        body = encode(seven(), "PNG")
        body = body + b"\0" * max(0, size - len(body))
        hits = self.hits = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/big.png"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass
class Context:
    server: Server
    api: Api
    files: FileServer
    folder: Path
    cache: dict = field(default_factory=dict)

    def seven_path(self) -> str:
        """A real upload of the example 7 on the server (a file value needs one)."""
        if "seven" not in self.cache:
            self.cache["seven"] = self.api.uploaded("seven.png", EXAMPLE_7.read_bytes())
        return self.cache["seven"]

    def payload(self, name: str, make: Callable[[], bytes]) -> bytes:
        if name not in self.cache:
            self.cache[name] = make()
        return self.cache[name]


# --- the attacks ------------------------------------------------------------------------------------------------
# Each returns the Answer of its last (or most telling) request; counts and sizes shrink with `scale`.


def editor_blob_uploads(ctx: Context, scale: float) -> Answer:
    """The old image editor's blob upload: POST /gradio_api/component_server with fn accept_blobs, pieces of
    4.9 MB (issue 13 attack 2: 200 of them kept 1 GB), then a 1-byte piece claiming index 50,000,000."""
    pad = component_id(ctx.api, "pad")
    blob = b"\0" * int(4.9 * 2**20)
    r = None
    for i in range(max(2, int(40 * scale))):
        fields = {
            "component_id": str(pad),
            "session_hash": uuid.uuid4().hex,
            "fn_name": "accept_blobs",
            "data": json.dumps({"type": "layer", "index": i, "id": "attack"}),
        }
        r = ctx.api.http.post("/gradio_api/component_server", data=fields, files=[("files", ("blob", blob))])
    fields["data"] = json.dumps({"type": "layer", "index": 50_000_000, "id": "attack"})
    r = ctx.api.http.post("/gradio_api/component_server", data=fields, files=[("files", ("blob", b"\0"))])
    return Answer("answer", r.text[:80]) if r.status_code == 200 else refused(r)


def component_server_many_files(ctx: Context, scale: float) -> Answer:
    """One multipart request to /gradio_api/component_server with many files: Gradio reads every file into
    memory (up to 1,000 of up to the upload limit each) before it looks for the function."""
    pad = component_id(ctx.api, "pad")
    count = max(2, int(60 * scale))
    fields = {"component_id": str(pad), "session_hash": uuid.uuid4().hex, "fn_name": "accept_blobs", "data": "{}"}
    files = [("files", (f"b{i}", b"\1" * int(4.9 * 2**20))) for i in range(count)]
    r = ctx.api.http.post("/gradio_api/component_server", data=fields, files=files)
    return Answer("answer", r.text[:80]) if r.status_code == 200 else refused(r)


def editor_layers_to_draw(ctx: Context, scale: float) -> Answer:
    """The old sketchpad value sent to /draw: one 12000x12000 PNG (140 KB) as two layers and 2,000 references to
    it (issue 13 attack 1: +1.9 GB per layer in the image editor)."""
    side = 12000 if scale >= 1 else 6000
    big = data_url(ctx.payload(f"png{side}", lambda: blank_png(side, side)))
    layer = file_value(ctx.seven_path(), big)
    value = {"background": None, "layers": [layer, layer], "composite": layer}
    first = ctx.api.call("draw", [value, "cnn"])
    small = file_value(ctx.seven_path(), data_url(encode(seven(), "PNG")))
    many = {"background": None, "layers": [small] * int(2000 * max(scale, 0.25)), "composite": None}
    second = ctx.api.call("draw", [many, "cnn"])
    return Answer(first.kind, f"{first.text}; 2,000 layers: {second.text}"[:200])


def data_url_attack(target: str, fmt: str, meta: bool = False) -> Callable[[Context, float], Answer]:
    """A data: URL as the url of a file value on a file input (/upload: gr.Image, /classify: gr.File). Without
    Gradio's "meta" marker the value reaches the component as it is, and gr.Image decodes the data: URL with every
    Pillow format; with it, Gradio replaces the url by the path's before the component sees it."""

    def attack(ctx: Context, scale: float) -> Answer:
        if fmt == "12000x12000 PNG":
            side = 12000 if scale >= 1 else 6000
            data, mime = ctx.payload(f"png{side}", lambda: blank_png(side, side)), "image/png"
        elif fmt == "20 MB PNG":
            data, mime = ctx.payload("noise20", lambda: noise_png(20 if scale >= 1 else 6)), "image/png"
        elif fmt == "EPS":
            data, mime = eps_seven(), "application/postscript"
        else:  # PCX, SGI: decodable by Pillow, refused by the app as files
            data, mime = encode(seven(), fmt), f"image/{fmt.lower()}"
        value = file_value(ctx.seven_path(), data_url(data, mime))
        if not meta:
            del value["meta"]
        return ctx.api.call(target, [value, "cnn"])

    attack.__doc__ = f"A {fmt} as a data: URL in the file value of /{target}{'' if meta else ' (no meta)'}."
    return attack


def bare_file_value(target: str, what: str) -> Callable[[Context, float], Answer]:
    """A file value without Gradio's "meta" marker naming a file on the server's disk: Gradio then does not check
    its path and hands it to the component as it is."""

    def attack(ctx: Context, scale: float) -> Answer:
        value = {"path": what, "url": None}  # a path on the server's disk that was never uploaded
        return ctx.api.call(target, [value, "cnn"])

    attack.__doc__ = f"A file value without meta on /{target}: {what}."
    return attack


def data_url_as_path(ctx: Context, scale: float) -> Answer:
    """A data: URL as the file's *path* (not its url) on /classify."""
    value = file_value(data_url(encode(seven(), "PNG")))
    return ctx.api.call("classify", [value, "cnn"])


def url_path_attack(target: str) -> Callable[[Context, float], Answer]:
    """A file value whose path is an http URL (a loopback server standing in for any web server)."""

    def attack(ctx: Context, scale: float) -> Answer:
        before = len(ctx.files.hits)
        url = ctx.files.url + f"?{uuid.uuid4().hex}"
        if target == "draw":  # any input's value is searched for file objects, also the pad's
            args = [{"strokes": [], "width": 20, "x": file_value(url)}, "cnn"]
        elif target == "switch_model":
            args = [file_value(url)]
        else:
            args = [file_value(url), "cnn"]
        answer = ctx.api.call(target, args)
        fetched = len(ctx.files.hits) - before
        return Answer(answer.kind, f"{answer.text} (the app fetched the URL {fetched} time(s))")

    attack.__doc__ = f"An http:// URL as a file path on /{target}; the loopback server counts whether it is fetched."
    return attack


def _many_points(scale: float) -> str:
    """2,000,000 x `scale` points as one stroke's JSON numbers (written directly: json.dumps would take long)."""
    return ",".join(f"{100 + i % 80}.5" for i in range(2 * int(2_000_000 * scale)))


def huge_json_draw(ctx: Context, scale: float) -> Answer:
    """Millions of points in one /draw: Gradio parses the whole JSON body before our limits run."""
    data = f'[{{"strokes": [[{_many_points(scale)}]], "width": 20}}, "cnn"]'
    body = f'{{"data": {data}, "session_hash": "{uuid.uuid4().hex}"}}'
    answer = ctx.api.call("draw", [], body=body.encode())
    return Answer(answer.kind, f"{len(body) / 2**20:.0f} MB body: {answer.text}")


def deep_json_draw(ctx: Context, scale: float) -> Answer:
    """Deeply nested JSON as the drawing: 100,000 levels (past Python's recursion limit), then 900."""
    deep = "[" * 100_000 + "]" * 100_000
    body = f'{{"data": [{{"strokes": {deep}, "width": 20}}, "cnn"], "session_hash": "{uuid.uuid4().hex}"}}'
    first = ctx.api.call("draw", [], body=body.encode())
    second = ctx.api.call("draw", [{"strokes": nested(900), "width": 20}, "cnn"])
    return Answer(second.kind if first.kind != "unclear" else "unclear", f"100,000 levels: {first}; 900: {second}")


def direct_run(ctx: Context, scale: float) -> Answer:
    """POST /gradio_api/run/classify: a direct call that skips the queue (and its limits) when the API is open."""
    value = file_value(ctx.seven_path())
    r = ctx.api.http.post("/gradio_api/run/classify", json={"data": [value, "cnn"]})
    if r.status_code == 200:
        return Answer("answer", f"ran outside the queue: {summary(r.json().get('data'))}")
    return refused(r)


def upload_flood(ctx: Context, scale: float) -> Answer:
    """Gradio's own upload route: 500 small files in one request, 20 uploads of 4.9 MB, and a 20 MB form field
    that is not a file (kept in memory by the multipart parser). Sent from its own address: it spends that
    client's upload budget, which must not lock out the tests' own client afterwards."""
    tiny = encode(seven(), "PNG")
    flooder = Api(ctx.server, headers={"X-Forwarded-For": "203.0.113.68"})
    try:
        many = flooder.upload([(f"f{i}.png", tiny) for i in range(int(500 * scale) or 2)])
        big = b"\1" * int(4.9 * 2**20)
        for i in range(max(2, int(20 * scale))):
            last = flooder.upload([(f"big{i}.png", big)])
        field_mb = 20 if scale >= 1 else 5
        text = flooder.http.post(
            "/gradio_api/upload", files=[("files", ("x.png", tiny))], data={"junk": "x" * (field_mb * 2**20)}
        )
    finally:
        flooder.close()
    parts = [f"{int(500 * scale) or 2} files: HTTP {many.status_code}", f"4.9 MB files: HTTP {last.status_code}",
             f"{field_mb} MB field: HTTP {text.status_code}"]  # fmt: skip
    kind = "refused" if any(r.status_code >= 400 for r in (many, last, text)) else "answer"
    return Answer(kind, "; ".join(parts))


def file_route(ctx: Context, scale: float) -> Answer:
    """Reading files through Gradio's file route: /etc/passwd, the app's own source, a forged cache path."""
    paths = ("/etc/passwd", "app.py", "/tmp/x/../../etc/passwd")
    codes = [ctx.api.http.get(f"/gradio_api/file={p}").status_code for p in paths]
    return Answer("refused" if all(c >= 400 for c in codes) else "answer", f"HTTP {codes}")


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
    attacker = Api(ctx.server, headers={"X-Forwarded-For": "203.0.113.99"})  # its own address: it gets locked out
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


def wait_idle(api: Api, timeout: float = 300.0, settle: float = 0.5) -> None:
    """Until the app's queue is empty (then `settle` s more: the last events may still be running)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = api.http.get("/gradio_api/queue/status").json()
        if not status.get("queue_size"):
            time.sleep(settle)
            return
        time.sleep(0.02)


def slow_valid_image(side: int = 5000) -> bytes:
    """A large but allowed upload: a big black 7 on white, side x side grey pixels (a second or so to prepare)."""
    img = seven("L").resize((side, side))
    return encode(Image.eval(img, lambda v: 255 - v), "PNG")


def huge_json_live(ctx: Context, scale: float) -> Answer:
    """Millions of points to the pad's live function, which skips the queue."""
    body = json.dumps(live_body({"strokes": [[0]], "width": 20, "model": "cnn"}, ctx.api.pad_id(), uuid.uuid4().hex))
    body = body.replace("[[0]]", f"[[{_many_points(scale)}]]")
    answer = live_answer(ctx.api.live(None, body=body.encode()))
    return Answer(answer.kind, f"{len(body) / 2**20:.0f} MB body: {answer.text}")


def deep_json_live(ctx: Context, scale: float) -> Answer:
    """Deeply nested JSON as the live function's drawing: 900 levels."""
    return live_answer(ctx.api.live({"strokes": nested(900), "width": 20, "model": "cnn"}))


def live_flood(ctx: Context, scale: float) -> Answer:
    """One client sends 400 live predictions of the largest drawing allowed (100 strokes, 5,000 points), 16 at a
    time; then another client sends one. Each client may have LIVE_PER_CLIENT running at once."""
    attacker = Api(ctx.server, headers={"X-Forwarded-For": "203.0.113.67"})
    victim = Api(ctx.server, headers={"X-Forwarded-For": "198.51.100.8"})
    try:
        rng = np.random.default_rng(0)
        big = {"strokes": [rng.uniform(20, 260, 100).round(1).tolist() for _ in range(100)], "width": 20,
               "model": "cnn"}  # fmt: skip
        count = max(16, int(400 * scale))
        with ThreadPoolExecutor(16) as pool:
            codes = list(pool.map(lambda i: attacker.live(big | {"seq": i}).status_code, range(count)))
        victim.pad, seven = attacker.pad_id(), pad_value() | {"model": "cnn"}  # the id: from the page's config
        t0 = time.perf_counter()
        answer = live_answer(victim.live(seven))
        waited = time.perf_counter() - t0
        answered = sum(c == 200 for c in codes)
        return Answer(answer.kind, f"other client: {answer.text} after {waited:.2f} s; flooder: {answered} of "
                      f"{count} answered, the rest HTTP {sorted({c for c in codes if c != 200})}")  # fmt: skip
    finally:
        attacker.close()
        victim.close()


def queue_flood(ctx: Context, scale: float) -> Answer:
    """One client (one address) sends 80 slow, valid requests at once; then another client sends one /classify.
    Before: the first fills the queue (64) and the other gets 'Queue is full'."""
    attacker = Api(ctx.server, headers={"X-Forwarded-For": "203.0.113.66"})
    victim = Api(ctx.server, headers={"X-Forwarded-For": "198.51.100.7"})
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


ATTACKS: dict[str, Callable[[Context, float], Answer]] = {
    "editor blob uploads (component_server accept_blobs)": editor_blob_uploads,
    "component_server, 60 files of 4.9 MB in one request": component_server_many_files,
    "editor layers to /draw (12000x12000 PNG; 2,000 layer refs)": editor_layers_to_draw,
    "data: URL 12000x12000 PNG on /upload": data_url_attack("upload", "12000x12000 PNG"),
    "data: URL PCX on /upload": data_url_attack("upload", "PCX"),
    "data: URL SGI on /upload": data_url_attack("upload", "SGI"),
    "data: URL EPS on /upload": data_url_attack("upload", "EPS"),
    "data: URL 20 MB PNG on /upload": data_url_attack("upload", "20 MB PNG"),
    "data: URL 12000x12000 PNG on /classify": data_url_attack("classify", "12000x12000 PNG"),
    "data: URL PCX on /upload, file value with meta": data_url_attack("upload", "PCX", meta=True),
    "data: URL as the file path on /classify": data_url_as_path,
    "no-meta file value: path /etc/passwd on /classify": bare_file_value("classify", "/etc/passwd"),
    "no-meta file value: path of a weights file on /classify": bare_file_value(
        "classify", str(Path(__file__).resolve().parents[2] / "weights" / "cnn.safetensors")
    ),
    "no-meta file value: path /dev/zero on /upload": bare_file_value("upload", "/dev/zero"),
    "no-meta file value: an example image's path on /classify": bare_file_value("classify", str(EXAMPLE_7)),
    "http URL as file path on /upload": url_path_attack("upload"),
    "http URL as file path on /classify": url_path_attack("classify"),
    "http URL file object inside a /draw value": url_path_attack("draw"),
    "http URL file object as /switch_model's model": url_path_attack("switch_model"),
    "2,000,000 points to /draw (JSON body)": huge_json_draw,
    "deeply nested JSON to /draw": deep_json_draw,
    "2,000,000 points to the pad's live function (JSON body)": huge_json_live,
    "deeply nested JSON to the pad's live function": deep_json_live,
    "direct POST /gradio_api/run/classify": direct_run,
    "Gradio's /gradio_api/upload: many files, big files, big field": upload_flood,
    "Gradio's /gradio_api/file= route": file_route,
    "2,000 events, each a new session": session_flood,
    "3,000 /draw results never read": unread_results,
    "one client sends 80 slow requests, another one": queue_flood,
    "one client sends 400 live predictions, 16 at a time, another one": live_flood,
}


def reset_peak(server: Server) -> None:
    """Reset the server's peak resident memory (VmHWM) to its current value (Linux: /proc/<pid>/clear_refs)."""
    Path(f"/proc/{server.proc.pid}/clear_refs").write_text("5")


def measure(
    ctx: Context,
    name: str,
    scale: float = 1.0,
    settle: float = 2.0,
    attack: Callable[[Context, float], Answer] | None = None,
) -> Result:
    """Run one attack (ATTACKS[name] unless given) against ctx.server: its answer, the server's RSS before, at peak
    and `settle` s after."""
    attack = attack or ATTACKS[name]
    time.sleep(0.5)
    before = ctx.server.memory_mb()["VmRSS"]
    reset_peak(ctx.server)
    t0 = time.perf_counter()
    try:
        answer = attack(ctx, scale)
    except httpx.HTTPError as e:
        answer = Answer("refused" if isinstance(e, httpx.HTTPStatusError) else "unclear", f"{type(e).__name__}: {e}")
    seconds = time.perf_counter() - t0
    time.sleep(settle)
    mem = ctx.server.memory_mb()
    return Result(name, answer, before, mem["VmHWM"], mem["VmRSS"], seconds, {"alive": ctx.server.alive()})


def context(server: Server, folder: Path, remote_size: int = 64 * 2**20) -> Context:
    return Context(server, Api(server), FileServer(remote_size), folder)


def the_seven_still_reads(ctx: Context) -> Answer:
    """After the attacks: the app still classifies a real 7."""
    return ctx.api.call("classify", [file_value(ctx.seven_path()), "cnn"])


def drawn_seven(ctx: Context) -> Answer:
    return ctx.api.call("draw", [pad_value(), "cnn"])
