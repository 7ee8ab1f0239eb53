"""The claims' verdicts on planted similarity tables, and the all-networks analyses (distance
matrices, classical MDS, the grouping permutation test) on planted data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from convergent.analysis import networks
from convergent.steps.claims import identical_pairs
from convergent.tables import claims as tc
from convergent.tables import network_grouping
from convergent.tables.similarity import comparison_of, source_of

LAYERS = ["conv1", "conv2", "conv3", "fc6"]
DEPTHS = {"alexnet_small": {"conv1": 0.0, "conv2": 1 / 3, "conv3": 2 / 3, "fc6": 1.0},
          "vgg_small": {"conv1": 0.0, "conv2": 1 / 3, "conv3": 2 / 3, "fc6": 1.0}}
MEASURES = ["semi_matched_correlation", "linear_cka", "procrustes", "regression_r2",
            "mean_activation_rank"]
A, V = "alexnet_small", "vgg_small"
#: three independent pairs per cell, as config/claims.yaml has them
CELLS = {
    "init": [("i0-d0", "i1-d0"), ("i2-d1", "i3-d1"), ("i4-d2", "i5-d2")],
    "data": [("i6-d3", "i6-d4"), ("i7-d5", "i7-d6"), ("i8-d7", "i8-d8")],
    "init+data": [("i10-d10", "i11-d11"), ("i12-d12", "i13-d13"), ("i14-d14", "i15-d15")],
    "replicate": [("i16-d16", "i16-d16-r1"), ("i17-d17", "i17-d17-r1"),
                  ("i18-d18", "i18-d18-r1")],
    "perturb": [("i30-d30", "i30-d30-p1"), ("i31-d31", "i31-d31-p1"),
                ("i32-d32", "i32-d32-p1")],
    "noaug": [("i20-d20-noaug", "i21-d21-noaug"), ("i22-d22-noaug", "i23-d23-noaug"),
              ("i24-d24-noaug", "i25-d25-noaug")],
}


def planted(profile=None, cell_level=None, cross=0.3, activity=0.0, seed=0) -> pd.DataFrame:
    """A long similarity table (as ``tables.similarity.read_rows`` gives) whose seed pairs
    follow ``profile(depth)`` (per measure; distances the mirror image), with cell levels
    overriding it (replicates 1), cross-architecture pairs at ``cross``, shuffled nulls at 0.05
    and untrained baselines at 0.3; each pair jitters by ±0.01, CIs ±0.005."""
    rng = np.random.default_rng(seed)
    profile = profile or (lambda d: 0.7 - 0.3 * d)
    cell_level = {"replicate": 1.0, **(cell_level or {})}
    rows = []

    def add(arch_a, a, arch_b, b, level_of, kind="pair"):
        jitter = rng.normal(0, 0.01)
        for layer in LAYERS:
            d = DEPTHS[arch_a][layer]
            for measure in MEASURES:
                v = (activity if measure == "mean_activation_rank" else level_of(d)) + jitter
                if measure == "procrustes":
                    v = 1 - v
                rows.append({"analysis": "per_layer", "arch_a": arch_a, "model_a": a,
                             "arch_b": arch_b, "model_b": b, "layer_a": layer, "layer_b": layer,
                             "kind": kind, "measure": measure, "value": v, "ci_low": v - 0.005,
                             "ci_high": v + 0.005, "depth_a": d, "depth_b": d})

    for source, pairs in CELLS.items():
        for a, b in pairs:
            level = cell_level.get(source)
            add(A, a, A, b, (lambda d, x=level: x) if level is not None else profile)
            add(A, a, A, b, lambda d: 0.05, kind="shuffled")
            for m in (a, b):
                add(A, m, A, "untrained-i1000", lambda d: 0.3)
    for a, b in CELLS["init+data"]:
        add(V, a, V, b, profile)
        add(A, a, V, b, lambda d: cross)
        add(A, b, V, a, lambda d: cross)
    table = pd.DataFrame(rows)
    table["comparison"] = table.apply(comparison_of, axis=1)
    table["source"] = [source_of(a, b) if c == "within" else "-" for a, b, c in
                       zip(table["model_a"], table["model_b"], table["comparison"], strict=True)]
    return table


def verdict_of(table: pd.DataFrame, claim: str, measure: str, arch: str = A,
               span: str = "all layers", cells: str | None = None) -> str:
    hit = table[(table["claim"] == claim) & (table["measure"] == measure)
                & (table["architecture"] == arch) & table["layers"].str.startswith(span)]
    if cells is not None:
        hit = hit[hit["cells"].str.startswith(cells)]
    assert len(hit) == 1, hit
    return hit["verdict"].iloc[0]


def run(identical=(), **kw) -> pd.DataFrame:
    variation = kw.pop("variation", {"more": "base", "less": "noaug"})
    return tc.claims(planted(**kw), LAYERS, DEPTHS,
                     ["semi_matched_correlation", "linear_cka", "procrustes"], 0.05, variation,
                     0.95, identical)


@pytest.mark.parametrize(("profile", "expected"), [
    (lambda d: 0.8 - 0.4 * d, "supported"),
    (lambda d: 0.6 + 0 * d, "inconclusive"),
    (lambda d: 0.4 + 0.4 * d, "contradicted"),
])
def test_convergence_falls_with_depth(profile, expected):
    """(a) and (b): a planted decline is supported, a flat profile inconclusive, a rise
    contradicted — for similarities and (sign flipped) for a distance."""
    table = run(profile=profile)
    for measure in ("semi_matched_correlation", "linear_cka", "procrustes"):
        assert verdict_of(table, "a", measure) == expected
        assert verdict_of(table, "a", measure, V) == expected
    assert verdict_of(table, "b", "regression_r2") == expected
    slope = table[(table["claim"] == "a") & (table["measure"] == "linear_cka")
                  & (table["architecture"] == A) & table["layers"].str.startswith("all")]
    planted_slope = profile(1.0) - profile(0.0)
    assert slope["effect"].iloc[0] == pytest.approx(planted_slope, abs=0.02)


def test_sources_of_divergence():
    """(d) the one-bit floor above init only; (d2) init only comparable to both, or not; (d3);
    non-identical replicates serve as a second floor."""
    same = run(profile=lambda d: 0.6 + 0 * d,
               cell_level={"init": 0.6, "data": 0.8, "perturb": 0.95, "replicate": 0.97})
    for floor in ("one-bit", "replicates"):
        assert verdict_of(same, "d", "linear_cka", cells=floor) == "supported"
        assert verdict_of(same, "d3", "linear_cka", cells=floor) == "supported"
    assert verdict_of(same, "d2", "linear_cka") == "supported"
    d = same[(same["claim"] == "d") & (same["measure"] == "linear_cka")]
    assert set(d["cells"]) == {"one-bit perturbation vs init only", "replicates vs init only"}
    assert d["effect"].iloc[0] == pytest.approx(0.35, abs=0.02)
    apart = run(profile=lambda d: 0.4 + 0 * d, cell_level={"init": 0.7})
    assert verdict_of(apart, "d2", "linear_cka") == "contradicted"
    assert verdict_of(apart, "d2", "procrustes") == "contradicted"


def test_a_control_that_cannot_fail_is_no_floor():
    """Bit-identical replicates are reported as deterministic and used by no claim; a
    one-bit perturbation that diverges as much as a new seed leaves (d) unsupported."""
    identical = {f"{A}/{a}__{A}/{b}" for a, b in CELLS["replicate"]}
    table = run(identical, profile=lambda d: 0.6 + 0 * d,
                cell_level={"init": 0.6, "perturb": 0.6})
    rep = table[(table["claim"] == "r") & (table["measure"] == "linear_cka")]
    assert rep["verdict"].tolist() == [tc.DETERMINISTIC]
    assert "bit-identical" in rep["text"].iloc[0]
    d = table[(table["claim"] == "d") & (table["measure"] == "linear_cka")]
    assert d["cells"].tolist() == ["one-bit perturbation vs init only"]
    assert d["verdict"].tolist() == ["inconclusive"]


def test_identical_pairs_come_from_the_weights_hashes():
    acc = pd.DataFrame({"arch": [A, A, A], "model": ["i1-d1", "i1-d1-r1", "i2-d2"],
                        "weights_sha256": ["h", "h", "g"]})
    assert identical_pairs(acc) == {f"{A}/i1-d1__{A}/i1-d1-r1", f"{A}/i1-d1-r1__{A}/i1-d1"}


def test_verdicts_are_holm_adjusted_over_the_table():
    table = run(profile=lambda d: 0.8 - 0.4 * d)
    tested = table[table["p_value"].notna()]
    assert (tested["p_holm"] >= tested["p_value"] - 1e-15).all()
    assert (tested["verdict"] != "inconclusive").sum() <= (tested["verdict_raw"]
                                                           != "inconclusive").sum()
    row = tested.iloc[0]
    assert f"Holm-adjusted over {len(tested)} verdicts" in row["text"]
    assert "no effect" not in " ".join(table["text"])


def test_architectures_and_stimulus_variation():
    """(e) cross-architecture pairs below seed pairs; (f) more variation more alike, or not."""
    table = run(profile=lambda d: 0.6 + 0 * d, cross=0.3, cell_level={"noaug": 0.4})
    assert verdict_of(table, "e", "linear_cka", "across") == "supported"
    assert verdict_of(table, "f", "linear_cka") == "supported"
    same = run(profile=lambda d: 0.6 + 0 * d, cross=0.6, cell_level={"noaug": 0.6})
    assert verdict_of(same, "e", "linear_cka", "across") == "inconclusive"
    assert verdict_of(same, "f", "semi_matched_correlation") == "inconclusive"
    untested = run(variation=None)
    assert "f" in tc.untested(untested) and "a" not in tc.untested(untested)


def test_activity_and_floors():
    """(c) no agreement beyond ±margin is supported, clear agreement contradicted; floors and
    the learned share come with the effect."""
    assert verdict_of(run(activity=0.0), "c", "mean_activation_rank") == "supported"
    table = run(activity=0.5, profile=lambda d: 0.6 + 0 * d)
    assert verdict_of(table, "c", "mean_activation_rank") == "contradicted"
    row = table[(table["claim"] == "a") & (table["measure"] == "linear_cka")
                & (table["architecture"] == A)].iloc[0]
    assert row["untrained"] == pytest.approx(0.3, abs=0.01)
    assert row["shuffled"] == pytest.approx(0.05, abs=0.01)
    # (0.6 - 0.3) / (0.6 - 0.05): the share of the similarity above chance that is learned
    assert row["learned_share"] == pytest.approx(0.3 / 0.55, abs=0.03)


def test_distance_matrices_planted():
    """A rotated, rescaled copy is at distance 0 under both; an unrelated network is far."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 8))
    q, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    d = networks.distance_matrices([x, 3 * x @ q, rng.normal(size=(60, 120))])
    for name in networks.DISTANCES:
        m = d[name]
        assert np.allclose(m, m.T) and np.allclose(np.diag(m), 0)
        assert m[0, 1] < 1e-6 and m[0, 2] > 0.3


