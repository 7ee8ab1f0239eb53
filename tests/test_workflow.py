"""The real Snakemake workflow on a tiny study: its outputs, which jobs an edit reruns, and the
central promise — after any config edit an incremental run equals a clean run of the edited
config, also when Snakemake itself was killed on the way.

Cost control: one clean base run; every edit's job set (one edit per config section) is checked
by a dry run on a copy of it; the edits are then run in rounds of edits with nested rerun
scopes (training and a new seed; probe size, layers and analysis blocks; one Li, one similarity
and one figure option), each compared file by file with a clean run of the same config (the
first one killed on the way and at --cores 1: the same numbers at any core count; the others,
whose edits leave training alone, from the base's trained networks).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import workflow_runs

pytestmark = pytest.mark.workflow

#: two models, two layers, every analysis family of the study, small enough to run often
TINY = {
    "dataset": {"name": "fashion_mnist", "train_subset": 512, "test_subset": 500},
    "architectures": ["alexnet_small"],
    "models": [{"init_seed": 0}, {"init_seed": 1}],
    "training": {"epochs": 1, "batch_size": 64, "accelerator": "cpu"},
    "probe": {"size": 64, "batch_size": 32},
    "layers": ["conv1", "fc7"],
    "analysis": {"blocks": 3, "chunk_images": 16, "sparse_folds": 3},
    "similarity": {"bootstrap": 10, "kendall": False, "nulls": {"untrained": False}},
    # the network jobs are given two threads (one at --cores 1): the numbers must not change
    "resources": {"train": {"threads": 2}, "dump": {"threads": 2}},
}
#: one output of every rule family (the unit figure stands for all figures)
TARGETS = [
    "results/tables/accuracy.csv",
    "results/tables/matching_summary.csv",
    "results/tables/mutual_information_summary.csv",
    "results/tables/sparse_prediction.csv",
    "results/tables/clustering_composition.csv",
    "results/tables/similarity_summary.csv",
    "results/figures/convergence_by_layer.png",
    "results/figures/training_curves.png",
    "results/figures/unit_pairs_conv1.png",
    "results/findings.md",
]
#: summary.json keys that time the run rather than describe its result
TIMING = {"train_seconds_last_session"}


def command(workdir: Path, *args: str) -> list[str]:
    return workflow_runs.snakemake_args(
        workdir / "config.yaml", workdir, "--profile", "workflow/profiles/local", "--cores", "2",
        *args,
    )


def snakemake(workdir: Path, *args: str) -> str:
    proc = subprocess.run(
        command(workdir, *args), cwd=workflow_runs.ROOT, env=workflow_runs.env(),
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def planned(workdir: Path, *targets: str) -> dict[str, int]:
    """Jobs a dry run would execute, per rule (the named targets left out)."""
    out = snakemake(workdir, *(targets or TARGETS), "--dry-run", "--quiet", "rules")
    return {
        m[1]: int(m[2])
        for m in re.finditer(r"^(\w+)\s+(\d+)$", out, re.M)
        if m[1] not in ("total", "all", "li2016", "kornblith2019")
    }


def write_config(workdir: Path, config: dict) -> None:
    workflow_runs.write_config(workdir, config)


def edited(config: dict, *edits: Callable[[dict], None]) -> dict:
    config = json.loads(json.dumps(config))
    for edit in edits:
        edit(config)
    return config


def clean_run(folder: Path, config: dict, *args: str) -> Path:
    write_config(folder, config)
    snakemake(folder, *TARGETS, *args)
    return folder


def copy_of(workdir: Path, folder: Path) -> Path:
    """A copy of a finished run, modification times and Snakemake's records included."""
    shutil.copytree(workdir, folder, symlinks=True)
    return folder


def trained_only(workdir: Path, folder: Path) -> Path:
    """A copy of a finished run's trained networks (with Snakemake's records of them) and no
    other result: a clean start for every job after training."""
    copy_of(workdir, folder)
    for path in (folder / "results").iterdir():
        if path.is_dir() and path.name != "models":
            shutil.rmtree(path)
        elif path.is_file():
            path.unlink()
    return folder


