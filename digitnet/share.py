"""A drawing in a link: the strokes and the selected network in the URL's fragment, which never reaches the server.

The fragment is `#draw=v1.<network>.<pen width>.<data>`, `data` the strokes in unpadded base64url: the number of
strokes, then for each stroke its number of points and every point as the change from the previous point (the
first from (0, 0)), each number zigzag-encoded as a varint, coordinates in tenths of a canvas pixel: the pad's own
precision, so that the link's drawing is the drawing, to the last digit of every answer. A digit takes a few
hundred characters.

The page's JavaScript (digitnet/web/share.js) writes and reads links; this module does the same in Python for
API clients and tests. Both refuse, before decoding anything, a fragment longer than the largest drawing /draw
accepts could make (MAX_DATA), and then apply /draw's own limits (digitnet/drawing.py) while reading.
"""

from __future__ import annotations

import base64
import math
import re

from digitnet.drawing import CANVAS, MARGIN, MAX_PEN, MAX_POINTS, MAX_STROKES, MIN_PEN, Stroke, flatten, parse
from digitnet.preprocess import InputError

KEY, VERSION = "draw", "v1"
UNIT = 10  # coordinates in tenths of a canvas pixel
# The largest drawing /draw accepts, encoded: 1 byte for the stroke count, 2 for each stroke's point count
# (<= 5,000 < 2^14) and 3 for each coordinate (a change of at most 10 x (CANVAS + 2 MARGIN), zigzagged < 2^21).
MAX_BYTES = 1 + 2 * MAX_STROKES + 6 * MAX_POINTS
MAX_DATA = 4 * math.ceil(MAX_BYTES / 3)  # base64 characters
MAX_NAME = 40
LINK = re.compile(rf"{KEY}=(?P<version>[^.]*)\.(?P<model>[^.]*)\.(?P<width>\d{{1,3}})\.(?P<data>.*)", re.S)
NAME = re.compile(rf"[A-Za-z0-9_]{{1,{MAX_NAME}}}")


def _varints(numbers: list[int]) -> bytes:
    out = bytearray()
    for n in numbers:
        z = 2 * n if n >= 0 else -2 * n - 1
        while z >= 128:
            out.append(z & 127 | 128)
            z >>= 7
        out.append(z)
    return bytes(out)


def encode(strokes: list[Stroke], width: int, model: str) -> str:
    """The fragment (without '#') for these strokes (canvas pixels), pen width and network."""
    numbers, last = [len(strokes)], (0, 0)
    for s in strokes:
        numbers.append(len(s))
        for x, y in s:
            p = (round(UNIT * x), round(UNIT * y))
            numbers += [p[0] - last[0], p[1] - last[1]]
            last = p
    data = base64.urlsafe_b64encode(_varints(numbers)).decode().rstrip("=")
    return f"{KEY}={VERSION}.{model}.{round(width)}.{data}"


class _Reader:
    def __init__(self, raw: bytes) -> None:
        self.raw, self.at = raw, 0

    def number(self) -> int:
        z, shift = 0, 0
        while True:
            if self.at >= len(self.raw) or shift > 14:  # 3 bytes at most
                raise InputError("the link's drawing is cut short or malformed")
            b = self.raw[self.at]
            self.at += 1
            z |= (b & 127) << shift
            shift += 7
            if b < 128:
                return z >> 1 if z % 2 == 0 else -(z >> 1) - 1


def decode(fragment: str) -> tuple[list[Stroke], int, str]:
    """A link's fragment (with or without '#') -> (strokes, pen width, network); InputError, with a message,
    for anything malformed or beyond /draw's limits."""
    if len(fragment) > MAX_DATA + 64:
        raise InputError(f"the link is {len(fragment):,} characters long; a drawing takes at most {MAX_DATA:,}")
    m = LINK.fullmatch(fragment.removeprefix("#"))
    if not m or m["version"] != VERSION or not NAME.fullmatch(m["model"]):
        raise InputError(f"not a drawing link: expected #{KEY}={VERSION}.<network>.<pen width>.<strokes>")
    if not MIN_PEN <= int(m["width"]) <= MAX_PEN:
        raise InputError(f"the link's pen width must be {MIN_PEN}-{MAX_PEN}")
    if not re.fullmatch(r"[A-Za-z0-9_-]*", m["data"]) or len(m["data"]) % 4 == 1:
        raise InputError("the link's drawing is not base64url")
    read = _Reader(base64.urlsafe_b64decode(m["data"] + "=" * (-len(m["data"]) % 4)))
    count = read.number()
    if not 0 <= count <= MAX_STROKES:
        raise InputError(f"the link's drawing has {count:,} strokes; the limit is {MAX_STROKES}")
    strokes, x, y, total = [], 0, 0, 0
    for _ in range(count):
        n = read.number()
        total += n
        if n < 1 or total > MAX_POINTS:
            raise InputError(f"the link's drawing has more than {MAX_POINTS:,} points, or an empty stroke")
        stroke = []
        for _ in range(n):
            x, y = x + read.number(), y + read.number()
            if not (-MARGIN * UNIT <= min(x, y) and max(x, y) <= (CANVAS + MARGIN) * UNIT):
                raise InputError(f"the link's points must lie within {-MARGIN}..{CANVAS + MARGIN}")
            stroke.append((x / UNIT, y / UNIT))
        strokes.append(stroke)
    if read.at != len(read.raw):
        raise InputError("the link's drawing has bytes left over: it is malformed")
    parse({"strokes": flatten(strokes), "width": int(m["width"])})  # /draw's own check, the same limits
    return strokes, int(m["width"]), m["model"]
