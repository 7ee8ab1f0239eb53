"""Representational similarity measures between two layers (docs/similarity.md states every
convention and how it differs from other public implementations).

Notation: X (n × p) and Y (n × q) hold the same n samples (rows) of two layers; columns are units.
Everything is computed on column-centred data.

Two routes, one set of formulas:

* **Scatter route** (``Scatter``): every *linear* measure — linear CKA, linear HSIC, the CCA family
  (mean ρ, R²_CCA, SVCCA, PWCCA), orthogonal Procrustes, the angular shape metric and the linear
  regression fit — is a function of the centred scatter matrices Sxx = XcᵀXc, Syy = YcᵀYc,
  Sxy = XcᵀYc alone.  They are formed exactly from streamed raw sums (``BlockMoments``), so these
  measures never need the activations in memory and scale to millions of samples; a subset or a
  bootstrap resample of probe blocks is one more call of :meth:`Scatter.from_moments`.
  Where the data are in memory, ``data_measures`` takes Procrustes and the angular shape metric
  from the residual instead (``procrustes_data``): the same formulas, without the scatter form's
  rounding floor near identity.
* **Gram route**: kernel measures (RBF CKA, debiased linear CKA) use n × n Gram matrices of a
  probe subsample, with Kornblith et al.'s (2019) ``center_gram``/``cka`` conventions.

A matrix that is rank deficient (dead units, duplicated units, more units than samples) is
handled by whitening only the units that carry variance of their own: constant units are left
out, and of the standardised rest a pivoted Cholesky keeps each unit unless it is a linear
combination of those kept before it to within ``RANK_TOL`` of its variance — a numerical rank
that does not depend on the units' scales.  Measures that whiten are defined only with clearly
more samples than that rank (:func:`convergent.analysis.measures.undefined`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import lapack, solve_triangular

from convergent.analysis.correlation import scatter_correlation
from convergent.analysis.matching import (
    one_to_one_matching,
    rank_agreement,
    semi_matching,
    soft_correlation_match,
)
from convergent.analysis.measures import MEASURES, undefined

#: whitening keeps a standardised unit unless all but this fraction of its variance is explained
#: by the units kept before it (the pivoted Cholesky's stopping tolerance)
RANK_TOL = 1e-10
#: a unit whose centred sum of squares is this small a fraction of its raw sum of squares is
#: constant (float64 rounding of a constant's mean), whatever its scale
CONSTANT_TOL = 1e-12

# ------------------------------------------------------------------ scatter route
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


def linear_hsic(s: Scatter) -> float:
    """Biased linear HSIC = ‖XcᵀYc‖²_F / (n − 1)²."""
    return float(np.sum(s.sxy**2) / (s.n - 1) ** 2)


def linear_cka(s: Scatter) -> float:
    """Linear CKA = ‖XcᵀYc‖²_F / (‖XcᵀXc‖_F ‖YcᵀYc‖_F) (Kornblith 2019, feature-space form)."""
    denom = np.linalg.norm(s.sxx) * np.linalg.norm(s.syy)
    return float(np.sum(s.sxy**2) / denom) if denom > 0 else np.nan


def canonical_correlations(s: Scatter) -> np.ndarray:
    """ρ₁ ≥ … ≥ ρ_c, c = min(rank X, rank Y): singular values of Wxᵀ Sxy Wy."""
    wx, wy = s.whitener("x"), s.whitener("y")
    if wx.shape[1] == 0 or wy.shape[1] == 0:
        return np.zeros(0)
    return np.clip(np.linalg.svd(wx.T @ s.sxy @ wy, compute_uv=False), 0.0, 1.0)


def outside_domain(s: Scatter, name: str) -> str:
    """Why the whitening measure ``name`` is undefined on ``s`` ("" where it is defined):
    :func:`convergent.analysis.measures.undefined` at the numerical ranks of both sides."""
    return undefined(name, s.n, s.whitener("x").shape[1], s.whitener("y").shape[1])


def cca_rho(s: Scatter) -> float:
    """Mean canonical correlation ρ̄ = Σρᵢ / c (NaN outside its domain)."""
    if outside_domain(s, "cca_rho"):
        return np.nan
    rho = canonical_correlations(s)
    return float(rho.mean()) if rho.size else np.nan


def cca_r2(s: Scatter) -> float:
    """R²_CCA = Σρᵢ² / c (Kornblith's ‖Q_YᵀQ_X‖²_F / min(p, q) for full-rank X, Y; NaN
    outside its domain)."""
    if outside_domain(s, "cca_r2"):
        return np.nan
    rho = canonical_correlations(s)
    return float(np.mean(rho**2)) if rho.size else np.nan


def _principal_subspace(sxx: np.ndarray, keep: float, eig: Eigen | None = None) -> np.ndarray:
    """Top eigenvectors of Sxx explaining at least ``keep`` of the total variance (tr Sxx)."""
    evals, evecs = np.linalg.eigh(sxx) if eig is None else eig
    evals, evecs = evals[::-1].clip(min=0), evecs[:, ::-1]
    total = evals.sum()
    if total <= 0:
        return evecs[:, :0]
    k = int(np.searchsorted(np.cumsum(evals) / total, keep - 1e-12) + 1)
    return evecs[:, : min(k, len(evals))]


def svcca_scatter(s: Scatter, keep: float = 0.99) -> Scatter:
    """Project both sides onto their principal subspaces (``keep`` of the variance each)."""
    vx = _principal_subspace(s.sxx, keep, s.eigh("x"))
    vy = _principal_subspace(s.syy, keep, s.eigh("y"))
    return Scatter(s.n, vx.T @ s.sxx @ vx, vy.T @ s.syy @ vy, vx.T @ s.sxy @ vy)


def svcca_rho(s: Scatter, keep: float = 0.99) -> float:
    """SVCCA (Raghu et al. 2017): mean canonical correlation after the SVD step."""
    return cca_rho(svcca_scatter(s, keep))


def svcca_r2(s: Scatter, keep: float = 0.99) -> float:
    """SVCCA with R²_CCA (mean squared canonical correlation) after the SVD step."""
    return cca_r2(svcca_scatter(s, keep))


def pwcca(s: Scatter, side: str = "smaller") -> float:
    """Projection-weighted CCA (Morcos et al. 2018): Σ αᵢρᵢ / Σ αᵢ.

    αᵢ = Σⱼ |⟨hᵢ, xⱼ⟩|, hᵢ = Xc aᵢ the i-th canonical variate of the weighting side (unit norm;
    canonical variates are mutually orthogonal, so no extra QR is needed) and xⱼ its j-th centred
    unit.  ⟨hᵢ, xⱼ⟩ = (Sxx aᵢ)ⱼ, so PWCCA too is exact from the scatter matrices.
    ``side``: "x", "y" or "smaller" (the side with fewer units, X on ties — google/svcca's
    choice); the measure is asymmetric, see docs/similarity.md.
    """
    if side == "smaller":
        side = "x" if s.sxx.shape[0] <= s.syy.shape[0] else "y"
    if side == "y":
        s = s.swap()
    if outside_domain(s, "pwcca"):
        return np.nan
    wx, wy = s.whitener("x"), s.whitener("y")
    if wx.shape[1] == 0 or wy.shape[1] == 0:
        return np.nan
    u, rho, _ = np.linalg.svd(wx.T @ s.sxy @ wy, full_matrices=False)
    a = wx @ u  # canonical directions of X: aᵢᵀ Sxx aᵢ = 1
    projections = s.sxx @ a if s.units_x is None else s.units_x @ (s.sxx @ a)
    alpha = np.abs(projections).sum(0)
    return float(np.sum(alpha * np.clip(rho, 0, 1)) / alpha.sum())


def _nuclear_cosine(s: Scatter) -> float:
    """‖XcᵀYc‖_* / (‖Xc‖_F ‖Yc‖_F): the best cosine between X and a rotation of Y."""
    denom = np.sqrt(np.trace(s.sxx) * np.trace(s.syy))
    if denom <= 0:
        return np.nan
    return float(np.clip(np.linalg.svd(s.sxy, compute_uv=False).sum() / denom, -1.0, 1.0))


def procrustes(s: Scatter) -> float:
    """Orthogonal Procrustes distance of Ding et al. 2021 (a squared distance, in [0, 2]).

    min_Q ‖X̂ − ŶQ‖²_F over orthogonal Q for centred, unit-Frobenius X̂, Ŷ (narrower side
    zero-padded) = 2 − 2‖X̂ᵀŶ‖_*.
    """
    return float(max(2.0 - 2.0 * _nuclear_cosine(s), 0.0))


def _chord_angle(sq_chord: float) -> float:
    """θ = 2 arcsin(d/2), the angle between unit vectors at squared distance d² (Procrustes).

    The same angle as arccos(1 − d²/2) without arccos's loss of half the digits near θ = 0.
    """
    return float(2.0 * np.arcsin(np.clip(np.sqrt(np.maximum(sq_chord, 0.0)) / 2.0, 0.0, 1.0)))


def angular_shape(s: Scatter) -> float:
    """Angular shape metric with rotations only (Williams et al. 2021, α = 1): the angle
    arccos(‖X̂ᵀŶ‖_*) between X̂ and its best rotation of Ŷ, in radians [0, π/2], from the
    Procrustes distance.  Scatter matrices fix 2 − 2‖X̂ᵀŶ‖_* only to ~1e-16, so θ only to
    ~1e-16/θ (≈ 1e-8 at identity); ``angular_shape_data`` reaches ~1e-15."""
    return _chord_angle(procrustes(s))


def procrustes_data(x: np.ndarray, y: np.ndarray) -> float:
    """``procrustes`` from the data: near identity ‖X̂ − ŶQ‖²_F with the optimal rotation,
    which avoids the cancellation in 2 − 2‖X̂ᵀŶ‖_*, so a rotated copy gives ~1e-30 instead of
    ~1e-16 (:func:`procrustes_of_cross`)."""
    return _procrustes_centred(x - x.mean(0), y - y.mean(0))


def _procrustes_centred(xc: np.ndarray, yc: np.ndarray) -> float:
    return procrustes_of_cross(xc.T @ yc, float(np.einsum("ij,ij->", xc, xc)),
                               float(np.einsum("ij,ij->", yc, yc)),
                               lambda: (xc, yc))


#: below this Procrustes distance the data route sums residuals: there 2 − 2‖X̂ᵀŶ‖_* (absolute
#: error ~1e-16) would keep fewer than ~14 digits of d
NEAR_IDENTITY = 1e-2


def procrustes_of_cross(
    cross: np.ndarray,
    sq_x: float,
    sq_y: float,
    data: Callable[[], tuple[np.ndarray, np.ndarray]] | None = None,
) -> float:
    """Procrustes distance from XcᵀYc and ‖Xc‖²_F, ‖Yc‖²_F: 2 − 2‖X̂ᵀŶ‖_*; below
    ``NEAR_IDENTITY``, when ``data()`` gives (Xc, Yc), the residual ‖ÂUVᵀ − B̂‖²_F instead,
    Â the narrower side and ÂᵀB̂ = UΣVᵀ (the rotation of a zero-padded Â, without padding)."""
    if min(sq_x, sq_y) <= 0:
        return np.nan
    scale = np.sqrt(sq_x * sq_y)
    u, sv, vt = np.linalg.svd(cross / scale, full_matrices=False)
    d = float(max(2.0 - 2.0 * np.clip(sv.sum(), -1.0, 1.0), 0.0))
    if d >= NEAR_IDENTITY or data is None:
        return d
    xc, yc = data()
    xh, yh = xc / np.sqrt(sq_x), yc / np.sqrt(sq_y)
    if xh.shape[1] <= yh.shape[1]:
        return float(np.sum((xh @ (u @ vt) - yh) ** 2))
    return float(np.sum((yh @ (vt.T @ u.T) - xh) ** 2))


def angular_shape_data(x: np.ndarray, y: np.ndarray) -> float:
    """``angular_shape`` from the data, precise to ~1e-15 rad near identity."""
    return _chord_angle(procrustes_data(x, y))


def partial_whitener(eig: Eigen, alpha: float) -> np.ndarray:
    """Z_α = V diag(α + (1 − α) (λ/λ̄)^{-1/2}) Vᵀ from eigh(Sxx) = (λ, V), λ̄ the mean of the
    eigenvalues that carry variance (the others, ≤ RANK_TOL × the largest, get 0; netrep clips
    them at 1e-7): α = 1 leaves the data as they are, α = 0 whitens.  Measuring λ in units of
    λ̄ makes every α free of the data's scale and sample count (docs/similarity.md)."""
    evals, evecs = eig
    keep = evals > RANK_TOL * max(evals.max(initial=0.0), 0.0)
    d = np.zeros_like(evals)
    d[keep] = alpha + (1.0 - alpha) / np.sqrt(evals[keep] / evals[keep].mean())
    return (evecs * d) @ evecs.T


