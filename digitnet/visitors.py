"""Visitors' drawings: the pad's strokes and what the visitor said they drew, kept in an embedded SQLite file.

A row is a drawing from the pad (never an upload), its pen width, the label the visitor gave ("0"-"9" or
"not a digit"), whether they simply agreed with the answer shown, each network's answer at the time, the app's
version and the time (UTC), and its `uid`: a UUID given when it is kept, the same in every copy of the row, so
that copies of stores (a dataset's shards, digitnet/visitors_push.py) read as one set with each drawing once. No
address, no cookie, no session id. See docs/visitors.md.

Where: the folder the store is opened in (the app's: DIGITNET_VISITORS_DIR or its default, digitnet/settings.py;
the app opens it, and starts its push when one is set, digitnet/visitors_push.py). The file is visitors.sqlite3 in
WAL mode with synchronous=FULL: `Store.add` returns only once the row's commit is on disk, so an acknowledged
drawing survives a kill -9 of the server (and a power cut). The schema's version is SQLite's user_version; opening
an older file migrates it (MIGRATIONS), a newer one is refused.

Reading (`read`) takes one store file, or a folder: every store file in it (a store's folder, a dataset of
shards), merged by `uid`.

Bounded: a drawing as digitnet/drawing.py bounds /draw's; the file holds at most MAX_ROWS rows and MAX_BYTES bytes
of strokes and answers (the app's: DIGITNET_VISITORS_MAX_ROWS / _MAX_MB), after which `add` politely keeps nothing
more. The per-client rate is the guard's (digitnet/guard.py, Limits.event_rates).
"""

from __future__ import annotations

import datetime
import json
import sqlite3
import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

FILE = "visitors.sqlite3"
SHARDS = "shards"  # a dataset's folder of shards (digitnet/visitors_push.py)
NOT_A_DIGIT = "not a digit"
LABELS = (*map(str, range(10)), NOT_A_DIGIT)
MAX_ROWS = 200_000
MAX_BYTES = 512 * 2**20  # a typical drawing takes 1-3 KB, the largest the pad allows about 60 KB
ROOT = Path(__file__).resolve().parent.parent

# The namespace of the uids a migration gives rows kept before rows had one (`old_uid`).
UID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "digitnet:visitors:drawings")


def old_uid(*fields: object) -> str:
    """The uid of a row kept before rows had one: a UUID (version 5) of its own fields, so that every copy of the
    row (the live store, an older snapshot pushed from it, read through a migrated copy) gets the same one."""
    return str(uuid.uuid5(UID_NAMESPACE, json.dumps(fields, separators=(",", ":"))))


def add_uids(conn: sqlite3.Connection) -> None:
    """Migration 3: every row gets its `uid` (`old_uid` of its fields); the store gives new rows a random one."""
    conn.execute("ALTER TABLE drawings ADD COLUMN uid TEXT")
    conn.create_function("old_uid", 8, old_uid, deterministic=True)
    conn.execute("UPDATE drawings SET uid = old_uid(id, created, app_version, strokes, width, label, agreed, answers)")
    conn.execute("CREATE UNIQUE INDEX drawings_uid ON drawings (uid)")


# Each entry (SQL, or a function of the connection) takes a file from version i to i + 1 (0: a new, empty file).
MIGRATIONS = (
    """CREATE TABLE drawings (
        id INTEGER PRIMARY KEY,
        created TEXT NOT NULL,
        app_version TEXT NOT NULL,
        strokes TEXT NOT NULL,
        width INTEGER NOT NULL,
        label TEXT NOT NULL,
        agreed INTEGER NOT NULL,
        answers TEXT NOT NULL
    )""",
    # 2: the network whose answer the visitor was shown (what "yes" agreed with)
    "ALTER TABLE drawings ADD COLUMN model TEXT",
    # 3: a uid that survives copies and merges
    add_uids,
)
VERSION = len(MIGRATIONS)


class StoreError(RuntimeError):
    """The store's file cannot be used (made by a newer version, or not a database)."""


