"""The measure validation (docs/validation.md) on planted data with known answers: group
separation (ReSi's AUPRC and violation rate, an exact permutation test over condition labels),
monotonicity under deleted principal components and noise with a linear probe beside it, layer
identification per layer, one table with a verdict per test, its findings and its figure."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from convergent.analysis import validation as v
from convergent.analysis.subsample import MeasureOptions, SubsampleLayer, in_memory_measures
from convergent.tables.validation import Criteria, findings_rows, validation_table

RNG = np.random.default_rng(7)
BASE = [f"i{k}-d{k}" for k in range(4)]
NOISY = [f"i{k}-d{k}-randlabels" for k in range(10, 14)]
CRITERIA = Criteria(alpha=0.05, permutations=1000, seed=0, min_probe_spearman=0.5,
                    min_identification=0.5)


def test_group_separation_scores_and_tests_as_resi_does():
    nets = BASE + NOISY
    condition = {n: ("noisy" if n in NOISY else "base") for n in nets}
    pairs = list(itertools.combinations(nets, 2))
    separated = {p: (0.9 if condition[p[0]] == condition[p[1]] else 0.4) + 0.01 * RNG.random()
                 for p in pairs}
    s = v.group_separation(separated, condition, 1000, 0)
    assert (s.within, s.across) == (12, 16)
    assert s.auprc == 1.0 and s.violation_rate == 0.0 and s.chance == pytest.approx(12 / 28)
    # 70 labellings of 4 + 4 networks, two of which (the labels swapped) split the pairs alike
    assert s.p_value == pytest.approx(2 / 70) and s.min_p == pytest.approx(2 / 70)
    random = {p: RNG.random() for p in pairs}
    r = v.group_separation(random, condition, 1000, 0)
    assert r.p_value > 0.05 and 0 < r.violation_rate < 1
    # ties count as violations (ReSi's <=)
    assert v.violation_rate(np.array([0.5, 0.6]), np.array([0.5])) == 0.5
    # one condition: no known difference, nothing to test
    one = v.group_separation(random, dict.fromkeys(nets, "base"), 1000, 0)
    assert np.isnan(one.p_value) and one.across == 0
    # too few networks to ever pass: 3 + 3 allow p >= 2/20
    few = BASE[:3] + NOISY[:3]
    small = {p: separated.get(p, 0.0) for p in itertools.combinations(few, 2)}
    assert v.group_separation(small, condition, 1000, 0).min_p == pytest.approx(0.1)


def test_labellings_are_every_distinct_arrangement_or_seeded_random_ones():
    exact, is_exact = v._labellings(["a"] * 4 + ["b"] * 4, 1000, 0)
    assert is_exact and len(exact) == len(set(exact)) == 70
    sampled, is_exact = v._labellings(["a"] * 4 + ["b"] * 4, 50, 3)
    assert not is_exact and len(sampled) == 50
    assert sampled == v._labellings(["a"] * 4 + ["b"] * 4, 50, 3)[0]


def test_deleting_top_components_removes_their_variance():
    x = RNG.normal(size=(100, 6)) * np.array([10, 5, 3, 1, 0.5, 0.2])
    y = v.delete_components(x, 2)
    assert np.allclose(y.mean(0), x.mean(0))
    sv_x = np.linalg.svd(x - x.mean(0), compute_uv=False)
    sv_y = np.linalg.svd(y - y.mean(0), compute_uv=False)
    assert sv_y[:4] == pytest.approx(sv_x[2:])
    assert v.falls([1.0, 0.8, 0.5]) and not v.falls([1.0, 0.8, 0.8]) and not v.falls(
        [1.0, np.nan])


OPTS = MeasureOptions(svcca_keep=0.99, shape_alpha=0.5, rbf_fraction=0.4, knn_k=10)


def test_an_insensitive_measure_fails_monotonicity_and_a_sensitive_one_passes():
    """CCA cannot see principal components deleted (the copy spans a subspace of the layer:
    every canonical correlation stays 1); linear CKA falls at every step; the probe loses
    accuracy as the class directions are deleted."""
    labels = np.repeat(np.arange(4), 60)
    centres = RNG.normal(size=(4, 12)) * 3
    x = centres[labels] + RNG.normal(size=(240, 12))
    series = v.Perturbations(deletions=(1, 2, 3), noise=(0.5, 1.0, 2.0), folds=4, seed=0)
    ref = SubsampleLayer(x, "correlation")
    rows = pd.DataFrame(v.perturbation_rows(
        x, labels, series,
        lambda _x, c: in_memory_measures(ref, SubsampleLayer(c, "correlation"), OPTS, 1e-6)))
    def values(measure, family):
        g = rows[(rows["measure"] == measure) & rows["family"].isin(["none", family])]
        return g.sort_values("level")["value"].to_numpy()

    assert v.falls(values("linear_cka", "pc_deletion")) and v.falls(values("linear_cka", "noise"))
    assert values("cca_rho", "pc_deletion") == pytest.approx(1.0)
    assert not v.falls(values("cca_rho", "pc_deletion"))
    probe = rows[rows["measure"] == "linear_cka"].sort_values(["family", "level"])
    acc = probe.groupby("family")["probe_accuracy"].agg(["first", "last"])
    assert acc.loc["none", "first"] > acc.loc["pc_deletion", "last"]
    assert acc.loc["none", "first"] > acc.loc["noise", "last"]


def planted_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A similarity table (per-layer pairs and layer x layer rows) and perturbation tables of
    8 networks in two conditions: linear CKA separates the conditions, falls under
    perturbations and identifies layers; RBF CKA does none of it."""
    layers, depth = ["conv1", "fc7"], {"conv1": 0.0, "fc7": 1.0}
    nets = BASE + NOISY
    rows = []
    for a, b in itertools.combinations(nets, 2):
        same = (a in NOISY) == (b in NOISY)
        source = "init+data" if same else "condition"
        for layer in layers:
            for measure, value in (("linear_cka", (0.9 if same else 0.5) + 0.01 * RNG.random()),
                                   ("rbf_cka", RNG.random())):
                rows.append({"analysis": "per_layer", "kind": "pair", "comparison": "within",
                             "source": source, "arch_a": "alexnet_small", "arch_b":
                             "alexnet_small", "model_a": a, "model_b": b, "layer_a": layer,
                             "layer_b": layer, "depth_a": depth[layer], "depth_b": depth[layer],
                             "measure": measure, "value": value, "undefined": ""})
            for la, lb in itertools.product(layers, layers):
                for measure, value in (("linear_cka", 0.9 if la == lb else 0.3),
                                       ("rbf_cka", 0.7)):
                    rows.append({"analysis": "layer_by_layer", "kind": "pair",
                                 "comparison": "within", "source": source,
                                 "arch_a": "alexnet_small", "arch_b": "alexnet_small",
                                 "model_a": a, "model_b": b, "layer_a": la, "layer_b": lb,
                                 "depth_a": depth[la], "depth_b": depth[lb], "measure": measure,
                                 "value": value, "undefined": ""})
    perturbed = []
    for net, layer in itertools.product(nets, layers):
        for family, levels in (("none", [0.0]), ("pc_deletion", [1, 2, 4]),
                               ("noise", [0.5, 1.0])):
            for level in levels:
                accuracy = 0.9 - 0.1 * level
                for measure, value in (("linear_cka", 1 - 0.1 * level), ("rbf_cka", 1.0)):
                    perturbed.append({"architecture": "alexnet_small",
                                      "model": f"alexnet_small/{net}", "layer": layer,
                                      "family": family, "level": float(level),
                                      "measure": measure, "value": value,
                                      "probe_accuracy": accuracy, "undefined": ""})
    return pd.DataFrame(rows), pd.DataFrame(perturbed)


