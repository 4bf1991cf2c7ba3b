"""Responses gzipped inside the guard, a bounded number at once: each client at most PER_CLIENT compressed
responses in flight and all clients together at most IN_FLIGHT; past either, a response goes uncompressed.

Gradio's own Brotli middleware ran outside the guard and made a compressor with a 4 MB window for every response
to a client that asked for `br` only (128 slow readers of its 4.6 MB Plotly bundle: +464 MB for as long as they
read). digitnet/server.py takes it out (digitnet/internals.py `without_brotli`); this middleware gzips instead,
streaming (Starlette's GZipResponder: each chunk compressed as it passes, flushed, never the whole body held), and
counts a response in flight from its first byte to its last, so a client that reads slowly holds its own slots,
not everyone's. An uncompressed response costs the server about a tenth of the CPU (docs/serving.md).
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware.gzip import GZipResponder

from digitnet.client import CLIENT
from digitnet.ledgers import Open

MINIMUM_SIZE = 1024  # smaller responses are sent as they are
LEVEL = 6
PER_CLIENT = 6  # a browser opens at most six connections to a host over HTTP/1.1
IN_FLIGHT = 64  # all clients together: about 0.3 MB of zlib state each


class Compression:
    """ASGI middleware: gzip when the client accepts it and has a slot (`Middleware(Compression)` inside the guard,
    which sets the client's key in the scope)."""

    def __init__(self, app, per_client: int = PER_CLIENT, in_flight: int = IN_FLIGHT, minimum_size: int = MINIMUM_SIZE,
                 level: int = LEVEL) -> None:  # fmt: skip
        self.app, self.minimum_size, self.level = app, minimum_size, level
        self.slots = Open(per_client, in_flight)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or "gzip" not in Headers(scope=scope).get("accept-encoding", ""):
            return await self.app(scope, receive, send)
        responder = Responder(self.app, self.minimum_size, self.level, self.slots, scope.get(CLIENT, ""))
        try:
            await responder(scope, receive, send)
        finally:
            responder.release()


class Responder(GZipResponder):
    """Starlette's streaming gzip, which takes a slot only when it starts compressing (not for event streams,
    images or small bodies, which it sends as they are); without one, the whole response goes uncompressed."""

    def __init__(self, app, minimum_size: int, level: int, slots: Open, key: str) -> None:
        super().__init__(app, minimum_size, compresslevel=level)
        self.slots, self.key = slots, key
        self.compressing: bool | None = None  # None: not decided yet

    async def apply_compression(self, body: bytes, *, more_body: bool) -> bytes:
        if self.compressing is None:
            self.compressing = self.slots.take(self.key)
        if not self.compressing:
            return body  # unchanged: GZipResponder then sends it without Content-Encoding
        return await super().apply_compression(body, more_body=more_body)

    def release(self) -> None:
        if self.compressing:
            self.compressing = False
            self.slots.give(self.key)
