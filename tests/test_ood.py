"""Scores, temperature scaling, feature density and the "not a digit" verdict, on real digits and real probes."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from digitnet import DigitnetWarning, generative, models, ood, weightfiles
from digitnet.__main__ import main as cli
from digitnet.lab import calibrate, metrics
from digitnet.lab.data import to_float, train_val_split
from digitnet.lab.doodles import HELDOUT_DOODLES
from digitnet.lab.probes import doodle_images, probe_images
from digitnet.lab.serving import ROOT
from digitnet.lab.strokes import pen_digit_images, stroke_digits
from digitnet.predict import Predictor
from digitnet.saliency import saliency

DISCRIMINATIVE = [n for n in models.NAMES if not models.kind(n).generative]
SHIPPED = [n for n in DISCRIMINATIVE if weightfiles.calibration_path(models.weights_path(n)).is_file()]


# --- the statistics, against known answers -------------------------------------------------------------------


def test_fit_temperature_recovers_the_temperature_that_made_the_labels():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(20000, 10, generator=gen) * 4
    labels = torch.multinomial(torch.softmax(logits / 2.5, 1), 1, generator=gen).squeeze(1)
    assert calibrate.fit_temperature(logits, labels) == pytest.approx(2.5, rel=0.05)


def test_ece_is_zero_when_calibrated_and_the_gap_when_overconfident():
    n = 10000
    labels = torch.zeros(n, dtype=torch.long)
    correct = torch.arange(n) % 10 < 9  # 90% right
    probs = torch.full((n, 10), 0.1 / 9)
    probs[:, 0] = 0.9
    probs[~correct] = probs[~correct].roll(1, 1)  # wrong class gets the 0.9
    assert metrics.ece(probs, labels) == pytest.approx(0.0, abs=1e-6)
    over = torch.full((n, 10), 0.01 / 9)
    over[:, 0] = 0.99
    over[~correct] = over[~correct].roll(1, 1)
    assert metrics.ece(over, labels) == pytest.approx(0.09, abs=1e-6)


def test_auroc_and_fpr95_on_separated_and_identical_scores():
    digits, others = torch.linspace(0.9, 1.0, 100), torch.linspace(0.1, 0.5, 100)
    assert metrics.auroc("msp", digits, others) == 1.0 and metrics.fpr_at_95_tpr("msp", digits, others) == 0.0
    assert metrics.auroc("msp", digits, digits) == pytest.approx(0.5)
    assert metrics.auroc("entropy", others, digits) == 1.0  # higher entropy: less digit-like


def test_fit_gaussian_and_mahalanobis_recover_a_known_gaussian():
    gen = torch.Generator().manual_seed(1)
    means = torch.randn(10, 4, generator=gen) * 5
    labels = torch.arange(20000) % 10
    feats = means[labels] + torch.randn(20000, 4, generator=gen) * torch.tensor([1.0, 2.0, 0.5, 1.0])
    m, prec = calibrate.fit_gaussian(feats, labels)
    assert torch.allclose(m, means, atol=0.1)
    assert torch.allclose(torch.linalg.inv(prec).diagonal(), torch.tensor([1.0, 4.0, 0.25, 1.0]), rtol=0.05)
    d = ood.mahalanobis(means[:1] + torch.tensor([[0.0, 2.0, 0.0, 0.0]]), m, prec)
    assert d.item() == pytest.approx(1.0, rel=0.1)  # two standard deviations along an axis of sd 2


# --- calibration of a real model ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def calibration_split():
    """6,000 training digits and the whole validation set, to calibrate on: a sweep (conftest marks the tests that
    take it `slow`)."""
    (xtr, ytr), (xval, yval) = train_val_split()
    return to_float(xtr[:6000]), ytr[:6000], to_float(xval), yval


def test_calibrate_writes_a_calibration_that_flags_the_chosen_share_of_validation_digits(tmp_path, calibration_split):
    split = calibration_split
    shutil.copy(models.weights_path("mlp"), tmp_path / "mlp.safetensors")
    model = models.load("mlp", weights_dir=tmp_path)
    summary = calibrate.calibrate(model, *split, tmp_path / "mlp.safetensors")["ood"]
    cal = models.load_calibration("mlp", tmp_path)
    assert cal is not None and cal.score == summary["score"] and cal.temperature > 0
    s = ood.scores(*calibrate.forward(model, split[2]), cal)
    redrawn = ood.scores(*calibrate.forward(model, calibrate.redrawn(split[2])), cal)
    digits, strokes = (float(cal.flags(v).double().mean()) for v in (s, redrawn))
    assert digits <= calibrate.FLAG_RATE + 0.001 and strokes <= calibrate.STROKE_FLAG_RATE + 0.001
    # the threshold is the stricter of the two: one of them sits at its rate
    assert min(abs(digits - calibrate.FLAG_RATE), abs(strokes - calibrate.STROKE_FLAG_RATE)) <= 0.001
    assert summary["val_flagged"] == pytest.approx(digits) and summary["val_strokes_flagged"] == pytest.approx(strokes)
    (tmp_path / "mlp.safetensors").write_bytes(b"retrained since")
    stale = re.escape(f"calibration file {tmp_path / 'mlp.ood.safetensors'} was fitted on other weights")
    with pytest.raises(weightfiles.CalibrationError, match=stale + ".*python -m digitnet calibrate --model mlp"):
        models.load_calibration("mlp", tmp_path)


def test_a_corrupt_calibration_is_an_error_that_names_the_file_and_the_fix(tmp_path):
    shutil.copy(models.weights_path("mlp"), tmp_path / "mlp.safetensors")
    data = weightfiles.calibration_path(models.weights_path("mlp")).read_bytes()
    (tmp_path / "mlp.ood.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(weightfiles.CalibrationError, match="mlp.ood.safetensors is corrupt.*calibrate --model mlp"):
        models.load_calibration("mlp", tmp_path)
    (tmp_path / "mlp.ood.safetensors").unlink()
    assert models.load_calibration("mlp", tmp_path) is None  # no calibration: no verdict, by design


def test_a_stale_calibration_stops_the_app_at_start_up_with_one_error(tmp_path):
    """The app's networks with cnn_oe's calibration replaced by another network's: importing app.py (which loads
    the networks) fails with one error naming the file and the command, not a served network without a verdict."""
    for f in models.WEIGHTS_DIR.iterdir():
        shutil.copy(f, tmp_path / f.name)
    shutil.copy(tmp_path / "mlp.ood.safetensors", tmp_path / "cnn_oe.ood.safetensors")
    code = f"import digitnet.models as m; m.WEIGHTS_DIR = __import__('pathlib').Path({str(tmp_path)!r}); import app"
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    last = r.stderr.strip().splitlines()[-1]
    assert r.returncode != 0 and last.startswith("digitnet.weightfiles.CalibrationError: "), r.stderr
    assert f"calibration file {tmp_path / 'cnn_oe.ood.safetensors'} was fitted on other weights" in last
    assert last.endswith("recreate it with: python -m digitnet calibrate --model cnn_oe")


def test_the_projects_own_warnings_are_errors_under_pytest():
    with pytest.raises(DigitnetWarning):
        warnings.warn("a digitnet warning", DigitnetWarning, stacklevel=1)


# --- the shipped models -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def oe():
    return Predictor("cnn_oe", "cpu")


def test_every_shipped_model_has_a_calibration_fitted_on_its_weights():
    """Each shipped calibration loads (a stale one raises) and is the one its record describes."""
    assert SHIPPED == DISCRIMINATIVE
    for name in SHIPPED:
        record = models.metadata(name)["ood"]
        cal = models.load_calibration(name)
        assert isinstance(cal, ood.Calibration) and cal.score == record["score"] and cal.score in ood.SCORES
        assert cal.threshold == pytest.approx(record["threshold"]) and cal.temperature > 0
        assert Predictor(name, "cpu").calibration is not None


def test_every_shipped_generative_classifier_has_a_calibration_fitted_on_its_weights():
    """vae_bayes's verdict is one of generative.SCORES against a threshold, read as its kind's calibration (a stale
    file raises): the one its record describes, and the one its Predictor applies."""
    shipped = [n for n in models.GENERATIVE if models.weights_path(n).is_file()]
    assert shipped == list(models.GENERATIVE)
    for name in shipped:
        record = models.metadata(name)["ood"]
        cal = models.load_calibration(name)
        assert isinstance(cal, generative.GenerativeCalibration) and cal.score == record["score"]
        assert cal.score in generative.SCORES and cal.threshold == pytest.approx(record["threshold"])
        assert cal.temperature == pytest.approx(record["temperature"], rel=1e-4) and cal.temperature > 0
        assert Predictor(name, "cpu").calibration == cal


def test_oe_model_is_accurate_and_flags_few_real_digits(oe, every_test_digit):
    x, y = every_test_digit  # all 10,000: on a 500-digit subset the share flagged varies by about +-0.6 points
    probs, flags, _ = oe.scored(x)
    assert (probs.argmax(1) == y).double().mean() >= 0.995  # the aim (the shipped cnn_oe reads 99.54%)
    assert np.mean(flags) <= 0.02  # the target


# Photo crops are the hardest held-out family: the report measures 91.6% of 1,000 flagged (93.3% for the cnn_oe
# before 2026-11-27 night, whose threshold flagged 1.2% of test digits against 0.2% now); on these 150, 88%.
@pytest.mark.parametrize(
    ("family", "share"),
    [("letters_unseen_fonts", 0.9), ("unseen_symbols", 0.9), ("pen_letters", 0.9), ("photo_crops", 0.85),
     ("textures", 0.9), ("doodles_heldout", 0.9)],
)  # fmt: skip
def test_oe_model_flags_heldout_non_digits_and_is_not_confident_on_them(oe, family, share):
    probs, flags, _ = oe.scored(probe_images(family, 150, seed=123))
    assert np.mean(flags) >= share
    assert probs.max(1).values.mean() <= 0.4


def test_oe_model_flags_heldout_doodles(oe):
    """Doodles of kinds it never trained on (arrow, cloud, flower, fish, car, ...), drawn on the pad."""
    probs, flags, _ = oe.scored(probe_images("doodles_heldout", 300, seed=123))
    assert np.mean(flags) >= 0.95  # the target
    assert probs.max(1).values.mean() <= 0.4


@pytest.mark.parametrize("kind", HELDOUT_DOODLES)
def test_oe_model_flags_every_heldout_doodle_kind(oe, kind):
    """The sample docs/overconfidence.md's targets quote (200 of each kind, seed 20,000: 92.5% for arrow, the
    fewest, 94.0% lightning, 94.5% umbrella, 96.5% cloud, 99.5-100% the others); one image of margin."""
    _, flags, _ = oe.scored(doodle_images(kind, 200, seed=20_000))
    assert np.mean(flags) >= 0.92


def test_oe_model_accepts_digits_drawn_with_straight_pen_strokes(oe):
    x, y = pen_digit_images(10)  # ten hand-made polyline digits, as drawn and jittered, pen 8-24 px on 280
    probs, flags, _ = oe.scored(x)
    assert (probs.argmax(1) == y).double().mean() >= 0.95
    assert np.mean(flags) <= 0.1


def test_oe_model_accepts_mnist_test_digits_re_drawn_with_straight_strokes(oe, mnist_test):
    x, y = mnist_test[0][-500:], mnist_test[1][-500:]
    probs, flags, _ = oe.scored(to_float(stroke_digits(x, seed=77)))
    assert (probs.argmax(1) == y).double().mean() >= 0.97
    assert np.mean(flags) <= 0.15  # a model trained without them flagged 96%


# --- vae_bayes: "not a digit" from its own model of digits, never shown a non-digit --------------------------


@pytest.fixture(scope="module")
def vae():
    return Predictor("vae_bayes", "cpu")


# Mean top probability on these 150 images of each family (seed 123), measured 2026-12-07 from the shipped weights:
# vae_bayes 0.862, 0.881, 0.751; cnn_oe, trained toward the uniform answer on non-digits, 0.106, 0.108, 0.115.
NON_DIGITS = ("letters_unseen_fonts", "pen_letters", "doodles_heldout")


def test_vae_bayes_never_saw_a_non_digit(vae, oe):
    """Its record says no outlier exposure, and its answers show it: on held-out non-digits its Bayes' rule is as
    sure of some digit as the plain networks are, where cnn_oe's answer is near uniform; so what flags them is its
    own score of the image, not a learnt "no digit" answer."""
    assert models.metadata("vae_bayes")["outlier_exposure"] is False
    assert models.metadata("cnn_oe")["outlier_exposure"] is True
    for family in NON_DIGITS:
        images = probe_images(family, 150, seed=123)
        (probs, flags, _), (oe_probs, _, _) = vae.scored(images), oe.scored(images)
        assert probs.max(1).values.mean() >= 0.6, family
        assert oe_probs.max(1).values.mean() <= 0.3, family  # what outlier exposure looks like, on the same images
        assert np.mean(flags) >= 0.5, family  # flagged all the same, by its score


def test_vae_bayes_is_accurate_and_flags_few_real_digits(vae, every_test_digit):
    x, y = every_test_digit
    probs, flags, _ = vae.scored(x)
    assert (probs.argmax(1) == y).double().mean() >= 0.99  # issue 24's bar (it reads 99.10%)
    assert np.mean(flags) <= 0.02  # the target (1.16% measured)


# Measured on these 150 images of each family (seed 123) with the shipped vae_bayes (2026-12-05): letters in unseen
# fonts 72.0%, unseen symbols 64.7%, pen letters 71.3%, photo crops 28.0%, textures 89.3%, scaled noise 100%, held-out
# doodles 60.7%. The bars leave about 1.5 standard errors (4-6 points) below each. These are NOT issue 24's target
# (>= 95% of every family): its verdict does not reach it (docs/overconfidence.md), and this test says how far.
@pytest.mark.parametrize(
    ("family", "share"),
    [("letters_unseen_fonts", 0.65), ("unseen_symbols", 0.58), ("pen_letters", 0.64), ("photo_crops", 0.22),
     ("textures", 0.85), ("uniform_noise_x1.5", 0.98), ("doodles_heldout", 0.54)],
)  # fmt: skip
def test_vae_bayes_flags_heldout_non_digits_it_never_saw(vae, family, share):
    _, flags, _ = vae.scored(probe_images(family, 150, seed=123))
    assert np.mean(flags) >= share


def test_vae_bayes_accepts_digits_drawn_with_straight_strokes(vae, mnist_test):
    x, y = pen_digit_images(10)
    probs, flags, _ = vae.scored(x)
    assert (probs.argmax(1) == y).double().mean() >= 0.95 and np.mean(flags) <= 0.05  # 100% read, 0% flagged
    x, y = mnist_test[0][-500:], mnist_test[1][-500:]
    probs, flags, _ = vae.scored(to_float(stroke_digits(x, seed=77)))
    assert (probs.argmax(1) == y).double().mean() >= 0.96  # 97.4% measured
    assert np.mean(flags) <= 0.05  # the target (1.8% measured)


def test_plain_cnn_is_overconfident_on_letters():
    probs, _, _ = Predictor("cnn", "cpu").scored(probe_images("letters_unseen_fonts", 150, seed=123))
    assert probs.max(1).values.mean() >= 0.6  # the phenomenon this project is about


def test_plain_cnn_is_overconfident_on_doodles():
    probs, _, _ = Predictor("cnn", "cpu").scored(probe_images("doodles_heldout", 150, seed=123))
    assert probs.max(1).values.mean() >= 0.7
    smileys, _, _ = Predictor("cnn", "cpu").scored(doodle_images("smiley", 50, seed=123))
    assert (smileys.argmax(1) == 0).double().mean() >= 0.9  # a smiley is a 0 to it


def test_predict_json_has_the_verdict_and_every_score(capsys, digit_files):
    path, label = digit_files[0]
    assert cli(["predict", "--json", "--model", "cnn_oe", path]) == 0
    out = json.loads(capsys.readouterr().out.strip())
    assert out["digit"] == label and out["not_a_digit"] is False
    assert set(out["scores"]) == set(ood.SCORES)


def test_saliency_points_at_the_ink_that_matters(mnist_test):
    """Removing the 40 most salient pixels lowers the answer's logit more than removing 40 random ink pixels.

    Measured with the plain cnn (about twice the drop, on 19 of these 20 digits). cnn_oe spreads its answer over
    all the ink, so no ranking of 40 pixels does much better than random ink for it (benchmarks.saliency_deletion,
    docs/overconfidence.md): it is not the network tested here.
    """
    model = Predictor("cnn", "cpu").model
    drops = {"top": [], "random": []}
    for i in range(20):
        x = to_float(mnist_test[0][i : i + 1])
        s = saliency(model, x[0, 0].numpy())
        assert s.shape == (28, 28) and s.dtype == np.float32
        assert (s[x[0, 0].numpy() == 0] == 0).all() and s.max() > 0
        with torch.no_grad():
            logits = model(x)[0]
            cls = int(logits.argmax())
            top = torch.from_numpy(s).flatten().argsort(descending=True)[:40]
            ink = (x[0, 0].flatten() > 0).nonzero().squeeze(1)
            rand = ink[torch.randperm(len(ink), generator=torch.Generator().manual_seed(i))[:40]]
            for name, idx in (("top", top), ("random", rand)):
                masked = x.clone().flatten()
                masked[idx] = 0
                drops[name].append(float(logits[cls] - model(masked.view_as(x))[0, cls]))
    wins = sum(t > r for t, r in zip(drops["top"], drops["random"], strict=True))
    assert wins >= 15 and np.mean(drops["top"]) > 1.5 * np.mean(drops["random"]), (wins, drops)


def test_saliency_rejects_a_batch(oe):
    with pytest.raises(ValueError, match="one 28x28 image"):
        saliency(oe.model, np.zeros((2, 28, 28), np.float32))


@pytest.fixture(scope="module")
def ood_report(tmp_path_factory) -> tuple[str, Path]:
    """`python -m digitnet evaluate --ood` with small probes: its report and its plots' folder. Every network on all
    10,000 test digits and fooled 50 times: a sweep (conftest marks the tests that take it `slow`)."""
    folder = tmp_path_factory.mktemp("plots")
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert cli(["evaluate", "--ood", "--probe-n", "20", "--plots", str(folder)]) == 0
    return out.getvalue(), folder


def test_ood_report_covers_every_model_and_heldout_family_and_writes_plots(ood_report):
    from digitnet.lab.probes import HELDOUT_FAMILIES

    out, tmp_path = ood_report
    for name in models.NAMES:
        assert f"| {name} |" in out and f"## Scores: {name}" in out
    for family in HELDOUT_FAMILIES:
        assert f"| {family} |" in out
    assert "hand-drawn polylines" in out and "MNIST test digits re-drawn" in out
    for score in generative.SCORES:  # vae_bayes's own scores, not ood's, in its table
        assert re.search(rf"^\| {score}( \(verdict\))? \| [\d.]+ / [\d.]+%", out.split("## Scores: vae_bayes")[1], re.M)
    drawings = out.split("## Can it draw what it recognises?")[1]
    assert "| vae_bayes | its typical drawing (z = 0) |" in drawings and "| cnn | gradient ascent, plain |" in drawings
    assert re.search(r"^\| vae_bayes \| \d+/50 \|", out.split("## Fooling")[1], re.M)
    for png in ("ood_confidence.png", "ood_reliability.png", "ood_drawings.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
