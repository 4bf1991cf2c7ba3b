"""What the networks think digits look like (dreams) and the smallest change that fools them, on the shipped
weights and real MNIST test digits."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from digitnet import explore, models, views
from digitnet.predict import Predictor

# (test-set index, target): a 7 -> 3, a 2 -> 8, a 1 -> 0
CASES = [(0, 3), (1, 8), (2, 0)]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """As the app runs each request (and as the determinism below holds: same seed, same threads, same images)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def predictors() -> dict[str, Predictor]:
    return {name: Predictor(name, "cpu") for name in ("mlp", "cnn", "cnn_oe")}


@pytest.fixture(scope="module")
def plain_cnn(predictors) -> explore.DreamGrid:
    return explore.dream(predictors["cnn"], seed=0)


@pytest.fixture(scope="module")
def regularised_cnn(predictors) -> explore.DreamGrid:
    return explore.dream(predictors["cnn"], regularised=True, seed=0)


def _images(grid: explore.DreamGrid) -> np.ndarray:
    return np.stack([d.image for d in grid.dreams])


# --- dreams ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("grid", ["plain_cnn", "regularised_cnn"])
def test_dreams_are_ten_28x28_images_in_0_1_on_grey_levels(grid, request):
    g = request.getfixturevalue(grid)
    x = _images(g)
    assert [d.digit for d in g.dreams] == list(range(10))
    assert x.shape == (10, 28, 28) and x.dtype == np.float32
    assert x.min() >= 0 and x.max() <= 1
    np.testing.assert_array_equal((np.round(x * 255) / 255).astype(np.float32), x)  # what is shown is what was judged


def test_same_seed_same_dreams_other_seed_other_dreams(predictors, plain_cnn):
    again = explore.dream(predictors["cnn"], seed=0)
    np.testing.assert_array_equal(_images(again), _images(plain_cnn))
    assert [d.confidence for d in again.dreams] == [d.confidence for d in plain_cnn.dreams]
    assert not np.array_equal(_images(explore.dream(predictors["cnn"], seed=1)), _images(plain_cnn))


def test_same_seed_same_regularised_dreams(predictors, regularised_cnn):
    again = explore.dream(predictors["cnn"], regularised=True, seed=0)
    np.testing.assert_array_equal(_images(again), _images(regularised_cnn))


def test_plain_cnn_is_at_least_99_9_percent_sure_of_every_dream(plain_cnn):
    """The issue's figure: images no person reads as digits, each called its digit with >= 99.9% confidence."""
    assert [d.prediction.digit for d in plain_cnn.dreams] == list(range(10))
    assert plain_cnn.min_confidence >= 0.999


def test_dream_confidence_and_verdict_are_the_predictors_own(predictors, plain_cnn):
    again = predictors["cnn"].predict_arrays([d.image for d in plain_cnn.dreams])
    for d, p in zip(plain_cnn.dreams, again, strict=True):
        assert d.confidence == pytest.approx(p.probabilities[d.digit], abs=1e-6)
        assert p.not_a_digit is not None and d.prediction.not_a_digit == p.not_a_digit


def test_dreams_as_the_page_gets_them(plain_cnn):
    """views.dreams, what /dream returns: each grown image on its grey levels, how sure, and the verdict."""
    data = json.loads(json.dumps(views.dreams(plain_cnn)))
    assert data["model"] == "cnn" and data["regularised"] is False and len(data["dreams"]) == 10
    for d, dream in zip(data["dreams"], plain_cnn.dreams, strict=True):
        assert len(d["input"]) == 784 and all(isinstance(v, int) and 0 <= v <= 255 for v in d["input"])
        assert np.array_equal(np.array(d["input"]).reshape(28, 28), np.round(dream.image * 255))
        assert d["confidence"] == round(dream.confidence, 6)
        assert d["verdict"]["not_a_digit"] is dream.prediction.not_a_digit and d["verdict"]["by"] == "mahalanobis"


@pytest.fixture(scope="module")
def drawer() -> Predictor:
    return Predictor("vae_bayes", "cpu")


def test_the_network_that_draws_draws_each_digit_seeded(drawer):
    """explore.draw: per digit its typical drawing and seeded samples, judged by the network itself; the same
    seed gives the same drawings, another seed other samples (the typical drawing has no randomness)."""
    grid = explore.draw(drawer, seed=0)
    assert grid.method == "drawn" and [d.digit for d in grid.dreams] == list(range(10))
    for d in grid.dreams:
        assert len(d.samples) == explore.SAMPLES and all(s.digit == d.digit for s in d.samples)
        images = [d.image, *(s.image for s in d.samples)]
        assert all(im.shape == (28, 28) and np.array_equal(im * 255, np.round(im * 255)) for im in images)
        again = drawer.predict_arrays(images)
        mine = [d.confidence, *(s.confidence for s in d.samples)]
        assert mine == pytest.approx([p.probabilities[d.digit] for p in again], abs=1e-5)  # batches: last bits
    same, other = explore.draw(drawer, seed=0), explore.draw(drawer, seed=1)
    assert np.array_equal(_drawn(same), _drawn(grid))
    assert np.array_equal(_images(other), _images(grid)) and not np.array_equal(_drawn(other), _drawn(grid))


def _drawn(grid: explore.DreamGrid) -> np.ndarray:
    return np.stack([s.image for d in grid.dreams for s in [d, *d.samples]])


