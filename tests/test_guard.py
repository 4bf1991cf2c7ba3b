"""The guard's budget for all clients' uploads together, over HTTP through the real middleware (the app behind it
reads the body as Gradio's upload route does; a 5 GB budget is too large to fill in a test, so it is made small)."""

from __future__ import annotations

import asyncio

import httpx

from digitnet import guard

MB = 2**20


async def read_body(scope, receive, send) -> None:
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'["stored"]'})


def upload(client: httpx.AsyncClient, address: str, size: int):
    files = {"files": ("x.png", b"\0" * size)}
    return client.post("/gradio_api/upload", files=files, headers={"X-Forwarded-For": address})


def test_all_clients_together_cannot_upload_more_than_the_server_keeps(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(guard.time, "monotonic", lambda: clock[0])
    app = guard.Guard(read_body, max_upload=2 * MB, uploads_held=3 * MB)

    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://space") as client:
            codes = [await upload(client, f"203.0.113.{i}", MB) for i in range(1, 6)]  # five addresses, 1 MB each
            clock[0] += 60 * 60  # an hour later the cleaner has not yet run: the files may still be on disk
            codes.append(await upload(client, "198.51.100.1", MB))
            clock[0] += 11 * 60  # past the hour and the cleaner's period: those files are gone
            codes.append(await upload(client, "198.51.100.2", MB))
            return codes

    replies = asyncio.run(run())
    assert [r.status_code for r in replies] == [200, 200, 200, 429, 429, 429, 200]
    refused = replies[3].json()["detail"]
    assert "all visitors together" in refused and "70 minutes" in refused
    assert replies[3].headers["retry-after"]


def test_the_shared_upload_budget_remembers_minutes_not_uploads(monkeypatch):
    """A flood of tiny uploads must not grow the guard's own memory with one entry per upload."""
    clock = [0.0]
    monkeypatch.setattr(guard.time, "monotonic", lambda: clock[0])
    app = guard.Guard(read_body, max_upload=MB)

    async def run() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://space") as client:
            for i in range(300):
                clock[0] = i * 0.1  # 300 uploads in 30 s, each from its own address
                assert (await upload(client, f"203.0.113.{i % 250 + 1}", 10)).status_code == 200

    asyncio.run(run())
    assert len(app.all_uploads) == 1
