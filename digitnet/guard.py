"""Limits on what one request, one client, and all clients together can make the server hold, applied to every
request before Gradio reads it.

An ASGI middleware in front of all of Gradio's routes (issues 13 and 23). Gradio parses a request's whole JSON
body, walks every input's value for file objects (and downloads any whose path is an http(s) URL, whole, into
memory), decodes `data:` URLs with every Pillow format, keeps an entry for every upload id and session hash a
client names, and keeps every unread result, all before the app's functions can check anything. So, for every
request (the connections under them are bounded by digitnet/server.py):

- **Who**: a client as digitnet/client.py decides (an address, or an IPv6 /56 network; behind a trusted proxy, the
  address it appended to X-Forwarded-For).
- **Bodies**: none where the app needs none (GET and the like: 413); a JSON body at most MAX_JSON_BODY bytes (a
  drawing at the pad's limit of 5,000 points is about 60 KB), an upload at most the upload limit plus
  MULTIPART_SLACK; checked against the declared Content-Length before anything is read, then counted as it
  arrives. A body must keep arriving (no gap over BODY_IDLE_S) and be complete within BODY_DEADLINE_S, else 408.
  All JSON bodies being read at once hold at most BUFFERED_TOTAL bytes (503 past it), one client's at most
  BUFFERED_PER_CLIENT (429).
- **JSON shape**: at most MAX_DEPTH levels of nesting; every file value must carry Gradio's "meta" marker and
  name a file uploaded to this server (no http(s) or `data:` URLs); the page never sends either.
- **Open requests**: each client at most REQUESTS_PER_CLIENT requests at once, of which at most
  STREAMS_PER_CLIENT long-lived streams (the queue's events, heartbeats, upload progress), 429 past it.
- **Queue share**: each client at most PER_CLIENT events not yet delivered (waiting, running, or finished with the
  result unread: Gradio keeps every unread result); unread results whose session sent nothing for UNREAD_TTL
  seconds are dropped, and those of a page that left (its result stream closed, or none opened within JOIN_GRACE
  seconds of its queue/join) as soon as nothing of it waits or runs.
- **Sessions**: each client keeps at most SESSIONS_PER_CLIENT of the sessions Gradio stores; a new one beyond it
  replaces the client's own least recently used idle session, never another visitor's. A live prediction
  (component_server) never makes a session: with a session hash Gradio does not hold, it runs in LIVE_SESSION.
- **Uploads**: at most UPLOADS_AT_ONCE per client at once and PARTS_PER_UPLOAD parts each (the page sends one
  file per upload); bytes are charged as each chunk arrives, each part as at least FILE_OVERHEAD bytes (a file
  and its folder on disk), against UPLOAD_BYTES_PER_MINUTE per client, UPLOAD_FILES_PER_MINUTE files per client
  and UPLOADS_HELD bytes for all clients in UPLOADS_KEPT_S seconds (the upload cache's hour plus its cleaner's
  period): the chunk that would pass a budget is refused (429) and Gradio deletes the partial file, so concurrent
  uploads cannot pass a budget together.
- **Routes**: a request's route is the one Gradio will run, found in the app's own route table, each with its
  bound (digitnet/routes.py); routes the page never uses, and any the table does not declare, answer 404 before
  anything is read; the file route serves the app's own files only; upload progress ids are short and dropped
  once read; live predictions (component_server, past the queue) at most LIVE_PER_CLIENT at once per client.
- **WebSockets**: only the pad's (SOCKET_PATH, digitnet/live.py), at most SOCKETS_PER_CLIENT open per client, past
  it accepted and closed at once (1013, with the reason); its messages and the connections: digitnet/server.py.
- **Event rates**: events of a rated group (their concurrency_id, `Limits.event_rates`: the visitors' feedback)
  at most so many per client per minute, 429 with a message past it, counted by the function the event runs
  (digitnet/internals.py `endpoint`), whichever route and spelling reached it.
"""

from __future__ import annotations

import asyncio
import collections
import json
import math
import re
from dataclasses import dataclass, replace
from typing import Any

from digitnet import asgi, internals, routes
from digitnet.asgi import Refused
from digitnet.client import CLIENT, Trust, client_key
from digitnet.internals import GradioInternals
from digitnet.ledgers import Budget, Open, PerClientWindows, Sessions, clock
from digitnet.routes import EVENT, FILE, LIVE, SOCKET, STREAM, UPLOAD, Route, Rule, Table

