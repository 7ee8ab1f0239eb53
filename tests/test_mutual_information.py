"""Mutual information: binning, exact counting, planted answers (independent, identical)."""

from itertools import pairwise

import numpy as np
import pytest

from convergent.analysis import matching
from convergent.analysis import mutual_information as mi


def relu_samples(n, units, rng, zero_fraction=0.4):
    x = rng.normal(size=(n, units))
    x[rng.random((n, units)) < zero_fraction] = 0.0
    return np.abs(x)


def test_zero_bin_then_equal_frequency_bins():
    rng = np.random.default_rng(0)
    x = relu_samples(9000, 2, rng)
    c = mi.codes(x, mi.bin_edges(x, bins=10))
    for u in range(2):
        counts = np.bincount(c[:, u], minlength=10)
        assert counts[0] == np.sum(x[:, u] == 0)
        nonzero = counts[1:]
        assert nonzero.max() - nonzero.min() <= 2  # 9 equal-frequency bins of the non-zeros


def test_codes_are_the_binary_search_of_the_edges_with_nans_and_infinite_edges():
    rng = np.random.default_rng(9)
    x = relu_samples(5000, 4, rng)
    x[rng.random(x.shape) < 0.01] = np.nan
    x[:3, 1] = np.inf
    edges = mi.bin_edges(x[:2000], bins=10)
    edges[2] = np.inf  # a unit never non-zero in the sample
    x[10:14, 3] = edges[3, 2:6]  # values equal to an edge go up
    c = mi.codes(x, edges)
    for u in range(4):
        want = 1 + np.searchsorted(edges[u], x[:, u], side="right")
        want[x[:, u] < 1e-6] = 0
        np.testing.assert_array_equal(c[:, u], want)
    assert set(np.unique(c[:, 0])) == set(range(10))
    np.testing.assert_array_equal(c[10:14, 3], [4, 5, 6, 7])
    assert (c[np.isnan(x)] == 9).all() and (c[:3, 1] == 9).all()
    assert set(c[~np.isnan(x[:, 2]), 2]) == {0, 1}  # edges at +inf: bins 0 and 1 only


def test_joint_counts_equal_brute_force_histograms_across_blocks(monkeypatch):
    monkeypatch.setattr(mi, "BLOCK_ROWS", 64)  # 700 rows: 11 blocks, the last partial
    test_joint_counts_equal_brute_force_histograms()


def test_joint_counts_equal_brute_force_histograms():
    rng = np.random.default_rng(1)
    ca = rng.integers(0, 5, size=(700, 3)).astype(np.uint8)
    cb = rng.integers(0, 5, size=(700, 4)).astype(np.uint8)
    # values 0-4 with inner edges 1.5, 2.5, 3.5: each value is its own code
    h = mi.JointHistogram(*(np.tile([1.5, 2.5, 3.5], (c.shape[1], 1)) for c in (ca, cb)))
    h.add(ca.astype(float), cb.astype(float))
    counts = h.counts
    for i in range(3):
        for j in range(4):
            expected = np.zeros((5, 5), dtype=np.int64)
            np.add.at(expected, (ca[:, i], cb[:, j]), 1)
            np.testing.assert_array_equal(counts[i, j], expected)


def test_streaming_equals_one_shot():
    rng = np.random.default_rng(2)
    xa, xb = relu_samples(3000, 3, rng), relu_samples(3000, 2, rng)
    ea, eb = mi.bin_edges(xa), mi.bin_edges(xb)
    whole = mi.JointHistogram(ea, eb)
    whole.add(xa, xb)
    parts = mi.JointHistogram(ea, eb)
    for start in range(0, 3000, 700):
        parts.add(xa[start : start + 700], xb[start : start + 700])
    np.testing.assert_array_equal(whole.counts, parts.counts)
    assert whole.counts.sum() == 3000 * 3 * 2


