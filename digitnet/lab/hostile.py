"""Hostile requests through the app's public API (seeded): bad files, odd images, malformed or huge drawings.

Used by benchmarks/fuzz_api.py and, in a short form, by tests/test_serving.py.
"""

from __future__ import annotations

import collections
import io
import itertools
import math
import random
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from digitnet.lab.serving import EXAMPLE_7, Server, pad_value

GENERIC = "The upstream Gradio app has raised an exception"  # what a client sees for an unhandled exception


@dataclass
class Case:
    kind: str
    api: str
    args: tuple


def _encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def _digit(mode: str = "L") -> Image.Image:
    return Image.open(EXAMPLE_7).convert(mode)


def _bomb_png(width: int, height: int) -> bytes:
    """A valid PNG header claiming width x height pixels, followed by a tiny IDAT and IEND."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def _animated(fmt: str) -> bytes:
    frames = [_digit().rotate(a) for a in (0, 30, 60, 90)]
    return _encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)


def _float_tiff(rng: random.Random) -> bytes:
    a = np.asarray(_digit(), np.float32) / 255
    specials = [np.nan, np.inf, -np.inf, 1e30, -1e30]
    a.flat[rng.sample(range(a.size), rng.randint(1, a.size))] = rng.choice(specials)
    return _encode(Image.fromarray(a, "F"), "TIFF")


def _noise(rng: random.Random) -> Image.Image:
    shape = rng.randint(8, 600), rng.randint(8, 600)
    return Image.fromarray(np.random.default_rng(rng.randrange(2**32)).integers(0, 256, shape, np.uint8))


def _valid_images(rng: random.Random) -> dict[str, Callable[[], tuple[str, bytes]]]:
    """Unusual but well-formed images: name -> () -> (file suffix, bytes)."""
    return {
        "animated gif": lambda: (".gif", _animated("GIF")),
        "animated png": lambda: (".png", _animated("PNG")),
        "16-bit png": lambda: (".png", _encode(Image.fromarray(np.asarray(_digit(), np.uint16) * 257), "PNG")),
        "32-bit int tiff": lambda: (".tif", _encode(_digit("I"), "TIFF")),  # PNG cannot hold 32-bit integers
        "float nan/inf tiff": lambda: (".tiff", _float_tiff(rng)),
        "cmyk jpeg": lambda: (".jpg", _encode(_digit("CMYK"), "JPEG")),
        "cmyk tiff": lambda: (".tiff", _encode(_digit("CMYK"), "TIFF")),
        "palette+transparency png": lambda: (".png", _encode(_digit("P"), "PNG", transparency=0)),
        "palette+transparency gif": lambda: (".gif", _encode(_digit("P"), "GIF", transparency=255)),
        "1-bit png": lambda: (".png", _encode(_digit("1"), "PNG")),
        "LA png": lambda: (".png", _encode(_digit("LA"), "PNG")),
        "shape 1x1": lambda: (".png", _encode(Image.new("L", (1, 1), 255), "PNG")),
        "shape 1x4000": lambda: (".png", _encode(Image.new("L", (4000, 1), 255), "PNG")),
        "shape 4000x3": lambda: (".png", _encode(Image.new("L", (3, 4000), 255), "PNG")),
        "random noise": lambda: (".png", _encode(_noise(rng), "PNG")),
    }


def _broken(rng: random.Random, suffix: str, data: bytes) -> dict[str, Callable[[], tuple[str, bytes]]]:
    def corrupt() -> bytes:
        b = bytearray(data)
        for _ in range(rng.randint(1, 20)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        return bytes(b)

    fmt = suffix.strip(".")
    return {
        f"truncated {fmt}": lambda: (suffix, data[: rng.randrange(len(data))]),
        f"corrupt {fmt}": lambda: (suffix, corrupt()),
    }


def generate(folder: Path, count: int, seed: int = 0) -> Iterator[Case]:
    rng = random.Random(seed)
    digit = _digit()
    makers = {
        "zero bytes": lambda: (rng.choice([".png", ".jpg", ".gif"]), b""),
        "text as image": lambda: (rng.choice([".png", ".jpg"]), b"this is not an image\n" * rng.randint(1, 50)),
        "pixel bomb png": lambda: (".png", _bomb_png(100_000, 100_000)),
        **_valid_images(rng),
        **_broken(rng, ".png", _encode(digit, "PNG")),
        **_broken(rng, ".jpg", _encode(digit, "JPEG")),
        **_broken(rng, ".gif", _encode(digit, "GIF")),
    }
    seven = pad_value()
    sketches = {
        "drawing {}": {},
        "drawing not an object": [[1, 2, 3, 4]],
        "drawing strokes wrong type": {"strokes": "x", "width": 20},
        "drawing stroke of strings": {"strokes": [["a", "b"]], "width": 20},
        "drawing odd coordinates": {"strokes": [[1, 2, 3]], "width": 20},
        "drawing far off the pad": {"strokes": [[1e12, 5, 6, 7]], "width": 20},
        "drawing nested junk": {"strokes": [[[[[[1]]]]]], "width": 20},
        "drawing width 1e9": {**seven, "width": 1e9},
        "drawing width string": {**seven, "width": "20"},
        "drawing 200 strokes": {"strokes": [[10, 10, 20, 20]] * 200, "width": 20},
        "drawing 100k points": {"strokes": [[float(i % 280) for i in range(200_000)]], "width": 20},
        "drawing empty": {"strokes": [], "width": 20},
        "drawing a dot": {"strokes": [[140, 140]], "width": 20},
    }
    names, big = itertools.cycle([*makers, *sketches, "100 MB file"]), 0
    for i in range(count):
        kind = next(names)
        if kind == "100 MB file":
            big += 1
            if big > 3:  # three are enough: each sends 100 MB
                kind = next(names)
        if kind in sketches:
            yield Case(kind, "/draw", (sketches[kind], "cnn"))
            continue
        path = folder / f"case{i}"
        if kind == "100 MB file":
            path = path.with_suffix(".png")
            with open(path, "wb") as f:
                f.write(_encode(digit, "PNG"))
                f.truncate(100 * 2**20)
        else:
            suffix, data = makers[kind]()
            path = path.with_suffix(suffix)
            path.write_bytes(data)
        api = rng.choice(["/classify", "/upload"])
        yield Case(kind, api, (handle_file(str(path)), "cnn"))


def valid(result) -> bool:
    if isinstance(result, dict):
        p = result.get("probabilities", [])
        return len(p) == 10 and all(math.isfinite(v) for v in p) and (result.get("empty") or abs(sum(p) - 1) < 1e-3)
    # a page event: (answer, what the network sees, every answer), answer None when nothing is drawn
    if not isinstance(result, tuple | list) or len(result) < 3:
        return False
    answer, _, compare = result[:3]
    return (answer is None or valid(answer)) and isinstance(compare, list) and all(valid(a) for a in compare)


def outcome(client, case: Case, timeout: float) -> tuple[str, str, float]:
    """('result' | 'error' | 'invalid' | 'unclear' | 'slow', message, seconds)."""
    t0 = time.perf_counter()
    try:
        job = client.submit(*case.args, api_name=case.api)
        result = job.result(timeout=timeout)
        status, message = ("result" if valid(result) else "invalid"), ""
    except AppError as e:
        message = str(e).strip()
        status = "unclear" if message.startswith(GENERIC) or message in ("", "None", "Error") else "error"
    except TimeoutError:
        status, message = "slow", f"no answer in {timeout} s"
    except Exception as e:  # e.g. refused upload: must still name the problem
        message = f"{type(e).__name__}: {e}"
        status = "error" if str(e).strip() else "unclear"
    elapsed = time.perf_counter() - t0
    return ("slow" if elapsed > timeout else status), message[:160], elapsed


def run_fuzz(server: Server, count: int, workers: int, timeout: float, folder: Path) -> dict:
    cases = list(generate(folder, count))
    tallies: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    messages: dict[tuple[str, str], str] = {}
    slowest = [0.0]
    lock = threading.Lock()
    queue = iter(cases)

    def work() -> None:
        client = server.client()
        while True:
            with lock:
                case = next(queue, None)
            if case is None:
                return
            status, message, elapsed = outcome(client, case, timeout)
            with lock:
                tallies[f"{case.kind} {case.api}"][status] += 1
                messages.setdefault((f"{case.kind} {case.api}", status), message)
                slowest[0] = max(slowest[0], elapsed)

    threads = [threading.Thread(target=work, daemon=True) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    after = server.client().predict(handle_file(str(EXAMPLE_7)), "cnn", api_name="/classify")
    return {
        "cases": len(cases),
        "tallies": tallies,
        "messages": messages,
        "slowest": slowest[0],
        "alive": server.alive(),
        "after": after,
    }