MAX_JSON_BODY = 256 * 1024
MULTIPART_SLACK = 64 * 1024
MAX_DEPTH = 32
BODY_METHODS = ("POST", "PUT", "PATCH")
UPLOAD_ID = re.compile(r"[0-9a-z]{1,32}")  # the page's ids: Math.random().toString(36).substring(2)
FILE_TYPE = "gradio.FileData"
REMOTE_FILE = "file values must name a file uploaded to this app (POST /gradio_api/upload): {} are not accepted"
SOCKET_PATH = routes.SOCKET_PATH  # the pad's WebSocket (digitnet/live.PATH)
UNMATCHED = Rule(routes.JSON, "no route: Starlette answers 404 (or redirects to the path with or without its slash)")
NOT_OURS = "this app serves only its own files: a URL here would be fetched by the server"
LIVE_SESSION = "digitnet-live"  # the session of component_server calls whose own session Gradio does not hold


@dataclass(frozen=True)
class Limits:
    """Every limit the guard holds (see the module docstring); tests make some small."""

    max_upload: int = 5 * 2**20 + MULTIPART_SLACK
    max_json: int = MAX_JSON_BODY
    per_client: int = 8  # PER_CLIENT: events not yet delivered
    live_per_client: int = 2  # LIVE_PER_CLIENT: the pad needs two, the one in flight and the pen-up one
    sockets_per_client: int = 128  # SOCKETS_PER_CLIENT: one per open page; a school's NAT is one address
    requests_per_client: int = 128  # REQUESTS_PER_CLIENT
    streams_per_client: int = 64  # STREAMS_PER_CLIENT: a page holds one to three; a school's NAT is one address
    sessions_per_client: int = 16  # SESSIONS_PER_CLIENT
    uploads_at_once: int = 2  # UPLOADS_AT_ONCE
    parts_per_upload: int = 4  # PARTS_PER_UPLOAD
    file_overhead: int = 8 * 1024  # FILE_OVERHEAD: a 4-byte file and its folder take 8 KB of disk
    upload_bytes_per_minute: int = 50 * 2**20  # UPLOAD_BYTES_PER_MINUTE: ten uploads at the limit
    upload_files_per_minute: int = 600  # UPLOAD_FILES_PER_MINUTE: ten a second, for programs calling /classify
    uploads_held: int = 5 * 2**30  # UPLOADS_HELD
    uploads_kept_s: float = 70 * 60  # UPLOADS_KEPT_S: page.py cleans files older than an hour every 10 minutes
    body_idle_s: float = 10.0  # BODY_IDLE_S
    body_deadline_s: float = 120.0  # BODY_DEADLINE_S: 5 MB at 400 kbit/s
    buffered_total: int = 64 * 2**20  # BUFFERED_TOTAL
    buffered_per_client: int = 4 * 2**20  # BUFFERED_PER_CLIENT: 16 bodies at the JSON limit
    unread_ttl: float = 300.0  # UNREAD_TTL
    join_grace: float = 10.0  # JOIN_GRACE: a page opens its result stream at once after joining the queue
    upload_progress_ttl: float = 60.0  # an upload's progress entry is dropped this long after the upload ends
    event_rates: tuple[tuple[str, int], ...] = ()  # (concurrency_id, events per client per minute)


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
    """The ASGI middleware: `Middleware(Guard, blocks=..., limits=Limits(...))` (see server.middleware).

    `blocks`: the Gradio app behind it, whose internals the queue, session and upload-progress limits use
    (digitnet/internals.py); by default the app of the first request (Gradio's App sets itself as the request's
    app), checked then; an app that is not Gradio (tests) has no queue and no sessions to limit. `trust`: the
    proxies whose X-Forwarded-For is believed (digitnet/client.py; default: none, a Space's proxy on a Space)."""

    def __init__(
        self,
        app,
        max_upload: int | None = None,
        blocks=None,
        limits: Limits | None = None,
        trust: Trust | None = None,
        **sizes,
    ) -> None:
        """`max_upload`: the largest file an upload may carry (the body may be MULTIPART_SLACK more); `sizes`:
        any other field of Limits."""
        self.app = app
        if max_upload is not None:
            sizes["max_upload"] = max_upload + MULTIPART_SLACK
        self.limits = replace(limits or Limits(), **sizes)
        self.trust = trust or Trust()
        self.gradio = GradioInternals.of(blocks) if blocks is not None else None
        self.table: Table | None = None  # the app's routes, read at the first request (_look_up)
        lim = self.limits
        self.budget = Budget(lim.upload_bytes_per_minute, lim.upload_files_per_minute, lim.uploads_held,
                             lim.uploads_kept_s)  # fmt: skip
        self.requests = Open(lim.requests_per_client)
        self.streams = Open(lim.streams_per_client)
        self.uploading = Open(lim.uploads_at_once)
        self.live = Open(lim.live_per_client)
        self.sockets = Open(lim.sockets_per_client)
        self.joining = Open(lim.per_client)  # events admitted, not yet in Gradio's queue
        self.buffered = 0  # bytes of JSON bodies being read, all clients
        self.buffered_by: collections.Counter[str] = collections.Counter()  # the same, per client
        self.sessions = self._sessions()
        self.rates = {group: (n, PerClientWindows(60, 1)) for group, n in lim.event_rates}

    def _sessions(self) -> Sessions:
        g = self.gradio
        return Sessions(
            self.limits.sessions_per_client,
            self.limits.unread_ttl,
            pending=g.pending if g else lambda s: 0,
            drop=g.drop_unread if g else lambda s: None,
            held=g.held if g else lambda s: False,
            forget=g.forget if g else lambda s: None,
            grace=self.limits.join_grace,
        )

    def _look_up(self, scope: dict) -> Table:
        """The route table of the Gradio app behind, and its internals when not given: the first request's app
        (GradioChanged if its internals moved; digitnet/server.py checks them before it serves); an app that is
        not Gradio (tests): the declared table."""
        app = scope.get("app")
        if not hasattr(app, "get_blocks"):
            self.table = Table.declared()
        else:
            self.table = Table.of(internals.routes(app))
            if self.gradio is None:
                self.gradio = GradioInternals.of(app.get_blocks())
                self.sessions = self._sessions()
        return self.table

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        route = (self.table or self._look_up(scope)).match(scope)
        if scope["type"] == "websocket":
            return await self._socket(scope, receive, send, route)
        method = scope["method"]
        scope[CLIENT] = client_key(scope, self.trust)
        rule = route.rule if route is not None else UNMATCHED
        if (why := self._closed(route)) is not None:
            return await asgi.reply(send, 404, why)
        limit = self._body_limit(rule, method)
        if (
            (declared := asgi.content_length(scope)) is not None
            and declared > limit
            or asgi.chunked(scope)
            and not limit
        ):
            return await asgi.reply(send, 413, _too_large(limit, rule))
        key = scope[CLIENT]
        if not self.requests.take(key):
            return await asgi.reply(send, 429, f"at most {self.limits.requests_per_client} open requests per client",
                                retry=True)  # fmt: skip
        try:
            if rule.kind == STREAM and method == "GET":
                await self._stream(scope, receive, send, key, route)
            elif rule.kind == UPLOAD and method in BODY_METHODS:
                await self._upload(scope, receive, send, key)
            elif method in BODY_METHODS:
                await self._with_body(scope, receive, send, key, route, limit)
            else:
                await self.app(scope, self._deadline(receive), send)
        except Refused as r:
            await asgi.reply(send, r.status, r.message)  # nothing was sent yet: refused while reading the body
        finally:
            self.requests.give(key)

    async def _socket(self, scope, receive, send, route: Route | None) -> None:
        """A WebSocket: only the pad's, at most SOCKETS_PER_CLIENT open per client."""
        if route is None or route.rule.kind != SOCKET:
            return await send({"type": "websocket.close", "code": 1008})  # the handshake is refused: 403
        key = scope[CLIENT] = client_key(scope, self.trust)
        if not self.sockets.take(key):
            if (await receive())["type"] == "websocket.connect":
                await send({"type": "websocket.accept"})
                reason = f"at most {self.limits.sockets_per_client} live connections per client"
                await send({"type": "websocket.close", "code": 1013, "reason": reason})
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.sockets.give(key)

    def _closed(self, route: Route | None) -> str | None:
        """Why a request answers 404 before anything is read (a route the page never uses), or None."""
        if route is None:
            return None
        if route.rule.kind == routes.CLOSED:
            return route.rule.why
        if route.rule.kind == LIVE and self.gradio and not self.gradio.server_fns:
            return "this app has no component server functions"
        if route.rule.kind == FILE and any(internals.is_url(v) for v in route.params.values() if isinstance(v, str)):
            return NOT_OURS
        return None

    def _body_limit(self, rule: Rule, method: str) -> int:
        if method not in BODY_METHODS or rule.kind not in routes.BODY_KINDS:
            return 0
        return self.limits.max_upload if rule.kind == UPLOAD else self.limits.max_json

    async def _stream(self, scope, receive, send, key: str, route: Route) -> None:
        """A long-lived GET: counted among the client's streams while it is open."""
        upload_id = None
        if route.path.endswith("/upload_progress"):
            upload_id = asgi.query(scope, "upload_id")
            if upload_id is None or not UPLOAD_ID.fullmatch(upload_id):
                return await asgi.reply(send, 400, "upload_id must be 1-32 lowercase letters or digits")
        if not self.streams.take(key):
            return await asgi.reply(send, 429, f"at most {self.limits.streams_per_client} open streams per client",
                                retry=True)  # fmt: skip
        session = asgi.query(scope, "session_hash") if route.path.endswith("/queue/data") else None
        if session is not None:
            self.sessions.reading(session)
        try:
            await self.app(scope, self._deadline(receive), send)
        finally:
            self.streams.give(key)
            if session is not None:
                self.sessions.stopped(session)
            if upload_id is not None and self.gradio and upload_id not in self.gradio.upload_statuses:
                self.gradio.forget_upload(upload_id)  # the event Gradio made for the id, read or never used

    async def _upload(self, scope, receive, send, key: str) -> None:
        """Pass an upload on, charging each chunk to the budgets as it arrives and counting its parts."""
        upload_id = asgi.query(scope, "upload_id")
        if upload_id is not None and not UPLOAD_ID.fullmatch(upload_id):
            return await asgi.reply(send, 400, "upload_id must be 1-32 lowercase letters or digits")
        if not self.uploading.take(key):
            return await asgi.reply(send, 429, f"at most {self.limits.uploads_at_once} uploads at once per client",
                                retry=True)  # fmt: skip
        parts = asgi.Parts(asgi.boundary(scope))
        refusal: list[Refused] = []
        limit, lim = self.limits.max_upload, self.limits
        seen = 0
        error = self.gradio.multipart_error if self.gradio else Refused
        timed = self._deadline(receive)

        async def counting():
            nonlocal seen
            message = await asgi.refusing(timed, refusal, error)
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                seen += len(chunk)
                new_parts = parts.feed(chunk)
                if seen > limit:
                    asgi.refuse(refusal, error, Refused(413, _too_large(limit, routes.TABLE["/gradio_api/upload"])))
                if parts.count > lim.parts_per_upload:
                    asgi.refuse(
                        refusal, error, Refused(413, f"an upload may have at most {lim.parts_per_upload} parts")
                    )
                why = self.budget.charge(key, len(chunk) + new_parts * lim.file_overhead, new_parts)
                if why is not None:
                    asgi.refuse(refusal, error, Refused(429, why + "; try again later"))
            return message

        sending = asgi.Replacing(send, refusal)
        try:
            await self.app(scope, counting, sending)
        except (Refused, error):
            if not refusal:
                raise
            if not sending.started:  # Gradio let the refusal through instead of answering
                await asgi.reply(send, refusal[0].status, refusal[0].message)
        finally:
            self.uploading.give(key)
            if upload_id is not None and self.gradio:
                asyncio.get_running_loop().call_later(lim.upload_progress_ttl, self.gradio.forget_upload, upload_id)

    async def _with_body(self, scope, receive, send, key: str, route: Route | None, limit: int) -> None:
        """Read the whole body (bounded, with a deadline), check its JSON, then dispatch it."""
        body = await self._read(receive, limit, key)
        parsed = None
        if asgi.is_json(scope) and body:
            try:
                parsed = json.loads(body)
                why = check_json(parsed)
            except RecursionError:
                why = f"the request is nested more than {MAX_DEPTH} levels deep"
            except ValueError:
                why = None  # not JSON: Gradio answers it
            if why is not None:
                return await asgi.reply(send, 400, why)
        session = parsed.get("session_hash") if isinstance(parsed, dict) else None
        kind = route.rule.kind if route is not None else None
        if kind == LIVE:
            if isinstance(session, str) and self.gradio and not self.gradio.held(session):
                # Gradio would make a session for the hash and push the least recently used one out, another
                # visitor's; the pad's live function needs no session: the call runs in one shared session.
                body = json.dumps(parsed | {"session_hash": LIVE_SESSION}).encode()
            elif isinstance(session, str):
                self.sessions.remember(session, key)
        replay = asgi.replay(body, receive)
        if kind == LIVE:
            busy = f"at most {self.limits.live_per_client} live predictions at once per client"
            return await self._counted(self.live, key, scope, replay, send, busy)
        if kind != EVENT:
            return await self.app(scope, replay, send)
        if self.sessions.pending(key) + self.joining.counts[key] >= self.limits.per_client:
            return await asgi.reply(
                send, 429, f"this client already has {self.limits.per_client} requests waiting, running or with "
                "results not yet read; send the next one when one of them has been answered", retry=True,
            )  # fmt: skip
        if (why := self._rated(route, parsed, key)) is not None:
            return await asgi.reply(send, 429, why, retry=True)
        if isinstance(session, str):
            self.sessions.remember(session, key)
            if route.path.endswith("/queue/join"):
                self.sessions.joined(session)
        elif not route.rule.fn_index:  # /call: Gradio makes the event's id its session: read it from the answer
            send = self._event_id_to(send, key)
        await self._counted(self.joining, key, scope, replay, send, "too many requests at once from this client")

    def _rated(self, route: Route, body: Any, key: str) -> str | None:
        """Why an event of a rated group is refused (the client sent its share this minute), or None (counted).
        The group is that of the function Gradio will run, whichever route reached it (internals `endpoint`)."""
        api_name, read = route.params.get("api_name"), body if route.rule.fn_index else None
        group = self.gradio.group(api_name, read) if self.rates and self.gradio else None
        if group not in self.rates:
            return None
        per_minute, windows = self.rates[group]
        now = clock()
        if windows.total(key, now) >= per_minute:
            return f"at most {per_minute} {group} requests a minute per client; try again in a minute"
        windows.add(key, now, 1)
        return None

    async def _counted(self, ledger: Open, key: str, scope, receive, send, refusal: str) -> None:
        """Pass the request on, counted in `ledger` under `key` until it is answered; 429 when `key` has its
        share open already."""
        if not ledger.take(key):
            return await asgi.reply(send, 429, refusal, retry=True)
        try:
            await self.app(scope, receive, send)
        finally:
            ledger.give(key)

    async def _read(self, receive, limit: int, key: str) -> bytes:
        """The whole body: 413 past `limit`, 408 past the deadline, 503 when all bodies being read hold too much."""
        chunks: list[bytes] = []
        timed = self._deadline(receive)
        try:
            while True:
                message = await timed()
                if message["type"] != "http.request":
                    break
                chunk = message.get("body", b"")
                if sum(map(len, chunks)) + len(chunk) > limit:
                    raise Refused(413, _too_large(limit, UNMATCHED))
                if self.buffered + len(chunk) > self.limits.buffered_total:
                    raise Refused(503, "the server is reading too many requests at once; try again in a moment")
                if self.buffered_by[key] + len(chunk) > self.limits.buffered_per_client:
                    raise Refused(429, "this client is sending too many requests at once; send one at a time")
                self.buffered += len(chunk)
                self.buffered_by[key] += len(chunk)
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
        finally:
            held = sum(map(len, chunks))
            self.buffered -= held
            self.buffered_by[key] -= held
            if self.buffered_by[key] <= 0:
                del self.buffered_by[key]
        return b"".join(chunks)

    def _deadline(self, receive):
        """receive, refusing (408) a body that stalls for BODY_IDLE_S or is not complete within BODY_DEADLINE_S."""
        return asgi.deadline(receive, self.limits.body_idle_s, self.limits.body_deadline_s)

    def _event_id_to(self, send, key: str):
        """A send that reads the event id from a /call answer and remembers it as the client's session."""

        def remember(answer: Any) -> None:
            if isinstance(answer, dict) and isinstance(answer.get("event_id"), str):
                self.sessions.remember(answer["event_id"], key)

        return asgi.reading_answer(send, remember)


def _too_large(limit: int, rule: Rule) -> str:
    if not limit:
        return "this request takes no body"
    size = f"{limit / 2**20:.1f} MB" if limit >= 2**20 else f"{math.ceil(limit / 1024)} KB"
    return f"{'an upload' if rule.kind == UPLOAD else 'a request body'} may be at most {size}"