def test_the_table_passes_a_good_measure_and_fails_a_blind_one():
    similarity, perturbed = planted_tables()
    table = validation_table(similarity, perturbed, CRITERIA)
    assert set(table["layer"]) == {"conv1", "fc7"} and len(table) == 4
    cka = table[table["measure"] == "linear_cka"].set_index("layer")
    rbf = table[table["measure"] == "rbf_cka"].set_index("layer")
    assert (cka["separation_auprc"] == 1.0).all() and (cka["separation_pass"] == 1).all()
    assert (cka["monotone_pass"] == 1).all() and (cka["probe_spearman"] == 1.0).all()
    assert (cka["identification_pct"] == 100).all() and (cka["passes"] == 1).all()
    assert (cka["identification_chance_pct"] == 50).all()
    assert (rbf["separation_pass"] == 0).all() and (rbf["monotone_pass"] == 0).all()
    assert (rbf["identification_pct"] == 0).all() and (rbf["passes"] == 0).all()
    assert rbf["probe_spearman"].isna().all() and (rbf["probe_pass"] == 0).all()
    text = " ".join(r["text"] for r in findings_rows(table))
    assert "conv1: 1 of 2 measures pass every test: linear CKA" in text
    assert "group separation 1; monotonicity 1; probe rank correlation 1; layer " \
           "identification 1" in text


def test_the_figure_draws_every_test(tmp_path):
    from argparse import Namespace

    from convergent.figures.validation import validation_figure

    similarity, perturbed = planted_tables()
    path = tmp_path / "validation.csv"
    validation_table(similarity, perturbed, CRITERIA).to_csv(path, index=False)
    validation_figure(Namespace(validation=str(path), out=str(tmp_path / "validation.pdf")))
    assert (tmp_path / "validation.png").stat().st_size > 10_000


def test_a_test_that_cannot_be_made_is_said_so():
    """One training condition: no known difference, so group separation is not testable and
    no measure is credited with passing every test."""
    similarity, perturbed = planted_tables()
    keep = ~(similarity["model_a"].isin(NOISY) | similarity["model_b"].isin(NOISY))
    table = validation_table(similarity[keep], perturbed, CRITERIA)
    assert table["separation_pass"].isna().all()
    cka = table[table["measure"] == "linear_cka"]
    assert cka["passes"].isna().all()  # nothing failed, but not every test could be made
    assert (table.loc[table["measure"] == "rbf_cka", "passes"] == 0).all()
    text = " ".join(r["text"] for r in findings_rows(table))
    assert "not testable at this layer: group separation" in text
