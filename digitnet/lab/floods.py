"""Floods, held connections and limits tried concurrently (issue 23): what one anonymous client can make the served
app hold through routes and connections outside the issue-13 attacks (`digitnet/lab/attacks.py`).

Each attack is a function `attack(ctx, scale) -> Flood`, bounded in count and time, loopback only, stopping by
itself; `scale` < 1 shrinks its counts and sizes. While the attack is under way another client (its own address)
asks /classify for the example 7, and the Flood records the answer and how long it waited. Disk is read where
the attack writes: Gradio's cache folder (GRADIO_TEMP_DIR), its state files (`deep_links/*/state.json`) and the
server's open temporary files (deleted files included, read through /proc/<pid>/fd). Run them against a server
from `flood_server`, which gives the app its own cache and temp folders and its own log file.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import resource
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

from digitnet import settings, visitors
from digitnet.lab import attacks
from digitnet.lab.attacks import Answer, Api, Context, Result, file_value, live_answer, refused
from digitnet.lab.serving import Server, pad_value

VICTIM = "198.51.100.23"  # the other client's address (X-Forwarded-For from loopback)
ATTACKER = "203.0.113.80"
UNTRUSTED_PEER = "127.0.0.2"  # a loopback address not trusted as a proxy (the tests' servers trust 127.0.0.1)
MB = 2**20
VISITORS_MAX_MB = 1  # the flood server's visitors' store cap (the app's own: visitors.MAX_BYTES), so floods reach it


@dataclass
class Flood(Answer):
    """An Answer with what the other client got meanwhile and the attack's own figures (counts, disk)."""

    waited: float | None = None  # seconds the other client's /classify of the 7 took; None: not asked
    victim: str = ""
    figures: dict = field(default_factory=dict)

    def __str__(self) -> str:
        other = f"; other client: {self.victim} after {self.waited:.2f} s" if self.waited is not None else ""
        return f"{self.kind}: {self.text}{other}"


# --- the server and what it holds -----------------------------------------------------------------------------


def flood_server(folder: Path, module: str = "app") -> Server:
    """The app in its own process with its own Gradio cache (folder/cache), temp folder (folder/tmp) and log
    (folder/server.log: the server's stderr), so that disk and log growth are this server's alone."""
    (folder / "cache").mkdir(parents=True, exist_ok=True)
    (folder / "tmp").mkdir(exist_ok=True)
    env = {"GRADIO_TEMP_DIR": str(folder / "cache"), "TMPDIR": str(folder / "tmp"),
           settings.VISITORS_DIR: str(folder / "visitors"), settings.VISITORS_MAX_MB: str(VISITORS_MAX_MB)}  # fmt: skip
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    log = os.open(folder / "server.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    stderr = os.dup(2)
    os.dup2(log, 2)  # the child inherits it
    try:
        return Server(module)
    finally:
        os.dup2(stderr, 2)
        os.close(stderr)
        os.close(log)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def disk(folder: Path) -> dict[str, int]:
    """Files, folders and bytes allocated on disk (blocks, not lengths) under folder."""
    files = dirs = allocated = 0
    for root, dirnames, filenames in os.walk(folder):
        dirs += len(dirnames)
        for name in filenames:
            try:
                allocated += os.lstat(os.path.join(root, name)).st_blocks * 512
                files += 1
            except OSError:
                pass
    return {"files": files, "dirs": dirs, "bytes": allocated + dirs * 4096}


def open_file_bytes(pid: int) -> int:
    """Bytes in the regular files process `pid` has open, deleted temporary files included."""
    total = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            st = os.stat(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if (st.st_mode & 0o170000) == 0o100000:
            total += st.st_blocks * 512
    return total


class Sampler:
    """Samples the server's open temporary files' bytes every 0.05 s in a thread (`with Sampler(pid) as s`);
    s.peak is the largest seen, over what was open before."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self.base = open_file_bytes(pid)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            with contextlib.suppress(OSError):
                self.peak = max(self.peak, open_file_bytes(self.pid) - self.base)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def cache_folder(ctx: Context) -> Path:
    return ctx.folder / "cache"


def log_size(ctx: Context) -> int:
    log = ctx.folder / "server.log"
    return log.stat().st_size if log.exists() else 0


def raise_fd_limit(wanted: int) -> int:
    """Raise this process's open-file limit towards `wanted` (as far as allowed); the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for limit in (wanted, hard):
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, limit), max(hard, limit)))
            break
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# --- the other client -----------------------------------------------------------------------------------------


def other_client(ctx: Context, timeout: float = 30.0) -> tuple[Answer, float]:
    """A /classify of the 7 from another address on a new connection: its answer and the seconds it took."""
    seven = ctx.seven_path()
    victim = Api(ctx.server, headers={"X-Forwarded-For": VICTIM}, timeout=timeout)
    t0 = time.perf_counter()
    try:
        answer = victim.call("classify", [file_value(seven), "cnn"])
    except httpx.HTTPError as e:
        answer = Answer("timeout" if isinstance(e, httpx.TimeoutException) else "unclear", type(e).__name__)
    finally:
        victim.close()
    return answer, time.perf_counter() - t0


