"""Run the real workflow on a tiny study (shared by the Slurm and report tests).

The tiny study trains two Fashion-MNIST models for one epoch on the CPU and compares two layers;
its resources are set small so that the one-node CI Slurm cluster runs two jobs at once.  A
finished local run is made once per test session, whichever pytest-xdist worker asks first: the
report, Slurm (which compares its outputs with it) and neural-demo tests share it, read-only.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = str(Path(sys.executable).parent)
SNAKEMAKE = str(Path(VENV_BIN) / "snakemake")

TINY_STUDY = {
    "dataset": {"name": "fashion_mnist", "train_subset": 600, "test_subset": 500},
    "architectures": ["alexnet_small"],
    "models": [{"init_seed": 0}, {"init_seed": 1}],
    "training": {"epochs": 1, "batch_size": 64, "accelerator": "cpu"},
    "probe": {"size": 120, "batch_size": 50},
    "layers": ["conv1", "fc7"],
    "analysis": {"blocks": 4, "chunk_images": 32},
    "similarity": {"enabled": False},
    # gpu: 0 -- the CI node has no GPU, and a GPU request there is refused at submission.
    "resources": {
        "train": {"threads": 1, "mem_mb": 1500, "runtime": 10, "gpu": 0},
        "dump": {"threads": 1, "mem_mb": 1200, "runtime": 10, "gpu": 0},
        "analysis": {"mem_mb": 1000, "runtime": 10},
        "figure": {"mem_mb": 800, "runtime": 10},
    },
}

# The core pipeline (train, dump, moments, compare, tables, figures): the analyses added on top
# of it have their own tests, and keeping them out keeps the Slurm test within its CI budget.
CORE_TARGETS = [
    "results/tables/matching_per_pair.csv",
    "results/tables/matching_summary.csv",
    "results/tables/accuracy.csv",
    "results/figures/matched_correlation_sorted.png",
    "results/figures/convergence_by_layer.png",
    "results/figures/training_curves.png",
    "results/figures/correlation_matrices_conv1.png",
]


def env() -> dict[str, str]:
    """The environment of workflow runs: the venv's CLIs (snakemake, convergent) first on PATH."""
    return {**os.environ, "PATH": VENV_BIN + os.pathsep + os.environ.get("PATH", "")}


def write_config(folder: Path, config: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def snakemake_args(configfile: Path, workdir: Path, *extra: str) -> list[str]:
    return [
        SNAKEMAKE,
        "-s",
        str(ROOT / "Snakefile"),
        "--configfile",
        str(configfile),
        "--directory",
        str(workdir),
        *extra,
    ]


def run_local(tmp_path_factory: pytest.TempPathFactory, timeout: int = 300) -> Path:
    """The core targets of the tiny study, run through the local profile once per test session
    (the workers of pytest-xdist share the session's temporary root; a lock file makes the
    others wait for the first); returns the workdir, which callers copy and never modify."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    root = shared / "tiny-local-run"
    workdir = root / "local"
    with open(shared / "tiny-local-run.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (root / "finished").exists():
            return workdir
        configfile = write_config(root, TINY_STUDY)
        args = snakemake_args(configfile, workdir, "--profile", "workflow/profiles/local",
                              "--cores", "2", *CORE_TARGETS)
        proc = subprocess.run(
            args, cwd=ROOT, env=env(), capture_output=True, text=True, timeout=timeout
        )
        (root / "local.out").write_text(proc.stdout + proc.stderr)
        assert proc.returncode == 0, f"local run failed:\n{proc.stderr[-4000:]}"
        (root / "finished").touch()
    return workdir
