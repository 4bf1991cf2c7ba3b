#!/usr/bin/env bash
# Install what the tests need on a fresh Debian machine, then run the test suite.
#   bash scripts/test.sh           everything (what CI's .ci/run runs)
#   bash scripts/test.sh --fast    the fast tier: no app process, no browser, no sweep (under two minutes on two cores)
# Further arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
fast=0
if [ "${1:-}" = "--fast" ]; then fast=1; shift; fi
if [ "$fast" = 0 ]; then
  # Only what is missing: Debian's Chromium for the browser tests, nginx for tests/test_replicas.py (in /usr/sbin,
  # which a normal user's PATH may lack), npm for axe-core and the JavaScript linter. Node.js from NodeSource brings
  # its own npm, which conflicts with Debian's `npm` package: whichever npm is there is used.
  missing=()
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  [ -x /usr/sbin/nginx ] || missing+=(nginx)
  command -v npm >/dev/null || missing+=(npm)
  if [ "${#missing[@]}" -gt 0 ]; then
    SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
    $SUDO apt-get update -q && $SUDO apt-get install -y -q "${missing[@]}"
  fi
fi
bash scripts/setup.sh requirements-dev.txt
# MNIST: ../shared/data on this project's machines; elsewhere torchvision downloads it into ./data.
if [ -z "${DIGITNET_DATA:-}" ] && [ -d ../shared/data/MNIST ]; then export DIGITNET_DATA=../shared/data; fi
.venv/bin/python -m ruff check .
.venv/bin/python -m ruff format --check .
if [ "$fast" = 1 ]; then
  exec .venv/bin/python -m pytest -m "not server and not browser and not slow" "$@"
fi
# axe-core for tests/test_accessibility.py and ESLint for the page's JavaScript, pinned in package-lock.json
# (lighthouse, a dev dependency there, is for benchmarks/lighthouse.py only).
npm ci --omit=dev --no-audit --no-fund --loglevel=error
npm run lint --silent  # digitnet/web/*.js (eslint.config.js)
.venv/bin/python -m pytest "$@"
