#!/usr/bin/env bash
# The package as a user installs it: build the wheel, install it in a fresh venv (at the
# study's pinned versions: torch then comes from the machine's disk) and run the CLI and
# docs/api.md's examples against it, outside the source tree.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
start=$SECONDS
python3 -m venv "$tmp/venv"
# build from a copy: setuptools leaves build/ and *.egg-info beside the sources it builds
mkdir "$tmp/source"
cp -r "$src/pyproject.toml" "$src/README.md" "$src/LICENSE" "$src/src" "$tmp/source/"
"$tmp/venv/bin/pip" wheel -q --no-deps -w "$tmp/dist" "$tmp/source"
"$tmp/venv/bin/pip" install -q -c "$src/requirements.txt" "$tmp"/dist/convergent-*.whl
cd "$tmp"
installed="$(venv/bin/python -c 'import convergent; print(convergent.__file__)')"
case "$installed" in
  "$tmp/venv/"*) ;;
  *) echo "wheel check: imported $installed, not the wheel" >&2; exit 1 ;;
esac
venv/bin/convergent --version
venv/bin/convergent --help >/dev/null
venv/bin/python "$src/tests/api_examples.py" "$src/docs/api.md"
echo "wheel check: $((SECONDS - start)) s"
