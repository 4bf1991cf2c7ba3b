"""The visitors' dataset push across replicas and restarts: acknowledged drawings against those in the dataset.

    python -m benchmarks.visitors_push --json docs/runs/visitors_push_after.json [--lives 4] [--per-life 6]
    python -m benchmarks.visitors_push --table docs/runs/visitors_push_before.json docs/runs/visitors_push_after.json \
        --write docs/benchmarks.md

Two replicas of the app (each `python app.py` in its own process, as tests/conftest.py's `start_app` serves it)
push to one dataset folder (DIGITNET_VISITORS_REPO=dir:FOLDER, a push every DIGITNET_VISITORS_PUSH_MINUTES=0.05,
as the issue measured): replica A keeps its store folder across restarts (a Space with persistent storage), replica
B starts each life with a new, empty one (without). Each life both take `--per-life` drawings in turn (each a line
no other draws, each its own visitor), the run waits until the dataset holds that life's acknowledged drawings or
`--wait` seconds pass, then stops both (SIGTERM) and starts both again: `--lives` 4 is 3 restarts. At the end the
dataset is read as the lab reads it (`visitors.read`, what `visitors export` takes) and every acknowledged drawing
looked up in it.

"Before" is the same script run from a checkout of the code before shards (`git archive` of that commit into a
folder, this file copied into its benchmarks/, run there with this venv): there `visitors.read` of the dataset
reads its one file, `visitors.sqlite3`.
"""

from __future__ import annotations

import argparse
import collections
import json
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

from attacks.clients import Api
from attacks.feedback import send
from digitnet import settings, visitors
from digitnet.lab.serving import ROOT, Server, machine, visitor

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def strokes(k: int) -> list[list[float]]:
    return [[30.0, 40.0 + k / 10, 250.0, 240.0]]


def key(s: list) -> str:
    return json.dumps(s, separators=(",", ":"))


def found(dataset: Path) -> collections.Counter:
    """How often each drawing is in the dataset read as one set (`visitors.read`)."""
    try:
        return collections.Counter(key(r.strokes) for r in visitors.read(dataset))
    except visitors.StoreError:
        return collections.Counter()


def copies(dataset: Path) -> int:
    """Rows in all the dataset's files together (a drawing in several shards counted each time)."""
    n = 0
    for f in dataset.rglob("*.sqlite3"):
        conn = sqlite3.connect(f"file:{f}?mode=ro", uri=True)
        n += conn.execute("SELECT count(*) FROM drawings").fetchone()[0]
        conn.close()
    return n


def run(lives: int, per_life: int, wait_s: float, push_minutes: float) -> dict:
    acknowledged: list[int] = []
    per = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        dataset = tmp / "dataset"
        for life in range(lives):
            stores = [tmp / "A", tmp / f"B{life}"]
            env = {settings.VISITORS_REPO: f"dir:{dataset}", settings.VISITORS_PUSH_MINUTES: str(push_minutes),
                   settings.FEEDBACK_PER_MINUTE: "1000"}  # fmt: skip
            servers = [Server("app", env=env | {settings.VISITORS_DIR: str(s)}, timeout=180) for s in stores]
            try:
                ks = []
                for j in range(per_life):
                    k = 100 * life + j
                    with Api(servers[j % 2], address=visitor(500 + k)) as api:
                        reply = send(api, {"strokes": strokes(k), "width": 20}, "cnn", str(k % 10))
                    if reply.kind == "saved":
                        ks.append(k)
                    time.sleep(0.5)
                deadline = time.monotonic() + wait_s
                while time.monotonic() < deadline and not all(found(dataset)[key(strokes(k))] for k in ks):
                    time.sleep(0.5)
            finally:
                for s in servers:
                    s.close()
            acknowledged += ks
            now = found(dataset)
            per.append({"life": life + 1, "acknowledged": len(acknowledged),
                        "present": sum(1 for k in acknowledged if now[key(strokes(k))])})  # fmt: skip
            print(per[-1], flush=True)
        now = found(dataset)
        files = sorted(str(p.relative_to(dataset)) for p in dataset.rglob("*.sqlite3"))
        return {
            "acknowledged": len(acknowledged),
            "present": sum(1 for k in acknowledged if now[key(strokes(k))]),
            "present_once": sum(1 for k in acknowledged if now[key(strokes(k))] == 1),
            "rows_read": sum(now.values()),
            "copies_in_files": copies(dataset),
            "files": files,
            "lives": per,
        }


def commit() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return out.stdout.strip() or "unknown"


def table(before: dict, after: dict) -> str:
    rows = [
        ("commit", before["commit"], after["commit"]),
        ("measured", before["machine"], after["machine"]),
        ("acknowledged drawings", before["acknowledged"], after["acknowledged"]),
        ("in the dataset (read as the lab reads it)", before["present"], after["present"]),
        ("... exactly once", before["present_once"], after["present_once"]),
        ("missing", before["acknowledged"] - before["present"], after["acknowledged"] - after["present"]),
        ("files in the dataset", len(before["files"]), len(after["files"])),
        ("rows in all files together (copies)", before["copies_in_files"], after["copies_in_files"]),
        ("in the dataset after each life", ", ".join(f"{x['present']}/{x['acknowledged']}" for x in before["lives"]),
         ", ".join(f"{x['present']}/{x['acknowledged']}" for x in after["lives"])),
    ]  # fmt: skip
    lines = ["| | before (one file) | after (a shard per process) |", "|---|---|---|"]
    return "\n".join([*lines, *(f"| {a} | {b} | {c} |" for a, b, c in rows)])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lives", type=int, default=4, help="lives of each replica (4: 3 restarts)")
    p.add_argument("--per-life", type=int, default=6, help="drawings sent each life, to the two replicas in turn")
    p.add_argument("--wait", type=float, default=20.0, help="seconds to wait each life for its drawings to be pushed")
    p.add_argument("--push-minutes", type=float, default=0.05)
    p.add_argument("--json", help="write the run's figures here")
    p.add_argument("--commit", help="the code's commit, when its folder is not a git checkout")
    p.add_argument("--table", nargs=2, metavar=("BEFORE", "AFTER"), help="the table of two runs' JSON files")
    p.add_argument("--write", help="with --table: write it into this doc's [visitors-push] section")
    opts = p.parse_args()
    if opts.table:
        before, after = (json.loads(Path(f).read_text()) for f in opts.table)
        text = table(before, after)
        print(text)
        if opts.write:
            from digitnet.lab.docs import write_section

            command = "python -m benchmarks.visitors_push --table " + " ".join(opts.table) + f" --write {opts.write}"
            write_section(opts.write, "visitors-push", text, command)
        return
    where = machine()
    print(where, flush=True)
    result = run(opts.lives, opts.per_life, opts.wait, opts.push_minutes)
    result |= {"machine": where, "commit": opts.commit or commit()}
    print(json.dumps({k: v for k, v in result.items() if k != "lives"}, indent=1))
    if opts.json:
        Path(opts.json).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
