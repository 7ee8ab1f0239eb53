#!/usr/bin/env bash
# The post-deploy script of both environments (<env>.post-deploy.sh links here): Snakemake runs it
# in a new environment right after creating it.  It installs this package from the checkout that
# runs the workflow, editable and without dependencies (the env file pins those).
# CONVERGENT_SOURCE is set by workflow/rules/common.smk: Snakemake creates the environment from a
# copy of the env file under .snakemake/conda/, and runs a copy of this script, so neither can
# find the checkout by a relative path.
set -euo pipefail
python -m pip install --no-deps -e "${CONVERGENT_SOURCE:?is set by workflow/rules/common.smk}"
