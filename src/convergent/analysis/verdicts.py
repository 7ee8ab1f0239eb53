"""Verdicts on claims: what an interval of an effect says about the claim.

A claim states the effect's sign (``> 0`` or ``< 0``) or that the effect is negligible
(``|·| ≤ margin``, e.g. "comparable" or "no better than chance").  A signed claim is supported
when the whole interval lies on its side of zero and contradicted when it lies on the other
side; a negligible-effect claim is supported when the whole interval lies within ±margin (an
equivalence test: at a 95 % interval, stricter than the usual two one-sided 5 % tests) and
contradicted when it lies wholly outside.  Anything else is inconclusive.
"""

from __future__ import annotations

import numpy as np

SUPPORTED, CONTRADICTED, INCONCLUSIVE = "supported", "contradicted", "inconclusive"
#: the tests a claim can state about its effect
TESTS = ("> 0", "< 0", "|·| ≤ margin")


def verdict(low: float, high: float, test: str, margin: float = 0.0) -> str:
    """``supported``, ``contradicted`` or ``inconclusive`` for the interval [low, high] of an
    effect under ``test`` (one of :data:`TESTS`); NaN bounds are inconclusive."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return INCONCLUSIVE
    if test == "> 0":
        return SUPPORTED if low > 0 else CONTRADICTED if high < 0 else INCONCLUSIVE
    if test == "< 0":
        return SUPPORTED if high < 0 else CONTRADICTED if low > 0 else INCONCLUSIVE
    if test == "|·| ≤ margin":
        if -margin <= low and high <= margin:
            return SUPPORTED
        return CONTRADICTED if low > margin or high < -margin else INCONCLUSIVE
    raise ValueError(f"unknown test {test!r}; one of {', '.join(TESTS)}")


def difference_draws(draws_a: np.ndarray, draws_b: np.ndarray) -> np.ndarray:
    """Bootstrap draws of mean(A) − mean(B) over layers from independent draws of each group's
    per-layer means (resamples × layers); layers where either group is NaN are left out."""
    diff = np.asarray(draws_a, float) - np.asarray(draws_b, float)
    ok = np.isfinite(diff).any(axis=0)
    return np.nanmean(diff[:, ok], axis=1) if ok.any() else np.full(len(diff), np.nan)
