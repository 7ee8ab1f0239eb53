"""Resampling statistics: bootstrap confidence intervals over probe images and null pairings.

Block bootstrap: the probe set is split into B blocks whose moments are stored separately
(``BlockMoments``); a resample draws B blocks with replacement and sums their moments, so each
resample of a scatter-route measure costs one small matrix computation and no pass over the
activations.  Subsample (Gram/RDM) measures resample images directly.  Confidence intervals are
percentile intervals of the resampled values.  These are intervals of one pair over probe
images; intervals over networks (the study's findings and claims) are
:mod:`convergent.analysis.inference`'s.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


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
    from scipy import stats  # here: every CLI start imports this module; scipy.stats ~0.6 s

    z = stats.norm.ppf((1 + level) / 2)
    sd = (np.asarray(high, float) - np.asarray(low, float)) / (2 * z)
    return np.where(np.isfinite(sd), np.maximum(sd, 0.0), 0.0)


def t_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Student-t interval of the mean of independent ``values`` (e.g. one accuracy per seed)."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if v.size < 2:
        return np.nan, np.nan
    from scipy import stats  # here, as in interval_sd

    half = stats.t.ppf((1 + level) / 2, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size)
    return float(v.mean() - half), float(v.mean() + half)