def test_mds_and_grouping():
    """MDS recovers planar points' distances; two planted clusters group (small p), random
    labels do not; labels permuted within strata only."""
    rng = np.random.default_rng(2)
    pts = np.concatenate([rng.normal(0, 0.3, (6, 2)), rng.normal(3, 0.3, (6, 2))])
    d = np.linalg.norm(pts[:, None] - pts[None], axis=-1)
    emb, explained = networks.classical_mds(d)
    assert np.allclose(np.linalg.norm(emb[:, None] - emb[None], axis=-1), d, atol=1e-8)
    assert explained.sum() == pytest.approx(1.0)
    labels = ["x"] * 6 + ["y"] * 6
    stat, p = networks.grouping_test(d, labels, permutations=199, seed=0)
    assert stat > 2 and p < 0.01
    mixed = ["x", "y"] * 6
    _, p_mixed = networks.grouping_test(d, mixed, permutations=199, seed=0)
    assert p_mixed > 0.2
    # strata equal to the labels leave nothing to permute: the observed value is the only one
    _, p_strata = networks.grouping_test(d, labels, strata=labels, permutations=99, seed=0)
    assert p_strata == 1.0


def test_grouping_table_reads_long_distances():
    rng = np.random.default_rng(3)
    ids = [f"{A}/i{k}-d{k}" for k in range(4)] + [f"{A}/i{k}-d{k}-noaug" for k in range(4, 8)]
    pts = np.concatenate([rng.normal(0, 0.2, (4, 2)), rng.normal(2, 0.2, (4, 2))])
    rows = [{"layer": "conv1", "distance": "angular_shape", "network_a": ids[i],
             "network_b": ids[j], "value": float(np.linalg.norm(pts[i] - pts[j]))}
            for i in range(8) for j in range(i + 1, 8)]
    table = network_grouping.grouping_table(pd.DataFrame(rows), ["conv1"], 199, 0)
    assert table["grouping"].tolist() == ["condition"]  # one architecture: no such test
    assert table["p_value"].iloc[0] < 0.05


def test_the_readme_verdict_table_is_the_committed_claims_table():
    """The README's verdict table is what ``claims_markdown`` renders from the committed run of
    config/claims.yaml (scripts/readme_findings.py --claims writes both)."""
    from conftest import ROOT

    from convergent.tables.render import CLAIMS_MARKER, claims_markdown

    text = (ROOT / "README.md").read_text()
    start = text.index(CLAIMS_MARKER)
    end = text.index("<!-- claims: end -->", start)
    source = ROOT / "docs" / "claims_study" / "claims.csv"
    assert text[start:end].rstrip("\n") == claims_markdown(pd.read_csv(source))
    assert set(pd.read_csv(source)["claim"]) == set(tc.CLAIMS)  # the design tests every claim
