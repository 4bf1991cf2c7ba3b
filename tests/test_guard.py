"""Who a client is, and the guard's upload budgets, over HTTP through the real middleware (the app behind it reads
the body as Gradio's upload route does; a 5 GB budget is too large to fill in a test, so it is made small).

The requests come as on a Space: from the proxy's private address, with the visitor's address in X-Forwarded-For.
Visitors' addresses are public ones (11.0.0.0/8): Python counts the documentation ranges (203.0.113.0/24, ...) as
private, and the guard never takes a private address from the header."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import time
from pathlib import Path

import httpx
import pytest

from attacks.clients import Api
from digitnet import guard, ledgers
from digitnet.client import Trust, client_key, network_of
from digitnet.lab.serving import pad_value, private_address, visitor
from digitnet.page import SESSIONS
from digitnet.settings import CONNECTIONS_PER_PEER, SPACE_PROXIES, TRUSTED_PROXIES, Settings

MB = 2**20


async def read_body(scope, receive, send) -> None:
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'["stored"]'})


PROXY = ("10.0.0.5", 40000)  # the Space's proxy, as the app's peer
SPACE = Trust(SPACE_PROXIES)  # whom the app trusts on a Space (settings.from_env with SPACE_ID set): the proxy


def space(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=PROXY), base_url="http://space")


def upload(client: httpx.AsyncClient, address: str, size: int):
    files = {"files": ("x.png", b"\0" * size)}
    return client.post("/gradio_api/upload", files=files, headers={"X-Forwarded-For": address})


def test_all_clients_together_cannot_upload_more_than_the_server_keeps(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(ledgers.time, "monotonic", lambda: clock[0])
    # each 1 MB upload charges its multipart envelope and one file's disk overhead too: room for three, not four
    app = guard.Guard(read_body, trust=SPACE, max_upload=2 * MB, uploads_held=3 * MB + 64 * 1024)

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
    monkeypatch.setattr(ledgers.time, "monotonic", lambda: clock[0])
    app = guard.Guard(read_body, trust=SPACE, max_upload=MB)

    async def run() -> None:
        async with space(app) as client:
            for i in range(300):
                clock[0] = i * 0.1  # 300 uploads in 30 s, each from its own address
                assert (await upload(client, f"11.0.113.{i % 250 + 1}", 10)).status_code == 200

    asyncio.run(run())
    assert len(app.budget.all_bytes.sums) == 1


def test_one_client_gets_its_minute_budget_and_its_window_remembers_seconds(monkeypatch):
    """Per client: refused with 429 past the budget within a minute, served again once the minute has passed,
    and however many uploads it sends, the guard keeps one entry per second for it."""
    clock = [0.0]
    monkeypatch.setattr(ledgers.time, "monotonic", lambda: clock[0])
    # bytes only here: the per-file charge and the files-a-minute limit have their own test
    app = guard.Guard(read_body, trust=SPACE, max_upload=2 * MB, upload_bytes_per_minute=2 * MB + 64 * 1024,
                      file_overhead=0, upload_files_per_minute=1000)  # fmt: skip

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
    assert len(app.budget.client_bytes.windows["11.0.113.10"].sums) <= 4


def key(peer: str, forwarded: str | None = None, trusted: str = SPACE_PROXIES) -> str:
    """The client of a request from `peer` with X-Forwarded-For `forwarded`, trusting `trusted` (as on a Space)."""
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return client_key({"client": (peer, 1234), "headers": headers}, Trust(trusted))


def test_the_client_is_the_rightmost_public_address_the_proxies_saw():
    assert key("10.0.0.5", "11.22.33.44") == "11.22.33.44"  # behind the Space's proxy
    assert key("10.0.0.5", "6.6.6.6, 11.22.33.44") == "11.22.33.44"  # the visitor wrote its own header first
    assert key("10.0.0.5", "11.22.33.44, 100.64.0.9") == "11.22.33.44"  # a carrier-NAT hop is not the visitor
    assert key("11.1.1.1", "6.6.6.6") == "11.1.1.1"  # straight from the internet: the header is the visitor's own
    assert key("10.0.0.5", "203.0.113.7") == "10.0.0.5"  # no public address in the header: the peer
    assert key("127.0.0.1") == "127.0.0.1"


def test_the_client_key_is_as_strict_as_the_proxy_in_front_allows():
    # from loopback, not named as a proxy: the header is anyone's to write, so it never makes a new client
    assert {key("127.0.0.1", f"11.0.0.{i}") for i in range(20)} == {"127.0.0.1"}
    # named: the entry the proxy appended, past the proxies' own
    assert key("127.0.0.1", "6.6.6.6, 11.22.33.44", trusted="127.0.0.1") == "11.22.33.44"
    assert key("127.0.0.1", "198.18.0.7", trusted="127.0.0.1") == "198.18.0.7"  # serving.visitor's range
    assert key("127.0.0.1", "11.22.33.44, 127.0.0.1", trusted="127.0.0.1") == "11.22.33.44"  # nginx's own hop
    # an entry that is not an address (a port, a name, garbage) never makes a client
    assert key("10.0.0.5", "11.22.33.44:5678") == "11.22.33.44"
    assert {key("10.0.0.5", f"client-{i}") for i in range(20)} == {"10.0.0.5"}
    assert key("10.0.0.5", "11.22.33.44, unknown") == "10.0.0.5"  # the proxy's own entry unreadable: the proxy
    # no proxy in front (DIGITNET_TRUSTED_PROXIES=none): the peer, whatever the header says
    assert key("10.0.0.5", "11.22.33.44", trusted="none") == "10.0.0.5"


def test_unless_on_a_space_a_private_peer_is_not_trusted_by_default():
    """Measured before: with the default `private`, a client on a LAN, Docker or VPN network (a private peer) that
    wrote a new X-Forwarded-For address on each connection kept 300 of 300 WebSockets. The default now trusts no
    proxy, except on a Hugging Face Space (SPACE_ID set), where the peer is the Space's proxy."""
    default = Settings.from_env({}).trusted_proxies
    for peer in ("10.0.0.5", "172.17.0.1", "192.168.1.20", "100.64.0.9", "fd00::2", "127.0.0.1"):
        assert {key(peer, f"11.0.0.{i}", trusted=default) for i in range(20)} == {key(peer, trusted="none")}
        assert ipaddress.ip_address(peer) not in Trust(default)
    space = Settings.from_env({"SPACE_ID": "someone/digitnet"}).trusted_proxies
    assert key("10.16.3.80", "6.6.6.6, 11.22.33.44", trusted=space) == "11.22.33.44"  # the Space's proxy's entry
    assert key("127.0.0.1", "11.22.33.44", trusted=space) == "127.0.0.1"  # not from loopback, even on a Space
    assert key("11.1.1.1", "6.6.6.6", trusted=space) == "11.1.1.1"
    # Gradio's image sets SYSTEM=spaces, and keeps it wherever the image runs: not a Space by itself
    assert Settings.from_env({"SYSTEM": "spaces"}).trusted_proxies == "none"
    # named, whatever the place
    named = {"DIGITNET_TRUSTED_PROXIES": "172.17.0.1", "SPACE_ID": "someone/digitnet"}
    assert key("172.17.0.1", "11.22.33.44", trusted=Settings.from_env(named).trusted_proxies) == "11.22.33.44"
    assert key("10.0.0.5", "11.22.33.44", trusted=Settings.from_env(named).trusted_proxies) == "10.0.0.5"
    assert Settings.from_env({"DIGITNET_TRUSTED_PROXIES": "private"}).trusted_proxies == "private"


