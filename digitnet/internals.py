"""The parts of Gradio 6.31's internals the guard relies on, looked up once when the app starts.

The guard counts each client's undelivered results in the queue's private tables, drops stale ones, makes Gradio's
session store forget a client's own old sessions, cleans the upload-progress table and tells Gradio's upload parser
to delete a refused upload's partial files. If a Gradio upgrade renames or reshapes any of these, `GradioInternals`
raises `GradioChanged` at start-up, naming what moved, instead of a limit silently switching itself off.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

import gradio
import gradio.route_utils
import gradio.routes


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
    groups: dict  # an event's fn_index and api_name -> its concurrency_id (the guard's event rates)

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
            groups=_groups(_need(blocks, "fns", dict, "Blocks")),
        )

    def group(self, route: str, body: Any) -> str | None:
        """The concurrency_id of the event a request starts: /call/<api_name>, or the body's fn_index."""
        if route.startswith("call/"):
            return self.groups.get(route[5:].split("/", 1)[0])
        index = body.get("fn_index") if isinstance(body, dict) else None
        return self.groups.get(index) if isinstance(index, int) and not isinstance(index, bool) else None

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


def _groups(fns: dict) -> dict:
    groups = {}
    for index, fn in fns.items():
        group = _need(fn, "concurrency_id", str, "BlockFunction")
        groups[index] = group
        if isinstance(getattr(fn, "api_name", None), str):
            groups[fn.api_name] = group
    return groups
