#!/usr/bin/env bash
# Create .venv and install a requirements file into it (default: requirements.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
req="${1:-requirements.txt}"
.venv/bin/python -m pip --version >/dev/null 2>&1 || python3 -m venv --clear .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r "$req"
