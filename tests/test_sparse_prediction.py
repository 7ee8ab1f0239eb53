"""Sparse prediction: exact lasso on Gram matrices vs scikit-learn, planted sparse maps, held-out
loss from per-block sums vs a direct computation on the samples."""

import numpy as np
import pytest
from sklearn.linear_model import Lasso

from convergent import paper
from convergent.analysis import sparse_prediction as sp

PENALTIES = np.array(paper.LI2016_SPARSE_PENALTIES)


def planted(n=2000, p=12, q=4, seed=0, noise=0.3):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p)) @ (np.eye(p) + 0.3 * rng.normal(size=(p, p))) + 2.0
    w = np.zeros((12, 4))
    w[1, 0], w[4, 0] = 1.0, -0.5
    w[2, 1] = 0.8
    w[[0, 7, 9], 2] = [0.6, 0.6, -0.4]
    w[5, 3] = 1.2
    w = w[:p, :q]
    y = x @ w + noise * rng.normal(size=(n, q)) - 1.0
    return x, y, w


def gram(x, y):
    xc, yc = x - x.mean(0), y - y.mean(0)
    return xc.T @ xc / len(x), xc.T @ yc / len(x)


def test_lasso_path_matches_scikit_learn():
    x, y, _ = planted(n=400, p=10, q=3, seed=1)
    path = sp.lasso_path(*gram(x, y), PENALTIES)
    for i, lam in enumerate(PENALTIES):
        for j in range(y.shape[1]):
            if lam == 0:
                ref = np.linalg.lstsq(x - x.mean(0), y[:, j] - y[:, j].mean(), rcond=None)[0]
            else:
                model = Lasso(alpha=lam, tol=1e-12, max_iter=100_000).fit(x, y[:, j])
                ref = model.coef_
            np.testing.assert_allclose(path[i, :, j], ref, atol=1e-4)


def test_planted_sparse_map_is_recovered():
    x, y, w = planted(n=20_000, noise=0.1)
    sx = x.std(0)
    # standardised inputs: the planted weights become w * sx
    path = sp.lasso_path(*gram(x / sx, y), np.array([0.0, 0.01]))
    np.testing.assert_allclose(path[0] / sx[:, None], w, atol=0.01)  # λ = 0: least squares
    support = path[1] != 0
    np.testing.assert_array_equal(support, w != 0)
    np.testing.assert_allclose(path[1][support] / sx[np.nonzero(support)[0]], w[w != 0], atol=0.03)


def block_sums(x, y, blocks):
    edges = np.linspace(0, len(x), blocks + 1).astype(int)
    parts = [slice(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    return sp.BlockSums(
        np.array([float(s.stop - s.start) for s in parts]),
        np.stack([x[s].sum(0) for s in parts]),
        np.stack([y[s].sum(0) for s in parts]),
        np.stack([x[s].T @ x[s] for s in parts]),
        np.stack([x[s].T @ y[s] for s in parts]),
        np.stack([(y[s] ** 2).sum(0) for s in parts]),
    ), parts


def test_held_out_loss_from_block_sums_equals_direct_computation():
    x, y, _ = planted(n=1200, p=6, q=3, seed=2, noise=1.0)
    sums, parts = block_sums(x, y, blocks=6)
    lam = np.array([0.0, 0.05])
    result = sp.sparse_prediction(sums, lam, folds=3)
    xs, ys = (x - x.mean(0)) / x.std(0), (y - y.mean(0)) / y.std(0)
    fold = sp.fold_of_block(6, 3)
    expected = np.zeros((2, 3))
    for f in range(3):
        test = np.concatenate([np.arange(1200)[parts[b]] for b in np.flatnonzero(fold == f)])
        fit = np.setdiff1d(np.arange(1200), test)
        for i, alpha in enumerate(lam):
            for j in range(3):
                if alpha == 0:
                    coef = np.linalg.lstsq(
                        xs[fit] - xs[fit].mean(0), ys[fit, j] - ys[fit, j].mean(), rcond=None
                    )[0]
                    icpt = ys[fit, j].mean() - xs[fit].mean(0) @ coef
                else:
                    m = Lasso(alpha=alpha, tol=1e-12, max_iter=100_000).fit(xs[fit], ys[fit, j])
                    coef, icpt = m.coef_, m.intercept_
                resid = ys[test, j] - xs[test] @ coef - icpt
                expected[i, j] += 0.5 * np.mean(resid**2) / 3
    np.testing.assert_allclose(result.loss, expected, atol=1e-6)


def test_huge_penalty_gives_the_predict_the_mean_baseline():
    x, y, _ = planted(n=3000, seed=3)
    sums, _ = block_sums(x, y, blocks=10)
    result = sp.sparse_prediction(sums, np.array([0.0, 10.0]), folds=5)
    assert np.all(result.nonzero[1] == 0)
    assert np.nanmean(result.loss[1]) == pytest.approx(0.5, abs=0.01)
    assert np.all(result.loss[0] < result.loss[1])


def test_dead_input_and_target_units_are_handled():
    x, y, _ = planted(n=1000, p=5, q=3, seed=4)
    x[:, 2] = 0.0  # a dead input unit
    y[:, 1] = 3.0  # a dead target unit
    sums, _ = block_sums(x, y, blocks=4)
    result = sp.sparse_prediction(sums, np.array([0.0, 1e-3]), folds=2)
    assert np.all(result.weights[:, 2, :] == 0)
    assert np.all(np.isnan(result.loss[:, 1]))
    assert np.all(np.isfinite(result.loss[:, [0, 2]]))


def test_folds_must_fit_the_blocks():
    with pytest.raises(ValueError, match="folds"):
        sp.fold_of_block(3, 5)
