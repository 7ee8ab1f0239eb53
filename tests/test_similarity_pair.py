"""Streamed similarity of two small activation files = the same measures in memory."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from convergent.activations import ActivationFile
from convergent.analysis import similarity as sim
from convergent.features import as_features, stream_moments
from convergent.io import FORMAT_VERSION
from convergent.similarity_pair import pair_rows

OPTS = {
    "conv_convention": "positions",
    "image_features": "flatten",
    "subsample": 12,
    "rbf_fraction": 0.4,
    "svcca_keep": 0.99,
    "rdm_metric": "correlation",
    "kendall": True,
    "bootstrap": 10,
    "ci": 0.95,
    "seed": 0,
    "layer_by_layer": True,
    "nulls": {"shuffled": True},
    "dead_unit_std": 1e-6,
}


def write_dump(path, model, layers, seed):
    rng = np.random.default_rng(seed)
    with h5py.File(path, "w") as f:
        f.attrs.update({"kind": "activations", "format_version": FORMAT_VERSION,
                        "architecture": "alexnet_small", "model": f"alexnet_small/{model}",
                        "probe_hash": "h", "readout": "r", "dataset": "d"})
        f["probe/index"] = np.arange(20)
        f["probe/label"] = np.zeros(20, dtype=int)
        for name, shape in layers.items():
            f[f"layers/{name}"] = np.maximum(rng.normal(size=(20, *shape)), 0).astype("float32")


@pytest.fixture
def dumps(tmp_path):
    layers = {"conv1": (3, 4, 4), "fc7": (5,)}
    write_dump(tmp_path / "a.h5", "i0-d0", layers, 0)
    write_dump(tmp_path / "b.h5", "i1-d1", layers, 1)
    return ActivationFile(tmp_path / "a.h5"), ActivationFile(tmp_path / "b.h5")


def test_streamed_moments_equal_in_memory_measures(dumps):
    fa, fb = dumps
    for layer in ("conv1", "fc7"):
        for conv in ("positions", "mean"):
            moments = stream_moments(fa, layer, fb, layer, conv, blocks=3, chunk_images=4)
            streamed = sim.scatter_measures(sim.Scatter.from_moments(*moments))
            x = as_features(fa.layer(layer)[:], conv)
            y = as_features(fb.layer(layer)[:], conv)
            direct = sim.scatter_measures(sim.Scatter.from_data(x, y))
            for k in direct:
                assert streamed[k] == pytest.approx(direct[k], rel=1e-9, abs=1e-12), (layer, k)


def test_shuffled_pairing_streams_permuted_rows(dumps):
    fa, fb = dumps
    perm = np.random.default_rng(0).permutation(20)
    moments = stream_moments(fa, "conv1", fb, "conv1", "positions", 2, 3, pairing=perm)
    x = as_features(fa.layer("conv1")[:], "positions")
    y = as_features(fb.layer("conv1")[:][perm], "positions")
    assert sim.linear_cka(sim.Scatter.from_moments(*moments)) == pytest.approx(
        sim.linear_cka(sim.Scatter.from_data(x, y)), rel=1e-9
    )


def test_pair_rows_cover_every_measure_with_cis(dumps):
    fa, fb = dumps
    rows = pair_rows(fa, fb, ["conv1", "fc7"], OPTS, blocks=4, chunk_images=5)
    per = [r for r in rows if r["analysis"] == "per_layer" and r["kind"] == "pair"]
    measures = {r["measure"] for r in per}
    assert {"linear_cka", "pwcca", "procrustes", "rbf_cka", "rsa_kendall_tau_a",
            "matched_correlation"} <= measures
    for r in per:
        if np.isfinite(r["value"]) and r["measure"] != "linear_hsic":
            assert np.isfinite(r["ci_low"]) and r["ci_low"] <= r["ci_high"]
    conv1 = {r["measure"]: r for r in per if r["layer_a"] == "conv1"}
    assert conv1["linear_cka"]["convention"] == "positions"
    assert conv1["linear_cka"]["samples"] == 20 * 16
    assert conv1["rbf_cka"]["convention"] == "flatten"
    lbl = [r for r in rows if r["analysis"] == "layer_by_layer"]
    assert {(r["layer_a"], r["layer_b"]) for r in lbl} == {
        (a, b) for a in ("conv1", "fc7") for b in ("conv1", "fc7")
    }
    assert {r["depth_a"] for r in rows} == {0.0, 1.0}
    # a model against itself: CKA 1, Procrustes 0, and a shuffled null well below
    self_rows = pair_rows(fa, fa, ["fc7"], OPTS, blocks=4, chunk_images=5)
    pick = {(r["analysis"], r["kind"], r["measure"]): r["value"] for r in self_rows
            if r["layer_b"] == "fc7"}
    assert pick["per_layer", "pair", "linear_cka"] == pytest.approx(1.0)
    assert pick["per_layer", "pair", "procrustes"] == pytest.approx(0.0, abs=1e-9)
    assert pick["per_layer", "pair", "rsa_spearman"] == pytest.approx(1.0)
    assert pick["per_layer", "shuffled", "linear_cka"] < 0.8