def shape_metric(s: Scatter, alpha: float) -> float:
    """Generalized shape metric (Williams et al. 2021; netrep's ``LinearMetric(alpha)``,
    angular): ``angular_shape`` of the partially whitened X Z_α and Y Z_α, radians [0, π/2];
    α = 1 is ``angular_shape`` itself (docs/similarity.md: the whitening's scale)."""
    if alpha == 1.0:
        return angular_shape(s)
    zx, zy = (partial_whitener(s.eigh(side), alpha) for side in "xy")
    return angular_shape(Scatter(s.n, zx @ s.sxx @ zx, zy @ s.syy @ zy, zx @ s.sxy @ zy))


def _shape_centred(xc: np.ndarray, yc: np.ndarray, alpha: float,
                   eigs: tuple[Eigen | None, Eigen | None] = (None, None)) -> float:
    """``shape_metric`` of centred data, from the residual (as ``procrustes_data``)."""
    if alpha != 1.0:
        xc, yc = (d @ partial_whitener(np.linalg.eigh(d.T @ d) if e is None else e, alpha)
                  for d, e in zip((xc, yc), eigs, strict=True))
    return _chord_angle(_procrustes_centred(xc, yc))


def shape_metric_data(x: np.ndarray, y: np.ndarray, alpha: float) -> float:
    """``shape_metric`` from the data, precise near identity (as ``angular_shape_data``)."""
    return _shape_centred(x - x.mean(0), y - y.mean(0), alpha)


