"""The benchmark scripts' own logic: the study-time accounting on planted job records, and the
GPU script's code path run on the CPU (--device cpu --quick)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

import gpu  # noqa: E402
import study_time  # noqa: E402


def _record(folder: Path, name: str, rule: str, job: int, start: float, end: float) -> None:
    meta = {"rule": rule, "job_hash": job, "starttime": start, "endtime": end}
    (folder / name).write_text(json.dumps(meta))


def test_study_time_counts_each_job_once_and_weights_threads(tmp_path):
    meta = tmp_path / ".snakemake" / "metadata"
    meta.mkdir(parents=True)
    # one train job with three outputs (100 s, 2 threads), two similarity jobs, one figure
    for k, end in enumerate((1100.0, 1100.002, 1100.004)):
        _record(meta, f"t{k}", "train", 7, 1000.0, end)
    _record(meta, "s1", "similarity", 8, 1100.0, 1130.0)
    _record(meta, "s2", "similarity", 9, 1130.0, 1140.0)
    _record(meta, "f1", "figure_training", 10, 1140.0, 1145.0)
    per_rule = study_time.rule_seconds(tmp_path)
    assert per_rule["train"][0] == 1 and per_rule["train"][1] == pytest.approx(100.0, abs=0.01)
    assert per_rule["similarity"] == (2, pytest.approx(40.0))
    rows = {r[0]: r[1:] for r in study_time.summary_rows(tmp_path)}
    assert rows["== training"] == ("200 core-s",)
    assert rows["== analysis"] == ("40 core-s",)
    assert rows["== analysis / training"][0].startswith("0.20x")
    assert rows["== first job start to last job end"] == ("145 s wall",)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize("quick", [False, True])
def test_gpu_script_study_configs_are_valid(device, quick):
    from convergent.study import validate

    config = gpu.study_config(device, quick)
    validate(config, gpu.ROOT / "config" / "schema.yaml")
    assert config["training"]["accelerator"] == ("gpu" if device == "cuda" else "cpu")
    assert (len(config["models"]) == 2) == quick


def test_gpu_script_runs_on_the_cpu(tmp_path):
    """The GPU script's code path, on the CPU at tiny sizes (the study section is skipped here:
    it is the workflow, which its own tests run)."""
    proc = subprocess.run(
        [sys.executable, str(BENCH / "gpu.py"), "--device", "cpu", "--quick", "--no-study"],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "OMP_NUM_THREADS": "1"},  # one thread: quick on a busy machine
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert "x the plain loop" in out
    accuracy = next(line for line in out.splitlines() if "test accuracy" in line)
    assert 10.0 < float(accuracy.split("|")[1].strip().rstrip(" %")) <= 100.0  # it learned
