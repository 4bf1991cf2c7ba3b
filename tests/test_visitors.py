"""Visitors' drawings (issue 26): the store, /feedback through the real app over HTTP, export and evaluation on what
was kept, the per-client rate, the total cap, kill -9 durability, and the page's "Is that right?" control driven by
a real browser with the mouse and with a finger on a phone."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from test_browser import draw, touch

from attacks.clients import Api
from attacks.feedback import kill_during, send
from digitnet import drawing, feedback, settings, visitors, visitors_push
from digitnet.lab import browser
from digitnet.lab import visitors as lab_visitors
from digitnet.lab.serving import forwarded_for, pad_value, visitor
from digitnet.page import visitors_store
from digitnet.predict import Prediction

RATE = 5  # the test server's submissions per client per minute


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("visitors")


@pytest.fixture(scope="module")
def app(store_dir, start_app):
    env = {settings.VISITORS_DIR: str(store_dir), settings.FEEDBACK_PER_MINUTE: str(RATE)}
    with start_app("app", env=env) as s:
        yield s


def api_for(app, i: int) -> Api:
    return Api(app, headers=forwarded_for(visitor(i)))


def rows(store_dir) -> dict[int, visitors.Row]:
    """The store's rows by id (none before its first submission: the server makes the file then)."""
    if not (store_dir / visitors.FILE).exists():
        return {}
    return {r.id: r for r in visitors.read(store_dir)}


# The store on its own


def test_an_older_file_is_migrated_and_a_newer_one_refused(tmp_path):
    conn = visitors.connect(tmp_path / visitors.FILE)
    visitors.migrate(conn, upto=1)  # the first schema: no `model` column
    conn.execute("INSERT INTO drawings (created, app_version, strokes, width, label, agreed, answers) "
                 "VALUES ('2026-01-01T00:00:00Z', 'old', '[[1,2,3,4]]', 20, '4', 0, '{}')")  # fmt: skip
    conn.close()
    assert [(r.id, r.label, r.model) for r in visitors.read(tmp_path)] == [(1, "4", None)]  # read through a copy
    check = sqlite3.connect(tmp_path / visitors.FILE)
    assert check.execute("PRAGMA user_version").fetchone()[0] == 1  # reading left the file as it was
    check.close()

    store = visitors.Store(tmp_path)
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == visitors.VERSION == 3
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.add([[5, 6, 7, 8]], 20, "not a digit", False, {}, "cnn").id == 2
    store.close()
    assert [(r.label, r.model) for r in visitors.read(tmp_path)] == [("4", None), ("not a digit", "cnn")]

    (tmp_path / "newer").mkdir()
    newer = sqlite3.connect(tmp_path / "newer" / visitors.FILE)
    newer.execute(f"PRAGMA user_version = {visitors.VERSION + 1}")
    newer.close()
    with pytest.raises(visitors.StoreError, match="schema version 4"):
        visitors.Store(tmp_path / "newer")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / visitors.FILE).write_bytes(b"not a database " * 100)
    with pytest.raises(visitors.StoreError, match="not a visitors' store"):
        visitors.Store(tmp_path / "junk")


def fake_predict(x, name: str) -> Prediction:
    return Prediction(3, 0.9, [0.0] * 10, x, not_a_digit=name == "flags")


def test_the_full_store_politely_keeps_nothing_more(tmp_path):
    store = visitors.Store(tmp_path, max_rows=2)
    keep = feedback.handler(fake_predict, ["cnn", "flags"], lambda: store)
    value = pad_value()
    first = keep(value, "cnn", "yes")
    assert first["saved"] and first["label"] == "3"  # "yes": the shown network's digit
    assert keep(value, "flags", "yes")["label"] == "not a digit"  # "yes" to a network whose verdict said so
    full = keep(value, "cnn", 4)
    assert full == {"saved": False, "id": None, "label": "4", "message": feedback.FULL}
    assert len(rows(tmp_path)) == 2
    store.close()
    one = len(json.dumps(value["strokes"], separators=(",", ":"))) + len("{}")
    small = visitors.Store(tmp_path / "bytes", max_bytes=one + 1)  # the byte cap: room for one drawing
    assert small.add(value["strokes"], 20, "7", False, {}, "cnn").id == 1
    assert small.add(value["strokes"], 20, "7", False, {}, "cnn") == visitors.Saved(None, "full")
    off = feedback.handler(fake_predict, ["cnn"], lambda: None)
    assert off(value, "cnn", "7") == {"saved": False, "id": None, "label": "7", "message": feedback.OFF}


