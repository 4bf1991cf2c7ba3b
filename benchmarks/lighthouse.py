"""Lighthouse (mobile profile, its defaults) against the app and a no-op Gradio sketchpad app in the same run.

    npm ci   # lighthouse, pinned in package-lock.json
    .venv/bin/python -m benchmarks.lighthouse [--runs 3] [--write docs/benchmarks.md]
        [--variant NAME=ENV_VAR=VALUE ...]

Lighthouse's mobile defaults: a Moto G Power sized screen, simulated slow 4G and a 4x slower CPU. The apps are
served by their own processes (digitnet.lab.serving.Server) and measured in turns (app, baseline, app, ...), so
that both see the same load on the machine; each run is a fresh headless Chromium (/usr/bin/chromium). A variant
serves the app again with an environment variable set (e.g. GRADIO_SSR_MODE=True), measured in the same turns.
With --write, the table goes into docs/benchmarks.md between the [lighthouse] markers.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import urllib.request
from contextlib import ExitStack
from pathlib import Path

from digitnet.lab.browser import CHROMIUM
from digitnet.lab.docs import write_section
from digitnet.lab.serving import ROOT, Server, machine

LIGHTHOUSE = ROOT / "node_modules" / "lighthouse" / "cli" / "index.js"
FLAGS = "--headless=new --no-sandbox --disable-gpu"
METRICS = {  # audit -> (column, scale to the shown unit)
    "first-contentful-paint": ("FCP s", 1e-3),
    "largest-contentful-paint": ("LCP s", 1e-3),
    "total-blocking-time": ("TBT ms", 1),
    "speed-index": ("Speed index s", 1e-3),
    "cumulative-layout-shift": ("CLS", 1),
    "total-byte-weight": ("bytes KiB", 1 / 1024),
}
APPS = {"app": "app", "no-op Gradio sketchpad app": "benchmarks.noop_default_app"}


def lighthouse(url: str) -> dict:
    """One Lighthouse run (performance and accessibility): the scores, the metrics, the failing audits."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        cmd = ["node", str(LIGHTHOUSE), url, "--output=json", f"--output-path={out}", "--quiet",
               "--only-categories=performance,accessibility", f"--chrome-flags={FLAGS}"]  # fmt: skip
        subprocess.run(cmd, check=True, env=os.environ | {"CHROME_PATH": CHROMIUM}, timeout=300)
        report = json.loads(out.read_text())
    audits = report["audits"]
    failing = sorted(k for k, a in audits.items() if a.get("scoreDisplayMode") == "binary" and a.get("score") == 0)
    return {
        "performance": report["categories"]["performance"]["score"],
        "accessibility": report["categories"]["accessibility"]["score"],
        "failing": [k for k in failing if k in _accessibility_audits(report)],
        **{k: audits[k]["numericValue"] for k in METRICS},
    }


def _accessibility_audits(report: dict) -> set[str]:
    return {ref["id"] for ref in report["categories"]["accessibility"]["auditRefs"]}


def _span(values: list[float], scale: float, digits: int) -> str:
    low, med, high = (f"{v * scale:.{digits}f}" for v in (min(values), statistics.median(values), max(values)))
    return f"{med} ({low}-{high})" if len(values) > 1 else med


def table(results: dict[str, list[dict]]) -> str:
    head = ["", "performance", "accessibility", *(c for c, _ in METRICS.values()), "failing a11y audits"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, runs in results.items():
        failing = sorted({a for r in runs for a in r["failing"]})
        cells = [name, _span([r["performance"] for r in runs], 100, 0),
                 _span([r["accessibility"] for r in runs], 100, 0)]  # fmt: skip
        for key, (column, scale) in METRICS.items():
            cells.append(_span([r[key] for r in runs], scale, 3 if column == "CLS" else 0 if "ms" in column or
                               "KiB" in column else 1))  # fmt: skip
        cells.append(", ".join(failing) or "none")
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="Lighthouse runs per app (default 3)")
    parser.add_argument("--write", metavar="MARKDOWN", help="write the table into this file's [lighthouse] section")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=VAR=VALUE",
                        help="also serve the app with environment variable VAR=VALUE, shown as NAME")  # fmt: skip
    parser.add_argument("--no-baseline", action="store_true", help="measure the app (and variants) only")
    args = parser.parse_args()
    if not LIGHTHOUSE.exists():
        raise SystemExit(f"{LIGHTHOUSE} is missing: run `npm ci` first")
    apps = {name: (module, {}) for name, module in APPS.items()}
    if args.no_baseline:
        del apps["no-op Gradio sketchpad app"]
    for v in args.variant:
        name, var, value = v.split("=", 2)
        apps[f"app, {name}"] = ("app", {var: value})
    started = machine()  # the date and the load average as the run starts
    print(started)
    with ExitStack() as stack:
        servers = {name: stack.enter_context(Server(module, env=env)) for name, (module, env) in apps.items()}
        for server in servers.values():  # one unmeasured load each: the first page Gradio serves builds its config
            urllib.request.urlopen(server.url, timeout=60).read()
        results: dict[str, list[dict]] = {name: [] for name in servers}
        for i in range(args.runs):
            for name, server in servers.items():
                r = lighthouse(server.url)
                results[name].append(r)
                print(f"run {i + 1} {name}: performance {r['performance']}, accessibility {r['accessibility']}, "
                      f"LCP {r['largest-contentful-paint']:.0f} ms, TBT {r['total-blocking-time']:.0f} ms, "
                      f"CLS {r['cumulative-layout-shift']:.3f}, failing {r['failing']}", flush=True)  # fmt: skip
    end = os.getloadavg()[0]
    body = f"{table(results)}\n\nMedian (range) of {args.runs} runs each, in turns; {started}, {end:.2f} at the end."
    print(body)
    if args.write:
        command = f"python -m benchmarks.lighthouse --runs {args.runs} --write {args.write}" + "".join(
            f" --variant {v}" for v in args.variant
        )
        write_section(args.write, "lighthouse", body, command)


if __name__ == "__main__":
    main()
