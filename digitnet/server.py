"""The HTTP server under the page: uvicorn, with the connection limits Gradio's own `launch()` cannot set.

Gradio's `launch()` starts uvicorn with its defaults: no limit on connections, none on how long a client may take
to send a request's headers (a connection that never finishes them stays open for good, holding a file
descriptor), and the X-Forwarded-For header of any loopback peer believed. `serve` mounts the same Gradio app
(`gr.mount_gradio_app`) and runs uvicorn itself with:

- at most `max_connections` connections open (503 past it), and at most `connections_per_peer` from one peer that
  is not a trusted proxy (429; behind a proxy every visitor shares the proxy's connections, and digitnet/guard.py
  counts each visitor's open requests instead), an IPv6 peer counted with its whole /48 (client.network_of: one
  customer's prefix); the file-descriptor limit raised to what the cap needs;
- a request's headers complete within HEADER_TIMEOUT_S of the connection opening or of the previous answer
  (else 408 and the connection closed), idle keep-alive connections closed after KEEP_ALIVE_S, headers at most
  MAX_HEADER_BYTES;
- no proxy headers read by uvicorn: digitnet/client.py decides who the client is (`trusted_proxies`);
- a client's faults (leaving mid-request, a stream refused after it began) one line in the log, not a traceback,
  at most a minute's worth (digitnet/serverlog.py);
- the guard (digitnet/guard.py) told which Gradio app it guards, and responses gzipped inside it, a bounded number
  at once (digitnet/compression.py), Gradio's own Brotli middleware (outside the guard) taken out;
- the pad's WebSocket (digitnet/live.py, at live.PATH on Gradio's own app, behind the guard) when the app has a
  batcher: a message at most MAX_JSON_BODY bytes (else the connection is closed, 1009), no compression (a small
  message could inflate), pings every PING_S; an upgraded connection still counts among the connections.

The caps and the trusted proxies are the app's settings (digitnet/settings.py: 2,048 and 256 unless
DIGITNET_MAX_CONNECTIONS and DIGITNET_CONNECTIONS_PER_PEER say otherwise, for tests).
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import json
import os
import resource
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import gradio as gr
import h11
import uvicorn
from fastapi import FastAPI
from gradio.utils import get_space
from starlette.middleware import Middleware
from starlette.routing import Mount, WebSocketRoute
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from digitnet import live
from digitnet.client import Trust, network_of, parse_address
from digitnet.compression import Compression
from digitnet.guard import MAX_JSON_BODY, Guard, Limits
from digitnet.internals import GradioInternals, without_brotli
from digitnet.internals import routes as routes_of
from digitnet.serverlog import OneLine
from digitnet.settings import Settings

HEADER_TIMEOUT_S = 10.0
KEEP_ALIVE_S = 5
MAX_HEADER_BYTES = 16 * 1024
PING_S = 20.0
SPARE_FDS = 256  # files beyond the connections: weights, uploads being written, logs, the event loop's own


@dataclass(frozen=True)
class App:
    """What `serve` serves (digitnet/page.py's `build` makes it): the page, the guard's limits, the batcher behind
    the pad's connection (None: the pad answers over HTTP only), gr.mount_gradio_app's keyword arguments, and the
    settings (the connection caps and the trusted proxies)."""

    blocks: gr.Blocks
    limits: Limits
    batcher: live.Batcher | None = None
    options: dict = field(default_factory=dict)
    settings: Settings = field(default_factory=Settings)


def middleware(app: App) -> list[Middleware]:
    """The guard in front of Gradio, told which app it guards, and gzip inside it, a bounded number of responses
    at once (digitnet/compression.py; event streams stay as they are): 637 -> 404 KiB for the first screen with
    the system's fonts (accessible.THEME)."""
    guard = Middleware(Guard, blocks=app.blocks, limits=app.limits, trust=Trust(app.settings.trusted_proxies))
    return [guard, Middleware(Compression)]


def mount(app: App, host: str = "127.0.0.1", port: int = 7860) -> FastAPI:
    """The ASGI app `serve` runs: Gradio's app for `app.blocks` mounted at / with the guard and compression
    (`middleware`) and the pad's WebSocket route, and without Gradio's own Brotli middleware, which would compress
    outside the guard (digitnet/compression.py)."""
    options = dict(app.options)
    app.blocks.state_session_capacity = options.pop("state_session_capacity", 10_000)
    options.setdefault("ssr_mode", False)  # a Node proxy in front would be a second, unbounded server
    options.setdefault("root_path", os.environ.get("GRADIO_ROOT_PATH") or None)  # as launch() reads them
    options.setdefault("pwa", get_space() is not None)
    routes = []
    if app.batcher is not None:  # on Gradio's own app, behind the guard
        routes.append(WebSocketRoute(live.PATH, functools.partial(live.serve_socket, batcher=app.batcher)))
    outer = gr.mount_gradio_app(
        FastAPI(docs_url=None, redoc_url=None, openapi_url=None),
        app.blocks,
        path="/",
        server_name=host,
        server_port=port,
        app_kwargs={"middleware": middleware(app), "routes": routes},
        **options,
    )
    gradio = next(r.app for r in outer.routes if isinstance(r, Mount))
    without_brotli(gradio)
    GradioInternals.of(app.blocks)  # the guard's limits need them: refuse to start when Gradio moved them
    list(routes_of(gradio))  # and its route table (digitnet/routes.py)
    return outer


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


def raise_file_limit(connections: int) -> int:
    """Raise the soft limit on open files to what `connections` need (as far as the hard limit allows); returns
    how many connections fit under it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = connections + SPARE_FDS
    if hard != resource.RLIM_INFINITY:
        want = min(want, hard)
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        soft = want
    return max(1, min(connections, soft - SPARE_FDS))


def _raw_reply(status: int, reason: str, message: str) -> bytes:
    body = json.dumps({"detail": message}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
        f"connection: close\r\nretry-after: 1\r\n\r\n"
    )
    return head.encode() + body


class Connections:
    """Open connections, all together and per peer, for one server."""

    def __init__(self, total: int, per_peer: int, trust: Trust) -> None:
        self.total, self.per_peer, self.trust = total, per_peer, trust
        self.open = 0
        self.by_peer: Counter[str] = Counter()

    def admit(self, peer: str) -> bytes | None:
        """Count a new connection from `peer` (the address it comes from), or the answer that refuses it. Peers
        are counted by network (an IPv4 address; an IPv6 /48, one customer's whole prefix: client.network_of)."""
        if self.open >= self.total:
            return _raw_reply(503, "Service Unavailable", "the server has too many connections; try again shortly")
        address = parse_address(peer)
        key = self._key(peer, address)
        if address not in self.trust and self.by_peer[key] >= self.per_peer:
            return _raw_reply(429, "Too Many Requests", f"at most {self.per_peer} connections per client")
        self.open += 1
        self.by_peer[key] += 1
        return None

    def release(self, peer: str) -> None:
        key = self._key(peer, parse_address(peer))
        self.open -= 1
        self.by_peer[key] -= 1
        if self.by_peer[key] <= 0:
            del self.by_peer[key]

    @staticmethod
    def _key(peer: str, address) -> str:
        return peer if address is None else network_of(address)


class Socket(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol, handing its connection back to the count when it closes."""

    release: Callable[[], None] | None = None

    def connection_lost(self, exc) -> None:
        if self.release is not None:
            self.release, release = None, self.release
            release()
        super().connection_lost(exc)


def bounded_protocol(connections: Connections, header_timeout: float = HEADER_TIMEOUT_S) -> type[H11Protocol]:
    """uvicorn's h11 protocol with the connection caps and the header timeout."""

    class Bounded(H11Protocol):
        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self.peer = self.client[0] if self.client else "unknown"
            self.header_timer: asyncio.TimerHandle | None = None
            refusal = connections.admit(self.peer)
            self.admitted = refusal is None
            if refusal is not None:
                transport.write(refusal)
                transport.close()
                return
            self._arm()

        def connection_lost(self, exc) -> None:
            if self.admitted:
                self.admitted = False
                connections.release(self.peer)
            self._disarm()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self.admitted:
                super().data_received(data)

        def handle_websocket_upgrade(self, event) -> None:
            self._disarm()
            super().handle_websocket_upgrade(event)
            socket = self.transport.get_protocol()
            if self.admitted and isinstance(socket, Socket):  # the socket now holds this connection's place
                self.admitted = False
                socket.release = functools.partial(connections.release, self.peer)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm()  # the next request's headers must come in time too (keep-alive)

        def _arm(self) -> None:
            self._disarm()
            if not self.transport.is_closing():
                self.header_timer = self.loop.call_later(header_timeout, self._headers_late)

        def _disarm(self) -> None:
            if self.header_timer is not None:
                self.header_timer.cancel()
                self.header_timer = None

        def _headers_late(self) -> None:
            self.header_timer = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():  # no whole request yet
                if self.conn.our_state is h11.IDLE:
                    self.transport.write(_raw_reply(408, "Request Timeout", "the request's headers came too slowly"))
                self.transport.close()

    return Bounded


def serve(app: App, server_name: str | None = None, server_port: int | None = None, quiet: bool = False) -> None:
    """Serve `app` until the process is stopped (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT as Gradio reads them)."""
    host = server_name or os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1")
    port = server_port or int(os.environ.get("GRADIO_SERVER_PORT", "7860"))
    asgi = mount(app, host, port)
    settings = app.settings
    total = raise_file_limit(settings.max_connections)
    connections = Connections(total, settings.connections_per_peer, Trust(settings.trusted_proxies))
    config = uvicorn.Config(
        OneLine(asgi),
        host=host,
        port=port,
        log_level="warning",
        http=bounded_protocol(connections),
        ws=Socket,
        ws_max_size=MAX_JSON_BODY,
        ws_per_message_deflate=False,
        ws_ping_interval=PING_S,
        ws_ping_timeout=PING_S,
        proxy_headers=False,
        timeout_keep_alive=KEEP_ALIVE_S,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        backlog=min(2048, total),
    )
    if not quiet:
        print(f"* Running on local URL:  http://{host}:{port}", flush=True)
    uvicorn.Server(config).run()
