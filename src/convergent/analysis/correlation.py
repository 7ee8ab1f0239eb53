"""Unit correlation matrices from streamed moments (Li et al. 2016, section 2).

c_ij = E[(x_i - mu_i)(y_j - mu_j)] / (sigma_i sigma_j), expectations over images × positions.
A unit whose standard deviation is below ``dead_std`` (a ReLU that never fires on the probe set)
has no defined correlation; it gets 0 against everything, so matchings stay well defined, and is
reported as dead.
"""

from __future__ import annotations

import numpy as np


def covariance(
    count: float, sum_x: np.ndarray, sum_y: np.ndarray, sum_xy: np.ndarray
) -> np.ndarray:
    """Population covariance E[xy] - E[x]E[y] from raw sums (float64)."""
    return sum_xy / count - np.outer(sum_x / count, sum_y / count)


def variance(count: float, sum_x: np.ndarray, sum_xx_diag: np.ndarray) -> np.ndarray:
    """Per-unit population variance from raw sums; clipped at 0 against rounding."""
    return np.maximum(sum_xx_diag / count - (sum_x / count) ** 2, 0.0)


def correlation(
    cov: np.ndarray, var_x: np.ndarray, var_y: np.ndarray, dead_std: float = 1e-6
) -> np.ndarray:
    """Normalise a covariance matrix by the units' standard deviations; dead units -> 0.

    A unit is dead unless its std exceeds ``dead_std`` (a NaN std from a negative variance
    counts as dead), so the result is finite wherever ``cov`` is: safe for the assignment solver.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        sx, sy = np.sqrt(var_x), np.sqrt(var_y)
        c = cov / np.outer(sx, sy)
    c[~(sx > dead_std), :] = 0.0
    c[:, ~(sy > dead_std)] = 0.0
    return np.clip(c, -1.0, 1.0)


def scatter_correlation(
    n: float, sxx: np.ndarray, syy: np.ndarray, sxy: np.ndarray, dead_std: float = 1e-6
) -> np.ndarray:
    """The between matrix from centred scatter matrices (Sxx = XcᵀXc, …, n samples).

    Centred data have zero column sums, so ``variance`` (clipped at 0) applies with Σx = 0:
    Sxx = Σxxᵀ − (Σx)(Σx)ᵀ/n can round a constant unit's variance below zero.
    """
    var_x, var_y = variance(n, 0.0, np.diag(sxx)), variance(n, 0.0, np.diag(syy))
    return correlation(sxy / n, var_x, var_y, dead_std)


def within_correlation(
    count: float, sum_x: np.ndarray, sum_xx: np.ndarray, dead_std: float = 1e-6
) -> np.ndarray:
    """The symmetric within-net correlation matrix of one layer."""
    var = variance(count, sum_x, np.diag(sum_xx))
    c = correlation(covariance(count, sum_x, sum_x, sum_xx), var, var, dead_std)
    live = np.sqrt(var) > dead_std
    c[np.diag_indices_from(c)] = np.where(live, 1.0, 0.0)
    return c


def between_correlation(
    count: float,
    sum_a: np.ndarray,
    sum_b: np.ndarray,
    sum_ab: np.ndarray,
    var_a: np.ndarray,
    var_b: np.ndarray,
    dead_std: float = 1e-6,
) -> np.ndarray:
    """The between-net matrix: rows are net A's units, columns net B's."""
    return correlation(covariance(count, sum_a, sum_b, sum_ab), var_a, var_b, dead_std)
