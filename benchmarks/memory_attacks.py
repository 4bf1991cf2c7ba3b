"""Memory-amplification attacks (issue 13) against the served app on loopback: each attack's answer and the server's
resident memory before it, at its peak and after it.

    DIGITNET_DATA=../shared/data .venv/bin/python -m benchmarks.memory_attacks [--only TEXT] [--scale 1.0]
        [--module app]

The attacks are in digitnet/lab/attacks.py. The server is started with DIGITNET_TRUSTED_PROXIES=1, as behind the
Spaces proxy: the X-Forwarded-For header names the client, so the queue-flood attack can play two clients from
one machine. `--module digitnet.lab.loopback_public` serves the same app with loopback counted as a public
address by Gradio's download guard, to show what an http(s) file path does with a public web server.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from digitnet.lab import attacks
from digitnet.lab.serving import Server, machine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", action="append", help="run the attacks whose name contains this (repeatable)")
    parser.add_argument("--scale", type=float, default=1.0, help="sizes and counts, 1 = as in the issue")
    parser.add_argument("--module", default="app")
    opts = parser.parse_args()
    names = [n for n in attacks.ATTACKS if not opts.only or any(o in n for o in opts.only)]
    print(machine())
    os.environ["DIGITNET_TRUSTED_PROXIES"] = "1"
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


if __name__ == "__main__":
    main()
