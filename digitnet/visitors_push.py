"""Optionally push the visitors' store to a Hugging Face dataset repository with huggingface_hub's CommitScheduler.

Off unless DIGITNET_VISITORS_REPO names a repository (`user/name`, created private if absent; HF_TOKEN, a write
token from the Space's secrets); app.py's page starts it with the store (digitnet/page.py, `visitors_store`), and
the store does not know it is pushed. Every DIGITNET_VISITORS_PUSH_MINUTES (default 10) the scheduler's thread copies
the store with SQLite's online backup (a consistent snapshot, while the app keeps writing) into the folder `push/`
beside it, when rows were added since the last copy, and commits that folder's changed files. The live file is
never uploaded itself: a copy taken mid-write would not be a database.

`DIGITNET_VISITORS_REPO=dir:/a/folder` commits into a local folder instead (`LocalHub`): no network, no token; the
tests use it, and it is a dry run of the setup.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from digitnet import visitors

LOCAL = "dir:"


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
    files are written under `folder`, and `commits` counts them."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.commits = 0
        self.pool = ThreadPoolExecutor(1)

    def create_repo(self, repo_id: str, **_: Any) -> _Repo:
        self.folder.mkdir(parents=True, exist_ok=True)
        return _Repo(repo_id)

    def run_as_future(self, fn, *args, **kwargs) -> Future:
        return self.pool.submit(fn, *args, **kwargs)

    def create_commit(self, operations: list, **_: Any) -> int:
        for op in operations:
            target = self.folder / op.path_in_repo
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "wb") as f:
                f.write(op.path_or_fileobj.read())
        self.commits += 1
        return self.commits


def start(store: visitors.Store, repo: str, minutes: float = 10.0) -> Any | None:
    """Start pushing `store` to `repo` every `minutes` (the scheduler), or None when `repo` is "" (no push)."""
    if not repo:
        return None
    from huggingface_hub import CommitScheduler

    folder = store.path.parent / "push"
    folder.mkdir(exist_ok=True)
    lock, copied = threading.Lock(), [-1]

    class SnapshotScheduler(CommitScheduler):
        def push_to_hub(self):
            with lock:
                rows = store.rows
                if rows != copied[0]:
                    copied[0] = snapshot(store.path, folder / visitors.FILE)
            return super().push_to_hub()

    local = repo.startswith(LOCAL)
    return SnapshotScheduler(
        repo_id="local/visitors" if local else repo,
        repo_type="dataset",
        folder_path=folder,
        every=minutes,
        private=True,
        token=os.environ.get("HF_TOKEN"),
        allow_patterns=[visitors.FILE],
        hf_api=LocalHub(repo[len(LOCAL) :]) if local else None,
    )
