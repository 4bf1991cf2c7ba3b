"""The live readout for a whole class at once: every visitor's drawing while the pen moves, answered in shared batches.

The pad sends its drawing many times a second while the pen moves. Answered one request at a time, the server spent
four fifths of each answer on the request around a 1 ms forward pass and topped out near 175 answers a second
(docs/benchmarks.md, [class-profile-before]). Here:

- `Batcher`: one worker thread answers whatever is waiting as one batch (`answer`: render every drawing, run each
  network once on all of its drawings; under ZeroGPU one GPU call per batch). It takes pen-up drawings first, then
  the visitors' live drawings in turn, one per client per round, so a pen-up answer never waits behind other
  visitors' strokes and no client crowds out the rest. It never waits for a batch to fill: a lone visitor's drawing
  is answered at once, and while one batch runs the next one gathers.
- `serve_socket`: the pad's own connection, a WebSocket at PATH. The pad sends each drawing as one text message (the
  same object as the HTTP `live` function takes, plus "final": true at pen-up) and gets {"seq", "answer" | "error"}
  back. A connection has one drawing being answered at a time; a drawing that arrives meanwhile waits, and a newer one
  replaces it unanswered and unread: only the newest drawing matters, so a flood costs the server no parsing, and a
  late answer can never follow a newer one. Limits: digitnet/guard.py (connections per client), digitnet/server.py
  (message size, connections in all), IDLE_S here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from starlette.websockets import WebSocket, WebSocketDisconnect

from digitnet.guard import CLIENT, SOCKET_PATH

PATH = SOCKET_PATH
MAX_BATCH = 64  # drawings in one forward pass: ~40 ms of cnn on one CPU core, so a pen-up answer waits one of them
MAX_WAITING = 4096  # drawings waiting in all; past it a live drawing is told the server is busy (finals still wait)
IDLE_S = 60.0  # a connection with no drawing for this long is closed; the pad opens a new one at its next stroke
BUSY = "the server is busy; the answer comes when you lift the pen"
NOT_A_DRAWING = "a drawing must be an object with 'strokes', 'width' and 'model'"

Answer = Callable[[list[dict]], list[dict]]  # drawings as the pad sends them -> {"seq", "answer" | "error"} each


@dataclass
class _Waiting:
    request: dict
    future: asyncio.Future
    loop: asyncio.AbstractEventLoop


class Batcher:
    """Answers drawings from any number of clients in shared batches (see the module docstring). `answer` runs in
    the batcher's own thread, started at the first drawing."""

    def __init__(self, answer: Answer, max_batch: int = MAX_BATCH, max_waiting: int = MAX_WAITING) -> None:
        self.answer, self.max_batch, self.max_waiting = answer, max_batch, max_waiting
        self.finals: OrderedDict[str, deque[_Waiting]] = OrderedDict()  # per client, in turn
        self.lives: OrderedDict[str, deque[_Waiting]] = OrderedDict()
        self.waiting = 0
        self.batches = 0  # answered so far (for tests and benchmarks)
        self._wake = threading.Condition()
        self._worker: threading.Thread | None = None

    async def submit(self, request: dict, client: str = "") -> dict:
        """The reply for one drawing, once its batch has run; a pen-up drawing ("final": true) goes first."""
        loop = asyncio.get_running_loop()
        item = _Waiting(request, loop.create_future(), loop)
        final = isinstance(request, dict) and request.get("final") is True
        with self._wake:
            if not final and self.waiting >= self.max_waiting:
                return {"seq": seq_of(request), "error": BUSY}
            (self.finals if final else self.lives).setdefault(client, deque()).append(item)
            self.waiting += 1
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, name="digitnet-live", daemon=True)
                self._worker.start()
            self._wake.notify()
        return await item.future

    def _take(self) -> list[_Waiting]:
        """Up to max_batch drawings: pen-up ones first, then live ones, one per client per round."""
        batch: list[_Waiting] = []
        for queues in (self.finals, self.lives):
            while queues and len(batch) < self.max_batch:
                client, waiting = next(iter(queues.items()))
                batch.append(waiting.popleft())
                if waiting:
                    queues.move_to_end(client)
                else:
                    del queues[client]
        self.waiting -= len(batch)
        return batch

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self.waiting:
                    self._wake.wait()
                batch = self._take()
            try:
                replies = self.answer([w.request for w in batch])
            except Exception as e:  # an answer for everyone in the batch, never a request left hanging
                replies = [{"seq": seq_of(w.request), "error": f"the server failed to answer: {e}"} for w in batch]
            self.batches += 1
            loops: dict[asyncio.AbstractEventLoop, list] = {}
            for w, reply in zip(batch, replies, strict=True):
                loops.setdefault(w.loop, []).append((w.future, reply))
            for loop, done in loops.items():  # one wake-up of each event loop per batch, not one per drawing
                with contextlib.suppress(RuntimeError):  # a loop closed meanwhile: its visitors are gone
                    loop.call_soon_threadsafe(_deliver, done)


def _deliver(done: list[tuple[asyncio.Future, dict]]) -> None:
    for future, reply in done:
        if not future.done():  # its visitor may have left meanwhile
            future.set_result(reply)


def seq_of(request) -> int | None:
    """A drawing's "seq" when it is an integer (the pad's counter), else None."""
    seq = request.get("seq") if isinstance(request, dict) else None
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else None


def read(text: str) -> tuple[dict | None, dict | None]:
    """A connection's message -> (the drawing, None) or (None, the error reply)."""
    try:
        request = json.loads(text)
    except (ValueError, RecursionError):
        return None, {"seq": None, "error": "a drawing must be one JSON object"}
    if not isinstance(request, dict):
        return None, {"seq": None, "error": NOT_A_DRAWING}
    return request, None


async def serve_socket(websocket: WebSocket, batcher: Batcher) -> None:
    """One pad's connection, until it closes or stays idle for IDLE_S (see the module docstring)."""
    await websocket.accept()
    client = str(websocket.scope.get(CLIENT, ""))
    newest: list[str] = []  # the drawing waiting for this connection's turn (at most one)
    arrived = asyncio.Event()

    async def answer() -> None:
        while True:
            await arrived.wait()
            arrived.clear()
            request, reply = read(newest.pop())
            if request is not None:
                reply = await batcher.submit(request, client)
            try:
                await websocket.send_text(json.dumps(reply))
            except (RuntimeError, OSError):  # the visitor left while it was answered
                return

    answering = asyncio.create_task(answer())
    try:
        while True:
            message = await asyncio.wait_for(websocket.receive(), IDLE_S)
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is None:
                await websocket.close(1003, "send each drawing as one JSON text message")
                return
            newest[:] = [message["text"]]
            arrived.set()
    except (TimeoutError, WebSocketDisconnect):
        if websocket.client_state.name == "CONNECTED":
            await websocket.close(1000, f"no drawing for {IDLE_S:.0f} s")
    finally:
        answering.cancel()
