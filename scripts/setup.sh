#!/usr/bin/env bash
# Set up this checkout on a fresh machine: the Fashion-MNIST Debian package (when apt-get is
# available) and .venv with the pinned environment of requirements.txt.  Idempotent: a second
# run only reinstalls when requirements.txt or pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "setup: Python >= 3.11 is required (found $(python3 --version))" >&2; exit 1; }

if [ ! -d /usr/share/datasets/fashion-mnist ] && command -v apt-get >/dev/null; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "setup: installing Debian package dataset-fashion-mnist"
  if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq dataset-fashion-mnist; } >/dev/null; then
    echo "setup: warning: could not install dataset-fashion-mnist; the study will try a torchvision download" >&2
  fi
fi

stamp=.venv/.installed
if [ ! -f "$stamp" ] || [ requirements.txt -nt "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: creating .venv (torch is large: a few minutes)"
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements.txt
  .venv/bin/pip install -q --no-deps -e .
  touch "$stamp"
fi

# The package's bytecode, compiled here once: every job is a process that imports it, and a
# Python told not to write bytecode (PYTHONDONTWRITEBYTECODE) would compile it afresh in each
# (~0.2 s of CPU a job; a stale file is recompiled, so an edit is never missed)
.venv/bin/python -m compileall -q src >/dev/null
