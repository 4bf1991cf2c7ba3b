"""What the page shows for a prediction, an empty canvas and a flagged non-digit: the views' data, without a
browser (tests/test_browser.py checks that the templates render it)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from digitnet import generative, ood, views, web
from digitnet.page import example_files
from digitnet.predict import Analysis, Networks, Prediction
from digitnet.preprocess import preprocess

PROBS = [0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.5, 0.14]  # an 8, 50% sure


def prediction(probs: list[float], **kw) -> Prediction:
    return Prediction(int(np.argmax(probs)), max(probs), probs, np.zeros((28, 28), np.float32), **kw)


def test_an_answer_carries_the_digit_confidence_and_the_ten_probabilities_in_order():
    a = views.answer(prediction(PROBS, model="cnn"))
    assert a["digit"] == 8 and a["confidence"] == 0.5 and a["model"] == "cnn" and a["label"] == "CNN"
    assert a["probabilities"] == pytest.approx(PROBS)
    assert a["verdict"] is None and a["scores"] == []  # no calibration, no verdict


@pytest.mark.parametrize("pred", [None, Prediction.blank("cnn")])
def test_an_empty_canvas_has_no_answer(pred):
    assert views.answer(pred) is None
    assert views.seen(None) is None
    assert views.comparison(Analysis(None)) == []
    assert views.render(Analysis(None), "cnn") == (None, None, [])


def test_a_flagged_non_digit_says_so_and_why():
    pred = prediction(PROBS, model="cnn_oe", not_a_digit=True, scores={"entropy": 1.9, "msp": 0.5},
                      verdict_by="entropy", threshold=0.49)  # fmt: skip
    v = views.answer(pred)["verdict"]
    assert v == {"not_a_digit": True, "by": "entropy", "words": views.SCORE_WORDS["entropy"], "value": "1.9",
                 "threshold": "0.49", "side": "above"}  # fmt: skip
    assert ["top probability", "50%"] in views.answer(pred)["scores"]
    accepted = prediction(PROBS, not_a_digit=False, scores={"entropy": 0.2}, verdict_by="entropy", threshold=0.49)
    assert views.verdict(accepted)["side"] == "above"  # the rule ("above counts as not a digit"), not the value
    by_confidence = prediction(PROBS, not_a_digit=True, scores={"msp": 0.5}, verdict_by="msp", threshold=0.9)
    assert views.verdict(by_confidence) == {"not_a_digit": True, "by": "msp", "words": "top probability",
                                            "value": "50%", "threshold": "90%", "side": "below"}  # fmt: skip


@pytest.mark.parametrize("score", ood.SCORES)
def test_the_side_that_counts_as_not_a_digit_is_the_calibrations_rule_even_at_the_threshold(score):
    """An input exactly at the threshold is a digit by the calibration's rule; the page still names the side that
    is not, from the rule (HIGHER_IS_DIGIT), never from where this input's value happens to lie."""
    cal = ood.Calibration(1.0, torch.zeros(10, 4), torch.eye(4), score, 0.5)
    flagged = bool(cal.flags({score: torch.tensor([0.5])})[0])
    assert flagged is False
    pred = prediction(PROBS, not_a_digit=flagged, scores={score: 0.5}, verdict_by=score, threshold=0.5)
    assert views.verdict(pred)["side"] == ("below" if ood.HIGHER_IS_DIGIT[score] else "above")


@pytest.mark.parametrize("score", generative.SCORES)
def test_the_generative_networks_verdict_names_its_own_rules_side(score):
    """vae_bayes's scores (digitnet/generative.py) in plain words, the side from its calibration's rule."""
    cal = generative.GenerativeCalibration(1.0, score, 0.5)
    flagged = bool(cal.flags({score: torch.tensor([0.5])})[0])
    pred = prediction(PROBS, not_a_digit=flagged, scores={score: 0.5}, verdict_by=score, threshold=0.5)
    v = views.verdict(pred)
    assert flagged is False and v["side"] == ("below" if generative.HIGHER_IS_DIGIT[score] else "above")
    assert v["words"] == views.SCORE_WORDS[score]


