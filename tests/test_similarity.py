"""Similarity measures on planted data: invariances, textbook formulas, streamed = in memory."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import orthogonal_procrustes
from scipy.stats import ortho_group

from convergent.analysis import kernels, shapes
from convergent.analysis import similarity as sim
from convergent.analysis.scatter import Scatter
from convergent.moments import BlockMoments


def planted(n=60, p=5, q=7, noise=0.5, seed=0):
    """Y is a noisy linear image of X plus an offset: related but not identical."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p)) @ rng.normal(size=(p, p)) + 3.0
    y = x @ rng.normal(size=(p, q)) + noise * rng.normal(size=(n, q)) - 1.0
    return x, y


def centred(a):
    return a - a.mean(0)


# ------------------------------------------------------------------ textbook formulas
def hsic_textbook(k, lg):
    n = len(k)
    h = np.eye(n) - np.ones((n, n)) / n
    return np.trace(k @ h @ lg @ h) / (n - 1) ** 2


def cka_textbook(k, lg):
    return hsic_textbook(k, lg) / np.sqrt(hsic_textbook(k, k) * hsic_textbook(lg, lg))


def hsic_unbiased_textbook(k, lg):
    """Song et al. 2012's unbiased HSIC estimator."""
    n = len(k)
    k, lg = k.copy(), lg.copy()
    np.fill_diagonal(k, 0)
    np.fill_diagonal(lg, 0)
    one = np.ones(n)
    return (
        np.trace(k @ lg)
        + (one @ k @ one) * (one @ lg @ one) / ((n - 1) * (n - 2))
        - 2 / (n - 2) * one @ k @ lg @ one
    ) / (n * (n - 3))


def canonical_textbook(x, y):
    """ρ = singular values of Q_xᵀQ_y (QR of the centred data)."""
    qx, _ = np.linalg.qr(centred(x))
    qy, _ = np.linalg.qr(centred(y))
    return np.linalg.svd(qx.T @ qy, compute_uv=False)


def pca_textbook(x, keep):
    """Scores of the top principal components explaining ``keep`` of the variance."""
    xc = centred(x)
    u, s, _ = np.linalg.svd(xc, full_matrices=False)
    frac = np.cumsum(s**2) / np.sum(s**2)
    k = int(np.argmax(frac >= keep - 1e-12)) + 1
    return u[:, :k] * s[:k]


def pwcca_textbook(x, y, smaller=True):
    """Morcos et al.: canonical variates of the smaller side, weighted by Σ|⟨h_i, x_j⟩|."""
    if smaller and x.shape[1] > y.shape[1]:
        x, y = y, x
    qx, _ = np.linalg.qr(centred(x))
    qy, _ = np.linalg.qr(centred(y))
    u, rho, _ = np.linalg.svd(qx.T @ qy, full_matrices=False)
    h = qx @ u
    alpha = np.abs(h.T @ centred(x)).sum(1)
    return np.sum(alpha * rho) / alpha.sum()


def procrustes_textbook(x, y):
    a, b = centred(x), centred(y)
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    width = max(a.shape[1], b.shape[1])
    a = np.pad(a, ((0, 0), (0, width - a.shape[1])))
    b = np.pad(b, ((0, 0), (0, width - b.shape[1])))
    q, _ = orthogonal_procrustes(b, a)
    return np.sum((a - b @ q) ** 2)


def regression_textbook(x, y):
    xc, yc = centred(x), centred(y)
    coef, *_ = np.linalg.lstsq(xc, yc, rcond=None)
    return 1 - np.sum((yc - xc @ coef) ** 2) / np.sum(yc**2)


def test_linear_cka_matches_hsic_textbook_both_routes():
    x, y = planted()
    expected = cka_textbook(x @ x.T, y @ y.T)
    assert sim.linear_cka(Scatter.from_data(x, y)) == pytest.approx(expected, rel=1e-10)
    linear = kernels.cka(kernels.gram_linear(x), kernels.gram_linear(y))
    assert linear == pytest.approx(expected, rel=1e-10)
    assert sim.linear_hsic(Scatter.from_data(x, y)) == pytest.approx(
        hsic_textbook(x @ x.T, y @ y.T), rel=1e-10
    )


def test_rbf_cka_matches_textbook_with_median_bandwidth():
    x, y = planted()
    d = np.sum((x[:, None] - x[None]) ** 2, -1)
    k = np.exp(-d / (2 * 0.4**2 * np.median(d)))
    d = np.sum((y[:, None] - y[None]) ** 2, -1)
    lg = np.exp(-d / (2 * 0.4**2 * np.median(d)))
    assert kernels.cka(kernels.gram_rbf(x, 0.4), kernels.gram_rbf(y, 0.4)) == pytest.approx(
        cka_textbook(k, lg), rel=1e-10
    )


