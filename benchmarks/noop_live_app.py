"""The no-network ceiling for the live readout: the no-op page (benchmarks/noop_app.py, whose `live` returns a
constant) served exactly as app.py serves the app (digitnet/server.py under uvicorn, the guard, gzip, the
session limit), so a benchmark against it measures everything around the network's forward pass.
"""

from __future__ import annotations

from benchmarks.noop_app import app
from digitnet.server import serve


def launch(server_name: str | None = None, server_port: int | None = None, quiet: bool = False) -> None:
    serve(app, server_name=server_name, server_port=server_port, quiet=quiet)
