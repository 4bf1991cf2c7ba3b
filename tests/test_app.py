"""The real app over HTTP, driven with gradio_client: real MNIST test digits, a blank canvas, bad files."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import gradio as gr
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from attacks.clients import Api
from digitnet import components, drawing, models, views
from digitnet.drawing import payload
from digitnet.lab.serving import forwarded_for, pad_value, visitor
from digitnet.lab.strokes import PEN_DIGITS
from digitnet.page import MAX_FILE_MB, example_files

# The models the app must serve: every weights file shipped in weights/ (found here without the package's help).
SHIPPED = sorted(p.name.removesuffix(".safetensors") for p in models.WEIGHTS_DIR.glob("*.safetensors")
                 if not p.name.endswith(".ood.safetensors"))  # fmt: skip


# Each client here is a visitor of its own (X-Forwarded-For, see serving.visitor), never the default client
# 127.0.0.1 that the browser tests' pages are: their share of the queue, sessions and uploads stays theirs.
@pytest.fixture(scope="module")
def client(server) -> Iterator[Client]:
    c = server.client(visitor(3300))
    yield c
    c.close()


def shown_digit(answer: dict | None) -> int | None:
    """The digit the page shows for an answer (None: the prompt, nothing drawn)."""
    return None if answer is None else answer["digit"]


def check_answer(answer: dict) -> None:
    """Ten probabilities in digit order that add up to 1, the shown digit being the most probable."""
    probs = answer["probabilities"]
    assert len(probs) == 10 and sum(probs) == pytest.approx(1.0, abs=1e-4)
    assert probs.index(max(probs)) == answer["digit"] and answer["confidence"] == pytest.approx(max(probs))


def test_the_app_offers_every_shipped_model_and_only_those(client):
    assert {"mlp", "cnn", "cnn_oe"} <= set(SHIPPED)
    params = client.view_api(return_format="dict")["named_endpoints"]["/classify"]["parameters"]
    choices = next(p for p in params if p["parameter_name"] == "model")["type"]["enum"]
    assert sorted(choices) == SHIPPED


def test_endpoints_are_named(client):
    assert {"/draw", "/upload", "/switch_model", "/classify"} <= set(
        client.view_api(return_format="dict")["named_endpoints"]
    )


def test_classify_real_mnist_digits(client, digit_files):
    for model in SHIPPED:
        for path, label in digit_files:
            result = client.predict(handle_file(path), model, api_name="/classify")
            assert result["digit"] == label, (model, path, result)
            assert len(result["probabilities"]) == 10
            assert sum(result["probabilities"]) == pytest.approx(1.0, abs=1e-4)
            assert result["confidence"] == max(result["probabilities"])
            assert result["empty"] is False and result["not_a_digit"] is False  # every network gives its verdict


def test_upload_shows_the_digit_and_ten_bars_in_order(client, digit_files):
    path, label = digit_files[0]
    answer, seen, compare = client.predict(handle_file(path), "mlp", api_name="/upload")
    assert shown_digit(answer) == label and answer["model"] == "mlp"
    check_answer(answer)
    assert len(seen["input"]) == 784 and max(seen["input"]) == 255 and len(seen["saliency"]) == 784
    assert sorted(a["model"] for a in compare) == SHIPPED
    assert all(shown_digit(a) == label for a in compare)


def test_digits_drawn_on_the_pad(client, mnist_test):
    """Strokes as the pad sends them: ten hand-drawn polyline digits, and real MNIST test digits traced as strokes."""
    for label, strokes in PEN_DIGITS.items():
        answer, _, _ = client.predict(payload(strokes), "cnn", api_name="/draw")
        assert shown_digit(answer) == label, (label, answer)
        check_answer(answer)
    x, y = mnist_test
    right = sum(
        shown_digit(client.predict(pad_value(x[i].numpy(), seq=i), "cnn", api_name="/draw")[0]) == int(y[i])
        for i in range(20)
    )
    assert right >= 19, f"{right}/20 MNIST test digits drawn as strokes read right"


def test_the_pen_width_the_visitor_saw_is_the_one_rendered(client):
    """What the network sees is the drawing rendered at the pen width sent, not at the pad's default."""
    thin, thick = (client.predict(payload(PEN_DIGITS[7], width=w), "cnn", api_name="/draw") for w in (4, 40))
    assert shown_digit(thin[0]) == shown_digit(thick[0]) == 7
    assert sum(thick[1]["input"]) > 1.5 * sum(thin[1]["input"])  # a 40 px pen leaves far more ink than a 4 px one
    for (_, seen, _), width in ((thin, 4), (thick, 40)):
        expected = views.seen(drawing.to_input(payload(PEN_DIGITS[7], width=width)))["input"]
        assert seen["input"] == expected, width
    assert thin[2] != thick[2]  # and so does every network's answer


