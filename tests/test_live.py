"""The live readout for a class (issue 27): the batcher, the pad's WebSocket and the HTTP live function.

The batched path must give each drawing the answer the unbatched path gives; a visitor's late answer must never
follow a newer one; the pen-up answer must arrive while many visitors keep the live path busy; the guard's limits
must hold on the new path. Timings are in benchmarks/class_load.py, not here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import socket
import threading
import time

import numpy as np
import pytest
from test_browser import SEVEN, draw, open_page, readout
from websockets.exceptions import ConnectionClosed, InvalidStatus

from digitnet import drawing, live, page, views
from digitnet.guard import Limits
from digitnet.lab.serving import Server, pad_value, visitor
from digitnet.predict import Networks

FLOAT = 1e-6  # a batched forward pass sums in another order: probabilities and scores may differ by ~3e-7
ROUNDED = 1.5e-6  # the same in an answer, whose figures are rounded to 6 decimals: one step of the last apart


@pytest.fixture(scope="module")
def networks() -> Networks:
    return Networks.load()


def _number(shown: str) -> float:
    return float(shown.replace(",", "").rstrip("%"))


def _near(a: str, b: str) -> bool:
    """Two shown figures (3 significant digits, "98%", "1,234"): equal, or one step of the last digit apart."""
    return a == b or abs(_number(a) - _number(b)) <= 0.01 * max(abs(_number(a)), abs(_number(b)))


def same_answer(a: dict | None, b: dict | None) -> bool:
    """The same network, digit and verdict; probabilities and confidence equal to within ROUNDED; the shown scores
    equal (or one step of their last digit apart, where the summation order tipped the rounding)."""
    if a is None or b is None:
        return a is b
    close = all(abs(x - y) <= ROUNDED for x, y in zip(a["probabilities"], b["probabilities"], strict=True))
    scores = [n for n, _ in a["scores"]] == [n for n, _ in b["scores"]] and all(
        _near(x, y) for (_, x), (_, y) in zip(a["scores"], b["scores"], strict=True)
    )
    va, vb = a["verdict"] or {}, b["verdict"] or {}
    verdict = va.get("not_a_digit") == vb.get("not_a_digit") and va.get("by") == vb.get("by")
    same = all(a[k] == b[k] for k in ("model", "label", "digit"))
    return same and close and scores and verdict and abs(a["confidence"] - b["confidence"]) <= ROUNDED


def test_a_batch_of_many_networks_predicts_what_each_image_alone_does(networks, mnist_test):
    x, _ = mnist_test
    rng = random.Random(1)
    inputs = [(drawing.to_input(pad_value(x[i].numpy())), rng.choice(networks.names)) for i in range(40)]
    inputs.insert(7, (None, "cnn"))
    for (image, name), p in zip(inputs, networks.predict_many(inputs), strict=True):
        alone = networks.predict(image, name)
        assert (p.model, p.digit, p.not_a_digit, p.empty) == (alone.model, alone.digit, alone.not_a_digit, alone.empty)
        assert np.allclose(p.probabilities, alone.probabilities, rtol=0, atol=FLOAT)
        assert p.scores.keys() == alone.scores.keys()
        assert all(np.isclose(p.scores[k], alone.scores[k], rtol=1e-5, atol=FLOAT) for k in p.scores)


def drawings(mnist_test, count: int) -> list[dict]:
    """Real MNIST test digits traced as the pad draws them."""
    x, _ = mnist_test
    return [pad_value(x[i].numpy()) for i in range(count)]


def test_batched_answers_are_the_unbatched_ones_for_every_network_in_any_order(networks, mnist_test):
    h = page.handlers(networks)
    rng = random.Random(0)
    requests = [d | {"seq": i, "model": rng.choice(networks.names)} for i, d in enumerate(drawings(mnist_test, 48))]
    requests += [{"strokes": [], "width": 20, "seq": 900, "model": "cnn"},  # nothing drawn
                 {"strokes": [[1, 2, 3]], "width": 20, "seq": 901, "model": "cnn"},  # malformed
                 pad_value() | {"seq": 902, "model": "no-such-network"}]  # fmt: skip
    rng.shuffle(requests)

    async def all_at_once() -> list[dict]:
        return await asyncio.gather(*(h.batcher.reply(r, f"visitor-{i % 7}") for i, r in enumerate(requests)))

    replies = asyncio.run(all_at_once())
    assert h.batcher.batches < len(requests) / 4  # they did share batches
    for request, reply in zip(requests, replies, strict=True):
        assert reply["seq"] == request["seq"]
        if request["seq"] >= 900:
            assert (reply.get("answer"), "error" in reply) == ((None, False) if request["seq"] == 900 else (None, True))
            continue
        alone = views.answer(networks.predict(drawing.to_input(request), request["model"]))
        assert same_answer(reply["answer"], alone), (reply["answer"], alone)


def test_each_batch_is_one_call_of_the_gpu_wrapped_function(networks, mnist_test):
    """On ZeroGPU `spaces.GPU` wraps the functions that run the networks: a class costs one call per batch."""
    calls: list[int] = []

    def gpu(f):
        def wrapped(*args):
            calls.append(len(args[0]) if f.__name__ == "predict_many" else 1)
            return f(*args)

        wrapped.__name__ = f.__name__
        return wrapped

    h = page.handlers(networks, gpu=gpu)
    requests = [d | {"seq": i, "model": "cnn"} for i, d in enumerate(drawings(mnist_test, 30))]

    async def all_at_once() -> list[dict]:
        return await asyncio.gather(*(h.batcher.reply(r, f"visitor-{i}") for i, r in enumerate(requests)))

    replies = asyncio.run(all_at_once())
    assert all(r["answer"]["digit"] is not None for r in replies)
    assert len(calls) == h.batcher.batches < len(requests) and sum(calls) == len(requests)


def test_a_message_is_read_once_into_a_drawing_or_the_reply_that_refuses_it():
    names = ["mlp", "cnn"]
    d = live.Drawing.parse(pad_value() | {"seq": 3, "final": True}, names, "cnn")
    assert (d.seq, d.model, d.final, d.width) == (3, "cnn", True, drawing.PEN) and len(d.strokes) >= 1
    assert live.Drawing.parse(pad_value() | {"seq": True, "final": 1, "model": "mlp"}, names, "cnn").final is False
    assert live.Drawing.read(json.dumps(pad_value() | {"seq": True}), names, "cnn").seq is None  # not an integer

    def refused(message) -> dict:
        with pytest.raises(live.Unanswerable) as e:
            live.Drawing.read(message, names, "cnn") if isinstance(message, str) else live.Drawing.parse(
                message, names, "cnn")  # fmt: skip
        return e.value.reply

    assert refused("not json") == {"seq": None, "error": live.NOT_JSON}
    assert refused([1, 2]) == refused(None) == {"seq": None, "error": live.NOT_A_DRAWING}
    assert refused(pad_value() | {"seq": 4, "model": "resnet"}) == {"seq": 4, "error": "unknown network; choose "
                                                                                         "one of mlp, cnn"}  # fmt: skip
    assert refused({"strokes": [[1, 2, 3]], "seq": 5}) == {"seq": 5, "error": "a stroke must hold x, y pairs of "
                                                            "finite numbers within -280..560"}  # fmt: skip
    never = live.Batcher(lambda drawings: pytest.fail("an unanswerable message reached the batch"), names, "cnn")
    text = json.dumps(pad_value() | {"seq": 6})  # the HTTP function takes a drawing, not a drawing's JSON text
    assert asyncio.run(never.reply(text)) == {"seq": None, "error": live.NOT_A_DRAWING}


def held_drawing(name: str, seq: int | None = None, final: bool = False) -> live.Drawing:
    """A drawing the Gate answers with its network's name (the name stands for the drawing)."""
    return live.Drawing(seq, name, final, [], drawing.PEN)


