"""The tree's promise: the served app and the CLI's predict import only requirements.txt, importing the library
loads no network and changes no process-wide setting, and drawings are parsed without torch."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from digitnet.lab.serving import EXAMPLE_7, ROOT

DEV_ONLY = ("sklearn", "skimage", "matplotlib", "fontTools", "pytest", "hypothesis", "playwright", "digitnet.lab")

BLOCK_DEV = f"""
import importlib.abc, sys
class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if any(name == m or name.startswith(m + ".") for m in {DEV_ONLY!r}):
            raise ImportError(f"{{name}} is a development package; the runtime must not import it")
sys.meta_path.insert(0, Hide())
"""


def run(code: str) -> subprocess.CompletedProcess:
    script = BLOCK_DEV + textwrap.dedent(code)
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_the_app_builds_without_development_packages():
    r = run("""
        import torch
        threads = torch.get_num_threads()
        import app
        assert app.networks.names == ["mlp", "cnn", "cnn_oe", "vae_bayes"], app.networks.names
        assert torch.get_num_threads() == threads, "importing the app changed torch's thread count"
        print(sorted(app.demo.fns[i].api_name for i in app.demo.fns if app.demo.fns[i].api_name))
    """)
    assert r.returncode == 0, r.stderr
    for api in ("classify", "draw", "upload", "switch_model", "dream", "fool", "exhibit"):
        assert f"'{api}'" in r.stdout


def test_the_cli_predicts_without_development_packages():
    r = run(f"""
        from digitnet.__main__ import main
        raise SystemExit(main(["predict", "--json", {str(EXAMPLE_7)!r}]))
    """)
    assert r.returncode == 0, r.stderr
    assert '"digit": 7' in r.stdout


def test_the_check_itself_catches_a_development_import():
    r = run("import digitnet.lab.metrics")
    assert r.returncode != 0 and "development package" in r.stderr


def test_importing_the_library_loads_no_network():
    r = subprocess.run([sys.executable, "-c", textwrap.dedent("""
        import gc, torch
        threads = torch.get_num_threads()
        import digitnet.page, digitnet.views, digitnet.predict, digitnet.ood, digitnet.components, digitnet.__main__
        import digitnet.generative, digitnet.explore
        from torch import nn
        assert not [o for o in gc.get_objects() if isinstance(o, nn.Module)], "a network was built at import time"
        assert torch.get_num_threads() == threads
    """)], cwd=ROOT, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert r.returncode == 0, r.stderr


def test_parsing_a_drawing_and_building_the_pad_import_no_torch():
    """The pad's drawings are checked and rendered by numpy and Pillow alone: CANVAS lives with them, not in views."""
    r = subprocess.run([sys.executable, "-c", textwrap.dedent("""
        import sys
        import digitnet.drawing, digitnet.pad
        x = digitnet.drawing.to_input({"strokes": [[60, 40, 200, 40, 120, 240]], "width": 20})
        assert x.shape == (28, 28) and x.max() == 1, x
        assert "torch" not in sys.modules, "parsing a drawing imported torch"
    """)], cwd=ROOT, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert r.returncode == 0, r.stderr
