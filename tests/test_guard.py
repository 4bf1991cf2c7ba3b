"""Who a client is, and the guard's upload budgets, over HTTP through the real middleware (the app behind it reads
the body as Gradio's upload route does; a 5 GB budget is too large to fill in a test, so it is made small).

The requests come as on a Space: from the proxy's private address, with the visitor's address in X-Forwarded-For.
Visitors' addresses are public ones (11.0.0.0/8): Python counts the documentation ranges (203.0.113.0/24, ...) as
private, and the guard never takes a private address from the header."""

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


PROXY = ("10.0.0.5", 40000)  # the Space's proxy, as the app's peer


def space(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=PROXY), base_url="http://space")


def upload(client: httpx.AsyncClient, address: str, size: int):
    files = {"files": ("x.png", b"\0" * size)}
    return client.post("/gradio_api/upload", files=files, headers={"X-Forwarded-For": address})


def test_all_clients_together_cannot_upload_more_than_the_server_keeps(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(guard.time, "monotonic", lambda: clock[0])
    app = guard.Guard(read_body, max_upload=2 * MB, uploads_held=3 * MB)

    async def run() -> list[httpx.Response]:
        async with space(app) as client:
            codes = [await upload(client, f"11.0.113.{i}", MB) for i in range(1, 6)]  # five addresses, 1 MB each
            clock[0] += 60 * 60  # an hour later the cleaner has not yet run: the files may still be on disk
            codes.append(await upload(client, "11.0.100.1", MB))
            clock[0] += 11 * 60  # past the hour and the cleaner's period: those files are gone
            codes.append(await upload(client, "11.0.100.2", MB))
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
        async with space(app) as client:
            for i in range(300):
                clock[0] = i * 0.1  # 300 uploads in 30 s, each from its own address
                assert (await upload(client, f"11.0.113.{i % 250 + 1}", 10)).status_code == 200

    asyncio.run(run())
    assert len(app.all_uploads) == 1


def test_one_client_gets_its_minute_budget_and_its_window_remembers_seconds(monkeypatch):
    """Per client: refused with 429 past the budget within a minute, served again once the minute has passed,
    and however many uploads it sends, the guard keeps one entry per second for it."""
    clock = [0.0]
    monkeypatch.setattr(guard.time, "monotonic", lambda: clock[0])
    app = guard.Guard(read_body, max_upload=2 * MB, upload_bytes_per_minute=2 * MB)

    async def run() -> list[int]:
        async with space(app) as client:
            codes = []
            for t in (0.0, 1.0, 2.0, 30.0, 62.0):
                clock[0] = t
                codes.append((await upload(client, "11.0.113.9", MB)).status_code)
            for i in range(300):  # 300 tiny uploads in 3 s from another address
                clock[0] = 100 + i * 0.01
                codes.append((await upload(client, "11.0.113.10", 10)).status_code)
            return codes

    codes = asyncio.run(run())
    assert codes[:5] == [200, 200, 429, 429, 200]
    assert set(codes[5:]) == {200}
    assert len(app.uploads["11.0.113.10"]) <= 4


def test_the_client_is_the_rightmost_public_address_the_proxies_saw():
    def key(peer: str, forwarded: str | None = None) -> str:
        headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
        return guard.client_key({"client": (peer, 1234), "headers": headers})

    assert key("10.0.0.5", "11.22.33.44") == "11.22.33.44"  # behind the Space's proxy
    assert key("10.0.0.5", "6.6.6.6, 11.22.33.44") == "11.22.33.44"  # the visitor wrote its own header first
    assert key("10.0.0.5", "11.22.33.44, 100.64.0.9") == "11.22.33.44"  # a carrier-NAT hop is not the visitor
    assert key("11.1.1.1", "6.6.6.6") == "11.1.1.1"  # straight from the internet: the header is the visitor's own
    assert key("10.0.0.5", "203.0.113.7") == "10.0.0.5"  # no public address in the header: the peer
    assert key("127.0.0.1") == "127.0.0.1"
