"""The measures as functions of two in-memory arrays: the public API (``convergent.<name>``).

Every function takes ``x`` (n × p) and ``y`` (n × q): the same n samples (rows) of two layers,
one column per unit, and calls the study's own implementation (the other modules of
:mod:`convergent.analysis`), so a number computed here is the number the workflow reports for
the same samples.  Conv activations (N, C, H, W) become such matrices with :func:`features`.
Conventions: docs/similarity.md (similarity measures) and docs/li2016_map.md (Li et al.'s).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from convergent.analysis import mutual_information as mi
from convergent.analysis import neighbours as nn
from convergent.analysis import rsa as _rsa
from convergent.analysis import similarity as sim
from convergent.analysis import sparse_prediction as sp
from convergent.analysis.blocks import pair_moments_of_arrays
from convergent.analysis.correlation import scatter_correlation
from convergent.analysis.matching import soft_correlation_match as _soft_match
from convergent.analysis.measures import MEASURES, Measure
from convergent.analysis.statistics import bootstrap

# the functions below that share a name with a Scatter-route function of analysis.similarity
# take arrays; each builds the scatter matrices once with Scatter.from_data


def features(x: np.ndarray, convention: str = "positions") -> np.ndarray:
    """(N, C, H, W) conv or (N, C) fc activations -> a float64 (samples × units) matrix.

    ``positions``: (N·H·W) × C, every image position a sample (Li et al.'s convention, the
    default); ``mean``: N × C, spatially averaged; ``flatten``: N × (C·H·W) (Kornblith et al.).
    """
    from convergent.moments.conventions import as_features

    return as_features(x, convention)


def correlation_matrix(
    x: np.ndarray, y: np.ndarray | None = None, dead_std: float = 1e-6
) -> np.ndarray:
    """Pearson correlation of every unit of ``x`` (rows) with every unit of ``y`` (columns),
    (p × q); ``y`` None: the within-layer matrix of ``x`` (p × p, unit diagonal).

    Convention: population moments over all rows; a unit whose std is ≤ ``dead_std`` (a ReLU
    that never fires) is dead and correlates 0 with everything (its diagonal entry too).
    """
    x = np.asarray(x, dtype=np.float64)
    s = sim.Scatter.from_data(x, x if y is None else np.asarray(y, dtype=np.float64))
    c = scatter_correlation(s.n, s.sxx, s.syy, s.sxy, dead_std)
    if y is None:
        live = np.sqrt(np.maximum(np.diag(s.sxx) / s.n, 0.0)) > dead_std
        c[np.diag_indices_from(c)] = np.where(live, 1.0, 0.0)
    return c


def mutual_information_matrix(
    x: np.ndarray,
    y: np.ndarray,
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
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    _, _, counts = mi.unit_histograms(
        lambda: [(x, y)], len(x), x.shape[1], bins, zero, quantile_rows
    )
    return mi.mutual_information(counts, correction)


def sparse_prediction(
    x: np.ndarray,
    y: np.ndarray,
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
    and their non-zero counts.
    """
    mxx, myy, mxy = pair_moments_of_arrays(
        np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64), blocks
    )
    sums = sp.BlockSums.from_moments(mxx, myy, mxy)
    return sp.sparse_prediction(sums, np.asarray(penalties, dtype=float), folds, dead_std)


def _scatter(x: np.ndarray, y: np.ndarray) -> sim.Scatter:
    return sim.Scatter.from_data(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Linear CKA = ‖XcᵀYc‖²_F / (‖XcᵀXc‖_F ‖YcᵀYc‖_F) on column-centred data, in [0, 1]
    (Kornblith et al. 2019; equals CKA of linear Grams with the biased HSIC)."""
    return sim.linear_cka(_scatter(x, y))


def debiased_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Linear CKA with the unbiased HSIC estimator (U-centred Gram matrices, zero diagonal),
    as Kornblith et al.'s ``cka(..., debiased=True)``; can be slightly negative."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return sim.cka(sim.gram_linear(x), sim.gram_linear(y), debiased=True)


def rbf_cka(x: np.ndarray, y: np.ndarray, fraction: float = 0.4) -> float:
    """CKA of RBF kernels exp(−d²/2σ²), σ = ``fraction`` × the median distance between rows
    (σ² from the median of all n² squared distances, zero diagonal included: Kornblith et al.)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return sim.cka(sim.gram_rbf(x, fraction), sim.gram_rbf(y, fraction))


def canonical_correlations(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """ρ₁ ≥ … ≥ ρ_c, c = min(rank X, rank Y) (directions with eigenvalue ≤ 1e-10 × the largest
    are dropped, so dead units and p > n are handled)."""
    return sim.canonical_correlations(_scatter(x, y))


def cca_rho(x: np.ndarray, y: np.ndarray) -> float:
    """Mean canonical correlation ρ̄ = Σρᵢ / c over the c = min(rank X, rank Y) canonical
    correlations (1 for p ≥ n − 1: trivially, Kornblith et al. 2019 §3)."""
    return sim.cca_rho(_scatter(x, y))


def cca_r2(x: np.ndarray, y: np.ndarray) -> float:
    """R²_CCA = Σρᵢ² / c, the mean squared canonical correlation (Kornblith et al.'s
    ‖Q_YᵀQ_X‖²_F / min(p, q) for full-rank layers)."""
    return sim.cca_r2(_scatter(x, y))


def svcca(x: np.ndarray, y: np.ndarray, keep: float = 0.99) -> float:
    """SVCCA (Raghu et al. 2017): mean canonical correlation after projecting each side onto
    the top principal directions that explain ``keep`` of its variance."""
    return sim.svcca_rho(_scatter(x, y), keep)


def pwcca(x: np.ndarray, y: np.ndarray, side: str = "smaller") -> float:
    """Projection-weighted CCA (Morcos et al. 2018): Σαᵢρᵢ / Σαᵢ with weights from the canonical
    variates of ``side`` ("x", "y" or "smaller": the side with fewer units, X on ties).
    Asymmetric."""
    return sim.pwcca(_scatter(x, y), side)


def procrustes(x: np.ndarray, y: np.ndarray) -> float:
    """Orthogonal Procrustes distance (Ding et al. 2021): min_Q ‖X̂ − ŶQ‖²_F over rotations Q,
    X̂, Ŷ centred and scaled to unit Frobenius norm (narrower side zero-padded); in [0, 2],
    0 = identical up to rotation."""
    return sim.procrustes_data(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))


def angular_shape(x: np.ndarray, y: np.ndarray) -> float:
    """Angular shape metric (Williams et al. 2021, rotations only): arccos ‖X̂ᵀŶ‖_* in radians,
    [0, π/2]; a metric (triangle inequality holds)."""
    return sim.angular_shape_data(
        np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    )


def shape_metric(x: np.ndarray, y: np.ndarray, alpha: float = 0.5) -> float:
    """Generalized shape metric (Williams et al. 2021, angular, rotations): the angular shape
    distance of the partially whitened data X V diag(α + (1 − α)(λ/λ̄)^{-1/2}) Vᵀ (λ, V: the
    eigendecomposition of the covariance, λ̄ the mean eigenvalue), radians [0, π/2]; α = 1 is
    :func:`angular_shape`, α = 0 whitens fully (CCA); a metric for every α."""
    return sim.shape_metric_data(
        np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64), alpha
    )


