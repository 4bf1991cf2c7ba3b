#!/usr/bin/env bash
# Install what the app needs and start it (http://127.0.0.1:7860 unless GRADIO_SERVER_* say otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh requirements.txt
exec .venv/bin/python app.py
