"""The real Snakemake workflow, end to end on a tiny study, and its incremental rebuilds."""

from __future__ import annotations

import re
import subprocess

import h5py
import pandas as pd
import pytest
import workflow_runs
import yaml

pytestmark = pytest.mark.workflow


def snakemake(workdir, *args) -> str:
    configfile = workdir / "config.yaml"
    cmd = workflow_runs.snakemake_args(configfile, workdir, "--cores", "2", *args)
    proc = subprocess.run(cmd, env=workflow_runs.env(), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def planned(workdir, *targets) -> dict[str, int]:
    """Jobs a dry run would execute, per rule."""
    out = snakemake(workdir, *targets, "--dry-run", "--quiet", "rules")
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", out, re.M) if m[1] != "total"}


def edit_config(workdir, edit) -> None:
    cfg = yaml.safe_load((workdir / "config.yaml").read_text())
    edit(cfg)
    workflow_runs.write_config(workdir, cfg)


#: two models, three layers, every analysis of the study
TINY = {
    "dataset": {"name": "fashion_mnist", "train_subset": 512, "test_subset": 500},
    "architectures": ["alexnet_small"],
    "models": [{"init_seed": 0}, {"init_seed": 1}],
    "training": {"epochs": 1, "batch_size": 64, "accelerator": "cpu"},
    "probe": {"size": 96, "batch_size": 48},
    "layers": ["conv1", "conv3", "fc7"],
    "analysis": {"blocks": 3, "chunk_images": 32, "sparse_folds": 3},
    "resources": {"train": {"threads": 1}, "dump": {"threads": 1}},
}


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """A finished tiny study in a temporary directory."""
    workdir = tmp_path_factory.mktemp("study")
    workflow_runs.write_config(workdir, TINY)
    snakemake(workdir)
    return workdir


def test_study_produces_models_activations_pairs_tables_and_figures(study):
    workdir = study
    r = workdir / "results"
    for m in ("i0-d0", "i1-d1"):
        assert (r / "models/alexnet_small" / m / "model.ckpt").stat().st_size > 0
        with h5py.File(r / "activations/alexnet_small" / f"{m}.h5") as f:
            assert f["layers/conv1"].shape == (96, 16, 28, 28)
            assert f["layers/fc7"].shape == (96, 256)
            assert f.attrs["architecture"] == "alexnet_small"
    pair = r / "pairs/alexnet_small/i0-d0__i1-d1"
    assert sorted(p.name for p in pair.glob("*.h5")) == ["conv1.h5", "conv3.h5", "fc7.h5"]
    summary = pd.read_csv(r / "tables/matching_summary.csv")
    assert summary["layer"].tolist() == ["conv1", "conv3", "fc7"]
    assert summary["semi_mean"].between(-1, 1).all()
    assert (summary["semi_mean"] >= summary["one_to_one_mean"] - 1e-12).all()
    assert summary.loc[0, "paper_semi"] == pytest.approx(0.703)
    accuracy = pd.read_csv(r / "tables/accuracy.csv")
    assert len(accuracy) == 2 and accuracy["test_acc"].between(0, 1).all()
    for name in (
        "correlation_matrices_conv1",
        "matched_correlation_sorted",
        "convergence_by_layer",
        "training_curves",
    ):
        for ext in ("pdf", "png"):
            assert (r / "figures" / f"{name}.{ext}").stat().st_size > 1000


def test_complete_study_has_nothing_to_do(study):
    workdir = study
    assert planned(workdir) == {}


def test_one_figure_rebuilds_only_itself(study):
    workdir = study
    (workdir / "results/figures/convergence_by_layer.pdf").unlink()
    assert planned(workdir, "results/figures/convergence_by_layer.pdf") == {"figure_convergence": 1}
    snakemake(workdir, "results/figures/convergence_by_layer.pdf")
    assert planned(workdir) == {}


def test_changing_an_analysis_option_reruns_analyses_but_never_training(study):
    workdir = study
    edit_config(workdir, lambda cfg: cfg["analysis"].update(blocks=4))
    jobs = planned(workdir)
    assert "train" not in jobs and "dump" not in jobs
    assert jobs["moments"] == 2 and jobs["compare"] == 3
    # an option of one analysis reruns that analysis alone
    snakemake(workdir)
    edit_config(workdir, lambda cfg: cfg["analysis"].update(mi_bins=6))
    jobs = planned(workdir)
    assert (
        jobs["mutual_information"] == 3
        and "compare" not in jobs
        and "sparse_prediction" not in jobs
    )
    snakemake(workdir)
    assert planned(workdir) == {}


def test_adding_a_seed_trains_one_model_and_compares_only_new_pairs(study):
    workdir = study
    ckpt = workdir / "results/models/alexnet_small/i0-d0/model.ckpt"
    before = ckpt.stat().st_mtime_ns
    edit_config(workdir, lambda cfg: cfg["models"].append({"init_seed": 2}))
    jobs = planned(workdir)
    assert jobs["train"] == 1 and jobs["dump"] == 1 and jobs["moments"] == 1
    assert jobs["compare"] == 2 * 3  # two new pairs × three layers
    snakemake(workdir)
    assert ckpt.stat().st_mtime_ns == before
    assert len(pd.read_csv(workdir / "results/tables/matching_per_pair.csv")) == 3 * 3
    assert planned(workdir) == {}


def test_bad_config_stops_before_any_job_naming_the_key(study, tmp_path):
    cfg = yaml.safe_load((study / "config.yaml").read_text())
    cfg["layers"] = ["conv1", "conv9"]
    workflow_runs.write_config(tmp_path, cfg)
    cmd = workflow_runs.snakemake_args(tmp_path / "config.yaml", tmp_path, "--cores", "1")
    proc = subprocess.run(cmd, env=workflow_runs.env(), capture_output=True, text=True)
    assert proc.returncode != 0
    assert "layers: conv9 not in architecture 'alexnet_small'" in proc.stdout + proc.stderr
    assert not (tmp_path / "results").exists()
