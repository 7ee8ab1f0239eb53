"""The benchmark scripts' own logic: the study-time accounting on planted job records, the
scale study's job counts (a dry run), the GPU run's code path run on the CPU
(scripts/device/run.sh --quick), the recipe sweep's images-to-accuracy, and the wheels the GPU
machine is sent."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
sys.path.insert(0, str(BENCH))

import gpu  # noqa: E402
import recipe  # noqa: E402, F401  (its pure functions)
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


def test_device_run_script_runs_on_the_cpu(tmp_path):
    """scripts/device/run.sh --quick: the device run's code path here.  Each section runs in
    its own capped process: one stopped at its cap is reported as such and the next one runs;
    the log and gpu_results.json land in OUT, the commit from CONVERGENT_COMMIT (the device's
    copy has no .git), and torch's float64 sums equal numpy's.  b's cap is 1 s: it trains a
    model in a Python of its own, which no machine does in 1 s (at 8 s a fast one finished)."""
    out = tmp_path / "out"
    proc = subprocess.run(
        ["bash", str(ROOT / "scripts" / "device" / "run.sh"), "--quick", "--device", "cpu",
         "--sections", "a,b,g", "--caps", "b=1"],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "OUT": str(out), "PYTHON": sys.executable, "OMP_NUM_THREADS": "1",
             "CONVERGENT_COMMIT": "abc123", "CONVERGENT_SITE": str(tmp_path / "site")},
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    results = json.loads((out / "gpu_results.json").read_text())
    assert {s["key"]: s["status"] for s in results["sections"]} == {
        "a": "exit 0", "b": "stopped at its cap (1 s)", "g": "exit 0"}
    figures = {(f["section"], f["name"]): f for s in results["sections"] for f in s["figures"]}
    assert figures["a", "commit"]["value"] == "abc123" == results["commit"]
    assert figures["a", "device"]["value"] == "cpu"
    sums = [f for (section, _), f in figures.items() if section == "g" and "max rel diff" in
            f["note"]]
    assert len(sums) == 2
    assert all(float(f["note"].split("max rel diff ")[1]) < 1e-12 for f in sums)
    log = (out / "gpu_log.txt").read_text()
    assert "# summary: sections" in log and "b. training throughput" in log
    assert "g: cross sums 2,000 x 64" in log


def test_a_sigtermed_recipe_training_ends_its_worker_process(monkeypatch, tmp_path):
    """fit's SystemExit on SIGTERM leaves the worker (os._exit with its status) instead of
    passing to the pool as an error, after which the worker would train the next seed; the
    training's temporary folder is gone."""
    import convergent.training

    folders = []

    def stopped(spec, outdir):
        folders.append(outdir)
        raise SystemExit(143)

    class Exited(Exception):
        pass

    def exit_(status):
        raise Exited(status)

    monkeypatch.setattr(convergent.training, "fit", stopped)
    monkeypatch.setattr(recipe.os, "_exit", exit_)
    with pytest.raises(Exited) as ended:
        recipe.train_one({})
    assert ended.value.args == (143,)
    assert len(folders) == 1 and not os.path.exists(folders[0])


def test_recipe_images_to_91_percent_follow_the_schedule():
    """Images to 91 %: the first epoch at which every seed is >= 91 % under a schedule whose
    first epochs are a shorter run (step, constant); the whole run under onecycle, and only if
    its last epoch is >= 91 % for every seed."""

    runs = [{"accuracy": [0.90, 0.912, 0.915]}, {"accuracy": [0.91, 0.911, 0.909]}]
    epoch = 60_000 // 256 * 256
    step = recipe.recipe_config({"epochs": 3, "schedule": "step"}, "cpu", None, False)
    assert recipe.images_to_target({}, step, runs) == (2, 2 * epoch)
    onecycle = recipe.recipe_config({"epochs": 3}, "cpu", None, False)
    assert recipe.images_to_target({}, onecycle, runs) == (2, None)  # seed 2 ends < 91 %
    runs[1]["accuracy"][2] = 0.92
    assert recipe.images_to_target({}, onecycle, runs) == (2, 3 * epoch)
    assert recipe.snippet({"epochs": 3}).startswith("training: {")
    assert "epochs: 3" in recipe.snippet({"epochs": 3})


def test_device_wheels_are_what_the_gpu_machine_lacks_at_the_pinned_versions():
    """scripts/device/wheels.py's pins: snakemake's dependency tree (markers for CPython 3.12),
    jsonschema and docutils, less what the GPU machine holds and pulp (Snakemake's ILP
    scheduler: the study runs with --scheduler greedy), each at requirements.txt's version."""
    sys.path.insert(0, str(ROOT / "scripts" / "device"))
    import wheels

    lines = (ROOT / "requirements.txt").read_text().splitlines()
    pinned = {wheels.normal(name): version
              for name, version in (line.split("==") for line in lines if "==" in line)}
    pins = wheels.pins()
    assert {"snakemake", "snakemake-interface-common", "yte", "jsonschema", "docutils",
            "connection-pool"} <= pins.keys()
    assert not pins.keys() & (wheels.DEVICE_HAS | wheels.LEFT_OUT | {"torch", "numpy"})
    assert {n: pinned.get(n) for n in pins} == pins


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
    # a --configfile stands alone, as in the Snakefile: the folder's config is not under it
    alone = tmp_path / "alone.yaml"
    alone.write_text("resources:\n  analysis: {threads: 2}\n")
    assert study_time.rule_threads(tmp_path, [alone])["dump"] == 1
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
