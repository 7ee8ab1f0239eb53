"""Streamed similarity of two small activation files = the same measures in memory."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace

import h5py
import numpy as np
import pandas as pd
import pytest
from conftest import write_planted
from scipy.optimize import linear_sum_assignment

from convergent.analysis import similarity as sim
from convergent.analysis.scatter import CentredLayer, Scatter
from convergent.analysis.similarity import matched_correlation
from convergent.io.activations import ActivationFile
from convergent.io.hdf5 import FORMAT_VERSION
from convergent.moments import as_features, pair_moments
from convergent.steps.similarity.dumps import pair_rows
from convergent.steps.similarity.options import SimilarityOptions

#: a job spec's similarity section
SIMILARITY = {
    "conv_convention": "positions",
    "image_features": "flatten",
    "subsample": 12,
    "rbf_fraction": 0.4,
    "svcca_keep": 0.99,
    "shape_alpha": 0.5,
    "knn_k": 5,
    "rdm_metric": "correlation",
    "kendall": True,
    "bootstrap": 10,
    "ci": 0.95,
    "seed": 0,
    "layer_by_layer": True,
    "nulls": {"shuffled": True},
}


def options(**over) -> SimilarityOptions:
    """The options of a job whose spec's similarity section is SIMILARITY with ``over``."""
    return SimilarityOptions.from_spec({"similarity": {**SIMILARITY, **over},
                                        "analysis": {"dead_unit_std": 1e-6},
                                        "sums_device": "cpu"})


OPTS = options()


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
            moments = pair_moments(fa, layer, fb, layer, conv, blocks=3, chunk_images=4)
            streamed = sim.scatter_measures(Scatter.from_moments(*moments))
            x = as_features(fa.layer(layer)[:], conv)
            y = as_features(fb.layer(layer)[:], conv)
            direct = sim.scatter_measures(Scatter.from_data(x, y))
            for k in direct:
                assert streamed[k] == pytest.approx(direct[k], rel=1e-9, abs=1e-12), (layer, k)


