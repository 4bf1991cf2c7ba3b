"""The "Is that right?" control under the answer, and the /feedback endpoint that keeps the visitor's drawing
and what they meant in the visitors' store (digitnet/visitors.py).

Only the pad's drawings are kept, never uploads. The drawing is checked exactly as /draw checks it
(digitnet/drawing.py); the label must be "yes" (the answer shown is right), "0"-"9" or "not a digit"; every
network's answer is computed again here, so what is kept is what the server said, not what a client claims.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass

import gradio as gr
import numpy as np

from digitnet import drawing, visitors, web
from digitnet.predict import Prediction
from digitnet.preprocess import InputError

YES = "yes"
GROUP = "feedback"  # the page's and the API's submissions: one at a time, and one per-client rate (the guard)
CHOICES = [("Yes", YES), *((str(d), str(d)) for d in range(10)), ("Not a digit", visitors.NOT_A_DIGIT)]
KEPT = (
    "Wrong? Tap what you drew. We keep the strokes, pen width, your answer, each network's answer, the app's "
    "version and the time; no address, no cookie, no upload."
)
FULL = "Thank you! We have collected all the drawings we can keep for now, so this one was not kept."
OFF = "Thank you! This server does not keep drawings."
NOT_THE_PAD = "Only drawings from the pad are kept: the answer shown is for an upload (or is still coming)."

Predict = Callable[[np.ndarray | None, str], Prediction]


def css() -> str:
    """The control's style (web/feedback.css): compact enough that on a 390 px phone it fits under the answer
    on the same screen, small buttons that wrap. Buttons, not a radio group: a radio's arrow keys would send an
    answer at every step."""
    return web.source("feedback.css")


def shows_pad(value: dict | None, current: np.ndarray | None) -> bool:
    """Whether the page's current input is the pad's drawing (not an upload shown since, not an older drawing)."""
    try:
        x = drawing.to_input(value)
    except InputError:
        return True  # feedback() answers with the drawing's own error
    if x is None:
        return True  # feedback() answers "draw a digit first"
    return current is not None and x.shape == current.shape and bool(np.array_equal(x, current))


def label_of(said: object) -> str:
    """The visitor's answer -> "yes", "0"-"9" or "not a digit"; gr.Error for anything else."""
    if isinstance(said, int) and not isinstance(said, bool) and 0 <= said <= 9:
        return str(said)
    if isinstance(said, str) and (text := said.strip().lower()) in (YES, *visitors.LABELS):
        return text
    raise gr.Error(f"the label must be 'yes', a digit 0-9 or 'not a digit' (got {str(said)[:40]!r})")


def answer_of(p: Prediction) -> dict:
    """What is kept of one network's answer."""
    return {"digit": p.digit, "confidence": round(p.confidence, 4), "not_a_digit": p.not_a_digit}


def handler(predict: Predict, names: list[str], open_store: Callable[[], visitors.Store | None]) -> Callable:
    """The /feedback function: (the pad's drawing, the network shown, the visitor's label) -> {"saved", "id",
    "label", "message"}. The store is opened at the first submission (`open_store`), not when the page is built."""
    lock = threading.Lock()
    opened: list[visitors.Store | None] = []

    def store() -> visitors.Store | None:
        with lock:
            if not opened:
                opened.append(open_store())
            return opened[0]

    def feedback(value: dict | None, model: str, said: object) -> dict:
        """Keep the pad's drawing and what the visitor meant ("yes": the answer shown is right)."""
        label = label_of(said)
        if model not in names:
            raise gr.Error(f"unknown network; choose one of {', '.join(names)}")
        try:
            strokes, width = drawing.parse(value)
        except InputError as e:
            raise gr.Error(str(e)) from e
        x = drawing.ink_input(strokes, width)
        if x is None:
            raise gr.Error("draw a digit first: there is nothing on the pad to keep")
        answers = {name: answer_of(predict(x, name)) for name in names}
        agreed = label == YES
        if agreed:
            shown = answers[model]
            label = visitors.NOT_A_DIGIT if shown["not_a_digit"] else str(shown["digit"])
        kept = store()
        if kept is None:
            return {"saved": False, "id": None, "label": label, "message": OFF}
        saved = kept.add(drawing.flatten(strokes), width, label, agreed, answers, model)
        if saved.id is None:
            return {"saved": False, "id": None, "label": label, "message": FULL}
        said_text = "it is not a digit" if label == visitors.NOT_A_DIGIT else f"it is a {label}"
        return {"saved": True, "id": saved.id, "label": label, "message": f"Thank you! Kept: {said_text}."}

    return feedback


@dataclass
class Control:
    """The "Is that right?" control's components; `wire` connects them once the network selector exists."""

    choices: list[tuple[gr.Button, str]]  # each answer's button and the label it sends
    note: gr.Markdown
    api_label: gr.Textbox
    api_out: gr.JSON
    api_button: gr.Button

    def wire(self, pad: gr.HTML, model: gr.Radio, feedback: Callable, seen: gr.State) -> None:
        """One click on an answer sends it (page and API share the rate group GROUP); the next drawing resets
        the control. The API endpoint is /feedback (drawing as /draw takes it, network, label). `seen`: the
        page's current input (the pad's or an upload's), so that an answer about an upload never keeps the pad's
        older drawing under the upload's label."""

        def sender(said: str) -> Callable[[dict | None, str, np.ndarray | None], str]:
            def from_page(value: dict | None, name: str, current: np.ndarray | None) -> str:
                if not shows_pad(value, current):  # said in the note, where the thanks go: no error pop-up
                    return NOT_THE_PAD
                return feedback(value, name, said)["message"]

            return from_page

        # One submission at a time: each runs every network once, and must not take the cores live drawing needs.
        rated = dict(concurrency_id=GROUP, concurrency_limit=1)
        for button, said in self.choices:
            button.click(sender(said), [pad, model, seen], self.note, show_progress="hidden",
                         api_visibility="private", **rated)  # fmt: skip
        pad.change(None, None, self.note, js=f"() => {json.dumps(KEPT)}", show_progress="hidden",
                   api_visibility="private")  # fmt: skip
        self.api_button.click(feedback, [pad, model, self.api_label], self.api_out, api_name="feedback", **rated)


def control() -> Control:
    """The control's components, where it is called (under the answer); then `Control.wire`."""
    with gr.Group(elem_id="feedback"):
        with gr.Row(elem_id="feedback-choice"):
            gr.Markdown("Is that right?", elem_id="feedback-ask", min_width=0)  # on the buttons' line: less height
            choices = [(gr.Button(text, size="sm", variant="secondary", min_width=0), said) for text, said in CHOICES]
        note = gr.Markdown(KEPT, elem_id="feedback-note")
    with gr.Row(visible=False):  # the API's label is text, so anything a client sends gets feedback's own message
        api_label, api_out, api_button = gr.Textbox(), gr.JSON(), gr.Button()
    return Control(choices, note, api_label, api_out, api_button)
