"""What a visitor feels: end of a stroke on the sketchpad to the updated output, in headless Chromium.

    DIGITNET_DATA=../shared/data .venv/bin/python -m benchmarks.browser_latency [--strokes 50]

The app, the no-op app with the app's components (benchmarks/noop_app.py) and a no-op app around Gradio's
default 800x800 sketchpad (benchmarks/noop_default_app.py, the issue's baseline) get the same stroke script.
A MutationObserver on the output that changes with every stroke (the app's "what the network sees" pixels,
the no-op's counter) timestamps the update in the page; the stroke's end is the page's time at mouse-up.
"""

from __future__ import annotations

import argparse
import statistics

from digitnet.lab.browser import chromium
from digitnet.lab.metrics import summary_ms
from digitnet.lab.serving import Server, machine

WATCH = """(sel) => { window.__updated = null; const el = document.querySelector(sel);
  new MutationObserver(() => { window.__updated = performance.now(); })
    .observe(el, {subtree: true, childList: true, characterData: true}); }"""


def strokes(n: int) -> list[list[tuple[int, int]]]:
    """n short strokes spread over the canvas (offsets from its centre, in pixels)."""
    out = []
    for i in range(n):
        x, y = (i * 37) % 180 - 90, (i * 53) % 180 - 90
        out.append([(x, y), (x + 25, y + 10), (x + 30, y + 40)])
    return out


LAST_UPLOAD = """() => performance.getEntriesByType("resource").filter((e) => e.name.includes("/upload")).at(-1)"""
SETTLED = f"""(quiet) => {{ const up = ({LAST_UPLOAD})();
  const last = Math.max(window.__updated ?? 0, up ? up.responseEnd : 0);
  return window.__updated !== null && performance.now() - last > quiet; }}"""
PHASES = """(end) => { const ups = performance.getEntriesByType("resource").filter((e) => e.name.includes("/upload"));
  const first = ups.find((e) => e.startTime >= end), done = ups.filter((e) => e.responseEnd <= window.__updated);
  if (!first || !done.length) return null;
  const last = done.at(-1);
  return [first.startTime - end, last.responseEnd - first.startTime, window.__updated - last.responseEnd]; }"""


def measure(page, url: str, watch: str, script: list, quiet_ms: float = 2000) -> tuple[list[float], list]:
    """Per stroke: seconds from the stroke's end to the output's last update, and where they went (PHASES).

    The sketchpad may also send the drawing while the stroke is under way, so the output can change more
    than once; the stroke counts as answered when neither the output nor an upload has moved for quiet_ms.
    """
    page.goto(url)
    page.wait_for_selector("#sketch canvas")
    page.wait_for_timeout(1000)
    page.evaluate(WATCH, watch)
    box = page.locator("#sketch canvas").first.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    times, phases = [], []
    for stroke in script:
        page.evaluate("() => { window.__updated = null; performance.clearResourceTimings(); }")
        page.mouse.move(cx + stroke[0][0], cy + stroke[0][1])
        page.mouse.down()
        for dx, dy in stroke[1:]:
            page.mouse.move(cx + dx, cy + dy, steps=6)
        end = page.evaluate("() => performance.now()")
        page.mouse.up()
        page.wait_for_function(SETTLED, arg=quiet_ms, polling=100, timeout=30_000)
        times.append((page.evaluate("() => window.__updated") - end) / 1e3)
        phases.append(page.evaluate(PHASES, end))
    return times, phases


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
                times, phases = measure(page, server.url, watch, script)
                results[name] = summary_ms(times)
                print(f"{name}: {phase_medians(phases)}")
                page.close()
    print(f"stroke end -> updated output, {opts.strokes} strokes, ms (ratio: app / that no-op app):")
    print("| | app | no-op, same components | ratio | no-op, default sketchpad | ratio |\n|---|---|---|---|---|---|")
    for q in ("median", "p95"):
        a, b, c = (results[k][q] for k in apps)
        print(f"| {q} | {a:.0f} | {b:.0f} | {a / b:.2f}x | {c:.0f} | {a / c:.2f}x |")


if __name__ == "__main__":
    main()
