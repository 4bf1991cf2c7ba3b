#!/usr/bin/env bash
# Install everything the tests need on a fresh Debian machine, then run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
# nginx: the load balancer of tests/test_replicas.py (in /usr/sbin, which a normal user's PATH may lack).
if ! command -v chromium >/dev/null || [ ! -x /usr/sbin/nginx ] || ! command -v npm >/dev/null; then
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  $SUDO apt-get update -q && $SUDO apt-get install -y -q chromium chromium-driver nginx npm
fi
bash scripts/setup.sh requirements-dev.txt
# axe-core for tests/test_accessibility.py, pinned in package-lock.json (lighthouse, a dev dependency there, is for
# benchmarks/lighthouse.py only: `npm ci` installs it).
npm ci --omit=dev --no-audit --no-fund --loglevel=error
# MNIST: ../shared/data on this project's machines; elsewhere torchvision downloads it into ./data.
if [ -z "${DIGITNET_DATA:-}" ] && [ -d ../shared/data/MNIST ]; then export DIGITNET_DATA=../shared/data; fi
.venv/bin/python -m ruff check .
.venv/bin/python -m pytest "$@"
