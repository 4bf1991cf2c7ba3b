"""The server's log under attack (digitnet/serverlog.py): a client's fault is one line, not a traceback, and at most
a window's worth of lines; the server's own faults keep their tracebacks. The real app's log under 1,000 uploads
left mid-body and 1,000 streams of unknown sessions is an attack of the catalogue (attacks/connections.py,
`left_midway`, run by tests/test_attacks.py)."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from digitnet.client import CLIENT
from digitnet.serverlog import CLIENT_LEFT, OneLine

SCOPE = {"type": "http", "method": "POST", "path": "/gradio_api/upload", "raw_path": b"/gradio_api/upload",
         "client": ("11.0.0.1", 4000), "headers": []}  # fmt: skip


async def left(scope, receive, send) -> None:
    raise ClientDisconnect()


async def broken(scope, receive, send) -> None:
    raise ValueError("the server's own fault")


async def nothing():
    return {"type": "http.disconnect"}


def lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "uvicorn.error"]


def test_a_client_leaving_mid_request_is_one_line_and_a_server_fault_still_raises(caplog):
    caplog.set_level(logging.WARNING, "uvicorn.error")
    sent = []

    async def send(message) -> None:
        sent.append(message)

    asyncio.run(OneLine(left)(dict(SCOPE), nothing, send))
    assert lines(caplog) == [f"POST /gradio_api/upload from 11.0.0.1: {CLIENT_LEFT}"]
    assert sent == [] and all(r.exc_info is None for r in caplog.records)
    asyncio.run(OneLine(left)(dict(SCOPE) | {CLIENT: "2a00:1450::/56"}, nothing, send))  # the guard's key
    assert lines(caplog)[-1].endswith(f"from 2a00:1450::/56: {CLIENT_LEFT}")
    with pytest.raises(ValueError):
        asyncio.run(OneLine(broken)(dict(SCOPE), nothing, send))


def test_a_path_is_written_as_it_came_and_cut_short(caplog):
    caplog.set_level(logging.WARNING, "uvicorn.error")
    forged = b"/x%0AINFO:%20forged" + b"a" * 10_000
    asyncio.run(OneLine(left)(dict(SCOPE) | {"path": "/x\nINFO: forged", "raw_path": forged}, nothing, None))
    (line,) = lines(caplog)
    assert "\n" not in line and line.startswith("POST /x%0AINFO:%20forged") and len(line) < 250


def test_an_error_inside_a_stream_already_begun_is_one_line_and_the_stream_ends(caplog):
    """As Gradio's queue/data does for a session it does not know: a 404 raised inside the event stream."""
    caplog.set_level(logging.WARNING, "uvicorn.error")

    async def stream(request: Request) -> StreamingResponse:
        async def events():
            yield b"data: {}\n\n"
            raise HTTPException(status_code=404)

        return StreamingResponse(events(), media_type="text/event-stream")

    transport = httpx.ASGITransport(app=OneLine(Starlette(routes=[Route("/queue/data", stream)])))

    async def get() -> httpx.Response:  # ASGITransport raises whatever the app raises
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            return await client.get("/queue/data")

    r = asyncio.run(get())
    assert r.status_code == 200 and r.content == b"data: {}\n\n"
    assert lines(caplog) == ["GET /queue/data from 127.0.0.1: HTTP 404 inside a stream already begun"]


def test_at_most_a_windows_worth_of_lines_then_one_line_with_the_count(caplog):
    caplog.set_level(logging.WARNING, "uvicorn.error")

    async def attack() -> None:
        app = OneLine(left, per_window=3, window_s=0.3)
        for _ in range(10):
            await app(dict(SCOPE), nothing, None)
        assert len(lines(caplog)) == 3
        await asyncio.sleep(0.5)  # the window ends with no fault after it: the count is written all the same
        assert lines(caplog)[-1] == "7 more client faults in the last 0.3 s, not written"
        await app(dict(SCOPE), nothing, None)  # a new window

    asyncio.run(attack())
    assert len(lines(caplog)) == 5
