"""The visitors' dataset push (digitnet/visitors_push.py): each process pushes its own shard, never a file another
wrote, and the dataset reads back as one set with every acknowledged drawing once, across restarts (with and without
persistent storage) and replicas at once; rows' uids (digitnet/visitors.py) and the lab's commands on a folder of
shards (digitnet/lab/visitors.py)."""

from __future__ import annotations

import collections
import contextlib
import hashlib
import json
import sqlite3
import tempfile
import time
from pathlib import Path

import pytest

from attacks.clients import Api
from attacks.feedback import send
from digitnet import drawing, settings, visitors, visitors_push
from digitnet.lab import visitors as lab_visitors
from digitnet.lab.serving import visitor

PUSH_MINUTES = 0.02  # a push every 1.2 s
PUSH_WAIT_S = 90.0  # for a push to land, on a loaded machine


def strokes(k: int) -> list[list[float]]:
    """Drawing k: a line no other k draws, so that each acknowledged drawing can be found in the dataset."""
    return [[30.0, 40.0 + k / 10, 250.0, 240.0]]


def key(s: list) -> str:
    return json.dumps(s, separators=(",", ":"))


def hashes(folder: Path) -> dict[str, str]:
    """Every file under `folder` and its SHA-256."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}  # fmt: skip


def present(dataset: Path) -> collections.Counter:
    """How often each drawing is in the dataset read as one set (an unreadable or absent dataset: none)."""
    try:
        return collections.Counter(key(r.strokes) for r in visitors.read(dataset))
    except visitors.StoreError:
        return collections.Counter()


def missing(dataset: Path, acknowledged: list[int]) -> list[int]:
    found = present(dataset)
    return [k for k in acknowledged if not found[key(strokes(k))]]


def wait_pushed(dataset: Path, acknowledged: list[int]) -> None:
    deadline = time.monotonic() + PUSH_WAIT_S
    while missing(dataset, acknowledged) and time.monotonic() < deadline:
        time.sleep(0.5)


def app_env(store: Path, dataset: Path) -> dict[str, str]:
    return {settings.VISITORS_DIR: str(store), settings.VISITORS_REPO: f"dir:{dataset}",
            settings.VISITORS_PUSH_MINUTES: str(PUSH_MINUTES), settings.FEEDBACK_PER_MINUTE: "1000"}  # fmt: skip


def submit(app, ks: list[int]) -> list[int]:
    """Drawings `ks` sent to the app's /feedback; those it acknowledged (kept, with an id)."""
    acknowledged = []
    with Api(app, address=visitor(400)) as api:
        for k in ks:
            reply = send(api, {"strokes": strokes(k), "width": drawing.PEN}, "cnn", str(k % 10))
            assert reply.kind == "saved", reply
            acknowledged.append(k)
    return acknowledged


def check_every_acknowledged_once(dataset: Path, acknowledged: list[int]) -> None:
    found = present(dataset)
    lost = [k for k in acknowledged if not found[key(strokes(k))]]
    twice = [k for k in acknowledged if found[key(strokes(k))] > 1]
    assert not lost, f"{len(acknowledged)} acknowledged, {len(acknowledged) - len(lost)} in the dataset"
    assert not twice and sum(found.values()) == len(acknowledged)


def an_older_push(dataset: Path) -> None:
    """What the app pushed before shards: one store file at the dataset's root (one row)."""
    dataset.mkdir(parents=True)
    conn = visitors.connect(dataset / visitors.FILE)
    visitors.migrate(conn, upto=2)
    conn.execute(
        "INSERT INTO drawings (created, app_version, strokes, width, label, agreed, answers, model) "
        "VALUES ('2026-01-01T00:00:00Z', 'v0', ?, 20, '9', 0, '{}', 'cnn')",
        (key(strokes(999)),),
    )
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()


# Through real app processes


def test_four_lives_of_the_app_push_to_one_dataset_and_lose_nothing(start_app, tmp_path):
    """Three restarts: a life with a new, empty store (a Space without persistent storage), another, then the first
    store again (persistent storage: its shard repeats the rows it kept before), then a new one. The dataset already
    holds an older push, which no life touches. Every acknowledged drawing is in the dataset, once."""
    dataset = tmp_path / "dataset"
    an_older_push(dataset)
    older = hashes(dataset)
    acknowledged = [999]
    for life, (store, count) in enumerate([("a", 5), ("b", 2), ("a", 3), ("c", 2)]):
        with start_app("app", env=app_env(tmp_path / store, dataset)) as app:
            ks = submit(app, list(range(100 * life, 100 * life + count)))
            wait_pushed(dataset, ks)
            acknowledged += ks
            assert missing(dataset, acknowledged) == [], f"life {life + 1}: acknowledged drawings missing"
        before = hashes(dataset)
        assert all(before[f] == h for f, h in older.items()), f"life {life + 1} changed a file it did not write"
        older = before
    check_every_acknowledged_once(dataset, acknowledged)
    names = sorted(p.name for p in (dataset / visitors_push.SHARDS).iterdir())
    assert len(names) == 4 and all(n.endswith(".sqlite3") for n in names), names  # one shard per life
    assert [r.label for r in visitors.read(dataset / visitors.FILE)] == ["9"]  # the older push, as it was