def regression_r2(s: Scatter) -> float:
    """Linear regression fit of Y from X: R² = 1 − min_B ‖Yc − XcB‖²_F / ‖Yc‖²_F
    = tr(Syx Sxx⁺ Sxy) / tr(Syy).  Asymmetric (X predicts Y); NaN outside its domain."""
    if outside_domain(s, "regression_r2_ab"):
        return np.nan
    w = s.whitener("x")
    denom = np.trace(s.syy)
    return float(np.sum((w.T @ s.sxy) ** 2) / denom) if denom > 0 else np.nan


#: measures whose rank is taken after SVCCA's SVD step
_AFTER_SVD = ("svcca_rho", "svcca_r2")


def _undefined(s: Scatter, sv: Scatter, reduced: bool) -> dict[str, str]:
    """Why each scatter-route and matching measure of ``s`` (``sv``: its SVCCA projection) is
    undefined; measures that are defined are left out."""
    ranks = {"all": (s.whitener("x").shape[1], s.whitener("y").shape[1]),
             "svd": (sv.whitener("x").shape[1], sv.whitener("y").shape[1])}
    out = {}
    for name, m in MEASURES.items():
        if m.route in ("scatter", "matching"):
            why = undefined(name, s.n, *ranks["svd" if name in _AFTER_SVD else "all"], reduced)
            if why:
                out[name] = why
    return out


