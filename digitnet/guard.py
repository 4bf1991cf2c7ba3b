"""Limits on what one request, and one client, can make the server hold, applied before Gradio reads a request.

An ASGI middleware in front of Gradio's routes (issue 13). Gradio parses a request's whole JSON body, walks every
input's value for file objects (and downloads any whose path is an http(s) URL, whole, into memory), decodes
`data:` URLs with every Pillow format and reads multipart bodies into memory, all before the app's functions
can check anything. So, under /gradio_api/:

- **Body size**: JSON bodies at most MAX_JSON_BODY bytes (a drawing at the pad's limit of 5,000 points is about
  60 KB); uploads (/gradio_api/upload) at most the upload limit plus MULTIPART_SLACK. Checked against the declared
  Content-Length before anything is read, and counted while it is read (a chunked body has no length).
- **JSON shape**: at most MAX_DEPTH levels of nesting; every file value (an object with a "path") must carry
  Gradio's "meta" marker (without it Gradio checks neither path nor url) and name a file uploaded to this server:
  an http(s) URL (or any other scheme) as its path, or a `data:` URL as its url, is refused with a message. The
  page never sends either: its webcam and clipboard captures are uploaded as files.
- **Fair sharing**: one client may have at most PER_CLIENT events not yet delivered (waiting, running, or finished
  with the result not yet read: Gradio keeps every unread result in memory); more are refused with 429 until one
  is delivered, so one client can neither fill the queue and lock others out nor pile up unread results. Results
  still unread UNREAD_TTL seconds after the session's last request are dropped (a client that walks away is not
  locked out for good, and its results do not stay in memory). A client
  is an address: the peer's (behind a local reverse proxy uvicorn already puts the forwarded address there), or,
  when the peer is not a public address (a proxy such as Hugging Face Spaces' in front of the app), the rightmost
  public address in X-Forwarded-For, i.e. the one the proxies saw, which a client cannot forge by sending its own
  header.
- **Uploads**: at most UPLOAD_BYTES_PER_MINUTE per client (ten uploads at the limit, or thousands of ordinary
  images); uploads are kept on disk, deleted after an hour (page.py), so this bounds each client's share of the
  disk (about 3 GB) rather than memory. All clients together may upload at most UPLOADS_HELD bytes in any
  UPLOADS_KEPT_S seconds (the hour plus the cleaner's 10-minute period: at most what the disk holds at once);
  past it, uploads are refused with 429 until older ones have expired, so many addresses cannot fill the disk.
- **component_server**: refused without reading the body when no component of the app has server functions
  (Gradio reads every file of such a request into memory before it looks for the function). The pad's live
  predictions come this way, past the queue: each client may have at most LIVE_PER_CLIENT of them running at
  once (the pad needs two: the one in flight and the pen-up one); more are refused with 429.
"""

from __future__ import annotations

import collections
import ctypes
import ipaddress
import json
import math
import time
from typing import Any

MAX_JSON_BODY = 256 * 1024
MULTIPART_SLACK = 64 * 1024
MAX_DEPTH = 32
PER_CLIENT = 8
LIVE_PER_CLIENT = 2
UPLOAD_BYTES_PER_MINUTE = 50 * 2**20
UPLOADS_HELD = 5 * 2**30
UPLOADS_KEPT_S = 70 * 60  # page.py: the cache is cleaned every 10 minutes of files older than an hour
MAX_SESSIONS = 20_000  # sessions remembered (with their client) before those with nothing pending are forgotten
UNREAD_TTL = 300.0  # seconds after a session's last request when its unread results are dropped
PREFIX = "/gradio_api/"
EVENT_ROUTES = ("queue/join", "call/", "run/", "api/")  # POST routes that start an event
FILE_TYPE = "gradio.FileData"
REMOTE_FILE = "file values must name a file uploaded to this app (POST /gradio_api/upload): {} are not accepted"


