"""Representational similarity measures between two layers (docs/similarity.md states every
convention and how it differs from other public implementations).

Notation: X (n × p) and Y (n × q) hold the same n samples (rows) of two layers; columns are units.
Everything is computed on column-centred data.

Two routes, one set of formulas:

* **Scatter route** (:class:`~convergent.analysis.scatter.Scatter`): every *linear* measure —
  linear CKA, linear HSIC, the CCA family (mean ρ, R²_CCA, SVCCA, PWCCA), orthogonal
  Procrustes, the angular shape metric and the linear regression fit — is a function of the
  centred scatter matrices Sxx = XcᵀXc, Syy = YcᵀYc, Sxy = XcᵀYc alone.  They are formed
  exactly from streamed raw sums (``BlockMoments``), so these measures never need the
  activations in memory and scale to millions of samples; a subset or a bootstrap resample of
  probe blocks is one more call of :meth:`Scatter.from_moments`.  Where the data are in
  memory, ``data_measures`` takes Procrustes and the angular shape metric from the residual
  instead (:mod:`~convergent.analysis.shapes`): the same formulas, without the scatter
  form's rounding floor near identity.
* **Gram route** (:mod:`~convergent.analysis.kernels`): kernel measures (RBF CKA, debiased
  linear CKA) use n × n Gram matrices of a probe subsample, with Kornblith et al.'s (2019)
  ``center_gram``/``cka`` conventions.

Rank-deficient layers are whitened over the units that carry variance of their own
(:func:`~convergent.analysis.scatter.whitener`); measures that whiten are defined only with
clearly more samples than that rank (:func:`convergent.analysis.measures.undefined`).
"""

from __future__ import annotations

import numpy as np

from convergent.analysis.correlation import scatter_correlation
from convergent.analysis.matching import (
    one_to_one_matching,
    rank_agreement,
    semi_matching,
    soft_correlation_match,
)
from convergent.analysis.measures import MEASURES, undefined
from convergent.analysis.scatter import CentredLayer, Eigen, Scatter
from convergent.analysis.shapes import (
    chord_angle,
    procrustes,
    procrustes_of_cross,
    shape_centred,
    shape_metric,
)


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
        "angular_shape": chord_angle(distance),
        "shape_metric": shape_metric(s, shape_alpha),
        "regression_r2_ab": ab,
        "regression_r2_ba": ba,
        "regression_r2": (ab + ba) / 2,
    }
    for name in _undefined(s, sv_scatter, reduced):
        if name in out:
            out[name] = np.nan
    return out



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
    m["angular_shape"] = chord_angle(m["procrustes"])
    if np.isfinite(m["shape_metric"]):  # NaN where undefined
        m["shape_metric"] = shape_centred(a.xc, b.xc, shape_alpha, (a.eig, b.eig))
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
