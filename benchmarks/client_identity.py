"""Who a client is and what the log holds, against any checkout's app (to compare one commit with another):

- **Spoofing under the default**: the app started as `python app.py` starts it outside a Space (no
  DIGITNET_TRUSTED_PROXIES, no SPACE_ID), listening on this machine's private address and reached from it (a LAN,
  Docker or VPN peer): 300 WebSockets to the pad's `/live`, each claiming another X-Forwarded-For address, held
  open; how many the server kept (the guard keeps 128 per client).
- **The log**: on a flood server of the same checkout (attacks.target.flood_server: its own log), 1,000 uploads
  that leave mid-body and 1,000 event streams for unknown sessions (attacks.connections.left_midway): the bytes,
  lines and tracebacks the log grew by.

    python -m benchmarks.client_identity [--root CHECKOUT] [--sockets 300] [--scale 1.0]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import functools
import json
import tempfile
from pathlib import Path

from websockets.sync.client import connect

from attacks.connections import left_midway
from attacks.target import context, flood_server
from digitnet.lab.serving import ROOT, Server, machine, private_address
from digitnet.settings import TRUSTED_PROXIES


def spoofed_sockets(root: Path, count: int) -> dict:
    """Open `count` WebSockets from this machine's private address to the app at `root`, started with its default
    trusted proxies, each with another X-Forwarded-For address; how many stay open."""
    address = private_address()
    if address is None:
        return {"skipped": "no private, non-loopback address on this machine"}
    outcomes: collections.Counter = collections.Counter()
    env = {TRUSTED_PROXIES: None, "SPACE_ID": None}
    with Server("app", env=env, host=address, cwd=root) as server, contextlib.ExitStack() as held:
        for i in range(count):
            spoof = {"X-Forwarded-For": f"11.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"}
            try:
                url = server.url.replace("http://", "ws://") + "live"
                socket = held.enter_context(connect(url, additional_headers=spoof, source_address=(address, 0)))
                socket.recv(timeout=0.05)
            except TimeoutError:
                outcomes["open"] += 1
            except Exception as e:
                outcomes[type(e).__name__ + (f" {e.rcvd.code}" if getattr(e, "rcvd", None) else "")] += 1
    return {"peer": address, "trusted_proxies": "unset (default)", "sockets": count} | dict(outcomes)


def log_growth(root: Path, scale: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with flood_server(functools.partial(Server, cwd=root), folder) as server:
            ctx = context(server, folder, remote_size=1024)
            try:
                return left_midway(ctx, scale).figures
            finally:
                ctx.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose app.py is served")
    parser.add_argument("--sockets", type=int, default=300)
    parser.add_argument("--scale", type=float, default=1.0, help="of the 1,000 connections of each log attack")
    opts = parser.parse_args()
    print(machine())
    print(json.dumps({"root": str(opts.root)}))
    print(json.dumps({"spoofing": spoofed_sockets(opts.root, opts.sockets)}))
    print(json.dumps({"log": log_growth(opts.root, opts.scale)}))


if __name__ == "__main__":
    main()
