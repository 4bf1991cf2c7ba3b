"""The parts of Gradio 6.31's internals the guard relies on, looked up once when the app starts.

The guard counts each client's undelivered results in the queue's private tables, drops stale ones, makes Gradio's
session store forget a client's own old sessions, cleans the upload-progress table, tells Gradio's upload parser
to delete a refused upload's partial files, finds the endpoint an event runs as Gradio does (`endpoint`), and reads
the app's route table (`routes`); digitnet/server.py takes Gradio's Brotli middleware out (`without_brotli`). If a
Gradio upgrade renames or reshapes any of these, `GradioChanged` is raised at start-up, naming what moved, instead
of a limit silently switching itself off.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any

import gradio
import gradio.brotli_middleware
import gradio.route_utils
import gradio.routes
import pydantic
from fastapi.routing import iter_route_contexts
from gradio.data_classes import PredictBody
from gradio_client.utils import is_http_url_like
from starlette.routing import Mount, WebSocketRoute


class GradioChanged(RuntimeError):
    """Gradio's internals are not where digitnet/guard.py expects them (a Gradio upgrade): the app does not start."""


def _need(owner: Any, name: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = getattr(owner, name, None)
    if value is None or not isinstance(value, kind):
        raise GradioChanged(
            f"digitnet/guard.py relies on {where}.{name} (a {getattr(kind, '__name__', kind)}), which Gradio "
            f"{gradio.__version__} does not have as expected; the guard's limits would not hold. Check the guard "
            "against this Gradio version (digitnet/internals.py) or install the pinned one (requirements.txt)."
        )
    return value


@dataclass
class GradioInternals:
    """What the guard uses, checked: build it with `GradioInternals.of(blocks)` once the Gradio app exists."""

    pending_event_ids: dict  # queue: session hash -> ids of its events not yet delivered
    events: dict  # queue: event id -> event still waiting or running
    messages: MutableMapping  # queue: session hash -> its undelivered messages
    session_data: MutableMapping  # state holder: session hash -> its state, least recently used first
    time_last_used: dict  # state holder: session hash -> last use
    state_lock: Any  # state holder: the lock its own updates take
    upload_statuses: dict  # upload progress: upload id -> progress
    upload_signals: dict  # upload progress: upload id -> event (made for any id a client asks about)
    server_fns: bool  # whether any component has server functions (component_server's only use)
    multipart_error: type  # the exception Gradio's upload parser cleans up after (deletes the partial files)
    fn_groups: dict[int, str]  # an event's fn_index -> its concurrency_id (the guard's event rates)
    api_names: dict[str, int]  # an api_name -> the fn_index Gradio runs for it (the first function with that name)

    @classmethod
    def of(cls, blocks: gradio.Blocks) -> GradioInternals:
        queue = _need(blocks, "_queue", object, "Blocks")
        holder = _need(blocks, "state_holder", object, "Blocks")
        progress = _need(gradio.routes, "file_upload_statuses", object, "gradio.routes")
        components = _need(blocks, "blocks", dict, "Blocks")
        error = _need(gradio.route_utils, "MultiPartException", type, "gradio.route_utils")
        if not issubclass(error, Exception):
            raise GradioChanged("gradio.route_utils.MultiPartException is no longer an exception")
        return cls(
            pending_event_ids=_need(queue, "pending_event_ids_session", dict, "Queue"),
            events=_need(queue, "event_ids_to_events", dict, "Queue"),
            messages=_need(queue, "pending_messages_per_session", MutableMapping, "Queue"),
            session_data=_need(holder, "session_data", MutableMapping, "StateHolder"),
            time_last_used=_need(holder, "time_last_used", dict, "StateHolder"),
            state_lock=_need(holder, "lock", object, "StateHolder"),
            upload_statuses=_need(progress, "_statuses", dict, "FileUploadProgress"),
            upload_signals=_need(progress, "_signals", dict, "FileUploadProgress"),
            server_fns=any(
                _need(b, "server_fns", list, type(b).__name__) for b in components.values() if hasattr(b, "server_fns")
            ),
            multipart_error=error,
            **_endpoints(_need(blocks, "fns", dict, "Blocks")),
        )

    def endpoint(self, api_name: str | None, body: Any = None) -> int | None:
        """The fn_index of the function an event request runs, found as Gradio's routes find it
        (route_utils.get_fn): the body's fn_index as Gradio's own PredictBody reads it, for the routes that read one
        (queue/join, /run: "14" and 14.0 are 14), else the first function named `api_name` (/call/NAME); None when
        Gradio would run none."""
        if body is not None:
            try:
                index = PredictBody.model_validate(body).fn_index
            except pydantic.ValidationError:
                return None
            if index is not None or api_name is None:
                return index
        return self.api_names.get(api_name) if api_name is not None else None

    def group(self, api_name: str | None, body: Any = None) -> str | None:
        """The concurrency_id of the function an event request runs (its rate group), or None."""
        return self.fn_groups.get(self.endpoint(api_name, body))

    def pending(self, session: str) -> int:
        """The session's events not yet delivered (waiting, running, or finished with the result unread)."""
        return len(self.pending_event_ids.get(session, ()))

    def drop_unread(self, session: str) -> None:
        """Drop the session's undelivered results unless one of its events is still waiting or running."""
        if not any(i in self.events for i in self.pending_event_ids.get(session, ())):
            self.pending_event_ids.pop(session, None)
            self.messages.pop(session, None)

    def held(self, session: str) -> bool:
        """Whether Gradio still keeps the session's state."""
        return session in self.session_data

    def forget(self, session: str) -> None:
        """Make Gradio drop the session's state (as its own store does when full, with its lock)."""
        with self.state_lock:
            self.session_data.pop(session, None)
            self.time_last_used.pop(session, None)

    def forget_upload(self, upload_id: str) -> None:
        """Drop an upload id's progress entry and the event Gradio made for it."""
        self.upload_statuses.pop(upload_id, None)
        self.upload_signals.pop(upload_id, None)


def _endpoints(fns: dict) -> dict:
    groups, names = {}, {}
    for index, fn in fns.items():
        groups[index] = _need(fn, "concurrency_id", str, "BlockFunction")
        if isinstance(getattr(fn, "api_name", None), str):
            names.setdefault(fn.api_name, index)  # get_fn takes the first function with the name
    return {"fn_groups": groups, "api_names": names}


def routes(app) -> Iterator[tuple[str, Any, dict, tuple[str, ...], Any]]:
    """The app's routes in the order Starlette tries them, FastAPI's included routers flattened: (path template,
    compiled path, convertors, scope types, methods or None)."""
    for route in iter_route_contexts(_need(getattr(app, "router", None), "routes", list, "App.router")):
        types = ("websocket",) if isinstance(route.original_route, WebSocketRoute) else ("http",)
        if isinstance(route.original_route, Mount):
            types = ("http", "websocket")
        path, regex = route.path, getattr(route, "path_regex", None)
        if not isinstance(path, str) or regex is None:
            raise GradioChanged(f"the route {route!r} has no path the guard can match (digitnet/internals.py)")
        yield path, regex, dict(getattr(route, "param_convertors", {})), types, route.methods


def without_brotli(app) -> None:
    """Take Gradio's Brotli middleware out of its app before the app starts (it compresses outside the guard and
    holds a 4 MB window per response: digitnet/compression.py compresses instead)."""
    middleware = _need(app, "user_middleware", list, "App")
    kept = [m for m in middleware if getattr(m, "cls", None) is not gradio.brotli_middleware.BrotliMiddleware]
    if len(kept) == len(middleware) or getattr(app, "middleware_stack", None) is not None:
        raise GradioChanged("Gradio's App no longer adds BrotliMiddleware as digitnet/internals.py expects")
    middleware[:] = kept


def is_url(path: str) -> bool:
    """Whether Gradio's file route would fetch `path` from the web (gradio_client's own test)."""
    return is_http_url_like(path)
