"""Every attack with the outcome the app must give it: the answer's kind and words, the scale the tests run it at,
and the figures it must show. benchmarks/memory_attacks.py runs them at full size; tests/test_attacks.py runs each
at its test scale and checks its outcome, the server's memory and another client's answer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from attacks import connections, drawings, events, feedback, files, live, routes, uploads
from attacks.clients import Answer
from attacks.payloads import MB
from attacks.target import VISITORS_MAX_MB, Context
from digitnet.guard import Limits
from digitnet.lab.serving import EXAMPLE_7, ROOT
from digitnet.page import MAX_FILE_MB, QUEUE_SIZE
from digitnet.serverlog import LINES_PER_MINUTE as LOG_LINES
from digitnet.settings import Settings

REFUSED = "refused"
LIMITS = Limits()  # the guard's defaults, which the app serves with
UPLOAD_MB = LIMITS.upload_bytes_per_minute / MB
SESSION_MB = 0.45  # a session after a 5,000-point drawing (docs/serving.md, benchmarks/session_memory.py: 414 KB)


@dataclass(frozen=True)
class Attack:
    """An attack (`run(ctx, scale)`, scale < 1 shrinking its counts and sizes) and the outcome it must get."""

    name: str
    run: Callable[[Context, float], Answer]
    kind: str | None = None  # the answer's kind; None: any
    says: tuple[str, ...] = ()  # words the answer must contain
    scale: float = 1.0  # the scale the tests run it at
    figures: Callable[[dict], bool] | None = None  # what its figures must be
    flood: bool = False  # run on a flood server (attacks.target.flood_server): its own folders, log and store
    slow: bool = False  # more than a few seconds even at the tests' scale
    warm_up: float = 0.0  # the tests first run it at this scale (buffers a server makes once are not counted)
    kept_mb: float | None = None  # the most the server may keep afterwards; None: the tests' general bound


def _requests() -> list[Attack]:
    """The memory-amplification attacks (issue 13): one request or a short series through /gradio_api/."""
    meta, urls, weights = '"meta"', "data: URLs are not accepted", str(ROOT / "weights" / "cnn.safetensors")
    fetched = "fetched the URL 0 time"
    return [
        Attack("editor blob uploads (component_server accept_blobs)", uploads.editor_blob_uploads, REFUSED,
               ("HTTP 404",)),
        Attack("component_server, 60 files of 4.9 MB in one request", uploads.component_server_many_files, REFUSED,
               ("HTTP 413",)),
        Attack("editor layers to /draw (12000x12000 PNG; 2,000 layer refs)", files.editor_layers_to_draw, REFUSED,
               ("HTTP 413",)),
        Attack("data: URL 12000x12000 PNG on /upload", files.data_url_attack("upload", "12000x12000 PNG"), REFUSED,
               (urls,)),
        Attack("data: URL PCX on /upload", files.data_url_attack("upload", "PCX"), REFUSED, (urls,)),
        Attack("data: URL SGI on /upload", files.data_url_attack("upload", "SGI"), REFUSED, (urls,)),
        Attack("data: URL EPS on /upload", files.data_url_attack("upload", "EPS"), REFUSED, (urls,)),
        Attack("data: URL 20 MB PNG on /upload", files.data_url_attack("upload", "20 MB PNG"), REFUSED,
               ("HTTP 413",)),
        Attack("data: URL 12000x12000 PNG on /classify", files.data_url_attack("classify", "12000x12000 PNG"),
               REFUSED, (urls,)),
        Attack("data: URL PCX on /upload, file value with meta", files.data_url_attack("upload", "PCX", meta=True),
               REFUSED, (urls,)),
        Attack("data: URL as the file path on /classify", files.data_url_as_path, REFUSED,
               ("URLs as file paths are not accepted",)),
        Attack("no-meta file value: path /etc/passwd on /classify", files.bare_file_value("classify", "/etc/passwd"),
               REFUSED, (meta,)),
        Attack("no-meta file value: path of a weights file on /classify", files.bare_file_value("classify", weights),
               REFUSED, (meta,)),
        Attack("no-meta file value: path /dev/zero on /upload", files.bare_file_value("upload", "/dev/zero"),
               REFUSED, (meta,)),
        Attack("no-meta file value: an example image's path on /classify",
               files.bare_file_value("classify", str(EXAMPLE_7)), REFUSED, (meta,)),
        Attack("http URL as file path on /upload", files.url_path_attack("upload"), REFUSED, (fetched,)),
        Attack("http URL as file path on /classify", files.url_path_attack("classify"), REFUSED, (fetched,)),
        Attack("http URL file object inside a /draw value", files.url_path_attack("draw"), REFUSED, (fetched,)),
        Attack("http URL file object as /switch_model's model", files.url_path_attack("switch_model"), REFUSED,
               (fetched,)),
        Attack("2,000,000 points to /draw (JSON body)", drawings.huge_json_draw, REFUSED, ("HTTP 413",)),
        Attack("deeply nested JSON to /draw", drawings.deep_json_draw, REFUSED, ("nested more than",)),
        Attack("2,000,000 points to the pad's live function (JSON body)", drawings.huge_json_live, REFUSED,
               ("HTTP 413",)),
        Attack("deeply nested JSON to the pad's live function", drawings.deep_json_live, REFUSED,
               ("nested more than",)),
        Attack("direct POST /gradio_api/run/classify", events.direct_run, REFUSED, ("HTTP 404",)),
        Attack("Gradio's /gradio_api/upload: many files, big files, big field", uploads.upload_flood, REFUSED,
               ("field: HTTP 413",)),
        Attack("Gradio's /gradio_api/file= route", files.file_route, REFUSED, ("403",)),
        Attack("2,000 events, each a new session", events.session_flood, "answer", ("answered",), 0.15, slow=True),
        Attack("3,000 /draw results never read", events.unread_results, REFUSED, ("refusals: [429]",), 0.15,
               slow=True),
        Attack("one client sends 80 slow requests, another one", events.queue_flood, "answer",
               ("other client: digit 7",), 0.15, slow=True),
        Attack("one client sends 400 live predictions, 16 at a time, another one", live.live_flood, "answer",
               ("other client: digit 7",), 0.15, slow=True),
    ]  # fmt: skip


def _floods() -> list[Attack]:
    """The floods (issue 23): routes outside /gradio_api/, held connections, state kept per session or id, disk,
    and limits tried concurrently, each on a flood server with another client asking meanwhile."""
    share = LIMITS.sockets_per_client
    other_live = "another visitor's live 7: answer: digit 7"
    floods = [
        Attack("POST /login, 300 form fields of 1 MB", uploads.login_fields, REFUSED, scale=0.1),
        Attack("POST /login, 900 fields of 1 MB held one byte short", connections.login_held, REFUSED, scale=0.05),
        Attack("POST /login, one 1 GB multipart file part", uploads.login_file, REFUSED, scale=0.02,
               figures=lambda f: f["temp_peak_mb"] <= MAX_FILE_MB and f["disk_kept_mb"] <= MAX_FILE_MB),
        # every id refused before Gradio sees it (none gets Gradio's 404, so none is kept): memory cannot show it,
        # as the client's share of streams lets at most 64 ids through at once (about 1 MB)
        Attack("GET upload_progress, 2,000 ids of 15,000 characters", connections.upload_progress_ids, REFUSED,
               ("HTTP 400",), figures=lambda f: "HTTP 404" not in f),
        # 300 connections from one address: 16 bodies read (4 MB, the client's buffer), 284 refused. On a fresh app
        # the first run keeps +37 MB and later ones +0-6 MB (the code before the attacks/ package: the same); after
        # the catalogue's other attacks it kept +45 and, after a warm-up run, +41 MB (fresh clones, 2026-12-07): what
        # the allocator keeps once it has grown, not a leak. Full size: +29 MB (docs/benchmarks.md).
        Attack("3,000 connections, 256 KB JSON body one byte short", connections.json_held, REFUSED, scale=0.1,
               kept_mb=60),
        Attack("GET deep_link after /draw in new sessions", events.deep_links, scale=0.03,
               figures=lambda f: f["disk_mb"] <= 1),
        # the client keeps at most its share of sessions, its first one replaced by its newer ones (memory freed by
        # earlier attacks can hide growth; the session cannot hide)
        Attack("/draw of the largest drawing in 1,366 new sessions", events.drawing_sessions, "answer",
               ("fool it: draw a digit first",), 50 / 1366, figures=lambda f: not f["first_session_kept"],
               warm_up=8 / 1366, kept_mb=LIMITS.sessions_per_client * SESSION_MB + 5),
        # the disk 1,000 four-byte files take stays within the client's upload budget
        Attack("30 uploads of 1,000 four-byte parts", uploads.thousand_parts, scale=10 / 30,
               figures=lambda f: f["disk_mb"] <= UPLOAD_MB),
        Attack("10,000 heartbeat streams held", connections.heartbeats, REFUSED, scale=0.05,
               figures=lambda f: f.get("HTTP 200", 0) <= LIMITS.streams_per_client),
        Attack("20,000 connections with unfinished headers", connections.unfinished_headers, REFUSED, scale=0.05,
               figures=lambda f: f["log_mb"] < 1),
        Attack("1,000 uploads left mid-body, 1,000 streams of unknown sessions: the log", connections.left_midway,
               "answer", scale=0.2, figures=lambda f: f["left_tracebacks"] == f["streams_tracebacks"] == 0
               and f["left_log_lines"] + f["streams_log_lines"] <= 2 * LOG_LINES + 2),
        Attack("1,100 live calls in new sessions, then another visitor's fool it", events.session_eviction,
               "answer", ("fool it: answered",)),
        Attack("X-Forwarded-For from an untrusted peer, 24 addresses", events.forwarded_spoof, REFUSED,
               figures=lambda f: f["accepted"] <= LIMITS.per_client),
        Attack("20 concurrent 4.9 MB uploads from one address", uploads.concurrent_uploads, REFUSED, ("429",),
               figures=lambda f: 0 < f["accepted_mb"] <= UPLOAD_MB),
        Attack("40 concurrent /draw events from one address", events.concurrent_events, REFUSED, ("429",),
               figures=lambda f: 0 < f["accepted"] <= LIMITS.per_client),
        Attack("40 concurrent live predictions from one address", live.concurrent_live, REFUSED,
               figures=lambda f: 1 <= f["answered"] < 40),
        # warmed up at full size: the first 100 large decodes at once grow the heap by about 40 MB, once
        Attack("100 visitors at once, one slow /classify each", events.queue_many_clients,
               figures=lambda f: f["longest"] <= QUEUE_SIZE, warm_up=1.0),
        # the client's rate (10 a minute) kept; ten drawings of about 60 KB, and their WAL pages
        Attack("600 /feedback of the largest drawing from one address", feedback.from_one_client, REFUSED, ("429",),
               60 / 600, figures=lambda f: f["saved"] == Settings().feedback_per_minute and f["refused_429"] == 50
               and f["store_grown"] < 2 * MB),
        # 40 visitors, each a session holding the drawing (~0.45 MB): more would measure sessions, not the store.
        # About 16 drawings of 60 KB fill the 1 MB cap; the file at its cap, plus at most the WAL between two
        # automatic checkpoints (1,000 pages of 4 KB)
        Attack("/feedback of the largest drawing from 300 visitors", feedback.from_many_visitors, "answer",
               ("not kept",), 40 / 300, figures=lambda f: f["saved"] >= 5 and f["not_kept"] > 0
               and f["store"] < (VISITORS_MAX_MB + 5) * MB),
        Attack("200 WebSocket connections from one address", live.socket_share, REFUSED, (f"'open': {share}",),
               figures=lambda f: f["other"] == "answer: digit 7"),
        # each connection's newest drawing is answered, the ones it replaced never parsed
        Attack("8 WebSockets x 2,000 largest drawings, replies unread", live.socket_flood, "answer",
               ("every connection in order: True", other_live), 0.25,
               figures=lambda f: 8 <= f["answered"] < f["sent"] / 4, warm_up=0.025),
        Attack("100 WebSocket messages of 300 KB", live.socket_oversize, REFUSED, ("'closed 1009': 100", other_live)),
    ]  # fmt: skip
    return [replace(a, flood=True) for a in [*floods, *_routes()]]


def _routes() -> list[Attack]:
    """Through the routes themselves (issue 34): one endpoint's rate through every route that reaches it, the
    routes the page never uses, Gradio's compression held open by slow readers."""
    per_minute = Settings().feedback_per_minute
    return [
        # the client's 10 a minute, whichever route and spelling (before: 674 ran in 60 s)
        Attack("/feedback through every route and spelling, 8 at once from one address", routes.feedback_every_route,
               REFUSED, ("refused (HTTP 429)",), 0.1, figures=lambda f: 0 < f["ran"] <= per_minute, slow=True),
        # before: 2,000 calls left 2,001 files, 488 MB in the temp folder
        Attack("2,000 process_recording calls of 250 KB", routes.process_recording, REFUSED, ("HTTP 404",), 0.05,
               figures=lambda f: f["disk_mb"] <= 1),
        Attack("every route the page never uses, GET and POST", routes.closed_routes, REFUSED, ("HTTP 404",),
               figures=lambda f: f["not_404"] == 0),
        # before: +464 MB for as long as they read (Gradio's Brotli: a 4 MB window each); the tests run 16
        Attack("128 slow readers of the Plotly bundle asking for br", routes.slow_readers("br"), "answer", (), 0.1,
               figures=lambda f: "br" not in f),
        # every one sent the bytes kept compressed (digitnet/compression.py), none compressing its own
        Attack("128 slow readers of the Plotly bundle asking for gzip", routes.slow_readers("gzip"), "answer", (),
               0.1, figures=lambda f: set(f) == {"gzip"}),
    ]  # fmt: skip


CATALOGUE: tuple[Attack, ...] = (*_requests(), *_floods())


def named(names: list[str] | None, flood: bool) -> list[Attack]:
    """The attacks of one kind (floods or not) whose name contains any of `names` (all of them if none)."""
    return [a for a in CATALOGUE if a.flood == flood and (not names or any(n in a.name for n in names))]
