"""Optionally push the visitors' store to a Hugging Face dataset repository with huggingface_hub's CommitScheduler.

Off unless DIGITNET_VISITORS_REPO names a repository (`user/name`, created private if absent; HF_TOKEN, a write
token from the Space's secrets); app.py's page starts it with the store (digitnet/page.py, `visitors_store`), and
the store does not know it is pushed.

Each process pushes its own shard, `shards/<UTC start>-<host>-<random>.sqlite3` (`shard_name`): one file per process
and start, as huggingface_hub's guide for CommitScheduler asks of several writers, so no process ever replaces a
file another one wrote (two replicas, or a restart without persistent storage, used to replace the one file
`visitors.sqlite3` and lose the other's drawings), and starting touches nothing already in the dataset. Every
DIGITNET_VISITORS_PUSH_MINUTES (default 10) the scheduler's thread, when the store changed since its last commit and
holds a row, copies it with SQLite's online backup (a consistent snapshot, while the app keeps writing) into a
temporary folder, commits the copy as the shard and deletes it. The live file is never uploaded itself: a copy taken
mid-write would not be a database. The shard is the whole store, so a store kept across restarts (persistent
storage) or shared by processes on one host appears in several shards: the rows' uids make them one set when read
(`visitors.read`, `python -m digitnet visitors export`).

`DIGITNET_VISITORS_REPO=dir:/a/folder` commits into a local folder instead (`LocalHub`): no network, no token; the
tests use it, and it is a dry run of the setup.
"""

from __future__ import annotations

import datetime
import os
import re
import shutil
import socket
import sqlite3
import tempfile
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from digitnet import visitors

LOCAL = "dir:"
SHARDS = visitors.SHARDS


def shard_name(now: datetime.datetime | None = None, host: str | None = None) -> str:
    """A name no other process picks: the UTC start time (so that names sort by start), the host and 12 random hex
    digits."""
    now = now or datetime.datetime.now(datetime.UTC)
    host = re.sub(r"[^A-Za-z0-9.-]+", "-", host or socket.gethostname()).strip("-.")[:40] or "host"
    return f"{now:%Y%m%dT%H%M%SZ}-{host}-{uuid.uuid4().hex[:12]}.sqlite3"


def state(path: Path) -> tuple[int, int]:
    """What the store holds now, to tell whether it changed: (rows, the largest id)."""
    conn = sqlite3.connect(visitors.read_only(path), uri=True)
    try:
        return conn.execute("SELECT count(*), coalesce(max(id), 0) FROM drawings").fetchone()
    finally:
        conn.close()


def snapshot(source: Path, target: Path) -> int:
    """A consistent copy of the store `source` at `target` (SQLite's online backup); returns its row count."""
    tmp = target.with_suffix(".tmp")
    src = sqlite3.connect(visitors.read_only(source), uri=True)
    dst = sqlite3.connect(tmp)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file (the store's own is in WAL mode)
        rows = dst.execute("SELECT count(*) FROM drawings").fetchone()[0]
    finally:
        dst.close()
        src.close()
    os.replace(tmp, target)  # the scheduler never sees a half-written copy
    return rows


@dataclass
class _Repo:
    repo_id: str


class LocalHub:
    """The part of huggingface_hub.HfApi that CommitScheduler uses, committing into a local folder: each commit's
    files are written under `folder` (each whole, or not at all), and `commits` counts them. It refuses to replace
    a file it did not write itself (as no process's push may)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.commits = 0
        self.written: set[Path] = set()
        self.pool = ThreadPoolExecutor(1)

    def create_repo(self, repo_id: str, **_: Any) -> _Repo:
        self.folder.mkdir(parents=True, exist_ok=True)
        return _Repo(repo_id)

    def run_as_future(self, fn, *args, **kwargs) -> Future:
        return self.pool.submit(fn, *args, **kwargs)

    def create_commit(self, operations: list, **_: Any) -> int:
        for op in operations:
            target = self.folder / op.path_in_repo
            if target.exists() and target not in self.written:
                raise FileExistsError(f"{target} was written by another process; a push never replaces it")
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
            if isinstance(op.path_or_fileobj, str | Path):
                shutil.copyfile(op.path_or_fileobj, tmp)
            else:
                with open(tmp, "wb") as f:
                    f.write(op.path_or_fileobj.read())
            os.replace(tmp, target)
            self.written.add(target)
        self.commits += 1
        return self.commits


def start(store: visitors.Store, repo: str, minutes: float = 10.0) -> Any | None:
    """Start pushing `store` to `repo` every `minutes` as this process's own shard (the scheduler; its `shard` is
    the shard's path in the repository), or None when `repo` is "" (no push)."""
    if not repo:
        return None
    from huggingface_hub import CommitOperationAdd, CommitScheduler

    name = shard_name()
    lock, pushed = threading.Lock(), [(0, 0)]

    class SnapshotScheduler(CommitScheduler):
        """CommitScheduler's thread and timing; its push is this process's snapshot (CommitScheduler's own lists a
        folder: here the folder would be the store's, whose live file must not be sent)."""

        shard = f"{SHARDS}/{name}"

        def push_to_hub(self):
            with lock:
                now = state(store.path)
                if now == pushed[0]:  # unchanged; an empty store is never pushed: no empty shard for every start
                    return None
                with tempfile.TemporaryDirectory(prefix="digitnet-push-") as folder:  # gone once committed
                    copy = Path(folder) / name
                    snapshot(store.path, copy)
                    info = self.api.create_commit(
                        repo_id=self.repo_id,
                        repo_type=self.repo_type,
                        operations=[CommitOperationAdd(path_in_repo=self.shard, path_or_fileobj=str(copy))],
                        commit_message=f"visitors' drawings: {self.shard} ({now[0]} rows)",
                        revision=self.revision,
                    )
                pushed[0] = now
                return info

    local = repo.startswith(LOCAL)
    return SnapshotScheduler(
        repo_id="local/visitors" if local else repo,
        repo_type="dataset",
        folder_path=store.path.parent,  # required by CommitScheduler, never listed (push_to_hub above)
        every=minutes,
        private=True,
        token=os.environ.get("HF_TOKEN"),
        hf_api=LocalHub(repo[len(LOCAL) :]) if local else None,
    )
