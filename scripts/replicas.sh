#!/usr/bin/env bash
# N copies of the app behind nginx with sticky sessions, all on 127.0.0.1 (no container runtime, no root paths:
# nginx's configuration and logs go to a temporary folder). Ctrl-C stops them all.
#   bash scripts/replicas.sh [--replicas 2] [--port 8080] [--no-affinity]
# The load test through it: .venv/bin/python -m benchmarks.replicas
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  echo "nginx is not installed; on Debian: sudo apt-get install -y nginx" >&2
  exit 1
fi
[ -x .venv/bin/python ] || bash scripts/setup.sh
exec .venv/bin/python -m digitnet.lab.replicas "$@"