def test_an_ipv6_customer_is_one_client_per_56_and_one_network_per_48():
    """A client was an IPv6 /64, and an ISP gives a home a /56 (256 /64s) and a business a /48 (65,536)."""
    assert key("10.0.0.5", "[2a00:1450::1]:443") == "2a00:1450::/56"
    assert key("10.0.0.5", "2a00:1450::ffff:1") == key("2a00:1450::2") == "2a00:1450::/56"
    home = {key(f"2a00:1450:0:{i:x}::1") for i in range(256)}  # every /64 of one home's /56
    business = {key(f"2a00:1450:0:{i:x}00::1") for i in range(256)} | {key(f"2a00:1450:0:{i:x}::9") for i in range(999)}
    assert home == {"2a00:1450::/56"} and len(business) == 256  # a /48: at most 256 clients
    networks = {network_of(ipaddress.ip_address(f"2a00:1450:0:{i:x}::1")) for i in range(0, 65536, 97)}
    assert networks == {"2a00:1450::/48"}  # one customer's /48, however many /56s and /64s
    assert key("::ffff:11.0.0.1") == "11.0.0.1" == network_of(ipaddress.ip_address("::ffff:11.0.0.1"))
    assert key("11.0.0.1") != key("11.0.0.2")  # IPv4: an address is a client, as before


