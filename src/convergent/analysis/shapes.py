"""Orthogonal Procrustes and the shape metrics built on it (Ding et al. 2021; Williams et al.
2021): from a pair's scatter matrices, or from the residual of in-memory data, which keeps the
digits that 2 − 2‖X̂ᵀŶ‖_* loses near identity (docs/similarity.md)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from convergent.analysis.scatter import RANK_TOL, Eigen, Scatter


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


def chord_angle(sq_chord: float) -> float:
    """θ = 2 arcsin(d/2), the angle between unit vectors at squared distance d² (Procrustes).

    The same angle as arccos(1 − d²/2) without arccos's loss of half the digits near θ = 0.
    """
    return float(2.0 * np.arcsin(np.clip(np.sqrt(np.maximum(sq_chord, 0.0)) / 2.0, 0.0, 1.0)))


def angular_shape(s: Scatter) -> float:
    """Angular shape metric with rotations only (Williams et al. 2021, α = 1): the angle
    arccos(‖X̂ᵀŶ‖_*) between X̂ and its best rotation of Ŷ, in radians [0, π/2], from the
    Procrustes distance.  Scatter matrices fix 2 − 2‖X̂ᵀŶ‖_* only to ~1e-16, so θ only to
    ~1e-16/θ (≈ 1e-8 at identity); ``angular_shape_data`` reaches ~1e-15."""
    return chord_angle(procrustes(s))


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
    return chord_angle(procrustes_data(x, y))


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


def shape_centred(xc: np.ndarray, yc: np.ndarray, alpha: float,
                   eigs: tuple[Eigen | None, Eigen | None] = (None, None)) -> float:
    """``shape_metric`` of centred data, from the residual (as ``procrustes_data``)."""
    if alpha != 1.0:
        xc, yc = (d @ partial_whitener(np.linalg.eigh(d.T @ d) if e is None else e, alpha)
                  for d, e in zip((xc, yc), eigs, strict=True))
    return chord_angle(_procrustes_centred(xc, yc))


def shape_metric_data(x: np.ndarray, y: np.ndarray, alpha: float) -> float:
    """``shape_metric`` from the data, precise near identity (as ``angular_shape_data``)."""
    return shape_centred(x - x.mean(0), y - y.mean(0), alpha)
