"""Every route the served app has, and which of the guard's bounds applies to it (digitnet/guard.py).

The guard finds a request's route as Starlette does, from the running app's own route table (its compiled paths,
in its order, with their methods: `Table.of`), so `/gradio_api/call/v2/feedback`, `/gradio_api/call/feedback/` and
`/gradio_api/queue/join` are each the route Gradio will run, whatever the URL looks like. Each route's path is
declared in TABLE with the kind of bound that applies; a route not declared there (a Gradio upgrade, a component
that adds one) answers 404 until it is (tests/test_routes.py walks the app's table and fails on it). Without the
Gradio app (tests of the guard alone), the declared table is matched itself (`Table.declared`).

Kinds: CLOSED answers 404 with the reason before anything is read; PAGE takes no body; STREAM takes none and is held
open (the client's share of streams); FILE serves the app's own files only (no http(s) URL, which Gradio would fetch
and stream through); JSON is a body the guard reads whole (at most the JSON limit) and checks; EVENT is a JSON body
that starts an event in the queue (the client's share of the queue and its endpoint's rate: the endpoint is the one
Gradio runs, found by digitnet/internals.py as Gradio finds it); LIVE is the pad's live function (its own share);
UPLOAD is a multipart body charged to the upload budgets as it arrives; SOCKET is the pad's WebSocket.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from starlette.routing import compile_path, get_route_path

CLOSED, PAGE, STREAM, FILE, JSON, EVENT, LIVE, UPLOAD, SOCKET = (
    "closed", "page", "stream", "file", "json", "event", "live", "upload", "socket"
)  # fmt: skip
BODY_KINDS = (JSON, EVENT, LIVE, UPLOAD)  # the kinds that take a request body
METHODS = {PAGE: ("GET", "HEAD"), STREAM: ("GET",), FILE: ("GET", "HEAD"), JSON: ("POST",), EVENT: ("POST",),
           LIVE: ("POST",), UPLOAD: ("POST",)}  # fmt: skip  # the declared table's methods (Table.declared)


SOCKET_PATH = "/live"  # the pad's WebSocket (digitnet/live.PATH)


@dataclass(frozen=True)
class Rule:
    kind: str
    why: str  # what the route is for, or why it is closed (the 404's message; docs/serving.md's table)
    fn_index: bool = False  # an EVENT route whose body's fn_index names the function (Gradio's PredictBody)


A = "/gradio_api"
NO_ACCOUNTS = Rule(CLOSED, "this app has no accounts to log in to")
PAGE_ITSELF = Rule(PAGE, "the page and what it loads")
CLIENT_INFO = Rule(PAGE, "the page's and gradio_client's questions about the app")
QUEUED = Rule(EVENT, "an event joins the queue: API clients (/call/NAME, the function named in the path)")
JOIN = Rule(EVENT, "an event joins the queue: the page and gradio_client (the body's fn_index)", fn_index=True)
SKIPS = "a function that skips the queue (queue=False: the page loads an example); any other: 404 (api_open=False)"
DIRECT = Rule(EVENT, SKIPS, fn_index=True)
RESULTS = Rule(STREAM, "an event's messages and results")
NO_STREAMS = Rule(CLOSED, "no component of this app streams media in or out")
NO_HISTORY = Rule(CLOSED, "run history in a Hugging Face bucket needs a sign-in this app does not offer")
NO_MONITORING = Rule(CLOSED, "monitoring is off (on, each call of /monitoring prints its secret URL to the log)")
NO_VIBE = Rule(CLOSED, "the vibe editor is off")
NO_PROFILING = Rule(CLOSED, "profiling is off (GRADIO_PROFILING)")
NO_ICON = Rule(CLOSED, "the app sets no favicon; with one, /pwa_icon/{size} resizes it to any size asked")
NO_OPENAPI = Rule(CLOSED, "neither the page nor gradio_client reads it; /gradio_api/info describes the API")
APP_FILES = Rule(FILE, "the app's own files (uploads, outputs); a URL Gradio would fetch and stream through")
RUNS = Rule(PAGE, "the run history page: runs kept in the visitor's browser")
LIVE_HTTP = Rule(LIVE, "the pad's live function over HTTP, where a WebSocket cannot open (and docs/api.md)")
RESET = Rule(JSON, "the page and gradio_client reset an iterator (a no-op in Gradio 6)")
UNDECLARED = Rule(CLOSED, "this route is not in the guard's route table (digitnet/routes.py)")

TABLE: dict[str, Rule] = {
    SOCKET_PATH: Rule(SOCKET, "the pad's live readout (digitnet/live.py)"),
    "/": PAGE_ITSELF, "/config": PAGE_ITSELF, "/config/": PAGE_ITSELF, "/theme.css": PAGE_ITSELF,
    "/assets/{path:path}": PAGE_ITSELF, "/static/{path:path}": PAGE_ITSELF, "/svelte/{path:path}": PAGE_ITSELF,
    "/favicon.ico": PAGE_ITSELF, "/robots.txt": PAGE_ITSELF, "/manifest.json": PAGE_ITSELF,
    A + "/theme.css": PAGE_ITSELF, A + "/startup-events": PAGE_ITSELF,
    A + "/runs": RUNS, A + "/runs/": RUNS,
    A + "/info": CLIENT_INFO, A + "/info/": CLIENT_INFO, A + "/app_id": CLIENT_INFO, A + "/app_id/": CLIENT_INFO,
    A + "/user": CLIENT_INFO, A + "/user/": CLIENT_INFO, A + "/login_check": CLIENT_INFO,
    A + "/login_check/": CLIENT_INFO, A + "/token": CLIENT_INFO, A + "/token/": CLIENT_INFO,
    A + "/queue/status": CLIENT_INFO,
    A + "/queue/join": JOIN, A + "/call/{api_name}": QUEUED, A + "/call/{api_name}/": QUEUED,
    A + "/call/v2/{api_name}": QUEUED, A + "/call/v2/{api_name}/": QUEUED,
    A + "/queue/data": RESULTS, A + "/call/{api_name}/{event_id}": RESULTS,
    A + "/call/v2/{api_name}/{event_id}": RESULTS,
    A + "/heartbeat/{session_hash}": Rule(STREAM, "keeps a page's session while it is open"),
    A + "/cancel": Rule(JSON, "the page and gradio_client cancel an event"),
    A + "/reset": RESET, A + "/reset/": RESET,
    A + "/component_server": LIVE_HTTP, A + "/component_server/": LIVE_HTTP,
    A + "/upload": Rule(UPLOAD, "the page's and gradio_client's uploads"),
    A + "/upload_progress": Rule(STREAM, "an upload's progress, for the page"),
    A + "/file={path_or_url:path}": APP_FILES, A + "/file/{path:path}": APP_FILES,
    "/login": NO_ACCOUNTS, "/login/": NO_ACCOUNTS, "/logout": NO_ACCOUNTS,
    A + "/deep_link": Rule(CLOSED, "this app makes no deep links (each call wrote a file nothing removes)"),
    A + "/process_recording": Rule(CLOSED, "this app records no screen (each call left its video in the system's "
                                          "temp folder)"),
    A + "/run/{api_name}": DIRECT, A + "/run/{api_name}/": DIRECT, A + "/api/{api_name}": DIRECT,
    A + "/api/{api_name}/": DIRECT,
    A + "/stream/{event_id}": NO_STREAMS, A + "/stream/{event_id}/close": NO_STREAMS,
    A + "/stream/{session_hash}/{run}/{component_id}/playlist.m3u8": NO_STREAMS,
    A + "/stream/{session_hash}/{run}/{component_id}/{segment_id}.{ext}": NO_STREAMS,
    A + "/stream/{session_hash}/{run}/{component_id}/playlist-file": NO_STREAMS,
    A + "/dev/reload": Rule(CLOSED, "the app does not run in reload mode (each stream polled every 50 ms)"),
    A + "/custom_component/{id}/{environment}/{type}/{file_name}": Rule(
        CLOSED, "the app has no custom components (each call printed a line to the log)"),
    A + "/proxy={url_path:path}": Rule(CLOSED, "the app loads no other Space (gr.load)"),
    A + "/run-history/connect": NO_HISTORY, A + "/run-history/buckets": NO_HISTORY,
    A + "/run-history/records": NO_HISTORY,
    A + "/run-history/records/{endpoint}/{record_id}/assets/{asset_id}": NO_HISTORY,
    "/monitoring": NO_MONITORING, "/monitoring/summary": NO_MONITORING, "/monitoring/{key}": NO_MONITORING,
    "/pwa_icon": NO_ICON, "/pwa_icon/{size}": NO_ICON,
    "/openapi.json": NO_OPENAPI, A + "/openapi.json": NO_OPENAPI,
    A + "/vibe-edit": NO_VIBE, A + "/vibe-edit/": NO_VIBE, A + "/undo-vibe-edit": NO_VIBE,
    A + "/undo-vibe-edit/": NO_VIBE, A + "/vibe-code": NO_VIBE, A + "/vibe-code/": NO_VIBE,
    A + "/vibe-starter-queries": NO_VIBE, A + "/vibe-starter-queries/": NO_VIBE,
    A + "/profiling/traces": NO_PROFILING, A + "/profiling/summary": NO_PROFILING,
    A + "/profiling/clear": NO_PROFILING,
}  # fmt: skip


@dataclass(frozen=True)
class Pattern:
    """One route of the app: its path template, compiled path, the scope types it takes ("http", "websocket";
    a mounted app both), its methods (None: any) and its rule."""

    path: str
    regex: re.Pattern
    convertors: dict
    types: frozenset[str]
    methods: frozenset[str] | None
    rule: Rule


@dataclass(frozen=True)
class Route:
    """A request's route: its path template, rule, and path parameters (as Starlette converts them)."""

    path: str
    rule: Rule
    params: dict[str, Any] = field(default_factory=dict)


