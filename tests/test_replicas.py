"""Two replicas of the app behind nginx on loopback (digitnet/lab/replicas.py): with sticky sessions the load test has
no failures; without them (round robin) calls fail. A short version of benchmarks/replicas.py; needs Debian's nginx
(scripts/test.sh installs it), skipped without it."""

from __future__ import annotations

import httpx
import pytest

from attacks.load import run_load
from digitnet.lab.replicas import COOKIE, Replicas, nginx_binary

pytestmark = pytest.mark.skipif(nginx_binary() is None, reason="nginx is not installed (apt-get install -y nginx)")


@pytest.fixture(scope="module")
def replicas():
    with Replicas(2, call_timeout=10) as r:
        yield r


def test_new_visitors_are_spread_and_each_stays_on_one_replica(replicas):
    replicas.balance(affinity=True)
    for _ in range(20):  # 20 new visitors (no cookie): each gets a random key; all on one replica: p = 2e-6
        assert httpx.get(replicas.url + "config", timeout=30).status_code == 200
    assert len(replicas.spread()) == 2, replicas.spread()
    replicas.balance(affinity=True)
    with httpx.Client(timeout=30) as visitor:
        for _ in range(10):
            assert visitor.get(replicas.url + "config").status_code == 200
        assert COOKIE in visitor.cookies
    assert len(replicas.spread()) == 1, replicas.spread()


def test_sticky_sessions_the_load_test_has_no_failures(replicas, tmp_path):
    replicas.balance(affinity=True)
    tally = run_load(replicas, clients=6, seconds=8, max_requests=150, folder=tmp_path)
    assert tally.failed == 0, dict(replicas.failures)
    assert tally.invalid == 0
    assert tally.ok >= 6
    assert replicas.alive()


def test_round_robin_without_affinity_calls_fail(replicas, tmp_path):
    """A call is a POST that queues the work and a GET that streams the answer back (server-sent events); when the
    two reach different replicas the call fails. Measured, not assumed: see docs/benchmarks.md."""
    replicas.balance(affinity=False)
    tally = run_load(replicas, clients=4, seconds=6, max_requests=60, folder=tmp_path)
    assert tally.failed > 0, "round robin was expected to break some calls"
    assert replicas.alive()
