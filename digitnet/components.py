"""Gradio's file inputs, taking only files uploaded to this app, with a clear message for anything else.

A file input's value is a file object (path, url, ...) that any client can forge. Gradio checks its path only when
it carries Gradio's "meta" marker; without it, the path (any file on the server's disk) and a `data:` URL in its
url reach the component as they are, and gr.Image then decodes the data: URL with every Pillow format (a
12000x12000 PNG: +1.5 GB) or opens the local file. The inputs here accept only a path inside Gradio's upload
folder (what the page's upload, clipboard, webcam and examples send) and refuse everything else with a message,
before anything is decoded; digitnet/guard.py refuses URLs as paths before Gradio could download them.

gr.Image with type="filepath" opens the file with every Pillow format only to look at its mode; `Image` hands the
path on instead, to `digitnet.preprocess`, which checks format and size from the header before decoding. Where
Gradio does decode (other types or modes), its failures become a gr.Error that says what is wrong. The browser side
is unchanged: Gradio's own front ends.
"""

from __future__ import annotations

import os
from typing import Any

import gradio as gr
from gradio.utils import get_upload_folder, is_in_or_equal
from PIL import Image as PILImage

from digitnet.preprocess import FORMATS


def decode_error(err: Exception, payload: Any = None) -> gr.Error:
    """A message for the visitor about an upload that could not be decoded."""
    path = getattr(payload, "path", None)
    if path and os.path.isfile(path) and os.path.getsize(path) == 0:
        return gr.Error("the file is empty")
    if isinstance(err, (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning)):
        return gr.Error("the image has too many pixels to process")
    if isinstance(err, PILImage.UnidentifiedImageError):
        return gr.Error(f"the file is not an image in a supported format ({', '.join(FORMATS)})")
    return gr.Error("the image could not be decoded: the file may be truncated, corrupt or not an image")


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


class _ClearDecodeErrors:
    """Mixin for a Gradio image input: a failure to decode becomes a gr.Error with a message."""

    def preprocess(self, payload: Any) -> Any:
        try:
            return super().preprocess(payload)
        except gr.Error:
            raise
        except Exception as err:
            raise decode_error(err, payload) from err


class Image(_UploadsOnly, _ClearDecodeErrors, gr.Image):
    def preprocess(self, payload: Any) -> Any:
        if payload is not None and self.type == "filepath" and self.image_mode is None:
            return check_upload(payload)  # decoded by digitnet.preprocess, with its format and size checks
        return super().preprocess(payload)

    def get_block_name(self) -> str:
        return "image"


class File(_UploadsOnly, gr.File):
    def get_block_name(self) -> str:
        return "file"
