#!/usr/bin/env bash
# Idempotent set-up: system packages (once), a venv in .venv, kstack installed editable.
set -euo pipefail
cd "$(dirname "$0")/.."
need_apt=()
command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
command -v tshark >/dev/null 2>&1 || need_apt+=(tshark)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
command -v tcpdump >/dev/null 2>&1 || need_apt+=(tcpdump)
if [ ${#need_apt[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
    (apt-get update -qq && apt-get install -y -qq "${need_apt[@]}") >/dev/null 2>&1 \
        || echo "setup: could not install ${need_apt[*]} (tests needing them will skip)" >&2
fi
# The interpreter: Debian's python3.11 when present (built with PGO/LTO, ~1.5x faster than
# an unoptimised local build for kstack's per-packet work), else any python3.11, else python3.
py=python3
for c in /usr/bin/python3.11 python3.11 python3; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info[:2] < (3, 11))' 2>/dev/null; then
        py=$(command -v "$c"); break
    fi
done
if [ ! -x .venv/bin/python ] || [ "$(cat .venv/.kstack-python 2>/dev/null)" != "$py" ]; then
    rm -rf .venv
    "$py" -m venv .venv
    echo "$py" > .venv/.kstack-python
fi
stamp=.venv/.kstack-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/pip install -q --disable-pip-version-check -e '.[test]'
    touch "$stamp"
fi
