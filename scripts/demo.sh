#!/usr/bin/env bash
# Set up (idempotent) and run kstack's demo.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec .venv/bin/python -m kstack.demo "$@"
