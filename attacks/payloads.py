"""What hostile requests carry: images (real, huge, bombs), data: URLs, Gradio file values, drawings, JSON
nested or huge, and multipart bodies streamed without ever being whole in memory."""

from __future__ import annotations

import base64
import io
import math
import struct
import zlib
from collections.abc import Iterator

import numpy as np
from PIL import Image

from digitnet.lab.serving import EXAMPLE_7

MB = 2**20
FILE_META = {"_type": "gradio.FileData"}


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def png(width: int, height: int, idat: bytes, mode: int = 0) -> bytes:
    """A PNG of width x height 8-bit pixels (grey: mode 0) whose image data is `idat` (compressed rows)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, mode, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def blank_png(width: int, height: int, mode: int = 0) -> bytes:
    """A real, fully decodable PNG of width x height black pixels (grey, 8 bit: mode 0; RGBA: mode 6),
    compressed row by row so that it is never whole in the attacker's memory (12000x12000: about 140 KB)."""
    channels = {0: 1, 2: 3, 6: 4}[mode]
    z = zlib.compressobj(9)
    row = b"\0" * (1 + width * channels)
    parts = [z.compress(row) for _ in range(height)]
    return png(width, height, b"".join(parts) + z.flush(), mode)


def bomb_png(width: int, height: int) -> bytes:
    """A valid PNG header claiming width x height pixels, followed by a tiny IDAT and IEND."""
    return png(width, height, zlib.compress(b"\0" * 64))


def noise_png(megabytes: float, seed: int = 0) -> bytes:
    """An RGB PNG of random pixels: it does not compress, so the file is about `megabytes` large."""
    side = int(math.sqrt(megabytes * MB / 3))
    pixels = np.random.default_rng(seed).integers(0, 256, (side, side, 3), np.uint8)
    return encode(Image.fromarray(pixels), "PNG", compress_level=1)


def seven(mode: str = "L", side: int | None = 112) -> Image.Image:
    """The example 7 (28x28), resized to side x side unless side is None."""
    img = Image.open(EXAMPLE_7).convert(mode)
    return img if side is None else img.resize((side, side))


def eps_seven() -> bytes:
    """The 7 as Encapsulated PostScript (written by Pillow, no Ghostscript needed to write it)."""
    return encode(seven("L"), "EPS")


def slow_valid_image(side: int = 5000) -> bytes:
    """A large but allowed upload: a big black 7 on white, side x side grey pixels (a second or so to prepare)."""
    img = seven("L").resize((side, side))
    return encode(Image.eval(img, lambda v: 255 - v), "PNG")


def data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def file_value(path: str, url: str | None = None, name: str = "image.png") -> dict:
    """A file value as the page sends it (Gradio's FileData)."""
    return {"path": path, "url": url, "orig_name": name, "meta": FILE_META}


def nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


def many_points(scale: float) -> str:
    """2,000,000 x `scale` points as one stroke's JSON numbers (written directly: json.dumps would take long)."""
    return ",".join(f"{100 + i % 80}.5" for i in range(2 * int(2_000_000 * scale)))


def largest_drawing() -> dict:
    """The largest drawing the pad may send: 100 strokes, 5,000 points in all."""
    rng = np.random.default_rng(0)
    return {"strokes": [rng.uniform(20, 260, 100).round(1).tolist() for _ in range(100)], "width": 20}


# --- multipart bodies, streamed -------------------------------------------------------------------------------

BOUNDARY = "digitnetfloodboundary"
CREDENTIALS: list[tuple[str, str | None, int]] = [("username", None, 1), ("password", None, 1)]  # /login's form


def _part_head(name: str, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    kind = "\r\nContent-Type: application/octet-stream" if filename else ""
    return f"--{BOUNDARY}\r\nContent-Disposition: {disposition}{kind}\r\n\r\n".encode()


def multipart(parts: list[tuple[str, str | None, int]], fill: bytes = b"a") -> tuple[int, Iterator[bytes]]:
    """A multipart/form-data body of (name, filename or None, size) parts, streamed in 1 MB chunks (never whole
    in memory): its length and its chunks."""
    end = f"--{BOUNDARY}--\r\n".encode()
    length = sum(len(_part_head(n, f)) + size + 2 for n, f, size in parts) + len(end)

    def chunks() -> Iterator[bytes]:
        block = fill * MB
        for name, filename, size in parts:
            yield _part_head(name, filename)
            while size > 0:
                yield block[: min(size, MB)]
                size -= MB
            yield b"\r\n"
        yield end

    return length, chunks()


def multipart_headers(length: int) -> dict[str, str]:
    return {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}", "Content-Length": str(length)}


def short_by_one(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """All of a body but its last byte."""
    previous = None
    for chunk in chunks:
        if previous:
            yield previous
        previous = chunk
    if previous and len(previous) > 1:
        yield previous[:-1]
