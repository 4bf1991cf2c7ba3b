"""Responses gzipped inside the guard, a bounded number at once, and Gradio's own files compressed once.

Gradio's own Brotli middleware ran outside the guard and made a compressor with a 4 MB window for every response
to a client that asked for `br` (128 slow readers of its 4.6 MB Plotly bundle: +464 MB for as long as they read,
another visitor waiting 1.7 s). digitnet/server.py takes it out (digitnet/internals.py `without_brotli`); this
middleware gzips instead:

- Gradio's build files and static files (CACHED: content-hashed names, unchanged while the app runs) are
  compressed once, at the first request for each, and kept (at most CACHE_BYTES, compressed: all of Gradio's
  19 MB of build files fit); every later request is sent the kept bytes, for the CPU of an uncompressed one.
- Anything else (the page, /config, the API's answers) is gzipped as it streams past (Starlette's GZipResponder:
  each chunk compressed and flushed, never the whole body held), each client at most PER_CLIENT responses at once
  and all clients together at most IN_FLIGHT, counted from the first compressed chunk to the last, so a client
  that reads slowly holds its own slots, not everyone's; past them a response goes uncompressed.
- Event streams, images and bodies under MINIMUM_SIZE go as they are.
"""

from __future__ import annotations

import asyncio
import zlib

import anyio.to_thread
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.gzip import GZipResponder

from digitnet.client import CLIENT
from digitnet.ledgers import Open

MINIMUM_SIZE = 1024  # smaller responses are sent as they are
LEVEL = 6
PER_CLIENT = 6  # a browser opens at most six connections to a host over HTTP/1.1
IN_FLIGHT = 64  # all clients together: about 0.3 MB of zlib state each
CACHED = ("/assets/", "/static/")  # Gradio's build and static files
CACHE_BYTES = 32 * 2**20  # Gradio's files kept compressed, in all
CHUNK = 64 * 1024  # a kept file is sent this much at a time
LARGEST = 8 * 2**20  # a file larger than this is streamed, never kept (Gradio's largest: 4.6 MB)
TEXT = ("text/", "application/javascript", "application/json", "image/svg+xml")


class Compression:
    """ASGI middleware: gzip when the client accepts it (`Middleware(Compression)` inside the guard, which sets the
    client's key in the scope)."""

    def __init__(self, app, per_client: int = PER_CLIENT, in_flight: int = IN_FLIGHT, minimum_size: int = MINIMUM_SIZE,
                 cache_bytes: int = CACHE_BYTES) -> None:  # fmt: skip
        self.app, self.minimum_size, self.cache_bytes = app, minimum_size, cache_bytes
        self.slots = Open(per_client, in_flight)
        self.cache: dict[str, tuple[list, bytes]] = {}  # path -> (response headers, gzipped body)
        self.making: dict[str, asyncio.Future] = {}  # path -> done when its first request has compressed it

    @property
    def cached(self) -> int:
        return sum(len(body) for _, body in self.cache.values())

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or "gzip" not in Headers(scope=scope).get("accept-encoding", ""):
            return await self.app(scope, receive, send)
        key = scope.get(CLIENT, "")
        if scope["method"] == "GET" and scope["path"].startswith(CACHED) and "range" not in Headers(scope=scope):
            return await self._file(scope, receive, send, key)
        await self._stream(scope, receive, send, key)

    async def _stream(self, scope, receive, send, key: str) -> None:
        responder = Responder(self.app, self.minimum_size, self.slots, key)
        try:
            await responder(scope, receive, send)
        finally:
            responder.release()

    async def _file(self, scope, receive, send, key: str) -> None:
        """One of Gradio's files: the kept compressed bytes, or (the first request for it, with a slot) the file
        read whole, compressed in a thread and kept; otherwise streamed."""
        path = scope["path"]
        if path not in self.cache and path in self.making:
            await asyncio.wait([self.making[path]])  # its first request is compressing it
        if path in self.cache:
            return await _send_kept(*self.cache[path], scope, send)
        if path in self.making or not self.slots.take(key):
            return await self._stream(scope, receive, send, key)
        self.making[path] = asyncio.get_running_loop().create_future()
        try:
            kept = await self._keep(path, scope, receive, send)
        finally:
            self.slots.give(key)
            self.making.pop(path).set_result(None)
        if kept is not None:
            await _send_kept(*kept, scope, send)

    async def _keep(self, path: str, scope, receive, send) -> tuple[list, bytes] | None:
        """Run the app; keep its answer compressed when it is a whole text file that fits (then return it), else
        pass the answer on as it is (None)."""
        start: dict = {}
        chunks: list[bytes] = []
        passing = False

        async def capture(message) -> None:
            nonlocal passing
            if message["type"] == "http.response.start":
                headers = Headers(raw=message["headers"])
                size = int(headers.get("content-length") or LARGEST + 1)
                text = headers.get("content-type", "").startswith(TEXT)
                passing = message["status"] != 200 or not text or size > LARGEST or "content-encoding" in headers
                start.update(message)
                if passing:
                    await send(message)
            elif passing:
                await send(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        if passing or not start:
            return None
        body = await anyio.to_thread.run_sync(_gzip, chunks)
        headers = MutableHeaders(raw=list(start["headers"]))
        headers["content-encoding"] = "gzip"
        headers["content-length"] = str(len(body))
        headers.add_vary_header("Accept-Encoding")
        kept = (headers.raw, body)
        if self.cached + len(body) <= self.cache_bytes:
            self.cache[path] = kept
        return kept


def _gzip(chunks: list[bytes]) -> bytes:
    """The chunks gzipped as one body (at LEVEL, as the streamed responses), without joining them first."""
    compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return b"".join([*(compressor.compress(chunk) for chunk in chunks), compressor.flush()])


async def _send_kept(headers: list, body: bytes, scope, send) -> None:
    """A kept file: 304 when the client holds it already (its ETag), else the compressed bytes, CHUNK at a time
    (as Starlette's FileResponse sends a file: uvicorn holds at most about one chunk for a client that does not
    read)."""
    tag = Headers(raw=headers).get("etag")
    if tag is not None and Headers(scope=scope).get("if-none-match") == tag:
        unchanged = [(k, v) for k, v in headers if k not in (b"content-length", b"content-encoding")]
        await send({"type": "http.response.start", "status": 304, "headers": unchanged})
        return await send({"type": "http.response.body", "body": b""})
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    for start in range(0, len(body), CHUNK):  # a chunk at a time: the server waits for a slow reader between them
        await send({"type": "http.response.body", "body": body[start : start + CHUNK],
                    "more_body": start + CHUNK < len(body)})  # fmt: skip


class Responder(GZipResponder):
    """Starlette's streaming gzip, which takes a slot only when it starts compressing (not for event streams,
    images or small bodies, which it sends as they are); without one, the whole response goes uncompressed."""

    def __init__(self, app, minimum_size: int, slots: Open, key: str) -> None:
        super().__init__(app, minimum_size, compresslevel=LEVEL)
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
