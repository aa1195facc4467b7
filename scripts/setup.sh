#!/usr/bin/env bash
# Installs everything a fresh machine needs: Debian's libLLVM 19 (Dr.Jit's CPU backend for Sionna RT;
# the image's LLVM 14/15 crash), Debian's chromium (the headless browser of the web UI test), a .venv in the
# checkout, pinned CPU torch first, then the project.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! ls /usr/lib/*/libLLVM.so.19* >/dev/null 2>&1 && ! ls /usr/lib/llvm-19/lib/libLLVM*.so* >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" = "0" ] || SUDO="sudo"
    echo "[setup] installing libllvm19 (apt)"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libllvm19 >/dev/null
fi
if ! command -v chromium >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" = "0" ] || SUDO="sudo"
    echo "[setup] installing chromium (apt; the headless browser of tests/test_ui_browser.py)"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    echo "[setup] creating .venv with $($PY --version)"
    "$PY" -m venv .venv
fi
if [ ! -f .venv/.installed ] || [ pyproject.toml -nt .venv/.installed ]; then
    echo "[setup] installing pinned CPU torch, then the project (a few minutes on a fresh machine)"
    # about 2.5 GB in the venv; no pip cache (it would double that on a small disk)
    free_mb=$(df -Pm . | awk 'NR==2 {print $4}')
    if [ "${free_mb:-0}" -lt 3500 ]; then
        echo "[setup] warning: only ${free_mb} MB free on $(df -P . | awk 'NR==2 {print $6}'); the install needs about 3 GB" >&2
    fi
    .venv/bin/pip install -q --no-cache-dir --upgrade pip
    .venv/bin/pip install -q --no-cache-dir torch==2.13.0
    .venv/bin/pip install -q --no-cache-dir -e ".[dev]"
    touch .venv/.installed
fi
echo "[setup] environment ready"