def test_an_empty_pad_gives_the_prompt_not_a_digit(client, tmp_path):
    for empty in ({"strokes": [], "width": 20, "seq": 3}, {"strokes": [[]], "width": 20}):
        answer, seen, compare = client.predict(empty, "mlp", api_name="/draw")
        assert answer is None and seen is None and compare == []  # the page shows its prompt
    blank = tmp_path / "blank.png"
    Image.new("L", (200, 200), 255).save(blank)
    result = client.predict(handle_file(str(blank)), "mlp", api_name="/classify")
    assert result["digit"] is None and result["empty"] is True


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"strokes": "not a list"}, "'strokes' must be a list"),
        ({"strokes": [["a", "b"]]}, "finite numbers"),
        ({"strokes": [[1, 2, 3]]}, "x, y pairs"),
        ({"strokes": [[1e300, 2]]}, "within"),
        ({"strokes": [[1, 2]], "width": 10_000}, "'width' must be a number"),
        ({"strokes": [[1, 2, 3, 4]] * 1000}, "1,000 strokes; the limit is 100"),
        ({"strokes": [list(range(20_000))]}, "10,000 points; the limit is 5,000"),
        ([1, 2, 3], "must be an object"),
    ],
)
def test_malformed_or_huge_drawings_get_a_clear_error(client, value, message):
    with pytest.raises(AppError, match=re.escape(message)):
        client.predict(value, "cnn", api_name="/draw")


@pytest.fixture(scope="module")
def api(server):
    """Raw HTTP, as the page's JavaScript (or anyone) calls the pad's live function."""
    a = Api(server, headers=forwarded_for(visitor(3301)))
    yield a
    a.close()


def live(api, value, model: str = "cnn") -> dict:
    r = api.live(value | {"model": model})
    assert r.status_code == 200, r.text
    return r.json()


def test_the_live_answer_is_the_drawing_events_answer(client, api):
    """What the pad shows while the pen moves comes from the same preprocessing and network as the pen-up event."""
    for model in SHIPPED:
        for label, strokes in list(PEN_DIGITS.items())[:4]:
            reply = live(api, payload(strokes, seq=label + 100), model)
            assert reply["seq"] == label + 100  # the pad drops an answer older than the one it shows
            answer, _, _ = client.predict(payload(strokes), model, api_name="/draw")
            assert reply["answer"] == answer and shown_digit(answer) == label
            check_answer(reply["answer"])
    assert live(api, {"strokes": [], "width": 20, "seq": 1}) == {"seq": 1, "answer": None}  # nothing drawn


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"strokes": [["a", "b"]]}, "finite numbers"),
        ({"strokes": [[1, 2, 3, 4]] * 1000}, "1,000 strokes; the limit is 100"),
        ({"strokes": [list(range(20_000))]}, "10,000 points; the limit is 5,000"),
        ({"strokes": [[1, 2]], "model": "resnet"}, "unknown network"),
        ([1, 2, 3], "must be an object"),
        (None, "must be an object"),
    ],
)
def test_malformed_live_drawings_get_a_clear_error(api, value, message):
    r = api.live(value)
    assert r.status_code == 200 and message in r.json()["error"], r.text


def test_switching_model_reruns_the_current_input(client, digit_files):
    path, label = digit_files[1]
    client.predict(handle_file(path), "mlp", api_name="/upload")
    for model in SHIPPED:
        answer, _, _ = client.predict(model, api_name="/switch_model")
        assert shown_digit(answer) == label and answer["model"] == model
        check_answer(answer)


def test_a_file_that_is_not_an_image_is_a_clear_error_and_the_app_keeps_serving(client, tmp_path, digit_files):
    bad = tmp_path / "notes.png"
    bad.write_text("this is text, not a picture")
    with pytest.raises(AppError) as err:
        client.predict(handle_file(str(bad)), "mlp", api_name="/classify")
    assert "image" in str(err.value).lower()
    with pytest.raises(AppError, match="not an image in a supported format"):
        client.predict(handle_file(str(bad)), "mlp", api_name="/upload")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    for api in ("/upload", "/classify"):
        with pytest.raises(AppError, match="empty"):
            client.predict(handle_file(str(empty)), "mlp", api_name=api)
    path, label = digit_files[2]
    assert client.predict(handle_file(path), "mlp", api_name="/classify")["digit"] == label


