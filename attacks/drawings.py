"""Attacks through the drawing itself: millions of points and deeply nested JSON, to the pen-up /draw event and
to the pad's live function, parsed (by Gradio or by the app) before any limit on strokes and points runs."""

from __future__ import annotations

import json
import uuid

from attacks.clients import Answer, live_answer, live_body
from attacks.payloads import many_points, nested
from attacks.target import Context


def huge_json_draw(ctx: Context, scale: float) -> Answer:
    """Millions of points in one /draw: Gradio parses the whole JSON body before our limits run."""
    data = f'[{{"strokes": [[{many_points(scale)}]], "width": 20}}, "cnn"]'
    body = f'{{"data": {data}, "session_hash": "{uuid.uuid4().hex}"}}'
    answer = ctx.api.call("draw", [], body=body.encode())
    return Answer(answer.kind, f"{len(body) / 2**20:.0f} MB body: {answer.text}")


def deep_json_draw(ctx: Context, scale: float) -> Answer:
    """Deeply nested JSON as the drawing: 100,000 levels (past Python's recursion limit), then 900."""
    deep = "[" * 100_000 + "]" * 100_000
    body = f'{{"data": [{{"strokes": {deep}, "width": 20}}, "cnn"], "session_hash": "{uuid.uuid4().hex}"}}'
    first = ctx.api.call("draw", [], body=body.encode())
    second = ctx.api.call("draw", [{"strokes": nested(900), "width": 20}, "cnn"])
    return Answer(second.kind if first.kind != "unclear" else "unclear", f"100,000 levels: {first}; 900: {second}")


def huge_json_live(ctx: Context, scale: float) -> Answer:
    """Millions of points to the pad's live function, which skips the queue."""
    body = json.dumps(live_body({"strokes": [[0]], "width": 20, "model": "cnn"}, ctx.api.pad_id(), uuid.uuid4().hex))
    body = body.replace("[[0]]", f"[[{many_points(scale)}]]")
    answer = live_answer(ctx.api.live(None, body=body.encode()))
    return Answer(answer.kind, f"{len(body) / 2**20:.0f} MB body: {answer.text}")


def deep_json_live(ctx: Context, scale: float) -> Answer:
    """Deeply nested JSON as the live function's drawing: 900 levels."""
    return live_answer(ctx.api.live({"strokes": nested(900), "width": 20, "model": "cnn"}))
