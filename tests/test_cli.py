"""`python -m digitnet predict/evaluate` as a user runs them: a real subprocess on real files."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from digitnet import models


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "digitnet", *args], capture_output=True, text=True, timeout=300)


def test_predict_json_is_well_formed_and_right(digit_files):
    r = run_cli("predict", "--json", *(p for p, _ in digit_files))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == len(digit_files)
    for line, (path, label) in zip(lines, digit_files, strict=True):
        obj = json.loads(line)
        assert obj["file"] == path
        assert obj["digit"] == label
        assert len(obj["probabilities"]) == 10
        assert sum(obj["probabilities"]) == pytest.approx(1.0, abs=1e-4)
        assert obj["confidence"] == max(obj["probabilities"])
        assert obj["probabilities"].index(obj["confidence"]) == obj["digit"]


def test_predict_table(digit_files):
    path, label = digit_files[0]
    r = run_cli("predict", "--model", "mlp", path)
    assert r.returncode == 0, r.stderr
    header, row = r.stdout.strip().splitlines()
    assert header.split() == ["file", "digit", "confidence"]
    assert row.split()[:2] == [path, str(label)] and row.split()[2].endswith("%")


def test_bad_files_get_one_line_each_and_the_rest_still_run(digit_files, tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("this is not an image")
    missing = tmp_path / "missing.png"
    good, label = digit_files[1]
    r = run_cli("predict", "--json", str(text), good, str(missing))
    assert r.returncode != 0
    errors = r.stderr.strip().splitlines()
    assert len(errors) == 2 and str(text) in errors[0] and str(missing) in errors[1]
    assert "Traceback" not in r.stderr
    (line,) = r.stdout.strip().splitlines()
    assert json.loads(line)["digit"] == label


def test_evaluate_prints_accuracy_and_confusion_matrix():
    r = run_cli("evaluate", "--model", "mlp")
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    acc_line = next(line for line in out if "accuracy" in line)
    correct, total = acc_line.split("(")[1].rstrip(")").split("/")
    start = next(i for i, line in enumerate(out) if line.split() == [str(d) for d in range(10)])
    rows = [list(map(int, line.split())) for line in out[start + 1 : start + 11]]
    assert [r[0] for r in rows] == list(range(10))
    matrix = [r[1:] for r in rows]
    assert sum(map(sum, matrix)) == int(total) == 10000
    assert sum(matrix[d][d] for d in range(10)) == int(correct)
    assert any(line.startswith("time:") for line in out)


@pytest.mark.parametrize("name", ["cnn_oe", "vae_bayes"])
def test_a_stale_calibration_is_one_error_line_not_a_missing_verdict(tmp_path, digit_files, name):
    """A calibration replaced by mlp's: predict stops with the file and the command, exit status 2."""
    for f in models.WEIGHTS_DIR.iterdir():
        shutil.copy(f, tmp_path / f.name)
    shutil.copy(tmp_path / "mlp.ood.safetensors", tmp_path / f"{name}.ood.safetensors")
    code = (f"import sys, pathlib, digitnet.models as m; m.WEIGHTS_DIR = pathlib.Path({str(tmp_path)!r}); "
            "from digitnet.__main__ import main; sys.exit(main(sys.argv[1:]))")  # fmt: skip
    args = ["predict", "--model", name, digit_files[0][0]]
    r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)
    stale = tmp_path / f"{name}.ood.safetensors"
    assert r.returncode == 2 and r.stdout == "" and "Traceback" not in r.stderr, r.stderr
    assert r.stderr == (f"error: calibration file {stale} was fitted on other weights than "
                        f"{tmp_path / f'{name}.safetensors'}; recreate it with: python -m digitnet calibrate "
                        f"--model {name}\n")  # fmt: skip


def test_predict_with_the_generative_network(digit_files):
    """vae_bayes answers through the CLI as the others do: the right digit, a distribution, a verdict."""
    r = run_cli("predict", "--json", "--model", "vae_bayes", *(p for p, _ in digit_files))
    assert r.returncode == 0, r.stderr
    for line, (path, label) in zip(r.stdout.strip().splitlines(), digit_files, strict=True):
        obj = json.loads(line)
        assert (obj["file"], obj["digit"], obj["not_a_digit"]) == (path, label, False)
        assert sum(obj["probabilities"]) == pytest.approx(1.0, abs=1e-4)
        assert set(obj["scores"]) == {"elbo", "excess", "elbo_png", "msp", "entropy"}
