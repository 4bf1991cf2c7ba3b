"""Attacks on the pad's live prediction, which skips Gradio's queue: the HTTP live function (component server)
flooded and called concurrently, and the pad's WebSocket (digitnet/live.py) held open, flooded and sent messages
over its size limit; another visitor draws meanwhile."""

from __future__ import annotations

import collections
import contextlib
import json
import time
from concurrent.futures import ThreadPoolExecutor

from attacks.clients import ATTACKER, Answer, Api, at_once, live_answer, live_visitor
from attacks.measure import VICTIM, during
from attacks.payloads import largest_drawing
from attacks.target import Context
from digitnet.lab.serving import pad_value


def live_flood(ctx: Context, scale: float) -> Answer:
    """One client sends 400 live predictions of the largest drawing allowed (100 strokes, 5,000 points), 16 at a
    time; then another client sends one. Each client may have LIVE_PER_CLIENT running at once."""
    attacker = Api(ctx.server, address="203.0.113.67")
    victim = Api(ctx.server, address="198.51.100.8")
    try:
        big = largest_drawing() | {"model": "cnn"}
        count = max(16, int(400 * scale))
        with ThreadPoolExecutor(16) as pool:
            codes = list(pool.map(lambda i: attacker.live(big | {"seq": i}).status_code, range(count)))
        victim.pad, seven = attacker.pad_id(), pad_value() | {"model": "cnn"}  # the id: from the page's config
        t0 = time.perf_counter()
        answer = live_answer(victim.live(seven))
        waited = time.perf_counter() - t0
        answered = sum(c == 200 for c in codes)
        return Answer(answer.kind, f"other client: {answer.text} after {waited:.2f} s; flooder: {answered} of "
                      f"{count} answered, the rest HTTP {sorted({c for c in codes if c != 200})}")  # fmt: skip
    finally:
        attacker.close()
        victim.close()


def concurrent_live(ctx: Context, scale: float) -> Answer:
    """40 live predictions of the largest drawing at the same moment from one address (at most 2 at once)."""
    count, big = 40, largest_drawing() | {"model": "cnn"}
    pad = ctx.api.pad_id()

    def prepare(api: Api, i: int):
        api.pad = pad
        request = api.live_request(big)
        return lambda: live_answer(api.http.send(request)).kind

    kinds = collections.Counter(at_once(ctx.server, count, lambda i: "203.0.113.87", prepare))
    return Answer("refused" if kinds["refused"] else "answer", f"{kinds['answer']} of {count} answered: "
                  f"{dict(kinds)}", figures={"answered": kinds["answer"]})  # fmt: skip


def socket_share(ctx: Context, scale: float) -> Answer:
    """200 connections to the pad's WebSocket from one address, held open (at most 128 per client); another
    visitor's live drawing meanwhile."""
    count, outcomes = 200, collections.Counter()
    with contextlib.ExitStack() as held:
        for _ in range(count):
            try:
                socket = held.enter_context(ctx.server.socket(ATTACKER, open_timeout=30))
                socket.recv(timeout=0.05)
            except TimeoutError:
                outcomes["open"] += 1
            except Exception as e:
                outcomes[type(e).__name__ + (f" {e.rcvd.code}" if getattr(e, "rcvd", None) else "")] += 1
        other = live_visitor(ctx.server, VICTIM)
    text = f"{count} connections: {dict(outcomes)}; another visitor's live 7: {other}"
    kind = "refused" if outcomes["open"] < count and other == "answer: digit 7" else "answer"
    return Answer(kind, text, figures={"open": outcomes["open"], "other": other})


def socket_flood(ctx: Context, scale: float) -> Answer:
    """The largest drawing sent 2,000 times on one connection without reading a reply, from each of 8 connections
    of one address, then the replies read: only the newest drawing waiting is answered, nothing piles up."""
    count, connections = max(50, int(2000 * scale)), 8
    big = json.dumps(largest_drawing() | {"model": "vae_bayes"})

    def one(i: int) -> tuple[int, int]:
        with ctx.server.socket(ATTACKER, open_timeout=30) as socket:
            for seq in range(1, count + 1):
                socket.send(f'{{"seq": {seq}, {big[1:]}')
            seqs = []
            while not seqs or seqs[-1] != count:
                seqs.append(json.loads(socket.recv(timeout=120))["seq"])
            return len(seqs), int(seqs == sorted(seqs))

    def attack() -> Answer:
        with ThreadPoolExecutor(connections) as pool:
            results = list(pool.map(one, range(connections)))
        answered, ordered = sum(n for n, _ in results), sum(o for _, o in results)
        text = (f"{connections} connections x {count} drawings of 5,000 points ({len(big) / 1024:.0f} KB each): "
                f"{answered} answered, every connection in order: {ordered == connections}; "
                f"another visitor's live 7: {live_visitor(ctx.server, VICTIM)}")  # fmt: skip
        return Answer("answer", text, figures={"answered": answered, "sent": count * connections})

    return during(ctx, attack)


def socket_oversize(ctx: Context, scale: float) -> Answer:
    """100 connections from one address, each sending one message of 300 KB (over the 256 KB limit)."""
    count, codes = max(10, int(100 * scale)), collections.Counter()
    text = "x" * 300 * 1024

    def one(i: int) -> str:
        try:
            with ctx.server.socket(ATTACKER, open_timeout=30, max_size=None) as socket:
                socket.send(text)
                socket.recv(timeout=30)
                return "answered"
        except Exception as e:
            return f"closed {e.rcvd.code}" if getattr(e, "rcvd", None) else type(e).__name__

    with ThreadPoolExecutor(20) as pool:
        codes.update(pool.map(one, range(count)))
    return Answer("refused" if set(codes) == {"closed 1009"} else "answer", f"{count} messages of 300 KB: "
                  f"{dict(codes)}; another visitor's live 7: {live_visitor(ctx.server, VICTIM)}",
                  figures=dict(codes))  # fmt: skip
