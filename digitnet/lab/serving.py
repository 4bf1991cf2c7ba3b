"""The app served to tests and benchmarks: its own process on a loopback port, and the requests a page sends."""

from __future__ import annotations

import datetime
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

from digitnet.views import CANVAS

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_7 = ROOT / "examples" / "digit_7_mnist_test_0.png"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """An app (app.py or benchmarks/noop_app.py) served by its own Python process on a free loopback port."""

    def __init__(self, module: str = "app", timeout: float = 120.0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        code = f"import {module} as m; m.launch(server_name='127.0.0.1', server_port={self.port}, quiet=True)"
        env = os.environ | {"PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
        self._wait(timeout)

    def _wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
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

    def client(self) -> Client:
        return Client(self.url, verbose=False)

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


def sketch_files(folder: Path, ink: np.ndarray | None = None, name: str = "sketch") -> tuple[Path, Path]:
    """A drawing as the browser sends it: a transparent layer holding the strokes, and the composite on white.

    `ink`: a 28x28 digit (white on black, as MNIST; default the example 7), drawn large in the canvas's middle.
    """
    ink = np.asarray(Image.open(EXAMPLE_7).convert("L")) if ink is None else ink
    alpha = Image.fromarray(ink).resize((CANVAS - 60, CANVAS - 60), Image.BILINEAR)
    layer = Image.new("RGBA", (CANVAS, CANVAS), (0, 0, 0, 0))
    layer.paste(Image.new("RGBA", alpha.size, (0, 0, 0, 255)), (30, 30), alpha)
    composite = Image.alpha_composite(Image.new("RGBA", layer.size, "white"), layer)
    paths = folder / f"{name}_layer.png", folder / f"{name}_composite.png"
    layer.save(paths[0])
    composite.save(paths[1])
    return paths


def sketch_value(folder: Path, ink: np.ndarray | None = None, name: str = "sketch") -> dict:
    """The sketchpad value an API client sends for that drawing."""
    layer, composite = sketch_files(folder, ink, name)
    layers, composite = [handle_file(str(layer))], handle_file(str(composite))
    return {"background": None, "layers": layers, "composite": composite, "id": None}


def requests(folder: Path) -> dict[str, tuple]:
    """The two user actions, as (api_name, args): a sketchpad drawing and an uploaded image."""
    return {
        "draw": ("/draw", (sketch_value(folder), "cnn")),
        "upload": ("/upload", (handle_file(str(EXAMPLE_7)), "cnn")),
    }


def machine() -> str:
    load = os.getloadavg()
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, {platform.system()}, "
        f"Python {platform.python_version()}; {when}; load average at start {load[0]:.2f}"
    )
