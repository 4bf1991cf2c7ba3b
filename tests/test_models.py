"""The shipped weights: accuracy on the full MNIST test set, their JSON, loading errors, device choice."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from digitnet import generative, models, weightfiles
from digitnet.device import pick_device
from digitnet.discriminative import CNN, MLP
from digitnet.predict import Predictor

REQUIRED_ACCURACY = {"cnn": 0.996, "mlp": 0.975, "cnn_oe": 0.995, "vae_bayes": 0.99}  # vae_bayes: ABS's figure


def accuracy(name: str, digits: tuple[torch.Tensor, torch.Tensor]) -> float:
    x, y = digits
    probs = Predictor(name, "cpu").probabilities(x)
    return (probs.argmax(1) == y).sum().item() / len(y)


@pytest.mark.parametrize("name", sorted(REQUIRED_ACCURACY))
def test_shipped_weights_reach_their_accuracy(name, every_test_digit):
    assert set(REQUIRED_ACCURACY) == set(models.available())  # every shipped network's record is checked
    acc = accuracy(name, every_test_digit)
    assert acc >= REQUIRED_ACCURACY[name], f"{name}: {acc:.2%} on the MNIST test set"
    meta = models.metadata(name)
    # The JSON beside the weights must describe these very weights.
    assert meta["model"] == name
    assert meta["test_accuracy"] == pytest.approx(acc, abs=1e-4)
    assert meta["parameters"] == models.n_params(models.build(name))
    for key in ("hyperparameters", "train_seconds", "device", "torch", "date", "command"):
        assert key in meta


def test_weights_are_safetensors_not_pickle():
    files = list(models.WEIGHTS_DIR.iterdir())
    assert not [f for f in files if f.suffix in {".pt", ".pth", ".pkl", ".ckpt", ".bin"}]
    for path in (f for f in files if f.suffix == ".safetensors"):
        data = path.read_bytes()
        header = json.loads(data[8 : 8 + int.from_bytes(data[:8], "little")])
        tensors = {k: v for k, v in header.items() if k != "__metadata__"}
        assert tensors and all({"dtype", "shape", "data_offsets"} <= set(v) for v in tensors.values()), path


def test_corrupt_weights_give_one_clear_error(tmp_path):
    shutil.copy(models.weights_path("mlp"), tmp_path / "mlp.safetensors")
    data = (tmp_path / "mlp.safetensors").read_bytes()
    (tmp_path / "mlp.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(weightfiles.WeightsError) as e:
        models.load("mlp", weights_dir=tmp_path)
    msg = str(e.value)
    assert str(tmp_path / "mlp.safetensors") in msg and "python train.py --model mlp" in msg


def test_missing_weights_give_one_clear_error(tmp_path):
    with pytest.raises(weightfiles.WeightsError, match=r"missing.*python train.py --model cnn") as e:
        models.load("cnn", weights_dir=tmp_path)
    # the command a newcomer can run in their checkout (MNIST downloads into ./data), nothing of this machine's
    assert str(e.value).endswith("; recreate it with: python train.py --model cnn")
    with pytest.raises(weightfiles.WeightsError, match=r"no weights in .*; train one: python train.py --model cnn$"):
        models.available(tmp_path, required=True)


def test_weights_of_another_model_are_refused(tmp_path):
    shutil.copy(models.weights_path("mlp"), tmp_path / "cnn.safetensors")
    with pytest.raises(weightfiles.WeightsError, match="does not fit model 'cnn'"):
        models.load("cnn", weights_dir=tmp_path)


def test_weights_of_another_kind_are_refused(tmp_path):
    shutil.copy(models.weights_path("cnn"), tmp_path / "vae_bayes.safetensors")
    with pytest.raises(weightfiles.WeightsError, match="does not fit model 'vae_bayes'.*python train.py --model vae"):
        models.load("vae_bayes", weights_dir=tmp_path)


def test_what_each_network_is_is_answered_by_the_registry():
    """Name -> kind, architecture and description, in the order the app offers them; unknown names are refused."""
    assert models.NAMES == ("mlp", "cnn", "cnn_oe", "vae_bayes") and models.GENERATIVE == ("vae_bayes",)
    built = {name: type(models.build(name)) for name in models.NAMES}
    assert built == {"mlp": MLP, "cnn": CNN, "cnn_oe": CNN, "vae_bayes": generative.ClassVAE}
    assert [models.kind(n).generative for n in models.NAMES] == [False, False, False, True]
    assert models.describe("cnn_oe") == "CNN + outlier exposure (knows non-digits)" and models.describe("x") == "x"
    with pytest.raises(ValueError, match="unknown model 'resnet'"):
        models.kind("resnet")
    with pytest.raises(ValueError, match="width applies to the cnn and class_vae architectures, not 'mlp'"):
        models.make("mlp", 16)
    assert models.make("cnn", 16).head.in_features == 64 and models.make("class_vae", 16).width == 16


def test_device_falls_back_to_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert pick_device() == torch.device("cpu")
    assert pick_device("auto") == torch.device("cpu")
    assert Predictor("mlp").device == torch.device("cpu")


def test_device_prefers_cuda_when_present(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device() == torch.device("cuda")
    assert pick_device("cpu") == torch.device("cpu")


def test_batch_and_single_predictions_agree(mnist_test):
    x, y = mnist_test
    predictor = Predictor("cnn", "cpu")
    images = [x[i].numpy() for i in range(8)]
    batch = predictor.predict_batch(images)
    for image, b, label in zip(images, batch, y[:8].tolist(), strict=True):
        single = predictor.predict(image)
        assert single.digit == b.digit == label
        assert single.probabilities == pytest.approx(b.probabilities, abs=1e-5)
        assert sum(b.probabilities) == pytest.approx(1.0, abs=1e-5)
        assert b.confidence == max(b.probabilities)
