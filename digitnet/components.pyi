"""Gradio's image inputs, with a clear message when Gradio itself cannot decode what was sent.

gr.Image and gr.Sketchpad decode an upload before the app's function runs; a file that is not an image
(or is truncated, or too large in pixels) then fails inside Gradio, and the visitor or API client sees a bare
"Error". These subclasses turn such failures into a gr.Error that says what is wrong. The browser side is
unchanged: they render with Gradio's own image and image-editor front ends.
"""

from __future__ import annotations

from typing import Any

import gradio as gr
from PIL import Image as PILImage


def decode_error(err: Exception) -> gr.Error:
    """A message for the visitor about an upload that could not be decoded."""
    if isinstance(err, (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning)):
        return gr.Error("the image has too many pixels to process")
    if isinstance(err, PILImage.UnidentifiedImageError):
        return gr.Error("the file is not an image in a supported format (PNG, JPEG, GIF, WebP, BMP or TIFF)")
    return gr.Error("the image could not be decoded: the file may be truncated, corrupt or not an image")

from gradio.events import Dependency

class Image(gr.Image):
    def get_block_name(self) -> str:
        return "image"

    def preprocess(self, payload: Any) -> Any:
        try:
            return super().preprocess(payload)
        except gr.Error:
            raise
        except Exception as err:
            raise decode_error(err) from err
    from typing import Callable, Literal, Sequence, Any, TYPE_CHECKING
    from gradio.blocks import Block
    if TYPE_CHECKING:
        from gradio.components import Timer
        from gradio.components.base import Component


class Sketchpad(gr.Sketchpad):
    data_model = _EditorData

    def get_block_name(self) -> str:
        return "imageeditor"

    def preprocess(self, payload: Any) -> Any:
        if getattr(payload, "_problem", None):
            raise gr.Error(payload._problem)
        try:
            return super().preprocess(payload)
        except gr.Error:
            raise
        except Exception as err:
            raise decode_error(err) from err
    from typing import Callable, Literal, Sequence, Any, TYPE_CHECKING
    from gradio.blocks import Block
    if TYPE_CHECKING:
        from gradio.components import Timer
        from gradio.components.base import Component