"""The generative classifier (digitnet/generative.py) with its shipped weights: Bayes' rule over its own
per-class scores, seeded drawings, accuracy on real MNIST test digits, and its calibration's integrity."""

from __future__ import annotations

import shutil

import pytest
import torch

from digitnet import generative, models
from digitnet.lab.data import to_float
from digitnet.weightfiles import CalibrationError

NAME = "vae_bayes"
# Accuracy on the first 2,000 MNIST test digits (harder than the rest: the shipped weights read 98.45% of them and
# 99.10% of all 10,000, weights/vae_bayes.json); 0.98 allows 40 errors where they make 31.
REQUIRED_ACCURACY = 0.98

pytestmark = pytest.mark.skipif(
    not models.weights_path(NAME).is_file(), reason=f"no weights/{NAME}.safetensors; train it: python train.py "
    f"--model {NAME}"
)  # fmt: skip


@pytest.fixture(scope="module")
def model() -> generative.ClassVAE:
    torch.manual_seed(0)
    return models.load(NAME)


@pytest.fixture(scope="module")
def digits(mnist_test) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = mnist_test
    return to_float(x[:2000]), y[:2000]


def test_probabilities_are_bayes_rule_over_its_own_scores(model, digits):
    x = digits[0][:200]
    with torch.inference_mode():
        scores = model.log_likelihoods(x)
        probs = torch.softmax(model(x), 1)
    assert scores.shape == (200, 10) and torch.isfinite(scores).all()
    assert (scores < 0).all()  # log-likelihoods of 784 Bernoulli pixels, never positive
    assert probs.sum(1) == pytest.approx(torch.ones(200), abs=1e-5) and (probs >= 0).all()
    assert torch.equal(probs.argmax(1), scores.argmax(1))
    assert torch.allclose(probs, torch.softmax(scores, 1), atol=1e-6)


def test_the_answer_does_not_depend_on_the_batch(model, digits):
    x = digits[0][:20]
    with torch.inference_mode():
        together = model(x)
        alone = torch.cat([model(x[i : i + 1]) for i in range(20)])
    assert torch.allclose(together, alone, atol=1e-3)


def test_accuracy_on_mnist_test_digits(model, digits):
    x, y = digits
    with torch.inference_mode():
        pred = torch.cat([model(x[i : i + 500]).argmax(1) for i in range(0, len(x), 500)])
    acc = (pred == y).double().mean().item()
    assert acc >= REQUIRED_ACCURACY, f"{acc:.2%} of 2,000 MNIST test digits"


def test_seeded_drawings_are_deterministic_and_differ_by_seed(model):
    a, b, c = model.sample(3, 4, seed=7), model.sample(3, 4, seed=7), model.sample(3, 4, seed=8)
    assert a.shape == (4, 28, 28) and a.min() >= 0 and a.max() <= 1
    assert torch.equal(a, b) and not torch.allclose(a, c)
    assert not torch.allclose(a[0], a[1])  # four different drawings, not one repeated


def test_its_drawings_are_read_as_their_digit_by_itself_and_by_the_cnn(model):
    drawings = torch.cat([model.sample(d, 10, seed=d) for d in range(10)]).unsqueeze(1)
    typical = torch.stack([model.typical(d) for d in range(10)]).unsqueeze(1)
    labels = torch.arange(10).repeat_interleave(10)
    cnn = models.load("cnn")
    with torch.inference_mode():
        assert (model(typical).argmax(1) == torch.arange(10)).all()
        assert (cnn(typical).argmax(1) == torch.arange(10)).all()
        assert (cnn(drawings).argmax(1) == labels).double().mean() >= 0.9


def test_calibration_belongs_to_the_weights(tmp_path):
    cal = models.load_calibration(NAME)
    assert cal is not None and cal.score in generative.SCORES and cal.temperature > 0
    for suffix in (".safetensors", ".ood.safetensors"):
        shutil.copy(models.WEIGHTS_DIR / f"{NAME}{suffix}", tmp_path / f"{NAME}{suffix}")
    data = (tmp_path / f"{NAME}.safetensors").read_bytes()
    (tmp_path / f"{NAME}.safetensors").write_bytes(data[:-4] + bytes(4))  # other weights, same size
    with pytest.raises(CalibrationError, match=f"fitted on other weights.*python -m digitnet calibrate --model {NAME}"):
        models.load_calibration(NAME, tmp_path)


def test_verdict_passes_test_digits_and_flags_noise(model, digits):
    cal = models.load_calibration(NAME)
    x = digits[0][:1000]
    noise = torch.rand(200, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        flags_digits = cal.flags(generative.scores(model(x), x, cal.temperature))
        flags_noise = cal.flags(generative.scores(model(noise), noise, cal.temperature))
    assert flags_digits.double().mean() <= 0.03
    assert flags_noise.all()


@pytest.fixture(scope="module")
def drawing_check():
    from digitnet.lab.drawing_check import DrawingCheck

    return DrawingCheck.fit()


def test_drawing_check_passes_its_drawings_and_fails_the_cnns_dreams(model, drawing_check):
    from digitnet.explore import dream

    digits = torch.arange(10).repeat_interleave(10)
    drawings = torch.cat([model.sample(d, 10, seed=d) for d in range(10)])
    passed = drawing_check.passes(drawings, digits).reshape(10, 10).double().mean(1)
    # measured: 70-100% per digit, 92% in all; every typical drawing passes
    assert (passed >= 0.5).sum() >= 9 and passed.mean() >= 0.85, passed.tolist()
    typical = torch.stack([model.typical(d) for d in range(10)])
    assert drawing_check.passes(typical, torch.arange(10)).all()
    for regularised in (False, True):  # the plain cnn's dreams, the noise it is sure of, are no drawings
        dreams = dream(models.load("cnn"), seed=0, regularised=regularised).dreams
        grown = torch.stack([torch.from_numpy(d.image) for d in dreams])
        assert not drawing_check.passes(grown, torch.arange(10)).any()
