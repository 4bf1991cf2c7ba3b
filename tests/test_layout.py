"""The tree's promise: the served app and the CLI's predict import only requirements.txt, importing the library
loads no network and changes no process-wide setting, and drawings are parsed without torch; and the package is a
layered graph: no import circle, no arrow that runs back up (LAYERS), digitnet never imports the lab or a script."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

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


# --- the layers ------------------------------------------------------------------------------------------------
#
# Lowest first. A module may import modules of its own layer or below, never one above (circles inside a layer are
# caught by the circle check). A new module goes into the layer of what it needs; an entry ending in ".*"
# ("digitnet.lab.*") covers a package and every module in it. The lab sits above the whole runtime: digitnet may
# never import it, nor any top-level script (train.py, app.py, benchmarks/, scripts/, tests/), which may import it.
# fmt: off
LAYERS: list[set[str]] = [
    # foundations: no other digitnet module
    {"digitnet", "digitnet.web", "digitnet.device", "digitnet.internals", "digitnet.ledgers", "digitnet.asgi",
     "digitnet.components", "digitnet.saliency", "digitnet.visitors", "digitnet.routes"},
    {"digitnet.accessible"},
    # an image in: any drawing or upload -> 28x28 input, the grey levels shown; the drawing pad's strokes
    {"digitnet.preprocess"},
    {"digitnet.drawing", "digitnet.share"},
    # the networks: weights files below them, each kind's module, then the one registry of what each network is
    {"digitnet.weightfiles"},
    {"digitnet.discriminative", "digitnet.ood", "digitnet.generative"},
    {"digitnet.models"},
    {"digitnet.predict"},
    {"digitnet.explore"},
    # serving: every DIGITNET_* setting, who a client is, what the page shows, the pad, request limits, the live
    # readout, the visitors' store's push, the server and the page
    {"digitnet.settings"},
    {"digitnet.client"},
    {"digitnet.serverlog"},
    {"digitnet.views", "digitnet.pad", "digitnet.guard", "digitnet.compression"},
    {"digitnet.visitors_push", "digitnet.feedback", "digitnet.live"},
    {"digitnet.server"},
    {"digitnet.page"},
    # development: training, evaluation, the test harness (requirements-dev.txt)
    {"digitnet.lab.*"},
    # the command line: `python -m digitnet` runs the lab's commands too, importing them only when they run
    {"digitnet.__main__"},
]
# fmt: on


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int

    def __str__(self) -> str:
        return f"{self.importer} imports {self.imported} ({_path(self.importer)}:{self.line})"


def _path(module: str) -> str:
    return MODULES[module].relative_to(ROOT).as_posix()


def _modules(root: Path) -> dict[str, Path]:
    out = {}
    for path in sorted((root / "digitnet").rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


MODULES = _modules(ROOT)


def _named(name: str, modules: Iterable[str]) -> str | None:
    """The module `name` refers to: itself, or the package above it that exists (a.b.c -> a.b)."""
    known = set(modules)
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def imports(module: str, path: Path, modules: dict[str, Path]) -> list[Import]:
    """Every import in a module, at any depth (inside functions and `if TYPE_CHECKING:` too), as the module it
    names: `from digitnet import models` -> digitnet.models, relative imports resolved. Outside imports too."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        else:
            continue
        found += [Import(module, _named(n, modules) or n, node.lineno) for n in names]
    return list(dict.fromkeys(i for i in found if i.imported != module))


def graph(modules: dict[str, Path]) -> list[Import]:
    """The arrows between digitnet's own modules."""
    return [i for m, p in modules.items() for i in imports(m, p, modules) if i.imported in modules]


def _covers(entry: str, module: str) -> bool:
    package = entry.removesuffix(".*")
    return module == package or (entry.endswith(".*") and module.startswith(package + "."))


def layer_of(module: str) -> int | None:
    return next((i for i, layer in enumerate(LAYERS) if any(_covers(e, module) for e in layer)), None)