def batcher(gate, **limits) -> live.Batcher:
    return live.Batcher(gate, ["cnn"], "cnn", **limits)


class Gate:
    """An answer function that holds the batcher's worker until opened, recording each batch."""

    def __init__(self, fail: bool = False) -> None:
        self.open, self.batches, self.fail = threading.Event(), [], fail

    def __call__(self, drawings: list[live.Drawing]) -> list[dict]:
        self.open.wait(10)
        self.batches.append([d.model for d in drawings])
        if self.fail:
            raise RuntimeError("broken network")
        return [{"seq": d.seq, "answer": d.model} for d in drawings]


async def _held(batcher: live.Batcher, gate: Gate, waiting: list[tuple[live.Drawing, str]]) -> list[dict]:
    """Submit one drawing the worker then holds, then `waiting` while it is held; open the gate; all replies."""
    first = asyncio.ensure_future(batcher.submit(held_drawing("first"), "z"))
    await asyncio.sleep(0.1)
    rest = [asyncio.ensure_future(batcher.submit(r, c)) for r, c in waiting]
    await asyncio.sleep(0.1)
    gate.open.set()
    return [await first, *[await r for r in rest]]


def test_pen_up_drawings_go_first_and_visitors_take_turns():
    gate = Gate()
    waiting = [(held_drawing(f"a{i}"), "a") for i in range(6)]
    waiting += [(held_drawing("b0"), "b"), (held_drawing("up", final=True), "c")]
    replies = asyncio.run(_held(batcher(gate, max_batch=4), gate, waiting))
    assert gate.batches == [["first"], ["up", "a0", "b0", "a1"], ["a2", "a3", "a4", "a5"]]
    assert [r["answer"] for r in replies] == ["first", "a0", "a1", "a2", "a3", "a4", "a5", "b0", "up"]


