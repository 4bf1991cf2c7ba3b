"""The server's log under attack: what a client does wrong is one line, not a traceback, and at most
LINES_PER_MINUTE such lines are written a minute (past it, one line at the minute's end says how many more there
were), so an attack cannot grow the log faster than that. The server's own faults keep their tracebacks.

Where the tracebacks came from: uvicorn logs every exception that leaves the app with its traceback ("Exception in
ASGI application", `run_asgi` in uvicorn/protocols/http/h11_impl.py), about 100 lines each here, and two come from
what a client does:
- a client leaving while its body is still being read: Starlette's `ClientDisconnect` (Gradio's upload route,
  which reads the multipart form as it streams in), `CLIENT_LEFT`;
- a handler's HTTP error after its stream has begun: Starlette's "Caught handled exception, but response already
  started", with the HTTPException as its cause (Gradio's `queue/data` for a session it does not know: a 404 raised
  inside the event stream, for every such request), `STREAM_REFUSED`. The stream is then ended as a stream ends.
"""

from __future__ import annotations

import asyncio
import logging
import time

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from digitnet.client import CLIENT

LOG = logging.getLogger("uvicorn.error")  # uvicorn's own log, as it writes it (level, format, stream)
LINES_PER_MINUTE = 60
MAX_PATH = 120  # characters of a path written (a request's headers may be 16 KB)
CLIENT_LEFT = "the client left before its request was read"
STREAM_REFUSED = "HTTP {status} inside a stream already begun"
ALREADY_STARTED = "response already started"  # Starlette's words when a handler's error comes after the start


def client_fault(exc: BaseException) -> str | None:
    """What the client did, when `exc` is one of the client's faults above (in an exception group, every one of
    its exceptions); None for anything else, the server's own faults."""
    if isinstance(exc, BaseExceptionGroup):
        faults = {client_fault(e) for e in exc.exceptions}
        return faults.pop() if len(faults) == 1 and None not in faults else None
    if isinstance(exc, ClientDisconnect):
        return CLIENT_LEFT
    cause = exc.__cause__
    if isinstance(exc, RuntimeError) and ALREADY_STARTED in str(exc) and isinstance(cause, HTTPException):
        return STREAM_REFUSED.format(status=cause.status_code) if cause.status_code < 500 else None
    return None


class OneLine:
    """ASGI middleware, outermost (digitnet/server.py): a client's fault (`client_fault`) becomes one line in
    uvicorn's log, written as a warning with the request and the client (`CLIENT`, the guard's key, when the guard
    has seen the request; else the peer), at most `per_window` lines every `window_s` seconds; the faults past
    that are counted, and the count written as one line when the window ends."""

    def __init__(self, app, per_window: int = LINES_PER_MINUTE, window_s: float = 60.0) -> None:
        self.app, self.per_window, self.window_s = app, per_window, window_s
        self.since, self.written, self.unwritten = time.monotonic(), 0, 0
        self.timer: asyncio.TimerHandle | None = None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = ended = False

        async def tracked(message) -> None:
            nonlocal started, ended
            if message["type"] == "http.response.start":
                started = True
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                ended = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            fault = client_fault(exc)
            if fault is None:
                raise
            self.note(scope, fault)
            if started and not ended:  # end the stream, as uvicorn would close it after the traceback
                await send({"type": "http.response.body", "body": b"", "more_body": False})

    def note(self, scope: dict, fault: str) -> None:
        now = time.monotonic()
        if now - self.since >= self.window_s:
            self.next_window()
        if self.written >= self.per_window:
            self.unwritten += 1
            if self.timer is None:  # the count is written when the window ends, even if no fault comes after
                self.timer = asyncio.get_running_loop().call_later(self.since + self.window_s - now, self.next_window)
            return
        self.written += 1
        client = scope.get(CLIENT) or (scope.get("client") or ("unknown",))[0]
        path = (scope.get("raw_path") or scope.get("path", "").encode()).decode("latin-1")  # still %-escaped
        if len(path) > MAX_PATH:
            path = path[:MAX_PATH] + "..."
        LOG.warning("%s %s from %s: %s", scope.get("method", "?"), path, client, fault)

    def next_window(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.unwritten:
            LOG.warning("%d more client faults in the last %g s, not written", self.unwritten, self.window_s)
        self.since, self.written, self.unwritten = time.monotonic(), 0, 0
