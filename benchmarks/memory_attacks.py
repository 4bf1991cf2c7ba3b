"""Memory-amplification attacks (issue 13) against the served app on loopback: each attack's answer and the server's
resident memory before it, at its peak and after it.

    python -m benchmarks.memory_attacks [--only TEXT] [--scale 1.0]
        [--module app] [--floods [--fresh] [--settle S] [--json FILE]]
    python -m benchmarks.memory_attacks --table BEFORE.json AFTER.json [--write docs/benchmarks.md]

The attacks and the outcome each must get are in attacks/catalogue.py. The server trusts loopback as its proxy
(`serving.Server` starts it with DIGITNET_TRUSTED_PROXIES=127.0.0.1): the X-Forwarded-For header names the client,
so the queue-flood attack can play two clients from one machine. `--module attacks.loopback_public` serves the same
app with loopback counted as a public address by Gradio's download guard, to show what an http(s) file path does
with a public web server.

`--floods` runs the catalogue's floods (issue 23) instead (routes outside /gradio_api/, held connections, state kept
per session or id, disk, limits tried concurrently), against an app with its own cache, temp folder and log, and
adds to each the other client's answer and wait, and the disk figures; `--json` keeps the results
(docs/runs/floods_*.json), and `--table` turns a before and an after file into the table of docs/benchmarks.md
(`--write`: its generated section `floods`).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from attacks.catalogue import CATALOGUE, named
from attacks.clients import Answer
from attacks.measure import Result, measure
from attacks.payloads import file_value
from attacks.target import Context, context, flood_server
from digitnet.lab.docs import write_section
from digitnet.lab.serving import Server, machine, pad_value

HEAD = "| attack | answer | RSS before | peak | after (MB) | seconds |\n|---|---|---|---|---|---|"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", action="append", help="run the attacks whose name contains this (repeatable)")
    parser.add_argument("--scale", type=float, default=1.0, help="sizes and counts, 1 = as in the issue")
    parser.add_argument("--module", default="app")
    parser.add_argument("--floods", action="store_true", help="the floods (issue 23) instead")
    parser.add_argument("--fresh", action="store_true", help="with --floods: a new server for each attack")
    parser.add_argument("--settle", type=float, default=2.0, help="seconds after an attack before its 'after' RSS")
    parser.add_argument("--json", type=Path, help="with --floods: write the results to this file (with --only:"
                        " update its rows for those attacks)")  # fmt: skip
    parser.add_argument("--table", nargs=2, type=Path, metavar=("BEFORE", "AFTER"), help="print the floods table")
    parser.add_argument("--write", type=Path, help="with --table: write it into this markdown file")
    parser.add_argument("--section", default="floods", help="with --write: the generated section's name (the"
                        " table then lists only the attacks either run has)")  # fmt: skip
    opts = parser.parse_args()
    if opts.table:
        return table(*opts.table, opts.write, opts.section)
    if opts.floods:
        return run_floods(opts)
    print(machine())
    with tempfile.TemporaryDirectory() as tmp, Server(opts.module) as server:
        ctx = context(server, Path(tmp))
        warm_up(ctx)
        print(f"server {opts.module}, RSS after warm-up {server.memory_mb()['VmRSS']:.0f} MB; scale {opts.scale}")
        print(HEAD)
        for attack in named(opts.only, flood=False):
            print_row(measure(ctx, attack.name, attack.run, opts.scale))
            if not server.alive():
                print("the server died")
                break
        if server.alive():
            rss, drawn = server.memory_mb()["VmRSS"], ctx.api.call("draw", [pad_value(), "cnn"])
            print(
                f"afterwards: a real 7 on /classify -> {warm_up(ctx)}; a drawn 7 on /draw -> {drawn}; RSS {rss:.0f} MB"
            )
        ctx.close()


def warm_up(ctx: Context) -> Answer:
    """One /classify of the 7 (memory is compared after it); its answer."""
    return ctx.api.call("classify", [file_value(ctx.seven_path()), "cnn"])


def print_row(r: Result) -> None:
    text = str(r.answer).replace("|", "/").replace("\n", " ")
    print(f"| {r.attack} | {text} | {r.before:.0f} | {r.peak:.0f} (+{r.peak_growth:.0f}) | "
          f"{r.after:.0f} ({r.growth:+.0f}) | {r.seconds:.1f} |", flush=True)  # fmt: skip


def run_floods(opts) -> None:
    """Each flood against one server (--fresh: each against a new one, so that memory an earlier flood left in
    the server's heap does not hide the next one's growth)."""
    attacks = named(opts.only, flood=True)
    names, order = [a.name for a in attacks], [a.name for a in CATALOGUE]
    when = machine()
    print(when)
    print(f"scale {opts.scale}; {'a new server for each attack' if opts.fresh else 'one server'}")
    print(HEAD)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        groups = [[a] for a in attacks] if opts.fresh else [attacks]
        for i, group in enumerate(groups):
            folder = Path(tmp) / str(i)
            with flood_server(Server, folder, opts.module) as server:
                ctx = context(server, folder, 2**20)
                try:
                    warm_up(ctx)
                    for attack in group:
                        r = measure(ctx, attack.name, attack.run, opts.scale, settle=opts.settle)
                        print_row(r)
                        rows.append(row(r))
                        if not server.alive():
                            print("the server died")
                            break
                finally:
                    ctx.close()
    if opts.json:
        run = {
            "machine": when,
            "scale": opts.scale,
            "fresh": opts.fresh,
            "settle": opts.settle,
            "rows": rows,
            "reruns": [],
        }
        if opts.only and opts.json.exists():  # a partial run: its rows replace those of the same attacks
            run = json.loads(opts.json.read_text())
            kept = [r for r in run["rows"] if r["attack"] not in names]
            run["rows"] = sorted(kept + rows, key=lambda r: order.index(r["attack"]))
            run["reruns"] = run.get("reruns", []) + [f"{'; '.join(names)}:{when.split(';', 1)[1]}"]
            print(f"{opts.json}: {len(rows)} rows replaced or added, {len(kept)} kept")
        opts.json.write_text(json.dumps(run, indent=1))


def row(r: Result) -> dict:
    a = r.answer
    return {"attack": r.attack, "kind": a.kind, "text": a.text, "victim": getattr(a, "victim", ""),
            "waited": getattr(a, "waited", None), "figures": getattr(a, "figures", {}), "peak": r.peak_growth,
            "kept": r.growth, "alive": r.notes["alive"], "seconds": r.seconds}  # fmt: skip


def cell(r: dict | None) -> str:
    if r is None:
        return "not run"
    other = f"; other client: {r['victim']} after {r['waited']:.2f} s" if r["waited"] is not None else ""
    dead = "" if r["alive"] else " **(server died)**"
    return f"{r['kind']}: {r['text']}{other}{dead}".replace("|", "/")


def table(before: Path, after: Path, write: Path | None, section: str = "floods") -> None:
    runs = [json.loads(p.read_text()) for p in (before, after)]
    by_name = [{r["attack"]: r for r in run["rows"]} for run in runs]
    how = ["a new server for each attack" if run.get("fresh") else "one server for all" for run in runs]
    again = [" Re-run: " + " ".join(f"{r}." for r in run["reruns"]) if run.get("reruns") else "" for run in runs]
    lines = [f"Before: {runs[0]['machine']}; scale {runs[0]['scale']}, {how[0]}.{again[0]}  ",
             f"After: {runs[1]['machine']}; scale {runs[1]['scale']}, {how[1]}.{again[1]}", "",
             "| attack | before: answer | before: RSS peak / kept | after: answer | after: RSS peak / kept |",
             "|---|---|---|---|---|"]  # fmt: skip
    for name in [x.name for x in named(None, flood=True)]:
        b, a = (rows.get(name) for rows in by_name)
        if section != "floods" and b is None and a is None:
            continue
        mem = ["not run" if r is None else f"+{r['peak']:.0f} / {r['kept']:+.0f} MB" for r in (b, a)]
        lines.append(f"| {name} | {cell(b)} | {mem[0]} | {cell(a)} | {mem[1]} |")
    text = "\n".join(lines)
    print(text)
    if write:
        command = f"python -m benchmarks.memory_attacks --table {before} {after} --write {write}"
        command += f" --section {section}" if section != "floods" else ""
        write_section(write, section, text, command)


if __name__ == "__main__":
    main()
