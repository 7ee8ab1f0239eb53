"""Local-neighbourhood agreement of two layers (Huh et al. 2024, "The Platonic Representation
Hypothesis"; their code: minyoungg/platonic-rep, ``metrics.py``): do the same images have the
same nearest neighbours in both networks?

Neighbours are by cosine similarity of the images' features (Huh et al. L2-normalise each
sample's features, uncentred, before every measure), the image itself excluded, ties to the
lower index.  Everything here is a function of each layer's n × n cosine matrix, which comes
from the Gram matrix XXᵀ the Gram route computes once per model (:class:`SubsampleLayer`):
the neighbour lists are one sort per model and layer, and a pair adds only an intersection.

* **mutual k-NN** = mean over images i of |N_A(i) ∩ N_B(i)| / k.
* **CKNNA** (centred kernel nearest-neighbour alignment) = HSIC₁(M∘K, M∘L) /
  √(HSIC₁(M_A∘K, M_A∘K) HSIC₁(M_B∘L, M_B∘L)), K, L the cosine matrices, M_A (M_B) the 0/1
  matrix of each row's k neighbours in A (B), M = M_A∘M_B, HSIC₁ Song et al.'s unbiased
  estimator (Huh et al.'s ``hsic_unbiased``; the masked matrices are not symmetric, so its
  first term is Σ K̃ ∘ L̃ᵀ).  Huh et al. add 1e-6 to the denominator; we do not.
"""

from __future__ import annotations

import numpy as np


def cosine_similarities(gram: np.ndarray) -> np.ndarray:
    """The cosine of every two samples from their uncentred Gram matrix XXᵀ (the inner products
    of the L2-normalised rows); a sample whose features are all zero has cosine 0 with all."""
    norms = np.sqrt(np.maximum(np.diag(gram), 0.0))
    safe = np.where(norms > 0, norms, 1.0)
    cos = gram / safe[:, None] / safe[None, :]
    zero = norms == 0
    cos[zero] = 0.0
    cos[:, zero] = 0.0
    return cos


def nearest_neighbours(cos: np.ndarray, k: int) -> np.ndarray:
    """(n, k): each sample's k most similar other samples, the most similar first (ties to the
    lower index: a stable sort)."""
    order = -cos
    np.fill_diagonal(order, np.inf)  # the sample itself sorts last
    return np.argsort(order, axis=1, kind="stable")[:, :k]


def neighbour_mask(knn: np.ndarray) -> np.ndarray:
    """The n × n 0/1 matrix with row i's neighbours (``knn[i]``) set."""
    n = len(knn)
    mask = np.zeros((n, n))
    mask[np.arange(n)[:, None], knn] = 1.0
    return mask


def overlap(mask_a: np.ndarray, mask_b: np.ndarray, k: int) -> np.ndarray:
    """Per sample, the fraction of its k neighbours in A that are among its k in B."""
    return (mask_a * mask_b).sum(1) / k


class HsicTerms:
    """Song et al.'s unbiased HSIC of two n × n matrices K, L (diagonals ignored; they need
    not be symmetric), prepared for many bootstrap resamples: :meth:`value` with ``counts``
    (how often a resample drew each sample: ``np.bincount(idx, minlength=n)``) is that of the
    resample's matrices ``K[idx][:, idx]``, ``L[idx][:, idx]`` without building them, each sum
    over the resample's entries one over the samples' weighted by their counts.  Exact where K
    and L have zero diagonals, as masked neighbour matrices do (a sample drawn twice meets its
    copy with 0); refused otherwise."""

    def __init__(self, k: np.ndarray, l: np.ndarray) -> None:  # noqa: E741
        self.zero_diagonals = not (np.diag(k).any() or np.diag(l).any())
        self.k, self.l = np.array(k, float), np.array(l, float)
        np.fill_diagonal(self.k, 0.0)
        np.fill_diagonal(self.l, 0.0)
        self.k_lt = self.k * self.l.T

    def value(self, counts: np.ndarray | None = None) -> float:
        """The HSIC of the samples (``counts`` None) or of a resample drawing sample i
        ``counts[i]`` times."""
        if counts is None:
            c = np.ones(len(self.k))
        elif self.zero_diagonals:
            c = np.asarray(counts, float)
        else:
            raise ValueError("the HSIC of a resample needs zero diagonals")
        m = c.sum()
        col_k, row_l = c @ self.k, self.l @ c  # the resample's column sums of K, row sums of L
        value = (c @ self.k_lt @ c + (col_k @ c) * (c @ row_l) / ((m - 1) * (m - 2))
                 - 2.0 * np.sum(c * col_k * row_l) / (m - 2))
        return float(value / (m * (m - 3)))


def hsic_unbiased(k: np.ndarray, l: np.ndarray) -> float:  # noqa: E741
    """Song et al.'s unbiased HSIC estimator of two n × n matrices (diagonals ignored; the
    matrices need not be symmetric)."""
    return HsicTerms(k, l).value()


def own_terms(cos: np.ndarray, mask: np.ndarray) -> HsicTerms:
    """A model's own CKNNA term, HSIC(M∘K, M∘K): the same for all its pairs and resamples."""
    masked = mask * cos
    return HsicTerms(masked, masked)


def cknna_masked(cos_a: np.ndarray, cos_b: np.ndarray, mask_a: np.ndarray,
                 mask_b: np.ndarray, counts: np.ndarray | None = None,
                 own: tuple[HsicTerms, HsicTerms] | None = None) -> float:
    """CKNNA from the two cosine matrices and neighbour masks (of the same samples); with
    ``counts``, that of a bootstrap resample drawing sample i ``counts[i]`` times
    (:class:`HsicTerms`); ``own``: both models' :func:`own_terms`, if kept."""
    both = mask_a * mask_b
    kl = HsicTerms(both * cos_a, both * cos_b).value(counts)
    kk, ll = (t.value(counts) for t in own or (own_terms(cos_a, mask_a),
                                                own_terms(cos_b, mask_b)))
    return float(kl / np.sqrt(kk * ll)) if kk * ll > 0 else np.nan


def _prepared(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    cos = cosine_similarities(x @ x.T)
    return cos, neighbour_mask(nearest_neighbours(cos, k))


def mutual_knn(x: np.ndarray, y: np.ndarray, k: int = 10) -> float:
    """Mutual k-NN alignment of two (samples × features) arrays; NaN unless k < n − 1."""
    if k >= len(x) - 1:
        return np.nan
    (_, ma), (_, mb) = _prepared(x, k), _prepared(y, k)
    return float(overlap(ma, mb, k).mean())


def cknna(x: np.ndarray, y: np.ndarray, k: int = 10) -> float:
    """CKNNA of two (samples × features) arrays; NaN unless 2 ≤ k < n − 1."""
    if not 2 <= k < len(x) - 1:
        return np.nan
    (ca, ma), (cb, mb) = _prepared(x, k), _prepared(y, k)
    return cknna_masked(ca, cb, ma, mb)
