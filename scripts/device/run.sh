#!/usr/bin/env bash
# Every GPU figure of issue 27 in one run, on the GPU machine, from the repository root, with OUT
# set (the folder whose files come back): installs the wheels that scripts/device/prepare.sh put
# in .device/wheels, then runs benchmarks/gpu.py (each section in its own process with its own
# time cap, within one overall budget), teeing everything to $OUT/gpu_log.txt; gpu.py writes the
# figures to $OUT/gpu_results.json as they come.
#
#   bash scripts/device/run.sh [gpu.py options]     # on the GPU machine (carry: [".device"])
#   OUT=/tmp/x PYTHON=.venv/bin/python bash scripts/device/run.sh --quick   # the CPU rehearsal
#
# Options go to benchmarks/gpu.py (--sections b,d  --budget 300  --quick ...).  The commit is
# CONVERGENT_COMMIT if set, else git's HEAD (the device's copy of the checkout has no .git).
set -uo pipefail
cd "$(dirname "$0")/../.."
: "${OUT:?set OUT to the folder for the log and the results}"
mkdir -p "$OUT"
PY=$(command -v "${PYTHON:-python3}")
ROOT=$PWD
SITE=${CONVERGENT_SITE:-/tmp/convergent-site}
export PYTHONUNBUFFERED=1

{
  # Snakemake and what it needs: from the carried wheels, unless this Python has them already
  if ! "$PY" -c "import snakemake, jsonschema, docutils" 2>/dev/null; then
    if ls .device/wheels/*.whl >/dev/null 2>&1; then
      "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target "$SITE" .device/wheels/*.whl || echo "run.sh: installing the wheels failed"
    else
      echo "run.sh: no .device/wheels (run scripts/device/prepare.sh and carry .device)"
    fi
  fi
  export PYTHONPATH="$ROOT/src:$SITE${PYTHONPATH:+:$PYTHONPATH}"
  # the workflow's rules call `convergent` and the benchmark `snakemake`: this Python's
  mkdir -p "$SITE/bin"
  printf '#!/bin/sh\nexec "%s" -m convergent "$@"\n' "$PY" >"$SITE/bin/convergent"
  printf '#!/bin/sh\nexec "%s" -m snakemake "$@"\n' "$PY" >"$SITE/bin/snakemake"
  chmod +x "$SITE/bin/convergent" "$SITE/bin/snakemake"
  export PATH="$SITE/bin:$PATH"
  data=()
  [ -d .device/fashion-mnist ] && data=(--data "$ROOT/.device/fashion-mnist")
  if [ -z "${CONVERGENT_COMMIT:-}" ]; then
    CONVERGENT_COMMIT=$(git rev-parse HEAD 2>/dev/null || echo unknown)
  fi
  export CONVERGENT_COMMIT
  "$PY" benchmarks/gpu.py --out "$OUT" "${data[@]}" "$@"
} 2>&1 | tee "$OUT/gpu_log.txt"