def app_version() -> str:
    """The checkout's git commit, else "unknown"."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return out.stdout.decode().strip() or "unknown"


def migrate(conn: sqlite3.Connection, upto: int = VERSION) -> int:
    """Bring the file to schema version `upto` in one transaction (an autocommit connection, as `connect` makes);
    returns the version it had."""
    conn.execute("BEGIN IMMEDIATE")  # one process migrates; another one opening the file waits, then sees it done
    try:
        had = conn.execute("PRAGMA user_version").fetchone()[0]
        if had > VERSION:
            raise StoreError(f"the visitors' store has schema version {had}; this digitnet reads up to {VERSION}")
        for version in range(had, upto):
            step = MIGRATIONS[version]
            if callable(step):
                step(conn)
            else:
                conn.execute(step)
            conn.execute(f"PRAGMA user_version = {version + 1}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return had


def connect(path: Path) -> sqlite3.Connection:
    """The store's file, in WAL mode, every commit synced to disk before it returns."""
    conn = sqlite3.connect(path, timeout=10, check_same_thread=False, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
    except sqlite3.DatabaseError as e:
        conn.close()
        raise StoreError(f"{path} is not a visitors' store: {e}") from e
    return conn


@dataclass(frozen=True)
class Saved:
    """What `add` did: the row's id (and uid), or None with the reason nothing was kept."""

    id: int | None
    reason: str | None = None
    uid: str | None = None


class Store:
    """The store's file, open for the server's lifetime; `add` is safe from any thread. `version`: the app's,
    kept with each drawing (None: `app_version()`)."""

    def __init__(
        self, folder: Path, max_rows: int = MAX_ROWS, max_bytes: int = MAX_BYTES, version: str | None = None
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / FILE
        self.max_rows, self.max_bytes = max_rows, max_bytes
        self.conn = connect(self.path)
        migrate(self.conn)
        self.rows, self.bytes = self.conn.execute(
            "SELECT count(*), coalesce(sum(length(strokes) + length(answers)), 0) FROM drawings"
        ).fetchone()
        self.version = version or app_version()
        self.lock = threading.Lock()

    def add(self, strokes: list, width: int, label: str, agreed: bool, answers: dict, model: str | None) -> Saved:
        """Keep one drawing (strokes as the pad sends them, already checked by digitnet/drawing.py); returns once
        its commit is on disk, or with the reason it was not kept (the store is full)."""
        if label not in LABELS:
            raise ValueError(f"label must be one of {', '.join(LABELS)}")
        strokes_json = json.dumps(strokes, separators=(",", ":"))
        answers_json = json.dumps(answers, separators=(",", ":"))
        size = len(strokes_json) + len(answers_json)
        created = datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")
        uid = str(uuid.uuid4())
        with self.lock:
            if self.rows >= self.max_rows or self.bytes + size > self.max_bytes:
                return Saved(None, "full")
            cur = self.conn.execute(
                "INSERT INTO drawings (created, app_version, strokes, width, label, agreed, answers, model, uid) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (created, self.version, strokes_json, int(width), label, int(agreed), answers_json, model, uid),
            )  # autocommit: the row is committed (and synced) when execute returns
            self.rows += 1
            self.bytes += size
            return Saved(cur.lastrowid, uid=uid)

    def close(self) -> None:
        with self.lock:
            self.conn.close()


def read_only(path: Path) -> str:
    """The URI that opens `path` read-only (any characters in the path)."""
    return path.resolve().as_uri() + "?mode=ro"


@dataclass
class Row:
    """One kept drawing, as read back (`id`: its number in the file it was read from; `uid`: the same everywhere)."""

    id: int
    created: str
    app_version: str
    strokes: list[list[float]]
    width: int
    label: str
    agreed: bool
    answers: dict[str, dict]
    model: str | None
    uid: str

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def files(path: str | Path) -> list[Path]:
    """The store files at `path`: the file itself; or in a folder (a store's, a dataset's download, a folder of
    shards), its `visitors.sqlite3` first, then the other `*.sqlite3` in it and in its `shards/` folder, by name.
    Nothing deeper: not the `.cache` that huggingface_hub downloads beside the files, nor the `push/` copy an older
    version kept beside a store."""
    path = Path(path)
    if not path.is_dir():
        return [path] if path.exists() else []
    first = [path / FILE] if (path / FILE).is_file() else []
    others = [*path.glob("*.sqlite3"), *(path / SHARDS).glob("*.sqlite3")]
    return first + sorted(p for p in others if p.is_file() and p != path / FILE)


def read_file(path: Path) -> Iterator[Row]:
    """Every row of one store file, oldest first; an older file is read through a migrated copy in memory, so
    reading never changes the file."""
    conn = sqlite3.connect(read_only(path), uri=True)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version < VERSION:
            memory = sqlite3.connect(":memory:", isolation_level=None)
            conn.backup(memory)
            conn.close()
            conn = memory
            migrate(conn)
        elif version > VERSION:
            raise StoreError(f"{path} has schema version {version}; this digitnet reads up to {VERSION}")
        query = "SELECT id, created, app_version, strokes, width, label, agreed, answers, model, uid FROM drawings"
        for r in conn.execute(query + " ORDER BY id"):
            yield Row(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5], bool(r[6]), json.loads(r[7]), r[8], r[9])
    except sqlite3.DatabaseError as e:
        raise StoreError(f"{path} is not a readable visitors' store: {e}") from e
    finally:
        conn.close()


def read(path: str | Path) -> Iterator[Row]:
    """Every row at `path` (a store file, or a folder of them: `files`) as one set: each uid once, the first copy
    met (files in `files`' order, each file's rows oldest first)."""
    found = files(path)
    if not found:
        where = Path(path) / FILE if Path(path).is_dir() else Path(path)
        raise StoreError(f"{where}: no visitors' store there")
    seen: set[str] = set()
    for file in found:
        for row in read_file(file):
            if row.uid not in seen:
                seen.add(row.uid)
                yield row


def merge(path: str | Path, out: str | Path) -> int:
    """Write every row at `path` (`read`: each uid once) into a new store file `out`, uids kept (ids renumbered in
    `read`'s order); returns the row count. One file for a dataset of many shards."""
    out = Path(out)
    if out.exists():
        raise StoreError(f"{out} exists; merge writes a new file")
    rows = list(read(path))
    out.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(out, isolation_level=None)
    try:
        migrate(conn)
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO drawings (created, app_version, strokes, width, label, agreed, answers, model, uid) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(r.created, r.app_version, json.dumps(r.strokes, separators=(",", ":")), r.width, r.label,
              int(r.agreed), json.dumps(r.answers, separators=(",", ":")), r.model, r.uid) for r in rows],
        )  # fmt: skip
        conn.execute("COMMIT")
    finally:
        conn.close()
    return len(rows)
