"""The measure registry and the domain rules: a measure outside its domain is NaN with a
reason, never a number; the whitening's rank does not depend on the units' scales; layer
identification counts only the layers where a measure is defined; the one-bit perturbation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from convergent.analysis import measures
from convergent.analysis import similarity as sim
from convergent.analysis.scatter import Scatter
from convergent.analysis.subsample import MeasureOptions, SubsampleLayer, subsample_measures
from convergent.models import build
from convergent.study import seed_model_parts
from convergent.tables.similarity import source_of
from convergent.training import flip_one_bit, weights_sha256


def test_every_measure_the_routes_produce_is_registered():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(60, 5)), rng.normal(size=(60, 4))
    s = Scatter.from_data(x, y)
    names = set(sim.scatter_measures(s)) | set(sim.matched_correlation(s, 1e-6, (x.mean(0),
                                                                                 y.mean(0))))
    opts = MeasureOptions(svcca_keep=0.99, shape_alpha=0.5, rbf_fraction=0.4, knn_k=10)
    names |= set(subsample_measures(SubsampleLayer(x, "correlation"),
                                    SubsampleLayer(y, "correlation"), np.arange(60), opts, True))
    assert names <= set(measures.MEASURES), names - set(measures.MEASURES)
    for m in measures.MEASURES.values():
        assert m.invariances <= set(measures.INVARIANCES) and m.route in measures.ROUTES


def test_cca_family_is_undefined_without_clearly_more_samples_than_features():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(100, 30))
    y = rng.normal(size=(100, 30))  # independent: a defined CCA would be far below 1
    s = Scatter.from_data(x, y)
    got = sim.scatter_measures(s)
    why = sim.undefined_reasons(s)
    for name in ("cca_rho", "cca_r2", "svcca_rho", "svcca_r2", "pwcca", "regression_r2"):
        assert np.isnan(got[name]), name
        assert "n = 100 samples < 2 × (rank" in why[name]
    assert "(rank 30 + rank 30)" in why["cca_rho"]  # SVCCA's ranks are after its SVD step
    assert np.isfinite(got["linear_cka"]) and "linear_cka" not in why
    wide = Scatter.from_data(rng.normal(size=(400, 30)), rng.normal(size=(400, 30)))
    assert sim.undefined_reasons(wide) == {} and sim.scatter_measures(wide)["cca_rho"] < 0.3


def test_the_whitening_rank_does_not_depend_on_unit_scales():
    """A live unit at 1e-6 of the widest one's scale is whitened like any other (the old
    eigenvalue cut at 1e-10 of the largest dropped it); a constant unit is left out."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(200, 4))
    x[:, 3] *= 1e-6
    q, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    y = (x / x.std(0)) @ q  # an invertible linear map of X
    s = Scatter.from_data(x, y)
    assert s.whitener("x").shape[1] == 4
    assert sim.canonical_correlations(s) == pytest.approx(np.ones(4), abs=1e-9)
    w = np.c_[x, np.full(200, 3.7)]  # a constant unit: rounding leaves it ~1e-16 variance
    assert Scatter.from_data(w, y).whitener("x").shape[1] == 4
    dup = np.c_[x, 2 * x[:, 0] + 1]  # a duplicated unit adds no rank
    white = Scatter.from_data(dup, y).whitener("x")
    assert white.shape[1] == 4
    s_dup = Scatter.from_data(dup, y)
    assert np.allclose(white.T @ s_dup.sxx @ white, np.eye(4), atol=1e-8)


def test_basis_measures_are_undefined_on_principal_components():
    rng = np.random.default_rng(3)
    s = Scatter.from_data(rng.normal(size=(100, 5)), rng.normal(size=(100, 5)))
    why = sim.undefined_reasons(s, reduced=True)
    assert set(why) >= {"pwcca", "matched_correlation", "semi_matched_correlation",
                        "mean_activation_rank"}
    assert "linear_cka" not in why


def test_layer_identification_counts_only_defined_rows():
    s = np.array([[0.9, np.nan, np.nan], [np.nan, np.nan, np.nan], [np.nan, np.nan, 0.5]])
    hits = sim.layer_identification(s)
    assert np.isnan(hits).all()  # a lone finite diagonal is no hit
    full = np.array([[0.9, 0.2, 0.1], [0.3, 0.8, 0.2], [0.1, 0.9, 0.5]])
    full_hits = sim.layer_identification(full)
    assert full_hits.tolist() == [1, 1, 0, 1, 0, 1]
    full[2, 0] = np.nan
    assert np.isnan(sim.layer_identification(full)[2])


def test_registry_names_and_directions():
    assert measures.display("linear_cka") == "linear CKA"
    assert measures.orientation("procrustes") == -1 and measures.orientation("rbf_cka") == 1
    assert measures.measure("angular_shape").metric
    with pytest.raises(KeyError, match="unknown measure 'nope'"):
        measures.measure("nope")


def test_one_bit_perturbation_flips_exactly_one_bit():
    torch.manual_seed(0)
    net = build("alexnet_small", 10, 1, 28)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    info = flip_one_bit(net, 3)
    changed = [(k, (v != before[k]).sum().item()) for k, v in net.state_dict().items()
               if (v != before[k]).any()]
    assert changed == [(info["parameter"], 1)]
    old = torch.tensor(info["before"]).view(torch.int32)
    new = torch.tensor(info["after"]).view(torch.int32)
    assert (old ^ new).item() == 1 and abs(info["after"] - info["before"]) < 1e-6
    assert flip_one_bit(build("alexnet_small", 10, 1, 28), 3)["index"] == info["index"]
    assert weights_sha256(net) != weights_sha256(build("alexnet_small", 10, 1, 28))


def test_perturbed_models_are_named_and_paired_as_such():
    parts = seed_model_parts("i3-d3-p1-noaug")
    assert (parts.init_seed, parts.perturb, parts.condition) == (3, 1, "noaug")
    assert source_of("i3-d3", "i3-d3-p1") == "perturb"
    assert source_of("i3-d3", "i3-d3-r1") == "replicate"
    assert source_of("i3-d3-p1", "i4-d3") == "init"