def test_concurrent_uploads_from_one_client_stay_within_its_minute_budget():
    """Twenty 4.9 MB uploads at once from one address: the bytes are charged as they arrive, so the uploads
    accepted stay within the 50 MB budget even when all twenty may be in flight together (before: all 20 passed
    the check taken before any of them was counted, 98 MB)."""
    app = guard.Guard(read_body, trust=SPACE, max_upload=5 * MB, uploads_at_once=20)

    async def run() -> list[httpx.Response]:
        async with space(app) as client:
            return await asyncio.gather(*[upload(client, "11.0.113.9", int(4.9 * MB)) for _ in range(20)])

    codes = [r.status_code for r in asyncio.run(run())]
    assert set(codes) == {200, 429}
    assert codes.count(200) * 4.9 * MB <= guard.Limits().upload_bytes_per_minute
    assert codes.count(200) >= 9  # the budget is used, not refused early


def test_one_client_has_at_most_two_uploads_at_once():
    started, release = asyncio.Event(), asyncio.Event()

    async def slow(scope, receive, send):
        started.set()
        await release.wait()
        await read_body(scope, receive, send)

    app = guard.Guard(slow, trust=SPACE, max_upload=MB)

    async def run() -> list[int]:
        async with space(app) as client:
            held = [asyncio.create_task(upload(client, "11.0.113.9", 10)) for _ in range(2)]
            await started.wait()
            await asyncio.sleep(0.05)
            third = await upload(client, "11.0.113.9", 10)
            other = asyncio.create_task(upload(client, "11.0.113.10", 10))  # another visitor is not held up
            await asyncio.sleep(0.05)
            release.set()
            return [third.status_code, *[(await t).status_code for t in [*held, other]]]

    assert asyncio.run(run()) == [429, 200, 200, 200]


def test_many_clients_together_stay_within_the_shared_budget():
    """200 small uploads at once from 200 addresses against a 2 MB shared budget."""
    app = guard.Guard(read_body, trust=SPACE, max_upload=MB, uploads_held=2 * MB)

    async def run() -> list[httpx.Response]:
        async with space(app) as client:
            return await asyncio.gather(*[upload(client, f"11.0.{i // 250}.{i % 250 + 1}", 50_000) for i in range(200)])

    codes = [r.status_code for r in asyncio.run(run())]
    assert set(codes) == {200, 429}
    # bytes still arriving count too: uploads refused part way used some of the budget, none passes it
    assert codes.count(200) * 50_000 <= app.budget.all_bytes.total(ledgers.clock()) <= 2 * MB


def multipart(parts: int, size: int = 4) -> tuple[bytes, dict]:
    boundary = "digitnetboundary"
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="p{i}.png"\r\n\r\n'.encode()
        + b"\0" * size + b"\r\n"
        for i in range(parts)
    ) + f"--{boundary}--\r\n".encode()  # fmt: skip
    return body, {"content-type": f"multipart/form-data; boundary={boundary}"}


