"""The Gram and RDM route on a probe subsample: per-image features of one layer with the
n × n matrices the kernel, RSA and nearest-neighbour measures need, computed once per model and
indexed by bootstrap resamples (conventions: docs/similarity.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from convergent.analysis import kernels, rsa
from convergent.analysis import neighbours as nn
from convergent.analysis import similarity as sim
from convergent.analysis.measures import MEASURES, undefined
from convergent.analysis.scatter import CentredLayer

#: the unit-matching measures (``similarity.matched_correlation``'s)
MATCHING = [name for name, m in MEASURES.items() if m.route == "matching"]


@dataclass(frozen=True)
class MeasureOptions:
    """The measures' own parameters (config ``similarity``; the defaults are the schema's)."""

    #: SVCCA: the fraction of variance its SVD step keeps
    svcca_keep: float
    #: the shape metric's partial whitening (1: angular Procrustes, 0: full whitening, CCA)
    shape_alpha: float
    #: RBF CKA's bandwidth, a fraction of the median distance
    rbf_fraction: float
    #: neighbours of mutual k-NN and CKNNA
    knn_k: int

    @classmethod
    def from_section(cls, similarity: Mapping[str, Any]) -> MeasureOptions:
        """From a spec's ``similarity`` section."""
        return cls(similarity["svcca_keep"], similarity["shape_alpha"],
                   similarity["rbf_fraction"], similarity["knn_k"])


def subsample_index(n_images: int, size: int, seed: int) -> np.ndarray:
    """A seeded random subset of the probe images (sorted), all of them if ``size`` ≥ n."""
    if size >= n_images:
        return np.arange(n_images)
    return np.sort(np.random.default_rng(seed).choice(n_images, size, replace=False))


class SubsampleLayer:
    """Per-image features of one layer on the subsample, with the n × n matrices the Gram-route
    measures need (computed once, indexed by bootstrap resamples)."""

    def __init__(self, x: np.ndarray, rdm_metric: str) -> None:
        self.x = x
        self.reduced = kernels.reduce_features(x)
        self.was_reduced = self.reduced is not x
        self.gram = kernels.gram_linear(x)
        sq = np.diag(self.gram)
        self.sq_dist = np.maximum(sq[:, None] + sq[None, :] - 2 * self.gram, 0.0)
        n = len(x)
        square = np.zeros((n, n))
        iu = np.triu_indices(n, 1)
        condensed = rsa.rdm(x, rdm_metric)
        square[iu] = condensed
        self.rdm_square = square + square.T
        # the RDM's entries by rank: a resample's Spearman ρ counts them (no sort per resample),
        # in the narrowest unsigned type (up to 361 images, 16 bits: numpy radix-sorts those)
        ranks = rsa.dense_ranks(condensed)
        self.rdm_ranks = None
        if ranks is not None:
            self.rdm_ranks = np.zeros((n, n), np.min_scalar_type(max(ranks.max(initial=0), 1)))
            self.rdm_ranks[iu] = ranks
            self.rdm_ranks += self.rdm_ranks.T

    @cached_property
    def cosine(self) -> np.ndarray:
        """The images' cosine similarities (from the Gram matrix: no pass over the features)."""
        return nn.cosine_similarities(self.gram)

    def neighbours(self, k: int) -> np.ndarray:
        """The 0/1 matrix of each image's k nearest neighbours: one sort, once per k."""
        masks = self.__dict__.setdefault("_masks", {})
        if k not in masks:
            masks[k] = nn.neighbour_mask(nn.nearest_neighbours(self.cosine, k))
        return masks[k]

    def own_terms(self, k: int) -> nn.HsicTerms:
        """This model's own CKNNA term with ``k`` neighbours, once per k (all its pairs and
        resamples share it)."""
        terms = self.__dict__.setdefault("_own_terms", {})
        if k not in terms:
            terms[k] = nn.own_terms(self.cosine, self.neighbours(k))
        return terms[k]

    @cached_property
    def centred(self) -> CentredLayer:
        """The reduced features centred, with their scatter and its eigh (scatter measures)."""
        return CentredLayer(self.reduced)

    def rbf(self, idx: np.ndarray, fraction: float, upper: tuple[np.ndarray, np.ndarray]
            ) -> np.ndarray:
        """The RBF kernel of images ``idx`` (``upper``: the triangle of a len(idx) matrix)."""
        return kernels.rbf_of_distances(self.sq_dist[np.ix_(idx, idx)], fraction, upper)


