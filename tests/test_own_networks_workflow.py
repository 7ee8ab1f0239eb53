"""The real workflow on networks the package does not ship: an architecture defined in this
test suite (``builders:tiny_cnn``) trained by the workflow, and networks trained
outside it and given as ``state_dict`` files (the train job skipped for them)."""

from __future__ import annotations

import copy
import os
import re
import subprocess
from pathlib import Path

import h5py
import pandas as pd
import pytest
import torch
import workflow_runs
from test_own_networks import TINY, TINY_LAYERS
from torch.nn import functional as F

from convergent import io, models
from convergent.data import DataSpec
from convergent.data.datasets import normalise

pytestmark = pytest.mark.workflow

TESTS = Path(__file__).resolve().parent


def run(workdir: Path, config: dict, *args: str) -> str:
    """Snakemake on ``config`` in ``workdir``; the jobs import the test builder from tests/."""
    configfile = workflow_runs.write_config(workdir, config)
    env = workflow_runs.env()
    env["PYTHONPATH"] = os.pathsep.join(
        [str(TESTS), str(workflow_runs.ROOT / "src"), env.get("PYTHONPATH", "")]
    )
    proc = subprocess.run(
        workflow_runs.snakemake_args(configfile, workdir, "--cores", "2", *args),
        cwd=workflow_runs.ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def planned(workdir: Path, config: dict, *targets: str) -> dict[str, int]:
    """Jobs a dry run would execute, per rule."""
    out = run(workdir, config, *targets, "--dry-run", "--quiet", "rules")
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", out, re.M)
            if m[1] != "total"}


def tiny_config(**over) -> dict:
    config = copy.deepcopy(workflow_runs.TINY_STUDY)
    config.update(over)
    return config


def test_a_config_architecture_runs_the_study_end_to_end(tmp_path):
    config = tiny_config(
        architectures=[copy.deepcopy(TINY)],
        layers=["conv1", "fc1"],
        similarity={"bootstrap": 10, "kendall": False, "layer_by_layer": False,
                    "nulls": {"untrained": False}},
    )
    pair = "results/similarity/tiny/i1-d1.csv"  # the job of the pair's later model
    run(tmp_path, config, "results/tables/matching_summary.csv", pair)
    r = tmp_path / "results"
    with h5py.File(r / "activations/tiny/i0-d0.h5") as f:
        assert f.attrs["architecture"] == "tiny"
        assert f["layers/conv1"].shape == (120, 6, 28, 28) and f["layers/fc1"].shape == (120, 24)
        assert f["layers/fc1"].attrs["module"] == TINY_LAYERS["fc1"]
    matching = pd.read_csv(r / "tables/matching_summary.csv")
    assert set(matching["layer"]) == {"conv1", "fc1"}
    # relative depths come from the definition the similarity job got in its spec
    rows = pd.read_csv(tmp_path / pair)
    depths = rows.drop_duplicates("layer_a").set_index("layer_a")["depth_a"].to_dict()
    assert depths == {"conv1": 0.0, "fc1": 1.0}


def train_outside(seed: int, path: Path, data: DataSpec) -> None:
    """A researcher's own training run: plain PyTorch, saved as a state_dict."""
    torch.manual_seed(seed)
    net = models.build("alexnet_small", 10, 1, 28)
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    train = data.training_tensors("train")
    for i in range(0, len(train.labels), 50):
        loss = F.cross_entropy(net(normalise(train.images[i : i + 50])), train.labels[i : i + 50])
        opt.zero_grad()
        loss.backward()
        opt.step()
    torch.save(net.state_dict(), path)


def test_checkpoints_trained_elsewhere_join_the_study(tmp_path):
    user = tmp_path / "user"
    user.mkdir()
    config = tiny_config(
        dataset={"name": "fashion_mnist", "train_subset": 600, "test_subset": 300},
        models=[{"checkpoint": str(user / "net_a.pt")}, {"checkpoint": str(user / "net_b.pt")}],
    )
    data = DataSpec.from_config({**config["dataset"], "path": None})
    for seed, name in ((7, "net_a.pt"), (8, "net_b.pt")):
        train_outside(seed, user / name, data)
    before = {p.name: p.read_bytes() for p in user.iterdir()}
    work = tmp_path / "work"
    targets = ["results/tables/matching_per_pair.csv", "results/tables/accuracy.csv"]
    run(work, config, *targets)
    r = work / "results"
    assert {p.name: p.read_bytes() for p in user.iterdir()} == before  # read, never written
    assert not (r / "logs/train").exists()  # no train job
    imported = r / "models/alexnet_small/ckpt-net_a"
    assert sorted(p.name for p in imported.iterdir()) == ["model.ckpt", "summary.json"]
    with h5py.File(r / "activations/alexnet_small/ckpt-net_a.h5") as f:
        assert f.attrs["source_sha256"] == io.sha256(user / "net_a.pt")
        assert f.attrs["checkpoint_sha256"] == io.sha256(imported / "model.ckpt")
        assert f.attrs["init_seed"] == -1 and f.attrs["model"] == "alexnet_small/ckpt-net_a"
    # the accuracy table measures the imported networks as training measures its own
    acc = pd.read_csv(r / "tables/accuracy.csv").set_index("model")["test_acc"]
    test = data.training_tensors("test")
    for name in ("net_a", "net_b"):
        net = models.build("alexnet_small", 10, 1, 28).eval()
        net.load_state_dict(torch.load(user / f"{name}.pt"))
        with torch.no_grad():
            expected = (net(normalise(test.images)).argmax(1) == test.labels).float().mean()
        assert acc[f"alexnet_small/ckpt-{name}"] == pytest.approx(float(expected), abs=1e-6)
    pairs = pd.read_csv(r / "tables/matching_per_pair.csv")
    assert set(zip(pairs["model_a"], pairs["model_b"], pairs["layer"], strict=True)) == {
        ("alexnet_small/ckpt-net_a", "alexnet_small/ckpt-net_b", layer)
        for layer in ("conv1", "fc7")
    }
    # a new checkpoint file reruns its import and what follows from it, nothing else; with no
    # model trained here there are no training curves to draw
    train_outside(9, user / "net_b.pt", data)
    jobs = planned(work, config, "all")
    assert {k: jobs.get(k, 0) for k in ("import_checkpoint", "evaluate", "dump", "moments")} == {
        "import_checkpoint": 1, "evaluate": 1, "dump": 1, "moments": 1}
    assert "train" not in jobs and "figure_training" not in jobs
