"""A builder module given by import path (docs/own_networks.md) imports in the up-front check
exactly where it imports in the jobs: one in the study's working directory works in both, one
only this process can import fails the check in one line."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from test_own_networks import SCHEMA, config
from workflow_runs import VENV_BIN

from convergent import study

BUILDER = """
from torch import nn


def build(num_classes, in_channels, image_size):
    return nn.Sequential(nn.Conv2d(in_channels, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4 * image_size**2, num_classes))
"""


def own_study(module: str) -> dict:
    return config(architectures=[{"name": "mine", "builder": f"{module}:build",
                                  "layers": {"conv1": "1"}}], layers=["conv1"])


def test_a_builder_in_the_working_directory_imports_in_the_check_and_in_a_job(
        tmp_path, monkeypatch):
    (tmp_path / "wd_nets.py").write_text(BUILDER)
    monkeypatch.chdir(tmp_path)
    cfg = own_study("wd_nets")
    study.validate(cfg, SCHEMA)
    # a job as common.smk starts it: the CLI (not `python -c`, which adds the working
    # directory itself) with the jobs' PYTHONPATH
    spec = {"arch": "mine", "init_seed": 0, "dataset": cfg["dataset"],
            "architectures": study.defined_architectures(cfg)}
    job = subprocess.run(
        [os.path.join(VENV_BIN, "convergent"), "untrained", "--spec", json.dumps(spec),
         "--out", "untrained.ckpt"],
        env={**os.environ, "PYTHONPATH": study.job_pythonpath()},
        capture_output=True, text=True, timeout=120)
    assert job.returncode == 0, job.stderr[-2000:]
    assert (tmp_path / "untrained.ckpt").stat().st_size > 0


def test_a_builder_only_this_process_imports_fails_the_check_in_one_line(
        tmp_path, monkeypatch):
    elsewhere, work = tmp_path / "elsewhere", tmp_path / "study"
    elsewhere.mkdir()
    work.mkdir()
    (elsewhere / "elsewhere_nets.py").write_text(BUILDER)
    monkeypatch.syspath_prepend(str(elsewhere))  # as Snakemake adds the Snakefile's folder
    monkeypatch.chdir(work)
    with pytest.raises(study.ConfigError) as caught:
        study.validate(own_study("elsewhere_nets"), SCHEMA)
    assert str(caught.value) == (
        "architectures[0].builder: 'elsewhere_nets:build' imports here but not in the jobs "
        f"(they import from the working directory {work}, PYTHONPATH and installed packages); "
        "put the folder holding 'elsewhere_nets' on PYTHONPATH or install it")