# Through the real app


def test_round_trip_draw_correct_read_back_export_evaluate(app, store_dir, mnist_test, tmp_path):
    x, y = mnist_test
    picks = [0, 1, 2, 3, 4, 7]  # real test digits, drawn as the pad draws strokes
    said = [str(int(y[i])) for i in picks[:4]] + ["yes", "not a digit"]
    api = api_for(app, 1)
    seen, replies = [], []
    for k, (i, label) in enumerate(zip(picks, said, strict=True)):
        value = pad_value(x[i].numpy(), seq=k + 1)
        drawn = app.client(visitor(2 + k)).predict(value, "cnn", api_name="/draw")  # what /draw showed for it
        seen.append(np.array(drawn[1]["input"], dtype=np.uint8).reshape(28, 28))
        replies.append(send(api_for(app, 10 + k), value, "cnn", label))
        assert replies[-1].kind == "saved", replies[-1]
        assert "Thank you" in replies[-1].text
    api.close()
    kept = rows(store_dir)
    for (i, label), reply in zip(zip(picks, said, strict=True), replies, strict=True):
        row = kept[reply.id]
        value = pad_value(x[i].numpy())
        assert row.strokes == value["strokes"] and row.width == drawing.PEN
        assert row.agreed == (label == "yes") and row.model == "cnn"
        assert set(row.answers) == set(app_names(app)) and row.app_version
        expected = str(row.answers["cnn"]["digit"]) if label == "yes" else label
        assert row.label == reply.label == expected
        assert "address" not in json.dumps(row.to_dict()) and "198.18" not in json.dumps(row.to_dict())

    data_path, lines_path, data = lab_visitors.export(store_dir, tmp_path)
    ids = [r.id for r in replies]
    where = {uid: k for k, uid in enumerate(data.ids)}  # an export names rows by uid
    exported = {i: where[kept[i].uid] for i in ids}
    for j, rid in enumerate(ids):  # the export is what the server's renderer gave /draw
        assert np.abs(data.x[exported[rid]].numpy().astype(int) - seen[j].astype(int)).max() <= 1
    assert [json.loads(line)["id"] for line in lines_path.read_text().splitlines()] == sorted(kept)
    assert torch.equal(lab_visitors.Drawings.load(data_path).y, data.y)

    ours = lab_visitors.Drawings(data.x[[exported[r] for r in ids]], data.y[[exported[r] for r in ids]],
                                 [kept[r].uid for r in ids])  # fmt: skip
    results = lab_visitors.evaluate(ours, ["cnn", "cnn_oe"])
    cnn = results["cnn"]
    assert cnn["digits"] == 5 and cnn["non_digits"] == 1
    assert cnn["correct"] == sum(kept[r].answers["cnn"]["digit"] == int(kept[r].label) for r in ids[:5])
    assert sum(map(sum, cnn["confusion"])) == 6 and sum(cnn["confusion"][10]) == 1
    for name, r in results.items():  # the same verdicts the server gave when it kept them
        assert r["verdict"]
        assert r["digits_flagged"] == sum(bool(kept[i].answers[name]["not_a_digit"]) for i in ids[:5])
        assert r["non_digits_flagged"] == int(bool(kept[ids[5]].answers[name]["not_a_digit"]))
    assert "few drawings (6" in lab_visitors.table(results, 6)
    assert "rest on few drawings" in lab_visitors.report_section(store_dir)  # evaluate --ood --visitors


