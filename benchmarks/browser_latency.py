"""What a visitor feels: pen-up to the answer for the finished drawing, updates while the pen moves, page load.

    .venv/bin/python -m benchmarks.browser_latency [--strokes 50]

The app, the no-op app with the app's components (benchmarks/noop_app.py) and a no-op app around Gradio's
default 800x800 sketchpad (benchmarks/noop_default_app.py, the issue's baseline) get the same stroke script.
The stroke's end is the page's time just before mouse-up.

- The app and its no-op: the pad's readout carries the number of the drawing it answers (data-seq) and of the
  last one asked (data-asked); the pen-up drawing is the first one asked after the stroke's end, and its answer
  is timed by a MutationObserver on data-seq. "Full views" is the same stroke's end to the last change of the
  views the queued pen-up event fills (what the network sees, once it has settled).
- The default sketchpad: its output's last change once it has settled (it has no other way to tell).
"""

from __future__ import annotations

import argparse
import statistics
import time

from digitnet.lab.browser import chromium
from digitnet.lab.metrics import summary_ms
from digitnet.lab.serving import Server, machine

CANVAS = "#pad canvas, #sketch canvas"  # the app's drawing pad, or the baseline's image editor
WATCH = """(sel) => { window.__updated = null; window.__n = 0; const el = document.querySelector(sel);
  new MutationObserver(() => { window.__updated = performance.now(); window.__n++; })
    .observe(el, {subtree: true, childList: true, characterData: true}); }"""


def strokes(n: int) -> list[list[tuple[int, int]]]:
    """n short strokes spread over the canvas (offsets from its centre, in pixels)."""
    out = []
    for i in range(n):
        x, y = (i * 37) % 180 - 90, (i * 53) % 180 - 90
        out.append([(x, y), (x + 25, y + 10), (x + 30, y + 40)])
    return out


LOAD = """() => { const nav = performance.getEntriesByType("navigation")[0];
  const res = performance.getEntriesByType("resource");
  const bytes = [nav, ...res].reduce((n, e) => n + (e.transferSize || e.encodedBodySize || 0), 0);
  return {ms: nav.loadEventEnd - nav.startTime, kb: bytes / 1024, n: res.length}; }"""
LAST_UPLOAD = """() => performance.getEntriesByType("resource").filter((e) => e.name.includes("/upload")).at(-1)"""
SETTLED = f"""(quiet) => {{ const up = ({LAST_UPLOAD})();
  const last = Math.max(window.__updated ?? 0, up ? up.responseEnd : 0);
  return window.__updated !== null && performance.now() - last > quiet; }}"""
PHASES = """(end) => { const ups = performance.getEntriesByType("resource").filter((e) => e.name.includes("/upload"));
  const first = ups.find((e) => e.startTime >= end), done = ups.filter((e) => e.responseEnd <= window.__updated);
  if (!first || !done.length) return null;
  const last = done.at(-1);
  return [first.startTime - end, last.responseEnd - first.startTime, window.__updated - last.responseEnd]; }"""


def open_pad(page, url: str, *scripts: tuple[str, object]) -> tuple[float, float]:
    """Load the page, let it settle, run the watching scripts; the pad's centre on the page."""
    page.goto(url)
    page.wait_for_selector(CANVAS)
    page.wait_for_timeout(1000)
    for script, arg in scripts:
        page.evaluate(script, arg)
    return pad_centre(page)


def pad_centre(page) -> tuple[float, float]:
    box = page.locator(CANVAS).first.bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def stroke_then_lift(page, centre: tuple[float, float], stroke: list, before_up: str):
    """Draw the stroke with the mouse; evaluate `before_up` in the page just before lifting the pen, return it."""
    cx, cy = centre
    page.mouse.move(cx + stroke[0][0], cy + stroke[0][1])
    page.mouse.down()
    for dx, dy in stroke[1:]:
        page.mouse.move(cx + dx, cy + dy, steps=6)
    value = page.evaluate(before_up)
    page.mouse.up()
    return value


def measure(page, url: str, watch: str, script: list, quiet_ms: float = 2000) -> tuple[list[float], list]:
    """Per stroke: seconds from the stroke's end to the output's last update, and where they went (PHASES).

    The sketchpad may also send the drawing while the stroke is under way, so the output can change more
    than once; the stroke counts as answered when neither the output nor an upload has moved for quiet_ms.
    """
    centre = open_pad(page, url, (WATCH, watch))
    times, phases = [], []
    for stroke in script:
        page.evaluate("() => { window.__updated = null; performance.clearResourceTimings(); }")
        end = stroke_then_lift(page, centre, stroke, "() => performance.now()")
        page.wait_for_function(SETTLED, arg=quiet_ms, polling=100, timeout=30_000)
        times.append((page.evaluate("() => window.__updated") - end) / 1e3)
        phases.append(page.evaluate(PHASES, end))
    return times, phases