def test_past_its_bound_a_live_drawing_is_told_the_server_is_busy_and_a_pen_up_one_still_waits():
    gate = Gate()
    waiting = [(held_drawing("a", 1), "a"), (held_drawing("b", 2), "b"), (held_drawing("c", 3), "c"),
               (held_drawing("up", 4, final=True), "d")]  # fmt: skip
    replies = asyncio.run(_held(batcher(gate, max_waiting=2), gate, waiting))
    assert replies[3] == {"seq": 3, "error": live.BUSY}
    assert [r.get("answer") for r in replies] == ["first", "a", "b", None, "up"]


def test_a_failing_batch_answers_every_drawing_in_it_with_an_error():
    gate = Gate(fail=True)
    replies = asyncio.run(_held(batcher(gate), gate, [(held_drawing("a", 7), "a")]))
    assert all("broken network" in r["error"] for r in replies)
    assert replies[1]["seq"] == 7


def test_a_visitor_whose_event_loop_closed_does_not_stop_the_batcher():
    gate = Gate()
    held = batcher(gate)

    async def leave() -> None:  # submits, then its loop ends while the worker holds the drawing
        task = asyncio.ensure_future(held.submit(held_drawing("gone"), "a"))
        await asyncio.sleep(0.1)
        task.cancel()

    asyncio.run(leave())
    gate.open.set()
    reply = asyncio.run(asyncio.wait_for(held.submit(held_drawing("next", 2), "b"), 10))
    assert reply == {"seq": 2, "answer": "next"}


# --- the pad's connection, against the real app ---------------------------------------------------------------------


def ask(socket, value) -> dict:
    """Send `value` (a str as it is, anything else as JSON) and read the reply."""
    socket.send(value if isinstance(value, str) else json.dumps(value))
    return json.loads(socket.recv(timeout=60))


