"""Neural predictivity (Yamins et al. 2014; Brain-Score): how well a linear map from a layer's
features predicts recorded sites' responses on held-out stimuli, against each site's noise
ceiling.  Arrays in, arrays out; conventions in docs/neural.md.

* features: a layer's activations per stimulus, flattened (conv layers: C·H·W, or the spatial
  mean, C); wider than ``width`` -> the first ``width`` principal components (fitted on the
  stimuli's features only, never on responses), via the stimuli × stimuli Gram matrix (or the
  features' covariance, if fewer) so that memory is bounded by the number of stimuli;
* mapping: ridge (penalty per site by exact leave-one-out on the training fold: one SVD per
  layer and fold for every penalty and site at once) or PLS with a fixed number of components;
  k-fold over stimuli, every stimulus predicted once, by the fold that held it out;
* explained variance per site: r² of the held-out predictions with the mean response;
* noise ceiling per site: split-half reliability over repetitions, Spearman-Brown corrected to
  all repetitions (mean over random splits); normalised predictivity = r² / ceiling;
* area: the median over its sites (sites below ``min_reliability`` left out).

:func:`planted_responses` builds pseudo-neural data with a known answer: each site a noisy
linear read-out of one layer (share ``fraction`` of its reliable variance; the rest reliable but
unpredictable), repetitions noisy to a known reliability.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAPPINGS = ("ridge", "pls")
CONV_FEATURES = ("pca", "mean")


# ------------------------------------------------------------------ features
def layer_features(x: np.ndarray, conv_features: str, width: int) -> np.ndarray:
    """(S, C, H, W), (S, T, D) or (S, C) activations -> float64 (S, ≤ width) features:
    flattened (or averaged over positions or tokens, ``conv_features="mean"``), then the first
    ``width`` principal component scores if wider."""
    x = np.asarray(x)
    if x.ndim > 2 and conv_features == "mean":
        from convergent.moments.conventions import as_features

        x = as_features(x, "mean")
    elif conv_features not in CONV_FEATURES:
        raise ValueError(f"conv_features: {conv_features!r}; choose one of {CONV_FEATURES}")
    x = x.reshape(len(x), -1)
    if x.shape[1] <= width:
        return np.asarray(x, dtype=np.float64)
    return pca_scores(x, width)


def pca_scores(x: np.ndarray, width: int, block: int = 2048) -> np.ndarray:
    """The first ``width`` principal component scores of the rows of ``x`` (S × p), from the
    smaller of the S × S Gram matrix and the p × p covariance of the centred rows, accumulated
    over blocks of columns or rows (float64 per block: memory min(S, p)² plus one block,
    whatever p).  Signs fixed: each score's largest entry is positive (the same bytes on every
    run)."""
    from scipy.linalg import eigh

    n, p = x.shape
    mean = x.mean(axis=0, dtype=np.float64)
    k = min(width, n, p)
    if p < n:
        cov = np.zeros((p, p))
        for i in range(0, n, block):
            b = np.asarray(x[i : i + block], dtype=np.float64) - mean
            cov += b.T @ b
        _, vecs = eigh(cov, subset_by_index=[p - k, p - 1])
        scores = (np.asarray(x, dtype=np.float64) - mean) @ vecs[:, ::-1]
    else:
        gram = np.zeros((n, n))
        for j in range(0, p, block):
            b = np.asarray(x[:, j : j + block], dtype=np.float64) - mean[j : j + block]
            gram += b @ b.T
        vals, vecs = eigh(gram, subset_by_index=[n - k, n - 1])
        scores = vecs[:, ::-1] * np.sqrt(np.maximum(vals[::-1], 0.0))
    flip = np.sign(scores[np.abs(scores).argmax(axis=0), np.arange(scores.shape[1])])
    return scores * np.where(flip == 0, 1.0, flip)


# ------------------------------------------------------------------ mappings
def ridge_loo(
    x: np.ndarray, y: np.ndarray, penalties: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float, np.ndarray, np.ndarray]:
    """One SVD of the centred ``x`` (n × p) for every penalty and every column of ``y``
    (n × sites): the exact leave-one-out squared error of ridge regression with an unpenalised
    intercept, (penalties × sites); then, for predicting, the singular values, the penalty
    scale, ``Vᵀ`` and ``Uᵀy``.

    ``penalties`` are relative: the penalty is ``penalty × mean(s²)`` (scale-free across
    layers).  LOO residual: e_i / (1 − h_ii), h = 1/n + U diag(s²/(s² + α)) Uᵀ."""
    n = len(x)
    xc = x - x.mean(axis=0)
    yc = y - y.mean(axis=0)
    u, s, vt = np.linalg.svd(xc, full_matrices=False)
    uty = u.T @ yc
    scale = float(np.mean(s**2)) or 1.0
    u2 = u**2
    loo = np.empty((len(penalties), y.shape[1]))
    for k, penalty in enumerate(penalties):
        d = s**2 / (s**2 + penalty * scale)
        fitted = u @ (d[:, None] * uty)
        keep = np.maximum(1.0 - 1.0 / n - u2 @ d, 1e-12)
        loo[k] = np.mean(((yc - fitted) / keep[:, None]) ** 2, axis=0)
    return loo, s, scale, vt, uty


def ridge_cv(
    x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, penalties: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Ridge from ``x_train`` to every column of ``y_train``, each column's penalty chosen by
    exact leave-one-out on the training rows; returns the predictions for ``x_test``
    (n_test × sites) and the chosen relative penalties (sites,)."""
    penalties = np.asarray(penalties, dtype=float)
    loo, s, scale, vt, uty = ridge_loo(x_train, y_train, penalties)
    best = np.argmin(loo, axis=0)
    z = (x_test - x_train.mean(axis=0)) @ vt.T
    pred = np.empty((len(x_test), y_train.shape[1]))
    for k in np.unique(best):
        cols = best == k
        shrink = s / (s**2 + penalties[k] * scale)
        pred[:, cols] = z @ (shrink[:, None] * uty[:, cols])
    return pred + y_train.mean(axis=0), penalties[best]