# ------------------------------------------------------------------ comparing two runs
def _h5_contents(path: Path) -> dict[str, object]:
    out: dict[str, object] = {}
    with h5py.File(path, "r") as f:
        def visit(name: str, obj) -> None:
            for key, value in obj.attrs.items():
                out[f"{name}@{key}"] = value
            if isinstance(obj, h5py.Dataset):
                out[name] = obj[()]

        out.update({f"@{k}": v for k, v in f.attrs.items()})
        f.visititems(visit)
    return out


def result_files(workdir: Path) -> list[Path]:
    """Every file under results/ except the job logs (they hold timings and paths)."""
    root = workdir / "results"
    return sorted(
        p.relative_to(workdir) for p in root.rglob("*")
        if p.is_file() and "logs" not in p.relative_to(root).parts[:1]
    )


def assert_same_results(a: Path, b: Path) -> None:
    """Every output of two runs is equal: arrays and attributes exactly, tables exactly,
    summaries but for timings, checkpoints and figures byte for byte."""
    files = result_files(a)
    assert files == result_files(b), "the two runs made different files"
    for rel in files:
        fa, fb = a / rel, b / rel
        if rel.suffix == ".h5":
            ca, cb = _h5_contents(fa), _h5_contents(fb)
            assert ca.keys() == cb.keys(), rel
            for key in ca:
                np.testing.assert_array_equal(ca[key], cb[key], err_msg=f"{rel}:{key}")
        elif rel.suffix == ".csv":
            pd.testing.assert_frame_equal(pd.read_csv(fa), pd.read_csv(fb), check_exact=True,
                                          obj=str(rel))
        elif rel.suffix == ".json":
            ja, jb = (
                {k: v for k, v in json.loads(f.read_text()).items() if k not in TIMING}
                for f in (fa, fb)
            )
            assert ja == jb, rel
        else:
            digest = [hashlib.sha256(f.read_bytes()).hexdigest() for f in (fa, fb)]
            assert digest[0] == digest[1], f"{rel} differs"


# ------------------------------------------------------------------ the base run
@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """A finished tiny study; never modified (tests work on copies)."""
    return clean_run(tmp_path_factory.mktemp("base"), TINY)


@pytest.fixture(scope="module")
def base_jobs(tmp_path_factory) -> dict[str, int]:
    """Every job of the targets, planned in an empty folder."""
    folder = tmp_path_factory.mktemp("empty")
    write_config(folder, TINY)
    return planned(folder)


def test_study_produces_models_activations_pairs_tables_and_figures(base):
    r = base / "results"
    for m in ("i0-d0", "i1-d1"):
        assert (r / "models/alexnet_small" / m / "model.ckpt").stat().st_size > 0
        assert sorted(p.name for p in (r / "models/alexnet_small" / m).iterdir()) == [
            "metrics.csv", "model.ckpt", "summary.json"
        ]  # no resume state or Lightning checkpoints are left behind
        with h5py.File(r / "activations/alexnet_small" / f"{m}.h5") as f:
            assert f["layers/conv1"].shape == (64, 16, 28, 28)
            assert f["layers/fc7"].shape == (64, 256)
            assert f.attrs["model"] == f"alexnet_small/{m}"
    block = r / "pairs/alexnet_small/i1-d1"  # model i1-d1's pairs: with i0-d0
    assert sorted(p.name for p in block.glob("*.h5")) == ["conv1.h5", "fc7.h5"]
    with h5py.File(block / "conv1.h5") as f:
        assert list(f.attrs["members"]) == ["i0-d0"] and f.attrs["kind"] == "pair"
    summary = pd.read_csv(r / "tables/matching_summary.csv")
    assert summary["layer"].tolist() == ["conv1", "fc7"]
    assert summary["semi_mean"].between(-1, 1).all()
    assert (summary["semi_mean"] >= summary["one_to_one_mean"] - 1e-12).all()
    assert summary.loc[0, "paper_semi"] == pytest.approx(0.703)
    accuracy = pd.read_csv(r / "tables/accuracy.csv")
    assert len(accuracy) == 2 and accuracy["test_acc"].between(0, 1).all()
    for name in ("convergence_by_layer", "training_curves", "unit_pairs_conv1"):
        for ext in ("pdf", "png"):
            assert (r / "figures" / f"{name}.{ext}").stat().st_size > 1000


