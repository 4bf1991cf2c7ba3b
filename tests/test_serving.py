"""Short versions of the serving load test and the bad-input test, against the real app in its own process."""

from __future__ import annotations

import pytest

from benchmarks.fuzz_api import run_fuzz
from benchmarks.load_test import run_load


@pytest.fixture(scope="module")
def own_server(start_app):
    """An app of this module's own: the load and the fuzz run as the default client, many requests at once, which
    would use up that client's share of the shared `server` (the browser tests' client)."""
    with start_app("app") as s:
        yield s


@pytest.fixture(scope="module")
def fuzz(own_server, tmp_path_factory) -> dict:
    return run_fuzz(own_server, count=150, workers=4, timeout=10.0, folder=tmp_path_factory.mktemp("fuzz"))


def test_concurrent_clients_all_get_valid_answers(own_server, tmp_path):
    tally = run_load(own_server, clients=8, seconds=15, max_requests=400, folder=tmp_path)
    assert tally.failed == 0, tally.errors
    assert tally.invalid == 0
    assert tally.ok >= 8
    assert own_server.alive()


def test_hostile_requests_get_an_answer_in_time_and_the_server_keeps_serving(fuzz, own_server):
    statuses = {s for counter in fuzz["tallies"].values() for s in counter}
    assert statuses <= {"result", "error", "unclear"}, fuzz["tallies"]  # never an invalid result, never too slow
    assert sum(c["error"] for c in fuzz["tallies"].values()) >= 30
    assert own_server.alive()
    assert fuzz["after"]["digit"] == 7


def test_the_classify_api_names_what_is_wrong_with_every_bad_file(fuzz):
    unclear = {k: c for k, c in fuzz["tallies"].items() if k.endswith("/classify") and c["unclear"]}
    assert not unclear, fuzz["messages"]


def test_the_100_mb_upload_is_refused_with_the_size_limit(fuzz):
    assert "exceeds the maximum file size" in fuzz["messages"][("100 MB file /upload", "error")]


def test_upload_and_draw_name_what_is_wrong_with_every_bad_file(fuzz):
    unclear = {k: c for k, c in fuzz["tallies"].items() if c["unclear"]}
    assert not unclear, fuzz["messages"]