def test_drawings_of_a_network_that_draws_come_with_what_gradient_ascent_grows(drawer, predictors):
    drawn, grown = explore.drawings(drawer)
    assert (drawn.method, grown.method) == ("drawn", "grown") and grown.steps > 0
    data = json.loads(json.dumps(views.drawings([drawn, grown])))
    assert data["method"] == "drawn" and len(data["grown"]) == 10 and len(data["dreams"][3]["samples"]) == 4
    assert [g.method for g in explore.drawings(predictors["cnn"])] == ["grown"]


def test_dream_with_a_bare_model_has_no_verdict():
    grid = explore.dream(models.load("mlp"), seed=0)
    assert grid.min_confidence >= 0.999 and all(d.prediction.not_a_digit is None for d in grid.dreams)


# --- fooling -----------------------------------------------------------------------------------------------------


def _nearest_real_target(mnist_test, predictor: Predictor, image: np.ndarray, target: int) -> float:
    """L2 distance from `image` to the nearest test digit of class `target` (of the first 300) that the network
    calls `target` with >= 99%: the change of replacing the drawing by a real `target`."""
    x, y = mnist_test
    real = (x[y == target][:300].float() / 255).numpy()
    probs = predictor.probabilities(torch.from_numpy(real).unsqueeze(1))[:, target].numpy()
    real = real[probs >= explore.FOOL_CONFIDENCE]
    return float(np.linalg.norm((real - image).reshape(len(real), -1), axis=1).min())


@pytest.mark.parametrize("name", ["mlp", "cnn", "cnn_oe"])
def test_fooled_digit_is_called_the_target_by_the_same_network(name, predictors, mnist_test):
    x, y = mnist_test
    p = predictors[name]
    for i, target in CASES:
        image = x[i].numpy() / 255
        assert p.predict_arrays([image.astype(np.float32)])[0].digit == int(y[i]) != target
        r = explore.fool(p, image, target)
        assert r.success and r.image.shape == (28, 28) and 0 <= r.image.min() and r.image.max() <= 1
        check = p.predict_arrays([r.image])[0]
        assert check.digit == target and check.probabilities[target] >= 0.99
        assert check.probabilities == r.after.probabilities and check.not_a_digit == r.after.not_a_digit
        assert r.before.digit == int(y[i])
        # the change: what is reported, bounded, and far less than replacing the drawing by a real `target`
        assert r.l2 == pytest.approx(float(np.linalg.norm(r.image - r.original)), rel=1e-6)
        assert r.linf == pytest.approx(float(np.abs(r.difference).max()))
        assert 0 < r.pixels_changed <= 784 and r.l2 <= 10
        assert r.l2 < 0.5 * _nearest_real_target(mnist_test, p, image, target)


def test_fool_is_deterministic_and_the_page_gets_what_was_judged(predictors, mnist_test):
    """views.fooled, what /fool returns: the images on the grey levels the network judged, the change, its size."""
    x, _ = mnist_test
    image = x[0].numpy() / 255
    a, b = (explore.fool(predictors["cnn"], image, 3, seed=0) for _ in range(2))
    np.testing.assert_array_equal(a.image, b.image)
    data = json.loads(json.dumps(views.fooled(a)))
    assert data["target"] == 3 and data["success"] is True and data["after"]["digit"] == 3
    shown = {k: (np.array(data[k]).reshape(28, 28) / 255).astype(np.float32) for k in ("image", "original")}
    assert np.array_equal(shown["image"], a.image) and np.array_equal(shown["original"], a.original)  # as judged
    assert np.array_equal(np.array(data["image"]) - np.array(data["original"]), np.array(data["difference"]))
    assert data["pixels_changed"] == a.pixels_changed == np.count_nonzero(data["difference"])
    assert data["l2"] == round(a.l2, 3) and data["linf"] == round(a.linf, 3)
    assert data["after"]["confidence"] >= 0.99 and data["after"]["verdict"]["not_a_digit"] is a.after.not_a_digit


def test_fool_when_already_the_target_changes_nothing(predictors, mnist_test):
    x, y = mnist_test
    r = explore.fool(predictors["cnn"], x[0].numpy() / 255, int(y[0]))
    assert r.success and r.l2 == 0 and r.pixels_changed == 0


def test_fool_rejects_a_target_that_is_not_a_digit(predictors):
    with pytest.raises(ValueError, match="0-9"):
        explore.fool(predictors["cnn"], np.zeros((28, 28), np.float32), 10)


def test_the_reports_fooling_cases_and_tables(predictors, mnist_test):
    """digitnet/lab/exploring.py: seeded cases whose targets differ from their labels, and tables whose counts
    are the verdicts of each network on the fooled images."""
    from digitnet.lab import exploring

    x, y = mnist_test
    cases = exploring.fool_cases(x, y, 3, seed=5)
    assert [t for _, t in cases] == [t for _, t in exploring.fool_cases(x, y, 3, seed=5)]
    for img, target in cases:  # each case is a real test digit, sent toward another digit
        [i] = (x.reshape(len(x), -1) == torch.from_numpy(np.round(img * 255)).reshape(-1)).all(1).nonzero()[0]
        assert target != int(y[i])
    mlp = {"mlp": predictors["mlp"]}
    [done] = exploring.explore_all(mlp, cases)
    assert all(f.success and f.after.digit == t for f, (_, t) in zip(done.fooled, cases, strict=True))
    table = exploring.fooling_table([done], mlp).splitlines()
    verdicts = sum(p.not_a_digit for p in predictors["mlp"].predict_arrays([f.image for f in done.fooled]))
    assert table[2].startswith("| mlp | 3/3 |") and f"| {verdicts}/3 |" in table[2]
    dreams = exploring.dreams_table([done], mlp).splitlines()
    assert len(dreams) == 4 and dreams[2].startswith("| mlp | plain |")
