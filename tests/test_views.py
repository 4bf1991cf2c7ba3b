"""What the page shows for a prediction, an empty canvas and a flagged non-digit: the views, without a browser."""

from __future__ import annotations

import re

import numpy as np
import pytest

from digitnet import views
from digitnet.page import example_files
from digitnet.predict import Analysis, Networks, Prediction


def bars(chart: str) -> list[tuple[int, float, bool]]:
    """(digit, probability, highlighted) for each bar of the chart HTML, in page order."""
    found = re.findall(r'<div class="bar( winner)?" data-digit="(\d)" data-p="([0-9.e-]+)" style="height:([0-9.]+)%"',
                       chart)  # fmt: skip
    for _, _, p, height in found:
        assert float(height) == pytest.approx(100 * float(p), abs=0.01)
    return [(int(d), float(p), bool(w)) for w, d, p, _ in found]


def prediction(probs: list[float], **kw) -> Prediction:
    digit = int(np.argmax(probs))
    return Prediction(digit, max(probs), probs, np.zeros((28, 28), np.float32), **kw)


PROBS = [0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.5, 0.14]  # an 8, 50% sure


def test_the_chart_has_ten_bars_in_digit_order_with_the_winner_highlighted():
    found = bars(views.chart_html(prediction(PROBS)))
    assert [d for d, _, _ in found] == list(range(10))
    assert [p for _, p, _ in found] == pytest.approx(PROBS, abs=1e-6)
    assert [d for d, _, w in found if w] == [8]
    assert "50%" in views.chart_html(prediction(PROBS))


def test_the_headline_shows_the_digit_and_confidence():
    head = views.headline_html(prediction(PROBS, model="cnn"))
    assert re.search(r'class="digit" data-digit="8">8<', head)
    assert "50.0% sure" in head and 'data-model="cnn"' in head
    assert "dn-verdict" not in head  # no calibration, no verdict


@pytest.mark.parametrize("pred", [None, Prediction.blank("cnn")])
def test_an_empty_canvas_gets_the_prompt_and_no_digit(pred):
    head, chart = views.headline_html(pred), views.chart_html(pred)
    assert views.PROMPT in head and "data-digit" not in head
    found = bars(chart)
    assert len(found) == 10 and not any(w for _, _, w in found) and all(p == 0 for _, p, _ in found)
    assert "%</span>" not in chart  # no percentages over empty bars
    assert "Nothing drawn" in views.pixels_html(None)
    assert views.PROMPT in views.compare_html(Analysis(None))


def test_a_flagged_non_digit_says_so_and_why():
    pred = prediction(PROBS, model="cnn_oe", not_a_digit=True, scores={"entropy": 1.9, "msp": 0.5},
                      verdict_by="entropy", threshold=0.49)  # fmt: skip
    head = views.headline_html(pred)
    assert 'class="dn-verdict not-digit">Probably not a digit<' in head
    assert "uncertainty (entropy" in head and "is 1.9; above 0.49 counts as not a digit" in head
    assert "<li>top probability: 50%</li>" in head
    accepted = prediction(PROBS, not_a_digit=False, scores={"entropy": 0.2}, verdict_by="entropy", threshold=0.49)
    assert "Looks like a digit" in views.headline_html(accepted)
    assert "is 0.2; above 0.49 counts as not a digit" in views.headline_html(accepted)  # the rule, not the value
    by_confidence = prediction(PROBS, not_a_digit=True, scores={"msp": 0.5}, verdict_by="msp", threshold=0.9)
    assert "Its top probability is 50%; below 90% counts as not a digit" in views.headline_html(by_confidence)


def test_what_the_network_sees_is_the_input_and_the_saliency():
    image = np.zeros((28, 28), np.float32)
    image[5:20, 12:15] = 1.0
    sal = np.zeros_like(image)
    sal[5:20, 12:15], sal[0, 0] = 0.5, -0.2
    html = views.pixels_html(image, sal)
    assert html.count("data:image/png;base64,") == 2 and 'alt="saliency"' in html
    rgb = views.saliency_rgb(image, sal)
    assert rgb[10, 13, 0] > 200 and rgb[10, 13, 2] < 80  # pushed toward the answer: red
    assert rgb[0, 0, 2] > rgb[0, 0, 0]  # pushed away: blue
    assert views.pixels_html(image).count("data:image/png;base64,") == 1


def test_the_compare_view_shows_every_network_on_a_real_non_digit():
    networks = Networks.load(["cnn", "cnn_oe"], device="cpu")
    letter = next(p for p in example_files() if "letter_A" in p)
    from digitnet.preprocess import preprocess

    analysis = networks.analyse(preprocess(letter), "cnn")
    html = views.compare_html(analysis)
    cells = re.findall(r'<div class="dn-model" data-model="(\w+)">', html)
    assert cells == ["cnn", "cnn_oe"]
    assert html.count('class="bar') == 20
    oe = html.split('data-model="cnn_oe"')[1]
    assert "Probably not a digit" in oe
    headline, chart, pixels, compare = views.render(analysis, "cnn_oe")
    assert compare == html and 'data-model="cnn_oe"' in headline and "Probably not a digit" in headline