READOUT = """() => { window.__answered = {}; const o = document.querySelector(".dn-live");
  new MutationObserver(() => { window.__answered[o.dataset.seq] ??= performance.now(); })
    .observe(o, {attributes: true, attributeFilter: ["data-seq"]}); }"""
ANSWERED = "(n) => window.__answered[n] ?? null"
ASKED = "() => [performance.now(), +document.querySelector('.dn-live').dataset.asked]"


def measure_readout(page, url: str, watch: str, script: list, quiet_ms: float = 2000) -> tuple[list, list]:
    """Per stroke: seconds from the stroke's end to the readout's answer for the finished drawing (the first one
    asked after it), and to the queued event's last change of "what the network sees" (the full views)."""
    centre = open_pad(page, url, (READOUT, None), (WATCH, watch))
    readout, full = [], []
    for stroke in script:
        page.evaluate("() => { window.__updated = null; }")
        end, asked = stroke_then_lift(page, centre, stroke, ASKED)
        done = page.wait_for_function(ANSWERED, arg=asked + 1, polling=10, timeout=30_000).json_value()
        readout.append((done - end) / 1e3)
        page.wait_for_function(SETTLED, arg=quiet_ms, polling=100, timeout=30_000)
        full.append((page.evaluate("() => window.__updated") - end) / 1e3)
    return readout, full


def live_updates(page, strokes: int = 5, quiet_ms: float = 2000) -> float:
    """Median number of updates while the pen moves, over slow 1.5 s strokes (30 moves, 50 ms apart): answers
    shown in the pad's readout (distinct drawings answered), or the baseline's output changes."""
    cx, cy = pad_centre(page)
    counts = []
    for k in range(strokes):
        page.mouse.move(cx - 60 + 10 * k, cy - 90)
        page.evaluate("() => { window.__n = 0; window.__answered = {}; }")
        page.mouse.down()
        for i in range(1, 31):
            page.mouse.move(cx - 60 + 10 * k + 30 * i / 30, cy - 90 + 180 * i / 30)
            page.wait_for_timeout(50)
        pad = page.evaluate("() => !!document.querySelector('.dn-live')")
        counts.append(page.evaluate("() => Object.keys(window.__answered).length" if pad else "() => window.__n"))
        page.mouse.up()
        page.wait_for_function(SETTLED, arg=quiet_ms, polling=100, timeout=30_000)
    return statistics.median(counts)


def phase_medians(phases: list) -> str:
    """Medians of: stroke end -> first upload (canvas export), uploads, last upload done -> output updated."""
    rows = [p for p in phases if p]
    if not rows:
        return "no upload seen"
    med = [statistics.median(col) for col in zip(*rows, strict=True)]
    return f"export {med[0]:.0f} ms, uploads {med[1]:.0f} ms, queue+function+render {med[2]:.0f} ms (n={len(rows)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--strokes", type=int, default=50)
    opts = parser.parse_args()
    print(machine())
    script = strokes(opts.strokes)
    apps = {"app": ("app", "#pixels"), "no-op": ("benchmarks.noop_app", "#headline"),
            "no-op, default sketchpad": ("benchmarks.noop_default_app", "#headline")}  # fmt: skip
    results = {}
    with chromium() as browser:
        for name, (module, watch) in apps.items():
            with Server(module) as server:
                page = browser.new_page(viewport={"width": 1280, "height": 1000})
                t0 = time.perf_counter()
                page.goto(server.url)
                page.wait_for_selector(CANVAS)
                loaded = page.evaluate(LOAD)
                if module == "benchmarks.noop_default_app":
                    times, phases = measure(page, server.url, watch, script)
                    where = phase_medians(phases)
                else:
                    times, full = measure_readout(page, server.url, watch, script)
                    where = f"full views (queued pen-up event): median {statistics.median(full) * 1e3:.0f} ms"
                results[name] = summary_ms(times)
                live = live_updates(page)
                print(
                    f"{name}: {where}; updates during a 1.5 s stroke (median of 5): {live}; "
                    f"page load: {loaded['ms']:.0f} ms to load event, {loaded['kb']:.0f} KB transferred, "
                    f"{loaded['n']} resources ({time.perf_counter() - t0:.0f} s in all)"
                )
                page.close()
    print(f"stroke end -> updated output, {opts.strokes} strokes, ms (ratio: app / that no-op app):")
    print("| | app | no-op, same components | ratio | no-op, default sketchpad | ratio |\n|---|---|---|---|---|---|")
    for q in ("median", "p95"):
        a, b, c = (results[k][q] for k in apps)
        print(f"| {q} | {a:.0f} | {b:.0f} | {a / b:.2f}x | {c:.0f} | {a / c:.2f}x |")


if __name__ == "__main__":
    main()
