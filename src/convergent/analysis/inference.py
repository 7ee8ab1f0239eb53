"""Intervals and tests over networks, the independent unit of a study of seeds.

A study's pairs share networks: the default study's six pairs are all the pairs of four
networks, so one unusual network moves three of the six values the same way.  Resampling pairs
as if they were independent ignores that, and its intervals are far too narrow (the suite's
coverage simulation, tests/test_inference.py: about half of the nominal 95 % intervals cover
the truth with four networks).  Every interval of the findings and the claims comes from here:

* **Delete-one-network jackknife.**  The statistic is recomputed with each network left out
  (every pair it is in leaves with it); the Quenouille–Tukey variance of those replicates and a
  Student t on (units − cells) degrees of freedom give the interval.  Where no network is in two
  of the statistic's pairs (``pairing: consecutive``) each pair is its own unit: the simple
  form.  The jackknife is exact for a mean of independent pairs and conservative for pairs of
  shared networks (Efron–Stein): simulated coverage of nominal 95 % intervals 94–98 % with 4
  networks.  Kornblith et al. (2019) test their layer identification with a jackknife too.
* **Probe images.**  Every pair is measured on the same probe images, so their sampling noise
  moves all pairs together and leaving out networks cannot see it.  The jackknife variance is
  therefore increased by the statistic's probe-image variance with perfectly correlated per-pair
  errors, ``(Σ |∂θ/∂v| · sd)²``, sd being each pair's block-bootstrap standard deviation: an
  upper bound, since no correlation exceeds one.

Statistics are functions of tables of per-pair values (one table per cell, pairs × layers)
that are linear in the finite entries (means, differences of means, slopes of means); the
probe term uses that linearity.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

#: a pair of networks, by id
Pair = tuple[str, str]
#: a statistic of the cells' tables (pairs × layers each), linear in their finite entries
Statistic = Callable[[Sequence[np.ndarray]], float]


@dataclass(frozen=True)
class Estimate:
    """A statistic's value with its standard error and the degrees of freedom of its t
    distribution (``df`` < 1 or a NaN value or error: no interval, no test)."""

    value: float
    se: float
    df: float
    units: int = 0

    @property
    def defined(self) -> bool:
        return bool(np.isfinite(self.value) and np.isfinite(self.se) and self.df >= 1)

    def interval(self, level: float = 0.95,
                 bounds: tuple[float, float] = (-np.inf, np.inf)) -> tuple[float, float]:
        """The central ``level`` t interval (NaN, NaN where undefined), cut to ``bounds``,
        the statistic's range (a rate, a correlation): the true value lies within them, so
        cutting loses no coverage, and a rate is never shown as 105 %."""
        if not self.defined:
            return np.nan, np.nan
        half = stats.t.ppf((1 + level) / 2, self.df) * self.se
        lo, hi = bounds
        return max(self.value - half, lo), min(self.value + half, hi)

    def p_above(self, bound: float = 0.0) -> float:
        """One-sided p-value of H0: θ ≤ ``bound`` against θ > ``bound``."""
        return self._p(self.value - bound)

    def p_below(self, bound: float = 0.0) -> float:
        """One-sided p-value of H0: θ ≥ ``bound`` against θ < ``bound``."""
        return self._p(bound - self.value)

    def _p(self, distance: float) -> float:
        if not self.defined:
            return np.nan
        if self.se == 0:
            return 0.0 if distance > 0 else 1.0
        return float(stats.t.sf(distance / self.se, self.df))


UNDEFINED = Estimate(np.nan, np.nan, 0.0)


def units(pairs: Sequence[Sequence[Pair]]) -> list[list[np.ndarray]]:
    """The independent units of a design of cells of pairs, as keep-masks (per unit, one per
    cell): a network and every pair it is in; or, where no network is in two pairs, each pair."""
    flat = [p for cell in pairs for p in cell]
    degree = Counter(n for p in flat for n in p)
    if flat and max(degree.values()) <= 1:
        keys = list(dict.fromkeys(frozenset(p) for p in flat))
        return [[np.array([frozenset(p) != k for p in cell], bool) for cell in pairs]
                for k in keys]
    return [[np.array([n not in p for p in cell], bool) for cell in pairs] for n in degree]


def estimate(
    statistic: Statistic,
    tables: Sequence[np.ndarray],
    pairs: Sequence[Sequence[Pair]],
    sds: Sequence[np.ndarray] | None = None,
) -> Estimate:
    """The jackknife-over-networks estimate of ``statistic`` of the cells' ``tables`` (pairs ×
    layers, NaN where undefined) whose rows are ``pairs``, with the probe-image term from the
    per-pair standard deviations ``sds`` (same shapes; None: no probe term)."""
    tables = [np.atleast_2d(np.asarray(t, float).reshape(len(t), -1)) for t in tables]
    value = statistic(tables)
    keep = units(pairs)
    replicates = np.array([statistic([t[k] for t, k in zip(tables, mask, strict=True)])
                           for mask in keep])
    cells = sum(len(t) > 0 for t in tables)
    if not np.isfinite(value) or len(keep) <= cells or not np.isfinite(replicates).all():
        return Estimate(value, np.nan, 0.0, len(keep))
    n = len(keep)
    variance = (n - 1) / n * np.sum((replicates - replicates.mean()) ** 2)
    if sds is not None:
        variance += probe_variance(statistic, tables, sds)
    return Estimate(float(value), float(np.sqrt(variance)), float(n - cells), n)


def probe_variance(statistic: Statistic, tables: Sequence[np.ndarray],
                   sds: Sequence[np.ndarray]) -> float:
    """(Σ |∂θ/∂v| · sd)²: the statistic's variance over probe images if every pair's probe
    error were perfectly correlated with every other's (the statistic is linear in ``v``, so
    its unit-step differences are its gradient)."""
    base = statistic(tables)
    total = 0.0
    for c, (t, sd) in enumerate(zip(tables, sds, strict=True)):
        sd = np.asarray(sd, float).reshape(t.shape)
        for idx in zip(*np.nonzero(np.isfinite(t) & (sd > 0)), strict=True):
            bumped = [x.copy() for x in tables]
            bumped[c][idx] += 1.0
            total += abs(statistic(bumped) - base) * sd[idx]
    return total**2


# ------------------------------------------------------------------ statistics
def layer_mean(layer: int) -> Statistic:
    """The mean over the pairs of one cell at column ``layer``."""
    return lambda t: float(_column_means(t[0])[layer])


def depth_slope(depth: Sequence[float]) -> Statistic:
    """The least-squares slope over ``depth`` of one cell's per-layer means over pairs."""
    x = np.asarray(depth, float)

    def statistic(t: Sequence[np.ndarray]) -> float:
        means = _column_means(t[0])
        ok = np.isfinite(means)
        if ok.sum() < 2:
            return np.nan
        dx = x[ok] - x[ok].mean()
        return float(np.sum(dx * (means[ok] - means[ok].mean())) / np.sum(dx * dx))

    return statistic


