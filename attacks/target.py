"""The app under attack: a server with its own Gradio cache, temp folder, log and visitors' store, a loopback web
server standing in for any remote one, and the `Context` every attack gets."""

from __future__ import annotations

import http.server
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from attacks.clients import Api
from attacks.payloads import encode, seven
from digitnet import settings
from digitnet.lab.serving import EXAMPLE_7, Server

VISITORS_MAX_MB = 1  # the flood server's visitors' store cap (the app's own: visitors.MAX_BYTES), so floods reach it

Start = Callable[..., Server]  # how a server is started: Server, or the tests' `start_app` fixture


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

    @property
    def cache_folder(self) -> Path:
        """Gradio's cache on a flood server (GRADIO_TEMP_DIR)."""
        return self.folder / "cache"

    def log_size(self) -> int:
        log = self.folder / "server.log"
        return log.stat().st_size if log.exists() else 0

    def log_text(self, since: int = 0) -> str:
        """What the server wrote to its log after its first `since` bytes."""
        log = self.folder / "server.log"
        if not log.exists():
            return ""
        with log.open("rb") as f:
            f.seek(since)
            return f.read().decode(errors="replace")

    def close(self) -> None:
        """Stop the remote file server and the client (the server is closed by whoever started it)."""
        self.files.close()
        self.api.close()


def context(server: Server, folder: Path, remote_size: int = 64 * 2**20) -> Context:
    return Context(server, Api(server), FileServer(remote_size), folder)


def flood_server(start: Start, folder: Path, module: str = "app") -> Server:
    """The app in its own process (`start(module, env=...)`) with its own Gradio cache (folder/cache), temp folder
    (folder/tmp), visitors' store (folder/visitors, capped at VISITORS_MAX_MB) and log (folder/server.log: the
    server's stderr), so that disk and log growth are this server's alone."""
    (folder / "cache").mkdir(parents=True, exist_ok=True)
    (folder / "tmp").mkdir(exist_ok=True)
    env = {"GRADIO_TEMP_DIR": str(folder / "cache"), "TMPDIR": str(folder / "tmp"),
           settings.VISITORS_DIR: str(folder / "visitors"), settings.VISITORS_MAX_MB: str(VISITORS_MAX_MB)}  # fmt: skip
    log = os.open(folder / "server.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    stderr = os.dup(2)
    os.dup2(log, 2)  # the child inherits it
    try:
        return start(module, env=env)
    finally:
        os.dup2(stderr, 2)
        os.close(stderr)
        os.close(log)
