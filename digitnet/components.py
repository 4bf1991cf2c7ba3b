"""Gradio's file inputs, taking only files uploaded to this app, with a clear message for anything else.

A file input's value is a file object (path, url, ...) that any client can forge. Gradio checks its path only when
it carries Gradio's "meta" marker; without it, the path (any file on the server's disk) and a `data:` URL in its
url reach the component as they are, and gr.Image then decodes the data: URL with every Pillow format (a
12000x12000 PNG: +1.5 GB) or opens the local file. The inputs here accept only a path inside Gradio's upload
folder (what the page's upload, clipboard, webcam and examples send) and refuse everything else with a message,
before anything is decoded; digitnet/guard.py refuses URLs as paths before Gradio could download them.

gr.Image with type="filepath" opens the file with every Pillow format only to look at its mode; `Image` hands the
path on instead, to `digitnet.preprocess`, which checks format and size from the header before decoding, and it
refuses any other type or mode, so Gradio never decodes an upload here. The browser side is unchanged: Gradio's own
front ends.
"""

from __future__ import annotations

from typing import Any

import gradio as gr
from gradio.utils import get_upload_folder, is_in_or_equal


def check_upload(payload: Any) -> str:
    """The path of a file value that names a file uploaded to this app; gr.Error with a message for anything else."""
    url = getattr(payload, "url", None) or ""
    if url.strip().lower().startswith("data:"):
        raise gr.Error("data: URLs are not accepted: upload the image as a file")
    path = getattr(payload, "path", None)
    if not isinstance(path, str) or not path:
        raise gr.Error("no file given")
    if "://" in path or path.lower().startswith("data:"):
        raise gr.Error("URLs are not accepted as files: upload the image as a file")
    if not is_in_or_equal(path, get_upload_folder()):
        raise gr.Error("the file was not uploaded to this app: upload it first (POST /gradio_api/upload)")
    return path


class _UploadsOnly:
    """Mixin for a Gradio file input: the value must name a file uploaded to this app (check_upload)."""

    def preprocess(self, payload: Any) -> Any:
        if payload is not None:
            for item in getattr(payload, "root", None) or [payload]:  # one file or a list of files
                check_upload(item)
        return super().preprocess(payload)


class Image(gr.Image):
    """gr.Image that hands on the uploaded file's path undecoded: digitnet.preprocess checks its format and size
    from the header before decoding it. Only that use is allowed, so no value is ever decoded by Gradio here."""

    def __init__(self, value: Any = None, **kwargs: Any) -> None:
        if kwargs.setdefault("type", "filepath") != "filepath" or kwargs.setdefault("image_mode", None) is not None:
            raise ValueError("components.Image hands on file paths only: type='filepath', image_mode=None")
        super().__init__(value, **kwargs)

    def preprocess(self, payload: Any) -> str | None:
        return None if payload is None else check_upload(payload)

    def get_block_name(self) -> str:
        return "image"


class File(_UploadsOnly, gr.File):
    def get_block_name(self) -> str:
        return "file"
