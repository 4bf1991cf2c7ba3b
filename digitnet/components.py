"""Gradio's image input, with a clear message when Gradio itself cannot decode what was sent.

gr.Image decodes an upload before the app's function runs; a file that is not an image
(or is truncated, or too large in pixels) then fails inside Gradio, and the visitor or API client sees a bare
"Error". This subclass turns such failures into a gr.Error that says what is wrong. The browser side is
unchanged: it renders with Gradio's own image front end.
"""

from __future__ import annotations

import os
from typing import Any

import gradio as gr
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


class _ClearDecodeErrors:
    """Mixin for a Gradio image input: a failure to decode becomes a gr.Error with a message."""

    def preprocess(self, payload: Any) -> Any:
        try:
            return super().preprocess(payload)
        except gr.Error:
            raise
        except Exception as err:
            raise decode_error(err, payload) from err


class Image(_ClearDecodeErrors, gr.Image):
    def get_block_name(self) -> str:
        return "image"
