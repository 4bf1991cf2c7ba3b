"""ASGI plumbing for the guard (digitnet/guard.py): reading a request's headers and query, a deadline on its body,
replaying a body read whole, reading a JSON answer on its way out, answering with a JSON message, and refusing an
upload part way."""

from __future__ import annotations

import asyncio
import json
import re
from urllib.parse import parse_qs


class Refused(Exception):
    """A request refused part way (raised from inside receive; the guard answers with `status` and `message`)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class Parts:
    """Counts the parts of a multipart body as it streams past (each delimiter `--boundary` after a line break,
    or at the very start, opens a part; the closing one does not)."""

    def __init__(self, boundary: bytes | None) -> None:
        self.delimiter = b"\r\n--" + boundary if boundary else None
        self.tail = b"\r\n"  # the body's first delimiter has no line break before it
        self.delimiters = 0

    @property
    def count(self) -> int:
        return max(0, self.delimiters - 1)

    def feed(self, chunk: bytes) -> int:
        """Count the delimiters that end in `chunk`; returns how many parts that added."""
        if self.delimiter is None:
            return 0
        before = self.count
        data = self.tail + chunk
        self.delimiters += data.count(self.delimiter)
        self.tail = data[-(len(self.delimiter) - 1) :]
        # a delimiter wholly inside the kept tail was counted already: the tail is shorter than one delimiter
        return self.count - before


async def refusing(receive, refusal: list[Refused], error: type):
    """receive, with a timeout turned into the exception Gradio's upload parser cleans up after."""
    try:
        return await receive()
    except Refused as r:
        refuse(refusal, error, r)


def refuse(refusal: list[Refused], error: type, why: Refused):
    """Note why an upload is refused and raise `error` (Gradio's MultiPartException: it deletes the partial
    files and answers; `_replacing` then sends the guard's answer instead)."""
    refusal.append(why)
    raise why if error is Refused else error(why.message)


class Replacing:
    """A send that answers with the guard's refusal instead of Gradio's answer once the guard refused."""

    def __init__(self, send, refusal: list[Refused]) -> None:
        self.send, self.refusal = send, refusal
        self.started = self.replaced = False

    async def __call__(self, message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            if self.refusal:
                self.replaced = True
                return await reply(self.send, self.refusal[0].status, self.refusal[0].message)
        if not self.replaced:
            await self.send(message)


def boundary(scope: dict) -> bytes | None:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            match = re.search(rb'boundary="?([^";]+)"?', value)
            return match.group(1) if match else None
    return None


def query(scope: dict, name: str) -> str | None:
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get(name)
    return values[0] if values else None


def content_length(scope: dict) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def chunked(scope: dict) -> bool:
    return any(name == b"transfer-encoding" for name, _ in scope.get("headers", []))


def is_json(scope: dict) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            return b"json" in value.lower()
    return True  # FastAPI reads a body without a content type as JSON


def deadline(receive, idle_s: float, total_s: float):
    """A receive that raises Refused(408) when the body stalls for `idle_s` or is not complete within `total_s`;
    once the body is complete it waits as long as the app wants (e.g. for a disconnect)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + total_s
    done = False

    async def timed():
        nonlocal done
        if done:
            return await receive()
        try:
            message = await asyncio.wait_for(receive(), timeout=max(min(idle_s, end - loop.time()), 0.0))
        except TimeoutError:
            raise Refused(408, "the request body stopped arriving; send it whole, without pauses") from None
        done = message["type"] != "http.request" or not message.get("more_body", False)
        return message

    return timed


def reading_answer(send, read):
    """A send that passes the answer on and hands its body, parsed as JSON once complete, to `read` (None when it
    is not JSON)."""
    chunks: list[bytes] = []

    async def sending(message):
        if message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                try:
                    read(json.loads(b"".join(chunks)))
                except ValueError:
                    read(None)
        await send(message)

    return sending


def replay(body: bytes, receive):
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # e.g. http.disconnect

    return replay


async def reply(send, status: int, message: str, retry: bool = False) -> None:
    body = json.dumps({"detail": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if retry or status in (429, 503):
        headers.append((b"retry-after", b"1"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