def test_two_replicas_at_once_push_to_one_dataset_and_lose_nothing(start_app, tmp_path):
    """Two copies of the app, each with its own store (two machines behind a load balancer), push to one dataset
    while both take drawings in turn: every acknowledged drawing is in the dataset, once."""
    dataset = tmp_path / "dataset"
    with contextlib.ExitStack() as stack:
        apps = [stack.enter_context(start_app("app", env=app_env(tmp_path / f"replica{i}", dataset))) for i in (0, 1)]
        acknowledged = []
        for k in range(10):
            acknowledged += submit(apps[k % 2], [k])
            time.sleep(0.3)  # the two push in between
        wait_pushed(dataset, acknowledged)
        check_every_acknowledged_once(dataset, acknowledged)
    assert len(list((dataset / visitors_push.SHARDS).iterdir())) == 2


# The push, the store's uids and the merge in this process


def test_each_store_pushes_its_own_shard_and_replaces_no_one_elses(tmp_path, monkeypatch):
    """The CommitScheduler path, offline (DIGITNET_VISITORS_REPO=dir:FOLDER): two stores push whole, readable
    snapshots (never the live file) as two shards into one folder that already holds an older push; the older file
    stays as it was, a shard name another process wrote is refused, and no copy is left behind."""
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))  # where the snapshots are taken
    dataset = tmp_path / "hub"
    an_older_push(dataset)
    older = hashes(dataset)
    stores = [visitors.Store(tmp_path / name) for name in ("a", "b")]
    pushers = [visitors_push.start(store, f"dir:{dataset}", 0.5 / 60) for store in stores]  # every half second
    try:
        assert all(pushers) and pushers[0].shard != pushers[1].shard
        assert pushers[0].shard.startswith("shards/") and pushers[0].shard.endswith(".sqlite3")
        for k, label in enumerate(("4", "not a digit", "7")):
            stores[k % 2].add(strokes(k), 20, label, False, {}, "cnn")
        wait_pushed(dataset, [0, 1, 2])
        assert [r.label for r in visitors.read(dataset / pushers[0].shard)] == ["4", "7"]  # a whole database
        assert [r.label for r in visitors.read(dataset / pushers[1].shard)] == ["not a digit"]
        assert not list(dataset.rglob("*-wal")) and not list(dataset.rglob("*.tmp"))
        assert {f: h for f, h in hashes(dataset).items() if f in older} == older
        check_every_acknowledged_once(dataset, [0, 1, 2, 999])
        hub = visitors_push.LocalHub(dataset)
        op = type("Op", (), {"path_in_repo": pushers[0].shard, "path_or_fileobj": open(__file__, "rb")})
        with pytest.raises(FileExistsError, match="never replaces it"):
            hub.create_commit([op])
        op.path_or_fileobj.close()
    finally:
        for pusher, store in zip(pushers, stores, strict=True):
            pusher.stop()
            store.close()
    assert list((tmp_path / "tmp").iterdir()) == []  # each copy deleted once committed
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [visitors.FILE]  # nothing beside the store
    assert visitors_push.start(visitors.Store(tmp_path / "other"), "") is None  # off unless configured


def test_an_empty_store_pushes_nothing_and_a_shard_name_is_unique(tmp_path):
    store = visitors.Store(tmp_path / "store")
    pusher = visitors_push.start(store, f"dir:{tmp_path / 'hub'}", 0.2 / 60)
    try:
        time.sleep(1.5)  # several pushes' time
        assert not (tmp_path / "hub" / visitors_push.SHARDS).exists()
    finally:
        pusher.stop()
        store.close()
    names = {visitors_push.shard_name(host="a host/with:odd*chars") for _ in range(1000)}
    assert len(names) == 1000
    assert all(n.count("-a-host-with-odd-chars-") == 1 and n.endswith(".sqlite3") for n in names)


