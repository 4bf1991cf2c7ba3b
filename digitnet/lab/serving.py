"""The app served to tests and benchmarks: its own process on a loopback port, and the requests a page sends."""

from __future__ import annotations

import datetime
import ipaddress
import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from gradio_client import Client, handle_file
from PIL import Image
from websockets.sync.client import ClientConnection, connect

from digitnet.drawing import CANVAS, payload
from digitnet.settings import TRUSTED_PROXIES

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_7 = ROOT / "examples" / "digit_7_mnist_test_0.png"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """An app (app.py or benchmarks/noop_app.py) served by its own Python process on a free loopback port."""

    def __init__(
        self, module: str = "app", timeout: float = 120.0, env: dict[str, str | None] | None = None,
        host: str = "127.0.0.1", cwd: Path = ROOT,
    ) -> None:  # fmt: skip
        """`env`: environment variables for the app's process, over those of this one and of `Server`'s own
        (DIGITNET_TRUSTED_PROXIES=127.0.0.1: the simulated visitors' proxy is loopback, see `visitor`); None for a
        variable: unset. `host`: the IPv4 address it listens on; `cwd`: the checkout whose app it runs."""
        self.host, self.port = host, free_port()
        self.url = f"http://{host}:{self.port}/"
        code = f"import {module} as m; m.launch(server_name={host!r}, server_port={self.port}, quiet=True)"
        env = os.environ | {TRUSTED_PROXIES: "127.0.0.1", "PYTHONUNBUFFERED": "1"} | (env or {})
        env = {k: v for k, v in env.items() if v is not None}
        self.proc = subprocess.Popen([sys.executable, "-c", code], cwd=cwd, env=env, stdout=subprocess.DEVNULL)
        self._wait(timeout)

    def _wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}")
            try:
                with socket.create_connection((self.host, self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        self.close()
        raise TimeoutError(f"server did not start within {timeout} s")

    def memory_mb(self) -> dict[str, float]:
        """Current (VmRSS) and peak (VmHWM) resident memory of the server process, in MB."""
        fields = dict(line.split(":", 1) for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines())
        return {k: int(fields[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM")}

    def alive(self) -> bool:
        return self.proc.poll() is None

    def client(self, address: str | None = None) -> Client:
        """A gradio_client for the app; `address`: the visitor it plays (see `visitor`)."""
        return Client(self.url, verbose=False, headers=forwarded_for(address))

    def socket(self, address: str | None = None, path: str = "live", **kwargs) -> ClientConnection:
        """The pad's WebSocket (digitnet/live.py) as `address` (see `visitor`): a websockets sync connection."""
        url = self.url.replace("http://", "ws://") + path
        return connect(url, additional_headers=forwarded_for(address), **{"open_timeout": 30} | kwargs)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def private_address() -> str | None:
    """This machine's own IPv4 address on its way out (a LAN's, Docker's) when it is private and not loopback: a
    peer the app sees as on a LAN, Docker or VPN network (`Server(host=...)`); None when there is none."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # sends nothing: a UDP socket only picks the route's source address
        except OSError:
            return None
        address = ipaddress.ip_address(s.getsockname()[0])
    return None if address.is_global or address.is_loopback or address.is_unspecified else str(address)


def visitor(i: int) -> str:
    """A distinct client address for simulated visitor i (198.18.0.0/15, the benchmarking range). Sent as
    X-Forwarded-For from loopback, which `Server` starts the app to trust as a proxy (DIGITNET_TRUSTED_PROXIES), it
    is the client the app's per-client limits (digitnet/guard.py) see, so N load clients are N visitors, not one."""
    return f"198.18.{i // 256 % 256}.{i % 256}"


def forwarded_for(address: str | None) -> dict | None:
    return {"X-Forwarded-For": address} if address else None


def pad_value(digit: np.ndarray | None = None, seq: int = 0) -> dict:
    """What the drawing pad sends for a 28x28 MNIST digit (default the example 7) traced as pen strokes,
    drawn large in the middle of the pad."""
    from digitnet.lab.strokes import polylines

    digit = np.asarray(Image.open(EXAMPLE_7).convert("L")) if digit is None else np.asarray(digit)
    scale = (CANVAS - 60) / 28
    strokes = [[(x * scale + 30, y * scale + 30) for x, y in line] for line in polylines(digit, tolerance=0.7)]
    return payload(strokes, seq=seq)


def requests(folder: Path) -> dict[str, tuple]:
    """The two user actions, as (api_name, args): a drawing on the pad and an uploaded image."""
    return {
        "draw": ("/draw", (pad_value(), "cnn")),
        "upload": ("/upload", (handle_file(str(EXAMPLE_7)), "cnn")),
    }


def machine() -> str:
    load = os.getloadavg()
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, {platform.system()}, "
        f"Python {platform.python_version()}; {when}; load average at start {load[0]:.2f}"
    )