def pls(
    x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, components: int
) -> np.ndarray:
    """PLS regression (scikit-learn's, unscaled) with ``components`` components (at most the
    training rows less one and the features), fitted to every column of ``y_train`` at once."""
    from sklearn.cross_decomposition import PLSRegression

    k = max(1, min(components, x_train.shape[1], len(x_train) - 1))
    model = PLSRegression(n_components=k, scale=False).fit(x_train, y_train)
    return np.asarray(model.predict(x_test)).reshape(len(x_test), -1)


def fold_of(n: int, folds: int, seed: int) -> np.ndarray:
    """Each stimulus's fold (0 … folds − 1): a seeded permutation dealt round-robin."""
    fold = np.empty(n, dtype=np.int64)
    fold[np.random.default_rng(seed).permutation(n)] = np.arange(n) % folds
    return fold


@dataclass(frozen=True)
class Mapping:
    """How features map to responses: ``ridge`` over relative ``penalties`` or ``pls`` with
    ``components``, k-fold (``folds``, ``seed``) over stimuli."""

    kind: str = "ridge"
    folds: int = 5
    penalties: tuple[float, ...] = tuple(10.0 ** np.arange(-4, 4))
    components: int = 25
    seed: int = 0


def cross_validated(
    x: np.ndarray, y: np.ndarray, mapping: Mapping
) -> tuple[np.ndarray, np.ndarray]:
    """Held-out predictions of ``y`` (stimuli × sites) from ``x`` (stimuli × features): each
    stimulus by the map fitted on the other folds; and per fold and site the chosen relative
    ridge penalty (NaN for PLS)."""
    if mapping.kind not in MAPPINGS:
        raise ValueError(f"mapping {mapping.kind!r}; choose one of {MAPPINGS}")
    fold = fold_of(len(x), mapping.folds, mapping.seed)
    pred = np.empty(y.shape, dtype=np.float64)
    chosen = np.full((mapping.folds, y.shape[1]), np.nan)
    for k in range(mapping.folds):
        test, train = fold == k, fold != k
        if mapping.kind == "ridge":
            pred[test], chosen[k] = ridge_cv(x[train], y[train], x[test], mapping.penalties)
        else:
            pred[test] = pls(x[train], y[train], x[test], mapping.components)
    return pred, chosen


