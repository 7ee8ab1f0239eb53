"""RSA: RDMs and comparators against textbook formulas and rsatoolbox (an independent code)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import rsatoolbox
from scipy import stats
from scipy.spatial.distance import pdist

from convergent.analysis import rsa


def patterns(n=25, p=9, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p))
    return x, x @ rng.normal(size=(p, 6)) + rng.normal(size=(n, 6))


def tau_a_brute(a, b):
    s = 0.0
    for i, j in itertools.combinations(range(len(a)), 2):
        s += np.sign(a[i] - a[j]) * np.sign(b[i] - b[j])
    return s / (len(a) * (len(a) - 1) / 2)


def test_correlation_rdm_is_one_minus_pearson():
    x, _ = patterns()
    np.testing.assert_allclose(rsa.rdm(x), pdist(x, "correlation"), atol=1e-12)
    np.testing.assert_allclose(rsa.rdm(x, "euclidean"), pdist(x, "sqeuclidean") / 9, atol=1e-12)


def test_constant_pattern_has_zero_correlation():
    x, _ = patterns(n=5)
    x[2] = 0.0
    d = rsa.rdm(x)
    assert np.isfinite(d).all()
    full = np.zeros((5, 5))
    full[np.triu_indices(5, 1)] = d
    assert full[0, 2] == full[2, 3] == pytest.approx(1.0)


def test_kendall_tau_a_with_ties_matches_brute_force():
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 4, 40).astype(float), rng.integers(0, 3, 40).astype(float)
    assert rsa.kendall_tau_a(a, b) == pytest.approx(tau_a_brute(a, b), abs=1e-12)
    a, b = rng.normal(size=30), rng.normal(size=30)
    assert rsa.kendall_tau_a(a, b) == pytest.approx(tau_a_brute(a, b), abs=1e-12)
    assert rsa.kendall_tau_a(a, a) == pytest.approx(1.0)


@pytest.mark.parametrize("method,theirs", [("spearman", "spearman"), ("kendall_tau_a", "tau-a"),
                                           ("pearson", "corr")])
def test_rdms_and_comparisons_agree_with_rsatoolbox(method, theirs):
    from rsatoolbox.data import Dataset
    from rsatoolbox.rdm import calc_rdm, compare

    x, y = patterns()
    ours_x, ours_y = rsa.rdm(x), rsa.rdm(y)
    rx = calc_rdm(Dataset(x), method="correlation")
    ry = calc_rdm(Dataset(y), method="correlation")
    np.testing.assert_allclose(ours_x, rx.dissimilarities[0], atol=1e-10)
    np.testing.assert_allclose(ours_y, ry.dissimilarities[0], atol=1e-10)
    expected = compare(rx, ry, method=theirs)[0, 0]
    assert rsa.compare(ours_x, ours_y, method) == pytest.approx(expected, abs=1e-10)
    assert rsatoolbox is not None


def test_rsa_unknown_options_raise():
    x, _ = patterns(n=4)
    with pytest.raises(ValueError, match="metric"):
        rsa.rdm(x, "cosine")
    with pytest.raises(ValueError, match="comparator"):
        rsa.compare(rsa.rdm(x), rsa.rdm(x), "bures")


def _planted_ranks(seed: int):
    """Two vectors with ties planted (values rounded) and their dense ranks."""
    a, b = np.round(np.random.default_rng(seed).normal(size=(2, 400)), 1)
    return a, b, rsa.dense_ranks(a), rsa.dense_ranks(b)


@pytest.mark.parametrize("of_ranks,of_values", [
    (rsa.spearman_of_ranks, lambda a, b: stats.spearmanr(a, b)[0]),
    (rsa.kendall_tau_a_of_ranks, rsa.kendall_tau_a),
])
def test_a_resample_from_ranks_is_the_values_to_the_bit(of_ranks, of_values):
    # a resample with repeats, as the bootstrap draws: counting ranks (and their ties) must
    # give exactly the comparison of the values
    a, b, ka, kb = _planted_ranks(3)
    rng = np.random.default_rng(4)
    for _ in range(5):
        idx = rng.choice(400, 300)
        assert of_ranks(ka[idx], kb[idx]) == of_values(a[idx], b[idx])


def test_spearman_of_constant_ranks_is_undefined_and_non_finite_values_have_no_ranks():
    _, _, ka, kb = _planted_ranks(3)
    assert np.isnan(rsa.spearman_of_ranks(ka[:1].repeat(5), kb[:5]))
    assert rsa.dense_ranks(np.array([0.3, np.nan])) is None


def test_kendall_of_ranks_counts_pairs_as_brute_force_does():
    a, b, ka, kb = _planted_ranks(5)
    idx = np.random.default_rng(6).choice(400, 60)
    assert rsa.kendall_tau_a_of_ranks(ka[idx], kb[idx]) == pytest.approx(
        tau_a_brute(a[idx], b[idx]), abs=1e-12)
