"""What runs in the visitor's browser: the page's JavaScript, CSS and HTML, as files that ESLint reads
(eslint.config.js, `npm run lint`), read when the page is built.

    say.js          an answer as one sentence for screen readers (the pad's readout and the views share it)
    share.js        links to a drawing (encodeLink, decodeLink): the format of digitnet/share.py
    pad.*           the drawing pad (digitnet/pad.py): its markup, style and script
    views.css       the views' style; views/*.js: each view's template (digitnet/views.py), views/parts.js
                    the parts they share
    page.css, feedback.css, accessible.css, accessible.js: the page's own style and script (digitnet/page.py,
                    feedback.py, accessible.py)

Where a file needs a value from Python (the canvas's size, the drawing's limits), it holds a placeholder,
`__NAME__`, that `fill` replaces; the files are otherwise sent as they are.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
PLACEHOLDER = re.compile(r"__([A-Z][A-Z0-9_]*?)__")


@functools.cache
def source(name: str) -> str:
    """The text of one file here, by its path relative to this folder ("pad.js", "views/answer.js")."""
    return (HERE / name).read_text(encoding="utf-8")


def fill(text: str, **values: object) -> str:
    """`text` with every `__NAME__` replaced by str(values["NAME"]), as given: a value bound for a JavaScript string
    literal must come quoted (json.dumps). Every placeholder needs a value and every value a placeholder."""
    wanted = set(PLACEHOLDER.findall(text))
    if wanted != set(values):
        raise ValueError(f"placeholders {sorted(wanted)} but values for {sorted(values)}")
    return PLACEHOLDER.sub(lambda m: str(values[m[1]]), text)
