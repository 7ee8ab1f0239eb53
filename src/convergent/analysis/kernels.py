"""The Gram route: n × n kernel matrices of a probe subsample and CKA on them, with Kornblith
et al.'s (2019) ``center_gram``/``cka`` conventions; a layer wider than its samples as its
principal-component scores (the same centred Gram matrix)."""

from __future__ import annotations

import numpy as np


def gram_linear(x: np.ndarray) -> np.ndarray:
    """K = X Xᵀ (n × n)."""
    return x @ x.T


def gram_rbf(x: np.ndarray, fraction: float = 0.4) -> np.ndarray:
    """RBF kernel exp(−‖xᵢ − xⱼ‖² / (2σ²)) with σ = fraction × median distance.

    As in Kornblith et al.'s ``gram_rbf``: σ² = fraction² × the median of all n² squared
    distances (zero diagonal included).
    """
    return rbf_of_gram(x @ x.T, fraction)


def rbf_of_gram(dots: np.ndarray, fraction: float = 0.4) -> np.ndarray:
    """:func:`gram_rbf` from the linear Gram matrix XXᵀ (of X or of X centred: the
    distances are the same)."""
    sq_norms = np.diag(dots)
    return rbf_of_distances(np.maximum(sq_norms[:, None] + sq_norms[None, :] - 2 * dots, 0.0),
                            fraction)


def rbf_of_distances(
    sq_dist: np.ndarray, fraction: float = 0.4, upper: tuple[np.ndarray, np.ndarray] | None = None
) -> np.ndarray:
    """:func:`gram_rbf` from the squared distances (``upper``: their upper triangle's indices,
    :func:`median_distance`'s)."""
    median = median_distance(sq_dist, upper)
    if median <= 0:
        return np.ones_like(sq_dist)
    return np.exp(-sq_dist / (2 * fraction**2 * median))


def median_distance(
    sq_dist: np.ndarray, upper: tuple[np.ndarray, np.ndarray] | None = None
) -> float:
    """``np.median`` of a matrix of squared distances (symmetric, zero diagonal, no negative
    entry), to the bit, from its upper triangle (``upper``: ``np.triu_indices(n, 1)``) alone:
    sorted, its entries are the diagonal's n zeros, then each upper entry twice, so half as
    many entries are partitioned (the RBF bandwidth of every bootstrap resample)."""
    n = len(sq_dist)
    values = sq_dist[np.triu_indices(n, 1) if upper is None else upper]
    if np.isnan(values).any():
        return np.nan
    middle = (n * n // 2,) if n % 2 else (n * n // 2 - 1, n * n // 2)
    ranks = [(t - n) // 2 for t in middle if t >= n]
    values = np.partition(values, ranks) if ranks else values
    a, b = (values[(t - n) // 2] if t >= n else 0.0 for t in (middle[0], middle[-1]))
    return float(a) if len(middle) == 1 else float((a + b) / 2)


def center_gram(gram: np.ndarray, unbiased: bool = False) -> np.ndarray:
    """HKH (biased) or the Székely–Rizzo U-centred Gram matrix (unbiased; zero diagonal)."""
    gram = np.array(gram, dtype=np.float64, copy=True)
    n = len(gram)
    if unbiased:
        np.fill_diagonal(gram, 0)
        means = gram.sum(0) / (n - 2)
        means -= means.sum() / (2 * (n - 1))
        gram -= means[:, None]
        gram -= means[None, :]
        np.fill_diagonal(gram, 0)
    else:
        means = gram.mean(0)
        means -= means.mean() / 2
        gram -= means[:, None]
        gram -= means[None, :]
    return gram


def cka(gram_x: np.ndarray, gram_y: np.ndarray, debiased: bool = False) -> float:
    """CKA = ⟨K̃, L̃⟩ / (‖K̃‖_F ‖L̃‖_F) with centred (or U-centred if ``debiased``) Grams."""
    kx, ky = center_gram(gram_x, debiased), center_gram(gram_y, debiased)
    denom = np.linalg.norm(kx) * np.linalg.norm(ky)
    return float(kx.ravel() @ ky.ravel() / denom) if denom > 0 else np.nan


# ------------------------------------------------------------------ features
#: principal components of a wide layer are kept above this fraction of the largest variance
GRAM_RANK_TOL = 1e-10


def reduce_features(x: np.ndarray) -> np.ndarray:
    """When p > n: the n × r principal-component scores of centred X, which have the same
    centred Gram matrix as X — exact for every measure invariant to orthogonal maps of the
    features, not for the basis-dependent PWCCA and unit matching."""
    n, p = x.shape
    if p <= n:
        return x
    xc = x - x.mean(0)
    return gram_scores(xc @ xc.T)[1]


def gram_scores(gram: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(λ, Z): the centred Gram matrix XcXcᵀ's eigenvalues above the rank tolerance
    (ascending) and the principal-component scores Z = UΛ^½ (n × r), ZZᵀ = XcXcᵀ, ZᵀZ = Λ."""
    evals, evecs = np.linalg.eigh(gram)
    keep = evals > GRAM_RANK_TOL * max(evals.max(), 0.0)
    return evals[keep], evecs[:, keep] * np.sqrt(evals[keep])