def test_upload_parts_count_as_files():
    """30 uploads of 1,000 four-byte parts once made 30,000 folders from 2.1 MB counted: now an upload has at most
    4 parts, a client at most 600 files a minute (here made 60), and each file counts as at least 8 KB against
    the byte budgets."""
    app = guard.Guard(read_body, trust=SPACE, max_upload=MB, upload_files_per_minute=60)

    async def run() -> tuple[list[int], list[int]]:
        async with space(app) as client:
            many, headers = multipart(1000)
            big = await client.post(
                "/gradio_api/upload", content=many, headers=headers | {"X-Forwarded-For": "11.0.0.1"}
            )
            one, headers = multipart(1)
            singles = [
                await client.post("/gradio_api/upload", content=one, headers=headers | {"X-Forwarded-For": "11.0.0.2"})
                for _ in range(61)
            ]
            return [big.status_code], [r.status_code for r in singles]

    big, singles = asyncio.run(run())
    assert big == [413]
    assert singles == [200] * 60 + [429]
    assert app.budget.client_bytes.total("11.0.0.2", ledgers.clock()) >= 60 * 8 * 1024


async def call(app, method: str, path: str, chunks: list[bytes], stall: bool = False, headers=()) -> tuple[int, float]:
    """Send a request straight to the ASGI app, its body in `chunks` (then, with `stall`, nothing more)."""
    messages = [
        {"type": "http.request", "body": c, "more_body": stall or i < len(chunks) - 1} for i, c in enumerate(chunks)
    ]
    sent: list[dict] = []

    async def receive():
        if messages:
            return messages.pop(0)
        await asyncio.sleep(3600)

    async def send(message):
        sent.append(message)

    path, query_string = path.split("?")[0], path.split("?", 1)[1].encode() if "?" in path else b""
    scope = {"type": "http", "method": method, "path": path, "query_string": query_string, "client": ("11.0.0.1", 1),
             "headers": [(b"content-type", b"application/json"), *headers]}  # fmt: skip
    start = time.monotonic()
    await asyncio.wait_for(app(scope, receive, send), timeout=30)
    return sent[0]["status"], time.monotonic() - start


def test_a_stalled_body_is_dropped_with_408_within_the_deadline():
    app = guard.Guard(read_body, trust=SPACE, max_upload=MB, body_idle_s=0.5, body_deadline_s=2.0)
    status, seconds = asyncio.run(call(app, "POST", "/gradio_api/queue/join", [b'{"data": ['], stall=True))
    assert status == 408 and seconds < 1.5
    status, seconds = asyncio.run(call(app, "POST", "/gradio_api/upload", [b"--x\r\n"], stall=True))
    assert status == 408 and seconds < 1.5
    status, _ = asyncio.run(call(app, "POST", "/login", [b"a=1"]))
    assert status == 404  # /login: the app has no accounts; its form would be parsed whole


def test_every_route_bounds_its_body():
    app = guard.Guard(read_body, trust=SPACE, max_upload=MB)
    body = b"x" * (300 * 1024)
    assert asyncio.run(call(app, "POST", "/gradio_api/anything", [body]))[0] == 413  # JSON-sized on any route
    assert asyncio.run(call(app, "POST", "/", [body]))[0] == 413  # outside /gradio_api/ too
    length = [(b"content-length", b"10")]
    assert asyncio.run(call(app, "GET", "/config", [b"0123456789"], headers=length))[0] == 413  # GET takes none
    assert asyncio.run(call(app, "GET", "/gradio_api/deep_link", [b""]))[0] == 404  # writes files nothing removes
    assert asyncio.run(call(app, "GET", "/config", [b""]))[0] == 200