def test_outputs_are_readable_by_colleagues(base):
    """0666 less the umask (022 here): not mkstemp's private 0600."""
    for rel in result_files(base):
        assert (base / rel).stat().st_mode & 0o777 == 0o644, rel


def test_complete_study_has_nothing_to_do(base):
    assert planned(base) == {}


def test_one_figure_rebuilds_only_itself(base, tmp_path):
    work = copy_of(base, tmp_path / "w")
    target = "results/figures/convergence_by_layer.pdf"
    (work / target).unlink()
    assert planned(work, target) == {"figure_convergence": 1}
    snakemake(work, target)
    assert planned(work, target) == {} and planned(work) == {}


# ------------------------------------------------------------------ which jobs an edit reruns
def _training(c):
    c["training"]["epochs"] = 2


def _seed(c):
    c["models"].append({"init_seed": 2})


def _probe(c):
    c["probe"]["size"] = 80


def _layers(c):
    c["layers"] = ["conv1", "conv3", "fc7"]


def _blocks(c):
    c["analysis"]["blocks"] = 4


def _li_option(c):
    c["analysis"]["mi_bins"] = 6


def _similarity_option(c):
    c["similarity"]["bootstrap"] = 12


def _figure_option(c):
    c["figures"] = {"unit_k": 4}


def _job_threads(c):
    c["resources"] = {"train": {"threads": 1}, "dump": {"threads": 1}}


#: rules whose jobs depend on the activation dumps (all but train), for the edits above
PER_PAIR_AND_LAYER = ("compare", "mutual_information", "clustering")
EXPECTED = {
    # everything, from training on
    "training": lambda base: dict(base),
    # one model trained; its block (two new pairs) x two layers; conv1 (the one sparse layer);
    # the new model's one similarity job (both new pairs)
    "seed": lambda base: {
        "train": 1, "dump": 1, "moments": 1, "compare": 2, "mutual_information": 2,
        "clustering": 2, "sparse_prediction": 1, "similarity": 1, "accuracy_table": 1,
        "matching_tables": 1, "mi_tables": 1, "sparse_tables": 1, "clustering_table": 1,
        "similarity_tables": 1, "figure_convergence": 1, "figure_training": 1,
        "mean_activation_table": 1, "study_findings": 1,
    },
    # everything after training
    "probe": lambda base: {
        k: v for k, v in base.items() if k not in ("train", "accuracy_table", "figure_training")
    },
    # dumps rerun (they hold the layers); conv3 adds a job per block of each per-layer rule
    "layers": lambda base: {
        **{k: v for k, v in base.items()
           if k not in ("train", "accuracy_table", "figure_training")},
        **{rule: 3 for rule in PER_PAIR_AND_LAYER},
        "sparse_prediction": 2,
    },
    # moments and everything after them; no training, no dumps
    "blocks": lambda base: {
        k: v for k, v in base.items()
        if k not in ("train", "dump", "accuracy_table", "figure_training", "top_units")
    },
    # the findings name the study by its config's hash: every edit rewrites them
    "li_option": lambda base: {"mutual_information": 2, "mi_tables": 1, "study_findings": 1},
    # the convergence figure draws the similarity analyses' floors
    "similarity_option": lambda base: {"similarity": 1, "similarity_tables": 1,
                                       "figure_convergence": 1, "study_findings": 1},
    "figure_option": lambda base: {"figure_unit_pairs": 1, "study_findings": 1},
    # threads reserve cores and change no number: nothing reruns
    "job_threads": lambda base: {},
}
EDITS = {
    "training": _training, "seed": _seed, "probe": _probe, "layers": _layers, "blocks": _blocks,
    "li_option": _li_option, "similarity_option": _similarity_option,
    "figure_option": _figure_option, "job_threads": _job_threads,
}


def test_each_edit_reruns_exactly_its_dependants(base, base_jobs, tmp_path):
    work = copy_of(base, tmp_path / "w")
    assert base_jobs["train"] == 2 and base_jobs["compare"] == 2
    for name, edit in EDITS.items():
        write_config(work, edited(TINY, edit))
        assert planned(work) == EXPECTED[name](base_jobs), name
    write_config(work, TINY)  # back to the base config: nothing to do
    assert planned(work) == {}


