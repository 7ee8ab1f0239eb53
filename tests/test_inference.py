"""Intervals over networks and the verdicts' tests, on simulated studies with known answers.

The coverage simulation draws studies from a random-effects model of pairs of networks: each
network i carries an effect a_i (how unusual it is), each pair its own e_ij, and the probe set a
shared shift s that every pair sees: v_ij = μ + a_i + a_j + e_ij + s.  A nominal 95 % interval
must cover μ 92–98 % of the time; resampling pairs as if independent does not.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from convergent.analysis import inference, verdicts


def draw_study(rng, networks: int, net_sd: float, pair_sd: float, probe_sd: float):
    """One simulated study: (values (pairs × 1), each pair's networks, per-pair probe sds)."""
    a = rng.normal(0, net_sd, networks)
    pairs = list(combinations(range(networks), 2))
    shift = rng.normal(0, probe_sd)
    values = np.array([a[i] + a[j] + rng.normal(0, pair_sd) + shift for i, j in pairs])
    ids = [(f"n{i}", f"n{j}") for i, j in pairs]
    return values[:, None], ids, np.full((len(pairs), 1), probe_sd)


def pairs_bootstrap(rng, values: np.ndarray, resamples: int = 400) -> tuple[float, float]:
    """The method this replaces: pairs resampled as if independent (percentile interval)."""
    v = values[:, 0]
    draws = v[rng.integers(0, len(v), (resamples, len(v)))].mean(1)
    return tuple(np.quantile(draws, [0.025, 0.975]))


@pytest.mark.parametrize("networks", [4, 10])
def test_intervals_over_networks_cover_at_their_nominal_level(networks):
    rng = np.random.default_rng(networks)
    studies, covered, covered_pairs = 1000, 0, 0
    for _ in range(studies):
        values, ids, sd = draw_study(rng, networks, net_sd=0.05, pair_sd=0.03, probe_sd=0.01)
        lo, hi = inference.estimate(inference.layer_mean(0), [values], [ids], [sd]).interval()
        covered += lo <= 0 <= hi
        lo, hi = pairs_bootstrap(rng, values)
        covered_pairs += lo <= 0 <= hi
    rate, rate_pairs = covered / studies, covered_pairs / studies
    print(f"{networks} networks: 95 % intervals cover the truth in {rate:.1%} of studies "
          f"over networks, {rate_pairs:.1%} over pairs as if independent")
    assert 0.92 <= rate <= 0.98
    assert rate_pairs < 0.85  # the old intervals visibly under-cover


def test_without_the_probe_term_a_shared_probe_shift_is_missed():
    rng = np.random.default_rng(7)
    hits = {"with": 0, "without": 0}
    for _ in range(400):
        values, ids, sd = draw_study(rng, 6, net_sd=0.01, pair_sd=0.01, probe_sd=0.05)
        for key, sds in (("with", [sd]), ("without", None)):
            lo, hi = inference.estimate(inference.layer_mean(0), [values], [ids],
                                        sds).interval()
            hits[key] += lo <= 0 <= hi
    assert hits["with"] / 400 >= 0.93 and hits["without"] / 400 < 0.7


def test_no_effect_is_inconclusive_and_a_planted_effect_supported():
    """A difference of two cells: with none planted, "> 0" is inconclusive in ≥ 90 % of
    studies (at most α/2 supported); with a clear one it is supported."""
    rng = np.random.default_rng(3)

    def study(effect: float) -> str:
        cells = []
        for c in range(2):
            values, ids, sd = draw_study(rng, 5, 0.03, 0.02, 0.005)
            cells.append((values + (effect if c == 0 else 0.0), [(f"c{c}{a}", f"c{c}{b}")
                                                                for a, b in ids], sd))
        est = inference.estimate(inference.contrast, [c[0] for c in cells],
                                 [c[1] for c in cells], [c[2] for c in cells])
        return verdicts.decide(est, "> 0").verdict

    null = [study(0.0) for _ in range(300)]
    assert null.count("inconclusive") / len(null) >= 0.9
    assert null.count("supported") / len(null) <= 0.05
    planted = [study(0.3) for _ in range(50)]
    assert planted.count("supported") / len(planted) >= 0.9


def test_units_are_pairs_when_no_network_is_in_two():
    pairs = [[("a", "b"), ("c", "d"), ("e", "f")]]
    assert len(inference.units(pairs)) == 3  # each pair, once
    shared = [[("a", "b"), ("a", "c"), ("b", "c")]]
    assert len(inference.units(shared)) == 3  # each network with its two pairs
    keep = inference.units(shared)[0][0]
    assert keep.tolist() == [False, False, True]


def test_independent_pairs_get_the_textbook_t_interval():
    values = np.array([[0.51], [0.55], [0.49], [0.6]])
    ids = [("a", "b"), ("c", "d"), ("e", "f"), ("g", "h")]
    est = inference.estimate(inference.layer_mean(0), [values], [ids])
    assert est.df == 3 and est.value == pytest.approx(values.mean())
    assert est.se == pytest.approx(values.std(ddof=1) / 2)  # the jackknife of a mean is exact


def test_too_few_networks_give_no_interval():
    est = inference.estimate(inference.layer_mean(0), [np.array([[0.5]])], [[("a", "b")]])
    assert not est.defined and np.isnan(est.interval()[0])
    assert verdicts.decide(est, "> 0").verdict == "inconclusive"


def test_slope_and_contrast_statistics():
    depth = [0.0, 0.5, 1.0]
    table = np.array([[0.8, 0.65, 0.5], [0.7, np.nan, 0.4]])
    assert inference.depth_slope(depth)([table]) == pytest.approx(-0.3)
    a, b = np.array([[0.6, 0.6]]), np.array([[0.5, 0.4]])
    assert inference.contrast([a, b]) == pytest.approx(0.15)


def test_logit_interval_stays_within_0_and_100():
    lo, hi = inference.logit_t_interval([10.5, 2.1, 19.8, 3.2])
    assert 0 < lo < hi < 100
    lo, hi = inference.logit_t_interval([99.9, 99.5, 99.99])
    assert hi < 100


def test_an_interval_is_cut_to_the_statistics_range():
    """A hit rate of 97.6 % with four networks: the t interval crosses 100 %, the shown one
    stops there (and at 0 below); unbounded statistics keep the plain t interval."""
    est = inference.Estimate(97.6, 4.0, 3.0)
    plain = est.interval()
    assert plain[1] > 100
    assert est.interval(bounds=(0.0, 100.0)) == (plain[0], 100.0)
    assert inference.Estimate(0.02, 0.05, 3.0).interval(bounds=(0.0, 1.0))[0] == 0.0


def test_decide_states_its_test():
    est = inference.Estimate(0.02, 0.01, 10)
    d = verdicts.decide(est, "|·| ≤ margin", 0.05)
    assert d.verdict == "supported" and d.method.startswith("TOST at ±0.05")
    assert verdicts.decide(inference.Estimate(0.3, 0.05, 10), "|·| ≤ margin",
                           0.05).verdict == "contradicted"
    assert verdicts.decide(inference.Estimate(0.05, 0.05, 10), "|·| ≤ margin",
                           0.05).verdict == "inconclusive"
    assert verdicts.decide(est, "> 0").verdict == "inconclusive"  # 2 se: p ≈ 0.07
    assert verdicts.decide(inference.Estimate(-0.1, 0.01, 10), "> 0").verdict == "contradicted"
    assert verdicts.decide(inference.Estimate(-0.1, 0.01, 10), "< 0").verdict == "supported"


def test_holm_adjusts_step_down():
    p = np.array([0.01, 0.04, 0.03, np.nan, 0.2])
    adj = verdicts.holm(p)
    assert adj[0] == pytest.approx(0.04) and adj[2] == pytest.approx(0.09)
    assert adj[1] == pytest.approx(0.09) and np.isnan(adj[3]) and adj[4] == pytest.approx(0.2)
    decisions = [verdicts.Decision(q, "supported", "", True) for q in p]
    _, adjusted = verdicts.adjusted(decisions)
    assert adjusted == ["supported", "inconclusive", "inconclusive", "inconclusive",
                        "inconclusive"]