def undefined_reasons(s: Scatter, svcca_keep: float = 0.99, reduced: bool = False
                      ) -> dict[str, str]:
    """{measure: why it is undefined} for this pair's scatter-route and matching measures
    (:func:`convergent.analysis.measures.undefined`; ``reduced``: principal-component scores
    stand in for the units); the defined measures are not in it."""
    return _undefined(s, svcca_scatter(s, svcca_keep), reduced)


def scatter_measures(s: Scatter, svcca_keep: float = 0.99, reduced: bool = False,
                     shape_alpha: float = 0.5) -> dict[str, float]:
    """Every scatter-route measure of one pair of layers (regression both ways and their mean;
    the shape metric at ``shape_alpha``); NaN where a measure is undefined
    (:func:`undefined_reasons`)."""
    s.eigh("x"), s.eigh("y")  # before swap(), so that both orientations share them
    s.whitener("x"), s.whitener("y")
    ab, ba = regression_r2(s), regression_r2(s.swap())
    rho = canonical_correlations(s)  # once for ρ̄ and R²
    sv_scatter = svcca_scatter(s, svcca_keep)
    sv = canonical_correlations(sv_scatter)
    distance = procrustes(s)  # once for the distance and its angle
    out = {
        "linear_cka": linear_cka(s),
        "linear_hsic": linear_hsic(s),
        "cca_rho": float(rho.mean()) if rho.size else np.nan,
        "cca_r2": float(np.mean(rho**2)) if rho.size else np.nan,
        "svcca_rho": float(sv.mean()) if sv.size else np.nan,
        "svcca_r2": float(np.mean(sv**2)) if sv.size else np.nan,
        "pwcca": pwcca(s),
        "procrustes": distance,
        "angular_shape": _chord_angle(distance),
        "shape_metric": shape_metric(s, shape_alpha),
        "regression_r2_ab": ab,
        "regression_r2_ba": ba,
        "regression_r2": (ab + ba) / 2,
    }
    for name in _undefined(s, sv_scatter, reduced):
        if name in out:
            out[name] = np.nan
    return out


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


