"""What the page needs, beyond Gradio's defaults, to be usable with a screen reader, a keyboard and weak eyes.

Measured with axe-core and Lighthouse (tests/test_accessibility.py, benchmarks/lighthouse.py): Gradio's default
theme draws secondary text in neutral-400 (#bbbbc2 on white: contrast 1.9, WCAG AA asks 4.5) and the selected tab
in orange-500 (2.8); the examples' gallery buttons hold only an image without a text alternative; the footer's
settings icon repeats its link's text. The theme's fonts are here too: the system's, for a faster first screen.
"""

from __future__ import annotations

import gradio as gr

from digitnet import web

# The system's fonts, not Gradio's Source Sans Pro web font (106 KiB less before the first screen; with gzip, LCP on
# Lighthouse's mobile profile 6.8 -> 5.5 s, benchmarks/lighthouse.py). On the light theme's white, secondary text
# in neutral-600 (7.7:1); the dark theme's is legible as it is.
FONT = ["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif"]
MONO = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"]
THEME = gr.themes.Default(font=FONT, font_mono=MONO).set(
    body_text_color_subdued="*neutral_600", body_text_color_subdued_dark="*neutral_400"
)


def css() -> str:
    """The accent (the selected tab, the answer's digit) in orange-700 on white (5.2:1; orange-500 is 2.8). The
    theme has one accent for both themes, so the dark theme gets its orange-500 back (web/accessible.css)."""
    return web.source("accessible.css")


def js() -> str:
    """Names for the controls Gradio renders without one, given once the page has loaded and again as Gradio
    re-renders (web/accessible.js)."""
    return web.source("accessible.js")
