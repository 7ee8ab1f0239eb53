"""Resampling statistics: bootstrap confidence intervals over probe images and null pairings.

Block bootstrap: the probe set is split into B blocks whose moments are stored separately
(``BlockMoments``); a resample draws B blocks with replacement and sums their moments, so each
resample of a scatter-route measure costs one small matrix computation and no pass over the
activations.  Subsample (Gram/RDM) measures resample images directly.  Confidence intervals are
percentile intervals of the resampled values.

Across pairs (``pairs_and_blocks``): the study's summaries resample pairs of networks and, within
each drawn pair, its probe-block bootstrap distribution (kept as its estimate and the standard
deviation implied by its interval), so an interval says how much the answer moves with other
seeds and other probe images.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import stats


def resample_indices(n: int, resamples: int, seed: int) -> np.ndarray:
    """(resamples × n) indices drawn with replacement from range(n), seeded."""
    return np.random.default_rng(seed).integers(0, n, size=(resamples, n))


def percentile_ci(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The central ``level`` percentile interval of finite ``values`` (NaN if none)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return np.nan, np.nan
    lo, hi = np.quantile(v, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def bootstrap(
    statistic: Callable[[np.ndarray], dict[str, float]],
    n: int,
    resamples: int,
    seed: int,
    level: float = 0.95,
    advance: Callable[[int], object] | None = None,
) -> dict[str, tuple[float, float, float]]:
    """{name: (estimate, ci_low, ci_high)} for a statistic of an index set over range(n).

    ``statistic(index)`` returns a dict of named values; the estimate uses ``arange(n)``.
    ``advance(1)``, if given, is called after each of the 1 + ``resamples`` evaluations (a
    progress bar's ``update``).
    """
    done = advance or (lambda _: None)
    estimate = statistic(np.arange(n))
    done(1)
    draws = []
    for idx in resample_indices(n, resamples, seed):
        draws.append(statistic(idx))
        done(1)
    out = {}
    for name, value in estimate.items():
        lo, hi = percentile_ci(np.array([d[name] for d in draws]), level)
        out[name] = (value, lo, hi)
    return out


def shuffled_pairing(n: int, seed: int) -> np.ndarray:
    """A seeded random derangement of range(n): image i of A meets image π(i) ≠ i of B."""
    rng = np.random.default_rng(seed)
    while True:
        perm = rng.permutation(n)
        if n < 2 or not np.any(perm == np.arange(n)):
            return perm


def interval_sd(low: np.ndarray, high: np.ndarray, level: float = 0.95) -> np.ndarray:
    """The normal standard deviation whose central ``level`` interval is as wide as
    [low, high]; 0 where there is no interval (NaN bounds)."""
    z = stats.norm.ppf((1 + level) / 2)
    sd = (np.asarray(high, float) - np.asarray(low, float)) / (2 * z)
    return np.where(np.isfinite(sd), np.maximum(sd, 0.0), 0.0)


def pairs_and_blocks(
    values: np.ndarray, sd: np.ndarray | None, resamples: int, seed: int
) -> np.ndarray:
    """(resamples × layers) bootstrap draws of the mean over pairs of ``values`` (pairs ×
    layers): each draw resamples the pairs with replacement and replaces each drawn pair's value
    by a draw from its own probe-block distribution, N(value, sd²).  A pair keeps its draw
    across layers (the same resampled pairs enter every layer), so slopes over depth see the
    pairs' correlation between layers; NaN values are left out of their layer's mean.
    ``sd`` None: no per-pair interval, the pairs alone are resampled."""
    values = np.atleast_2d(values)
    sd = np.zeros_like(values) if sd is None else np.atleast_2d(sd)
    rng = np.random.default_rng(seed)
    n = len(values)
    draws = np.empty((resamples, values.shape[1]))
    for r in range(resamples):
        pick = rng.integers(0, n, n)
        noisy = values[pick] + sd[pick] * rng.standard_normal(values[pick].shape)
        draws[r] = np.nanmean(noisy, axis=0)
    return draws


def slope(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares slope of ``y`` on ``x`` along the last axis (rows of ``y`` are draws);
    points with NaN ``y`` are left out of their row's fit."""
    y = np.atleast_2d(np.asarray(y, float))
    x = np.broadcast_to(np.asarray(x, float), y.shape)
    ok = np.isfinite(y)
    xm = np.where(ok, x, np.nan)
    dx = xm - np.nanmean(xm, axis=1, keepdims=True)
    dy = y - np.nanmean(np.where(ok, y, np.nan), axis=1, keepdims=True)
    return np.nansum(dx * dy, axis=1) / np.nansum(dx * dx, axis=1)


def t_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Student-t interval of the mean of independent ``values`` (e.g. one accuracy per seed)."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if v.size < 2:
        return np.nan, np.nan
    half = stats.t.ppf((1 + level) / 2, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size)
    return float(v.mean() - half), float(v.mean() + half)
