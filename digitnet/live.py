"""The live readout for a whole class at once: every visitor's drawing while the pen moves, answered in shared batches.

The pad sends its drawing many times a second while the pen moves. Answered one request at a time, the server spent
four fifths of each answer on the request around a 1 ms forward pass and topped out near 175 answers a second
(docs/benchmarks.md, [class-profile-before]). Here:

- `Drawing`: one message of the pad's, read once (`Drawing.parse`): its "seq", "model", "final" and strokes; what
  cannot be answered raises `Unanswerable` with the reply to send.
- `Batcher`: one worker thread answers whatever is waiting as one batch (`answering`: render every drawing, run each
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from starlette.websockets import WebSocket, WebSocketDisconnect

from digitnet import drawing, views
from digitnet.client import CLIENT
from digitnet.guard import SOCKET_PATH
from digitnet.predict import Prediction
from digitnet.preprocess import InputError

PATH = SOCKET_PATH
MAX_BATCH = 64  # drawings in one forward pass: ~40 ms of cnn on one CPU core, so a pen-up answer waits one of them
MAX_WAITING = 4096  # drawings waiting in all; past it a live drawing is told the server is busy (finals still wait)
IDLE_S = 60.0  # a connection with no drawing for this long is closed; the pad opens a new one at its next stroke
BUSY = "the server is busy; the answer comes when you lift the pen"
NOT_A_DRAWING = "a drawing must be an object with 'strokes', 'width' and 'model'"
NOT_JSON = "a drawing must be one JSON object"


class Unanswerable(Exception):
    """A message that is not a drawing the networks can answer; `reply` is what the pad is sent."""

    def __init__(self, seq: int | None, error: str) -> None:
        super().__init__(error)
        self.reply = {"seq": seq, "error": error}


@dataclass(frozen=True)
class Drawing:
    """One live drawing, as the pad sends it ({"strokes", "width", "seq", "model", "final"}), checked."""

    seq: int | None  # the pad's counter, echoed in the reply (None when it sent no integer)
    model: str  # the network to answer with
    final: bool  # drawn at pen-up (or for another network): answered ahead of live drawings
    strokes: list[drawing.Stroke]
    width: int

    @classmethod
    def parse(cls, value: Any, names: Sequence[str], default: str) -> Drawing:
        """A message's JSON value -> the drawing; Unanswerable with the reply for anything else."""
        if not isinstance(value, dict):
            raise Unanswerable(None, NOT_A_DRAWING)
        seq, model = seq_of(value), value.get("model", default)
        if model not in names:
            raise Unanswerable(seq, f"unknown network; choose one of {', '.join(names)}")
        try:
            strokes, width = drawing.parse(value)
        except InputError as e:
            raise Unanswerable(seq, str(e)) from e
        return cls(seq, model, value.get("final") is True, strokes, width)

    @classmethod
    def read(cls, text: str, names: Sequence[str], default: str) -> Drawing:
        """A connection's text message -> the drawing (as `parse`)."""
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            raise Unanswerable(None, NOT_JSON) from None
        return cls.parse(value, names, default)


Answer = Callable[[list[Drawing]], list[dict]]  # drawings -> {"seq", "answer" | "error"} each
PredictMany = Callable[[list[tuple[np.ndarray | None, str]]], list[Prediction]]  # predict.Networks.predict_many


def answering(predict_many: PredictMany) -> Answer:
    """The batcher's answer function: every drawing rendered, each network run once on all of its drawings
    (`predict_many`: the networks' own, wrapped for the GPU under ZeroGPU: one call per batch)."""

    def answer(drawings: list[Drawing]) -> list[dict]:
        inputs = [(drawing.ink_input(d.strokes, d.width), d.model) for d in drawings]
        predictions = predict_many(inputs)
        return [{"seq": d.seq, "answer": views.answer(p)} for d, p in zip(drawings, predictions, strict=True)]

    return answer


@dataclass
class _Waiting:
    drawing: Drawing
    future: asyncio.Future
    loop: asyncio.AbstractEventLoop


class Batcher:
    """Answers drawings from any number of clients in shared batches (see the module docstring). `answer` runs in
    the batcher's own thread, started at the first drawing; `names` are the networks a drawing may ask for,
    `default` the one it gets when it names none."""

    def __init__(
        self,
        answer: Answer,
        names: Sequence[str],
        default: str,
        max_batch: int = MAX_BATCH,
        max_waiting: int = MAX_WAITING,
    ) -> None:
        self.answer, self.names, self.default = answer, list(names), default
        self.max_batch, self.max_waiting = max_batch, max_waiting
        self.finals: OrderedDict[str, deque[_Waiting]] = OrderedDict()  # per client, in turn
        self.lives: OrderedDict[str, deque[_Waiting]] = OrderedDict()
        self.waiting = 0
        self.batches = 0  # answered so far (for tests and benchmarks)
        self._wake = threading.Condition()
        self._worker: threading.Thread | None = None

    async def reply(self, value: Any, client: str = "") -> dict:
        """The reply to one drawing as a JSON value (the HTTP `live` function's): its answer, or why there is none."""
        try:
            return await self.submit(Drawing.parse(value, self.names, self.default), client)
        except Unanswerable as e:
            return e.reply

    async def submit(self, drawing: Drawing, client: str = "") -> dict:
        """The reply for one drawing, once its batch has run; a pen-up drawing goes first."""
        loop = asyncio.get_running_loop()
        item = _Waiting(drawing, loop.create_future(), loop)
        with self._wake:
            if not drawing.final and self.waiting >= self.max_waiting:
                return {"seq": drawing.seq, "error": BUSY}
            (self.finals if drawing.final else self.lives).setdefault(client, deque()).append(item)
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
                replies = self.answer([w.drawing for w in batch])
            except Exception as e:  # an answer for everyone in the batch, never a request left hanging
                replies = [{"seq": w.drawing.seq, "error": f"the server failed to answer: {e}"} for w in batch]
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


def seq_of(value: dict) -> int | None:
    """A message's "seq" when it is an integer (the pad's counter), else None."""
    seq = value.get("seq")
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else None


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
            try:
                reply = await batcher.submit(Drawing.read(newest.pop(), batcher.names, batcher.default), client)
            except Unanswerable as e:
                reply = e.reply
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
