"""Li et al.'s comparison of one layer of two nets, from its moments: the between-net
correlation matrix, the three matchings and the dead units (what a pair file holds)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from convergent.analysis.blocks import BlockMoments
from convergent.analysis.correlation import between_correlation
from convergent.analysis.matching import Matchings, matchings


@dataclass(frozen=True)
class UnitComparison:
    between: np.ndarray
    matchings: Matchings
    dead_a: int
    dead_b: int


def compare_units(
    cross: BlockMoments, var_a: np.ndarray, var_b: np.ndarray, dead_std: float
) -> UnitComparison:
    """Correlate every unit of A with every unit of B over all blocks of their ``cross``
    moments (x: A, y: B) and match them; ``var_a``, ``var_b``: the units' variances (from the
    within-net moments); a unit with std ≤ ``dead_std`` is dead."""
    t = cross.total()
    c = between_correlation(t.count[0], t.sum_x[0], t.sum_y[0], t.sum_xy[0], var_a, var_b, dead_std)
    dead = [int((np.sqrt(v) <= dead_std).sum()) for v in (var_a, var_b)]
    return UnitComparison(c, matchings(c), *dead)
