#!/usr/bin/env bash
# Prepare the GPU run of benchmarks/gpu.py (issue 27), here, on a machine with pip and the
# Debian Fashion-MNIST package: fills the git-ignored folder .device/ of this checkout with
#   .device/fashion-mnist/  the four *-ubyte.gz files (31 MB)
#   .device/wheels/         cp312 manylinux x86-64 wheels of snakemake and exactly the packages
#                           the GPU machine's image lacks (scripts/device/wheels.py: which, and
#                           the check that the set is complete)
# and ignores /.device/ in .git/info/exclude.  The device run then carries it:
#   run(command="bash scripts/device/run.sh", carry=[".device"])
# Idempotent: wheels already there are kept.  PYTHON: the interpreter of this project's
# environment (default: the checkout's .venv/bin/python, made by `make setup`): the wheels take
# the versions installed there, which requirements.txt pins.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-.venv/bin/python}
if [ ! -x "$PY" ]; then
  echo "prepare.sh: $PY: no such interpreter; run make setup first (or set PYTHON)" >&2
  exit 1
fi
DEST=.device
FASHION=${FASHION_MNIST:-/usr/share/datasets/fashion-mnist}

mkdir -p "$DEST/fashion-mnist" "$DEST/wheels"
cp -u "$FASHION"/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz "$DEST/fashion-mnist/"

mapfile -t pins < <("$PY" scripts/device/wheels.py --pins)
platforms=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_24_x86_64 \
    manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux1_x86_64; do
  platforms+=(--platform "$p")
done
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
  --implementation cp "${platforms[@]}" -d "$DEST/wheels" "${pins[@]}"
mapfile -t sources < <("$PY" scripts/device/wheels.py --build-pins)
"$PY" -m pip wheel -q --no-deps --no-binary=:all: -w "$DEST/wheels" "${sources[@]}"
"$PY" scripts/device/wheels.py --check "$DEST/wheels"

exclude=$(git rev-parse --git-path info/exclude)
mkdir -p "$(dirname "$exclude")"
grep -qxF /.device/ "$exclude" 2>/dev/null || echo /.device/ >>"$exclude"
echo "prepare: $(du -sh "$DEST" | cut -f1) in $DEST (the run's carry limit: 64 MiB with the repo)"
