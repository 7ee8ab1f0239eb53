"""Verdicts on claims: what an estimate of an effect says about the claim, with its test stated
and corrected for the number of claims read together.

A claim states the effect's sign (``> 0`` or ``< 0``) or that it is negligible
(``|·| ≤ margin``, e.g. "comparable").  Each is a t test of the network-level estimate
(:mod:`convergent.analysis.inference`) at level α = 1 − the interval level:

* **directional** — supported when the two-sided (1 − α) interval lies on the claim's side of
  zero, contradicted when it lies on the other side (two one-sided tests at α/2 each; the
  row's p-value is the two-sided one);
* **equivalence** — supported by two one-sided tests (TOST) at α against ±margin, i.e. when the
  (1 − 2α) interval lies within ±margin; contradicted when the (1 − α) interval lies wholly
  outside ±margin; the row's p-value is the smaller of the TOST p and twice the one-sided p of
  lying beyond the margin.

Anything else is inconclusive — which is never "no effect": an inconclusive directional claim
says the study cannot tell.

Multiplicity: the rows read together (a claims table, the findings' trends) are one family;
Holm's step-down adjustment of the rows' p-values controls the chance of any false supported or
contradicted verdict in the family, under any dependence between rows (the rows share networks,
so a procedure that assumes independence or positive dependence, e.g. Benjamini–Hochberg's, is
not guaranteed).  The headline verdict is the adjusted one; the raw one stands beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from convergent.analysis.inference import Estimate

SUPPORTED, CONTRADICTED, INCONCLUSIVE = "supported", "contradicted", "inconclusive"
#: the tests a claim can state about its effect
TESTS = ("> 0", "< 0", "|·| ≤ margin")


@dataclass(frozen=True)
class Decision:
    """One row's test: its p-value for the family (``p``), the raw verdict at α, and how the
    test was made (``method``)."""

    p: float
    verdict: str
    method: str
    supporting: bool  # the verdict the p-value would back: supported (True) or contradicted


def decide(est: Estimate, test: str, margin: float = 0.0, alpha: float = 0.05) -> Decision:
    """The raw verdict on ``est`` under ``test`` (one of :data:`TESTS`) at level ``alpha``."""
    if test not in TESTS:
        raise ValueError(f"unknown test {test!r}; one of {', '.join(TESTS)}")
    df = f"t, {est.df:g} df" if est.defined else "no interval"
    if not est.defined:
        return Decision(np.nan, INCONCLUSIVE, df, True)
    if test == "|·| ≤ margin":
        p_support = max(est.p_above(-margin), est.p_below(margin))  # TOST
        p_contradict = 2 * min(est.p_above(margin), est.p_below(-margin))
        method = f"TOST at ±{margin:g} ({df})"
    else:
        upward = test == "> 0"
        p_support = 2 * (est.p_above() if upward else est.p_below())
        p_contradict = 2 * (est.p_below() if upward else est.p_above())
        method = f"two-sided ({df})"
    supporting = p_support <= p_contradict
    p = float(min(1.0, min(p_support, p_contradict)))
    verdict = (SUPPORTED if supporting else CONTRADICTED) if p <= alpha else INCONCLUSIVE
    return Decision(p, verdict, method, supporting)


def holm(p: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (NaN entries stay NaN and do not count)."""
    p = np.asarray(p, float)
    out = np.full_like(p, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    order = ok[np.argsort(p[ok], kind="stable")]
    m = len(order)
    running = 0.0
    for k, i in enumerate(order):
        running = max(running, min(1.0, (m - k) * p[i]))
        out[i] = running
    return out


def adjusted(decisions: list[Decision], alpha: float = 0.05) -> tuple[np.ndarray, list[str]]:
    """Holm-adjusted p-values of a family of decisions and the verdicts they give."""
    p = holm(np.array([d.p for d in decisions]))
    verdicts = [
        INCONCLUSIVE if not (np.isfinite(q) and q <= alpha)
        else SUPPORTED if d.supporting else CONTRADICTED
        for d, q in zip(decisions, p, strict=True)
    ]
    return p, verdicts
