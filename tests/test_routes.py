"""The guard's route table (digitnet/routes.py) against the app `python app.py` serves: every route of the running
app (Starlette's and Gradio's, as digitnet/server.py mounts them) is declared with its bound and, sent a request
past that bound through the whole middleware stack, refused; a route added without a bound fails the walk and
answers 404. One rate per endpoint, whichever route and spelling reaches it. Compression, a bounded number of
responses at once per client."""

from __future__ import annotations

import asyncio
import gzip
import re

import gradio as gr
import httpx
import pytest
from fastapi import FastAPI
from starlette.middleware import Middleware
from starlette.routing import Mount

from digitnet import internals, page, routes, server
from digitnet.compression import Compression
from digitnet.guard import Guard, Limits
from digitnet.lab.docs import read_section
from digitnet.lab.serving import ROOT
from digitnet.predict import Networks
from digitnet.routes import BODY_KINDS, CLOSED, FILE, SOCKET, TABLE, UPLOAD, Table
from digitnet.settings import Settings

BODY_METHODS = {"POST", "PUT", "PATCH"}
VISITOR = ("11.0.0.1", 40000)


@pytest.fixture(scope="module")
def served():
    """The app as digitnet/server.py serves it (`server.mount`), in this process, without a visitors' store."""
    app = page.build(Networks.load(), Settings.from_env({"DIGITNET_VISITORS_DIR": "off"}))
    outer = server.mount(app)
    return outer, next(r.app for r in outer.routes if isinstance(r, Mount))


def example(path: str) -> str:
    """A request path for a route template: each parameter "1"."""
    return re.sub(r"\{[^}]*\}", "1", path)


def undeclared(gradio_app) -> list[str]:
    """The app's routes the guard's table does not declare, and those that take a body, a file or a socket with
    a bound that reads none."""
    wrong = []
    for path, _, _, types, methods in internals.routes(gradio_app):
        rule = TABLE.get(path)
        takes_body = "websocket" in types or bool(set(methods or BODY_METHODS) & BODY_METHODS)
        if rule is None:
            wrong.append(f"{path}: not declared")
        elif takes_body and rule.kind not in (*BODY_KINDS, CLOSED, SOCKET):
            wrong.append(f"{path}: takes a body, declared {rule.kind}")
    return wrong


async def send(outer, method: str, path: str, **kwargs) -> httpx.Response:
    transport = httpx.ASGITransport(app=outer, client=VISITOR)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        return await client.request(method, path, **kwargs)


def test_every_route_of_the_served_app_is_declared_with_a_bound_that_holds(served):
    outer, gradio_app = served
    assert undeclared(gradio_app) == []
    table = Table.of(internals.routes(gradio_app))
    big, limits = b"x" * (300 * 1024), Limits()
    checked = 0
    for pattern in table.patterns:
        rule, path = pattern.rule, example(pattern.path)
        if rule.kind == SOCKET:
            continue  # the pad's socket: its share and sizes are tests/test_attacks.py's
        for method in sorted(pattern.methods or {"GET", "POST"}):
            scope = {"type": "http", "method": method, "path": path, "root_path": ""}
            assert table.match(scope).path == pattern.path, path  # the example reaches this route
            if rule.kind == CLOSED:
                r = asyncio.run(send(outer, method, path, content=big if method in BODY_METHODS else None))
                assert r.status_code == 404 and (method == "HEAD" or r.json()["detail"] == rule.why), (method, path)
            elif rule.kind == UPLOAD:
                headers = {"content-length": str(limits.max_upload + 1), "content-type": "multipart/form-data"}
                r = asyncio.run(send(outer, method, path, headers=headers))
                assert r.status_code == 413, (method, path, r.text)
            elif rule.kind in BODY_KINDS:
                r = asyncio.run(send(outer, method, path, content=big, headers={"content-type": "application/json"}))
                assert r.status_code == 413, (method, path, r.text)
            else:  # no body: refused from its declared length
                r = asyncio.run(send(outer, method, path, content=b"0123456789"))
                assert r.status_code == 413, (method, path, r.text)
            if rule.kind == FILE:  # the app's own files only: Gradio would fetch a URL and stream it through
                r = asyncio.run(send(outer, method, path.replace("1", "https://example.com/x", 1)))
                assert r.status_code == 404, (method, path, r.text)
            checked += 1
    assert checked >= 80  # every route, each of its methods


def test_the_docs_show_the_route_table():
    assert read_section(ROOT / "docs" / "serving.md", "routes") == routes.markdown(), "run scripts/route_table.py"


def test_a_route_added_without_a_bound_fails_the_walk_and_answers_404(served):
    outer, gradio_app = served
    before = len(gradio_app.router.routes)

    async def handler() -> dict:
        return {"ran": True}

    gradio_app.router.add_api_route("/gradio_api/added-later", handler, methods=["POST"])
    try:
        assert undeclared(gradio_app) == ["/gradio_api/added-later: not declared"]
        guard = Guard(handler, limits=Limits())
        guard.table = Table.of(internals.routes(gradio_app))
        r = asyncio.run(send(guard, "POST", "/gradio_api/added-later", json={}))
        assert (r.status_code, r.json()["detail"]) == (404, routes.UNDECLARED.why)
    finally:
        del gradio_app.router.routes[before:]