def regression_r2(x: np.ndarray, y: np.ndarray) -> float:
    """R² of the least-squares linear prediction of ``y`` from ``x`` (with intercept):
    1 − ‖Yc − XcB‖²_F / ‖Yc‖²_F.  Asymmetric: swap the arguments for the other direction."""
    return sim.regression_r2(_scatter(x, y))


def similarity_measures(x: np.ndarray, y: np.ndarray, svcca_keep: float = 0.99,
                        shape_alpha: float = 0.5) -> dict[str, float]:
    """Every linear measure of the workflow's similarity table at once: linear CKA and HSIC,
    CCA ρ̄ and R², SVCCA, PWCCA, Procrustes, angular shape, the shape metric at
    ``shape_alpha`` and regression R² both ways and their mean (``regression_r2``)."""
    return sim.data_measures(
        np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64), svcca_keep,
        shape_alpha=shape_alpha,
    )


def soft_correlation_match(x: np.ndarray, y: np.ndarray, dead_std: float = 1e-6) -> float:
    """ReSi's soft correlation match (Klabunde et al. 2025): every live unit of ``x`` takes its
    best Pearson correlation with a unit of ``y`` and every live unit of ``y`` its best with one
    of ``x``; the mean of the two sides' means.  Dead units (std ≤ ``dead_std``) have no
    correlation to match (ReSi counts them as r = 0)."""
    s = _scatter(x, y)
    c = scatter_correlation(s.n, s.sxx, s.syy, s.sxy, dead_std)
    return _soft_match(c, *sim.live_units(s, dead_std))


def mutual_knn(x: np.ndarray, y: np.ndarray, k: int = 10) -> float:
    """Mutual k-nearest-neighbour alignment (Huh et al. 2024): the mean over samples of the
    fraction of a sample's k nearest neighbours in ``x`` that are among its k nearest in
    ``y``; neighbours by the cosine of the uncentred rows (the sample itself excluded).
    In [0, 1], chance ≈ k / (n − 1); NaN unless k < n − 1."""
    return nn.mutual_knn(x, y, k)


def cknna(x: np.ndarray, y: np.ndarray, k: int = 10) -> float:
    """CKNNA (Huh et al. 2024): CKA of the rows' cosine kernels, with Song et al.'s unbiased
    HSIC, restricted to the pairs of samples that are k nearest neighbours in both ``x`` and
    ``y`` (docs/similarity.md gives the formula); NaN unless 2 ≤ k < n − 1."""
    return nn.cknna(x, y, k)


def measures() -> list[Measure]:
    """The registry: every measure the study computes, with its table name, display name,
    similarity-repository name, invariances, direction and domain (docs/similarity.md)."""
    return list(MEASURES.values())


def rdm(x: np.ndarray, metric: str = "correlation") -> np.ndarray:
    """Condensed RDM (upper triangle i < j, row-major, as scipy's ``squareform``) of the rows
    of ``x``: "correlation" = 1 − Pearson r of two rows' unit patterns (a constant row has r = 0
    with all), "euclidean" = squared distance / number of units (rsatoolbox's)."""
    return _rsa.rdm(np.asarray(x, dtype=np.float64), metric)


def rsa(
    x: np.ndarray, y: np.ndarray, metric: str = "correlation", method: str = "spearman"
) -> float:
    """Representational similarity: compare the RDMs of ``x`` and ``y`` (rows = stimuli) by
    ``method``: "spearman" ρ, "kendall_tau_a" (ties count as neither) or "pearson" r."""
    return _rsa.compare(rdm(x, metric), rdm(y, metric), method)


def bootstrap_ci(
    measure: Callable[[np.ndarray, np.ndarray], float],
    x: np.ndarray,
    y: np.ndarray,
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
    x, y = np.asarray(x), np.asarray(y)
    result = bootstrap(lambda idx: {"m": measure(x[idx], y[idx])}, len(x), resamples, seed, level)
    return result["m"]
