"""Bootstrap intervals and null pairings on planted data with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from convergent.analysis import statistics as st


def test_percentile_ci_of_known_values():
    lo, hi = st.percentile_ci(np.arange(101.0), 0.9)
    assert (lo, hi) == pytest.approx((5.0, 95.0))
    assert np.isnan(st.percentile_ci(np.array([np.nan]))[0])


def test_bootstrap_ci_of_a_mean_matches_normal_theory():
    rng = np.random.default_rng(0)
    data = rng.normal(2.0, 1.0, size=400)
    out = st.bootstrap(lambda idx: {"mean": data[idx].mean()}, len(data), 1000, seed=1)
    est, lo, hi = out["mean"]
    assert est == pytest.approx(data.mean())
    se = data.std() / np.sqrt(len(data))
    assert hi - lo == pytest.approx(2 * 1.96 * se, rel=0.15)
    assert lo < est < hi


def test_bootstrap_is_seeded():
    data = np.arange(50.0)
    a = st.bootstrap(lambda idx: {"m": data[idx].mean()}, 50, 50, seed=3)
    b = st.bootstrap(lambda idx: {"m": data[idx].mean()}, 50, 50, seed=3)
    assert a == b


def test_shuffled_pairing_is_a_seeded_derangement():
    p = st.shuffled_pairing(100, seed=4)
    assert sorted(p) == list(range(100))
    assert not np.any(p == np.arange(100))
    np.testing.assert_array_equal(p, st.shuffled_pairing(100, seed=4))
