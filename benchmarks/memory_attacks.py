"""Memory-amplification attacks (issue 13) against the served app on loopback: each attack's answer and the server's
resident memory before it, at its peak and after it.

    python -m benchmarks.memory_attacks [--only TEXT] [--scale 1.0]
        [--module app] [--floods [--fresh] [--json FILE]]
    python -m benchmarks.memory_attacks --table BEFORE.json AFTER.json [--write docs/benchmarks.md]

The attacks are in digitnet/lab/attacks.py. The server trusts loopback as its proxy (`serving.Server` starts it
with DIGITNET_TRUSTED_PROXIES=127.0.0.1): the X-Forwarded-For header names the client, so the queue-flood attack
can play two clients from one machine. `--module digitnet.lab.loopback_public` serves the same app with loopback
counted as a public address by Gradio's download guard, to show what an http(s) file path does with a public web
server.

`--floods` runs the attacks of issue 23 instead (digitnet/lab/floods.py: routes outside /gradio_api/, held
connections, state kept per session or id, disk, limits tried concurrently), against an app with its own cache,
temp folder and log, and adds to each the other client's answer and wait, and the disk figures; `--json` keeps
the results (docs/runs/floods_*.json), and `--table` turns a before and an after file into the table of
docs/benchmarks.md (`--write`: its generated section `floods`).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from digitnet.lab import attacks, floods
from digitnet.lab.docs import write_section
from digitnet.lab.serving import Server, machine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", action="append", help="run the attacks whose name contains this (repeatable)")
    parser.add_argument("--scale", type=float, default=1.0, help="sizes and counts, 1 = as in the issue")
    parser.add_argument("--module", default="app")
    parser.add_argument("--floods", action="store_true", help="the issue-23 attacks (digitnet/lab/floods.py)")
    parser.add_argument("--fresh", action="store_true", help="with --floods: a new server for each attack")
    parser.add_argument("--json", type=Path, help="with --floods: write the results to this file (with --only:"
                        " update its rows for those attacks)")  # fmt: skip
    parser.add_argument("--table", nargs=2, type=Path, metavar=("BEFORE", "AFTER"), help="print the floods table")
    parser.add_argument("--write", type=Path, help="with --table: write it into this markdown file")
    opts = parser.parse_args()
    if opts.table:
        return table(*opts.table, opts.write)
    if opts.floods:
        return run_floods(opts)
    names = [n for n in attacks.ATTACKS if not opts.only or any(o in n for o in opts.only)]
    print(machine())
    with tempfile.TemporaryDirectory() as tmp, Server(opts.module) as server:
        ctx = attacks.context(server, Path(tmp))
        ctx.api.call("classify", [attacks.file_value(ctx.seven_path()), "cnn"])  # warm-up
        print(f"server {opts.module}, RSS after warm-up {server.memory_mb()['VmRSS']:.0f} MB; scale {opts.scale}")
        print("| attack | answer | RSS before | peak | after (MB) | seconds |\n|---|---|---|---|---|---|")
        for name in names:
            r = attacks.measure(ctx, name, opts.scale)
            text = str(r.answer).replace("|", "/").replace("\n", " ")
            print(f"| {name} | {text} | {r.before:.0f} | {r.peak:.0f} (+{r.peak_growth:.0f}) | "
                  f"{r.after:.0f} ({r.growth:+.0f}) | {r.seconds:.1f} |", flush=True)  # fmt: skip
            if not server.alive():
                print("the server died")
                break
        if server.alive():
            rss = server.memory_mb()["VmRSS"]
            print(f"afterwards: a real 7 on /classify -> {attacks.the_seven_still_reads(ctx)}; "
                  f"a drawn 7 on /draw -> {attacks.drawn_seven(ctx)}; RSS {rss:.0f} MB")  # fmt: skip
        ctx.files.close()


def run_floods(opts) -> None:
    """Each flood against one server (--fresh: each against a new one, so that memory an earlier flood left in
    the server's heap does not hide the next one's growth)."""
    names = [n for n in floods.FLOODS if not opts.only or any(o in n for o in opts.only)]
    when = machine()
    print(when)
    print(f"scale {opts.scale}; {'a new server for each attack' if opts.fresh else 'one server'}")
    print("| attack | answer | RSS before | peak | after (MB) | seconds |\n|---|---|---|---|---|---|")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        groups = [[n] for n in names] if opts.fresh else [names]
        for i, group in enumerate(groups):
            ctx = floods.context(Path(tmp) / str(i), opts.module)
            try:
                ctx.api.call("classify", [attacks.file_value(ctx.seven_path()), "cnn"])  # warm-up
                for name in group:
                    r = floods.measure(ctx, name, opts.scale)
                    text = str(r.answer).replace("|", "/").replace("\n", " ")
                    print(f"| {name} | {text} | {r.before:.0f} | {r.peak:.0f} (+{r.peak_growth:.0f}) | "
                          f"{r.after:.0f} ({r.growth:+.0f}) | {r.seconds:.1f} |", flush=True)  # fmt: skip
                    rows.append(row(r))
                    if not ctx.server.alive():
                        print("the server died")
                        break
            finally:
                floods.close(ctx)
    if opts.json:
        run = {"machine": when, "scale": opts.scale, "fresh": opts.fresh, "rows": rows, "reruns": []}
        if opts.only and opts.json.exists():  # a partial run: its rows replace those of the same attacks
            run = json.loads(opts.json.read_text())
            kept = [r for r in run["rows"] if r["attack"] not in names]
            run["rows"] = sorted(kept + rows, key=lambda r: list(floods.FLOODS).index(r["attack"]))
            run["reruns"] = run.get("reruns", []) + [f"{'; '.join(names)}:{when.split(';', 1)[1]}"]
            print(f"{opts.json}: {len(rows)} rows replaced or added, {len(kept)} kept")
        opts.json.write_text(json.dumps(run, indent=1))


def row(r: attacks.Result) -> dict:
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


def table(before: Path, after: Path, write: Path | None) -> None:
    runs = [json.loads(p.read_text()) for p in (before, after)]
    by_name = [{r["attack"]: r for r in run["rows"]} for run in runs]
    how = ["a new server for each attack" if run.get("fresh") else "one server for all" for run in runs]
    again = [" Re-run: " + " ".join(f"{r}." for r in run["reruns"]) if run.get("reruns") else "" for run in runs]
    lines = [f"Before: {runs[0]['machine']}; scale {runs[0]['scale']}, {how[0]}.{again[0]}  ",
             f"After: {runs[1]['machine']}; scale {runs[1]['scale']}, {how[1]}.{again[1]}", "",
             "| attack | before: answer | before: RSS peak / kept | after: answer | after: RSS peak / kept |",
             "|---|---|---|---|---|"]  # fmt: skip
    for name in floods.FLOODS:
        b, a = (rows.get(name) for rows in by_name)
        mem = ["not run" if r is None else f"+{r['peak']:.0f} / {r['kept']:+.0f} MB" for r in (b, a)]
        lines.append(f"| {name} | {cell(b)} | {mem[0]} | {cell(a)} | {mem[1]} |")
    text = "\n".join(lines)
    print(text)
    if write:
        command = f"python -m benchmarks.memory_attacks --table {before} {after} --write {write}"
        write_section(write, "floods", text, command)


if __name__ == "__main__":
    main()
