"""What goes to a Hugging Face Space, in one place: the README's upload command and tests/test_hosting.py use it.

    .venv/bin/python scripts/space_files.py                         # list what would be uploaded (offline)
    .venv/bin/python scripts/space_files.py --upload USER/SPACE     # create the Space if needed, then upload
    .venv/bin/python scripts/space_files.py --hf-command USER/SPACE # the same upload as an `hf upload` command line

The patterns are huggingface_hub's (fnmatch on paths relative to the checkout; `*` also matches `/`), and the
upload is huggingface_hub's `HfApi.upload_folder`, the call behind `hf upload` and `gradio deploy`; it stores the
binary files (weights, PNGs) through the Hub's Xet storage, which a plain `git push` does not.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from huggingface_hub.utils import DEFAULT_IGNORE_PATTERNS, filter_repo_objects

ROOT = Path(__file__).resolve().parents[1]

# Everything the Space needs at run time, and the pages its README links to (the Space shows the README as its
# page, and a link to a file the Space lacks is a 404 there); nothing else.
INCLUDE = [
    "README.md",  # the Space's configuration (the YAML front matter) and its page
    "requirements.txt",  # what the Space installs
    "app.py",  # app_file
    "digitnet/*.py",  # the package the app imports (digitnet/lab/ is excluded below)
    "digitnet/web/*",  # the page's JavaScript, CSS and HTML, read when the page is built
    "weights/*.safetensors",  # the networks and their calibrations (<model>.ood.safetensors)
    "weights/*.json",  # each network's record
    "examples/*.png",  # the example gallery
    "docs/*.md",  # the reference the README links to
    "docs/*.png",  # its screenshot and the figures those pages show
]

# Never uploaded, even where an INCLUDE pattern would match (and, for safety, what a checkout holds besides).
EXCLUDE = [
    "digitnet/lab/*",  # training and evaluation only (requirements-dev.txt); the app never imports it
    "*__pycache__*",
    "*.pyc",
    "*.pyi",  # Gradio writes a stub next to digitnet/components.py
    ".venv/*",
    "data/*",  # MNIST
    ".gradio/*",  # Gradio's caches
    "artifacts/*",
    "flagged/*",
    ".pytest_cache/*",
    ".ruff_cache/*",
    ".hypothesis/*",
    "*.log",
    "docs/runs/*",  # raw benchmark runs behind the docs' figures
]


def upload_set(root: Path = ROOT) -> list[str]:
    """The paths (relative, POSIX) that the upload sends, matched exactly as huggingface_hub matches them."""
    files = sorted(p.relative_to(root).as_posix() for p in root.glob("**/*") if p.is_file())
    return list(filter_repo_objects(files, allow_patterns=INCLUDE, ignore_patterns=EXCLUDE + DEFAULT_IGNORE_PATTERNS))


def hf_command(space: str) -> str:
    """The same upload with the `hf` command line of huggingface_hub. --delete removes files from the Space that
    match the patterns but are no longer in the checkout (a retired example, say)."""
    args = ["hf", "upload", space, ".", ".", "--repo-type", "space"]
    args += [a for p in INCLUDE for a in ("--include", p)]
    args += [a for p in EXCLUDE for a in ("--exclude", p)]
    args += [a for p in INCLUDE for a in ("--delete", p)]
    return shlex.join(args)


def upload(space: str, private: bool = False) -> str:
    from huggingface_hub import HfApi

    api = HfApi()
    repo = api.create_repo(space, repo_type="space", space_sdk="gradio", private=private, exist_ok=True).repo_id
    info = api.upload_folder(
        repo_id=repo,
        repo_type="space",
        folder_path=ROOT,
        allow_patterns=list(INCLUDE),
        ignore_patterns=list(EXCLUDE),  # upload_folder extends the list it is given
        delete_patterns=list(INCLUDE),
        commit_message="Upload digitnet from a checkout (scripts/space_files.py)",
    )
    return f"https://huggingface.co/spaces/{repo} ({info})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--upload", metavar="USER/SPACE", help="create the Space if needed and upload the files")
    group.add_argument("--hf-command", metavar="USER/SPACE", help="print the equivalent `hf upload` command")
    parser.add_argument("--private", action="store_true", help="with --upload: create the Space as private")
    opts = parser.parse_args()
    if opts.hf_command:
        print(hf_command(opts.hf_command))
    elif opts.upload:
        print(upload(opts.upload, private=opts.private))
    else:
        files = upload_set()
        total = sum((ROOT / f).stat().st_size for f in files)
        for f in files:
            print(f"{(ROOT / f).stat().st_size:>10,}  {f}")
        print(f"{len(files)} files, {total / 1e6:.1f} MB", file=sys.stderr)


if __name__ == "__main__":
    main()