def return_freed_memory(threshold: int = 2**20) -> bool:
    """Have glibc give large freed blocks back to the system at once (True if it took the setting).

    By default glibc raises its mmap threshold to the size of the largest block freed so far (up to 32 MB), so
    after one large image every later decode of that size comes from the heap of whichever worker thread ran it,
    and stays in the process's resident memory when freed. A fixed threshold maps every block of `threshold`
    bytes or more on its own and unmaps it when it is freed."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (macOS, Windows, musl): nothing to do
        return False
    m_mmap_threshold = -3
    return bool(libc.mallopt(m_mmap_threshold, threshold))


class TooLarge(Exception):
    """The body is over the limit (raised from inside receive; the middleware answers 413)."""


def _private(host: str) -> bool:
    """Not a public internet address: private, loopback, link-local, shared (carrier NAT), reserved."""
    try:
        return not ipaddress.ip_address(host).is_global
    except ValueError:
        return False


def client_key(scope: dict) -> str:
    """Who sent the request: an address (see the module docstring)."""
    peer = (scope.get("client") or ("unknown", 0))[0]
    if not _private(peer):
        return peer
    forwarded = [
        part.strip()
        for name, value in scope.get("headers", [])
        if name == b"x-forwarded-for"
        for part in value.decode("latin-1").split(",")
    ]
    for address in reversed(forwarded):
        if address and not _private(address):
            return address
    return peer


def check_json(value: Any, depth: int = 0) -> str | None:
    """Why a request's parsed JSON is refused, or None: nesting and file objects that are not uploads."""
    if depth > MAX_DEPTH:
        return f"the request is nested more than {MAX_DEPTH} levels deep"
    if isinstance(value, dict):
        meta, path, url = value.get("meta"), value.get("path"), value.get("url")
        if isinstance(path, str) or isinstance(meta, dict) and meta.get("_type") == FILE_TYPE:  # a file value
            if isinstance(path, str) and ("://" in path or path.lower().startswith("data:")):
                return REMOTE_FILE.format("URLs as file paths")
            if isinstance(url, str) and url.strip().lower().startswith("data:"):
                return REMOTE_FILE.format("data: URLs")
            if not (isinstance(meta, dict) and meta.get("_type") == FILE_TYPE):
                return f'a file value needs "meta": {{"_type": "{FILE_TYPE}"}} (as gradio_client.handle_file makes it)'
        children = value.values()
    elif isinstance(value, list):
        children = value
    else:
        return None
    for child in children:
        if (why := check_json(child, depth + 1)) is not None:
            return why
    return None