def during(ctx: Context, attack: Callable[[], Flood], delay: float = 0.5) -> Flood:
    """Run `attack`, asking the other client's question `delay` s after it starts (once, in a thread)."""
    with ThreadPoolExecutor(1) as pool:
        asked = pool.submit(lambda: (time.sleep(delay), other_client(ctx))[1])
        flood = attack()
        answer, waited = asked.result()
    flood.victim, flood.waited = str(answer), waited
    return flood


# --- raw connections held open --------------------------------------------------------------------------------


@dataclass
class Held:
    """What became of a batch of raw connections: outcome -> count ('HTTP 408', 'closed', 'held' for no answer
    by the end, 'no connection', 'send failed'), and the other client's answer while they were open."""

    outcomes: collections.Counter
    victim: Answer
    waited: float
    seconds: float


def _outcome(line: bytes) -> str:
    parts = line.split()
    return f"HTTP {parts[1].decode(errors='replace')}" if len(parts) > 1 else "closed"


async def _hold(
    ctx: Context,
    count: int,
    request: Callable[[int], Iterable[bytes]],
    hold: float,
    parallel: int = 256,
    local: str | None = UNTRUSTED_PEER,
) -> Held:
    """Open `count` connections from `local` (by default a peer the app does not trust as a proxy: an attacker
    connecting directly), each sending request(i) (the chunks, then nothing more), and keep them open for up to
    `hold` s or until the server has answered or closed every one. Streams (HTTP 200) stay open until the end;
    the other client asks once every connection has sent its request."""
    loop = asyncio.get_running_loop()
    host, port = "127.0.0.1", ctx.server.port
    outcomes: collections.Counter = collections.Counter()
    sem, release, sent_all, decided_all = (asyncio.Semaphore(parallel), asyncio.Event(), asyncio.Event(),
                                           asyncio.Event())  # fmt: skip
    sent = decided = 0
    t0 = loop.time()

    def note(outcome: str | None, was_sent: bool) -> None:
        nonlocal sent, decided
        sent += 1 if was_sent else 0
        if outcome is not None:
            outcomes[outcome] += 1
            decided += 1
        if sent + outcomes["no connection"] + outcomes["send failed"] >= count:
            sent_all.set()
        if decided >= count:
            decided_all.set()

    async def one(i: int) -> None:
        async with sem:
            try:
                opened = asyncio.open_connection(host, port, local_addr=(local, 0) if local else None, limit=2**16)
                reader, writer = await asyncio.wait_for(opened, 15)
            except (OSError, TimeoutError):
                return note("no connection", False)
            try:
                for chunk in request(i):
                    writer.write(chunk)
                    await asyncio.wait_for(writer.drain(), 30)
            except (OSError, TimeoutError):
                writer.close()
                return note("send failed", False)
        note(None, True)
        try:
            left = max(0.01, t0 + hold - loop.time())
            outcome = _outcome(await asyncio.wait_for(reader.readline(), left))
        except TimeoutError:
            outcome = "held"
        except OSError:
            outcome = "reset"
        note(outcome, False)
        if outcome in ("HTTP 200", "held"):
            await release.wait()
        writer.close()

    tasks = [asyncio.create_task(one(i)) for i in range(count)]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(sent_all.wait(), hold)
    victim, waited = await asyncio.to_thread(other_client, ctx)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(decided_all.wait(), max(0.01, t0 + hold - loop.time()))
    release.set()
    await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 60)
    return Held(outcomes, victim, waited, loop.time() - t0)


def hold(ctx: Context, count: int, request: Callable[[int], Iterable[bytes]], hold_s: float, **kw) -> Held:
    raise_fd_limit(count + 1024)
    return asyncio.run(_hold(ctx, count, request, hold_s, **kw))


def held_flood(held: Held, what: str, ok: tuple[str, ...] = ()) -> Flood:
    """A Flood from held connections: 'timeout' if any was still unanswered at the end, 'answer' if all were
    answered with a status in `ok`, else 'refused'."""
    counts = ", ".join(f"{k}: {v}" for k, v in sorted(held.outcomes.items()))
    unanswered = held.outcomes["held"]
    if unanswered:
        kind = "timeout"
    elif ok and all(k in ok for k in held.outcomes):
        kind = "answer"
    else:
        kind = "refused"
    figures = dict(held.outcomes) | {"held_s": round(held.seconds, 1)}
    return Flood(kind, f"{what}: {counts} ({held.seconds:.0f} s)", held.waited, str(held.victim), figures)


