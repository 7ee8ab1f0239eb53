# The two entry points of the README; both set the machine up first (idempotent).
.PHONY: setup study test lint bench wheel-check reproduce

setup:
	bash scripts/setup.sh

study: setup
	.venv/bin/snakemake --profile workflow/profiles/local

test: setup
	.venv/bin/ruff check src tests benchmarks scripts
	.venv/bin/python -m pytest -q -n logical --dist loadfile --no-loadscope-reorder

# the default study's findings against the committed copy behind the README (rows that moved)
reproduce: setup
	.venv/bin/snakemake --profile workflow/profiles/local findings
	.venv/bin/python scripts/reproduce.py results

bench: setup
	.venv/bin/python benchmarks/bench.py

# the package as a user installs it: wheel -> fresh venv -> CLI and docs/api.md's examples
wheel-check:
	bash scripts/wheel_check.sh
