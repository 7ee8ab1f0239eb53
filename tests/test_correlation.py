"""Streamed correlations equal np.corrcoef; matchings recover planted permutations."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import write_planted

from convergent.analysis import correlation, matching
from convergent.io.activations import ActivationFile, as_samples
from convergent.moments import BlockMoments, cross_moments, layer_moments

rng = np.random.default_rng(0)


def relu_layer(n: int, c: int, hw: int | None = None, offset: float = 5.0) -> np.ndarray:
    """Correlated ReLU activations with large means (stresses float64 accumulation)."""
    shape = (n, c) if hw is None else (n, c, hw, hw)
    mix = rng.normal(size=(c, c))
    z = np.einsum("ij,nj...->ni...", mix, rng.normal(size=shape))
    return np.maximum(z + offset, 0).astype(np.float32)


@pytest.mark.parametrize("hw", [None, 5])
def test_streamed_correlation_equals_corrcoef(tmp_path, hw):
    a, b = relu_layer(53, 6, hw), relu_layer(53, 4, hw)
    fa = write_planted(tmp_path / "a.h5", {"L": a})
    fb = write_planted(tmp_path / "b.h5", {"L": b})
    with ActivationFile(fa) as xa, ActivationFile(fb) as xb:
        ma = layer_moments(xa, "L", blocks=4, chunk_images=5).total()
        mb = layer_moments(xb, "L", blocks=4, chunk_images=5).total()
        cross = cross_moments(xa, xb, "L", blocks=4, chunk_images=5).total()
    sa, sb = as_samples(a), as_samples(b)
    expected = np.corrcoef(np.hstack([sa, sb]), rowvar=False)
    within = correlation.within_correlation(ma.count[0], ma.sum_x[0], ma.sum_xy[0])
    np.testing.assert_allclose(within, expected[:6, :6], atol=1e-10)
    var = [correlation.variance(m.count[0], m.sum_x[0], np.diag(m.sum_xy[0])) for m in (ma, mb)]
    between = correlation.between_correlation(
        cross.count[0], cross.sum_x[0], cross.sum_y[0], cross.sum_xy[0], var[0], var[1]
    )
    np.testing.assert_allclose(between, expected[:6, 6:], atol=1e-10)
    assert cross.count[0] == len(sa)


def test_blocks_partition_the_samples(tmp_path):
    a = relu_layer(40, 3, 2)
    with ActivationFile(write_planted(tmp_path / "a.h5", {"L": a})) as f:
        m = layer_moments(f, "L", blocks=5, chunk_images=3)
    assert m.count.tolist() == [8 * 4] * 5
    np.testing.assert_allclose(m.total().sum_x[0], as_samples(a).sum(0), rtol=1e-12)
    first_two = m.total(np.array([0, 1]))
    np.testing.assert_allclose(
        first_two.sum_xy[0], as_samples(a[:16]).T @ as_samples(a[:16]), rtol=1e-12
    )


def test_dead_unit_gets_zero_correlation():
    x = np.hstack([rng.normal(size=(100, 2)), np.zeros((100, 1))])
    m = BlockMoments.zeros(1, 3, 3)
    m.add(0, x)
    c = correlation.within_correlation(m.count[0], m.sum_x[0], m.sum_xy[0])
    assert np.all(np.isfinite(c))
    assert c[2].tolist() == [0.0, 0.0, 0.0]
    assert c[0, 0] == 1.0


def test_one_to_one_matching_recovers_a_permuted_noisy_copy():
    x = rng.normal(size=(5000, 30))
    perm = rng.permutation(30)
    y = x[:, perm] + 0.3 * rng.normal(size=x.shape)
    c = np.corrcoef(x, y, rowvar=False)[:30, 30:]
    partner, value = matching.one_to_one_matching(c)
    # unit perm[j] of x went to column j of y
    np.testing.assert_array_equal(partner[perm], np.arange(30))
    semi, _ = matching.semi_matching(c)
    np.testing.assert_array_equal(semi, partner)
    assert np.all(value > 0.9)
    aligned = matching.aligned_columns(c, partner)
    np.testing.assert_allclose(np.diag(aligned), value)


def test_one_to_one_beats_greedy_when_partners_collide():
    # both rows prefer column 0; the assignment must give row 1 column 1
    c = np.array([[0.9, 0.8], [0.7, 0.1]])
    semi, _ = matching.semi_matching(c)
    partner, value = matching.one_to_one_matching(c)
    assert semi.tolist() == [0, 0]
    assert partner.tolist() == [1, 0]
    assert value.sum() == pytest.approx(1.5)


def test_rectangular_matching_leaves_extra_rows_unmatched():
    c = rng.uniform(size=(5, 3))
    partner, value = matching.one_to_one_matching(c)
    assert (partner >= 0).sum() == 3 and np.isnan(value).sum() == 2
    assert sorted(partner[partner >= 0].tolist()) == [0, 1, 2]


def test_scatter_correlation_counts_a_rounding_negative_variance_as_dead():
    x = rng.normal(size=(100, 3))
    xc = x - x.mean(0)
    sxx = xc.T @ xc
    sxx[2, :] = sxx[:, 2] = 0.0
    sxx[2, 2] = -4.5e-13  # Σx² − (Σx)²/n of a constant unit, rounded below zero
    c = correlation.scatter_correlation(100, sxx, sxx, sxx)
    assert np.all(np.isfinite(c))
    assert c[2].tolist() == [0.0, 0.0, 0.0] and c[:, 2].tolist() == [0.0, 0.0, 0.0]
    np.testing.assert_allclose(c[:2, :2], np.corrcoef(x[:, :2], rowvar=False), atol=1e-12)
    # the normaliser itself treats a NaN standard deviation as dead, not as a NaN correlation
    c = correlation.correlation(sxx / 100, np.diag(sxx) / 100, np.diag(sxx) / 100)
    assert np.all(np.isfinite(c)) and c[2].tolist() == [0.0, 0.0, 0.0]


def test_semi_vs_one_to_one_agreement_leaves_dead_units_out():
    """Dead units' rows are all 0: semi-matching gives each the first unit, one-to-one what is
    left over; neither is a partner of the data, so the pair's agreement counts live units."""
    from convergent.analysis.blocks import pair_moments_of_arrays
    from convergent.analysis.pairs import compare_units

    x = rng.normal(size=(400, 6))
    x[:, [1, 4]] = 0.0  # dead in A
    y = x[:, ::-1] + 0.1 * rng.normal(size=(400, 6))  # B: A's units reversed, noisy
    mxx, myy, mxy = pair_moments_of_arrays(x, y, blocks=4)
    var = [np.diag(m.total().sum_xy[0]) / 400 - (m.total().sum_x[0] / 400) ** 2
           for m in (mxx, myy)]
    r = compare_units(mxy, *var, 1e-6)
    assert (r.dead_a, r.dead_b) == (2, 0)
    assert r.same_partner_fraction == 1.0  # the 4 live units agree
    assert r.matchings.same_partner_fraction < 1.0  # over all rows, the dead ones disagree
