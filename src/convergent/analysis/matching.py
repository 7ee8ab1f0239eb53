"""One-to-one alignment of units across two nets (Li et al. 2016, section 3).

Semi-matching: every unit of A takes its most correlated unit of B (partners may repeat).
Matching: a one-to-one assignment maximising the total correlation (Li et al. used networkx's
max-weight matching; the Jonker–Volgenant solver in scipy finds the same optimum much faster).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Matching:
    """Each unit's partner in the other net (-1: none) and the matched value."""

    partner: np.ndarray
    value: np.ndarray

    def as_dict(self) -> dict[str, np.ndarray]:
        return {"partner": self.partner, "value": self.value}


@dataclass(frozen=True)
class Matchings:
    """The three matchings of a between-net matrix (rows: A's units): A's units to B's, B's to
    A's (semi-matchings), and one-to-one."""

    semi_a2b: Matching
    semi_b2a: Matching
    one2one: Matching

    @property
    def same_partner_fraction(self) -> float:
        """How often semi-matching picks the one-to-one partner, over all of A's units
        (:mod:`convergent.analysis.pairs`' ``UnitComparison``, which knows the dead units,
        leaves them out)."""
        return partner_agreement(self.semi_a2b.partner, self.one2one.partner)


def partner_agreement(
    partner: np.ndarray, other: np.ndarray, live: np.ndarray | None = None
) -> float:
    """The fraction of A's ``live`` units (default: all) given the same partner by two
    matchings, NaN without one.  A dead unit's row is constant: its partner is whichever unit
    comes first (or what the solver leaves it), not a choice of the data."""
    live = np.ones(len(partner), bool) if live is None else live
    return float(np.mean(partner[live] == other[live])) if live.any() else np.nan


def matchings(c: np.ndarray) -> Matchings:
    """Semi-matching both ways and one-to-one matching of a between-net matrix."""
    semi_a2b, semi_b2a = Matching(*semi_matching(c)), Matching(*semi_matching(c.T))
    return Matchings(semi_a2b, semi_b2a, Matching(*one_to_one_matching(c)))


def semi_matching(c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(partner, value): each row's best column and its correlation."""
    partner = np.argmax(c, axis=1)
    return partner, c[np.arange(len(c)), partner]


def soft_correlation_match(c: np.ndarray, live_a: np.ndarray, live_b: np.ndarray) -> float:
    """ReSi's soft correlation match (Klabunde et al. 2025) over live units: the mean over A's
    live units of each one's best correlation in B, and the same from B, averaged (ReSi counts
    a dead unit as r = 0 in its side's mean; the partners may be any unit)."""
    if not (live_a.any() and live_b.any()):
        return np.nan
    return float((c.max(1)[live_a].mean() + c.max(0)[live_b].mean()) / 2)


def one_to_one_matching(c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(partner, value) of the maximum-total-correlation assignment of rows to columns.

    For a rectangular matrix the larger side keeps units without partner: ``partner`` is -1 and
    ``value`` NaN for rows left unmatched.
    """
    from scipy.optimize import linear_sum_assignment  # here: every reader of a pair file imports
    # this module, and scipy.optimize takes most of a second to import

    rows, cols = linear_sum_assignment(c, maximize=True)
    partner = np.full(c.shape[0], -1)
    partner[rows] = cols
    value = np.full(c.shape[0], np.nan)
    value[rows] = c[rows, cols]
    return partner, value


def aligned_columns(c: np.ndarray, partner: np.ndarray) -> np.ndarray:
    """``c`` with columns reordered so that row i's partner sits on the diagonal."""
    rest = np.setdiff1d(np.arange(c.shape[1]), partner[partner >= 0])
    return c[:, np.concatenate([partner[partner >= 0], rest])]


def tie_groups(profiles: np.ndarray, decimals: int = 9) -> np.ndarray:
    """A label per row of ``profiles``: rows equal to ``decimals`` share one (units whose
    correlations with every unit of the other net tie, e.g. a unit and a rescaled copy, or the
    dead units).  Rows are told apart by their bytes (+ 0.0 makes −0.0 and 0.0 one value):
    one dict lookup a row, where sorting the rows (``np.unique(axis=0)``) took a tenth of a
    bootstrap resample of an fc layer's measures."""
    groups: dict[bytes, int] = {}
    rows = np.ascontiguousarray(np.round(profiles, decimals) + 0.0)
    return np.array([groups.setdefault(row.tobytes(), len(groups)) for row in rows], dtype=np.intp)


def _group_means(values: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Each value replaced by the mean over its label's group."""
    sums = np.bincount(labels, weights=values)
    return (sums / np.bincount(labels))[labels]


def rank_agreement(
    values_a: np.ndarray,
    values_b: np.ndarray,
    partner: np.ndarray,
    fraction: float = 0.1,
    between: np.ndarray | None = None,
) -> dict[str, float]:
    """Do matched units agree on a per-unit quantity (e.g. mean activation)?

    ``partner`` maps A's units to B's (-1: none).  Returns the Spearman correlation of the
    quantity over matched pairs, and the overlap of the top and bottom ``fraction`` of units:
    the share of A's most (least) active units whose partners are among B's most (least)
    active (``chance_overlap``: what random partners would give).  With the ``between``
    correlation matrix, units whose correlation rows (columns) tie — the matching could pair
    them either way at equal total — take their group's mean quantity, so the answer does not
    depend on which of them the solver picked."""
    from scipy.stats import spearmanr  # here, as linear_sum_assignment above

    values_a, values_b = np.asarray(values_a, float), np.asarray(values_b, float)
    if between is not None:
        values_a = _group_means(values_a, tie_groups(between))
        values_b = _group_means(values_b, tie_groups(between.T))
    ok = partner >= 0
    a, b = values_a[ok], values_b[partner[ok]]
    k = max(1, int(round(fraction * min(len(values_a), len(values_b)))))
    top_b, bottom_b = np.argsort(values_b)[::-1][:k], np.argsort(values_b)[:k]
    top_a, bottom_a = np.argsort(values_a)[::-1][:k], np.argsort(values_a)[:k]

    def overlap(units_a: np.ndarray, units_b: np.ndarray) -> float:
        return float(np.mean(np.isin(partner[units_a], units_b)))

    return {
        "spearman": float(spearmanr(a, b)[0]) if len(a) > 2 else np.nan,
        "top_overlap": overlap(top_a, top_b),
        "bottom_overlap": overlap(bottom_a, bottom_b),
        "chance_overlap": k / len(values_b),
    }
