"""Shared fixtures: the real MNIST test set (from $DIGITNET_DATA, else ./data, downloaded if absent) and the
real app, served by its own process on a loopback port exactly as `python app.py` serves it.

Tiers come from what a test uses, not from decorators (MARKERS_BY_FIXTURE): a test whose fixtures start an app
process (`start_app`, which `server` uses) is marked `server`, one that drives Chromium (`chromium`) `browser`, one
that sweeps thousands of digits (`every_test_digit`, ...) `slow`. The fast tier is
`-m "not server and not browser and not slow"` (`bash scripts/test.sh --fast`)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import torch
from PIL import Image

from digitnet.guard import Limits
from digitnet.lab import browser
from digitnet.lab.data import load_mnist, to_float
from digitnet.lab.replicas import wait_for_port
from digitnet.lab.serving import Server, free_port, pad_value

FRESH_S = 30.0  # the browser tests wait 20 s for an answer; a fresh visitor's is answered in well under a second

# A fixture that starts an app process marks its tests `server`, one that drives Chromium `browser`, one that sweeps
# thousands of digits through the networks (minutes on two cores) `slow`: the fast tier leaves all three out.
MARKERS_BY_FIXTURE = {
    "start_app": "server",
    "run_app_file": "server",
    "replicas": "server",  # tests/test_replicas.py: two app processes behind nginx
    "chromium": "browser",
    "every_test_digit": "slow",
    "training_digits": "slow",  # tests/test_train.py: a CNN trained for three epochs
    "calibration_split": "slow",  # tests/test_ood.py: a calibration fitted on the validation set
    "sweep_digits": "slow",  # tests/test_redrawn.py: 1,500 digits re-drawn in every variant
    "ood_report": "slow",  # tests/test_ood.py: the evaluation report, every network on every test digit
    "drawing_check": "slow",  # tests/test_generative.py: fits the check, then grows the cnn's dreams
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for fixture, marker in MARKERS_BY_FIXTURE.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(marker)


@pytest.fixture(scope="module", autouse=True)
def shared_server_left_as_found(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a module whose tests use the shared `server` (once the module's own pages and clients are gone): the
    server still serves a new visitor on the default client (127.0.0.1, the browser tests' client) at once, so no
    module leaves that client's share of the queue, sessions, live predictions or connections used up."""
    module = request.module
    if not any(
        getattr(i, "module", None) is module and "server" in getattr(i, "fixturenames", ())
        for i in request.session.items
    ):
        yield
        return
    server = request.getfixturevalue("server")
    yield
    check_fresh_visitor(server)


def check_fresh_visitor(server: Server, timeout: float = FRESH_S) -> None:
    """A fresh default client gets its whole queue share at once (PER_CLIENT /draw events joined together, none
    refused: no event of an earlier test is left waiting, running or unread), each answered within `timeout` seconds,
    and a live drawing answered within `timeout` seconds."""
    seven = pad_value()
    url, session = server.url.rstrip("/"), "fresh-visitor"
    config = httpx.get(f"{url}/config").json()
    draw = next(d["id"] for d in config["dependencies"] if d.get("api_name") == "draw")
    body = {"data": [seven, "cnn"], "fn_index": draw, "session_hash": session}
    joins = [httpx.post(f"{url}/gradio_api/queue/join", json=body) for _ in range(Limits().per_client)]
    refused = [r.text for r in joins if r.status_code != 200]
    answers = []
    with httpx.stream("GET", f"{url}/gradio_api/queue/data", params={"session_hash": session}, timeout=timeout) as s:
        for line in s.iter_lines():
            message = json.loads(line[5:]) if line.startswith("data:") else {}
            if message.get("msg") == "process_completed":
                answers.append((message.get("output") or {}).get("data", [{}])[0])
            if len(answers) == len(joins) - len(refused) or message.get("msg") == "close_stream":
                break
    assert not refused, f"the shared server refused a fresh visitor's share of the queue: {refused}"
    assert [a.get("digit") for a in answers] == [7] * len(joins), f"a fresh visitor's /draw answers: {answers}"
    with server.socket() as socket:
        socket.send(json.dumps(seven | {"model": "cnn", "seq": 1, "final": True}))
        reply = json.loads(socket.recv(timeout=timeout))
    assert reply.get("answer", {}).get("digit") == 7, f"the shared server answered a fresh live drawing with {reply}"


@pytest.fixture(scope="session")
def fresh_visitor():
    """`fresh_visitor(server)`: the check every module using the shared server passes after its tests."""
    return check_fresh_visitor


@pytest.fixture(scope="session")
def start_app() -> type[Server]:
    """How a test starts an app in its own process: `with start_app("app", env=...) as s:`. Every test that starts
    one takes this fixture (directly or through another), so it is marked `server`."""
    return Server


@pytest.fixture(scope="session")
def run_app_file():
    """How a test runs `python app.py` from another folder, as a host would (tests/test_hosting.py): `with
    run_app_file(folder) as url:`; marked `server` like `start_app`."""
    return _app_file


@contextlib.contextmanager
def _app_file(folder: Path, timeout: float = 180.0) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env |= {"GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port)}
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=folder, env=env, stdout=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc, timeout, f"app.py in {folder}")
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def mnist_test() -> tuple[torch.Tensor, torch.Tensor]:
    """All 10,000 MNIST test images (uint8 N x 28 x 28) and labels."""
    return load_mnist(train=False)


@pytest.fixture(scope="session")
def every_test_digit(mnist_test) -> tuple[torch.Tensor, torch.Tensor]:
    """All 10,000 MNIST test digits as the networks take them (float N x 1 x 28 x 28 in [0, 1]) and labels: a test
    that sweeps them all is marked `slow`."""
    x, y = mnist_test
    return to_float(x), y


@pytest.fixture(scope="session")
def digit_files(tmp_path_factory, mnist_test) -> list[tuple[str, int]]:
    """A few real MNIST test digits written as PNG files, with their labels."""
    folder = tmp_path_factory.mktemp("digits")
    x, y = mnist_test
    out = []
    for i in (0, 1, 2, 3, 4, 7, 11, 18, 61, 99):
        path = folder / f"test{i}_label{int(y[i])}.png"
        Image.fromarray(x[i].numpy()).save(path)
        out.append((str(path), int(y[i])))
    return out


@pytest.fixture(scope="session")
def server(start_app):
    """app.py, launched as `python app.py` would be, in its own process (stopped after the session)."""
    with start_app("app") as s:
        yield s


@pytest.fixture(scope="module")
def chromium(server):
    """Headless Chromium for the browser tests (test_browser, test_share, test_accessibility), with the app served."""
    if not browser.available():
        pytest.skip(f"{browser.CHROMIUM} is not installed")
    with browser.chromium() as b:
        yield b