def test_the_upload_component_hands_on_the_uploaded_path_undecoded(tmp_path):
    """Gradio never decodes an upload in this app: digitnet.preprocess does, after its header checks."""
    from gradio.data_classes import FileData
    from gradio.utils import get_upload_folder

    upload = components.Image(sources=["upload"])
    folder = Path(get_upload_folder()) / "digitnet-test"
    folder.mkdir(parents=True, exist_ok=True)
    notes = folder / "notes.png"
    notes.write_text("this is text, not a picture")
    try:
        assert upload.preprocess(FileData(path=str(notes))) == str(notes)  # not decoded here: no error yet
    finally:
        notes.unlink()
    with pytest.raises(gr.Error, match="not uploaded to this app"):
        upload.preprocess(FileData(path=str(tmp_path / "elsewhere.png")))
    for other in (dict(type="numpy"), dict(type="pil"), dict(image_mode="RGB")):
        with pytest.raises(ValueError, match="file paths only"):
            components.Image(**other)


def test_unknown_model_is_a_clear_error(client, digit_files):
    with pytest.raises(AppError, match="resnet is not in the list of choices"):
        client.predict(handle_file(digit_files[0][0]), "resnet", api_name="/classify")


def test_files_above_the_size_limit_are_refused(client, api, tmp_path):
    """The server refuses the bytes itself (the client's own check, below, is only a courtesy)."""
    big = b"\x89PNG" + bytes(6 * 2**20)
    r = api.upload([("big.png", big)])
    assert (r.status_code, r.json()) == (413, {"detail": "an upload may be at most 5.1 MB"})
    assert api.upload([("fits.png", big[: MAX_FILE_MB * 2**20])]).status_code == 200  # the limit, not any file
    path = tmp_path / "big.png"
    path.write_bytes(big)
    limit = f"File {path} exceeds the maximum file size of {MAX_FILE_MB * 2**20} bytes"
    with pytest.raises(ValueError, match=re.escape(limit)):
        client.predict(handle_file(str(path)), "mlp", api_name="/classify")


def test_the_gallery_shows_overconfidence_and_the_verdict(client):
    """Digits are read right; on each non-digit a plain network is confidently wrong, and cnn_oe declines."""
    examples = example_files()
    assert sum("digit_" in p and "not_digit" not in p for p in examples) >= 3
    non_digits = [p for p in examples if "not_digit" in p]
    assert len(non_digits) >= 4
    for path in examples:
        if path in non_digits:
            continue
        label = int(path.split("digit_")[1][0])
        for model in SHIPPED:
            result = client.predict(handle_file(path), model, api_name="/classify")
            assert result["digit"] == label and result["not_a_digit"] is False, (path, model, result)
    for path in non_digits:
        plain = [client.predict(handle_file(path), m, api_name="/classify") for m in ("mlp", "cnn")]
        assert max(r["confidence"] for r in plain) >= 0.85, (path, plain)
        if "cnn_oe" in SHIPPED:
            oe = client.predict(handle_file(path), "cnn_oe", api_name="/classify")
            assert oe["not_a_digit"] is True and oe["confidence"] < 0.5, (path, oe)
            compare = client.predict(handle_file(path), "cnn", api_name="/upload")[2]
            oe_answer = next(a for a in compare if a["model"] == "cnn_oe")
            assert oe_answer["verdict"]["not_a_digit"] is True


def test_what_the_network_thinks_each_digit_looks_like(client):
    grid = client.predict("cnn", False, api_name="/dream")
    assert grid["model"] == "cnn" and [d["digit"] for d in grid["dreams"]] == list(range(10))
    for d in grid["dreams"]:
        assert len(d["input"]) == 784 and 0 <= min(d["input"]) and max(d["input"]) <= 255
        assert d["confidence"] >= 0.999, d["digit"]  # the plain CNN is sure of each grown image
    assert client.predict("cnn", False, api_name="/dream") == grid  # seeded: the same request, the same images


def check_cell(c: dict) -> None:
    """A 28x28 image on grey levels 0-255 with the network's confidence and its verdict."""
    assert len(c["input"]) == 784 and 0 <= min(c["input"]) and max(c["input"]) <= 255
    assert 0 <= c["confidence"] <= 1 and c["verdict"]["not_a_digit"] in (True, False)


def check_cells(cells: list[dict]) -> None:
    """Ten cells, digits 0-9 in order."""
    assert [c["digit"] for c in cells] == list(range(10))
    for c in cells:
        check_cell(c)


