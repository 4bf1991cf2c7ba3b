"""Memory-amplification attacks (issue 13) against the real app in its own process: each gets a clear refusal or a
valid answer, and the server's resident memory grows by tens of MB at most (benchmarks/memory_attacks.py runs
them at full size and prints the figures)."""

from __future__ import annotations

import pytest

from digitnet.lab import attacks

# Measured with benchmarks.memory_attacks after the fixes (docs/benchmarks.md): no attack moved the peak by more
# than ~45 MB (the queue flood: two 3000x3000 uploads being prepared at once) or kept more than ~15 MB.
PEAK_MB = 80
KEPT_MB = 40

# attack -> (the answer's kind, text it must contain)
REFUSED = "refused"
EXPECTED = {
    "editor blob uploads (component_server accept_blobs)": (REFUSED, "HTTP 404"),
    "component_server, 60 files of 4.9 MB in one request": (REFUSED, "HTTP 413"),
    "editor layers to /draw (12000x12000 PNG; 2,000 layer refs)": (REFUSED, "HTTP 413"),
    "data: URL 12000x12000 PNG on /upload": (REFUSED, "data: URLs are not accepted"),
    "data: URL PCX on /upload": (REFUSED, "data: URLs are not accepted"),
    "data: URL SGI on /upload": (REFUSED, "data: URLs are not accepted"),
    "data: URL EPS on /upload": (REFUSED, "data: URLs are not accepted"),
    "data: URL 20 MB PNG on /upload": (REFUSED, "HTTP 413"),
    "data: URL 12000x12000 PNG on /classify": (REFUSED, "data: URLs are not accepted"),
    "data: URL PCX on /upload, file value with meta": (REFUSED, "data: URLs are not accepted"),
    "data: URL as the file path on /classify": (REFUSED, "URLs as file paths are not accepted"),
    "no-meta file value: path /etc/passwd on /classify": (REFUSED, '"meta"'),
    "no-meta file value: path of a weights file on /classify": (REFUSED, '"meta"'),
    "no-meta file value: path /dev/zero on /upload": (REFUSED, '"meta"'),
    "no-meta file value: an example image's path on /classify": (REFUSED, '"meta"'),
    "http URL as file path on /upload": (REFUSED, "fetched the URL 0 time"),
    "http URL as file path on /classify": (REFUSED, "fetched the URL 0 time"),
    "http URL file object inside a /draw value": (REFUSED, "fetched the URL 0 time"),
    "http URL file object as /switch_model's model": (REFUSED, "fetched the URL 0 time"),
    "2,000,000 points to /draw (JSON body)": (REFUSED, "HTTP 413"),
    "deeply nested JSON to /draw": (REFUSED, "nested more than"),
    "2,000,000 points to the pad's live function (JSON body)": (REFUSED, "HTTP 413"),
    "deeply nested JSON to the pad's live function": (REFUSED, "nested more than"),
    "direct POST /gradio_api/run/classify": (REFUSED, "HTTP 404"),
    "Gradio's /gradio_api/upload: many files, big files, big field": (REFUSED, "field: HTTP 413"),
    "Gradio's /gradio_api/file= route": (REFUSED, "403"),
}
SLOW = {  # run at a smaller scale: counts of events
    "2,000 events, each a new session": ("answer", "answered"),
    "3,000 /draw results never read": (REFUSED, "refusals: [429]"),
    "one client sends 80 slow requests, another one": ("answer", "other client: digit 7"),
    "one client sends 400 live predictions, 16 at a time, another one": ("answer", "other client: digit 7"),
}


@pytest.fixture(scope="module")
def ctx(server, tmp_path_factory):
    c = attacks.context(server, tmp_path_factory.mktemp("attacks"), remote_size=8 * 2**20)
    c.api.call("classify", [attacks.file_value(c.seven_path()), "cnn"])  # warm-up: memory is compared after it
    yield c
    c.files.close()
    c.api.close()


def check(result: attacks.Result, kind: str | None, text: str) -> None:
    assert kind is None or result.answer.kind == kind, result.answer
    assert text in result.answer.text, result.answer
    assert result.notes["alive"]
    assert result.peak_growth < PEAK_MB, f"peak +{result.peak_growth:.0f} MB"
    assert result.growth < KEPT_MB, f"kept +{result.growth:.0f} MB"


@pytest.mark.parametrize("name", list(EXPECTED))
def test_attack_is_refused_with_bounded_memory(ctx, name):
    check(attacks.measure(ctx, name, scale=1.0, settle=0.5), *EXPECTED[name])


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SLOW))
def test_floods_are_bounded(ctx, name):
    check(attacks.measure(ctx, name, scale=0.15, settle=0.5), *SLOW[name])


def test_the_app_still_reads_a_seven_after_the_attacks(ctx):
    assert str(attacks.the_seven_still_reads(ctx)) == "answer: digit 7"
    assert str(attacks.drawn_seven(ctx)) == "answer: digit 7"
