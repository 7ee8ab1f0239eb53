"""The measures as functions of two in-memory matrices: the public API (``convergent.<name>``).

Every function takes ``x`` (n × p) and ``y`` (n × q): the same n samples (rows) of two layers,
one column per unit, and calls the study's own implementation (:mod:`convergent.analysis`), so
a number computed here is the number the workflow reports for the same samples.  Conv
activations (N, C, H, W) become such matrices with :func:`features`.

Inputs: numpy arrays or torch tensors on any device (:mod:`convergent.api.inputs`; batched or
mismatched shapes are refused in one line).  The products over samples run where the data are,
float32 in float32 blocks summed in float64 (:mod:`convergent.api.products`); the small
p × q algebra after them, RDMs, mutual information and sparse prediction run on the CPU.  A
layer wider than its samples takes the n × n Gram side (:mod:`convergent.api.layers`).
Conventions: docs/similarity.md (similarity measures) and docs/li2016_map.md (Li et al.'s).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from convergent.analysis import kernels, shapes
from convergent.analysis import mutual_information as mi
from convergent.analysis import neighbours as nn
from convergent.analysis import rsa as _rsa
from convergent.analysis import similarity as sim
from convergent.analysis import sparse_prediction as sp
from convergent.analysis.blocks import pair_moments_of_arrays
from convergent.analysis.correlation import correlation, scatter_correlation
from convergent.analysis.matching import soft_correlation_match as _soft_match
from convergent.analysis.measures import MEASURES, Measure, UndefinedMeasureWarning
from convergent.analysis.scatter import Scatter
from convergent.analysis.statistics import bootstrap
from convergent.api import layers as ly
from convergent.api import products
from convergent.api.inputs import is_tensor, matrix, numpy64, pair


def features(x: Any, convention: str = "positions") -> Any:
    """(N, C, H, W) conv, (N, T, D) token or (N, C) fc activations -> a (samples × units)
    matrix.

    ``positions``: (N·H·W) × C, every image position a sample (Li et al.'s convention, the
    default; token layers: (N·T) × D, every token a sample); ``mean``: N × C, spatially
    averaged (N × D, averaged over tokens); ``flatten``: N × (C·H·W) (Kornblith et al.;
    N × (T·D)); ``cls``: a token layer's token 0, N × D (a conv layer: as ``mean``).  numpy
    in, float64 numpy out; a torch tensor stays on its device in its float dtype.
    """
    from convergent.moments import conventions as cv

    if not is_tensor(x):
        return cv.as_features(x, convention)
    if convention not in cv.CONVENTIONS:
        raise ValueError(f"unknown convention {convention!r}; choose one of {cv.CONVENTIONS}")
    x = x.detach()
    x = x if x.is_floating_point() else x.double()
    try:
        k = cv.kind_of(tuple(x.shape[1:]))
    except ValueError:
        raise ValueError(f"x: expected {cv.SHAPES} activations, got shape "
                         f"{tuple(x.shape)}") from None
    if k is cv.FC:
        return x
    if convention == "positions":
        return x.movedim(1 + k.unit_axis, -1).reshape(-1, x.shape[1 + k.unit_axis])
    if convention == "flatten":
        return x.reshape(len(x), -1)
    if convention == "cls" and k is cv.TOKENS:
        return x[:, 0]
    return x.mean(dim=k.position_axes())


def correlation_matrix(x: Any, y: Any | None = None, dead_std: float = 1e-6) -> np.ndarray:
    """Pearson correlation of every unit of ``x`` (rows) with every unit of ``y`` (columns),
    (p × q); ``y`` None: the within-layer matrix of ``x`` (p × p, unit diagonal).

    Convention: population moments over all rows; a unit whose std is ≤ ``dead_std`` (a ReLU
    that never fires) is dead and correlates 0 with everything (its diagonal entry too).
    Computed from one cross product and the columns' norms.
    """
    if y is None:
        a = ly.Layer(matrix(x, "x"))
        var = a.column_variance
        c = correlation(products.cross(a.xc, a.xc) / a.n, var, var, dead_std)
        c[np.diag_indices_from(c)] = np.where(np.sqrt(var) > dead_std, 1.0, 0.0)
        return c
    x, y = pair(x, y)
    return ly.Pair(ly.Layer(x), ly.Layer(y), dead_std=dead_std).correlations()


def mutual_information_matrix(
    x: Any,
    y: Any,
    bins: int = 10,
    zero: float = 1e-6,
    correction: str = "miller_madow",
    quantile_rows: int | None = None,
) -> np.ndarray:
    """Mutual information (nats) of every unit of ``x`` with every unit of ``y``, (p × q).

    Convention (Li et al.'s binning): per unit, values below ``zero`` (the ReLU zeros) form
    bin 0 and the rest ``bins − 1`` equal-frequency bins (quantiles of ``quantile_rows`` sampled
    rows, None: all); ``correction`` "miller_madow" (bias-corrected) or "none" (plug-in).
    Match units by MI with :func:`semi_matching` / :func:`one_to_one_matching` of this matrix.
    Runs on the CPU in float64.
    """
    x, y = (numpy64(v) for v in pair(x, y))
    _, _, counts = mi.unit_histograms(lambda: [(x, y)], len(x), bins, zero, quantile_rows)
    return mi.mutual_information(counts, correction)


def sparse_prediction(
    x: Any,
    y: Any,
    penalties: np.ndarray | list[float],
    folds: int = 5,
    blocks: int = 10,
    dead_std: float = 1e-6,
) -> sp.PredictionResult:
    """Predict every unit of ``y`` from all units of ``x`` with an L1 penalty (Li et al.'s
    sparse "few-to-one" prediction), along the ``penalties`` path.

    Convention: units standardised with the mean and std of all rows; bias unpenalised; the
    objective (1/2n)‖y − Xw − b‖² + λ‖w‖₁ (scikit-learn's Lasso); the rows split into ``blocks``
    contiguous blocks, block b in fold b mod ``folds``.  Returns the held-out ½·MSE per penalty
    and target (0.5 = predicting the mean; NaN for dead targets), the weights fitted on all rows
    and their non-zero counts.  Runs on the CPU in float64.
    """
    x, y = (numpy64(v) for v in pair(x, y, min_rows=blocks))
    mxx, myy, mxy = pair_moments_of_arrays(x, y, blocks)
    sums = sp.BlockSums.from_moments(mxx, myy, mxy)
    return sp.sparse_prediction(sums, np.asarray(penalties, dtype=float), folds, dead_std)


def _pair(x: Any, y: Any, min_rows: int = 2) -> ly.Pair:
    x, y = pair(x, y, min_rows)
    return ly.Pair(ly.Layer(x), ly.Layer(y))


def _scatter(x: Any, y: Any) -> Scatter:
    return _pair(x, y).scatter()


def _said(value: float, s: Scatter, name: str, keep: float = 0.99) -> float:
    """``value``, with an :class:`~convergent.analysis.measures.UndefinedMeasureWarning`
    saying why where the measure is undefined (NaN outside its domain)."""
    if np.isnan(value) and (why := sim.undefined_reasons(s, keep).get(name)):
        warnings.warn(f"{name} is undefined here: {why}", UndefinedMeasureWarning, stacklevel=3)
    return value


def linear_cka(x: Any, y: Any) -> float:
    """Linear CKA = ‖XcᵀYc‖²_F / (‖XcᵀXc‖_F ‖YcᵀYc‖_F) on column-centred data, in [0, 1]
    (Kornblith et al. 2019; equals CKA of linear Grams with the biased HSIC)."""
    return ly.PAIR_MEASURES["linear_cka"](_pair(x, y))


def debiased_cka(x: Any, y: Any) -> float:
    """Linear CKA with the unbiased HSIC estimator (U-centred Gram matrices, zero diagonal),
    as Kornblith et al.'s ``cka(..., debiased=True)``; can be slightly negative.  Computed
    from feature products (O(n·p·q)), not from n × n Grams (needs n ≥ 4)."""
    p = _pair(x, y, min_rows=4)
    return sim.debiased_cka_of_features(p.scatter(eig=False), p.a.row_squares,
                                        p.b.row_squares)


def rbf_cka(x: Any, y: Any, fraction: float = 0.4) -> float:
    """CKA of RBF kernels exp(−d²/2σ²), σ = ``fraction`` × the median distance between rows
    (σ² from the median of all n² squared distances, zero diagonal included: Kornblith et al.).
    The n × n Gram matrices are formed where the data are; the kernels on the CPU."""
    p = _pair(x, y)
    return kernels.cka(*(kernels.rbf_of_gram(side.gram, fraction) for side in (p.a, p.b)))


def canonical_correlations(x: Any, y: Any) -> np.ndarray:
    """ρ₁ ≥ … ≥ ρ_c, c = min(rank X, rank Y) (scale-free numerical ranks: constant and
    linearly dependent units are dropped, so dead units and p > n are handled).  The raw
    correlations, also where the summary measures are undefined (see ``cca_rho``)."""
    return sim.canonical_correlations(_scatter(x, y))


def cca_rho(x: Any, y: Any) -> float:
    """Mean canonical correlation ρ̄ = Σρᵢ / c over the c = min(rank X, rank Y) canonical
    correlations; NaN with an UndefinedMeasureWarning unless n ≥ 2 (rank X + rank Y) (with
    fewer samples they are driven to 1 by the sample size: Kornblith et al. 2019 §3)."""
    s = _scatter(x, y)
    return _said(sim.cca_rho(s), s, "cca_rho")


def cca_r2(x: Any, y: Any) -> float:
    """R²_CCA = Σρᵢ² / c, the mean squared canonical correlation (Kornblith et al.'s
    ‖Q_YᵀQ_X‖²_F / min(p, q) for full-rank layers)."""
    s = _scatter(x, y)
    return _said(sim.cca_r2(s), s, "cca_r2")


def svcca(x: Any, y: Any, keep: float = 0.99) -> float:
    """SVCCA (Raghu et al. 2017): mean canonical correlation after projecting each side onto
    the top principal directions that explain ``keep`` of its variance."""
    s = _scatter(x, y)
    return _said(sim.svcca_rho(s, keep), s, "svcca_rho", keep)


def pwcca(x: Any, y: Any, side: str = "smaller") -> float:
    """Projection-weighted CCA (Morcos et al. 2018): Σαᵢρᵢ / Σαᵢ with weights from the canonical
    variates of ``side`` ("x", "y" or "smaller": the side with fewer units, X on ties).
    Asymmetric."""
    p = _pair(x, y)
    if side == "smaller":
        side = "x" if p.a.width <= p.b.width else "y"
    s = p.scatter()
    return _said(sim.pwcca(s, side), s, "pwcca")


def procrustes(x: Any, y: Any) -> float:
    """Orthogonal Procrustes distance (Ding et al. 2021): min_Q ‖X̂ − ŶQ‖²_F over rotations Q,
    X̂, Ŷ centred and scaled to unit Frobenius norm (narrower side zero-padded); in [0, 2],
    0 = identical up to rotation.  Near 0 (< 0.01) summed from the residuals, ~1e-30 for a
    rotated copy."""
    return _pair(x, y).procrustes()


def angular_shape(x: Any, y: Any) -> float:
    """Angular shape metric (Williams et al. 2021, rotations only): arccos ‖X̂ᵀŶ‖_* in radians,
    [0, π/2]; a metric (triangle inequality holds)."""
    return shapes.chord_angle(procrustes(x, y))


def regression_r2(x: Any, y: Any) -> float:
    """R² of the least-squares linear prediction of ``y`` from ``x`` (with intercept):
    1 − ‖Yc − XcB‖²_F / ‖Yc‖²_F.  Asymmetric: swap the arguments for the other direction."""
    s = _scatter(x, y)
    return _said(sim.regression_r2(s), s, "regression_r2_ab")


def shape_metric(x: Any, y: Any, alpha: float = 0.5) -> float:
    """Generalized shape metric (Williams et al. 2021, angular, rotations): the angular shape
    distance of the partially whitened data X V diag(α + (1 − α)(λ/λ̄)^{-1/2}) Vᵀ (λ, V: the
    eigendecomposition of the covariance, λ̄ the mean eigenvalue), radians [0, π/2]; α = 1 is
    :func:`angular_shape`, α = 0 whitens fully (CCA); a metric for every α."""
    if alpha == 1.0:  # no whitening: the cheaper side's route, exactly angular_shape's value
        return angular_shape(x, y)
    x, y = pair(x, y)
    return shapes.shape_metric_data(numpy64(x), numpy64(y), alpha)


def similarity_measures(x: Any, y: Any, svcca_keep: float = 0.99,
                        shape_alpha: float = 0.5) -> dict[str, float]:
    """Every linear measure of the workflow's similarity table at once: linear CKA and HSIC,
    CCA ρ̄ and R², SVCCA, PWCCA, Procrustes, angular shape, the shape metric at
    ``shape_alpha`` and regression R² both ways and their mean (``regression_r2``); the
    measures outside their domain are NaN, each with an UndefinedMeasureWarning."""
    p = _pair(x, y)
    s = p.scatter()
    m = sim.scatter_measures(s, svcca_keep, shape_alpha=shape_alpha)
    m["pwcca"] = sim.pwcca(s, "x" if p.a.width <= p.b.width else "y")
    m["procrustes"] = p.procrustes()
    m["angular_shape"] = shapes.chord_angle(m["procrustes"])
    for name, why in sim.undefined_reasons(s, svcca_keep).items():
        if name in m:
            warnings.warn(f"{name} is undefined here: {why}", UndefinedMeasureWarning,
                          stacklevel=2)
    return m


def soft_correlation_match(x: Any, y: Any, dead_std: float = 1e-6) -> float:
    """ReSi's soft correlation match (Klabunde et al. 2025): every live unit of ``x`` takes its
    best Pearson correlation with a unit of ``y`` and every live unit of ``y`` its best with one
    of ``x``; the mean of the two sides' means.  Dead units (std ≤ ``dead_std``) have no
    correlation to match (ReSi counts them as r = 0)."""
    s = _scatter(x, y)
    c = scatter_correlation(s.n, s.sxx, s.syy, s.sxy, dead_std)
    return _soft_match(c, *sim.live_units(s, dead_std))


def mutual_knn(x: Any, y: Any, k: int = 10) -> float:
    """Mutual k-nearest-neighbour alignment (Huh et al. 2024): the mean over samples of the
    fraction of a sample's k nearest neighbours in ``x`` that are among its k nearest in
    ``y``; neighbours by the cosine of the uncentred rows (the sample itself excluded).
    In [0, 1], chance ≈ k / (n − 1); NaN unless k < n − 1."""
    x, y = pair(x, y)
    return nn.mutual_knn(numpy64(x), numpy64(y), k)


def cknna(x: Any, y: Any, k: int = 10) -> float:
    """CKNNA (Huh et al. 2024): CKA of the rows' cosine kernels, with Song et al.'s unbiased
    HSIC, restricted to the pairs of samples that are k nearest neighbours in both ``x`` and
    ``y`` (docs/similarity.md gives the formula); NaN unless 2 ≤ k < n − 1."""
    x, y = pair(x, y)
    return nn.cknna(numpy64(x), numpy64(y), k)


def measures() -> list[Measure]:
    """The registry: every measure the study computes, with its table name, display name,
    similarity-repository name, invariances, direction and domain (docs/similarity.md)."""
    return list(MEASURES.values())


def rdm(x: Any, metric: str = "correlation") -> np.ndarray:
    """Condensed RDM (upper triangle i < j, row-major, as scipy's ``squareform``) of the rows
    of ``x``: "correlation" = 1 − Pearson r of two rows' unit patterns (a constant row has r = 0
    with all), "euclidean" = squared distance / number of units (rsatoolbox's).  CPU, float64."""
    return _rsa.rdm(numpy64(matrix(x, "x")), metric)


def rsa(x: Any, y: Any, metric: str = "correlation", method: str = "spearman") -> float:
    """Representational similarity: compare the RDMs of ``x`` and ``y`` (rows = stimuli) by
    ``method``: "spearman" ρ, "kendall_tau_a" (ties count as neither) or "pearson" r."""
    x, y = pair(x, y, min_rows=3)
    return _rsa.compare(rdm(x, metric), rdm(y, metric), method)


def bootstrap_ci(
    measure: Callable[[Any, Any], float],
    x: Any,
    y: Any,
    resamples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float, float]:
    """(estimate, low, high): ``measure(x, y)`` and the percentile bootstrap interval of
    ``level`` over ``resamples`` draws of the rows with replacement (seeded).

    Convention: rows are resampled independently, so pass one row per stimulus (``features``
    with "mean" or "flatten" for conv layers: image positions are not independent).  A
    resample repeats rows; for RDM and kernel measures that adds zero distances.
    """
    x, y = pair(x, y)
    result = bootstrap(lambda idx: {"m": measure(x[idx], y[idx])}, len(x), resamples, seed, level)
    return result["m"]
