"""Gradio's image inputs, with a clear message when Gradio itself cannot decode what was sent.

gr.Image and gr.Sketchpad decode an upload before the app's function runs; a file that is not an image
(or is truncated, or too large in pixels) then fails inside Gradio, and the visitor or API client sees a bare
"Error". These subclasses turn such failures into a gr.Error that says what is wrong. The browser side is
unchanged: they render with Gradio's own image and image-editor front ends.
"""

from __future__ import annotations

import os
from typing import Any

import gradio as gr
from gradio.components.image_editor import EditorData
from PIL import Image as PILImage
from pydantic import PrivateAttr, ValidationError, model_validator

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


class _EditorData(EditorData):
    """The sketchpad's value. A malformed one (e.g. from an API client) becomes an empty value that carries the
    problem, and preprocess raises it as a clear gr.Error (an error raised here would reach the visitor bare)."""

    _problem: str | None = PrivateAttr(default=None)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_problem(cls, data: Any, handler: Any) -> Any:
        try:
            return handler(data)
        except ValidationError as err:
            fields = ", ".join(sorted({str(e["loc"][0]) for e in err.errors() if e["loc"]})) or "the value"
            empty = cls.model_construct(background=None, layers=[], composite=None)
            empty._problem = f"the sketchpad value is malformed ({fields}); it needs background, layers, composite"
            return empty


class Sketchpad(_ClearDecodeErrors, gr.Sketchpad):
    data_model = _EditorData

    def get_block_name(self) -> str:
        return "imageeditor"

    def preprocess(self, payload: Any) -> Any:
        if getattr(payload, "_problem", None):
            raise gr.Error(payload._problem)
        return super().preprocess(payload)