@pytest.mark.parametrize("n", [1, 2, 3, 4, 31, 300, 301])
def test_the_median_distance_from_the_upper_triangle_is_numpys_median_to_the_bit(n):
    """Odd and even sizes, resamples with repeated images (off-diagonal zeros), ties."""
    rng = np.random.default_rng(n)
    for draw in range(12):
        x = rng.normal(size=(n, 4))
        x = np.round(x, 1) if draw % 3 == 0 else x  # tied distances
        idx = rng.integers(0, n, n) if draw % 2 else np.arange(n)
        gram = x @ x.T
        sq = np.diag(gram)  # as the Gram route: the diagonal exactly 0
        d = np.maximum(sq[:, None] + sq[None, :] - 2 * gram, 0.0)[np.ix_(idx, idx)]
        assert kernels.median_distance(d) == np.median(d)
    d[0, -1] = d[-1, 0] = np.nan
    assert n == 1 or np.isnan(kernels.median_distance(d))


def test_debiased_cka_matches_unbiased_hsic_estimator():
    x, y = planted()
    k, lg = x @ x.T, y @ y.T
    expected = hsic_unbiased_textbook(k, lg) / np.sqrt(
        hsic_unbiased_textbook(k, k) * hsic_unbiased_textbook(lg, lg)
    )
    assert kernels.cka(k, lg, debiased=True) == pytest.approx(expected, rel=1e-9)
    assert kernels.cka(k, lg, debiased=True) < kernels.cka(k, lg)  # the bias is upward here


def test_kornblith_demo_conformance():
    """google-research representation_similarity Demo.ipynb values (seed 1337)."""
    np.random.seed(1337)
    x = np.random.randn(100, 10)
    y = np.random.randn(100, 10) + x
    gx, gy = kernels.gram_linear(x), kernels.gram_linear(y)
    assert kernels.cka(gx, gy) == pytest.approx(0.55761, abs=5e-6)
    assert sim.linear_cka(Scatter.from_data(x, y)) == pytest.approx(0.55761, abs=5e-6)
    rbf = kernels.cka(kernels.gram_rbf(x, 0.5), kernels.gram_rbf(y, 0.5))
    assert rbf == pytest.approx(0.65483, abs=5e-6)
    assert kernels.cka(gx, gy, debiased=True) == pytest.approx(0.51346, abs=5e-6)


def test_cca_family_matches_qr_textbook():
    x, y = planted(noise=2.0)
    rho = canonical_textbook(x, y)
    s = Scatter.from_data(x, y)
    np.testing.assert_allclose(sim.canonical_correlations(s), rho, atol=1e-10)
    assert sim.cca_rho(s) == pytest.approx(rho.mean())
    assert sim.cca_r2(s) == pytest.approx(np.mean(rho**2))
    # Kornblith's R²_CCA = ‖Q_YᵀQ_X‖²_F / min(p, q)
    qx, _ = np.linalg.qr(centred(x))
    qy, _ = np.linalg.qr(centred(y))
    assert sim.cca_r2(s) == pytest.approx(np.linalg.norm(qx.T @ qy) ** 2 / 5)


def test_svcca_matches_svd_then_cca():
    rng = np.random.default_rng(3)
    # a few strong directions plus weak noise dimensions that the 99 % cut drops
    x = rng.normal(size=(80, 3)) @ rng.normal(size=(3, 8)) * 5 + 0.05 * rng.normal(size=(80, 8))
    y = x[:, :6] @ rng.normal(size=(6, 6)) + rng.normal(size=(80, 6))
    px, py = pca_textbook(x, 0.99), pca_textbook(y, 0.99)
    assert px.shape[1] == 3  # the planted rank survives, the noise does not
    rho = canonical_textbook(px, py)
    s = Scatter.from_data(x, y)
    assert sim.svcca_rho(s, 0.99) == pytest.approx(rho.mean(), rel=1e-9)
    assert sim.svcca_r2(s, 0.99) == pytest.approx(np.mean(rho**2), rel=1e-9)
    assert sim.svcca_rho(s, 1.0) == pytest.approx(sim.cca_rho(s), rel=1e-9)


def test_pwcca_matches_morcos_formula_and_weights_strong_directions():
    x, y = planted(noise=1.5)
    s = Scatter.from_data(x, y)
    assert sim.pwcca(s) == pytest.approx(pwcca_textbook(x, y), rel=1e-9)
    assert sim.pwcca(s, side="y") == pytest.approx(pwcca_textbook(y, x, smaller=False), rel=1e-9)
    assert sim.pwcca(s, side="y") != pytest.approx(sim.pwcca(s), rel=1e-3)  # asymmetric
    # weights favour the well-predicted directions, so PWCCA exceeds the plain mean here
    assert sim.pwcca(s) > sim.cca_rho(s)