def data_measures(
    x: np.ndarray | CentredLayer,
    y: np.ndarray | CentredLayer,
    svcca_keep: float = 0.99,
    reduced: bool = False,
    shape_alpha: float = 0.5,
) -> dict[str, float]:
    """``scatter_measures`` of in-memory data, with the shape metrics from the residuals."""
    a, b = (v if isinstance(v, CentredLayer) else CentredLayer(v) for v in (x, y))
    s = a.scatter_with(b)
    m = scatter_measures(s, svcca_keep, reduced, shape_alpha)
    m["procrustes"] = procrustes_of_cross(s.sxy, np.trace(s.sxx), np.trace(s.syy),
                                          lambda: (a.xc, b.xc))
    m["angular_shape"] = _chord_angle(m["procrustes"])
    if np.isfinite(m["shape_metric"]):  # NaN where undefined
        m["shape_metric"] = _shape_centred(a.xc, b.xc, shape_alpha, (a.eig, b.eig))
    return m


def debiased_cka_of_features(s: Scatter, sq_x: np.ndarray, sq_y: np.ndarray) -> float:
    """Debiased linear CKA (``cka`` of linear Grams with ``debiased=True``) without the n × n
    Gram matrices: the unbiased HSIC of centred data (it is translation invariant) is
    ‖XcᵀYc‖²_F − (1 + 2/(n−2)) Σᵢ aᵢbᵢ + Σa Σb / ((n−1)(n−2)) up to a factor that cancels,
    with aᵢ = ‖xcᵢ‖², bᵢ = ‖ycᵢ‖² (``sq_x``, ``sq_y``): O(n·p·q) instead of O(n²·(p + q))."""
    n = s.n

    def hsic(cross_sq: float, a: np.ndarray, b: np.ndarray) -> float:
        return cross_sq - (1 + 2 / (n - 2)) * float(a @ b) + a.sum() * b.sum() / ((n - 1) * (n - 2))

    denom = np.sqrt(hsic(np.sum(s.sxx**2), sq_x, sq_x) * hsic(np.sum(s.syy**2), sq_y, sq_y))
    return float(hsic(np.sum(s.sxy**2), sq_x, sq_y) / denom) if denom > 0 else np.nan


# ------------------------------------------------------------------ unit matching


def live_units(s: Scatter, dead_std: float) -> tuple[np.ndarray, np.ndarray]:
    """Which units of X and of Y are live: std over the samples above ``dead_std`` (the
    study's analysis.dead_unit_std; a ReLU that never fires on the probe set is dead)."""
    return tuple(np.sqrt(np.maximum(np.diag(m), 0.0) / s.n) > dead_std for m in (s.sxx, s.syy))


def matched_correlation(
    s: Scatter, dead_std: float, means: tuple[np.ndarray, np.ndarray] | None = None
) -> dict[str, float]:
    """Li et al.'s mean matched unit correlation (semi- and one-to-one matching) from the same
    scatter matrices, so that it gets the same bootstrap CI as the other measures: over live
    units (a dead unit has no correlation to match; ``semi_matched_correlation``: A's live
    units; ``matched_correlation``: the matched pairs of two live units), and over all units
    with dead ones counting r = 0 (``*_all``, the mean a table of every unit gives), and ReSi's
    soft correlation match over live units (both directions' semi-matching).  With the
    units' ``means`` (of X, of Y) also ``mean_activation_rank``: the Spearman correlation of
    one-to-one matched units' mean activations (are the most and least active units the same
    across nets? Li et al. Fig. 4's question)."""
    c = scatter_correlation(s.n, s.sxx, s.syy, s.sxy, dead_std)
    live_a, live_b = live_units(s, dead_std)
    partner, value = one_to_one_matching(c)
    semi = semi_matching(c)[1]
    both = (partner >= 0) & live_a & live_b[np.maximum(partner, 0)]
    out = {
        "semi_matched_correlation": float(np.mean(semi[live_a])) if live_a.any() else np.nan,
        "matched_correlation": float(np.mean(value[both])) if both.any() else np.nan,
        "semi_matched_correlation_all": float(np.mean(semi)),
        "matched_correlation_all": float(np.nanmean(value)),
        "soft_correlation_match": soft_correlation_match(c, live_a, live_b),
    }
    if means is not None:
        out["mean_activation_rank"] = rank_agreement(*means, partner, between=c)["spearman"]
    return out


