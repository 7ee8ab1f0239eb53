"""Token layers (N, T, D): the conventions of every layer kind, the dump format, and a token layer
with planted structure (a permuted noisy copy) recovered by every Li et al. analysis and the
similarity measures, through the steps' real readers and writers."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pandas as pd
import pytest
import torch

from convergent.cli import main
from convergent.io import InputError
from convergent.io.activations import ActivationFile, write
from convergent.io.layouts import (
    ClusteringFile,
    MutualInformationFile,
    PairFile,
    SparsePredictionFile,
    TopUnitsFile,
)
from convergent.moments import conventions as cv

ARCH = "vit_small"
A, B = f"{ARCH}/i0-d0", f"{ARCH}/i1-d1"
N, T, D = 48, 5, 10
rng = np.random.default_rng(0)


# ------------------------------------------------------------------ the conventions table
@pytest.mark.parametrize("shape, kind, units, grid", [
    ((6,), "fc", 6, ()), ((6, 4, 3), "conv", 6, (4, 3)), ((5, 7), "tokens", 7, (5,))])
def test_kinds_by_shape(shape, kind, units, grid):
    assert cv.kind_of(shape).name == kind
    assert cv.units(shape) == units and cv.grid(shape) == grid
    assert cv.positions(shape) == int(np.prod(grid))


def test_a_shape_of_no_kind_is_refused_by_name():
    with pytest.raises(ValueError, match=r"none of \(N, C\), \(N, C, H, W\) or \(N, T, D\)"):
        cv.kind_of((2, 3, 4, 5))


def test_token_conventions_and_torch_agree_with_numpy():
    x = rng.normal(size=(3, T, D))
    samples = cv.as_features(x, "positions")
    assert samples.shape == (3 * T, D)
    np.testing.assert_array_equal(samples[T + 2], x[1, 2])  # image 1, token 2
    np.testing.assert_allclose(cv.as_features(x, "mean"), x.mean(axis=1))
    np.testing.assert_array_equal(cv.as_features(x, "cls"), x[:, 0])
    np.testing.assert_array_equal(cv.as_features(x, "flatten"), x.reshape(3, -1))
    conv = rng.normal(size=(3, 4, 2, 2))
    np.testing.assert_allclose(cv.as_features(conv, "cls"), conv.mean(axis=(2, 3)))
    for a in (x, conv, rng.normal(size=(3, 4))):
        for convention in cv.CONVENTIONS:
            np.testing.assert_allclose(
                cv.as_features(torch.from_numpy(a), convention).numpy(),
                cv.as_features(a, convention))
    # every token a sample needs the same number of tokens on both sides
    assert cv.grid_convention("positions", (T, D), (T, 2 * D)) == "positions"
    assert cv.grid_convention("positions", (T, D), (T + 1, D)) == "mean"
    assert cv.grid_convention("positions", (T, D), (D, 2, 2)) == "mean"


# ------------------------------------------------------------------ dumps of a token layer
def dump(path, model, layers):
    """An activation file through the real writer (one batch)."""
    write(path, [layers], N, {"model": model, "architecture": ARCH, "dataset": "d",
                              "probe_set": "p", "probe_hash": "h"},
          np.arange(N), np.zeros(N, np.int64), compress=False)
    return str(path)


def test_format_version_2_only_for_token_layers_and_both_are_read(tmp_path):
    tokens = dump(tmp_path / "t.h5", A, {"block1": rng.normal(size=(N, T, D))})
    plain = dump(tmp_path / "p.h5", A, {"head": rng.normal(size=(N, D))})
    with h5py.File(tokens) as f, h5py.File(plain) as g:
        assert f.attrs["format_version"] == 2 and g.attrs["format_version"] == 1
        assert f["layers/block1"].attrs["kind"] == "tokens"
    with ActivationFile(tokens) as f:
        assert f.units("block1") == D
        assert f.samples("block1", 0, 2).shape == (2 * T, D)
    with h5py.File(plain, "r+") as g:
        g.attrs["format_version"] = 3
    with pytest.raises(InputError, match="format_version 1 or 2, found .*3"):
        ActivationFile(plain)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """Two dumps whose token layer ``block1`` is a permuted noisy copy (B's unit v is A's unit
    perm[v]), with an fc ``head`` each; their moments files."""
    root = tmp_path_factory.mktemp("tokens")
    x = np.maximum(rng.normal(size=(N, T, D)) * rng.uniform(0.5, 2, size=D), 0)
    perm = rng.permutation(D)
    y = x[:, :, perm] + 0.2 * rng.normal(size=x.shape)
    heads = rng.normal(size=(N, D)), rng.normal(size=(N, D))
    files = {}
    for model, acts, head in ((A, x, heads[0]), (B, y, heads[1])):
        name = model.split("/")[1]
        path = dump(root / f"{name}.h5", model, {"block1": acts, "head": head})
        moments = root / f"{name}.moments.h5"
        run("moments", {"model": model, "layers": ["block1", "head"],
                        "analysis": {"blocks": 4, "chunk_images": 10}},
            "--activations", path, "--out", moments)
        files[model] = path, str(moments)
    return root, files, np.argsort(perm)


def run(step, spec, *args):
    main([step, "--spec", json.dumps(spec), *map(str, args)])


BLOCK = {"models": {"a": [A], "b": B}}
ANALYSIS = {"blocks": 4, "chunk_images": 10, "dead_unit_std": 1e-6, "mi_bins": 6,
            "mi_zero": 1e-6, "mi_quantile_samples": None, "mi_correction": "miller_madow",
            "mi_top_k": 3, "sparse_penalties": [0.0, 1e-3], "sparse_folds": 2,
            "clusters": None, "cluster_affinity": "abs"}


def test_planted_token_layer_recovered_by_every_li_analysis(planted):
    root, files, partner = planted
    (a, moments_a), (b, moments_b) = files[A], files[B]
    pair = root / "pair.h5"
    run("compare", {**BLOCK, "analysis": ANALYSIS}, "--a", a, "--b", b, "--moments-a", moments_a,
        "--moments-b", moments_b, "--layer", "block1", "--out", pair)
    result = PairFile(pair, "i0-d0")
    assert result.attrs["samples"] == N * T  # every token a sample
    one = result.matchings().one2one
    np.testing.assert_array_equal(one.partner, partner)
    assert one.value.min() > 0.8

    mi = root / "mi.h5"
    run("mutual-information", {**BLOCK, "analysis": ANALYSIS}, "--a", a, "--b", b, "--pair",
        pair, "--layer", "block1", "--out", mi)
    assert np.mean(MutualInformationFile(mi, "i0-d0").matchings().semi_a2b.partner
                   == partner) >= 0.9

    common = ("--pair", pair, "--moments-a", moments_a, "--moments-b", moments_b, "--layer",
              "block1")
    sparse = root / "sparse.h5"
    run("sparse-prediction", {"analysis": ANALYSIS}, *common, "--out", sparse)
    fit = SparsePredictionFile(sparse, "i0-d0").fit("a2b")
    assert fit.loss[0].mean() < 0.1  # held-out ½·MSE of standardised units (0.5: the mean)
    # each of B's units is predicted from its planted source unit of A above all (weights:
    # penalty, predictor, target)
    np.testing.assert_array_equal(np.abs(fit.weights[0]).argmax(axis=0), np.argsort(partner))
    clusters = root / "clusters.h5"
    run("clustering", {"analysis": ANALYSIS}, *common, "--out", clusters)
    labels = ClusteringFile(clusters, "i0-d0").clusterings().spectral.labels
    # a unit of A and its copy in B fall into one cluster
    assert np.mean(labels[:D] == labels[D + partner]) >= 0.9

    units = root / "units.h5"
    run("top-units", {"model": A, "layers": ["block1"], "chunk_images": 10, "patches": 3},
        "--activations", a, "--out", units)
    top = TopUnitsFile(units, model=A).layer("block1")
    x = ActivationFile(a).layer("block1")[()]
    assert list(top.grid) == [T]
    for u in range(D):  # the best image and its best token
        best = np.unravel_index(np.argmax(x[:, :, u]), (N, T))
        assert (top.image[u, 0], top.row[u, 0]) == best


@pytest.mark.parametrize("convention", ["positions", "cls"])
def test_planted_token_layer_is_alike_by_every_similarity_measure(planted, convention):
    root, files, _ = planted
    (a, moments_a), (b, moments_b) = files[A], files[B]
    sim = {"conv_convention": convention, "image_features": "flatten", "subsample": 24,
           "rbf_fraction": 0.4, "svcca_keep": 0.99, "shape_alpha": 0.5, "knn_k": 5,
           "rdm_metric": "correlation",
           "kendall": False, "bootstrap": 10, "ci": 0.95, "seed": 0, "layer_by_layer": True,
           "nulls": {"shuffled": True}}
    out = root / f"similarity_{convention}.csv"
    moments = ["--moments-a", moments_a, "--moments-b", moments_b] if convention == "positions" \
        else []
    run("similarity", {"models": [[A, B]], "layers": ["block1", "head"],
                       "analysis": {"blocks": 4, "chunk_images": 10, "dead_unit_std": 1e-6},
                       "similarity": sim}, "--a", a, "--b", b, *moments, "--out", out)
    rows = pd.read_csv(out)
    mine = rows[(rows["analysis"] == "per_layer") & (rows["layer_a"] == "block1")
                & (rows["kind"] == "pair")]
    assert mine["value"].notna().all(), mine[mine["value"].isna()]
    scatter = mine[mine["convention"] == convention].set_index("measure")["value"]
    assert scatter["linear_cka"] > 0.8
    assert scatter["matched_correlation"] > (0.9 if convention == "positions" else 0.8)
    expected = N * T if convention == "positions" else N
    assert set(mine.loc[mine["convention"] == convention, "samples"]) == {expected}
    # the layer x layer rows meet the token layer and the fc head
    lbl = rows[rows["analysis"] == "layer_by_layer"]
    met = set(zip(lbl["layer_a"], lbl["layer_b"], strict=True))
    assert {("block1", "head"), ("head", "block1")} <= met


def test_streamed_token_moments_equal_the_dumps(tmp_path):
    """vit_small's blocks through the forward pass (probe.stream) and through its dump."""
    dataset = {"name": "fashion_mnist", "path": None, "train_subset": None, "test_subset": None}
    probe = {"split": "test", "size": 30, "seed": 0, "batch_size": 8}
    layers = ["block1", "block6", "head"]
    ckpt, path = tmp_path / "m.ckpt", tmp_path / "m.h5"
    run("untrained", {"arch": ARCH, "init_seed": 0, "dataset": dataset}, "--out", ckpt)
    run("dump", {"arch": ARCH, "model": A, "replicate": 0, "dataset": dataset,
                 "probe": {**probe, "dtype": "float32", "compression": "none"},
                 "layers": layers}, "--checkpoint", ckpt, "--out", path)
    with ActivationFile(path) as f:
        assert f.layer("block1").shape == (30, 17, 64) and f.layer("head").shape == (30, 64)
        assert f.layer("block1").attrs["kind"] == "tokens"
    dumped, streamed = tmp_path / "d.moments.h5", tmp_path / "s.moments.h5"
    run("moments", {"model": A, "layers": layers, "analysis": {"blocks": 3, "chunk_images": 7}},
        "--activations", path, "--out", dumped)
    run("stream-moments", {"arch": ARCH, "model": A, "dataset": dataset, "probe": probe,
                           "layers": layers, "analysis": {"blocks": 3}},
        "--checkpoint", ckpt, "--out", streamed)
    from convergent.io.layouts import MomentsFile

    for layer in layers:
        x, y = MomentsFile(dumped).layer(layer), MomentsFile(streamed).layer(layer)
        np.testing.assert_array_equal(x.count, y.count)
        np.testing.assert_allclose(x.sum_xy, y.sum_xy, rtol=1e-5, atol=1e-3)