def test_the_commands_export_and_evaluate_a_store(tmp_path, capsys):
    from digitnet.__main__ import main

    store = visitors.Store(tmp_path / "store")
    store.add(pad_value()["strokes"], drawing.PEN, "7", False, {}, "cnn")
    store.add([[140, 140]], drawing.PEN, "not a digit", False, {}, "cnn")  # a dot
    store.close()
    assert main(["visitors", "export", "--store", str(tmp_path / "store"), "--out", str(tmp_path / "out")]) == 0
    assert "2 drawings ->" in capsys.readouterr().out
    assert lab_visitors.Drawings.load(tmp_path / "out" / "visitors.pt").y.tolist() == [7, -1]
    for path in (tmp_path / "store", tmp_path / "out" / "visitors.pt"):
        assert main(["evaluate", "--visitors", str(path), "--json", str(tmp_path / "f.json")]) == 0
        out = capsys.readouterr().out
        assert "2 (1 digits, 1 not digits)" in out and "rest on few drawings" in out
        figures = json.loads((tmp_path / "f.json").read_text())
        assert figures["n"] == 2 and figures["networks"]["cnn"]["digits"] == 1
    assert main(["evaluate", "--visitors", str(tmp_path / "nowhere")]) == 2
    assert "no visitors' store there" in capsys.readouterr().out


def app_names(app) -> list[str]:
    config = api_for(app, 0).http.get("/config").json()
    radio = next(c for c in config["components"] if c.get("props", {}).get("elem_id") == "model")
    return [value for _, value in radio["props"]["choices"]]