def neighbour_reasons(n: int, k: int) -> dict[str, str]:
    """{neighbour measure: why it is undefined} for ``k`` neighbours of ``n`` images ({} where
    they are defined)."""
    return {name: why for name, m in MEASURES.items() if m.route == "neighbours"
            and (why := undefined(name, n, 0, 0, k=k))}


def neighbour_measures(a: SubsampleLayer, b: SubsampleLayer, idx: np.ndarray, k: int
                       ) -> dict[str, float]:
    """Mutual k-NN and CKNNA of images ``idx`` (NaN outside their domain).  The neighbour lists
    are those among all the subsample's images (one sort per model, none per resample): a
    bootstrap resample averages its images' overlaps and weights the masked cosine matrices
    by how often it drew each image (no resampled matrix is built)."""
    if undefined("mutual_knn", len(a.x), 0, 0, k=k):
        return {"mutual_knn": np.nan, "cknna": np.nan}
    ma, mb = a.neighbours(k), b.neighbours(k)
    counts = np.bincount(idx, minlength=len(a.x))
    return {"mutual_knn": float(nn.overlap(ma, mb, k)[idx].mean()),
            "cknna": (nn.cknna_masked(a.cosine, b.cosine, ma, mb, counts,
                                      (a.own_terms(k), b.own_terms(k))) if k >= 2 else np.nan)}


def subsample_measures(
    a: SubsampleLayer, b: SubsampleLayer, idx: np.ndarray, opts: MeasureOptions, kendall: bool
) -> dict[str, float]:
    """Debiased linear CKA, RBF CKA, RSA and the neighbour measures (``opts.knn_k``
    neighbours) of images ``idx`` (repeats allowed: RDM entries that pair an image with its own
    copy are dropped; CKNNA of a resample weights the masked cosine matrices by the draws)."""
    ii = np.ix_(idx, idx)
    iu = np.triu_indices(len(idx), 1)
    first, second = idx[iu[0]], idx[iu[1]]
    kept = first != second  # an image paired with its own copy is no RDM entry
    pairs = first[kept], second[kept]
    ranked = a.rdm_ranks is not None and b.rdm_ranks is not None
    if ranked:
        ka, kb = a.rdm_ranks[pairs], b.rdm_ranks[pairs]
    out = {
        "linear_cka_debiased": kernels.cka(a.gram[ii], b.gram[ii], debiased=True),
        "rbf_cka": kernels.cka(a.rbf(idx, opts.rbf_fraction, iu),
                               b.rbf(idx, opts.rbf_fraction, iu)),
        "rsa_spearman": rsa.spearman_of_ranks(ka, kb) if ranked else np.nan,
    }
    if kendall:
        out["rsa_kendall_tau_a"] = (
            rsa.kendall_tau_a_of_ranks(ka, kb) if ranked else
            rsa.compare(a.rdm_square[pairs], b.rdm_square[pairs], "kendall_tau_a"))
    out.update(neighbour_measures(a, b, idx, opts.knn_k))
    return out


def in_memory_measures(a: SubsampleLayer, b: SubsampleLayer, opts: MeasureOptions,
                       dead_std: float | None = None) -> tuple[dict[str, float], dict[str, str]]:
    """(every measure, {measure: why it is undefined}) of two layers' features of the same
    images, all in memory (the layer × layer route): the scatter-route measures from the
    residuals, the Gram and neighbour measures, and with ``dead_std`` the unit matchings
    (NaN on principal-component scores)."""
    reduced = a.was_reduced or b.was_reduced
    s = a.centred.scatter_with(b.centred)
    m = sim.data_measures(a.centred, b.centred, opts.svcca_keep, reduced, opts.shape_alpha)
    if dead_std is not None:  # units, or NaN where principal components stand in for them
        m.update(sim.matched_correlation(s, dead_std, (a.centred.mean, b.centred.mean))
                 if not reduced else dict.fromkeys(MATCHING, np.nan))
    if reduced:
        m = sim.without_basis_measures(m)
    why = (sim.undefined_reasons(s, opts.svcca_keep, reduced)
           | neighbour_reasons(len(a.x), opts.knn_k))
    m.update(subsample_measures(a, b, np.arange(len(a.x)), opts, kendall=False))
    return m, why
