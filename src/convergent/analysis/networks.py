"""All networks at once: the matrix of distances between every two networks at one layer, its
two-dimensional embedding, and a permutation test of whether networks group by a label
(training condition, architecture) more than by chance.

Distances (on each network's per-image features of one probe subsample):
``angular_shape`` — Williams et al. 2021's shape metric with rotations only (α = 1), the angle
arccos ‖X̂ᵀŶ‖_* between centred, unit-Frobenius X̂ and its best rotation of Ŷ, a metric;
``cka_distance`` — 1 − linear CKA (not a metric: no triangle inequality).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from convergent.analysis import kernels, shapes

DISTANCES = ("angular_shape", "cka_distance")


def distance_matrices(features: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
    """{distance: (networks × networks) symmetric matrix with a zero diagonal} of per-image
    features (images × units, the same images for every network)."""
    reduced = [kernels.reduce_features(np.asarray(x, float)) for x in features]
    grams = np.stack([kernels.center_gram(kernels.gram_linear(x)).ravel() for x in reduced])
    norms = np.linalg.norm(grams, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cka = grams @ grams.T / np.outer(norms, norms)
    n = len(reduced)
    shape = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            shape[i, j] = shape[j, i] = shapes.angular_shape_data(reduced[i], reduced[j])
    cka_distance = np.clip(1.0 - cka, 0.0, 1.0)
    np.fill_diagonal(cka_distance, 0.0)
    return {"angular_shape": shape, "cka_distance": cka_distance}


def classical_mds(d: np.ndarray, dims: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """(points, explained): Torgerson's classical scaling of a distance matrix — the top
    ``dims`` eigenvectors of the double-centred −D²/2 scaled by √eigenvalue — and the share of
    the positive eigenvalues' sum each kept dimension carries.  Signs are fixed so that each
    axis's largest coordinate is positive (the embedding is otherwise sign-ambiguous)."""
    d = np.asarray(d, float)
    n = len(d)
    j = np.eye(n) - 1.0 / n
    b = -0.5 * j @ (d**2) @ j
    evals, evecs = np.linalg.eigh((b + b.T) / 2)
    order = np.argsort(evals)[::-1][:dims]
    lam = np.maximum(evals[order], 0.0)
    points = evecs[:, order] * np.sqrt(lam)
    flip = np.sign(points[np.abs(points).argmax(axis=0), np.arange(points.shape[1])])
    points = points * np.where(flip == 0, 1.0, flip)
    positive = evals[evals > 0].sum()
    return points, lam / positive if positive > 0 else np.zeros_like(lam)


def grouping_statistic(d: np.ndarray, labels: np.ndarray) -> float:
    """Mean distance between networks of different labels minus mean distance between networks
    of the same label (> 0: networks group by the label)."""
    same = labels[:, None] == labels[None, :]
    off = ~np.eye(len(d), dtype=bool)
    within, between = d[same & off], d[~same]
    if within.size == 0 or between.size == 0:
        return np.nan
    return float(between.mean() - within.mean())


def grouping_test(
    d: np.ndarray,
    labels: Sequence[str],
    strata: Sequence[str] | None = None,
    permutations: int = 999,
    seed: int = 0,
) -> tuple[float, float]:
    """(statistic, p): :func:`grouping_statistic` and its permutation p-value, (1 + #{permuted
    ≥ observed}) / (1 + permutations).  Labels are permuted within each stratum (e.g. the
    condition labels within each architecture), so another grouping cannot produce the effect."""
    labels = np.asarray(labels)
    strata = np.zeros(len(labels), int) if strata is None else np.asarray(strata)
    observed = grouping_statistic(d, labels)
    if not np.isfinite(observed):
        return np.nan, np.nan
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(strata == s) for s in np.unique(strata)]
    hits = 0
    for _ in range(permutations):
        permuted = labels.copy()
        for g in groups:
            permuted[g] = labels[rng.permutation(g)]
        hits += grouping_statistic(d, permuted) >= observed - 1e-12
    return observed, (1 + hits) / (1 + permutations)
