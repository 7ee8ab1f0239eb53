"""The paper-scale config (config/paper.yaml) on a tiny generated ImageFolder, end to end.

The same rules as at ImageNet scale (CaffeNet, SGD step solver, 227 crops, streamed moments,
pair files, top units and mutual information) run on a few PIL-generated images with tiny epochs
and probe sizes: only the sizes and the per-job resources are overridden.
"""

from __future__ import annotations

import copy
import re
import subprocess

import h5py
import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from PIL import Image
from workflow_runs import CORE_TARGETS, ROOT, env, snakemake_args, write_config

from convergent import models
from convergent.data import image_folder
from convergent.models.caffenet import feature_side

PAPER = yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())
CLASSES, TRAIN_PER_CLASS, VAL_PER_CLASS = 3, 8, 6


def make_image_folder(root, seed: int = 0) -> None:
    """train/ and val/ with CLASSES class folders of noisy images of a class colour, in
    assorted sizes and aspect ratios (the transforms must bring them to 227×227)."""
    rng = np.random.default_rng(seed)
    for split, n in (("train", TRAIN_PER_CLASS), ("val", VAL_PER_CLASS)):
        for c in range(CLASSES):
            folder = root / split / f"n0000{c}"
            folder.mkdir(parents=True)
            for i in range(n):
                h, w = rng.integers(60, 300, size=2)
                colour = np.array([255 * (c == 0), 255 * (c == 1), 255 * (c == 2)])
                pixels = 0.6 * colour + rng.normal(0, 40, (h, w, 3)) + 50
                img = Image.fromarray(pixels.clip(0, 255).astype(np.uint8))
                img.save(folder / f"img{i}.JPEG", quality=90)


def tiny_paper_config(path) -> dict:
    cfg = copy.deepcopy(PAPER)
    cfg["dataset"]["path"] = str(path)
    cfg["models"] = cfg["models"][:2]
    cfg["training"].update(
        {"epochs": 1, "batch_size": 8, "num_workers": 0, "accelerator": "cpu", "step_epochs": 1}
    )
    cfg["probe"].update({"size": 12, "batch_size": 5})
    # fc6/fc7 have 4096 units: their moment files would take 0.5 GB each here
    cfg["layers"] = ["conv1", "conv2", "conv5"]
    # sparse prediction of conv1 only: a 256-unit layer's lasso paths would double the run
    cfg["analysis"] = {"blocks": 3, "chunk_images": 4, "sparse_layers": ["conv1"]}
    # the similarity measures streamed too (stream_similarity), at their cheapest settings; the
    # untrained null would add a network and two pairs (its DAG: a dry run below)
    cfg["similarity"] = {"subsample": 12, "bootstrap": 10, "kendall": False,
                         "nulls": {"untrained": False}}
    cfg["resources"] = {
        k: {"threads": 2, "mem_mb": 2000, "runtime": 30, "gpu": 0}
        for k in ("train", "dump", "stream")
    }
    return cfg


def test_paper_config_is_the_reference_setup():
    assert PAPER["architectures"] == ["caffenet"] and len(PAPER["models"]) == 4
    assert PAPER["dataset"]["name"] == "imagefolder"
    t = PAPER["training"]
    assert (t["optimizer"], t["lr"], t["momentum"], t["weight_decay"]) == ("sgd", 0.01, 0.9, 5e-4)
    assert (t["batch_size"], t["schedule"], t["epochs"]) == (256, "step", 90)
    assert PAPER["probe"]["size"] == 50000 and PAPER["probe"]["stream"] is True
    assert all(PAPER["resources"][k]["gpu"] == 1 for k in ("train", "stream"))


def test_caffenet_has_the_paper_shapes():
    torch.manual_seed(0)
    net = models.build("caffenet", 1000, 3, 227).eval()
    shapes = {}
    for layer, path in models.READOUTS["caffenet"].items():
        net.get_submodule(path).register_forward_hook(
            lambda _m, _i, out, layer=layer: shapes.__setitem__(layer, tuple(out.shape[1:]))
        )
    with torch.no_grad():
        assert net(torch.zeros(2, 3, 227, 227)).shape == (2, 1000)
    assert shapes == {
        "conv1": (96, 55, 55),
        "conv2": (256, 27, 27),
        "conv3": (384, 13, 13),
        "conv4": (384, 13, 13),
        "conv5": (256, 13, 13),
        "fc6": (4096,),
        "fc7": (4096,),
    }
    assert feature_side(227) == 6
    # no grouping: conv2 sees all 96 conv1 channels; LRN after the pools
    assert net.features.conv2.weight.shape == (256, 96, 5, 5)
    names = [n for n, _ in net.features.named_children()]
    assert names.index("norm1") == names.index("pool1") + 1
    assert float(net.features.conv2.bias.detach().mean()) == 1.0  # Caffe's reference init


