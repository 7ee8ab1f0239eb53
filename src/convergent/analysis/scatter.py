"""The scatter route's object: a pair of layers as its centred scatter matrices Sxx = XcᵀXc,
Syy = YcᵀYc, Sxy = XcᵀYc (from the data, from raw float64 sums, or from per-block moments: a
bootstrap resample of probe blocks is an index array), each side's eigendecomposition and
whitener computed once; and one layer's in-memory data with its own (:class:`CentredLayer`).

A matrix that is rank deficient (dead units, duplicated units, more units than samples) is
handled by whitening only the units that carry variance of their own: constant units are left
out, and of the standardised rest a pivoted Cholesky keeps each unit unless it is a linear
combination of those kept before it to within ``RANK_TOL`` of its variance — a numerical rank
that does not depend on the units' scales.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import lapack, solve_triangular

#: whitening keeps a standardised unit unless all but this fraction of its variance is explained
#: by the units kept before it (the pivoted Cholesky's stopping tolerance)
RANK_TOL = 1e-10
#: a unit whose centred sum of squares is this small a fraction of its raw sum of squares is
#: constant (float64 rounding of a constant's mean), whatever its scale
CONSTANT_TOL = 1e-12

Eigen = tuple[np.ndarray, np.ndarray]  # np.linalg.eigh of a scatter matrix (values, vectors)


@dataclass(frozen=True)
class Scatter:
    """Centred sums of products of n samples: sxx = XcᵀXc, syy = YcᵀYc, sxy = XcᵀYc, with the
    column means (``mean_x``, ``mean_y``; None: unknown, then only exactly constant units count
    as constant).

    ``eig_x``/``eig_y`` hold eigh(sxx)/eigh(syy) and ``white_x``/``white_y`` the whiteners once
    computed (or given: a layer's own are shared by all its pairs), so the measures of one pair
    decompose each within-scatter matrix once.
    ``units_x`` (p × r), where X is given by r principal coordinates instead of its p units (a
    layer wider than its samples, :func:`gram_scores`), maps those coordinates back to the
    units, for the basis-dependent PWCCA weights.
    """

    n: float
    sxx: np.ndarray
    syy: np.ndarray
    sxy: np.ndarray
    eig_x: Eigen | None = field(default=None, compare=False, repr=False)
    eig_y: Eigen | None = field(default=None, compare=False, repr=False)
    mean_x: np.ndarray | None = field(default=None, compare=False, repr=False)
    mean_y: np.ndarray | None = field(default=None, compare=False, repr=False)
    white_x: np.ndarray | None = field(default=None, compare=False, repr=False)
    white_y: np.ndarray | None = field(default=None, compare=False, repr=False)
    units_x: np.ndarray | None = field(default=None, compare=False, repr=False)
    units_y: np.ndarray | None = field(default=None, compare=False, repr=False)

    def eigh(self, side: str) -> Eigen:
        """eigh(sxx) (``side`` "x") or eigh(syy) ("y"), computed at most once."""
        return self._cached(f"eig_{side}", lambda: np.linalg.eigh(self._within(side)))

    def whitener(self, side: str) -> np.ndarray:
        """:func:`whitener` of sxx (``side`` "x") or syy ("y"), computed at most once."""
        mean = self.mean_x if side == "x" else self.mean_y
        return self._cached(f"white_{side}", lambda: whitener(self._within(side), self.n, mean))

    def _within(self, side: str) -> np.ndarray:
        return self.sxx if side == "x" else self.syy

    def _cached(self, name: str, compute):
        if getattr(self, name) is None:  # frozen: the cache is set past __setattr__
            object.__setattr__(self, name, compute())
        return getattr(self, name)

    @classmethod
    def from_data(cls, x: np.ndarray, y: np.ndarray) -> Scatter:
        """In memory: centre the columns and multiply (the textbook definition)."""
        mx, my = x.mean(0), y.mean(0)
        xc, yc = x - mx, y - my
        return cls(len(x), xc.T @ xc, yc.T @ yc, xc.T @ yc, mean_x=mx, mean_y=my)

    @classmethod
    def from_sums(
        cls,
        n: float,
        sum_x: np.ndarray,
        sum_y: np.ndarray,
        sum_xx: np.ndarray,
        sum_yy: np.ndarray,
        sum_xy: np.ndarray,
    ) -> Scatter:
        """From raw (uncentred) float64 sums: Sxy = Σxyᵀ − (Σx)(Σy)ᵀ/n."""
        return cls(
            n,
            sum_xx - np.outer(sum_x, sum_x) / n,
            sum_yy - np.outer(sum_y, sum_y) / n,
            sum_xy - np.outer(sum_x, sum_y) / n,
            mean_x=sum_x / n,
            mean_y=sum_y / n,
        )

    @classmethod
    def from_moments(cls, mxx, myy, mxy, blocks: np.ndarray | slice = slice(None)) -> Scatter:
        """From three ``BlockMoments`` (within X, within Y, cross) over a subset of blocks.

        ``blocks`` may repeat an index: a block bootstrap resample is just an index array.
        """
        n = mxy.count[blocks].sum()
        return cls.from_sums(
            n,
            mxy.sum_x[blocks].sum(0),
            mxy.sum_y[blocks].sum(0),
            mxx.sum_xy[blocks].sum(0),
            myy.sum_xy[blocks].sum(0),
            mxy.sum_xy[blocks].sum(0),
        )

    def swap(self) -> Scatter:
        """The same pair with the roles of X and Y exchanged."""
        return Scatter(self.n, self.syy, self.sxx, self.sxy.T, self.eig_y, self.eig_x,
                       self.mean_y, self.mean_x, self.white_y, self.white_x, self.units_y,
                       self.units_x)


def whitener(sxx: np.ndarray, n: float, mean: np.ndarray | None = None) -> np.ndarray:
    """W (p × r) with Wᵀ Sxx W = I: constant units left out (centred sum of squares at float
    rounding of the raw one, n·mean² + Sxx_ii), the rest standardised, then a pivoted Cholesky
    keeps a unit unless all but ``RANK_TOL`` of its variance is explained by the units kept
    before it.  r is the numerical rank, independent of the units' scales; W's rows of the
    units left out are zero."""
    var = np.diag(sxx).copy()
    raw = var + (0.0 if mean is None else n * np.asarray(mean, float) ** 2)
    live = np.flatnonzero(var > CONSTANT_TOL * raw)
    w = np.zeros((len(sxx), 0))
    if live.size == 0:
        return w
    d = np.sqrt(var[live])
    corr = sxx[np.ix_(live, live)] / np.outer(d, d)
    factor, piv, rank, info = lapack.dpstrf(corr, tol=RANK_TOL)
    if info < 0:
        raise ValueError(f"pivoted Cholesky: argument {-info} is invalid")
    kept = piv[:rank] - 1  # 1-based pivots: the kept units, in pivot order
    w = np.zeros((len(sxx), rank))
    # corr[kept][:, kept] = UᵀU with U the leading rank × rank block of the factor
    w[live[kept]] = solve_triangular(np.triu(factor[:rank, :rank]), np.eye(rank)) / d[kept, None]
    return w


class CentredLayer:
    """One layer's in-memory samples, column-centred, with its scatter matrix, that matrix's
    eigendecomposition and its whitener: what every pair with this layer shares (a layer x
    layer matrix builds each once, not once per pair)."""

    def __init__(self, x: np.ndarray) -> None:
        self.mean = x.mean(0)
        self.xc = x - self.mean
        self.scatter = self.xc.T @ self.xc
        self.eig = np.linalg.eigh(self.scatter)
        self.white = whitener(self.scatter, len(x), self.mean)

    def scatter_with(self, other: CentredLayer) -> Scatter:
        """The pair's Scatter (this layer as X), sharing both layers' decompositions."""
        return Scatter(len(self.xc), self.scatter, other.scatter, self.xc.T @ other.xc,
                       self.eig, other.eig, self.mean, other.mean, self.white, other.white)
