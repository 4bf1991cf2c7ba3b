"""What a visitor feels: end of a stroke on the sketchpad to the updated output, in headless Chromium.

    DIGITNET_DATA=../shared/data .venv/bin/python -m benchmarks.browser_latency [--strokes 50]

The app and the no-op app (benchmarks/noop_app.py) get the same stroke script. A MutationObserver on the
output that changes with every stroke (the app's "what the network sees" pixels, the no-op's counter)
timestamps the update in the page; the stroke's end is the page's time at mouse-up.
"""

from __future__ import annotations

import argparse

from playwright.sync_api import sync_playwright

from benchmarks._common import Server, machine, summary_ms

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip
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


def measure(page, url: str, watch: str, script: list, timeout_ms: float = 20_000) -> list[float]:
    page.goto(url)
    page.wait_for_selector("#sketch canvas")
    page.wait_for_timeout(1000)
    page.evaluate(WATCH, watch)
    box = page.locator("#sketch canvas").first.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    times = []
    for stroke in script:
        page.evaluate("() => { window.__updated = null; }")
        page.mouse.move(cx + stroke[0][0], cy + stroke[0][1])
        page.mouse.down()
        for dx, dy in stroke[1:]:
            page.mouse.move(cx + dx, cy + dy, steps=6)
        end = page.evaluate("() => performance.now()")
        page.mouse.up()
        page.wait_for_function("() => window.__updated !== null", timeout=timeout_ms)
        page.wait_for_timeout(300)  # let trailing updates of the same stroke land
        times.append((page.evaluate("() => window.__updated") - end) / 1e3)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--strokes", type=int, default=50)
    opts = parser.parse_args()
    print(machine())
    script = strokes(opts.strokes)
    with Server("app") as real, Server("benchmarks.noop_app") as noop, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        results = {
            "app": summary_ms(measure(page, real.url, "#pixels", script)),
            "no-op": summary_ms(measure(page, noop.url, "#headline", script)),
        }
        browser.close()
    print(f"stroke end -> updated output, {opts.strokes} strokes, ms:\n| | app | no-op | ratio |\n|---|---|---|---|")
    for q in ("median", "p95"):
        a, b = results["app"][q], results["no-op"][q]
        print(f"| {q} | {a:.0f} | {b:.0f} | {a / b:.2f}x |")


if __name__ == "__main__":
    main()
