"""Hostile requests generated at random (seeded) through the app's public API with gradio_client: bad files, odd
images, malformed or huge drawings, each to get a valid result or a clear error in time.

Used by benchmarks/fuzz_api.py and, in a short form, by tests/test_serving.py.
"""

from __future__ import annotations

import collections
import itertools
import math
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from attacks.payloads import bomb_png, encode, seven
from digitnet.lab.serving import EXAMPLE_7, Server, pad_value

GENERIC = "The upstream Gradio app has raised an exception"  # what a client sees for an unhandled exception


@dataclass
class Case:
    kind: str
    api: str
    args: tuple


def _animated(fmt: str) -> bytes:
    frames = [seven(side=None).rotate(a) for a in (0, 30, 60, 90)]
    return encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)


def _float_tiff(rng: random.Random) -> bytes:
    a = np.asarray(seven(side=None), np.float32) / 255
    specials = [np.nan, np.inf, -np.inf, 1e30, -1e30]
    a.flat[rng.sample(range(a.size), rng.randint(1, a.size))] = rng.choice(specials)
    return encode(Image.fromarray(a, "F"), "TIFF")


def _noise(rng: random.Random) -> Image.Image:
    shape = rng.randint(8, 600), rng.randint(8, 600)
    return Image.fromarray(np.random.default_rng(rng.randrange(2**32)).integers(0, 256, shape, np.uint8))


def _valid_images(rng: random.Random) -> dict[str, Callable[[], tuple[str, bytes]]]:
    """Unusual but well-formed images: name -> () -> (file suffix, bytes)."""
    return {
        "animated gif": lambda: (".gif", _animated("GIF")),
        "animated png": lambda: (".png", _animated("PNG")),
        "16-bit png": lambda: (".png", encode(Image.fromarray(np.asarray(seven(side=None), np.uint16) * 257), "PNG")),
        "32-bit int tiff": lambda: (".tif", encode(seven("I", None), "TIFF")),  # PNG cannot hold 32-bit integers
        "float nan/inf tiff": lambda: (".tiff", _float_tiff(rng)),
        "cmyk jpeg": lambda: (".jpg", encode(seven("CMYK", None), "JPEG")),
        "cmyk tiff": lambda: (".tiff", encode(seven("CMYK", None), "TIFF")),
        "palette+transparency png": lambda: (".png", encode(seven("P", None), "PNG", transparency=0)),
        "palette+transparency gif": lambda: (".gif", encode(seven("P", None), "GIF", transparency=255)),
        "1-bit png": lambda: (".png", encode(seven("1", None), "PNG")),
        "LA png": lambda: (".png", encode(seven("LA", None), "PNG")),
        "shape 1x1": lambda: (".png", encode(Image.new("L", (1, 1), 255), "PNG")),
        "shape 1x4000": lambda: (".png", encode(Image.new("L", (4000, 1), 255), "PNG")),
        "shape 4000x3": lambda: (".png", encode(Image.new("L", (3, 4000), 255), "PNG")),
        "random noise": lambda: (".png", encode(_noise(rng), "PNG")),
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
    digit = seven(side=None)
    makers = {
        "zero bytes": lambda: (rng.choice([".png", ".jpg", ".gif"]), b""),
        "text as image": lambda: (rng.choice([".png", ".jpg"]), b"this is not an image\n" * rng.randint(1, 50)),
        "pixel bomb png": lambda: (".png", bomb_png(100_000, 100_000)),
        **_valid_images(rng),
        **_broken(rng, ".png", encode(digit, "PNG")),
        **_broken(rng, ".jpg", encode(digit, "JPEG")),
        **_broken(rng, ".gif", encode(digit, "GIF")),
    }
    drawn = pad_value()
    sketches = {
        "drawing {}": {},
        "drawing not an object": [[1, 2, 3, 4]],
        "drawing strokes wrong type": {"strokes": "x", "width": 20},
        "drawing stroke of strings": {"strokes": [["a", "b"]], "width": 20},
        "drawing odd coordinates": {"strokes": [[1, 2, 3]], "width": 20},
        "drawing far off the pad": {"strokes": [[1e12, 5, 6, 7]], "width": 20},
        "drawing nested junk": {"strokes": [[[[[[1]]]]]], "width": 20},
        "drawing width 1e9": {**drawn, "width": 1e9},
        "drawing width string": {**drawn, "width": "20"},
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
                f.write(encode(digit, "PNG"))
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
