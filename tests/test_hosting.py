"""Hosting on Hugging Face Spaces, checked offline: the README's Space configuration (its YAML front matter) and the
upload set of scripts/space_files.py, which the README's upload command uses. Nothing here reaches the Hub."""

from __future__ import annotations

import importlib.util
import re
import shlex
import shutil
import sys
import tomllib
from pathlib import Path

import gradio
import pytest
import yaml
from gradio_client import Client, handle_file
from huggingface_hub import metadata_load

from digitnet.models import NAMES

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
HOSTING = ROOT / "docs" / "hosting.md"  # the hosting section, moved out of the README
COLORS = {"red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray"}

_spec = importlib.util.spec_from_file_location("space_files", ROOT / "scripts" / "space_files.py")
space_files = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(space_files)


@pytest.fixture(scope="module")
def meta() -> dict:
    text = README.read_text(encoding="utf-8")
    assert text.startswith("---\n"), "the Space configuration must open README.md"
    block = text.split("\n---\n", 1)[0].removeprefix("---\n")
    parsed = yaml.safe_load(block)
    assert isinstance(parsed, dict)
    assert parsed == metadata_load(README), "huggingface_hub reads the same configuration"
    return parsed


@pytest.fixture(scope="module")
def uploaded() -> list[str]:
    return space_files.upload_set()


def pinned(package: str) -> str:
    match = re.search(rf"^{re.escape(package)}==(\S+)", (ROOT / "requirements.txt").read_text(), re.MULTILINE)
    assert match, f"{package} is not pinned in requirements.txt"
    return match.group(1)


def test_front_matter_has_the_fields_spaces_reads(meta):
    assert meta["sdk"] == "gradio"
    assert isinstance(meta["title"], str) and meta["title"]
    assert isinstance(meta["emoji"], str) and meta["emoji"]
    assert meta["colorFrom"] in COLORS and meta["colorTo"] in COLORS
    assert isinstance(meta["pinned"], bool)
    assert isinstance(meta["short_description"], str) and len(meta["short_description"]) <= 60


def test_sdk_version_is_the_pinned_gradio(meta):
    assert isinstance(meta["sdk_version"], str)  # 6.31.0 stays a string in YAML; a two-part version would not
    assert meta["sdk_version"] == pinned("gradio") == gradio.__version__


def test_python_version_is_the_projects(meta):
    # Quoted on purpose: unquoted, YAML reads 3.11 as a float (and 3.10 as 3.1).
    assert isinstance(meta["python_version"], str)
    assert meta["python_version"] == f"{sys.version_info.major}.{sys.version_info.minor}"
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires == f">={meta['python_version']}"


def test_app_file_exists_and_is_uploaded(meta, uploaded):
    assert (ROOT / meta["app_file"]).is_file()
    assert meta["app_file"] in uploaded


def test_upload_set_holds_every_file_the_app_needs(uploaded):
    package = {p.relative_to(ROOT).as_posix() for p in (ROOT / "digitnet").glob("*.py")}
    web = [*(ROOT / "digitnet" / "web").rglob("*.*")]  # the page's JavaScript, CSS and HTML
    package |= {p.relative_to(ROOT).as_posix() for p in web if p.suffix in (".py", ".js", ".css", ".html")}
    weights = {f"weights/{m}{ext}" for m in NAMES for ext in (".safetensors", ".json", ".ood.safetensors")}
    examples = {p.relative_to(ROOT).as_posix() for p in (ROOT / "examples").glob("*.png")}
    assert len(examples) >= 8
    needed = {"app.py", "README.md", "requirements.txt"} | package | weights | examples
    assert needed <= set(uploaded), sorted(needed - set(uploaded))


def test_upload_set_leaves_out_what_is_excluded(uploaded):
    left_out = (
        ".venv/",
        "data/",
        ".gradio/",
        "artifacts/",
        ".git/",
        "digitnet/lab/",
        "attacks/",
        "tests/",
        "benchmarks/",
        "docs/runs/",
    )
    assert not [f for f in uploaded if f.startswith(left_out) or "__pycache__" in f or f.endswith((".pyc", ".pyi"))]
    assert "requirements-dev.txt" not in uploaded and "train.py" not in uploaded