class Table:
    """The app's routes in its order, each with its rule (UNDECLARED for a path TABLE does not name)."""

    def __init__(self, patterns: Iterable[Pattern]) -> None:
        self.patterns = list(patterns)

    @classmethod
    def of(cls, routes: Iterable[tuple[str, re.Pattern, dict, Iterable[str], Iterable[str] | None]]) -> Table:
        """From the app's routes (digitnet/internals.py `routes`): (path template, compiled path, convertors,
        scope types, methods or None)."""
        return cls(
            Pattern(path, regex, convertors, frozenset(types), None if methods is None else frozenset(methods),
                    TABLE.get(path, UNDECLARED))
            for path, regex, convertors, types, methods in routes
        )  # fmt: skip

    @classmethod
    def declared(cls) -> Table:
        """TABLE itself, each kind with the methods its routes take (a CLOSED route: any)."""
        patterns = []
        for path, rule in TABLE.items():
            regex, _, convertors = compile_path(path)
            types = frozenset({"websocket"} if rule.kind == SOCKET else {"http"})
            methods = frozenset(METHODS[rule.kind]) if rule.kind in METHODS else None
            patterns.append(Pattern(path, regex, convertors, types, methods, rule))
        return cls(patterns)

    def match(self, scope: dict) -> Route | None:
        """The route Starlette would run for this request (the first whose path and method match, else the first
        whose path matches: Starlette answers 405), or None (no route: 404, or a redirect to the path with or
        without its trailing slash)."""
        path, kind = get_route_path(scope), scope["type"]
        partial = None
        for p in self.patterns:
            if kind not in p.types or (found := p.regex.match(path)) is None:
                continue
            if p.methods is None or kind != "http" or scope["method"] in p.methods:
                return Route(p.path, p.rule, {k: p.convertors[k].convert(v) for k, v in found.groupdict().items()})
            partial = partial or Route(p.path, p.rule)
        return partial