def test_independent_units_have_zero_mi():
    rng = np.random.default_rng(3)
    xa, xb = relu_samples(200_000, 2, rng), relu_samples(200_000, 2, rng)
    h = mi.JointHistogram(mi.bin_edges(xa), mi.bin_edges(xb))
    h.add(xa, xb)
    corrected = mi.mutual_information(h.counts)
    plugin = mi.mutual_information(h.counts, "none")
    # plug-in bias ≈ (bins − 1)² / (2N) = 2e-4 nats; Miller–Madow removes it
    assert np.all(plugin > 0) and np.all(plugin < 5e-4)
    assert np.all(np.abs(corrected) < 1e-4)
    assert np.all(np.abs(corrected) < plugin)


def test_identical_units_have_mi_equal_to_their_entropy():
    rng = np.random.default_rng(4)
    x = relu_samples(50_000, 3, rng, zero_fraction=0.5)
    h = mi.JointHistogram(mi.bin_edges(x), mi.bin_edges(x))
    h.add(x, x)
    marginal = h.counts[np.arange(3), np.arange(3)].sum(axis=2)  # (3, bins)
    entropy = mi.entropy(marginal)
    # zero bin p0, nine equal bins of (1 − p0)/9: H = −p0 ln p0 − (1 − p0) ln((1 − p0)/9)
    p0 = np.mean(x == 0, axis=0)
    expected = -p0 * np.log(p0) - (1 - p0) * np.log((1 - p0) / 9)
    np.testing.assert_allclose(entropy, expected, atol=1e-6)
    plugin = np.diagonal(mi.mutual_information(h.counts, "none"))
    np.testing.assert_allclose(plugin, entropy, rtol=1e-12)
    corrected = np.diagonal(mi.mutual_information(h.counts))
    m = (marginal > 0).sum(axis=1)
    np.testing.assert_allclose(corrected, entropy + (m - 1) / (2 * 50_000), rtol=1e-12)
    # a monotone transform of a unit is the same variable: the same MI
    h2 = mi.JointHistogram(mi.bin_edges(x), mi.bin_edges(3 * x + x**3))
    h2.add(x, 3 * x + x**3)
    np.testing.assert_allclose(np.diagonal(mi.mutual_information(h2.counts, "none")), entropy)


def subsample(chunks, total, size, seed=0, zero=None):
    """Each unit's kept values (a list per array) of a RowSample fed ``chunks`` (tuples)."""
    sample = mi.RowSample(total, size, seed, zero)
    for chunk in chunks:
        sample.add(*chunk)
    return sample.units()


def test_subsample_keeps_about_the_requested_rows():
    rng = np.random.default_rng(5)
    chunks = [(rng.normal(size=(1000, 2)),) for _ in range(10)]
    [units] = subsample(chunks, 10_000, 2000)
    assert len(units) == 2 and len(units[0]) == len(units[1])
    assert 1800 < len(units[0]) < 2200
    [units] = subsample(chunks, 10_000, None)
    np.testing.assert_array_equal(units[1], np.concatenate([c[:, 1] for c, in chunks]))


def test_a_subsample_keeps_the_same_rows_of_paired_arrays_and_only_the_nonzero_values():
    rng = np.random.default_rng(8)
    xa = np.maximum(rng.normal(size=(3000, 3)), 0.0)
    (a, b) = subsample([(xa[:1234], 1 - xa[:1234]), (xa[1234:], 1 - xa[1234:])], 3000, 900,
                       zero=1e-6)
    [rows] = subsample([(xa, np.arange(3000)[:, None])], 3000, 900)[1]
    kept = xa[rows]
    for u in range(3):
        np.testing.assert_array_equal(a[u], kept[kept[:, u] >= 1e-6, u])  # zeros dropped
        np.testing.assert_array_equal(b[u], 1 - kept[1 - kept[:, u] >= 1e-6, u])
    assert 0 < len(a[0]) < len(rows) < 1000