def test_the_pads_connection_answers_as_the_http_live_function_and_draw_do(server):
    seven = pad_value() | {"seq": 5, "model": "cnn_oe"}
    with server.socket(visitor(1)) as socket:
        over_socket = ask(socket, seven)
        assert ask(socket, seven | {"seq": 6, "final": True})["seq"] == 6
    client = server.client(visitor(1))
    by_draw = client.predict(pad_value(), "cnn_oe", api_name="/draw")[0]
    assert over_socket["seq"] == 5 and over_socket["answer"]["digit"] == 7
    assert same_answer(over_socket["answer"], {k: by_draw[k] for k in over_socket["answer"]})


def test_a_flood_on_one_connection_is_answered_in_order_ending_with_the_newest(server):
    seven = pad_value() | {"model": "cnn"}
    with server.socket(visitor(2)) as socket:
        for seq in range(1, 301):
            socket.send(json.dumps(seven | {"seq": seq}))
        seen = []
        while not seen or seen[-1] != 300:
            seen.append(json.loads(socket.recv(timeout=60))["seq"])
    assert seen == sorted(set(seen))  # never an older drawing's answer after a newer one
    assert len(seen) < 300  # the drawings replaced while waiting were never answered


def test_bad_messages_get_an_error_and_the_connection_keeps_answering(server):
    with server.socket(visitor(3)) as socket:
        assert "one JSON object" in ask(socket, "[" * 100_000)["error"]  # nested past any parser's depth
        assert "one JSON object" in ask(socket, "not json")["error"]
        assert "strokes" in ask(socket, [1, 2])["error"]
        assert "unknown network" in ask(socket, pad_value() | {"seq": 1, "model": "resnet"})["error"]
        assert ask(socket, pad_value() | {"seq": 2, "model": "cnn"})["answer"]["digit"] == 7


def closed_with(socket, send) -> tuple[int, str]:
    send(socket)
    with pytest.raises(ConnectionClosed) as closed:
        socket.recv(timeout=30)
    return closed.value.rcvd.code, closed.value.rcvd.reason


def test_a_binary_or_over_long_message_closes_the_connection_with_the_reason(server):
    with server.socket(visitor(4)) as socket:
        assert closed_with(socket, lambda s: s.send(b"\x00" * 10)) == (1003, "send each drawing as one JSON text "
                                                                             "message")  # fmt: skip
    with server.socket(visitor(4), max_size=None) as socket:
        code, _ = closed_with(socket, lambda s: s.send("x" * (Limits().max_json + 1)))
        assert code == 1009  # message too big
    with server.socket(visitor(4)) as socket:
        assert ask(socket, pad_value() | {"seq": 1, "model": "cnn"})["answer"]["digit"] == 7


def test_only_the_pads_path_takes_websockets(server):
    for path in ("gradio_api/queue/join", "", "config"):
        with pytest.raises(InvalidStatus) as refused:
            server.socket(visitor(5), path=path)
        assert refused.value.response.status_code == 403


def test_a_client_has_at_most_its_share_of_connections(server):
    share = Limits().sockets_per_client
    with contextlib.ExitStack() as held:
        sockets = [held.enter_context(server.socket(visitor(6))) for _ in range(share)]
        with server.socket(visitor(6)) as extra:
            code, reason = closed_with(extra, lambda s: None)
        assert (code, reason) == (1013, f"at most {share} live connections per client")
        with server.socket(visitor(7)) as other:  # another visitor is not affected
            assert ask(other, pad_value() | {"seq": 1, "model": "cnn"})["answer"]["digit"] == 7
        sockets[0].close()
        time.sleep(0.5)
        with server.socket(visitor(6)) as again:  # a closed one frees its place
            assert ask(again, pad_value() | {"seq": 1, "model": "cnn"})["answer"]["digit"] == 7


