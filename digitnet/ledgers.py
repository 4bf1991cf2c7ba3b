"""The guard's ledgers (digitnet/guard.py): what each client, and all of them together, have open or have sent.

Each ledger is checked and charged in one synchronous call, so on the server's single event loop no two requests can
both pass a check that only one of them fits (the guard charges upload bytes as each chunk arrives, not after the
upload). Every ledger's memory is bounded: windows keep sums per second or per minute, per-client tables drop the
clients with nothing left in them.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable


def clock() -> float:
    return time.monotonic()


class Window:
    """Sums over the last `span` seconds, kept per `bucket` seconds (at most span / bucket + 2 entries)."""

    def __init__(self, span: float, bucket: float) -> None:
        self.span, self.bucket = span, bucket
        self.sums: collections.deque[list[float]] = collections.deque()  # [bucket index, sum]

    def total(self, now: float) -> float:
        oldest = (now - self.span) // self.bucket
        while self.sums and self.sums[0][0] < oldest:
            self.sums.popleft()
        return sum(n for _, n in self.sums)

    def add(self, now: float, n: float) -> None:
        index = now // self.bucket
        if self.sums and self.sums[-1][0] == index:
            self.sums[-1][1] += n
        else:
            self.sums.append([index, n])


class PerClientWindows:
    """A Window per client; clients whose window is empty are forgotten once there are many."""

    def __init__(self, span: float, bucket: float, many: int = 10_000) -> None:
        self.span, self.bucket, self.many = span, bucket, many
        self.windows: dict[str, Window] = {}

    def total(self, key: str, now: float) -> float:
        window = self.windows.get(key)
        return window.total(now) if window else 0.0

    def add(self, key: str, now: float, n: float) -> None:
        if key not in self.windows and len(self.windows) >= self.many:
            for k in [k for k, w in self.windows.items() if not w.total(now)]:
                del self.windows[k]
        self.windows.setdefault(key, Window(self.span, self.bucket)).add(now, n)


class Budget:
    """Upload bytes and files: per client in the last minute, and all clients together over the time the upload
    cache keeps them. `charge` checks and counts in one step: it refuses what would pass a limit, counting none
    of it, and counts what fits at once (so bytes still arriving count for every other upload at the same time)."""

    def __init__(self, bytes_per_minute: int, files_per_minute: int, held: int, kept_s: float) -> None:
        self.bytes_per_minute, self.files_per_minute, self.held, self.kept_s = (
            bytes_per_minute, files_per_minute, held, kept_s
        )  # fmt: skip
        self.client_bytes = PerClientWindows(60, 1)
        self.client_files = PerClientWindows(60, 1)
        self.all_bytes = Window(kept_s, 60)

    def charge(self, key: str, n: int, files: int = 0) -> str | None:
        """Why `n` more bytes (and `files` more files) from client `key` are refused, or None (then counted)."""
        now = clock()
        if self.client_bytes.total(key, now) + n > self.bytes_per_minute:
            return f"at most {self.bytes_per_minute / 2**20:.0f} MB of uploads a minute per client"
        if files and self.client_files.total(key, now) + files > self.files_per_minute:
            return f"at most {self.files_per_minute} uploaded files a minute per client"
        if self.all_bytes.total(now) + n > self.held:
            held = f"{self.held / 2**30:g} GB" if self.held >= 2**30 else f"{self.held / 2**20:g} MB"
            minutes = round(self.kept_s / 60)
            return f"all visitors together have uploaded {held} in {minutes} minutes, all this server keeps"
        self.client_bytes.add(key, now, n)
        self.all_bytes.add(now, n)
        if files:
            self.client_files.add(key, now, files)
        return None


class Open:
    """How many of something each client has open at once (uploads, live predictions, streams, requests), and all
    clients together. `take` checks and counts in one step; `give` hands one back."""

    def __init__(self, per_client: int, total: int | None = None) -> None:
        self.per_client, self.total = per_client, total
        self.counts: collections.Counter[str] = collections.Counter()
        self.all = 0

    def take(self, key: str) -> bool:
        if self.counts[key] >= self.per_client or (self.total is not None and self.all >= self.total):
            if not self.counts[key]:
                del self.counts[key]
            return False
        self.counts[key] += 1
        self.all += 1
        return True

    def give(self, key: str) -> None:
        self.counts[key] -= 1
        self.all -= 1
        if self.counts[key] <= 0:
            del self.counts[key]


class Sessions:
    """Whose Gradio sessions are whose, for each client's share of the queue and of the sessions Gradio keeps.

    `pending(session)` says how many of a session's events are not yet delivered (Gradio's queue), `drop(session)`
    drops its unread results, `held(session)` says whether Gradio still keeps its state and `forget(session)` makes
    Gradio drop it (see digitnet/internals.py). A client keeps at most `per_client` sessions: a new one beyond
    that replaces the client's own least recently used session with nothing pending, so that one client's new
    sessions never push another visitor's session out of Gradio's store.

    A page's session (`joined`: it sent a queue/join) reads its results on a stream it opens at once. One whose
    stream closed (its page left or reloaded; `reading`/`stopped`) and which has sent nothing since, or which
    opened none within `grace` seconds of joining (its page left first), has its unread results dropped as soon as
    nothing of it waits or runs: Gradio stops watching a stream once it closes, and nobody will read them, so they
    would otherwise count against the visitor's address until the TTL."""

    def __init__(
        self,
        per_client: int,
        unread_ttl: float,
        pending: Callable[[str], int],
        drop: Callable[[str], None],
        held: Callable[[str], bool],
        forget: Callable[[str], None],
        many: int = 20_000,
        grace: float = 10.0,
    ) -> None:
        self.per_client, self.unread_ttl, self.many, self.grace = per_client, unread_ttl, many, grace
        self.pending_of, self.drop, self.held, self.forget = pending, drop, held, forget
        self.owner: dict[str, str] = {}  # session -> client
        self.streams: collections.Counter[str] = collections.Counter()  # session -> its result streams open
        self.left: set[str] = set()  # sessions whose last stream closed, nothing sent since
        self.unread: dict[str, float] = {}  # page sessions that joined with no stream open -> when
        self.last: dict[str, float] = {}  # session -> time of its last request
        self.by_client: dict[str, collections.OrderedDict[str, None]] = {}  # client -> its sessions, oldest first

    def pending(self, key: str) -> int:
        """This client's events not yet delivered; its stale unread results (last request older than the TTL,
        nothing of it still waiting or running) are dropped first."""
        total = 0
        for session in list(self.by_client.get(key, ())):
            now = clock()
            stale = now - self.last.get(session, 0.0) >= self.unread_ttl
            gone = session in self.left or now - self.unread.get(session, now) >= self.grace
            if self.pending_of(session) and (stale or gone):
                self.drop(session)
            total += self.pending_of(session)
        return total

    def reading(self, session: str) -> None:
        """A result stream of `session` opened."""
        self.streams[session] += 1
        self.left.discard(session)
        self.unread.pop(session, None)

    def stopped(self, session: str) -> None:
        """A result stream of `session` closed (delivered everything, or its page left)."""
        self.streams[session] -= 1
        if self.streams[session] <= 0:
            del self.streams[session]
            if session in self.owner:
                self.left.add(session)

    def joined(self, session: str) -> None:
        """`session` (already remembered) sent a queue/join: a page's, which reads its results on a stream."""
        if not self.streams[session]:
            self.unread.setdefault(session, clock())

    def remember(self, session: str, key: str) -> None:
        """Note that `session` is client `key`'s (the latest address a session is used from counts) and that it
        sent a request now."""
        self.last[session] = clock()
        self.left.discard(session)
        previous = self.owner.get(session)
        if previous == key:
            self.by_client[key].move_to_end(session)
            return
        if previous is not None:
            self._disown(session, previous)
        self.owner[session] = key
        mine = self.by_client.setdefault(key, collections.OrderedDict())
        mine[session] = None
        if len(mine) > self.per_client:
            self._make_room(key, session)
        if len(self.owner) > self.many:
            self._prune(session)

    def _make_room(self, key: str, new: str) -> None:
        """Forget the client's sessions Gradio no longer keeps, then its least recently used idle ones, down to
        per_client (never the session being added, which Gradio creates once the request reaches it)."""
        mine = self.by_client[key]
        for session in [s for s in mine if s != new and not self.held(s) and not self.pending_of(s)]:
            self._disown(session, key)
        idle = [s for s in mine if s != new and not self.pending_of(s)]
        for session in idle[: max(0, len(mine) - self.per_client)]:
            self.forget(session)
            self._disown(session, key)

    def _prune(self, new: str) -> None:
        """Forget the sessions Gradio no longer keeps and with nothing pending (bounds this ledger's memory)."""
        for session, key in list(self.owner.items()):
            if session != new and not self.held(session) and not self.pending_of(session):
                self._disown(session, key)

    def _disown(self, session: str, key: str) -> None:
        self.owner.pop(session, None)
        self.last.pop(session, None)
        self.left.discard(session)
        self.unread.pop(session, None)
        mine = self.by_client.get(key)
        if mine is not None:
            mine.pop(session, None)
            if not mine:
                del self.by_client[key]