BOUNDS = {
    CLOSED: "404 with the reason, before anything is read",
    PAGE: "no body (413); among the client's 128 open requests",
    STREAM: "no body; among the client's 64 open streams",
    FILE: "no body; the app's own files only (an http(s) URL: 404)",
    JSON: "a JSON body of at most 256 KB, read with a deadline, nesting and file values checked",
    EVENT: "as JSON; the client's 8 events in the queue; its endpoint's rate (feedback: 10 a minute per client)",
    LIVE: "as JSON; 2 at once per client",
    UPLOAD: "5 MB, 4 parts, 2 at once per client; 50 MB and 600 files a minute per client, 5 GB in 70 min in all",
    SOCKET: "128 per client; text messages of at most 256 KB (digitnet/server.py)",
}


def markdown() -> str:
    """TABLE as docs/serving.md shows it (scripts/route_table.py writes it there): one row per rule."""
    rows: dict[Rule, list[str]] = {}
    for path, rule in TABLE.items():
        rows.setdefault(rule, []).append(f"`{path}`")
    lines = ["| routes | bound | why |", "|---|---|---|"]
    lines += [f"| {', '.join(paths)} | {BOUNDS[rule.kind]} | {rule.why} |" for rule, paths in rows.items()]
    return "\n".join(lines)