# ------------------------------------------------------------------ incremental = clean
#: edits run together when their rerun scopes nest (each edit's own scope is checked above)
ROUNDS = {
    # everything from training on, plus a model; the clean run (killed, then recovered) at
    # --cores 1 gives its network jobs one thread each, the incremental run two: the same
    # numbers at any core count (with the dry run above: a threads edit reruns nothing)
    "training_and_seed": (_training, _seed),
    "probe_layers_blocks": (_probe, _layers, _blocks),  # everything from the dumps on
    "analysis_options": (_li_option, _similarity_option, _figure_option),  # single analyses
}


def _killed_then_recovered(folder: Path, config: dict, *args: str) -> Path:
    """A clean run whose Snakemake is killed with SIGKILL (with its jobs) during training; the
    README's recovery (--unlock, then the same command) must finish it."""
    write_config(folder, config)
    proc = subprocess.Popen(
        command(folder, *TARGETS, *args), cwd=workflow_runs.ROOT, env=workflow_runs.env(),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    models = folder / "results/models/alexnet_small"
    deadline = time.time() + 300
    while proc.poll() is None and time.time() < deadline:
        if any(models.glob("*/resume/last.ckpt")):
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert any((folder / ".snakemake/locks").iterdir()), "killed too late: nothing was locked"
    blocked = subprocess.run(
        command(folder, *TARGETS, *args), cwd=workflow_runs.ROOT, env=workflow_runs.env(),
        capture_output=True, text=True,
    )
    assert blocked.returncode != 0 and "--unlock" in blocked.stdout + blocked.stderr
    snakemake(folder, *TARGETS, *args, "--unlock")
    snakemake(folder, *TARGETS, *args)
    return folder


@pytest.mark.parametrize("round_name", list(ROUNDS))
def test_incremental_run_after_an_edit_equals_a_clean_run(round_name, base, tmp_path):
    config = edited(TINY, *ROUNDS[round_name])
    work = copy_of(base, tmp_path / "incremental")
    write_config(work, config)
    snakemake(work, *TARGETS)
    assert planned(work) == {}
    if round_name == "training_and_seed":
        clean = _killed_then_recovered(tmp_path / "clean", config, "--cores", "1")
    else:
        # these edits leave training alone (its clean run is the round above): the clean run
        # starts from the base's trained networks and runs every later job afresh
        clean = clean_run(trained_only(base, tmp_path / "clean"), config)
    assert_same_results(work, clean)


def test_bad_config_stops_before_any_job_naming_the_key(tmp_path):
    cfg = edited(TINY, lambda c: c.update(layers=["conv1", "conv9"]))
    write_config(tmp_path, cfg)
    cmd = command(tmp_path, "--cores", "1")
    proc = subprocess.run(cmd, cwd=workflow_runs.ROOT, env=workflow_runs.env(),
                          capture_output=True, text=True)
    assert proc.returncode != 0
    assert "layers: conv9 not in architecture 'alexnet_small'" in proc.stdout + proc.stderr
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("accelerator, gpu", [("cpu", "0"), ("auto", "1")])
def test_network_jobs_ask_for_a_gpu_only_if_they_may_use_one(accelerator, gpu, tmp_path):
    """A CPU study must not ask Slurm for GPUs (a CPU-only partition refuses the request)."""
    write_config(tmp_path, edited(TINY, lambda c: c["training"].update(accelerator=accelerator)))
    out = snakemake(tmp_path, *TARGETS, "--dry-run")
    jobs = re.findall(r"^rule (train|dump|moments):\n(?:\s+.*\n)*?\s+resources: (.*)$", out, re.M)
    assert {rule for rule, _ in jobs} == {"train", "dump", "moments"}
    for rule, resources in jobs:
        expected = f"gpu={gpu}" if rule != "moments" else None
        found = re.search(r"gpu=(\d+)", resources)
        assert (found and found.group(0)) == expected, (rule, resources)


@pytest.mark.parametrize("visible, slots", [("", os.cpu_count()), ("0,1", 2)])
def test_the_local_profile_runs_network_jobs_side_by_side_on_a_cpu_machine(
        visible, slots, monkeypatch):
    """Without a GPU the network jobs (gpu=1 under accelerator auto) run on the CPU, each on
    training.threads: the cores bound them, not one GPU token (which trained the default
    study's seeds one after another on a 2-core machine); with GPUs, one job per GPU."""
    import yte

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    profile = workflow_runs.ROOT / "workflow" / "profiles" / "local" / "config.yaml"
    with open(profile) as f:
        assert yte.process_yaml(f)["resources"]["gpu"] == slots


def test_a_block_job_asks_for_its_pairs_time(tmp_path):
    """Per-pair work runs one job per later model: its runtime request (Slurm's time limit) is
    the configured runtime per pair times the pairs it holds, its memory one pair's."""
    def edit(c):
        _seed(c)
        c["resources"]["analysis"] = {"runtime": 7, "mem_mb": 900}

    write_config(tmp_path, edited(TINY, edit))
    out = snakemake(tmp_path, *TARGETS, "--dry-run")
    jobs = re.findall(r"^rule (compare|similarity):\n(?:\s+.*\n)*?\s+wildcards: .*model=([\w-]+)"
                      r".*\n\s+resources: .*runtime=(\d+), mem_mb=(\d+)", out, re.M)
    partners = {"i1-d1": 1, "i2-d2": 2}  # of each layer's compare job; similarity: all layers
    assert sorted((r, m) for r, m, _, _ in jobs) == sorted(
        [("compare", m) for m in partners for _ in TINY["layers"]]
        + [("similarity", m) for m in partners])
    for rule, model, runtime, mem_mb in jobs:
        assert (int(runtime), int(mem_mb)) == (7 * partners[model], 900), (rule, model)


def test_a_failed_job_shows_its_log(tmp_path):
    """Jobs write their output to results/logs/<rule>/; the log of a failed job (the step's
    one-line error) is printed on the console all the same (the profiles' show-failed-logs)."""
    write_config(tmp_path, TINY)
    model = tmp_path / "results/models/alexnet_small/i0-d0"
    model.mkdir(parents=True)
    for name in ("model.ckpt", "metrics.csv", "summary.json"):
        (model / name).write_text("x\n")
    dump = tmp_path / "results/activations/alexnet_small/i0-d0.h5"
    dump.parent.mkdir(parents=True)
    dump.write_text("not an HDF5 file\n")  # newer than the model: only moments runs
    target = "results/moments/alexnet_small/i0-d0.h5"
    proc = subprocess.run(command(tmp_path, target), cwd=workflow_runs.ROOT,
                          env=workflow_runs.env(), capture_output=True, text=True)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    log = "results/logs/moments/alexnet_small/i0-d0.log"
    error = (tmp_path / log).read_text().strip()
    assert error.startswith("convergent moments: error: results/activations/"), error
    assert f"Logfile {log}:" in out and error in out


def test_named_targets_build_one_paper_each(base, tmp_path):
    """li2016: Li et al.'s analyses, and the similarity analyses only for the convergence
    figure's floors (none without them); kornblith2019: the similarity measures and none of Li
    et al.'s extra analyses; after the base run (which made every table but not every figure)
    only figures and the report's pages of tables are left to draw."""
    write_config(tmp_path, TINY)
    li = planned(tmp_path, "li2016")
    assert {"mutual_information", "sparse_prediction", "clustering", "figure_unit_pairs"} <= set(li)
    assert li["similarity"] == 1 and "figure_training" not in li
    assert not {r for r in li if r.startswith("figure_similarity")}
    write_config(tmp_path, edited(TINY, lambda c: c["similarity"].update(enabled=False)))
    assert "similarity" not in planned(tmp_path, "li2016")
    write_config(tmp_path, TINY)
    kornblith = planned(tmp_path, "kornblith2019")
    assert kornblith["similarity"] == 1 and "mutual_information" not in kornblith
    for target in ("li2016", "kornblith2019"):
        left = planned(base, target)
        others = sorted(r for r in left if not r.startswith("figure_") and r != "table_html")
        assert left and not others, (target, others)