def test_bad_labels_and_oversize_drawings_get_clear_errors(app, store_dir):
    before = len(rows(store_dir))
    value = pad_value()
    big = drawing.payload([[(10.0, 10.0)]] * (drawing.MAX_STROKES + 1))
    many = drawing.payload([[(float(i % 200), float(i // 200)) for i in range(drawing.MAX_POINTS + 1)]])
    cases = [
        (value, "cnn", "11", "the label must be 'yes', a digit 0-9 or 'not a digit'"),
        (value, "cnn", "seven", "the label must be"),
        (value, "cnn", None, "the label must be"),
        (value, "nope", "4", "is not in the list of choices"),  # the network selector, as for /draw
        (big, "cnn", "4", f"the limit is {drawing.MAX_STROKES}"),
        (many, "cnn", "4", f"the limit is {drawing.MAX_POINTS:,}"),
        ({"strokes": [[1, 2, float("nan"), 3]]}, "cnn", "4", "finite numbers"),
        ({"strokes": [], "width": 20}, "cnn", "4", "draw a digit first"),
        ({"strokes": [[1, 2, 3, 4]], "width": 1000}, "cnn", "4", "'width' must be a number"),
    ]
    for i, (drawn, model, label, message) in enumerate(cases):
        api = api_for(app, 100 + i)
        reply = send(api, json.loads(json.dumps(drawn)) if drawn is not big else drawn, model, label)
        api.close()
        assert reply.kind == "refused" and message in reply.text, (label, reply)
    assert len(rows(store_dir)) == before  # nothing kept


def test_a_client_gets_429_past_its_rate_and_others_do_not(app):
    api = api_for(app, 200)
    replies = [send(api, pad_value(), "cnn", "7") for _ in range(RATE + 1)]
    assert [r.kind for r in replies[:RATE]] == ["saved"] * RATE
    assert replies[RATE].kind == "refused" and "HTTP 429" in replies[RATE].text
    assert f"at most {RATE} feedback requests a minute per client" in replies[RATE].text
    r = api.submit("feedback", [pad_value(), "cnn", "7"])
    assert r.status_code == 429 and r.headers.get("retry-after")
    api.close()
    other = api_for(app, 201)
    assert send(other, pad_value(), "cnn", "7").kind == "saved"
    other.close()


def test_kill_9_during_200_submissions_loses_none_acknowledged(start_app, tmp_path):
    k = kill_during(start_app, tmp_path, count=200, kill_after=100, kill_s=30)
    # killed mid-way: at 100 acknowledged, or after 30 s on a loaded machine (9-23 acknowledged at load 6-11)
    assert k.acknowledged, k.other
    assert sum(n for what, n in k.other.items() if "Connect" not in what) >= 50, k.other  # cut off in flight
    assert k.lost == [], f"{len(k.lost)} acknowledged submissions lost"
    assert k.integrity == "ok" and k.rows >= len(k.acknowledged)
    assert {r.id for r in k.acknowledged} <= {r.id for r in visitors.read(tmp_path)}


# The page in a browser

DESKTOP, PHONE = {"width": 1280, "height": 1000}, {"width": 390, "height": 844}
SEVEN = [[(-65, -85), (55, -85), (0, 20), (-25, 95)]]


@pytest.fixture(scope="module")
def chromium():
    if not browser.available():
        pytest.skip(f"{browser.CHROMIUM} is not installed")
    with browser.chromium() as b:
        yield b


def open_page(chromium, app, viewport, **context):
    page = chromium.new_context(viewport=viewport, **context).new_page()
    page.set_default_timeout(60_000)
    page.goto(app.url)
    page.wait_for_selector("#pad canvas")
    return page


def answered(page) -> None:
    """Wait until the live readout answers the finished drawing."""
    page.wait_for_function("() => { const o = document.querySelector('#pad .dn-live'); "
                           "return +o.dataset.seq > 0 && o.dataset.seq === o.dataset.asked; }")  # fmt: skip


def settled(page) -> None:
    """Wait until the pen-up answer has filled the page too (the full answer and what the network sees), so nothing
    moves after, and the page's current input is the drawing: "Is that right?" keeps only what the page shows, and
    refuses ("still coming") while the pen-up event has not answered, however fast the live readout was."""
    answered(page)
    page.wait_for_selector("#answer .dn-answer:not([data-digit=''])", state="attached")
    page.wait_for_selector("#pixels figure", state="attached")


def choice(page, text: str):
    return page.locator("#feedback-choice").get_by_role("button", name=text, exact=True)


def in_view(page, selector: str) -> bool:
    """Wholly on screen (to a pixel: boxes have fractional edges)."""
    box, vp = page.locator(selector).bounding_box(), page.viewport_size
    return box is not None and box["y"] >= -1 and box["y"] + box["height"] <= vp["height"] + 1


def test_the_page_sends_a_correction_with_the_mouse_and_resets_on_the_next_drawing(chromium, app, store_dir):
    page = open_page(chromium, app, DESKTOP)
    try:
        before = set(rows(store_dir))
        assert "no upload" in page.inner_text("#feedback-note")
        draw(page, SEVEN)
        settled(page)
        choice(page, "4").click()
        page.wait_for_selector("#feedback-note :text('Thank you')")
        new = [r for i, r in rows(store_dir).items() if i not in before]
        assert [(r.label, r.agreed, r.model) for r in new] == [("4", False, "cnn")]
        page.click("#pad .dn-clear")  # the next drawing resets the control
        page.wait_for_selector("#feedback-note :text('no upload')")
        draw(page, SEVEN)
        settled(page)
        page.keyboard.press("Tab")  # nothing is sent by moving through the answers with the keyboard
        choice(page, "Yes").focus()
        for _ in range(3):
            page.keyboard.press("ArrowRight")
        page.wait_for_timeout(500)
        assert len(rows(store_dir)) == len(before) + 1
        choice(page, "Not a digit").focus()
        page.keyboard.press("Enter")  # ... until one is pressed
        page.wait_for_selector("#feedback-note :text('it is not a digit')")
        assert [r.label for r in rows(store_dir).values()][-1] == "not a digit"
    finally:
        page.context.close()


def test_an_answer_about_an_upload_keeps_nothing(chromium, app, store_dir):
    """Uploads are never kept: after a drawing, an example (an upload) is answered, and "4" then refuses to keep
    the pad's older drawing under the upload's label."""
    page = open_page(chromium, app, DESKTOP)
    try:
        draw(page, SEVEN)
        settled(page)
        before = set(rows(store_dir))
        page.click("button.gallery-item:has(img[src*='not_digit_letter_A'])")
        page.wait_for_selector("button[role=tab][aria-selected=true]:has-text('Upload')")
        page.wait_for_selector("#compare .dn-model[data-model='cnn_oe'] .dn-verdict.not-digit")  # its answer shown
        choice(page, "4").click()
        page.wait_for_selector(f"text={feedback.NOT_THE_PAD[:40]}")
        assert set(rows(store_dir)) == before
    finally:
        page.context.close()


def test_a_finger_says_yes_on_a_phone_and_the_answer_stays_in_view(chromium, app, store_dir):
    page = open_page(chromium, app, PHONE, has_touch=True, is_mobile=True, device_scale_factor=2)
    try:
        before = set(rows(store_dir))
        page.locator("#pad canvas").scroll_into_view_if_needed()
        touch(page, SEVEN)
        settled(page)
        page.eval_on_selector("#feedback-note", "(e) => e.scrollIntoView({block: 'end'})")
        assert in_view(page, "#pad .dn-live-digit"), "the control does not fit under the answer on one screen"
        choice(page, "Yes").tap()
        page.wait_for_selector("#feedback-note :text('Thank you')")
        new = [r for i, r in rows(store_dir).items() if i not in before]
        assert [(r.label, r.agreed) for r in new] == [("7", True)]
        page.eval_on_selector("#feedback-note", "(e) => e.scrollIntoView({block: 'end'})")
        if os.environ.get("DIGITNET_SCREENSHOT"):
            page.screenshot(path=str(Path(os.environ["DIGITNET_SCREENSHOT"]).with_name("screenshot_feedback.png")))
        assert in_view(page, "#feedback-choice") and in_view(page, "#feedback-note")
        assert in_view(page, "#pad .dn-live-digit"), "the control pushed the answer out of view"
    finally:
        page.context.close()


def submissions(page, app, text: str) -> list[float]:
    """When the page sent each submission of the answer `text` (its click event's fn_index in /queue/join)."""
    config = api_for(app, 0).http.get("/config").json()
    button = next(c["id"] for c in config["components"]
                  if c["type"] == "button" and c.get("props", {}).get("value") == text)  # fmt: skip
    event = next(d["id"] for d in config["dependencies"] if [button, "click"] in d["targets"])
    sent: list[float] = []

    def seen(request) -> None:
        if "/queue/join" in request.url and (request.post_data_json or {}).get("fn_index") == event:
            sent.append(time.monotonic())

    page.on("request", seen)
    return sent


def answered_tap(page) -> str:
    """What the page shows for a tap on an answer, once it does: "kept" (the note's thanks) or "still coming"
    (NOT_THE_PAD's message); "nothing" if neither shows within 10 s."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if page.inner_text("#feedback-note").startswith("Thank you"):
            return "kept"
        if page.inner_text("#feedback-note").startswith(feedback.NOT_THE_PAD[:40]):
            return "still coming"
        page.wait_for_timeout(50)
    return "nothing"


def test_a_tap_the_moment_a_finger_lifts_from_the_pad_is_never_lost(chromium, app, store_dir):
    """A stroke that ends moving, then "Yes" tapped at once, five times: every tap sends one submission and is
    answered (kept, or "still coming" when it overtakes the pen-up answer). Left to the browser, the pad's touches
    were a gesture: a lift while moving started a fling, and Chromium swallowed the next tap within about 150 ms as
    the one that stops it (the button got its touch events but no click: no request, nothing shown)."""
    page = open_page(chromium, app, PHONE, has_touch=True, is_mobile=True, device_scale_factor=2,
                     extra_http_headers=forwarded_for(visitor(300)))  # its own client: RATE taps  # fmt: skip
    try:
        sent, before = submissions(page, app, "Yes"), set(rows(store_dir))
        page.locator("#pad canvas").scroll_into_view_if_needed()
        touch(page, SEVEN)
        settled(page)  # the answer's area filled
        yes, shown = choice(page, "Yes"), []
        for i in range(RATE):
            touch(page, SEVEN)  # the 7 again, over itself (the same answer: nothing moves), lifted at full speed
            page.wait_for_function("() => document.querySelector('#feedback-note').innerText.startsWith('Wrong?')")
            box = yes.bounding_box()  # then at once:
            page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # no actionability wait
            shown.append(answered_tap(page))
            assert shown[-1] != "nothing", f"tap {i + 1} was lost"
            assert len(sent) == i + 1, f"tap {i + 1}: {len(sent) - i} submissions sent"
        page.wait_for_timeout(500)
        assert len(sent) == RATE
        new = [r for i, r in rows(store_dir).items() if i not in before]
        assert len(new) == shown.count("kept") and all(r.agreed for r in new), shown
    finally:
        page.context.close()


def test_the_settings_say_where_the_store_is_its_caps_and_its_push(tmp_path, monkeypatch):
    """Every visitors' variable read once (digitnet/settings.py); the app's wiring opens the store with them and
    starts its push (the store itself never reads the environment nor knows it is pushed)."""
    env = {settings.VISITORS_DIR: str(tmp_path / "store"), settings.VISITORS_MAX_ROWS: "3",
           settings.VISITORS_MAX_MB: "0.5", settings.VERSION: "v-test", settings.VISITORS_REPO: " dir:/x ",
           settings.VISITORS_PUSH_MINUTES: "2.5"}  # fmt: skip
    s = settings.Settings.from_env(env)
    pushes = []
    monkeypatch.setattr(visitors_push, "start", lambda store, repo, minutes: pushes.append((store, repo, minutes)))
    store = visitors_store(s)
    try:
        assert (store.path, store.max_rows, store.max_bytes, store.version) == (
            tmp_path / "store" / visitors.FILE, 3, 2**19, "v-test")  # fmt: skip
        assert pushes == [(store, "dir:/x", 2.5)]
    finally:
        store.close()
    assert visitors_store(settings.Settings.from_env({settings.VISITORS_DIR: "OFF"})) is None
    default = settings.Settings.from_env({"XDG_DATA_HOME": str(tmp_path)})
    assert default.visitors_dir == tmp_path / "digitnet" / "visitors" and default.visitors_max_bytes == 512 * 2**20
    with pytest.raises(ValueError, match="DIGITNET_VISITORS_MAX_ROWS='many'"):
        settings.Settings.from_env({settings.VISITORS_MAX_ROWS: "many"})


def test_train_adds_visitors_digits_to_a_recipes_data(tmp_path, mnist_test, capsys):
    """train.py --visitors: the visitors' digits join the training set (a non-digit waits for outlier exposure)."""
    import dataclasses

    import train
    from digitnet.lab.recipes import RECIPES

    x, y = mnist_test
    store = visitors.Store(tmp_path / "store")
    for i in range(5):
        store.add(pad_value(x[i].numpy())["strokes"], drawing.PEN, str(int(y[i])), False, {}, "cnn")
    store.add(pad_value()["strokes"], drawing.PEN, "not a digit", False, {}, "cnn")
    store.close()
    recipe = dataclasses.replace(RECIPES["mlp"], epochs=1, limit=256)
    meta = train.run(recipe, device="cpu", out=tmp_path, quiet=True, calibrate=False, visitors=tmp_path / "store")
    assert meta["visitors"] == {"path": str(tmp_path / "store"), "digits": 5, "non_digits": 0,
                                "ids": [r.uid for r in visitors.read(tmp_path / "store")]}  # fmt: skip
    out = capsys.readouterr().out
    assert "261 training images" in out and "5 digits added to the training set, 0 of 1 non-digits" in out