def overall_mean(t: Sequence[np.ndarray]) -> float:
    """One cell's mean over layers of its per-layer means over pairs."""
    means = _column_means(t[0])
    return float(np.nanmean(means)) if np.isfinite(means).any() else np.nan


def contrast(t: Sequence[np.ndarray]) -> float:
    """Cell A's :func:`overall_mean` − cell B's, over the layers where both are defined."""
    a, b = _column_means(t[0]), _column_means(t[1])
    ok = np.isfinite(a) & np.isfinite(b)
    return float(np.mean(a[ok] - b[ok])) if ok.any() else np.nan


def _column_means(t: np.ndarray) -> np.ndarray:
    """Per-column mean over rows, NaN for a column without finite entries (no warning)."""
    ok = np.isfinite(t)
    count = ok.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, np.where(ok, t, 0.0).sum(0) / count, np.nan)


# ------------------------------------------------------------------ proportions
def logit_t_interval(percent: Sequence[float], level: float = 0.95) -> tuple[float, float]:
    """Student-t interval of a mean percentage over independent runs (e.g. one accuracy per
    seed), computed on the logit scale and mapped back, so that it lies within [0, 100]."""
    p = np.clip(np.asarray(percent, float) / 100, 1e-6, 1 - 1e-6)
    p = p[np.isfinite(p)]
    if p.size < 2:
        return np.nan, np.nan
    z = np.log(p / (1 - p))
    half = stats.t.ppf((1 + level) / 2, z.size - 1) * z.std(ddof=1) / np.sqrt(z.size)
    lo, hi = z.mean() - half, z.mean() + half
    return float(100 / (1 + np.exp(-lo))), float(100 / (1 + np.exp(-hi)))