def test_rows_kept_before_uids_get_the_same_uid_in_every_copy(tmp_path):
    """Migration 3: a store from before uids gets one per row from the row itself, so the live store (migrated in
    place) and an older push of it (read through a migrated copy in memory) read as one set; new rows get random
    ones. The copy an older version kept beside the store (`push/`) is not read with the store."""
    store_dir, dataset = tmp_path / "store", tmp_path / "dataset"
    store_dir.mkdir()
    conn = visitors.connect(store_dir / visitors.FILE)
    visitors.migrate(conn, upto=2)
    for k in range(3):  # three rows alike but for their strokes, kept in the same millisecond
        conn.execute("INSERT INTO drawings (created, app_version, strokes, width, label, agreed, answers, model) "
                     "VALUES ('2026-01-01T00:00:00.000+00:00', 'old', ?, 20, ?, 0, '{}', 'cnn')",
                     (key(strokes(k)), str(k)))  # fmt: skip
    conn.close()
    for older in (store_dir / "push", dataset):  # where an older version put its copy, and what it pushed
        older.mkdir()
        visitors_push.snapshot(store_dir / visitors.FILE, older / visitors.FILE)
    read_before = [r.uid for r in visitors.read(store_dir)]
    store = visitors.Store(store_dir)  # migrates the file
    saved = store.add(strokes(3), 20, "3", False, {}, "cnn")
    store.conn.execute("DELETE FROM drawings WHERE id = 1")  # the owner deletes one
    (dataset / visitors.SHARDS).mkdir()
    visitors_push.snapshot(store.path, dataset / visitors.SHARDS / "new.sqlite3")  # what the new version pushes
    store.close()
    live = [r.uid for r in visitors.read(store_dir)]
    assert live[:2] == read_before[1:] and len(set(live)) == 3 and live[2] == saved.uid and saved.id == 4
    assert [r.uid for r in visitors.read(dataset / visitors.FILE)] == read_before
    check = sqlite3.connect(dataset / visitors.FILE)
    assert check.execute("PRAGMA user_version").fetchone()[0] == 2  # reading left the older push as it was
    check.close()
    check_every_acknowledged_once(dataset, [0, 1, 2, 3])  # the older push and the new shard: each row once
    assert visitors.files(store_dir) == [store_dir / visitors.FILE]  # not push/: the deleted row stays deleted


def test_the_commands_read_a_dataset_of_shards_as_one_set(tmp_path, capsys):
    """export, evaluate --visitors and merge on a folder as huggingface_hub.snapshot_download leaves it: shards (one
    repeating another's rows), an older root file, and huggingface_hub's hidden .cache folder."""
    from digitnet.__main__ import main

    store = visitors.Store(tmp_path / "store")
    store.add(strokes(0), drawing.PEN, "7", False, {}, "cnn")
    store.add([[140, 140]], drawing.PEN, "not a digit", False, {}, "cnn")  # a dot
    dataset = tmp_path / "dataset"
    an_older_push(dataset)
    (dataset / "shards").mkdir()
    visitors_push.snapshot(store.path, dataset / "shards" / "1.sqlite3")
    store.add(strokes(1), drawing.PEN, "1", False, {}, "cnn")
    visitors_push.snapshot(store.path, dataset / "shards" / "2.sqlite3")  # a restart: its rows again, and one more
    store.close()
    (dataset / ".cache" / "huggingface").mkdir(parents=True)
    (dataset / ".cache" / "huggingface" / "junk.sqlite3").write_bytes(b"not a database")
    assert len(visitors.files(dataset)) == 3 and visitors.files(dataset)[0] == dataset / visitors.FILE

    out = tmp_path / "out"
    assert main(["visitors", "export", "--store", str(dataset), "--out", str(out)]) == 0
    assert "4 drawings ->" in capsys.readouterr().out
    data = lab_visitors.Drawings.load(out / lab_visitors.DATA_FILE)
    assert sorted(data.y.tolist()) == [-1, 1, 7, 9] and len(set(data.ids)) == 4
    lines = [json.loads(line) for line in (out / lab_visitors.LINES_FILE).read_text().splitlines()]
    assert sorted(r["uid"] for r in lines) == sorted(data.ids)
    assert main(["evaluate", "--visitors", str(dataset)]) == 0
    assert "4 (3 digits, 1 not digits)" in capsys.readouterr().out

    assert main(["visitors", "merge", str(dataset), "--out", str(tmp_path / "merged.sqlite3")]) == 0
    assert "4 drawings from 3 store files" in capsys.readouterr().out
    merged = list(visitors.read(tmp_path / "merged.sqlite3"))
    assert sorted(r.uid for r in merged) == sorted(data.ids) and [r.id for r in merged] == [1, 2, 3, 4]
    assert main(["visitors", "merge", str(dataset), "--out", str(tmp_path / "merged.sqlite3")]) == 2  # no overwrite
    assert "exists" in capsys.readouterr().out