class Guard:
    """The ASGI middleware: `FastAPI(middleware=[Middleware(Guard, max_upload=...)])` (see page.launch_options)."""

    def __init__(
        self,
        app,
        max_upload: int,
        max_json: int = MAX_JSON_BODY,
        per_client: int = PER_CLIENT,
        upload_bytes_per_minute: int = UPLOAD_BYTES_PER_MINUTE,
        uploads_held: int = UPLOADS_HELD,
    ) -> None:
        self.app = app
        self.max_upload = max_upload + MULTIPART_SLACK
        self.max_json = max_json
        self.per_client = per_client
        self.upload_bytes_per_minute = upload_bytes_per_minute
        self.uploads_held = uploads_held
        self.all_uploads: collections.deque[list[int]] = collections.deque()  # [minute, bytes]: all clients
        self.joining: collections.Counter[str] = collections.Counter()  # events admitted, not yet in the queue
        self.sessions: dict[str, str] = {}  # Gradio session hash -> client
        self.last_request: dict[str, float] = {}  # Gradio session hash -> time of its last event request
        self.by_client: dict[str, set[str]] = {}  # client -> its sessions
        self.uploads: dict[str, collections.deque[list[int]]] = {}  # client -> [second, bytes]: its last minute
        self.live: collections.Counter[str] = collections.Counter()  # component server calls running, per client
        self.server_fns: bool | None = None
        self._queue = None

    async def __call__(self, scope, receive, send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH") or PREFIX not in path:
            return await self.app(scope, receive, send)
        route = path.split(PREFIX, 1)[1]
        if route.startswith("component_server") and not self._has_server_fns(scope):
            return await _reply(send, 404, "this app has no component server functions")
        upload = route.startswith("upload")
        limit = self.max_upload if upload else self.max_json
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            return await _reply(send, 413, _too_large(limit, upload))
        key = client_key(scope)
        if upload:
            if self._uploaded_lately(key) >= self.upload_bytes_per_minute:
                mb = self.upload_bytes_per_minute / 2**20
                return await _reply(send, 429, f"at most {mb:.0f} MB of uploads a minute per client", retry=True)
            if self._held() >= self.uploads_held:
                gb, minutes = self.uploads_held / 2**30, UPLOADS_KEPT_S // 60
                message = f"all visitors together have uploaded {gb:g} GB in {minutes} minutes, all this server keeps"
                return await _reply(send, 429, message + "; try again later", retry=True)
            return await self._counted(scope, receive, send, limit, key)
        try:
            body = await _read(receive, limit)
        except TooLarge:
            return await _reply(send, 413, _too_large(limit, upload))
        parsed = None
        if _is_json(scope) and body:
            try:
                parsed = json.loads(body)
                why = check_json(parsed)
            except RecursionError:
                why = f"the request is nested more than {MAX_DEPTH} levels deep"
            except ValueError:
                why = None  # not JSON: Gradio answers it
            if why is not None:
                return await _reply(send, 400, why)
        replay = _replay(body, receive)
        if route.startswith("component_server"):
            return await self._live(scope, replay, send, key)
        if not route.startswith(EVENT_ROUTES):
            return await self.app(scope, replay, send)
        if self._pending(scope, key) >= self.per_client:
            return await _reply(
                send, 429, f"this client already has {self.per_client} requests waiting, running or with results "
                "not yet read; send the next one when one of them has been answered", retry=True,
            )  # fmt: skip
        session = parsed.get("session_hash") if isinstance(parsed, dict) else None
        if isinstance(session, str):
            self._remember(session, key)
        elif route.startswith("call/"):  # Gradio makes the event's id its session: read it from the response
            send = self._event_id_to(send, key)
        await self._while_counted(self.joining, key, scope, replay, send)

    async def _live(self, scope, receive, send, key: str) -> None:
        if self.live[key] >= LIVE_PER_CLIENT:
            return await _reply(send, 429, f"at most {LIVE_PER_CLIENT} live predictions at once per client", retry=True)
        await self._while_counted(self.live, key, scope, receive, send)

    async def _while_counted(self, counter: collections.Counter[str], key: str, scope, receive, send) -> None:
        """Pass the request on, counted in `counter` under `key` until it is answered."""
        counter[key] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            counter[key] -= 1
            if counter[key] <= 0:
                del counter[key]

    def _has_server_fns(self, scope: dict) -> bool:
        if self.server_fns is None:
            blocks = _blocks(scope)
            self.server_fns = blocks is None or any(getattr(b, "server_fns", None) for b in blocks.blocks.values())
        return self.server_fns

    def _pending(self, scope: dict, key: str) -> int:
        """This client's events not yet delivered (Gradio keeps their ids per session until the result is read),
        and those being admitted now; stale unread results of this client are dropped first."""
        self._queue = self._queue or getattr(_blocks(scope), "_queue", None)
        pending = getattr(self._queue, "pending_event_ids_session", {})
        for session in list(self.by_client.get(key, ())):
            if pending.get(session):
                self._drop_if_stale(session)
        return sum(len(pending.get(s, ())) for s in self.by_client.get(key, ())) + self.joining[key]

    def _drop_if_stale(self, session: str) -> None:
        """Drop the session's undelivered results when its last request is older than UNREAD_TTL and none of its
        events is still waiting or running (Gradio would keep them until the session's results are read)."""
        if time.monotonic() - self.last_request.get(session, 0.0) < UNREAD_TTL:
            return
        queue = self._queue
        ids = queue.pending_event_ids_session.get(session, set())
        if any(i in queue.event_ids_to_events for i in ids):
            return
        queue.pending_event_ids_session.pop(session, None)
        queue.pending_messages_per_session.pop(session, None)

    def _remember(self, session: str, key: str) -> None:
        """Note whose session this is and when it last sent a request; forget sessions with nothing pending once
        there are many."""
        self.last_request[session] = time.monotonic()
        if self.sessions.get(session) == key:
            return
        if session in self.sessions:  # a session used from another address: it counts for the latest one
            self.by_client[self.sessions[session]].discard(session)
        self.sessions[session] = key
        self.by_client.setdefault(key, set()).add(session)
        if len(self.sessions) > MAX_SESSIONS:
            pending = getattr(self._queue, "pending_event_ids_session", {})
            for s, k in list(self.sessions.items()):
                if pending.get(s):
                    self._drop_if_stale(s)
                if not pending.get(s):
                    del self.sessions[s]
                    self.last_request.pop(s, None)
                    self.by_client[k].discard(s)
                    if not self.by_client[k]:
                        del self.by_client[k]

    def _event_id_to(self, send, key: str):
        """A send that reads the event id from a /call response and remembers it as the client's session."""
        chunks: list[bytes] = []

        async def sending(message):
            if message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    try:
                        event_id = json.loads(b"".join(chunks)).get("event_id")
                    except (ValueError, AttributeError):
                        event_id = None
                    if isinstance(event_id, str):
                        self._remember(event_id, key)
            await send(message)

        return sending

    def _uploaded_lately(self, key: str) -> int:
        """Bytes this client uploaded in the last minute (per-second sums: at most 61 entries per client)."""
        oldest = int(time.monotonic()) - 60
        recent = self.uploads.setdefault(key, collections.deque())
        while recent and recent[0][0] < oldest:
            recent.popleft()
        if len(self.uploads) > 10_000:  # forget clients with no upload in the last minute
            for k in [k for k, q in self.uploads.items() if not q or q[-1][0] < oldest]:
                del self.uploads[k]
        return sum(n for _, n in recent)

    def _held(self) -> int:
        """Bytes all clients uploaded in the last UPLOADS_KEPT_S seconds (per-minute sums: bounded memory)."""
        oldest = (time.monotonic() - UPLOADS_KEPT_S) // 60
        while self.all_uploads and self.all_uploads[0][0] < oldest:
            self.all_uploads.popleft()
        return sum(n for _, n in self.all_uploads)

    def _count_upload(self, key: str, n: int) -> None:
        now = time.monotonic()
        _add(self.uploads.setdefault(key, collections.deque()), int(now), n)
        _add(self.all_uploads, int(now // 60), n)

    async def _counted(self, scope, receive, send, limit: int, key: str) -> None:
        """Pass the request on, counting its body as Gradio reads it; 413 once it passes the limit. The bytes
        count towards the client's uploads of the last minute and all clients' uploads held."""
        seen = 0
        started = False

        async def counting():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise TooLarge()
            return message

        async def sending(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting, sending)
        except TooLarge:
            if not started:
                await _reply(send, 413, _too_large(limit, True))
        finally:
            self._count_upload(key, seen)


def _add(sums: collections.deque[list[int]], bucket: int, n: int) -> None:
    """Add n bytes to the newest [bucket, bytes] entry, or start one for a new bucket."""
    if sums and sums[-1][0] == bucket:
        sums[-1][1] += n
    else:
        sums.append([bucket, n])


def _blocks(scope: dict):
    app = scope.get("app")
    return app.get_blocks() if hasattr(app, "get_blocks") else None


def _content_length(scope: dict) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _is_json(scope: dict) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            return b"json" in value.lower()
    return True  # FastAPI reads a body without a content type as JSON


def _too_large(limit: int, upload: bool) -> str:
    what = "an upload" if upload else "a request body"
    return f"{what} may be at most {_size(limit)}"


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else f"{math.ceil(n / 1024)} KB"


async def _read(receive, limit: int) -> bytes:
    chunks, total = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        total += len(chunk)
        if total > limit:
            raise TooLarge()
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive):
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # e.g. http.disconnect

    return replay


async def _reply(send, status: int, message: str, retry: bool = False) -> None:
    body = json.dumps({"detail": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if retry:
        headers.append((b"retry-after", b"1"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