# ------------------------------------------------------------------ scores
def pearson_columns(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r of each column of ``a`` with the same column of ``b`` (NaN where constant)."""
    ac, bc = a - a.mean(axis=0), b - b.mean(axis=0)
    den = np.sqrt((ac**2).sum(axis=0) * (bc**2).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (ac * bc).sum(axis=0) / den, np.nan)


def explained_variance(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per site: r² of held-out predictions with the mean response (stimuli × sites)."""
    return pearson_columns(pred, target) ** 2


def spearman_brown(r: np.ndarray, factor: float = 2.0) -> np.ndarray:
    """The reliability of a mean over ``factor`` times as many repetitions."""
    r = np.asarray(r, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return factor * r / (1.0 + (factor - 1.0) * r)


def split_half_ceiling(responses: np.ndarray, splits: int = 10, seed: int = 0) -> np.ndarray:
    """Per site, the reliability of its mean response over all repetitions ((stimuli × sites ×
    repetitions) in): the correlation over stimuli of the means of two random halves of the
    repetitions, averaged over ``splits`` splits, Spearman-Brown corrected (factor 2)."""
    reps = responses.shape[2]
    if reps < 2:
        raise ValueError("a split-half ceiling needs at least two repetitions")
    rng = np.random.default_rng(seed)
    r = np.zeros(responses.shape[1])
    for _ in range(splits):
        perm = rng.permutation(reps)
        half = reps // 2
        a = responses[:, :, perm[:half]].mean(axis=2)
        b = responses[:, :, perm[half:]].mean(axis=2)
        r += pearson_columns(a, b)
    return spearman_brown(r / splits)


def normalised(ev: np.ndarray, ceiling: np.ndarray, min_reliability: float) -> np.ndarray:
    """Per site: explained variance over the noise ceiling; NaN where the ceiling is below
    ``min_reliability`` (an unreliable site says nothing about the model)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ceiling >= min_reliability, ev / ceiling, np.nan)


def area_summary(values: np.ndarray) -> float:
    """An area's predictivity: the median over its sites (NaN sites left out)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return float(np.median(v)) if v.size else np.nan


def prediction_consistency(pred_a: np.ndarray, pred_b: np.ndarray) -> float:
    """Between two models: the median over sites of the correlation of their held-out
    predictions of that site (stimuli × sites each)."""
    return area_summary(pearson_columns(pred_a, pred_b))


# ------------------------------------------------------------------ planted data
def planted_responses(
    features: np.ndarray,
    sites: int,
    repetitions: int,
    reliability: float,
    fraction: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Pseudo-neural responses (stimuli × sites × repetitions) with a known answer.

    Each site's signal is ``√fraction`` × a random linear read-out of ``features`` (standardised)
    plus ``√(1 − fraction)`` × a reliable per-stimulus value no features predict; each
    repetition adds Gaussian noise of variance ``repetitions (1 − reliability) / reliability``,
    so the mean over repetitions has reliability ``reliability``.  A perfect linear model of
    ``features`` then has r² = fraction × reliability: normalised predictivity ``fraction``."""
    x = features - features.mean(axis=0)
    readout = _standardised(x @ rng.standard_normal((x.shape[1], sites)))
    private = _standardised(rng.standard_normal((len(x), sites)))
    signal = np.sqrt(fraction) * readout + np.sqrt(1.0 - fraction) * private
    noise_sd = np.sqrt(repetitions * (1.0 - reliability) / reliability)
    return signal[:, :, None] + noise_sd * rng.standard_normal((*signal.shape, repetitions))


def _standardised(v: np.ndarray) -> np.ndarray:
    v = v - v.mean(axis=0)
    return v / np.where(v.std(axis=0) > 0, v.std(axis=0), 1.0)