def http_head(method: str, path: str, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"] + [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


# --- multipart bodies, streamed -------------------------------------------------------------------------------

BOUNDARY = "digitnetfloodboundary"
CREDENTIALS: list[tuple[str, str | None, int]] = [("username", None, 1), ("password", None, 1)]  # /login's form


def _part_head(name: str, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    kind = "\r\nContent-Type: application/octet-stream" if filename else ""
    return f"--{BOUNDARY}\r\nContent-Disposition: {disposition}{kind}\r\n\r\n".encode()


def multipart(parts: list[tuple[str, str | None, int]], fill: bytes = b"a") -> tuple[int, Iterator[bytes]]:
    """A multipart/form-data body of (name, filename or None, size) parts, streamed in 1 MB chunks (never whole
    in memory): its length and its chunks."""
    end = f"--{BOUNDARY}--\r\n".encode()
    length = sum(len(_part_head(n, f)) + size + 2 for n, f, size in parts) + len(end)

    def chunks() -> Iterator[bytes]:
        block = fill * MB
        for name, filename, size in parts:
            yield _part_head(name, filename)
            while size > 0:
                yield block[: min(size, MB)]
                size -= MB
            yield b"\r\n"
        yield end

    return length, chunks()


def multipart_headers(length: int) -> dict[str, str]:
    return {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}", "Content-Length": str(length)}


def short_by_one(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """All of a body but its last byte."""
    previous = None
    for chunk in chunks:
        if previous:
            yield previous
        previous = chunk
    if previous and len(previous) > 1:
        yield previous[:-1]


def attacker(ctx: Context, address: str = ATTACKER, timeout: float = 120.0, local: str | None = None) -> Api:
    """A client of its own address (X-Forwarded-For), connecting from `local` if given."""
    api = Api(ctx.server, headers={"X-Forwarded-For": address}, timeout=timeout)
    if local:
        api.http.close()
        api.http = httpx.Client(base_url=api.http.base_url, timeout=timeout, headers={"X-Forwarded-For": address},
                                transport=httpx.HTTPTransport(local_address=local))  # fmt: skip
    return api


def post(api: Api, path: str, body: Iterable[bytes], headers: dict[str, str]) -> httpx.Response:
    """POST a streamed body with its own client, closed afterwards."""
    try:
        return api.http.post(path, content=body, headers=headers)
    finally:
        api.close()


def status_answer(r: httpx.Response, what: str) -> Answer:
    if r.status_code < 400:
        return Answer("answer", f"{what}: HTTP {r.status_code} (read and answered)")
    answer = refused(r)
    return Answer(answer.kind, f"{what}: {answer.text}")


# --- the attacks ----------------------------------------------------------------------------------------------


def login_fields(ctx: Context, scale: float) -> Flood:
    """POST /login (Gradio serves it without auth, outside /gradio_api/) with 300 form fields of 1 MB each:
    Starlette parses the whole form into memory before Gradio's handler redirects."""
    count = max(2, int(300 * scale))
    length, body = multipart(CREDENTIALS + [(f"f{i}", None, 1_000_000) for i in range(count)])

    def attack() -> Flood:
        with Sampler(ctx.server.proc.pid) as temp:
            r = post(attacker(ctx), "/login", body, multipart_headers(length))
        answer = status_answer(r, f"{count} fields of 1 MB")
        return Flood(answer.kind, answer.text, figures={"sent_mb": round(length / MB), "temp_peak_mb":
                     round(temp.peak / MB, 1)})  # fmt: skip

    return during(ctx, attack)


def login_held(ctx: Context, scale: float, hold_s: float = 30.0) -> Flood:
    """POST /login with 900 form fields of 1 MB, all but the body's last byte sent, then the connection held."""
    count = max(2, int(900 * scale))
    parts = CREDENTIALS + [(f"f{i}", None, 1_000_000) for i in range(count)]
    length = multipart(parts)[0]

    def request(i: int) -> Iterator[bytes]:
        yield http_head("POST", "/login", multipart_headers(length) | {"X-Forwarded-For": ATTACKER})
        yield from short_by_one(multipart(parts)[1])

    held = hold(ctx, 1, request, hold_s)
    return held_flood(held, f"{count} fields of 1 MB, one byte short")


def login_file(ctx: Context, scale: float) -> Flood:
    """POST /login with one multipart file part of 1 GB: Starlette spools it to a temporary file (deleted, so only
    the server's open files show it) before the handler runs."""
    size = int(2**30 * scale)
    length, body = multipart(CREDENTIALS + [("file", "big.bin", size)])

    def attack() -> Flood:
        before = disk(cache_folder(ctx))["bytes"] + disk(ctx.folder / "tmp")["bytes"]
        with Sampler(ctx.server.proc.pid) as temp:
            r = post(attacker(ctx, timeout=300), "/login", body, multipart_headers(length))
        after = disk(cache_folder(ctx))["bytes"] + disk(ctx.folder / "tmp")["bytes"]
        answer = status_answer(r, f"one {size / MB:.0f} MB file part")
        figures = {"temp_peak_mb": round(temp.peak / MB, 1), "disk_kept_mb": round((after - before) / MB, 1)}
        return Flood(answer.kind, f"{answer.text}; open temp files peak {temp.peak / MB:.0f} MB", figures=figures)

    return during(ctx, attack)


def upload_progress_ids(ctx: Context, scale: float, hold_s: float = 30.0) -> Flood:
    """GET /gradio_api/upload_progress with 2,000 random 15,000-character ids, 1,000 at a time: Gradio keeps an
    entry per id it is asked about (and waits 3 s for each before its 404)."""
    count = max(10, int(2000 * scale))

    def request(i: int) -> list[bytes]:
        upload_id = secrets.token_hex(7500)
        return [http_head("GET", f"/gradio_api/upload_progress?upload_id={upload_id}",
                          {"X-Forwarded-For": ATTACKER, "Connection": "close"})]  # fmt: skip

    held = hold(ctx, count, request, hold_s, parallel=1000)
    return held_flood(held, f"{count} ids of 15,000 characters", ok=("HTTP 404",))


def json_held(ctx: Context, scale: float, hold_s: float = 30.0) -> Flood:
    """3,000 connections, each sending a 256 KB JSON body (the guard's limit) to /gradio_api/call/draw one byte
    short, then waiting."""
    count = max(10, int(3000 * scale))
    size = 256 * 1024
    body = b'{"data": [], "pad": "' + b"a" * (size - 24) + b'"}'

    def request(i: int) -> list[bytes]:
        head = {"Content-Type": "application/json", "Content-Length": str(size), "X-Forwarded-For": ATTACKER}
        return [http_head("POST", "/gradio_api/call/draw", head), body[: size - 1]]

    held = hold(ctx, count, request, hold_s)
    return held_flood(held, f"{count} bodies of 256 KB, one byte short")


def deep_links(ctx: Context, scale: float, limit_s: float = 60.0) -> Flood:
    """A /draw of the 7 in a new session, then GET /gradio_api/deep_link for it: Gradio writes the session's
    components to deep_links/<hash>/state.json, which nothing removes. Up to 1,000 sessions or 60 s, 4 at once
    (within one client's share of the queue)."""
    count, folder = max(4, int(1000 * scale)), cache_folder(ctx) / "deep_links"
    deadline = time.monotonic() + limit_s * max(scale, 0.1)
    before = disk(folder) if folder.exists() else {"files": 0, "bytes": 0, "dirs": 0}
    api = attacker(ctx, "203.0.113.81")
    codes: collections.Counter = collections.Counter()

    def one(i: int) -> None:
        if time.monotonic() > deadline:
            return
        session = uuid.uuid4().hex
        api.call("draw", [pad_value(seq=i), "cnn"], session=session)  # seq: each session's state differs
        r = api.http.get("/gradio_api/deep_link", params={"session_hash": session})
        codes["HTTP 200 with a link" if r.status_code == 200 and r.json() else f"HTTP {r.status_code}"] += 1

    def attack() -> Flood:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(one, range(count)))
        after = disk(folder) if folder.exists() else {"files": 0, "bytes": 0, "dirs": 0}
        files, grown = after["files"] - before["files"], (after["bytes"] - before["bytes"]) / MB
        kind = "answer" if codes.get("HTTP 200 with a link") else "refused"
        text = f"{sum(codes.values())} sessions: {dict(codes)}; {files} state files, {grown:.1f} MB on disk"
        return Flood(kind, text, figures={"state_files": files, "disk_mb": round(grown, 1)})

    try:
        return during(ctx, attack)
    finally:
        api.close()


def largest_drawing() -> dict:
    """The largest drawing the pad may send: 100 strokes, 5,000 points in all."""
    rng = np.random.default_rng(0)
    return {"strokes": [rng.uniform(20, 260, 100).round(1).tolist() for _ in range(100)], "width": 20}


def drawing_sessions(ctx: Context, scale: float) -> Flood:
    """/draw of the largest drawing allowed, each in a new session (1,366 of them), 4 at once: what a session
    holds; then "fool it" in the client's first session, which needs that session's drawing (docs/serving.md: a client
    keeps at most 16 sessions, its new ones replacing its own oldest)."""
    count, big = max(4, int(1366 * scale)), largest_drawing()
    api = attacker(ctx, "203.0.113.82")

    def attack() -> Flood:
        first = uuid.uuid4().hex
        kinds = collections.Counter([api.call("draw", [big, "cnn"], session=first).kind])
        with ThreadPoolExecutor(4) as pool:
            kinds.update(pool.map(lambda i: api.call("draw", [big, "cnn"]).kind, range(count - 1)))
        fooled = api.call("fool", ["cnn", 3], session=first)
        kept = fooled.kind == "answer"
        said = "kept (fool it answered)" if kept else f"fool it: {fooled.text[:60]}"
        text = f"{count} sessions: {dict(kinds)}; the first one afterwards: {said}"
        return Flood("answer" if kinds["answer"] == count else "refused", text,
                     figures={"sessions": count, "first_session_kept": kept})  # fmt: skip

    try:
        return during(ctx, attack)
    finally:
        api.close()


def thousand_parts(ctx: Context, scale: float) -> Flood:
    """30 uploads of 1,000 four-byte files each: each file gets its own folder in Gradio's cache, so the disk
    holds far more than the bytes the upload budget counts."""
    count, folder = max(1, int(30 * scale)), cache_folder(ctx)
    api = attacker(ctx, "203.0.113.83")
    before = disk(folder)

    def attack() -> Flood:
        codes: collections.Counter = collections.Counter()
        sent = 0
        for _ in range(count):
            files = [("files", (f"{secrets.token_hex(4)}.png", os.urandom(4))) for _ in range(1000)]
            request = api.http.build_request("POST", "/gradio_api/upload", files=files)
            body = request.read()
            r = api.http.send(request)
            codes[f"HTTP {r.status_code}"] += 1
            sent += len(body) if r.status_code == 200 else 0
        after = disk(folder)
        grown = {k: after[k] - before[k] for k in after}
        text = (f"{count} uploads of 1,000 parts: {dict(codes)}; {sent / MB:.1f} MB accepted, on disk "
                f"{grown['files']} files, {grown['dirs']} folders, {grown['bytes'] / MB:.0f} MB")  # fmt: skip
        kind = "answer" if codes.get("HTTP 200") == count else "refused"
        figures = {"accepted_mb": round(sent / MB, 2), "disk_mb": round(grown["bytes"] / MB, 1)} | grown
        return Flood(kind, text, figures=figures)

    try:
        return during(ctx, attack)
    finally:
        api.close()


def heartbeats(ctx: Context, scale: float, hold_s: float = 20.0) -> Flood:
    """10,000 GET /gradio_api/heartbeat/<new session> streams from one client, held open."""
    count = max(10, int(10_000 * scale))

    def request(i: int) -> list[bytes]:
        return [http_head("GET", f"/gradio_api/heartbeat/{uuid.uuid4().hex}", {"X-Forwarded-For": ATTACKER})]

    held = hold(ctx, count, request, hold_s)
    return held_flood(held, f"{count} heartbeat streams", ok=("HTTP 200",))


def unfinished_headers(ctx: Context, scale: float, hold_s: float = 30.0) -> Flood:
    """20,000 connections that send part of a request's headers and nothing more (file descriptors: the server's
    and this process's limit is raised as far as allowed); the log's growth is measured."""
    count = max(10, int(20_000 * scale))
    raise_fd_limit(count + 1024)
    before = log_size(ctx)

    def request(i: int) -> list[bytes]:
        return [b"GET /config HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-For: " + ATTACKER.encode()]

    held = hold(ctx, count, request, hold_s, parallel=512)
    flood = held_flood(held, f"{count} connections with unfinished headers")
    grown = (log_size(ctx) - before) / MB
    flood.text += f"; log +{grown:.1f} MB"
    flood.figures["log_mb"] = round(grown, 2)
    return flood


def session_eviction(ctx: Context, scale: float) -> Flood:
    """A visitor draws a 7; another client makes 1,100 live calls, each with a new session hash (Gradio keeps the
    1,000 most recent sessions' state); then the visitor asks to fool the network, which needs its drawing."""
    count = 1100 if scale >= 0.1 else int(11_000 * scale)  # past the 1,000 sessions kept: it does not shrink
    visitor, flooder = attacker(ctx, "198.51.100.24"), attacker(ctx, "203.0.113.84")
    session = uuid.uuid4().hex
    try:
        drawn = visitor.call("draw", [pad_value(), "cnn"], session=session)

        def live(i: int) -> int:
            return flooder.live({"strokes": [], "width": 20, "model": "cnn", "seq": i}).status_code

        def attack() -> Flood:
            with ThreadPoolExecutor(2) as pool:  # the pad's own limit: 2 live calls at once per client
                codes = collections.Counter(f"HTTP {c}" for c in pool.map(live, range(count)))
            fooled = visitor.call("fool", ["cnn", 3], session=session)
            said = "answered (a drawing changed towards 3)" if fooled.kind == "answer" else str(fooled)
            text = f"visitor drew: {drawn.text}; {count} live calls in new sessions: {dict(codes)}; then the " \
                   f"visitor's fool it: {said}"  # fmt: skip
            return Flood(fooled.kind, text, figures=dict(codes))

        return during(ctx, attack)
    finally:
        visitor.close()
        flooder.close()


def forwarded_spoof(ctx: Context, scale: float) -> Flood:
    """From a peer uvicorn does not trust as a proxy (127.0.0.2), 24 /draw events without reading their results,
    each claiming another X-Forwarded-For address: 12 public addresses, 12 unparseable `address:port` entries.
    One peer is one client: at most its 8 events may be accepted."""
    seven = pad_value()
    accepted: collections.Counter = collections.Counter()
    for i in range(24):
        address = f"192.0.{i}.1" if i % 2 == 0 else f"203.0.113.9:{4000 + i}"
        api = attacker(ctx, address, local=UNTRUSTED_PEER)
        try:
            code = api.submit("draw", [seven, "cnn"]).status_code
        finally:
            api.close()
        accepted[("public" if i % 2 == 0 else "ip:port") + f" HTTP {code}"] += 1
    ok = sum(v for k, v in accepted.items() if k.endswith("HTTP 200"))
    kind = "answer" if ok == 24 else "refused"
    return Flood(kind, f"{ok} of 24 accepted from one peer: {dict(accepted)}", figures={"accepted": ok})


def concurrent_uploads(ctx: Context, scale: float) -> Flood:
    """20 uploads of 4.9 MB at the same moment from one address (its budget: 50 MB a minute)."""
    count, size = 20, int(4.9 * MB)  # does not shrink: the point is 20 at once
    data = os.urandom(size)
    barrier = threading.Barrier(count)

    def one(i: int) -> int:
        api = attacker(ctx, "203.0.113.85")
        try:
            request = api.http.build_request("POST", "/gradio_api/upload", files=[("files", (f"u{i}.png", data))])
            request.read()
            barrier.wait()
            return api.http.send(request).status_code
        finally:
            api.close()

    def attack() -> Flood:
        with ThreadPoolExecutor(count) as pool:
            codes = list(pool.map(one, range(count)))
        accepted = codes.count(200) * size
        text = (f"{codes.count(200)} of {count} accepted ({accepted / MB:.1f} MB against 50 MB a minute); the "
                f"rest {dict(collections.Counter(c for c in codes if c != 200))}")  # fmt: skip
        return Flood("refused" if len(set(codes)) > 1 else "answer", text, figures={"accepted_mb":
                     round(accepted / MB, 1)})  # fmt: skip

    return during(ctx, attack, delay=0.0)


def concurrent_events(ctx: Context, scale: float) -> Flood:
    """40 /draw events at the same moment from one address, results not read (at most 8 per client)."""
    count, seven = 40, pad_value()
    barrier = threading.Barrier(count)

    def one(i: int) -> int:
        api = attacker(ctx, "203.0.113.86")
        try:
            body = json.dumps({"data": [seven, "cnn"], "session_hash": uuid.uuid4().hex}).encode()
            request = api.http.build_request("POST", "/gradio_api/call/draw", content=body,
                                             headers={"content-type": "application/json"})  # fmt: skip
            barrier.wait()
            return api.http.send(request).status_code
        finally:
            api.close()

    with ThreadPoolExecutor(count) as pool:
        codes = list(pool.map(one, range(count)))
    ok = codes.count(200)
    rest = dict(collections.Counter(c for c in codes if c != 200))
    return Flood("refused" if rest else "answer", f"{ok} of {count} accepted, the rest {rest}",
                 figures={"accepted": ok})  # fmt: skip


def concurrent_live(ctx: Context, scale: float) -> Flood:
    """40 live predictions of the largest drawing at the same moment from one address (at most 2 at once)."""
    count, big = 40, largest_drawing() | {"model": "cnn"}
    barrier = threading.Barrier(count)

    def one(i: int) -> str:
        api = attacker(ctx, "203.0.113.87")
        api.pad = ctx.api.pad_id()
        try:
            body = json.dumps({"data": big, "component_id": api.pad, "fn_name": "live",
                               "session_hash": uuid.uuid4().hex}).encode()  # fmt: skip
            request = api.http.build_request("POST", "/gradio_api/component_server/", content=body,
                                             headers={"content-type": "application/json"})  # fmt: skip
            barrier.wait()
            return live_answer(api.http.send(request)).kind
        finally:
            api.close()

    with ThreadPoolExecutor(count) as pool:
        kinds = collections.Counter(pool.map(one, range(count)))
    return Flood("refused" if kinds["refused"] else "answer", f"{kinds['answer']} of {count} answered: "
                 f"{dict(kinds)}", figures={"answered": kinds["answer"]})  # fmt: skip


def queue_many_clients(ctx: Context, scale: float, clients: int = 100, side: int = 2000) -> Flood:
    """100 visitors (each its own address, each within its share) send one slow /classify (a 2000x2000 image) at
    the same moment: the queue's own bound (docs/serving.md: 64 waiting at most), watched through
    /gradio_api/queue/status every 10 ms. No other client is timed: these are all visitors, and together they may
    fill the queue."""
    big = file_value(ctx.api.uploaded("big.png", ctx.payload(f"slow{side}", lambda: attacks.slow_valid_image(side))))
    barrier, stop, sizes = threading.Barrier(clients + 1), threading.Event(), [0]

    def one(i: int) -> str:
        api = attacker(ctx, f"198.18.1.{i + 1}")
        try:
            barrier.wait()
            return api.call("classify", [big, "cnn"]).text
        finally:
            api.close()

    def watch() -> None:
        while not stop.is_set():
            with contextlib.suppress(httpx.HTTPError, ValueError):
                sizes.append(ctx.api.http.get("/gradio_api/queue/status").json().get("queue_size") or 0)
            time.sleep(0.01)

    def attack() -> Flood:
        with ThreadPoolExecutor(clients + 1) as pool:
            answers = [pool.submit(one, i) for i in range(clients)]
            watcher = pool.submit(watch)
            barrier.wait()
            texts = collections.Counter(_short(a.result()) for a in answers)
            stop.set()
            watcher.result()
        text = f"{clients} visitors at once: {dict(texts)}; the longest queue seen: {max(sizes)}"
        return Flood("answer" if texts["digit 7"] == clients else "refused", text, figures={"longest": max(sizes),
                     "answered": texts["digit 7"]})  # fmt: skip

    return attack()


def _feedback(api: Api, value: dict, label: str = "4") -> str:
    """One /feedback submission's outcome in a word: saved, not kept (the store is full), 429, or the message."""
    from digitnet.lab.feedback_load import send

    reply = send(api, value, "cnn", label)
    if reply.kind == "refused" and "HTTP 429" in reply.text:
        return "429"
    return reply.kind if reply.kind in ("saved", "not kept") else f"{reply.kind}: {reply.text[:50]}"


def store_bytes(ctx: Context) -> int:
    """The flood server's visitors' store on disk: the file, its WAL and shared-memory index."""
    folder = ctx.folder / "visitors"
    return sum(f.stat().st_size for f in folder.glob(visitors.FILE + "*")) if folder.exists() else 0


def feedback_one_client(ctx: Context, scale: float) -> Flood:
    """600 /feedback submissions of the largest drawing from one address, 4 at a time: 10 a minute are kept, the
    rest refused with 429 before Gradio reads them."""
    count, big = max(20, int(600 * scale)), largest_drawing()
    api = attacker(ctx, "203.0.113.90")
    before = store_bytes(ctx)

    def attack() -> Flood:
        with ThreadPoolExecutor(4) as pool:
            kinds = collections.Counter(pool.map(lambda i: _feedback(api, big), range(count)))
        grown = store_bytes(ctx) - before
        text = f"{count} submissions: {dict(kinds)}; the store grew {grown / MB:.2f} MB"
        return Flood("refused" if kinds["429"] else "answer", text,
                     figures={"saved": kinds["saved"], "refused_429": kinds["429"], "store_grown": grown})  # fmt: skip

    try:
        return during(ctx, attack)
    finally:
        api.close()


def feedback_many_clients(ctx: Context, scale: float, clients: int = 300) -> Flood:
    """The largest drawing sent to /feedback by 300 visitors (each its own address, within its rate), 8 at a time:
    the store keeps drawings until its cap (VISITORS_MAX_MB here), then answers politely that it keeps no more."""
    count, big = max(20, int(clients * scale)), largest_drawing()

    def one(i: int) -> str:
        api = attacker(ctx, f"198.18.3.{i % 250 + 1}" if i < 250 else f"198.18.4.{i % 250 + 1}")
        try:
            return _feedback(api, big)
        finally:
            api.close()

    def attack() -> Flood:
        with ThreadPoolExecutor(8) as pool:
            kinds = collections.Counter(pool.map(one, range(count)))
        size = store_bytes(ctx)
        text = f"{count} visitors: {dict(kinds)}; the store holds {size / MB:.2f} MB (cap {VISITORS_MAX_MB} MB)"
        return Flood("answer" if not set(kinds) - {"saved", "not kept"} else "refused", text,
                     figures={"saved": kinds["saved"], "not_kept": kinds["not kept"], "store": size})  # fmt: skip

    return during(ctx, attack)


def _short(text: str) -> str:
    return "HTTP 503 queue full" if "Queue is full" in text else text[:40]


# --- the pad's WebSocket (digitnet/live.py) ------------------------------------------------------------------------


def _live_visitor(ctx: Context, address: str = VICTIM) -> str:
    """Another visitor's drawing of the 7 over its own connection: 'answer: digit 7', or what it got instead."""
    try:
        with ctx.server.socket(address, open_timeout=30) as socket:
            socket.send(json.dumps(pad_value() | {"seq": 1, "model": "cnn", "final": True}))
            reply = json.loads(socket.recv(timeout=30))
    except Exception as e:  # reported, never raised
        return f"{type(e).__name__}: {e}"[:80]
    return f"answer: digit {reply['answer']['digit']}" if reply.get("answer") else str(reply)[:80]


def socket_share(ctx: Context, scale: float) -> Flood:
    """200 connections to the pad's WebSocket from one address, held open (at most 128 per client); another
    visitor's live drawing meanwhile."""
    count, outcomes = 200, collections.Counter()
    with contextlib.ExitStack() as held:
        for _ in range(count):
            try:
                socket = held.enter_context(ctx.server.socket(ATTACKER, open_timeout=30))
                socket.recv(timeout=0.05)
            except TimeoutError:
                outcomes["open"] += 1
            except Exception as e:
                outcomes[type(e).__name__ + (f" {e.rcvd.code}" if getattr(e, "rcvd", None) else "")] += 1
        other = _live_visitor(ctx)
    text = f"{count} connections: {dict(outcomes)}; another visitor's live 7: {other}"
    kind = "refused" if outcomes["open"] < count and other == "answer: digit 7" else "answer"
    return Flood(kind, text, figures={"open": outcomes["open"], "other": other})


def socket_flood(ctx: Context, scale: float) -> Flood:
    """The largest drawing sent 2,000 times on one connection without reading a reply, from each of 8 connections
    of one address, then the replies read: only the newest drawing waiting is answered, nothing piles up."""
    count, connections = max(50, int(2000 * scale)), 8
    big = json.dumps(largest_drawing() | {"model": "vae_bayes"})

    def one(i: int) -> tuple[int, int]:
        with ctx.server.socket(ATTACKER, open_timeout=30) as socket:
            for seq in range(1, count + 1):
                socket.send(f'{{"seq": {seq}, {big[1:]}')
            seqs = []
            while not seqs or seqs[-1] != count:
                seqs.append(json.loads(socket.recv(timeout=120))["seq"])
            return len(seqs), int(seqs == sorted(seqs))

    def attack() -> Flood:
        with ThreadPoolExecutor(connections) as pool:
            results = list(pool.map(one, range(connections)))
        answered, ordered = sum(n for n, _ in results), sum(o for _, o in results)
        text = (f"{connections} connections x {count} drawings of 5,000 points ({len(big) / 1024:.0f} KB each): "
                f"{answered} answered, every connection in order: {ordered == connections}; "
                f"another visitor's live 7: {_live_visitor(ctx)}")  # fmt: skip
        return Flood("answer", text, figures={"answered": answered, "sent": count * connections})

    return during(ctx, attack)


def socket_oversize(ctx: Context, scale: float) -> Flood:
    """100 connections from one address, each sending one message of 300 KB (over the 256 KB limit)."""
    count, codes = max(10, int(100 * scale)), collections.Counter()
    text = "x" * 300 * 1024

    def one(i: int) -> str:
        try:
            with ctx.server.socket(ATTACKER, open_timeout=30, max_size=None) as socket:
                socket.send(text)
                socket.recv(timeout=30)
                return "answered"
        except Exception as e:
            return f"closed {e.rcvd.code}" if getattr(e, "rcvd", None) else type(e).__name__

    with ThreadPoolExecutor(20) as pool:
        codes.update(pool.map(one, range(count)))
    return Flood("refused" if set(codes) == {"closed 1009"} else "answer", f"{count} messages of 300 KB: "
                 f"{dict(codes)}; another visitor's live 7: {_live_visitor(ctx)}", figures=dict(codes))  # fmt: skip


FLOODS: dict[str, Callable[[Context, float], Flood]] = {
    "POST /login, 300 form fields of 1 MB": login_fields,
    "POST /login, 900 fields of 1 MB held one byte short": login_held,
    "POST /login, one 1 GB multipart file part": login_file,
    "GET upload_progress, 2,000 ids of 15,000 characters": upload_progress_ids,
    "3,000 connections, 256 KB JSON body one byte short": json_held,
    "GET deep_link after /draw in new sessions": deep_links,
    "/draw of the largest drawing in 1,366 new sessions": drawing_sessions,
    "30 uploads of 1,000 four-byte parts": thousand_parts,
    "10,000 heartbeat streams held": heartbeats,
    "20,000 connections with unfinished headers": unfinished_headers,
    "1,100 live calls in new sessions, then another visitor's fool it": session_eviction,
    "X-Forwarded-For from an untrusted peer, 24 addresses": forwarded_spoof,
    "20 concurrent 4.9 MB uploads from one address": concurrent_uploads,
    "40 concurrent /draw events from one address": concurrent_events,
    "40 concurrent live predictions from one address": concurrent_live,
    "100 visitors at once, one slow /classify each": queue_many_clients,
    "600 /feedback of the largest drawing from one address": feedback_one_client,
    "/feedback of the largest drawing from 300 visitors": feedback_many_clients,
    "200 WebSocket connections from one address": socket_share,
    "8 WebSockets x 2,000 largest drawings, replies unread": socket_flood,
    "100 WebSocket messages of 300 KB": socket_oversize,
}


def context(folder: Path, module: str = "app", remote_size: int = 2**20) -> Context:
    """A flood server (see flood_server) and an attack context for it; close with `close(ctx)`."""
    return attacks.context(flood_server(folder, module), folder, remote_size)


def close(ctx: Context) -> None:
    ctx.files.close()
    ctx.api.close()
    ctx.server.close()


def measure(ctx: Context, name: str, scale: float = 1.0, settle: float = 2.0) -> Result:
    """Run one flood against ctx.server (attacks.measure: answer, RSS before, peak and after)."""
    return attacks.measure(ctx, name, scale, settle, attack=FLOODS[name])
