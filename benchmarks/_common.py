"""Shared helpers for the serving benchmarks: start an app on loopback, build requests, summarise timings."""

from __future__ import annotations

import datetime
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from gradio_client import Client, handle_file
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
CANVAS = 280  # the app's sketchpad size (app.CANVAS)
EXAMPLE_7 = ROOT / "examples" / "digit_7_mnist_test_0.png"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """An app (app.py or benchmarks/noop_app.py) served by its own Python process on a free loopback port."""

    def __init__(self, module: str, timeout: float = 120.0) -> None:
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


def sketch_files(folder: Path, canvas: int = CANVAS) -> tuple[Path, Path]:
    """A drawn 7 as the browser sends it: a transparent layer holding the strokes, and the composite on white."""
    ink = np.asarray(Image.open(EXAMPLE_7).convert("L"))
    alpha = Image.fromarray(ink).resize((canvas - 60, canvas - 60), Image.BILINEAR)
    layer = Image.new("RGBA", (canvas, canvas), (0, 0, 0, 0))
    layer.paste(Image.new("RGBA", alpha.size, (0, 0, 0, 255)), (30, 30), alpha)
    composite = Image.alpha_composite(Image.new("RGBA", layer.size, "white"), layer)
    paths = folder / "layer.png", folder / "composite.png"
    layer.save(paths[0])
    composite.save(paths[1])
    return paths


def sketch_value(layer: Path, composite: Path) -> dict:
    return {
        "background": None,
        "layers": [handle_file(str(layer))],
        "composite": handle_file(str(composite)),
        "id": None,
    }


def requests(folder: Path) -> dict[str, tuple]:
    """The two user actions, as (api_name, args): a sketchpad drawing and an uploaded image."""
    layer, composite = sketch_files(folder)
    return {
        "draw": ("/draw", (sketch_value(layer, composite), "cnn")),
        "upload": ("/upload", (handle_file(str(EXAMPLE_7)), "cnn")),
    }


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def summary_ms(seconds: list[float]) -> dict[str, float]:
    ms = [s * 1e3 for s in seconds]
    return {"median": statistics.median(ms), "p95": percentile(ms, 95), "p99": percentile(ms, 99)}


def machine() -> str:
    load = os.getloadavg()
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, {platform.system()}, "
        f"Python {platform.python_version()}; {when}; load average at start {load[0]:.2f}"
    )