def test_top_pair_agreement_counts_kept_partners():
    value = np.array([0.9, 0.1, 0.8, 0.7])
    corr_partner = np.array([3, 0, 1, 2])
    mi_partner = np.array([3, 1, 0, 2])  # unit 2 (second best) changes partner
    assert mi.top_pair_agreement(value, corr_partner, mi_partner, 3) == 2


def test_a_subsample_keeps_the_same_rows_whatever_the_chunking():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(5000, 3))
    [whole] = subsample([(x,)], 5000, 700, seed=0)
    cuts = [0, 13, 700, 701, 2400, 5000]
    [parts] = subsample([(x[a:b],) for a, b in pairwise(cuts)], 5000, 700, seed=0)
    for w, p in zip(whole, parts, strict=True):
        np.testing.assert_array_equal(w, p)
    assert 600 < len(whole[0]) < 800


def test_a_subsample_of_other_rows_than_announced_is_an_error():
    with pytest.raises(ValueError, match="fed 90 rows, expected 100"):
        subsample([(np.zeros((90, 2)),)], 100, 10)


def test_histograms_fed_pass_by_pass_equal_the_one_call():
    """Two layers fed from one loop per pass (as the streamed step feeds every layer from one
    forward pass) give each layer's unit_histograms of its own chunks."""
    rng = np.random.default_rng(7)
    layers = {k: (relu_samples(2000, p, rng), relu_samples(2000, q, rng))
              for k, (p, q) in {"x": (3, 2), "y": (1, 4)}.items()}
    hists = {k: mi.UnitHistograms(2000, 6, 1e-6, 500) for k in layers}
    for _ in mi.PASSES:
        for start in range(0, 2000, 300):
            for k, (xa, xb) in layers.items():
                hists[k].add(xa[start : start + 300], xb[start : start + 300])
        for h in hists.values():
            h.end_pass()
    for k, (xa, xb) in layers.items():
        ref = mi.unit_histograms(lambda xa=xa, xb=xb: [(xa, xb)], 2000, 6, 1e-6, 500)
        for got, want in zip(hists[k].result(), ref, strict=True):
            np.testing.assert_array_equal(got, want)
        assert hists[k].result()[2].sum() == 2000 * xa.shape[1] * xb.shape[1]
    with pytest.raises(RuntimeError, match="both passes are over"):
        hists["x"].add(*layers["x"])


def test_a_constant_unit_shares_exactly_no_information_whatever_the_sums_order():
    """A dead unit's MI terms cancel: exactly 0 with every unit (float sums would leave ±1e-15
    that picks its semi-matching partner), under both corrections, from any layout of the
    counts; the other units' MI is untouched."""
    rng = np.random.default_rng(10)
    xa, xb = relu_samples(5000, 4, rng), relu_samples(5000, 5, rng)
    xa[:, 2] = 0.0  # dead in A
    xb[:, 3] = 0.0  # dead in B
    h = mi.JointHistogram(mi.bin_edges(xa), mi.bin_edges(xb))
    h.add(xa, xb)
    for correction in ("miller_madow", "none"):
        for counts in (h.counts, np.asfortranarray(h.counts)):
            m = mi.mutual_information(counts, correction)
            assert (m[2] == 0.0).all() and (m[:, 3] == 0.0).all()
            live = np.ix_([0, 1, 3], [0, 1, 2, 4])
            assert (m[live] != 0.0).all()
        assert matching.semi_matching(m)[0][2] == 0  # no partner by rounding: the first


def test_partner_agreement_counts_live_units_only():
    corr = np.array([3, 0, 1, 0])
    by_mi = np.array([3, 2, 1, 0])  # unit 1 (dead) differs, unit 3 (dead) happens to agree
    live = np.array([True, False, True, False])
    assert matching.partner_agreement(corr, by_mi, live) == 1.0
    assert matching.partner_agreement(corr, by_mi) == 0.75
    assert np.isnan(matching.partner_agreement(corr, by_mi, np.zeros(4, bool)))
