"""Clients of the served app as anyone on the internet can be one: raw HTTP to its public API (no gradio_client,
no page), the pad's WebSocket, and what each answer says in one word (an `Answer`)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

import httpx

from digitnet.lab.serving import Server, pad_value

JSON = {"content-type": "application/json"}
ATTACKER = "203.0.113.80"  # the attacking client's address, where an attack needs no address of its own
T = TypeVar("T")


@dataclass
class Answer:
    """What the attacker got: 'answer' (a valid result), 'refused' (an HTTP error or an error message),
    'unclear' (an error without a message) or 'timeout'; `text` is short and human-readable. A flood adds what
    another client got meanwhile (`victim`, after `waited` s; None: not asked) and its own figures."""

    kind: str
    text: str
    data: object = None  # a complete event's output
    waited: float | None = None
    victim: str = ""
    figures: dict = field(default_factory=dict)

    def __str__(self) -> str:
        other = f"; other client: {self.victim} after {self.waited:.2f} s" if self.waited is not None else ""
        return f"{self.kind}: {self.text}{other}"


class Api:
    """Raw HTTP to the app. `address`: the client it plays (X-Forwarded-For, which the tests' servers trust from
    loopback); `local`: the local address it connects from."""

    def __init__(
        self,
        server: Server,
        headers: dict | None = None,
        timeout: float = 120.0,
        address: str | None = None,
        local: str | None = None,
    ) -> None:
        self.server = server
        headers = (headers or {}) | ({"X-Forwarded-For": address} if address else {})
        transport = httpx.HTTPTransport(local_address=local) if local else None
        self.http = httpx.Client(base_url=server.url.rstrip("/"), timeout=timeout, headers=headers, transport=transport)
        self.pad: int | None = None  # the drawing pad's component id, for its live function

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def upload(self, files: list[tuple[str, bytes]], fields: dict | None = None) -> httpx.Response:
        return self.http.post("/gradio_api/upload", files=[("files", f) for f in files], data=fields or {})

    def uploaded(self, name: str, data: bytes) -> str:
        """Upload one file the way the page does; its path on the server."""
        r = self.upload([(name, data)])
        r.raise_for_status()
        return r.json()[0]

    def submit(self, api: str, data: list, session: str | None = None, body: bytes | None = None) -> httpx.Response:
        """Join the queue for event `api` (POST /gradio_api/call/<api>); the response holds the event id."""
        return self.http.send(self.submission(api, data, session, body))

    def submission(self, api: str, data: list, session: str | None = None, body: bytes | None = None):
        """The request `submit` sends, built but not sent (an httpx.Request)."""
        if body is None:
            body = json.dumps({"data": data, "session_hash": session or uuid.uuid4().hex}).encode()
        return self.http.build_request("POST", f"/gradio_api/call/{api}", content=body, headers=JSON)

    def outcome(self, api: str, event_id: str) -> tuple[str, object] | None:
        """Read the event's stream until it completes or fails: ("complete" or "error", its data); None when the
        stream ends first."""
        event = None
        with self.http.stream("GET", f"/gradio_api/call/{api}/{event_id}") as r:
            for line in r.iter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and event in ("complete", "error"):
                    return event, json.loads(line[5:]) if line[5:].strip() else None
        return None

    def result(self, api: str, event_id: str) -> Answer:
        """The event's outcome as an Answer (a complete event's output in its `data`)."""
        got = self.outcome(api, event_id)
        if got is None:
            return Answer("unclear", "the stream ended without a result")
        event, data = got
        if event == "complete":
            return Answer("answer", summary(data), data)
        message = data.get("error") if isinstance(data, dict) else data
        return Answer("refused", str(message)[:200]) if message else Answer("unclear", "error, no message")

    def call(self, api: str, data: list, session: str | None = None, body: bytes | None = None) -> Answer:
        """Submit an event and read its outcome."""
        try:
            r = self.submit(api, data, session, body)
        except httpx.TimeoutException:
            return Answer("timeout", "no answer to the request")
        if r.status_code != 200:
            return refused(r)
        return self.result(api, r.json()["event_id"])

    def live(self, value, session: str | None = None, body: bytes | None = None) -> httpx.Response:
        """What the pad sends while the pen moves: POST /gradio_api/component_server, function `live`."""
        return self.http.send(self.live_request(value, session, body))

    def live_request(self, value, session: str | None = None, body: bytes | None = None):
        """The request `live` sends, built but not sent (an httpx.Request)."""
        if body is None:
            body = json.dumps(live_body(value, self.pad_id(), session or uuid.uuid4().hex)).encode()
        return self.http.build_request("POST", "/gradio_api/component_server/", content=body, headers=JSON)

    def pad_id(self) -> int:
        """The drawing pad's component id (read from /config once)."""
        if self.pad is None:
            self.pad = component_id(self, "pad")
        return self.pad

    def post(self, path: str, body: Iterable[bytes], headers: dict[str, str]) -> httpx.Response:
        """POST a streamed body, then close this client."""
        try:
            return self.http.post(path, content=body, headers=headers)
        finally:
            self.close()