def test_one_rate_for_an_endpoint_whatever_route_or_spelling_reaches_it():
    """Measured before: /gradio_api/call/v2/feedback kept 15 of 15 from one client, and queue/join with fn_index as
    "14" or 14.0 (which Gradio reads as 14) was not counted at all."""

    def keep(text: str) -> str:
        return text

    with gr.Blocks() as demo:
        text, out, api, page_button, other = gr.Textbox(), gr.Textbox(), gr.Button(), gr.Button(), gr.Button()
        api.click(keep, text, out, api_name="feedback", concurrency_id="feedback")
        page_button.click(keep, text, out, api_visibility="private", concurrency_id="feedback")  # the page's own
        other.click(keep, text, out, api_name="other")
    demo.queue()
    limits = Limits(event_rates=(("feedback", 7),), per_client=1000)
    outer = gr.mount_gradio_app(FastAPI(), demo, path="/",
                                app_kwargs={"middleware": [Middleware(Guard, blocks=demo, limits=limits)]})  # fmt: skip
    spellings = [
        ("/gradio_api/call/feedback", {"data": ["a"]}),
        ("/gradio_api/call/feedback/", {"data": ["a"]}),
        ("/gradio_api/call/v2/feedback", {"text": "a"}),
        ("/gradio_api/call/v2/feedback/", {"text": "a"}),
        ("/gradio_api/queue/join", {"data": ["a"], "fn_index": 0, "session_hash": "s"}),
        ("/gradio_api/queue/join", {"data": ["a"], "fn_index": "0", "session_hash": "s"}),
        ("/gradio_api/queue/join", {"data": ["a"], "fn_index": 1.0, "session_hash": "s"}),
    ]

    async def run() -> tuple[list[int], list[int]]:
        transport = httpx.ASGITransport(app=outer, client=VISITOR)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            codes = [(await client.post(path, json=body)).status_code for path, body in spellings * 3]
            others = [(await client.post("/gradio_api/call/other", json={"data": ["a"]})).status_code for _ in range(3)]
            return codes, others

    codes, others = asyncio.run(run())
    assert codes == [200] * 7 + [429] * 14  # seven spellings, one endpoint: its seven a minute, then refused
    assert others == [200] * 3  # another endpoint is not rated


def test_compression_holds_a_few_responses_at_once_per_client_and_sends_the_rest_as_they_are():
    """A client reading slowly holds its own compression slots, never another visitor's."""
    release = asyncio.Event()

    async def config(scope, receive, send) -> None:  # a 4 MB answer sent in 64 KB chunks
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"4194304")]})  # fmt: skip
        for i in range(64):
            await send({"type": "http.response.body", "body": b"x" * 65536, "more_body": i < 63})
            if i == 0:
                await release.wait()  # the reader stops reading after the first chunk

    app = Compression(config, per_client=3, in_flight=5)

    async def run() -> list[str]:
        tasks = [asyncio.create_task(get(app, "/config", "11.0.0.1")) for _ in range(8)]
        tasks += [asyncio.create_task(get(app, "/config", f"11.0.0.{i}")) for i in (2, 3, 4)]
        await asyncio.sleep(0.2)
        assert app.slots.counts == {"11.0.0.1": 3, "11.0.0.2": 1, "11.0.0.3": 1}  # 5 in all
        release.set()
        return [encoding for encoding, _ in await asyncio.gather(*tasks)]

    encodings = asyncio.run(run())
    assert encodings[:8].count("gzip") == 3 and encodings[8:] == ["gzip", "gzip", "identity"]
    assert app.slots.all == 0 and not app.slots.counts


def test_gradios_files_are_compressed_once_and_kept():
    """Before, Gradio's Brotli compressed its 4.6 MB Plotly bundle again for every request (117 ms of CPU each, a
    4 MB window held for each slow reader)."""
    served = []
    script = b"function plot() { return 42; }\n" * 40_000  # 1.2 MB

    async def files(scope, receive, send) -> None:
        served.append(scope["path"])
        await asyncio.sleep(0.05)
        missing = scope["path"].endswith("missing.js")
        headers = [(b"content-type", b"text/javascript"), (b"etag", b'"v1"'),
                   (b"content-length", str(9 if missing else len(script)).encode())]  # fmt: skip
        await send({"type": "http.response.start", "status": 404 if missing else 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"not found" if missing else script})

    app = Compression(files)

    async def run() -> list[tuple[str, bytes]]:
        first = await asyncio.gather(*[get(app, "/assets/plot.js", f"11.0.0.{i}") for i in range(1, 21)])
        again = await get(app, "/assets/plot.js", "11.0.0.1", etag='"v1"')
        return [*first, again, await get(app, "/assets/missing.js", "11.0.0.1")]

    answers = asyncio.run(run())
    assert served == ["/assets/plot.js", "/assets/missing.js"]  # read and compressed once for 21 requests
    assert {(e, gzip.decompress(b)) for e, b in answers[:20]} == {("gzip", script)}
    assert answers[20] == ("304", b"") and answers[21] == ("identity", b"not found")
    assert list(app.cache) == ["/assets/plot.js"] and app.cached < len(script) / 50
    assert app.slots.all == 0 and not app.making


async def get(app, path: str, client: str, etag: str | None = None) -> tuple[str, bytes]:
    """GET `path` from the ASGI app as `client`, accepting gzip: the answer's encoding (its status if not 200) and
    its body."""
    started: list[dict] = []
    body = []

    async def send(message) -> None:
        if message["type"] == "http.response.start":
            started.append(message)
        else:
            body.append(message.get("body", b""))

    headers = [(b"accept-encoding", b"gzip, br")] + ([(b"if-none-match", etag.encode())] if etag else [])
    await app({"type": "http", "method": "GET", "path": path, "digitnet.client": client, "headers": headers},
              None, send)  # fmt: skip
    status, headers = started[0]["status"], dict(started[0]["headers"])
    encoding = headers.get(b"content-encoding", b"identity").decode() if status in (200, 404) else str(status)
    return encoding, b"".join(body)
