"""The real Snakemake workflow, end to end on a tiny study, and its incremental rebuilds."""

from __future__ import annotations

import re
import subprocess

import h5py
import pandas as pd
import pytest
import yaml
from conftest import ROOT

pytestmark = pytest.mark.workflow


def snakemake(workdir, env, *args) -> str:
    cmd = [
        "snakemake",
        "-s",
        str(ROOT / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(workdir / "config.yaml"),
        "--cores",
        "2",
        *args,
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def planned(workdir, env, *targets) -> dict[str, int]:
    """Jobs a dry run would execute, per rule."""
    out = snakemake(workdir, env, *targets, "--dry-run", "--quiet", "rules")
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", out, re.M) if m[1] != "total"}


def write_config(workdir, cfg) -> None:
    (workdir / "config.yaml").write_text(yaml.safe_dump(cfg))


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """A finished tiny study (2 models, 3 layers) in a temporary directory."""
    import os

    from conftest import TINY_CONFIG, VENV_BIN

    env = {**os.environ, "PATH": VENV_BIN + os.pathsep + os.environ["PATH"]}
    workdir = tmp_path_factory.mktemp("study")
    write_config(workdir, TINY_CONFIG)
    snakemake(workdir, env)
    return workdir, env


def test_study_produces_models_activations_pairs_tables_and_figures(study):
    workdir, _ = study
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
    workdir, env = study
    assert planned(workdir, env) == {}


def test_one_figure_rebuilds_only_itself(study):
    workdir, env = study
    (workdir / "results/figures/convergence_by_layer.pdf").unlink()
    assert planned(workdir, env, "results/figures/convergence_by_layer.pdf") == {
        "figure_convergence": 1
    }
    snakemake(workdir, env, "results/figures/convergence_by_layer.pdf")
    assert planned(workdir, env) == {}


def test_changing_an_analysis_option_reruns_analyses_but_never_training(study):
    workdir, env = study
    cfg = yaml.safe_load((workdir / "config.yaml").read_text())
    cfg["analysis"]["blocks"] = 4
    write_config(workdir, cfg)
    jobs = planned(workdir, env)
    assert "train" not in jobs and "dump" not in jobs
    assert jobs["moments"] == 2 and jobs["compare"] == 3
    snakemake(workdir, env)
    assert planned(workdir, env) == {}


def test_adding_a_seed_trains_one_model_and_compares_only_new_pairs(study):
    workdir, env = study
    ckpt = workdir / "results/models/alexnet_small/i0-d0/model.ckpt"
    before = ckpt.stat().st_mtime_ns
    cfg = yaml.safe_load((workdir / "config.yaml").read_text())
    cfg["models"].append({"init_seed": 2})
    write_config(workdir, cfg)
    jobs = planned(workdir, env)
    assert jobs["train"] == 1 and jobs["dump"] == 1 and jobs["moments"] == 1
    assert jobs["compare"] == 2 * 3  # two new pairs × three layers
    snakemake(workdir, env)
    assert ckpt.stat().st_mtime_ns == before
    assert len(pd.read_csv(workdir / "results/tables/matching_per_pair.csv")) == 3 * 3
    assert planned(workdir, env) == {}


def test_bad_config_stops_before_any_job_naming_the_key(study, tmp_path):
    _, env = study
    cfg = yaml.safe_load((study[0] / "config.yaml").read_text())
    cfg["layers"] = ["conv1", "conv9"]
    write_config(tmp_path, cfg)
    cmd = [
        "snakemake",
        "-s",
        str(ROOT / "Snakefile"),
        "--directory",
        str(tmp_path),
        "--configfile",
        str(tmp_path / "config.yaml"),
        "--cores",
        "1",
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "layers: conv9 not in architecture 'alexnet_small'" in proc.stdout + proc.stderr
    assert not (tmp_path / "results").exists()
