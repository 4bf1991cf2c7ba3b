"""Raw sockets: many connections held open at once, each sending a request (often unfinished) chunk by chunk, and
what became of them; another client asks meanwhile."""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from attacks.clients import Answer
from attacks.measure import other_client, raise_fd_limit
from attacks.target import Context

UNTRUSTED_PEER = "127.0.0.2"  # a loopback address not trusted as a proxy (the tests' servers trust 127.0.0.1)


@dataclass
class Held:
    """What became of a batch of raw connections: outcome -> count ('HTTP 408', 'closed', 'held' for no answer
    by the end, 'no connection', 'send failed'), and the other client's answer while they were open."""

    outcomes: collections.Counter
    victim: Answer
    waited: float
    seconds: float


def _outcome(line: bytes) -> str:
    parts = line.split()
    return f"HTTP {parts[1].decode(errors='replace')}" if len(parts) > 1 else "closed"


async def _hold(
    ctx: Context,
    count: int,
    request: Callable[[int], Iterable[bytes]],
    hold: float,
    parallel: int = 256,
    local: str | None = UNTRUSTED_PEER,
) -> Held:
    """Open `count` connections from `local` (by default a peer the app does not trust as a proxy: an attacker
    connecting directly), each sending request(i) (the chunks, then nothing more), and keep them open for up to
    `hold` s or until the server has answered or closed every one. Streams (HTTP 200) stay open until the end;
    the other client asks once every connection has sent its request."""
    loop = asyncio.get_running_loop()
    host, port = "127.0.0.1", ctx.server.port
    outcomes: collections.Counter = collections.Counter()
    sem, release, sent_all, decided_all = (asyncio.Semaphore(parallel), asyncio.Event(), asyncio.Event(),
                                           asyncio.Event())  # fmt: skip
    sent = decided = 0
    t0 = loop.time()

    def note(outcome: str | None, was_sent: bool) -> None:
        nonlocal sent, decided
        sent += 1 if was_sent else 0
        if outcome is not None:
            outcomes[outcome] += 1
            decided += 1
        if sent + outcomes["no connection"] + outcomes["send failed"] >= count:
            sent_all.set()
        if decided >= count:
            decided_all.set()

    async def one(i: int) -> None:
        async with sem:
            try:
                opened = asyncio.open_connection(host, port, local_addr=(local, 0) if local else None, limit=2**16)
                reader, writer = await asyncio.wait_for(opened, 15)
            except (OSError, TimeoutError):
                return note("no connection", False)
            try:
                for chunk in request(i):
                    writer.write(chunk)
                    await asyncio.wait_for(writer.drain(), 30)
            except (OSError, TimeoutError):
                writer.close()
                return note("send failed", False)
        note(None, True)
        try:
            left = max(0.01, t0 + hold - loop.time())
            outcome = _outcome(await asyncio.wait_for(reader.readline(), left))
        except TimeoutError:
            outcome = "held"
        except OSError:
            outcome = "reset"
        note(outcome, False)
        if outcome in ("HTTP 200", "held"):
            await release.wait()
        writer.close()

    tasks = [asyncio.create_task(one(i)) for i in range(count)]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(sent_all.wait(), hold)
    victim, waited = await asyncio.to_thread(other_client, ctx)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(decided_all.wait(), max(0.01, t0 + hold - loop.time()))
    release.set()
    await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 60)
    return Held(outcomes, victim, waited, loop.time() - t0)


def hold(ctx: Context, count: int, request: Callable[[int], Iterable[bytes]], hold_s: float, **kw) -> Held:
    raise_fd_limit(count + 1024)
    return asyncio.run(_hold(ctx, count, request, hold_s, **kw))


def held_answer(held: Held, what: str, ok: tuple[str, ...] = ()) -> Answer:
    """An Answer from held connections: 'timeout' if any was still unanswered at the end, 'answer' if all were
    answered with a status in `ok`, else 'refused'."""
    counts = ", ".join(f"{k}: {v}" for k, v in sorted(held.outcomes.items()))
    unanswered = held.outcomes["held"]
    if unanswered:
        kind = "timeout"
    elif ok and all(k in ok for k in held.outcomes):
        kind = "answer"
    else:
        kind = "refused"
    figures = dict(held.outcomes) | {"held_s": round(held.seconds, 1)}
    text = f"{what}: {counts} ({held.seconds:.0f} s)"
    return Answer(kind, text, waited=held.waited, victim=str(held.victim), figures=figures)


def http_head(method: str, path: str, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"] + [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()