def test_closed_connections_give_their_places_back(start_app):
    """An upgraded connection is counted among the server's connections (digitnet/server.py) and released when it
    closes: with room for 12, three rounds of 12 connections each open (the count would leak otherwise)."""
    with start_app("app", env={"DIGITNET_MAX_CONNECTIONS": "12"}) as small:
        for _ in range(3):
            with contextlib.ExitStack() as held:
                sockets = [held.enter_context(small.socket(visitor(i))) for i in range(12)]
                assert first_line(small) == b"HTTP/1.1 503 Service Unavailable"  # the server is full
                assert ask(sockets[0], pad_value() | {"seq": 1, "model": "cnn"})["answer"]["digit"] == 7
            time.sleep(1.0)


def first_line(server: Server) -> bytes:
    """The first line the server sends on a new connection before any request: its refusal, when it has one (a
    raw socket: a WebSocket client racing its handshake against the refusal can fail inside its own library)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        return raw.recv(200).split(b"\r\n", 1)[0]


def _saturate(server: Server, visitors: int, stop: threading.Event, answered: list[int]) -> threading.Thread:
    """`visitors` pads drawing flat out over their own connections until `stop`, counting their answers."""
    import websockets

    body = json.dumps(pad_value() | {"seq": 1, "model": "cnn"})
    url = server.url.replace("http://", "ws://") + "live"

    async def one(i: int) -> None:
        async with websockets.connect(url, additional_headers={"X-Forwarded-For": visitor(1000 + i)}) as ws:
            while not stop.is_set():
                await ws.send(body)
                if "answer" in json.loads(await ws.recv()):
                    answered[0] += 1

    async def all_of_them() -> None:
        await asyncio.gather(*(one(i) for i in range(visitors)))

    thread = threading.Thread(target=asyncio.run, args=(all_of_them(),), daemon=True)
    thread.start()
    return thread


def test_the_pen_up_answer_arrives_while_100_visitors_saturate_the_live_path(server):
    stop, answered = threading.Event(), [0]
    thread = _saturate(server, 100, stop, answered)
    try:
        time.sleep(3.0)
        before = answered[0]
        assert before > 100  # the flood is under way
        with server.socket(visitor(8)) as socket:
            reply = ask(socket, pad_value() | {"seq": 3, "model": "cnn", "final": True})
        assert reply["seq"] == 3 and reply["answer"]["digit"] == 7
        http = server.client(visitor(9)).predict(pad_value(), "cnn", api_name="/draw")[0]
        assert http["digit"] == 7
        assert answered[0] > before  # the others kept being answered meanwhile
    finally:
        stop.set()
        thread.join(30)


def test_the_http_live_function_answers_a_final_drawing(server):
    from attacks.clients import Api, live_answer, live_body

    api = Api(server, headers={"X-Forwarded-For": visitor(10)})
    try:
        body = live_body(pad_value() | {"seq": 4, "model": "mlp", "final": True}, api.pad_id(), "me")
        r = api.http.post("/gradio_api/component_server/", json=body)
        assert live_answer(r).text.startswith("digit 7") and r.json()["seq"] == 4
    finally:
        api.close()


def test_a_live_answer_is_the_draw_events_answer_for_the_same_strokes(networks, mnist_test):
    h = page.handlers(networks)
    for d in drawings(mnist_test, 5):
        reply = asyncio.run(h.batcher.reply(d | {"seq": 1, "model": "cnn_oe"}))
        assert same_answer(reply["answer"], h.draw(d, "cnn_oe")[0])


def test_at_pen_up_the_readout_renders_once_and_runs_only_its_network_and_draw_runs_every_network(
    networks, monkeypatch
):
    """Pen-up sends the drawing twice, by design (docs/serving.md): the readout's answer from the batcher (one render,
    the selected network once) and the views from /draw (one render, every network once, saliency for the
    selected one)."""
    from digitnet import predict

    counts: dict[str, int] = {}

    def counted(key: str, f):
        def call(*args, **kwargs):
            counts[key] = counts.get(key, 0) + 1
            return f(*args, **kwargs)

        return call

    monkeypatch.setattr(drawing, "render", counted("render", drawing.render))
    monkeypatch.setattr(predict, "saliency", counted("saliency", predict.saliency))
    for name, p in networks.predictors.items():
        monkeypatch.setattr(p, "scored", counted(name, p.scored))
    h = page.handlers(networks)
    asyncio.run(h.batcher.reply(pad_value() | {"seq": 1, "model": "cnn_oe", "final": True}))
    assert counts == {"render": 1, "cnn_oe": 1}
    counts.clear()
    h.draw(pad_value(), "cnn_oe")
    assert counts == {"render": 1, "saliency": 1} | {name: 1 for name in networks.names}


# --- the pad in a real browser ------------------------------------------------------------------------------------


HOLD_REPLIES = """
// The pad's replies held in the page until the test lets each through: window.__held = [[data, deliver], ...].
window.__held = [];
const Native = window.WebSocket, onmessage = Object.getOwnPropertyDescriptor(Native.prototype, "onmessage");
window.WebSocket = class extends Native {
  set onmessage(f) { onmessage.set.call(this, (m) => window.__held.push([m.data, () => f(m)])); }
  get onmessage() { return onmessage.get.call(this); }
};
"""


def held(page) -> list[dict]:
    """The replies the page holds so far."""
    return [json.loads(d) for d in page.evaluate("() => window.__held.map(([d]) => d)")]


def deliver(page, i: int) -> None:
    page.evaluate("(i) => window.__held[i][1]()", i)


def wait_for_held(page, count: int) -> list[dict]:
    page.wait_for_function("(n) => window.__held.length >= n", arg=count)
    return held(page)


def live_state(page) -> dict:
    return page.eval_on_selector("#pad .dn-live", "(o) => ({...o.dataset, text: o.innerText})")


def test_the_readout_says_it_is_catching_up_and_a_late_answer_never_replaces_a_newer_one(chromium, server):
    page = open_page(chromium, server)
    page.add_init_script(HOLD_REPLIES)
    page.reload()
    page.wait_for_selector("#pad canvas")
    try:
        # Open the pad's connection first (Clear sends the empty drawing), its answer let through: a drawing sent
        # while the connection is still opening waits, and a newer one replaces it there.
        page.click("#pad .dn-clear")
        wait_for_held(page, 1)
        deliver(page, 0)
        page.wait_for_function("() => { const o = document.querySelector('#pad .dn-live'); "
                               "return +o.dataset.seq > 0 && o.dataset.seq === o.dataset.asked; }")  # fmt: skip
        draw(page, SEVEN)
        page.wait_for_function("() => document.querySelector('#pad .dn-live').dataset.behind === '1'")
        assert "catching up" in live_state(page)["text"]
        replies = wait_for_held(page, 3)[1:]  # the first live drawing's and the pen-up one's
        seqs = [r["seq"] for r in replies]
        assert seqs == sorted(seqs) and len(seqs) >= 2, seqs
        deliver(page, len(replies))  # the pen-up drawing's answer first (the last held), then an older drawing's
        page.wait_for_function(f"() => document.querySelector('#pad .dn-live').dataset.seq === '{seqs[-1]}'")
        deliver(page, 1)
        page.wait_for_timeout(500)
        state = live_state(page)
        assert state["seq"] == str(seqs[-1]) and state["digit"] == "7"  # the late answer was dropped
        assert state["behind"] == "0" and "catching up" not in state["text"]
    finally:
        page.context.close()


def test_without_its_websocket_the_pad_answers_over_http(chromium, server):
    page = open_page(chromium, server)
    posts = []
    page.on("request", lambda r: posts.append(r.url) if "component_server" in r.url else None)
    page.route_web_socket("**/live", lambda ws: ws.close(code=1011, reason="no WebSockets here"))
    page.reload()
    page.wait_for_selector("#pad canvas")
    try:
        draw(page, SEVEN)
        assert readout(page)["digit"] == "7"
        assert posts  # the drawings went to the HTTP live function
    finally:
        page.context.close()