def live_body(value, pad: int, session: str) -> dict:
    return {"data": value, "component_id": pad, "fn_name": "live", "session_hash": session}


def live_answer(r: httpx.Response) -> Answer:
    """The live function's reply as an Answer: the digit, its error message, or the HTTP refusal."""
    if r.status_code != 200:
        return refused(r)
    reply = r.json()
    if reply.get("error"):
        return Answer("refused", reply["error"][:200])
    return Answer("answer", summary(reply.get("answer")))


def refused(r: httpx.Response) -> Answer:
    """An HTTP error response as an Answer (its status and message)."""
    try:
        detail = r.json().get("detail") if "json" in r.headers.get("content-type", "") else r.text
    except ValueError:
        detail = r.text
    detail = str(detail or "").strip()
    return Answer("refused" if detail else "unclear", f"HTTP {r.status_code} {detail[:150]}")


def status_answer(r: httpx.Response, what: str) -> Answer:
    """A plain response as an Answer: read and answered (any status below 400), or refused."""
    if r.status_code < 400:
        return Answer("answer", f"{what}: HTTP {r.status_code} (read and answered)")
    answer = refused(r)
    return Answer(answer.kind, f"{what}: {answer.text}")


def summary(data) -> str:
    """A short description of an event's output: the digit it names, or 'nothing drawn'."""
    first = data[0] if isinstance(data, list) and data else data
    if isinstance(first, dict) and "digit" in first:
        return "nothing drawn" if first.get("empty") or first["digit"] is None else f"digit {first['digit']}"
    if first is None:
        return "nothing drawn"
    return str(first)[:60]


def component_id(api: Api, elem_id: str) -> int:
    config = api.http.get("/config").json()
    return next(c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == elem_id)


def wait_idle(api: Api, timeout: float = 300.0, settle: float = 0.5) -> None:
    """Until the app's queue is empty (then `settle` s more: the last events may still be running)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = api.http.get("/gradio_api/queue/status").json()
        if not status.get("queue_size"):
            time.sleep(settle)
            return
        time.sleep(0.02)


def live_visitor(server: Server, address: str) -> str:
    """A visitor's drawing of the 7 over its own WebSocket (the pad's): 'answer: digit 7', or what it got instead."""
    try:
        with server.socket(address, open_timeout=30) as socket:
            socket.send(json.dumps(pad_value() | {"seq": 1, "model": "cnn", "final": True}))
            reply = json.loads(socket.recv(timeout=30))
    except Exception as e:  # reported, never raised
        return f"{type(e).__name__}: {e}"[:80]
    return f"answer: digit {reply['answer']['digit']}" if reply.get("answer") else str(reply)[:80]


def at_once(
    server: Server, count: int, address: Callable[[int], str], prepare: Callable[[Api, int], Callable[[], T]]
) -> list[T]:
    """`count` clients, client i of `address(i)` with its own connection, each sending at the same moment: each
    prepares what it sends (`prepare(api, i)`, which returns the sending), all wait at one barrier, then all send.
    What each sending returned."""
    barrier = threading.Barrier(count)

    def one(i: int) -> T:
        with Api(server, address=address(i)) as api:
            send = prepare(api, i)
            barrier.wait()
            return send()

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))