def test_shuffled_pairing_streams_permuted_rows(dumps):
    fa, fb = dumps
    perm = np.random.default_rng(0).permutation(20)
    moments = pair_moments(fa, "conv1", fb, "conv1", "positions", 2, 3, pairing=perm)
    x = as_features(fa.layer("conv1")[:], "positions")
    y = as_features(fb.layer("conv1")[:][perm], "positions")
    assert sim.linear_cka(Scatter.from_moments(*moments)) == pytest.approx(
        sim.linear_cka(Scatter.from_data(x, y)), rel=1e-9
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


# ------------------------------------------------------------------ planted numerical cases
def planted_pair(tmp_path, a, b):
    """Two planted activation files holding layer ``conv1`` = ``a`` and ``b``."""
    fa = write_planted(tmp_path / "a.h5", {"conv1": a})
    fb = write_planted(tmp_path / "b.h5", {"conv1": b}, model="alexnet_small/i1-d1")
    return ActivationFile(fa), ActivationFile(fb)


def matched_reference(x, y):
    """(semi, one-to-one) mean matched correlation from np.corrcoef; constant units -> 0."""
    with np.errstate(invalid="ignore"):  # a constant unit's NaN row is zeroed below
        c = np.corrcoef(x, y, rowvar=False)[: x.shape[1], x.shape[1]:]
    c[x.std(0) == 0, :] = 0.0
    c[:, y.std(0) == 0] = 0.0
    rows, cols = linear_sum_assignment(c, maximize=True)
    return c.max(1).mean(), c[rows, cols].mean()


def per_layer_values(fa, fb, opts):
    rows = pair_rows(fa, fb, ["conv1"], opts, blocks=4, chunk_images=7)
    return {r["measure"]: r["value"] for r in rows
            if r["analysis"] == "per_layer" and r["kind"] == "pair"}


def test_constant_unit_under_mean_convention_is_dead_not_a_crash(tmp_path):
    # channel 1 of A is 3.7 everywhere: the raw-sum scatter of its spatial means rounds to a
    # tiny negative variance (-4.5e-13 here), which used to give NaN and crash the assignment
    rng = np.random.default_rng(0)
    a = rng.normal(size=(200, 4, 2, 2)) + 2
    a[:, 1] = 3.7
    b = a + 0.3 * rng.normal(size=a.shape)
    b[:, 1] = rng.normal(size=(200, 2, 2))
    fa, fb = planted_pair(tmp_path, a, b)
    opts = options(conv_convention="mean", image_features="mean", layer_by_layer=False)
    got = per_layer_values(fa, fb, opts)
    x, y = (as_features(f.layer("conv1")[:], "mean") for f in (fa, fb))
    semi, one = matched_reference(x, y)
    assert got["semi_matched_correlation_all"] == pytest.approx(semi, rel=1e-9)
    assert got["matched_correlation_all"] == pytest.approx(one, rel=1e-9)
    assert 0.5 < one < 0.75  # three matched units near 0.96 and the dead one at 0
    # over live units the dead one is left out: the three live matches alone
    live = matched_reference(x[:, [0, 2, 3]], y)
    assert got["semi_matched_correlation"] == pytest.approx(live[0], rel=1e-9)
    assert got["matched_correlation"] > 0.9


def test_matched_correlation_survives_a_negative_rounding_variance():
    x = np.random.default_rng(1).normal(size=(50, 3))
    s = Scatter.from_data(x, x)
    sxx = s.sxx.copy()
    sxx[2, :] = sxx[:, 2] = 0.0
    sxx[2, 2] = -4.5e-13  # what Σx² − (Σx)²/n gives for a constant unit
    got = matched_correlation(Scatter(s.n, sxx, s.syy, s.sxy), dead_std=1e-6)
    assert got["matched_correlation_all"] == pytest.approx(2 / 3)  # two perfect, one dead
    assert got["matched_correlation"] == pytest.approx(1.0)  # over the two live units
    assert got["semi_matched_correlation_all"] == pytest.approx(2 / 3)


def test_matching_is_undefined_on_pca_reduced_flatten_features(tmp_path):
    # B is a noisy permuted copy of A's 36 flattened units; with 20 images the features are
    # reduced to PCA scores, whose 'units' are not A's units (matching gave 0.42 and semi-matching
    # 0.47 there, while the units of those 20 images match at 0.94)
    rng = np.random.default_rng(0)
    a = rng.normal(size=(40, 4, 3, 3))
    flat = a.reshape(40, -1)
    b = (flat[:, rng.permutation(36)] + 0.4 * rng.normal(size=flat.shape)).reshape(a.shape)
    fa, fb = planted_pair(tmp_path, a, b)
    opts = options(conv_convention="flatten", layer_by_layer=False)
    reduced = per_layer_values(fa, fb, replace(opts, subsample=20))
    for measure in ("matched_correlation", "semi_matched_correlation", "pwcca"):
        assert np.isnan(reduced[measure]), measure
    # 40 images ≥ 36 features: no reduction, matching on the units equals the reference
    full = per_layer_values(fa, fb, replace(opts, subsample=40))
    x, y = (as_features(f.layer("conv1")[:], "flatten") for f in (fa, fb))
    semi, one = matched_reference(x, y)
    assert full["matched_correlation"] == pytest.approx(one, rel=1e-9)
    assert full["semi_matched_correlation"] == pytest.approx(semi, rel=1e-9)
    assert one > 0.9


def test_layer_by_layer_angular_shape_of_a_rotated_copy_is_zero(tmp_path):
    # B = A rotated by a block-Hadamard matrix, exact in float32 for A on a grid of eighths;
    # arccos of the nuclear cosine gave 0 or 1.5e-8 here, depending on how cos ≈ 1 rounded
    h = np.array([[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]]) / 2
    angles, distances = [], []
    for seed in range(8):
        a = np.random.default_rng(seed).integers(-1000, 1000, size=(60, 16)) / 8 + 300
        fa = write_planted(tmp_path / f"a{seed}.h5", {"fc7": a})
        fb = write_planted(tmp_path / f"b{seed}.h5", {"fc7": a @ np.kron(np.eye(4), h)},
                           model="alexnet_small/i1-d1")
        with ActivationFile(fa) as xa, ActivationFile(fb) as xb:
            rows = pair_rows(xa, xb, ["fc7"], replace(OPTS, subsample=40), blocks=3,
                             chunk_images=7)
        lbl = {r["measure"]: r["value"] for r in rows if r["analysis"] == "layer_by_layer"}
        angles.append(lbl["angular_shape"])
        distances.append(lbl["procrustes"])
    assert max(angles) <= 1e-12
    assert max(distances) <= 1e-24


def test_shuffled_cross_moments_in_small_windows_equal_the_full_pass(dumps, monkeypatch):
    """The null's cross sums alone, read in windows smaller than the layer, are the cross part
    of the full shuffled pass; with the pair's within sums they give the same measures."""
    from convergent.moments import dumps as streamed

    fa, fb = dumps
    perm = np.random.default_rng(1).permutation(20)
    full = pair_moments(fa, "conv1", fb, "conv1", "positions", 2, 3, pairing=perm)
    row_bytes = 4 * 3 * 4 * 4
    monkeypatch.setattr(streamed, "PAIRED_WINDOW_BYTES", 7 * row_bytes)  # 7 of 20 images
    cross = streamed.paired_cross_moments(fa, "conv1", fb, "conv1", "positions", 2, 3, perm)
    for k in ("count", "sum_x", "sum_y", "sum_xy"):
        assert np.array_equal(getattr(cross, k), getattr(full[2], k)), k
    pair = pair_moments(fa, "conv1", fb, "conv1", "positions", 2, 3)
    reused = sim.scatter_measures(Scatter.from_moments(pair[0], pair[1], cross))
    direct = sim.scatter_measures(Scatter.from_moments(*full))
    for k in direct:
        assert reused[k] == pytest.approx(direct[k], rel=1e-9, abs=1e-12), k


def test_layer_by_layer_shares_each_layer_and_changes_no_number(dumps):
    """A layer's centred scatter and eigh built once give the numbers of a per-pair rebuild."""
    fa, fb = dumps
    x = as_features(fa.layer("conv1")[:], "flatten")
    y = as_features(fb.layer("fc7")[:], "flatten")
    a, b = CentredLayer(x), CentredLayer(y)
    shared = sim.data_measures(a, b)
    assert shared == sim.data_measures(x, y)
    s = Scatter(len(x), a.scatter, b.scatter, a.xc.T @ b.xc, a.eig, b.eig)
    assert s.eigh("x") is a.eig and s.swap().eigh("x") is b.eig  # not decomposed again


# ------------------------------------------------------------------ one job per later model
def _block(tmp_path, blocks=4):
    """Three dumps (A, B earlier; C the later model of both pairs) and their moments files."""
    from convergent.io.layouts import MomentsFile
    from convergent.moments import layer_moments

    layers = {"conv1": (3, 4, 4), "fc7": (5,)}
    paths = {}
    for seed, name in enumerate(("i0-d0", "i1-d1", "i2-d2")):
        dump, moments = tmp_path / f"{name}.h5", tmp_path / f"{name}.moments.h5"
        write_dump(dump, name, layers, seed)
        with ActivationFile(dump) as f:
            MomentsFile.save(moments, {k: layer_moments(f, k, blocks, 5) for k in layers},
                             {k: f.attrs[k] for k in ("model", "architecture", "probe_hash")})
        paths[name] = str(dump), str(moments)
    return paths


def _job(tmp_path, paths, pairs, similarity, blocks=4, moments=True, drop_last_b=False):
    from convergent.cli import main

    spec = {"models": [[f"alexnet_small/{a}", f"alexnet_small/{b}"] for a, b in pairs],
            "layers": ["conv1", "fc7"], "similarity": similarity,
            "analysis": {"blocks": blocks, "chunk_images": 5, "dead_unit_std": 1e-6}}
    out = tmp_path / "block.csv"
    argv = ["similarity", "--spec", json.dumps(spec), "--out", str(out)]
    for flag, side in (("--a", 0), ("--b", 1)):
        files = [paths[p[side]][0] for p in pairs]
        argv += [flag, *(files[:-1] if drop_last_b and side else files)]
        if moments:
            argv += [f"--moments-{flag[-1]}", *(paths[p[side]][1] for p in pairs)]
    main(argv)
    return pd.read_csv(out)


def test_a_block_job_gives_each_pairs_rows_reading_each_model_once(tmp_path, monkeypatch):
    """The job of C (pairs A-C, B-C) = each pair on its own, with the within sums read from the
    moments files (never streamed) and C's subsample features prepared once."""
    from convergent.steps.similarity import dumps as step

    paths = _block(tmp_path)
    pairs = [("i0-d0", "i2-d2"), ("i1-d1", "i2-d2")]
    expected = []
    for a, b in pairs:
        with ActivationFile(paths[a][0]) as fa, ActivationFile(paths[b][0]) as fb:
            expected += pair_rows(fa, fb, ["conv1", "fc7"], OPTS, blocks=4, chunk_images=5)
    expected = pd.DataFrame(expected)

    def no_streamed_within(*args, **kwargs):
        raise AssertionError("within sums streamed although the moments files hold them")

    reads = Counter()
    features = ActivationFile.features

    def counted(f, layer, index, convention):
        reads[f.attrs["model"], layer] += 1
        return features(f, layer, index, convention)

    monkeypatch.setattr(step, "layer_moments", no_streamed_within)
    monkeypatch.setattr(ActivationFile, "features", counted)
    got = _job(tmp_path, paths, pairs, SIMILARITY)
    assert set(reads.values()) == {1} and len(reads) == 3 * 2  # 3 models x 2 layers, once each
    assert list(got.columns) == list(expected.columns) and len(got) == len(expected)
    assert (got[["model_a", "model_b", "layer_a", "layer_b", "kind", "measure"]].to_numpy()
            == expected[["model_a", "model_b", "layer_a", "layer_b", "kind", "measure"]]
            .to_numpy()).all()
    for col in ("value", "ci_low", "ci_high", "samples"):
        np.testing.assert_allclose(got[col], expected[col], rtol=1e-10, atol=1e-13,
                                   equal_nan=True, err_msg=col)


def test_moments_over_other_blocks_are_refused_in_one_line(tmp_path, capsys):
    paths = _block(tmp_path, blocks=3)  # the job asks for 4
    with pytest.raises(SystemExit):
        _job(tmp_path, paths, [("i0-d0", "i2-d2")], {**SIMILARITY, "layer_by_layer": False})
    err = capsys.readouterr().err.strip().splitlines()[-1]  # after the progress bars
    assert err.startswith("convergent similarity: error: ")
    assert "i0-d0.moments.h5: its sums are not over the probe blocks" in err
    # one file per pair on each side: a missing one is named before anything is read
    with pytest.raises(SystemExit):
        _job(tmp_path, paths, [("i0-d0", "i2-d2"), ("i1-d1", "i2-d2")], SIMILARITY,
             drop_last_b=True)
    err = capsys.readouterr().err.strip()
    assert err == ("convergent similarity: error: --b: 1 files for the spec's 2 pairs of models;"
                   " give one per pair, in the order of the spec's models")


def test_mean_convention_streams_each_models_within_sums_once_per_job(tmp_path, monkeypatch):
    from convergent.steps.similarity import dumps as step

    paths = _block(tmp_path)
    calls = Counter()
    streamed = step.layer_moments

    def counted(f, layer, *args, **kwargs):
        calls[f.attrs["model"], layer, args[-1]] += 1
        return streamed(f, layer, *args, **kwargs)

    monkeypatch.setattr(step, "layer_moments", counted)
    over = {"conv_convention": "mean", "layer_by_layer": False}
    got = _job(tmp_path, paths, [("i0-d0", "i2-d2"), ("i1-d1", "i2-d2")], {**SIMILARITY, **over})
    assert set(calls.values()) == {1} and len(calls) == 3 * 2  # not once per pair
    assert {k[2] for k in calls} == {"mean"}
    with ActivationFile(paths["i1-d1"][0]) as fb, ActivationFile(paths["i2-d2"][0]) as fc:
        alone = pair_rows(fb, fc, ["conv1"], options(**over), blocks=4, chunk_images=5)
    ref = {(r["kind"], r["measure"]): r["value"] for r in alone if r["layer_a"] == "conv1"}
    mine = got[(got.model_a == "i1-d1") & (got.layer_a == "conv1")]
    for kind, measure, value in zip(mine["kind"], mine["measure"], mine["value"], strict=True):
        assert value == pytest.approx(ref[kind, measure], rel=1e-10, abs=1e-13, nan_ok=True)
