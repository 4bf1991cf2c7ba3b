"""The trainer really learns, is deterministic for a seed, and writes loadable weights with their JSON."""

from __future__ import annotations

import json

import torch
import torch.nn.functional as F

import train
from digitnet import models
from digitnet.data import to_float


def _subset(mnist_test, n=3000):
    x, y = mnist_test
    return to_float(x[:n]), y[:n]


def _loss(model, x, y) -> float:
    model.eval()
    with torch.inference_mode():
        return F.cross_entropy(model(x), y).item()


def test_short_training_run_lowers_the_loss(mnist_test):
    torch.manual_seed(0)
    x, y = _subset(mnist_test)
    args = train.parse_args(["--model", "cnn", "--epochs", "3", "--quiet"])
    model = models.build("cnn")
    opt, sched = train.make_optimizer(model, args, 3 * (len(x) // args.batch_size))
    before = _loss(model, x, y)
    gen = torch.Generator().manual_seed(0)
    for epoch in (1, 2, 3):
        train.train_epoch(model, opt, sched, x, y, args, gen, epoch)
    after = _loss(model, x, y)
    assert after < 0.5 * before, (before, after)
    assert train.evaluate(model, x, y) > 0.8


def test_training_is_deterministic_and_writes_loadable_weights(tmp_path):
    argv = ["--model", "mlp", "--epochs", "3", "--limit", "3000", "--quiet", "--device", "cpu"]
    metas = [train.main([*argv, "--out", str(tmp_path / run)]) for run in ("a", "b")]
    a, b = (models.load("mlp", weights_dir=tmp_path / run) for run in ("a", "b"))
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert ka == kb and torch.equal(va, vb), ka
    assert metas[0]["test_accuracy"] == metas[1]["test_accuracy"] > 0.5
    meta = json.loads((tmp_path / "a" / "mlp.json").read_text())
    assert meta["hyperparameters"]["epochs"] == 3 and meta["hyperparameters"]["limit"] == 3000
    assert meta["parameters"] == models.n_params(a) and meta["device"] == "cpu"


def test_a_different_seed_gives_different_weights(tmp_path):
    argv = ["--model", "mlp", "--epochs", "1", "--limit", "1000", "--quiet", "--device", "cpu"]
    train.main([*argv, "--seed", "1", "--out", str(tmp_path / "a")])
    train.main([*argv, "--seed", "2", "--out", str(tmp_path / "b")])
    a, b = (models.load("mlp", weights_dir=tmp_path / run) for run in ("a", "b"))
    assert not torch.equal(a.head.weight, b.head.weight)


def test_augmentation_keeps_digits_recognisable(mnist_test):
    x, _ = _subset(mnist_test, 64)
    out = train.augment(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and not torch.equal(out, x)
    # Small affine moves keep most of the ink inside the frame.
    assert (out.sum((1, 2, 3)) / x.sum((1, 2, 3))).min() > 0.7