def test_every_file_the_readme_links_to_is_uploaded(uploaded):
    """The Space shows README.md as its page: each relative link and image there must be a file on the Space."""
    text = README.read_text(encoding="utf-8")
    targets = {
        t.split("#")[0] for t in re.findall(r"\]\(([^)\s]+)\)", text) if "://" not in t and not t.startswith("#")
    }
    assert targets, "the README links to no file: was the pattern or the README changed?"
    assert targets <= set(uploaded), sorted(targets - set(uploaded))


def test_upload_patterns_on_a_checkout_full_of_clutter(tmp_path):
    """A made-up checkout with a virtualenv, data, caches and build output: only the app's files are picked."""
    wanted = [
        "README.md",
        "requirements.txt",
        "app.py",
        "digitnet/__init__.py",
        "digitnet/page.py",
        "digitnet/web/__init__.py",
        "digitnet/web/pad.js",
        "digitnet/web/views/answer.js",
        "weights/cnn.safetensors",
        "weights/cnn.ood.safetensors",
        "weights/cnn.json",
        "examples/digit_7.png",
        "docs/app.md",
        "docs/screenshot.png",
    ]
    clutter = [
        ".venv/lib/python3.11/site-packages/torch/__init__.py",
        ".venv/lib/python3.11/site-packages/gradio/templates/x.png",
        "data/MNIST/raw/t10k-images-idx3-ubyte",
        ".gradio/cache/upload/x.png",
        "artifacts/run1/cnn.safetensors",
        "attacks/catalogue.py",
        "digitnet/__pycache__/page.cpython-311.pyc",
        "digitnet/components.pyi",
        "digitnet/lab/train_helpers.py",
        "digitnet/web/__pycache__/__init__.cpython-311.pyc",
        "node_modules/eslint/lib/api.js",
        "eslint.config.js",
        "package.json",
        "digitnet/lab/__pycache__/load.cpython-311.pyc",
        ".git/objects/ab/cdef",
        ".pytest_cache/v/cache/nodeids",
        "flagged/log.csv",
        "serve.log",
        "tests/test_app.py",
        "benchmarks/load_test.py",
        "docs/runs/floods_before.json",
        "requirements-dev.txt",
        "train.py",
    ]
    for f in wanted + clutter:
        (tmp_path / f).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f).write_bytes(b"x")
    assert space_files.upload_set(tmp_path) == sorted(wanted)


def test_hf_command_carries_the_same_patterns():
    args = shlex.split(space_files.hf_command("someone/digitnet"))
    assert args[:5] == ["hf", "upload", "someone/digitnet", ".", "."]
    assert args[args.index("--repo-type") + 1] == "space"
    values = {flag: [args[i + 1] for i, a in enumerate(args) if a == flag] for flag in ("--include", "--exclude")}
    assert values == {"--include": space_files.INCLUDE, "--exclude": space_files.EXCLUDE}


def test_the_hosting_doc_uses_the_upload_script_and_the_readme_links_it():
    text = HOSTING.read_text(encoding="utf-8")
    section = text.split("## Host it on Hugging Face Spaces", 1)[1].split("\n## ", 1)[0]
    assert "scripts/space_files.py --upload" in section
    assert "](docs/hosting.md)" in README.read_text(encoding="utf-8")


def test_the_uploaded_files_alone_run_the_app(tmp_path, uploaded, run_app_file):
    """Copy only the upload set, start `python app.py` there as the Space would, and classify the example 7."""
    for f in uploaded:
        (tmp_path / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / f, tmp_path / f)
    with run_app_file(tmp_path) as url:
        client = Client(url, verbose=False)
        result = client.predict(
            handle_file(str(tmp_path / "examples/digit_7_mnist_test_0.png")), "cnn", api_name="/classify"
        )
        assert result["digit"] == 7