def test_the_templates_name_what_the_explore_tests_look_for():
    """Drawn cells carry their samples; the exhibit renders one row per network and ten cells each."""
    dreams, exhibit = views.template("dreams"), views.template("exhibit")
    assert 'class="dn-sample' in dreams and "data-method" in dreams and "grown" in dreams
    assert 'class="dn-exhibit-row"' in exhibit and "dreamCell" in exhibit
    assert "{{" not in dreams + exhibit  # Handlebars runs first: no mustaches


def test_what_the_network_sees_is_the_input_and_the_saliency():
    image = np.zeros((28, 28), np.float32)
    image[5:20, 12:15] = 1.0
    sal = np.zeros_like(image)
    sal[5:20, 12:15], sal[0, 0] = 0.5, -0.2
    s = views.seen(image, sal)
    assert len(s["input"]) == len(s["saliency"]) == 784
    assert s["input"][10 * 28 + 13] == 255 and s["input"][0] == 0
    assert s["saliency"][10 * 28 + 13] == 100 and s["saliency"][0] == -40  # scaled so the strongest is 100
    assert views.seen(image)["saliency"] is None


def test_the_comparison_shows_every_network_on_a_real_non_digit():
    networks = Networks.load(["cnn", "cnn_oe"], device="cpu")
    letter = next(p for p in example_files() if "letter_A" in p)
    analysis = networks.analyse(preprocess(letter), "cnn")
    answer, seen, compare = views.render(analysis, "cnn_oe")
    assert [a["model"] for a in compare] == ["cnn", "cnn_oe"]
    assert answer == compare[1] and answer["verdict"]["not_a_digit"] is True
    assert compare[0]["confidence"] > 0.5  # the plain CNN is sure of a digit for a letter
    assert seen["saliency"] is not None and len(seen["input"]) == 784


def test_the_network_that_draws_in_the_comparison_with_its_saliency():
    """vae_bayes selected on a real MNIST test digit: its answer, its verdict passes it, and its saliency (input x
    gradient through its ten evidence bounds) is a map of the ink, not empty."""
    networks = Networks.load(["cnn", "vae_bayes"], device="cpu")
    seven = next(p for p in example_files() if "digit_7" in p)
    answer, seen, compare = views.render(networks.analyse(preprocess(seven), "vae_bayes"), "vae_bayes")
    assert [a["model"] for a in compare] == ["cnn", "vae_bayes"] and answer == compare[1]
    assert answer["digit"] == 7 and answer["verdict"]["not_a_digit"] is False and answer["verdict"]["words"]
    sal = np.array(seen["saliency"])
    assert np.abs(sal).max() == 100 and not sal[np.array(seen["input"]) == 0].any()  # only where there is ink


def test_the_templates_name_what_the_browser_tests_look_for():
    """The ids and classes tests/test_browser.py reads are in the templates (a rename must change both)."""
    answer, compare, pixels = views.template("answer"), views.template("compare"), views.template("pixels")
    for needle in ('id="headline"', 'id="chart"', 'class="digit"', "bar${d === win", 'class="dn-verdict not-digit"'):
        assert needle in answer, needle
    assert 'class="dn-model"' in compare and "<figure" in pixels
    assert "{{" not in answer + pixels + compare  # Handlebars runs first: no mustaches


@pytest.mark.parametrize("view", views.VIEWS)
def test_a_template_is_one_function_with_its_parts_and_every_placeholder_filled(view):
    """Each view's template: say.js, the shared parts and the view's own file, run as one function inside Gradio's
    template string, with the prompt filled in."""
    t = views.template(view)
    assert t.startswith("${(() => {\nconst say = ") and t.endswith("})()}")
    assert web.source(f"views/{view}.js") in t and views.PROMPT in t
    assert not web.PLACEHOLDER.search(t)


def test_an_unknown_view_is_refused():
    with pytest.raises(ValueError, match="unknown view"):
        views.template("../pad")


def test_fill_wants_a_value_for_every_placeholder_and_a_placeholder_for_every_value():
    assert web.fill("const SIDE = __CANVAS__, MAX = __MAX_POINTS__;", CANVAS=280, MAX_POINTS=5) == (
        "const SIDE = 280, MAX = 5;"
    )
    with pytest.raises(ValueError, match="placeholders"):
        web.fill("__CANVAS__ and __PEN__", CANVAS=280)
    with pytest.raises(ValueError, match="placeholders"):
        web.fill("__CANVAS__", CANVAS=280, PEN=14)