def test_caffenet_input_is_227_crops_of_256_images(tmp_path):
    make_image_folder(tmp_path)
    train = image_folder(str(tmp_path), "train", True, 227, arch="caffenet")
    probe = image_folder(str(tmp_path), "test", False, 227, arch="caffenet")
    other = image_folder(str(tmp_path), "test", False, 224, arch="alexnet_torchvision")
    x, _ = train[0]
    assert x.shape == (3, 227, 227) and probe[0][0].shape == (3, 227, 227)
    assert other[0][0].shape == (3, 224, 224)
    # mean pixel subtracted on the 0-255 scale (Caffe), not standardised
    assert float(x.abs().max()) > 50
    # probe crops are deterministic (centre), training crops random
    assert torch.equal(probe[0][0], probe[0][0])
    assert not torch.equal(train[0][0], train[0][0])


#: the similarity tables (rule stream_similarity under probe.stream), built by the same run
SIMILARITY_TARGETS = ["results/tables/similarity_summary.csv",
                      "results/tables/layer_identification.csv"]


def snakemake(configfile, workdir, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(snakemake_args(configfile, workdir, "--cores", "2", *args), cwd=ROOT,
                          env=env(), capture_output=True, text=True, timeout=600)


#: the core targets and one output of every Li et al. analysis that streams (MI, top units) or
#: reads streamed files (sparse prediction, clustering); the rest of the li2016 target (report
#: pages, other layers, the clustering and sparse figures) is a dry run: test_the_rest_of_li2016_...
LI2016_TARGETS = [
    "results/tables/mutual_information_summary.csv",
    "results/figures/mutual_information.png",
    "results/figures/unit_pairs_conv1.png",
    "results/clusters/caffenet/i1-d1/conv1.h5",
    "results/tables/sparse_prediction.csv",
]
PAPER_TARGETS = [*CORE_TARGETS, *LI2016_TARGETS]
#: the rules that read activation dumps (none may run in the streamed study)
DUMP_RULES = ("dump", "moments", "compare", "mutual_information", "top_units")


@pytest.fixture(scope="module")
def paper_run(tmp_path_factory):
    """(config, workdir, Snakemake's output) of the core and Li et al. targets of the tiny
    paper config."""
    root = tmp_path_factory.mktemp("paper")
    make_image_folder(root / "imagenet")
    config = tiny_paper_config(root / "imagenet")
    configfile = write_config(root, config)
    workdir = root / "wd"
    proc = snakemake(configfile, workdir, *PAPER_TARGETS, *SIMILARITY_TARGETS)
    assert proc.returncode == 0, proc.stderr[-5000:]
    return config, workdir, proc.stdout + proc.stderr


@pytest.mark.workflow
def test_paper_config_runs_end_to_end_on_a_tiny_image_folder(paper_run):
    _, workdir, log = paper_run
    # the streamed path ran, the dump-based one did not
    for rule in ("stream_moments", "stream_compare", "stream_top_units",
                 "stream_mutual_information", "sparse_prediction", "clustering"):
        assert f"rule {rule}:" in log
    ran = set(re.findall(r"^(?:local)?rule (\w+):", log, re.M))
    assert not ran & set(DUMP_RULES)
    results = workdir / "results"
    acc = pd.read_csv(results / "tables" / "accuracy.csv")
    assert len(acc) == 2
    summary = pd.read_csv(results / "tables" / "matching_summary.csv")
    assert list(summary["layer"]) == ["conv1", "conv2", "conv5"]
    assert summary["units"].tolist() == [96, 256, 256]
    block = results / "pairs" / "caffenet" / "i1-d1" / "conv1.h5"  # i1-d1's pair with i0-d0
    with h5py.File(block) as f:
        c = f["i0-d0/correlation/between"][()]
        assert c.shape == (96, 96) and np.all(np.abs(c) <= 1 + 1e-9)
        # 12 probe images x 55 x 55 positions
        assert f["i0-d0"].attrs["samples"] == 12 * 55 * 55
    with h5py.File(results / "moments" / "caffenet" / "i0-d0.h5") as f:
        assert f.attrs["streamed"]


@pytest.mark.workflow
def test_the_li2016_target_builds_from_the_forward_pass(paper_run):
    """MI (both histogram passes streamed) and top units without dumps, their figures drawn;
    sparse prediction and clustering from the streamed moments and pair files."""
    _, workdir, _ = paper_run
    results = workdir / "results"
    mi = pd.read_csv(results / "tables" / "mutual_information_per_pair.csv")
    assert mi["layer"].tolist() == ["conv1", "conv2", "conv5"]
    with h5py.File(results / "mi" / "caffenet" / "i1-d1" / "conv1.h5") as f:
        counts = f["i0-d0"].attrs["samples"]
        assert counts == 12 * 55 * 55 and f["i0-d0/mi/value"].shape == (96, 96)
    with h5py.File(results / "units" / "caffenet" / "i0-d0.h5") as f:
        image = f["conv1/image"][()]
        # each unit's top patches come from distinct probe images (12 of them)
        assert image.shape[0] == 96 and np.all((image >= 0) & (image < 12))
        assert all(len(set(row)) == len(row) for row in image)
    with h5py.File(results / "clusters" / "caffenet" / "i1-d1" / "conv1.h5") as f:
        # the joint correlation matrix of both nets' 96 units, from the streamed files
        assert f["i0-d0"].attrs["units_a"] == 96 and f["i0-d0"].attrs["clusters"] > 1
    loss = pd.read_csv(results / "tables" / "sparse_prediction.csv")
    # held-out loss per penalty of conv1 (analysis.sparse_layers), both directions
    assert len(loss) == 8 and {"conv1_a2b", "conv1_b2a"} <= set(loss.columns)
    for name in ("mutual_information", "unit_pairs_conv1"):
        assert (results / "figures" / f"{name}.png").stat().st_size > 0


@pytest.mark.workflow
def test_the_rest_of_li2016_needs_no_dump_and_no_stream_job(paper_run, tmp_path):
    """A dry run of the whole li2016 target on the finished study plans no network job, only
    clustering of the other layers (from the streamed files), figures, tables and report pages."""
    config, workdir, _ = paper_run
    configfile = write_config(tmp_path, config)
    proc = snakemake(configfile, workdir, "li2016", "--dry-run", "--quiet", "rules")
    assert proc.returncode == 0, proc.stderr[-3000:]
    planned = _planned(proc)
    assert {"figure_unit_pairs", "figure_clustering", "figure_sparse_prediction", "clustering",
            "figure_page", "figure_mean_activations"} <= planned.keys()
    assert not {r for r in planned if r.startswith("stream_") or r in DUMP_RULES or r == "train"}


@pytest.mark.workflow
def test_all_builds_at_paper_scale_without_a_dump(paper_run, tmp_path):
    """Every target of the paper config (all: the Li et al. analyses, the similarity measures
    with both nulls, findings, report pages) plans streamed jobs only: no dump, no dump-based
    analysis, no training (the run trained the models)."""
    config, workdir, _ = paper_run
    config = copy.deepcopy(config)
    config["similarity"]["nulls"] = {"untrained": True}
    configfile = write_config(tmp_path, config)
    proc = snakemake(configfile, workdir, "all", "--dry-run", "--quiet", "rules")
    assert proc.returncode == 0, proc.stderr[-3000:]
    planned = _planned(proc)
    assert {"stream_similarity", "stream_moments", "untrained", "study_findings"} <= planned.keys()
    dump_based = {"moments", "compare", "mutual_information", "top_units", "similarity", "train"}
    assert not planned.keys() & (dump_based | set(DUMP_RULES)), planned


def _planned(proc: subprocess.CompletedProcess) -> dict[str, int]:
    """{rule: jobs} of a ``--dry-run --quiet rules``."""
    return {m[1]: int(m[2])
            for m in re.finditer(r"^(\w+)\s+(\d+)$", proc.stdout + proc.stderr, re.M)}


def _mi_bins(c):
    c["analysis"]["mi_bins"] = 6


def _dead_unit_std(c):
    c["analysis"]["dead_unit_std"] = 1e-5


def _blocks(c):
    c["analysis"]["blocks"] = 4


def _unit_patches(c):
    c.setdefault("figures", {})["unit_patches"] = 2


@pytest.mark.workflow
@pytest.mark.parametrize(
    "edit, stream_jobs",
    [
        (_mi_bins, {"stream_mutual_information": 1}),  # read by mutual information only
        # the pair files' (not the moments'); MI reads the rebuilt pair files; the similarity
        # analyses (the convergence figure's floors) read both options too
        (_dead_unit_std, {"stream_compare": 1, "stream_mutual_information": 1,
                          "stream_similarity": 1}),
        (_blocks, {"stream_moments": 2, "stream_compare": 1, "stream_mutual_information": 1,
                   "stream_similarity": 1}),
        (_unit_patches, {"stream_top_units": 2}),
    ],
)
def test_an_analysis_option_reruns_only_the_stream_jobs_that_read_it(
    paper_run, tmp_path, edit, stream_jobs
):
    """The streamed jobs (GPU hours at paper scale) get only the options they read (blocks;
    dead_unit_std for the pair files and the similarity measures; the MI options for MI;
    unit_patches for the top units): a dry run of the finished study after an edit."""
    config, workdir, _ = paper_run
    config = copy.deepcopy(config)
    edit(config)
    configfile = write_config(tmp_path, config)
    proc = snakemake(configfile, workdir, *PAPER_TARGETS, "--dry-run", "--quiet", "rules")
    assert proc.returncode == 0, proc.stderr[-3000:]
    planned = _planned(proc)
    assert {k: v for k, v in planned.items() if k.startswith("stream_")} == stream_jobs


@pytest.mark.workflow
def test_paper_config_streams_the_similarity_measures(paper_run):
    """Under probe.stream the similarity tables come from the networks' forward pass (the
    shuffled null: B over the ImageFolder probe in the shuffled order): no dump, no dump-based
    similarity job."""
    _, workdir, log = paper_run
    assert "rule stream_similarity:" in log
    assert "rule dump:" not in log and "rule similarity:" not in log
    results = workdir / "results"
    assert not (results / "activations").exists()
    rows = pd.read_csv(results / "tables" / "similarity_per_pair.csv")
    per = rows[(rows.analysis == "per_layer") & (rows.measure == "linear_cka")]
    assert set(zip(per.model_a, per.model_b, strict=True)) == {("i0-d0", "i1-d1")}
    assert set(per.kind) == {"pair", "shuffled"}
    # conv1: 12 probe images x 55 x 55 positions (the scatter route); CKA within [0, 1]
    scatter = per[(per.layer_a == "conv1") & (per.convention == "positions")]
    assert (scatter.samples == 12 * 55 * 55).all() and len(scatter) == 2
    assert per.value.between(0, 1 + 1e-9).all()
    ident = pd.read_csv(results / "tables" / "layer_identification.csv")
    assert len(ident) > 0


def _bootstrap(c):
    c["similarity"]["bootstrap"] = 12


def _untrained_null(c):
    c["similarity"]["nulls"]["untrained"] = True


@pytest.mark.workflow
@pytest.mark.parametrize(
    "edit, jobs",
    [
        (_bootstrap, {"stream_similarity": 1}),  # read by the similarity job alone
        # the untrained network from rule untrained, its moments from its forward pass; a job
        # for i0-d0 (its pair with it) and i1-d1's with one more pair
        (_untrained_null, {"untrained": 1, "stream_moments": 1, "stream_similarity": 2}),
    ],
)
def test_a_similarity_option_reruns_only_the_streamed_jobs_that_read_it(
    paper_run, tmp_path, edit, jobs
):
    """The similarity options reach the streamed similarity jobs alone, and the untrained null
    needs no dump either: a dry run of the finished study after an edit."""
    config, workdir, _ = paper_run
    config = copy.deepcopy(config)
    edit(config)
    configfile = write_config(tmp_path, config)
    proc = snakemake(configfile, workdir, *SIMILARITY_TARGETS, "--dry-run", "--quiet", "rules")
    assert proc.returncode == 0, proc.stderr[-3000:]
    planned = {
        m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", proc.stdout + proc.stderr, re.M)
    }
    network_jobs = ("train", "untrained", "dump", "moments", "stream_moments", "stream_compare",
                    "similarity", "stream_similarity")
    assert {k: v for k, v in planned.items() if k in network_jobs} == jobs
