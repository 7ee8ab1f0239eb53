"""The benchmark scripts' own logic: the study-time accounting on planted job records, the
scale study's job counts (a dry run), and the GPU script's code path run on the CPU
(--device cpu --quick)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

import gpu  # noqa: E402
import scale  # noqa: E402
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
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text("training:\n  threads: 2\n")
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


def _records_named_by_output(folder: Path, rule: str, job: int, outputs: list[str]) -> None:
    """Metadata records as Snakemake writes them: one per output, named by its base64 path."""
    for output in outputs:
        name = base64.urlsafe_b64encode(output.encode()).decode()
        meta = {"rule": rule, "job_hash": job, "starttime": 1000.0, "endtime": 1010.0}
        (folder / name).write_text(json.dumps(meta))


def test_study_time_threads_from_the_run_log_else_the_study_config(tmp_path):
    """A rule's threads: the run log's `threads:` line (absent: 1) of a job that finished, else
    resources.<kind>.threads of the study's config over the workflow's defaults."""
    meta = tmp_path / ".snakemake" / "metadata"
    meta.mkdir(parents=True)
    _records_named_by_output(meta, "train", 1, ["results/models/a/model.ckpt", "results/a.csv"])
    _records_named_by_output(meta, "dump", 2, ["results/activations/a.h5"])
    _records_named_by_output(meta, "moments", 3, ["results/moments/a.h5"])
    log = tmp_path / ".snakemake" / "log"
    log.mkdir()
    (log / "2026-01-01T000000.000000.snakemake.log").write_text(
        "Job stats:\njob  count\n\nlocalrule train:\n"
        "    output: results/models/a/model.ckpt, results/a.csv\n    jobid: 5\n"
        "    wildcards: arch=x, model=a\n    threads: 3\n    resources: tmpdir=/tmp\n"
        "rule dump:\n    output: results/activations/a.h5\n    jobid: 6\n    threads: 4\n"
        "Finished jobid: 5 (Rule: train)\n"  # dump's job 6 never finished (e.g. a dry run)
    )
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text("resources:\n  dump: {threads: 5}\n")
    override = tmp_path / "study.yaml"
    override.write_text("resources:\n  dump: {threads: 6}\n")
    assert study_time.rule_threads(tmp_path) == {"train": 3, "dump": 5, "moments": 1}
    assert study_time.rule_threads(tmp_path, [override])["dump"] == 6
    defaults = study_time.config_threads(tmp_path / "elsewhere")
    assert defaults["train"] == defaults["dump"] == defaults["compare"] == 1


@pytest.mark.parametrize("seeds", [4, 8])
def test_scale_study_jobs_grow_with_models_times_layers_not_pairs(tmp_path, seeds):
    """The scale benchmark's study, dry-run: each per-pair analysis runs one job per later model
    of a pair and layer, (seeds - 1) x layers, and similarity one job per model (the pairs grow
    as seeds² / 2: 6 at 4 seeds, 28 at 8)."""
    config = scale.study_config(seeds)
    jobs = scale.job_counts(config, tmp_path)
    layers = scale.pair_rule_layers(config)
    assert set(layers) == {"compare", "mutual_information", "sparse_prediction", "clustering"}
    assert len(layers["compare"]) == 3 and len(layers["sparse_prediction"]) == 2
    assert jobs["train"] == seeds  # per-model work: once per model
    assert {rule: jobs[rule] for rule in layers} == {
        rule: (seeds - 1) * len(ls) for rule, ls in layers.items()}
    assert jobs["similarity"] == seeds