def circles(arrows: list[Import]) -> list[list[str]]:
    """Every circle of imports (strongly connected components of more than one module), each sorted."""
    nexts: dict[str, set[str]] = {}
    for a in arrows:
        nexts.setdefault(a.importer, set()).add(a.imported)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(v: str) -> None:  # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in nexts.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while not part or part[-1] != v:
                part.append(stack.pop())
            if len(part) > 1:
                found.append(sorted(part))

    for v in sorted(nexts):
        if v not in index:
            visit(v)
    return found


def back_arrows(arrows: list[Import]) -> list[Import]:
    """Arrows from a module to one in a higher layer (modules in no layer are another test's)."""
    layers = [(a, layer_of(a.importer), layer_of(a.imported)) for a in arrows]
    return [a for a, i, j in layers if i is not None and j is not None and i < j]  # unlisted: test_every_module...


def test_every_module_is_in_a_layer():
    arrows = graph(MODULES)
    missing = [m for m in MODULES if layer_of(m) is None]
    said = [
        f"{m} ({_path(m)}) is in no layer: add it to LAYERS in tests/test_layout.py, above what it imports: "
        + (", ".join(str(a) for a in arrows if a.importer == m) or "nothing of digitnet")
        for m in missing
    ]
    assert not missing, "\n".join(said)


def shortest_circle(members: list[str], arrows: list[Import]) -> list[Import]:
    """The shortest circle of imports among `members` (one strongly connected component), arrow by arrow."""
    inside = [a for a in arrows if a.importer in members and a.imported in members]
    best: list[Import] = []
    for start in members:
        routes: dict[str, list[Import]] = {start: []}
        frontier = [start]
        while frontier:
            reached = []
            for a in (a for a in inside if a.importer in frontier):
                route = [*routes[a.importer], a]
                if a.imported == start and (not best or len(route) < len(best)):
                    best = route
                elif a.imported not in routes:
                    routes[a.imported] = route
                    reached.append(a.imported)
            frontier = reached
    return best


def test_no_import_circle():
    arrows = graph(MODULES)
    found = circles(arrows)
    said = [" -> ".join(str(a) for a in shortest_circle(c, arrows)) for c in found]
    assert not found, "import circles (each the shortest in a tangle):\n" + "\n".join(said)


def test_no_import_runs_back_up_the_layers():
    up = back_arrows(graph(MODULES))
    said = [f"{a}: layer {layer_of(a.importer)} imports layer {layer_of(a.imported)}, above it" for a in up]
    assert not up, "imports that run back up (LAYERS in tests/test_layout.py):\n" + "\n".join(said)


def test_digitnet_imports_no_top_level_script():
    folders = {p.name for p in ROOT.iterdir() if p.is_dir() and any(p.glob("*.py"))}
    scripts = ({p.stem for p in ROOT.glob("*.py")} | folders) - {"digitnet"}
    found = [i for m, p in MODULES.items() for i in imports(m, p, MODULES) if i.imported.split(".")[0] in scripts]
    assert not found, "digitnet imports a top-level script:\n" + "\n".join(map(str, found))


def test_the_layout_check_catches_a_circle_and_a_back_arrow(tmp_path):
    """On a copy of the package: a lazy import of the page from preprocessing (inside a function) is both."""
    copy = _modules(ROOT)
    shim = tmp_path / "digitnet" / "preprocess.py"
    shim.parent.mkdir()
    shim.write_text(MODULES["digitnet.preprocess"].read_text() + "\n\ndef _late():\n    from digitnet import page\n")
    copy["digitnet.preprocess"] = shim
    arrows = graph(copy)
    assert any("digitnet.preprocess" in c and "digitnet.page" in c for c in circles(arrows))
    assert [str(a.imported) for a in back_arrows(arrows) if a.importer == "digitnet.preprocess"] == ["digitnet.page"]