def test_streams_and_requests_per_client_are_capped():
    async def held_open(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await asyncio.sleep(3600)

    app = guard.Guard(held_open, trust=SPACE, max_upload=MB)

    async def run() -> list[int]:
        statuses: list[int] = []

        async def send(message):
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        def stream(i: int, client: str = "11.0.0.1"):
            scope = {"type": "http", "method": "GET", "path": f"/gradio_api/heartbeat/s{i}", "query_string": b"",
                     "client": (client, 1), "headers": []}  # fmt: skip
            return asyncio.create_task(app(scope, receive, send))

        tasks = [stream(i) for i in range(guard.Limits().streams_per_client + 2)] + [stream(999, client="11.0.0.2")]
        await asyncio.sleep(0.1)
        for t in tasks:
            t.cancel()
        return statuses

    statuses = asyncio.run(run())
    assert statuses.count(200) == guard.Limits().streams_per_client + 1  # the first client's share, the other's
    assert statuses.count(429) == 2


def test_a_clients_new_sessions_replace_its_own_never_another_visitors():
    held: dict[str, bool] = {}
    sessions = ledgers.Sessions(
        per_client=3, unread_ttl=300, pending=lambda s: 0, drop=lambda s: None, held=lambda s: s in held,
        forget=lambda s: held.pop(s, None),
    )  # fmt: skip
    for s, key in [("visitor", "11.0.0.1"), *[(f"flood{i}", "11.0.0.2") for i in range(1100)]]:
        sessions.remember(s, key)
        held[s] = True  # Gradio makes the session's state when the request reaches it
    assert "visitor" in held
    assert sorted(s for s in held if s.startswith("flood")) == ["flood1097", "flood1098", "flood1099"]
    assert len(sessions.owner) == 4


def test_gradio_internals_are_checked_when_the_app_starts():
    import gradio as gr
    from gradio.routes import App

    from digitnet.internals import GradioChanged, GradioInternals

    with gr.Blocks() as demo:
        gr.Textbox()
    demo.queue()
    App.create_app(demo)
    internals = GradioInternals.of(demo)
    assert internals.pending("nobody") == 0 and not internals.server_fns
    del demo._queue.pending_event_ids_session  # as if a Gradio upgrade renamed it
    with pytest.raises(GradioChanged, match="Queue.pending_event_ids_session"):
        GradioInternals.of(demo)


# Against the real app, in its own process (visitors from loopback, which digitnet.lab.serving.Server trusts as
# their proxy): the budgets and connection limits as `python app.py` serves them.


async def upload_all(url: str, visitors: list[str], size: int, connections: int = 20) -> list[int]:
    """Upload one file of `size` bytes per visitor address, all at once (up to `connections` in flight)."""
    limits = httpx.Limits(max_connections=connections)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:

        async def one(address: str) -> int:
            files = {"files": ("x.png", os.urandom(size))}  # each its own file on disk (Gradio stores by hash)
            try:
                r = await client.post("gradio_api/upload", files=files, headers={"X-Forwarded-For": address})
                return r.status_code
            except httpx.TransportError:  # refused while still sending: never accepted
                return 0

        return await asyncio.gather(*[one(a) for a in visitors])


def test_the_real_app_holds_one_clients_budget_under_20_concurrent_uploads(server):
    """Measured before the guard charged chunks as they arrived: all 20 accepted, 98 MB of a 50 MB budget."""
    codes = asyncio.run(upload_all(server.url, [visitor(4242)] * 20, int(4.9 * MB)))
    assert codes.count(200) * 4.9 * MB <= guard.Limits().upload_bytes_per_minute
    assert 429 in codes and codes.count(200) >= 1


@pytest.fixture(scope="module")
def strict(tmp_path_factory, start_app):
    """The app with a 3 MB shared upload budget and at most 40 connections; its uploads in `strict.cache`."""
    cache = tmp_path_factory.mktemp("uploads")
    env = {"DIGITNET_UPLOADS_HELD_MB": "3", "DIGITNET_MAX_CONNECTIONS": "40", "GRADIO_TEMP_DIR": str(cache)}
    with start_app("app", env=env) as s:
        s.cache = cache
        yield s


def files_in(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


def test_the_real_app_holds_the_shared_budget_under_200_concurrent_uploads(strict):
    """And an upload refused part way leaves nothing on disk (Gradio deletes its partial file)."""
    before = files_in(strict.cache)
    codes = asyncio.run(upload_all(strict.url, [visitor(i) for i in range(200)], 100_000))
    assert 0 < codes.count(200) * 100_000 <= 3 * MB
    assert set(codes) <= {200, 429, 0} and 429 in codes
    time.sleep(1)
    assert len(files_in(strict.cache) - before) == codes.count(200)


def raw(port: int, data: bytes) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    s.sendall(data)
    return s


def answer(s: socket.socket) -> bytes:
    try:
        return s.recv(4096)
    except OSError:
        return b""


def test_the_real_app_drops_slow_headers_and_stalled_bodies_with_408(strict):
    start = time.monotonic()
    headers = raw(strict.port, b"GET /config HTTP/1.1\r\nHost: x\r\n")  # never finished
    body = raw(strict.port, b"POST /gradio_api/queue/join HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                            b"Content-Length: 1000\r\n\r\n{")  # fmt: skip
    late_headers, stalled = answer(headers), answer(body)
    assert late_headers.startswith(b"HTTP/1.1 408") and stalled.startswith(b"HTTP/1.1 408"), (late_headers, stalled)
    assert time.monotonic() - start < 15  # the deadlines are 10 s
    headers.close()
    body.close()


def test_the_real_app_caps_its_connections(strict):
    held = [raw(strict.port, b"") for _ in range(40)]
    try:
        time.sleep(0.5)
        over = raw(strict.port, b"GET /config HTTP/1.1\r\nHost: x\r\n\r\n")
        assert answer(over).startswith(b"HTTP/1.1 503")
        over.close()
    finally:
        for s in held:
            s.close()
    time.sleep(0.5)
    assert httpx.get(strict.url + "config", timeout=30).status_code == 200


@pytest.mark.parametrize("space", [None, "someone/digitnet"], ids=["off a Space", "on a Space"])
def test_the_real_app_trusts_a_private_peer_only_on_a_space(start_app, space):
    """`python app.py` with DIGITNET_TRUSTED_PROXIES unset, reached from a private address (this machine's own).
    Off a Space that peer may be anyone on a LAN, Docker or VPN network: a new X-Forwarded-For address on each
    connection still makes one client, and its connections are capped. Before, the default trusted every private
    peer there: its connections were not capped and each header was a new client (a spoofing client kept 300 of
    300 WebSockets). On a Space (SPACE_ID set) the private peer is the Space's proxy: each visitor it names is a
    client of its own, and it carries everyone's connections."""
    address = private_address()
    if address is None:
        pytest.skip("this machine has no private, non-loopback address to connect from")
    env = {TRUSTED_PROXIES: None, "SPACE_ID": space, CONNECTIONS_PER_PEER: "4", "DIGITNET_VISITORS_DIR": "off"}
    with start_app("app", env=env, host=address) as s:
        assert httpx.get(s.url + "config", timeout=30).status_code == 200  # started, its first connections gone
        held = [socket.create_connection((address, s.port), timeout=20, source_address=(address, 0)) for _ in range(4)]
        try:
            time.sleep(0.5)
            over = socket.create_connection((address, s.port), timeout=20, source_address=(address, 0))
            over.sendall(b"GET /config HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 11.0.0.99\r\nConnection: close\r\n\r\n")
            assert answer(over).startswith(b"HTTP/1.1 200" if space else b"HTTP/1.1 429")  # capped unless a proxy
            over.close()
        finally:
            for c in held:
                c.close()
        time.sleep(0.5)
        codes = []
        for i in range(12):  # /draw events never read, each claiming another visitor: one client holds at most 8
            with Api(s, address=f"11.0.0.{i}", local=address) as api:
                codes.append(api.submit("draw", [pad_value(), "cnn"]).status_code)
        assert codes == [200] * 12 if space else codes.count(200) == guard.Limits().per_client, codes


def test_live_calls_with_new_session_hashes_do_not_push_a_visitors_session_out(server):
    """Gradio keeps SESSIONS sessions, least recently used dropped first; each pad live call (component_server)
    with a new session hash used to make one, so enough of them pushed out a visitor's drawing ("fool it" then said
    "draw a digit first")."""
    drawer = server.client(visitor(4343))
    drawer.predict(pad_value(), "cnn", api_name="/draw")
    api = Api(server)
    try:
        for i in range(SESSIONS + 50):
            api.http.headers["X-Forwarded-For"] = visitor(6000 + i % 50)
            assert api.live(pad_value(), session=f"new{i}").status_code == 200
    finally:
        api.close()
    assert isinstance(drawer.predict("cnn", 3, api_name="/fool"), dict)  # the drawing is still the session's


def test_upload_progress_ids_are_short():
    """Gradio keeps an entry for every upload id a client asks about (2,000 random 15,000-character ids kept
    +46 MB): the page's ids are 11 letters and digits."""
    app = guard.Guard(read_body, trust=SPACE, max_upload=MB)

    def progress(upload_id: str) -> int:
        scope_path = "/gradio_api/upload_progress"
        return asyncio.run(call(app, "GET", scope_path + "?upload_id=" + upload_id, [b""]))[0]

    assert progress("x" * 15_000) == 400
    assert progress("../../etc") == 400
    assert progress("k3j9x0a1b2c") == 200


def test_connections_are_capped_in_all_and_per_peer_but_not_for_a_trusted_proxy():
    from digitnet.server import Connections

    conns = Connections(total=5, per_peer=2, trust=Trust("10.0.0.5"))
    assert conns.admit("11.0.0.1") is None and conns.admit("11.0.0.1") is None
    assert conns.admit("11.0.0.1").startswith(b"HTTP/1.1 429")  # a third from one client
    assert all(conns.admit("10.0.0.5") is None for _ in range(3))  # the proxy carries every visitor's connections
    assert conns.admit("11.0.0.2").startswith(b"HTTP/1.1 503")  # five open in all
    conns.release("11.0.0.1")
    assert conns.admit("11.0.0.2") is None


def test_an_ipv6_customers_connections_are_counted_by_its_48():
    from digitnet.server import Connections

    conns = Connections(total=100, per_peer=3, trust=Trust("fd00::5"))
    assert [conns.admit(f"2a00:1450:0:{i:x}00::1") for i in range(3)] == [None] * 3  # three /56s of one /48
    assert conns.admit("2a00:1450:0:ff00::1").startswith(b"HTTP/1.1 429")
    assert conns.admit("2a00:1451::1") is None  # another /48
    assert all(conns.admit("fd00::5") is None for _ in range(5))  # an IPv6 proxy, named, carries everyone's
    conns.release("2a00:1450:0:100::1")
    assert conns.admit("2a00:1450:0:ff00::1") is None


def test_the_open_files_limit_is_raised_to_what_the_connections_need():
    import resource

    from digitnet.server import SPARE_FDS, raise_file_limit

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(soft + 100, hard) - SPARE_FDS
    assert raise_file_limit(want) == want
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] >= want + SPARE_FDS


def test_the_settings_give_the_guards_limits_and_the_servers_caps():
    """Read once from the environment (digitnet/settings.py): unset, the guard's own limits; set, the test server's."""
    from digitnet.page import MAX_FILE_MB, guard_limits
    from digitnet.settings import Settings

    unset = guard_limits(Settings.from_env({}))
    assert (unset.upload_bytes_per_minute, unset.uploads_held) == (guard.Limits().upload_bytes_per_minute, 5 * 2**30)
    assert unset.max_upload == MAX_FILE_MB * 2**20 + guard.MULTIPART_SLACK and unset.event_rates == (("feedback", 10),)
    small = Settings.from_env({"DIGITNET_UPLOAD_MB_PER_MINUTE": "1.5", "DIGITNET_UPLOADS_HELD_MB": "3",
                               "DIGITNET_FEEDBACK_PER_MINUTE": "7", "DIGITNET_MAX_CONNECTIONS": "40",
                               "DIGITNET_CONNECTIONS_PER_PEER": ""})  # fmt: skip
    limits = guard_limits(small)
    assert (limits.upload_bytes_per_minute, limits.uploads_held, limits.event_rates) == (
        int(1.5 * 2**20), 3 * 2**20, (("feedback", 7),))  # fmt: skip
    assert (small.max_connections, small.connections_per_peer, small.trusted_proxies) == (40, 256, "none")
    assert ipaddress.ip_address("10.0.0.1") not in Trust(
        Settings.from_env({"DIGITNET_TRUSTED_PROXIES": ""}).trusted_proxies
    )
    with pytest.raises(ValueError, match="DIGITNET_MAX_CONNECTIONS='lots'"):
        Settings.from_env({"DIGITNET_MAX_CONNECTIONS": "lots"})