def test_procrustes_and_regression_match_textbook():
    x, y = planted(noise=1.0)
    s = Scatter.from_data(x, y)
    assert shapes.procrustes(s) == pytest.approx(procrustes_textbook(x, y), rel=1e-9)
    assert sim.regression_r2(s) == pytest.approx(regression_textbook(x, y), rel=1e-9)
    assert sim.regression_r2(s.swap()) == pytest.approx(regression_textbook(y, x), rel=1e-9)
    cos = 1 - shapes.procrustes(s) / 2
    assert shapes.angular_shape(s) == pytest.approx(np.arccos(cos), rel=1e-9)


# ------------------------------------------------------------------ invariances
def test_cka_invariant_to_orthogonal_maps_and_isotropic_scaling_not_to_general_maps():
    x, y = planted(p=6, q=6)
    q = ortho_group.rvs(6, random_state=1)
    y2 = 7.5 * y @ q
    for f in (
        lambda a, b: sim.linear_cka(Scatter.from_data(a, b)),
        lambda a, b: kernels.cka(kernels.gram_linear(a), kernels.gram_linear(b)),
        lambda a, b: kernels.cka(kernels.gram_linear(a), kernels.gram_linear(b), debiased=True),
        lambda a, b: kernels.cka(kernels.gram_rbf(a, 0.4), kernels.gram_rbf(b, 0.4)),
    ):
        assert f(x, y2) == pytest.approx(f(x, y), rel=1e-9)
    m = np.diag([1, 10, 0.1, 1, 3, 1.0])  # invertible but not orthogonal
    assert abs(sim.linear_cka(Scatter.from_data(x, y @ m)) - sim.linear_cka(
        Scatter.from_data(x, y))) > 1e-3


def test_cca_family_invariant_to_invertible_linear_maps():
    x, y = planted(noise=1.0)
    rng = np.random.default_rng(5)
    mx, my = rng.normal(size=(5, 5)), rng.normal(size=(7, 7))
    s, s2 = Scatter.from_data(x, y), Scatter.from_data(x @ mx + 4, y @ my)
    for f in (sim.cca_rho, sim.cca_r2):
        assert f(s2) == pytest.approx(f(s), rel=1e-8)
    # regression of Y on X: invariant to invertible maps of the predictor X only
    assert sim.regression_r2(Scatter.from_data(x @ mx, y)) == pytest.approx(
        sim.regression_r2(s), rel=1e-8
    )
    assert sim.regression_r2(s2) != pytest.approx(sim.regression_r2(s), rel=1e-3)


def test_procrustes_zero_for_rotated_scaled_shifted_copy():
    x, _ = planted(p=6)
    y = 3.0 * x @ ortho_group.rvs(6, random_state=2) + 5.0
    s = Scatter.from_data(x, y)
    assert shapes.procrustes(s) == pytest.approx(0.0, abs=1e-10)
    assert shapes.angular_shape(s) == pytest.approx(0.0, abs=1e-6)
    assert sim.linear_cka(s) == pytest.approx(1.0)
    assert sim.cca_rho(s) == pytest.approx(1.0)
    assert sim.pwcca(s) == pytest.approx(1.0)
    # a non-orthogonal map is not a Procrustes match
    assert shapes.procrustes(Scatter.from_data(x, x * np.arange(1, 7))) > 0.01


def test_angular_shape_is_precise_near_identity_on_the_data_route():
    x, _ = planted(p=6)
    y = 3.0 * x @ ortho_group.rvs(6, random_state=2) + 5.0
    # arccos of the nuclear cosine gave 3.9e-8 here: half the digits lost at cos ≈ 1
    assert shapes.angular_shape_data(x, y) <= 1e-12
    assert shapes.procrustes_data(x, y) <= 1e-24
    # from scatter matrices alone 2 − 2‖X̂ᵀŶ‖_* has a ~1e-16 rounding floor: θ ≲ 1e-7
    assert shapes.angular_shape(Scatter.from_data(x, y)) <= 1e-7
    # a planted angle: Ŷ = cos θ X̂ + sin θ Ẑ, Ẑ's columns orthogonal to 1 and to X's columns
    basis, _ = np.linalg.qr(np.hstack([np.ones((len(x), 1)), x]))
    z = np.random.default_rng(7).normal(size=x.shape)
    z -= basis @ (basis.T @ z)
    xh = centred(x) / np.linalg.norm(centred(x))
    theta = 1e-6
    tilted = np.cos(theta) * xh + np.sin(theta) * z / np.linalg.norm(z)
    assert shapes.angular_shape_data(x, tilted) == pytest.approx(theta, rel=1e-8)
    # the same holds for a narrower Y (zero-padded) and for the full data-route measure set
    m = sim.data_measures(x, 2.0 * x[:, :4] @ ortho_group.rvs(4, random_state=3), 0.99)
    assert m["angular_shape"] > 0.1  # two of X's dimensions are missing in Y
    assert sim.data_measures(x, y, 0.99)["angular_shape"] <= 1e-12