def test_the_network_that_draws_answers_like_the_others(client, digit_files):
    """vae_bayes on real MNIST test digits: the right digit, a digit by its own verdict (its own score), and its
    answer in the comparison, labelled as what it is."""
    assert "vae_bayes" in SHIPPED
    for path, label in digit_files:
        result = client.predict(handle_file(path), "vae_bayes", api_name="/classify")
        assert (result["digit"], result["not_a_digit"]) == (label, False), (path, result)
        assert set(result["scores"]) == {"elbo", "excess", "elbo_png", "msp", "entropy"}
    answer, _, compare = client.predict(handle_file(digit_files[0][0]), "vae_bayes", api_name="/upload")
    assert answer["model"] == "vae_bayes" and "draws" in answer["label"] and answer["verdict"]["words"]
    mine = next(a for a in compare if a["model"] == "vae_bayes")
    assert mine["digit"] == digit_files[0][1] and mine["verdict"]["not_a_digit"] is False


def test_the_network_that_draws_shows_its_drawings(client):
    """/dream for vae_bayes: per digit its most typical drawing carrying its seeded samples, all in the cells'
    shape, judged by itself; then what gradient ascent grows on it; the same on a second call."""
    grid = client.predict("vae_bayes", False, api_name="/dream")
    assert grid["model"] == "vae_bayes" and grid["method"] == "drawn"
    check_cells(grid["dreams"])
    for cell in grid["dreams"]:
        assert len(cell["samples"]) >= 3 and {s["digit"] for s in cell["samples"]} == {cell["digit"]}
        for sample in cell["samples"]:
            check_cell(sample)
        assert len({tuple(s["input"]) for s in cell["samples"]} | {tuple(cell["input"])}) == len(cell["samples"]) + 1
    check_cells(grid["grown"])
    assert client.predict("vae_bayes", False, api_name="/dream") == grid  # seeded: the same drawings


def test_the_exhibit_puts_every_networks_drawing_of_every_digit_side_by_side(client):
    networks = client.predict(api_name="/exhibit")
    assert [n["model"] for n in networks] == [m for m in models.NAMES if m in SHIPPED]
    for n in networks:
        check_cells(n["dreams"])
        assert n["method"] == ("drawn" if n["model"] in models.GENERATIVE else "grown") and n["label"]
    drawn = next(n for n in networks if n["model"] == "vae_bayes")
    assert drawn["dreams"] == client.predict("vae_bayes", False, api_name="/dream")["dreams"]


def test_unknown_network_for_dream_is_a_clear_error(client):
    with pytest.raises(AppError, match="'resnet'.* not in the list of choices"):
        client.predict("resnet", False, api_name="/dream")


def test_fool_it_changes_the_drawing_into_the_chosen_digit(server):
    client = server.client(visitor(3302))  # its own session: /fool changes the session's current drawing
    with pytest.raises(AppError, match="draw a digit first"):
        client.predict("cnn", 3, api_name="/fool")
    answer, _, _ = client.predict(payload(PEN_DIGITS[7]), "cnn", api_name="/draw")
    assert shown_digit(answer) == 7
    result = client.predict("cnn", 3, api_name="/fool")
    assert result["success"] is True and result["target"] == 3
    assert result["before"]["digit"] == 7 and result["after"]["digit"] == 3
    assert result["after"]["confidence"] >= 0.99
    assert 0 < result["pixels_changed"] <= 784 and 0 < result["l2"] < 10
    changed = [a - b for a, b in zip(result["image"], result["original"], strict=True)]
    assert changed == result["difference"]


def test_fool_it_works_on_the_network_that_draws(server):
    """The same attack fools vae_bayes too: the drawn 7 changed a little (L2 1.12 measured) reads 3 at >= 99%, and
    the result says so, with its verdict on the changed drawing."""
    client = server.client(visitor(3303))
    client.predict(payload(PEN_DIGITS[7]), "vae_bayes", api_name="/draw")
    result = client.predict("vae_bayes", 3, api_name="/fool")
    assert result["model"] == "vae_bayes" and result["before"]["digit"] == 7
    assert result["success"] is True and result["target"] == 3
    assert result["after"]["digit"] == 3 and result["after"]["confidence"] >= 0.99
    assert 0 < result["l2"] < 3 and 0 < result["pixels_changed"] <= 784
    assert result["after"]["verdict"] is not None
    diff = [a - b for a, b in zip(result["image"], result["original"], strict=True)]
    assert result["l2"] == pytest.approx(sum(d * d for d in diff) ** 0.5 / 255, abs=1e-3)
