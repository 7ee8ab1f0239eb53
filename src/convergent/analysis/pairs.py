"""Li et al.'s comparison of one layer of two nets, from its moments: the between-net
correlation matrix, the three matchings and the dead units (what a pair file holds)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from convergent.analysis.blocks import BlockMoments
from convergent.analysis.correlation import between_correlation
from convergent.analysis.matching import Matchings, matchings, partner_agreement


@dataclass(frozen=True)
class UnitComparison:
    """The between-net correlations, their matchings and which units are live (std above
    ``dead_std``) in A and in B."""

    between: np.ndarray
    matchings: Matchings
    live_a: np.ndarray
    live_b: np.ndarray

    @property
    def dead_a(self) -> int:
        return int((~self.live_a).sum())

    @property
    def dead_b(self) -> int:
        return int((~self.live_b).sum())

    @property
    def same_partner_fraction(self) -> float:
        """How often semi-matching picks the one-to-one partner, over A's live units."""
        m = self.matchings
        return partner_agreement(m.semi_a2b.partner, m.one2one.partner, self.live_a)


def compare_units(
    cross: BlockMoments, var_a: np.ndarray, var_b: np.ndarray, dead_std: float
) -> UnitComparison:
    """Correlate every unit of A with every unit of B over all blocks of their ``cross``
    moments (x: A, y: B) and match them; ``var_a``, ``var_b``: the units' variances (from the
    within-net moments); a unit with std ≤ ``dead_std`` is dead."""
    t = cross.total()
    c = between_correlation(t.count[0], t.sum_x[0], t.sum_y[0], t.sum_xy[0], var_a, var_b, dead_std)
    live = [~(np.sqrt(v) <= dead_std) for v in (var_a, var_b)]
    return UnitComparison(c, matchings(c), *live)