def without_basis_measures(m: dict[str, float]) -> dict[str, float]:
    """``m`` with its basis-dependent measures set to NaN: undefined on PCA-reduced features.

    Matching the units themselves instead would need p × q correlations and an O(p³)
    assignment per bootstrap resample for exactly the layers wider than the subsample.
    """
    return {k: np.nan if k in MEASURES and MEASURES[k].basis else v for k, v in m.items()}


# ------------------------------------------------------------------ Gram route
def gram_linear(x: np.ndarray) -> np.ndarray:
    """K = X Xᵀ (n × n)."""
    return x @ x.T


def gram_rbf(x: np.ndarray, fraction: float = 0.4) -> np.ndarray:
    """RBF kernel exp(−‖xᵢ − xⱼ‖² / (2σ²)) with σ = fraction × median distance.

    As in Kornblith et al.'s ``gram_rbf``: σ² = fraction² × the median of all n² squared
    distances (zero diagonal included).
    """
    return rbf_of_gram(x @ x.T, fraction)


def rbf_of_gram(dots: np.ndarray, fraction: float = 0.4) -> np.ndarray:
    """:func:`gram_rbf` from the linear Gram matrix XXᵀ (of X or of X centred: the
    distances are the same)."""
    sq_norms = np.diag(dots)
    sq_dist = np.maximum(sq_norms[:, None] + sq_norms[None, :] - 2 * dots, 0.0)
    median = np.median(sq_dist)
    if median <= 0:
        return np.ones_like(sq_dist)
    return np.exp(-sq_dist / (2 * fraction**2 * median))


def center_gram(gram: np.ndarray, unbiased: bool = False) -> np.ndarray:
    """HKH (biased) or the Székely–Rizzo U-centred Gram matrix (unbiased; zero diagonal)."""
    gram = np.array(gram, dtype=np.float64, copy=True)
    n = len(gram)
    if unbiased:
        np.fill_diagonal(gram, 0)
        means = gram.sum(0) / (n - 2)
        means -= means.sum() / (2 * (n - 1))
        gram -= means[:, None]
        gram -= means[None, :]
        np.fill_diagonal(gram, 0)
    else:
        means = gram.mean(0)
        means -= means.mean() / 2
        gram -= means[:, None]
        gram -= means[None, :]
    return gram


def cka(gram_x: np.ndarray, gram_y: np.ndarray, debiased: bool = False) -> float:
    """CKA = ⟨K̃, L̃⟩ / (‖K̃‖_F ‖L̃‖_F) with centred (or U-centred if ``debiased``) Grams."""
    kx, ky = center_gram(gram_x, debiased), center_gram(gram_y, debiased)
    denom = np.linalg.norm(kx) * np.linalg.norm(ky)
    return float(kx.ravel() @ ky.ravel() / denom) if denom > 0 else np.nan


# ------------------------------------------------------------------ features
#: principal components of a wide layer are kept above this fraction of the largest variance
GRAM_RANK_TOL = 1e-10


def reduce_features(x: np.ndarray) -> np.ndarray:
    """When p > n: the n × r principal-component scores of centred X, which have the same
    centred Gram matrix as X — exact for every measure invariant to orthogonal maps of the
    features, not for the basis-dependent PWCCA and unit matching."""
    n, p = x.shape
    if p <= n:
        return x
    xc = x - x.mean(0)
    return gram_scores(xc @ xc.T)[1]


def gram_scores(gram: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(λ, Z): the centred Gram matrix XcXcᵀ's eigenvalues above the rank tolerance
    (ascending) and the principal-component scores Z = UΛ^½ (n × r), ZZᵀ = XcXcᵀ, ZᵀZ = Λ."""
    evals, evecs = np.linalg.eigh(gram)
    keep = evals > GRAM_RANK_TOL * max(evals.max(), 0.0)
    return evals[keep], evecs[:, keep] * np.sqrt(evals[keep])


def layer_identification(sim: np.ndarray, larger_is_similar: bool = True) -> np.ndarray:
    """Per layer of A (rows) then of B (columns): 1.0 if the corresponding layer (same index)
    is the unique most similar one, 0.0 if not (a tie is a miss), NaN where the layer's row
    is not defined at every candidate (a measure undefined somewhere cannot rank that row)."""
    s = sim if larger_is_similar else -sim
    hits = []
    for m in (s, s.T):
        for i, row in enumerate(m):
            others = np.delete(row, i)
            hits.append(float(np.all(row[i] > others)) if np.isfinite(row).all() else np.nan)
    return np.array(hits)