@pytest.mark.parametrize("noise", [0.1, 1.0, 5.0])
def test_angular_shape_routes_agree_with_arccos_away_from_identity(noise):
    x, y = planted(noise=noise)
    a, b = centred(x), centred(y)
    cos = np.linalg.svd(a.T @ b, compute_uv=False).sum() / (np.linalg.norm(a) * np.linalg.norm(b))
    expected = np.arccos(cos)
    assert expected > 0.05
    s = Scatter.from_data(x, y)
    assert shapes.angular_shape(s) == pytest.approx(expected, abs=1e-10)
    assert shapes.angular_shape_data(x, y) == pytest.approx(expected, abs=1e-10)
    assert shapes.angular_shape_data(y, x) == pytest.approx(expected, abs=1e-10)  # symmetric
    assert shapes.procrustes_data(x, y) == pytest.approx(shapes.procrustes(s), abs=1e-12)
    direct = sim.scatter_measures(s)
    for k, v in sim.data_measures(x, y, 0.99).items():
        assert v == pytest.approx(direct[k], rel=1e-9, abs=1e-12), k


def test_rank_deficient_inputs_are_handled():
    x, y = planted()
    x = np.hstack([x, np.zeros((len(x), 2)), x[:, :1]])  # dead units and a duplicate
    s = Scatter.from_data(x, y)
    rho = sim.canonical_correlations(s)
    assert len(rho) == 5  # rank of x
    assert np.isfinite([sim.pwcca(s), sim.regression_r2(s), sim.svcca_rho(s)]).all()


def test_reduce_features_keeps_rotation_invariant_measures():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(20, 50)), rng.normal(size=(20, 8))
    xr = kernels.reduce_features(x)
    assert xr.shape[1] <= 19
    a, b = Scatter.from_data(x, y), Scatter.from_data(xr, y)
    for f in (sim.linear_cka, shapes.procrustes):
        assert f(b) == pytest.approx(f(a), rel=1e-8)
    # p > n: CCA and regression would be trivially perfect; outside their domain, NaN
    for f in (sim.cca_r2, sim.regression_r2):
        assert np.isnan(f(a)) and np.isnan(f(b))


# ------------------------------------------------------------------ streamed = in memory
def test_scatter_from_block_moments_equals_in_memory():
    x, y = planted(n=90)
    edges = [0, 20, 45, 70, 90]
    mxx, myy, mxy = (BlockMoments.zeros(4, a.shape[1], b.shape[1]) for a, b in
                     ((x, x), (y, y), (x, y)))
    for k, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        mxx.add(k, x[lo:hi])
        myy.add(k, y[lo:hi])
        mxy.add(k, x[lo:hi], y[lo:hi])
    streamed = sim.scatter_measures(Scatter.from_moments(mxx, myy, mxy))
    direct = sim.scatter_measures(Scatter.from_data(x, y))
    for k in direct:
        assert streamed[k] == pytest.approx(direct[k], rel=1e-9, abs=1e-12), k
    # a resample with a repeated block equals the data with that block repeated
    idx = np.array([0, 0, 3])
    rows = np.r_[0:20, 0:20, 70:90]
    a = sim.scatter_measures(Scatter.from_moments(mxx, myy, mxy, idx))
    b = sim.scatter_measures(Scatter.from_data(x[rows], y[rows]))
    for k in a:
        assert a[k] == pytest.approx(b[k], rel=1e-8, abs=1e-12), k


def test_layer_identification():
    s = np.array([[0.9, 0.5, 0.1], [0.6, 0.8, 0.7], [0.2, 0.9, 0.85]])
    # rows: 0 hit, 1 hit, 2 miss (0.9 > 0.85); columns: 0 hit, 1 miss (0.9 > 0.8), 2 hit
    np.testing.assert_array_equal(sim.layer_identification(s), [1, 1, 0, 1, 0, 1])
    np.testing.assert_array_equal(sim.layer_identification(-s, False), [1, 1, 0, 1, 0, 1])
    ties = np.ones((3, 3))
    assert not sim.layer_identification(ties).any()
