"""Every DIGITNET_* setting, read once from the environment into one frozen value (docs/serving.md has the table).

app.py reads them (`Settings.from_env(os.environ)`) and builds the app with them: the guard's limits and the
feedback rate (digitnet/page.py), the connection caps and the trusted proxies (digitnet/server.py), the visitors'
store and its push (digitnet/visitors.py, digitnet/visitors_push.py). The lab reads only DIGITNET_DATA, the same way.
An empty variable counts as unset, except DIGITNET_TRUSTED_PROXIES, where an empty list trusts no proxy.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from digitnet import visitors

DATA = "DIGITNET_DATA"
TRUSTED_PROXIES = "DIGITNET_TRUSTED_PROXIES"
MAX_CONNECTIONS = "DIGITNET_MAX_CONNECTIONS"
CONNECTIONS_PER_PEER = "DIGITNET_CONNECTIONS_PER_PEER"
UPLOAD_MB_PER_MINUTE = "DIGITNET_UPLOAD_MB_PER_MINUTE"
UPLOADS_HELD_MB = "DIGITNET_UPLOADS_HELD_MB"
FEEDBACK_PER_MINUTE = "DIGITNET_FEEDBACK_PER_MINUTE"
VISITORS_DIR = "DIGITNET_VISITORS_DIR"
VISITORS_MAX_ROWS = "DIGITNET_VISITORS_MAX_ROWS"
VISITORS_MAX_MB = "DIGITNET_VISITORS_MAX_MB"
VERSION = "DIGITNET_VERSION"
VISITORS_REPO = "DIGITNET_VISITORS_REPO"
VISITORS_PUSH_MINUTES = "DIGITNET_VISITORS_PUSH_MINUTES"

# Unset, DIGITNET_TRUSTED_PROXIES trusts no proxy, except on a Hugging Face Space: there the app is reached only
# through the Space's proxy, from a private address, and the proxy appends the visitor's address to X-Forwarded-For.
# Elsewhere (a LAN, Docker, a VPN, a cloud) a private peer may be anyone, so a proxy is trusted only when named
# (docs/hosting.md).
SPACE_PROXIES = "private"


@dataclass(frozen=True)
class Settings:
    """The app's settings; the defaults are what an unset variable gives."""

    data: Path | None = None  # the MNIST folder (the lab's; None: ./data)
    trusted_proxies: str = "none"  # whose X-Forwarded-For is believed (client.Trust; on a Space, SPACE_PROXIES)
    max_connections: int = 2048  # open connections in all (503 past it)
    connections_per_peer: int = 256  # from one peer that is not a trusted proxy (429); a school's NAT is one address
    upload_mb_per_minute: float | None = None  # per client (None: the guard's, Limits.upload_bytes_per_minute)
    uploads_held_mb: float | None = None  # all clients in the upload cache's time (None: Limits.uploads_held)
    feedback_per_minute: int = 10  # "Is that right?" submissions per client per minute
    visitors_dir: Path | None = None  # the visitors' store (None: nothing kept); from_env picks the default
    visitors_max_rows: int = visitors.MAX_ROWS
    visitors_max_mb: float = visitors.MAX_BYTES / 2**20  # of strokes and answers (512)
    version: str | None = None  # kept with each drawing (None: the checkout's git commit)
    visitors_repo: str = ""  # the dataset repository the store is pushed to ("": none; "dir:FOLDER": a folder)
    visitors_push_minutes: float = 10.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """The settings `environ` (os.environ) gives; ValueError naming the variable for a malformed one."""

        def read(name: str, kind: type, default):
            value = environ.get(name, "")
            try:
                return kind(value) if value else default
            except ValueError:
                raise ValueError(f"{name}={value!r} is not a {kind.__name__}") from None

        d = cls()
        return cls(
            data=read(DATA, Path, d.data),
            trusted_proxies=environ.get(TRUSTED_PROXIES, SPACE_PROXIES if on_a_space(environ) else d.trusted_proxies),
            max_connections=read(MAX_CONNECTIONS, int, d.max_connections),
            connections_per_peer=read(CONNECTIONS_PER_PEER, int, d.connections_per_peer),
            upload_mb_per_minute=read(UPLOAD_MB_PER_MINUTE, float, d.upload_mb_per_minute),
            uploads_held_mb=read(UPLOADS_HELD_MB, float, d.uploads_held_mb),
            feedback_per_minute=read(FEEDBACK_PER_MINUTE, int, d.feedback_per_minute),
            visitors_dir=visitors_dir(environ),
            visitors_max_rows=read(VISITORS_MAX_ROWS, int, d.visitors_max_rows),
            visitors_max_mb=read(VISITORS_MAX_MB, float, d.visitors_max_mb),
            version=read(VERSION, str, d.version),
            visitors_repo=environ.get(VISITORS_REPO, d.visitors_repo).strip(),
            visitors_push_minutes=read(VISITORS_PUSH_MINUTES, float, d.visitors_push_minutes),
        )

    @property
    def visitors_max_bytes(self) -> int:
        return int(self.visitors_max_mb * 2**20)


def on_a_space(environ: Mapping[str, str]) -> bool:
    """Whether the app runs on a Hugging Face Space: SPACE_ID (`user/name`), which the Spaces runtime sets in every
    Space (its "helper environment variables"). Not SYSTEM=spaces, which Gradio's `get_space` reads: the Space's
    image sets it, so it stays set when the image is run anywhere else."""
    return bool(environ.get("SPACE_ID", "").strip())


def visitors_dir(environ: Mapping[str, str]) -> Path | None:
    """The visitors' store's folder: DIGITNET_VISITORS_DIR (`off`: None, nothing kept); without it /data/visitors on
    a Hugging Face Space with persistent storage (/data writable), else ~/.local/share/digitnet/visitors."""
    if value := environ.get(VISITORS_DIR):
        return None if value.strip().lower() == "off" else Path(value)
    data = Path("/data")
    if on_a_space(environ) and data.is_dir() and os.access(data, os.W_OK):
        return data / "visitors"
    return Path(environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "digitnet" / "visitors"
